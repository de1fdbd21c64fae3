//! Distributed training from Python over TCP ([`TcpCollective`]), the transport of `sylvan.dask`.
//!
//! Each rank (a Dask task on its own worker) binds a `_TcpListener`, publishes its `address`,
//! gathers every rank's address, then `connect`s; the resulting `_TcpCollective` trains this rank's
//! shard with `train` (the model is the one-process model on all the rows in rank order). Python code
//! that fails between connecting and training calls `abort`, so the other ranks fail at once instead
//! of waiting for `collective_timeout`.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Mutex;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use sylvan_booster::{Collective, Dataset, Distributed, TcpCollective, TcpPending};

use crate::{booster_err, build_params, train_interruptibly, PyBooster, PyDataset, SylvanError};

/// Parses `host:port` (an IP address or a resolvable name).
pub fn parse_address(text: &str) -> Result<SocketAddr, String> {
    text.to_socket_addrs()
        .map_err(|e| format!("bad rank address `{text}` (expected host:port): {e}"))?
        .next()
        .ok_or_else(|| format!("rank address `{text}` resolves to nothing"))
}

/// A `collective_timeout` in seconds as a duration (finite and above 0).
pub fn timeout_of(seconds: f64) -> Result<Duration, String> {
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(format!(
            "collective_timeout must be a number of seconds above 0, got {seconds}"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// A bound listener of one rank, before the group has formed.
#[pyclass(name = "_TcpListener", module = "sylvan._sylvan", frozen)]
pub struct PyTcpListener {
    pending: Mutex<Option<TcpPending>>,
    address: SocketAddr,
}

#[pymethods]
impl PyTcpListener {
    /// Binds a listener on `host` (an address of this machine the other ranks can reach; the port
    /// is chosen by the system).
    #[new]
    fn new(host: &str) -> PyResult<PyTcpListener> {
        let (pending, address) = TcpCollective::bind(host).map_err(booster_err)?;
        Ok(PyTcpListener {
            pending: Mutex::new(Some(pending)),
            address,
        })
    }

    /// The address the other ranks dial, as `host:port`.
    #[getter]
    fn address(&self) -> String {
        self.address.to_string()
    }

    /// Joins the group as `rank` given every rank's `host:port` in rank order and the run's `group`
    /// id; fails (naming the ranks) when the group has not formed within `timeout` seconds, which
    /// also bounds every later exchange. A listener connects once.
    fn connect(
        &self,
        py: Python<'_>,
        rank: usize,
        addresses: Vec<String>,
        group: &str,
        timeout: f64,
    ) -> PyResult<PyTcpCollective> {
        let timeout = timeout_of(timeout).map_err(SylvanError::new_err)?;
        let addresses = addresses
            .iter()
            .map(|a| parse_address(a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(SylvanError::new_err)?;
        let pending = self
            .pending
            .lock()
            .map_err(|_| PyValueError::new_err("the listener is broken"))?
            .take()
            .ok_or_else(|| PyValueError::new_err("this listener has already connected"))?;
        let inner = py
            .detach(|| pending.connect(rank, &addresses, group, timeout))
            .map_err(booster_err)?;
        Ok(PyTcpCollective { inner })
    }
}

/// One rank of a group connected over TCP.
#[pyclass(name = "_TcpCollective", module = "sylvan._sylvan", frozen)]
pub struct PyTcpCollective {
    inner: TcpCollective,
}

#[pymethods]
impl PyTcpCollective {
    /// This rank.
    #[getter]
    fn rank(&self) -> usize {
        self.inner.rank()
    }

    /// The number of ranks.
    #[getter]
    fn world_size(&self) -> usize {
        self.inner.world_size()
    }

    /// Every rank's `data`, in rank order.
    fn allgather<'py>(&self, py: Python<'py>, data: Vec<u8>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        let inner = &self.inner;
        let all = py.detach(|| inner.allgather(&data)).map_err(booster_err)?;
        Ok(all.iter().map(|b| PyBytes::new(py, b)).collect())
    }

    /// Ends the group because this rank failed with `reason`: the others' calls fail with it.
    fn abort(&self, py: Python<'_>, reason: &str) {
        let inner = &self.inner;
        py.detach(|| inner.abort(reason));
    }

    /// `(sent, received)`: bytes this rank has exchanged so far.
    fn traffic(&self) -> (u64, u64) {
        let t = self.inner.traffic();
        (t.sent, t.received)
    }

    /// Trains this rank's shard `dtrain` (parameters as `_Booster.train` takes them); `evals` are
    /// `(data set, name)` pairs, this rank's shards of each set when `sharded_evals`, else whole sets.
    /// Every rank returns the same model. An error aborts the group.
    #[pyo3(signature = (params, dtrain, evals=Vec::new(), sharded_evals=true))]
    fn train(
        &self,
        py: Python<'_>,
        params: Vec<(String, String)>,
        dtrain: Py<PyDataset>,
        evals: Vec<(Py<PyDataset>, String)>,
        sharded_evals: bool,
    ) -> PyResult<PyBooster> {
        let params = match build_params(&params) {
            Ok(p) => p,
            Err(e) => {
                self.abort(py, &e.to_string());
                return Err(booster_err(e));
            }
        };
        let eval_refs: Vec<(&str, &Dataset)> = evals.iter().map(|(d, n)| (n.as_str(), &d.get().inner)).collect();
        let distributed = Distributed {
            collective: &self.inner,
            sharded_evals,
        };
        let booster = train_interruptibly(
            py,
            &params,
            &dtrain.get().inner,
            &eval_refs,
            None,
            Default::default(),
            crate::RunParts {
                distributed: Some(distributed),
                ..Default::default()
            },
        )?;
        Ok(PyBooster { inner: booster })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_timeouts_are_checked() {
        assert_eq!(parse_address("127.0.0.1:4000").unwrap().port(), 4000);
        assert!(parse_address("127.0.0.1").unwrap_err().contains("host:port"));
        assert!(timeout_of(0.0).unwrap_err().contains("collective_timeout"));
        assert!(timeout_of(f64::NAN).is_err());
        assert_eq!(timeout_of(1.5).unwrap(), Duration::from_millis(1500));
    }
}
