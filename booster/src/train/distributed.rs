//! What a distributed run checks before its first round: the settings it can train to the
//! one-process model bit for bit, and that every rank runs the same settings on data of the same
//! shape. Also the run's wrapper that turns an error or panic on one rank into an abort of all.

use crate::collective::ops::Cluster;
use crate::collective::Distributed;
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::objective::Objective;
use crate::params::{Boosting, Params, SampleStrategy, TreeMethod};

/// Refuses the settings whose training is not (yet) distributed: each would either need every
/// rank's rows at once or sums whose rounding depends on the number of ranks.
pub(crate) fn check_distributable(params: &Params, objective: &dyn Objective, custom: bool) -> Result<()> {
    let refuse = |name: &str, reason: &str| Err(Error::param(name, format!("{reason} in distributed training")));
    if params.tree_method == TreeMethod::Exact {
        return refuse("tree_method", "tree_method=exact is not available (use hist or approx)");
    }
    if params.data_sample_strategy == SampleStrategy::Goss {
        return refuse(
            "data_sample_strategy",
            "goss is not available (use bagging with subsample)",
        );
    }
    if params.boosting == Boosting::Gradient {
        return refuse("boosting", "boosting=gradient is not available (use newton)");
    }
    if !params.use_quantized_grad {
        return refuse(
            "use_quantized_grad",
            "use_quantized_grad=false is not available (histograms are summed over ranks as exact integers)",
        );
    }
    if params.vector_leaves() {
        return refuse(
            "multi_strategy",
            "multi_output_tree is not available (use one_output_per_tree)",
        );
    }
    if params.device.is_cuda() {
        return refuse("device", "device=cuda is not available yet (train on the cpu)");
    }
    let name = objective.name();
    if !custom && (name.starts_with("rank:") || name.starts_with("survival:")) {
        return refuse(
            "objective",
            &format!("objective={name} (its gradients need rows of other ranks) is not available"),
        );
    }
    if objective.refresh_leaves() {
        return refuse(
            "objective",
            &format!("objective={name} (its leaves are line-searched over every row of the leaf) is not available"),
        );
    }
    Ok(())
}

/// Checks that every rank trains with the same settings on data of the same shape; the error names
/// the first rank that differs from rank 0.
pub(crate) fn check_ranks_agree(params: &Params, train: &Dataset, cluster: &Cluster<'_>) -> Result<()> {
    // Thread counts and timeouts may differ between machines.
    let shared = Params {
        nthread: 0,
        ..params.clone()
    };
    let settings =
        serde_json::to_string(&shared).map_err(|e| cluster.error(format!("cannot encode the parameters: {e}")))?;
    let types: Vec<String> = train.feature_types().iter().map(|t| format!("{t:?}")).collect();
    let signature = format!(
        "features={} targets={} weights={} types={types:?} params={settings}",
        train.num_features(),
        train.num_targets(),
        train.weights().is_some(),
    );
    let all = cluster.comm.allgather(signature.as_bytes())?;
    if let Some(rank) = (1..all.len()).find(|&r| all[r] != all[0]) {
        let mine = String::from_utf8_lossy(&all[rank]);
        let first = String::from_utf8_lossy(&all[0]);
        let at = mine.bytes().zip(first.bytes()).take_while(|(a, b)| a == b).count();
        let show = |s: &str| {
            s.get(at.saturating_sub(20)..(at + 40).min(s.len()))
                .unwrap_or("")
                .to_string()
        };
        return Err(cluster.error(format!(
            "rank {rank} trains with other settings or data than rank 0: `...{}...` vs `...{}...` (ranks must pass the \
             same parameters and data with the same columns, label columns and weights)",
            show(&mine),
            show(&first)
        )));
    }
    Ok(())
}

/// Runs `train` as one rank of `distributed`: an error or a panic on this rank aborts the whole
/// group (the others fail instead of waiting for this one) before it is returned or resumed.
pub(crate) fn run_as_rank<T>(distributed: Option<Distributed<'_>>, train: impl FnOnce() -> Result<T>) -> Result<T> {
    let Some(d) = distributed else {
        return train();
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(train)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            d.collective.abort(&e.to_string());
            Err(e)
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a panic".into());
            d.collective.abort(&format!("panicked: {what}"));
            std::panic::resume_unwind(panic)
        }
    }
}
