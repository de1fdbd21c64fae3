//! A data set read in chunks and binned as it is read (`sylvan.Dataset` from a `sylvan.DataIter`):
//! [`PyChunkedBinning`] takes the chunks of the cut pass, then of the bin pass, and gives a data set
//! holding the bins and no float values.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use sylvan_booster::backend::{ChunkedCuts, ChunkedMatrix};
use sylvan_booster::Dataset;

use crate::{booster_err, finish_dataset, Extras, PyDataset};
use numpy::PyReadonlyArray1;

/// Where the binning of a chunked data set stands.
enum Pass {
    /// Taking the chunks' part of the cut sample.
    Cuts(ChunkedCuts),
    /// Quantizing the chunks.
    Bins(ChunkedMatrix),
    /// Finished (or failed).
    Done,
}

/// The binning of a data set of `total_rows` rows read in chunks: `add` every chunk (a `_Dataset`
/// of its rows) once for the cuts, `next_pass`, `add` them again in the same order for the bins,
/// then `finish` with the labels and other row data of all the rows.
#[pyclass(name = "_ChunkedBinning", module = "sylvan._sylvan")]
pub struct PyChunkedBinning {
    pass: Pass,
    total_rows: usize,
    max_bin: usize,
}

#[pymethods]
impl PyChunkedBinning {
    /// Binning of `total_rows` rows with at most `max_bin` bins per feature; `categorical[j]`
    /// says feature `j` holds category codes. With `reference` (a data set binned from chunks)
    /// the rows are binned with its cuts and `max_bin`: there is no cut pass, and the result can
    /// evaluate models trained on the reference.
    #[new]
    #[pyo3(signature = (total_rows, categorical, max_bin, reference=None))]
    fn new(
        total_rows: usize,
        categorical: Vec<bool>,
        max_bin: usize,
        reference: Option<Py<PyDataset>>,
    ) -> PyResult<Self> {
        if max_bin < 2 {
            return Err(PyValueError::new_err(format!(
                "max_bin must be at least 2, got {max_bin}"
            )));
        }
        let Some(reference) = reference else {
            return Ok(PyChunkedBinning {
                pass: Pass::Cuts(ChunkedCuts::new(total_rows, categorical, max_bin)),
                total_rows,
                max_bin,
            });
        };
        let Some((mapper, max_bin)) = reference.get().inner.bin_cuts() else {
            return Err(PyValueError::new_err(
                "ref must be a Dataset read from a DataIter (binned as read): its cut points bin these rows",
            ));
        };
        if mapper.num_features() != categorical.len() {
            return Err(PyValueError::new_err(format!(
                "the chunks have {} features, ref has {}",
                categorical.len(),
                mapper.num_features()
            )));
        }
        Ok(PyChunkedBinning {
            pass: Pass::Bins(ChunkedMatrix::new(mapper.clone(), total_rows).map_err(booster_err)?),
            total_rows,
            max_bin,
        })
    }

    /// Whether the cut pass is still to come (false when binning with a reference's cuts).
    fn needs_cuts(&self) -> bool {
        matches!(self.pass, Pass::Cuts(_))
    }

    /// Takes the next chunk of the current pass.
    fn add(&mut self, py: Python<'_>, chunk: Py<PyDataset>) -> PyResult<()> {
        let d: &Dataset = &chunk.get().inner;
        let r = match &mut self.pass {
            Pass::Cuts(c) => py.detach(|| c.add(d)),
            Pass::Bins(m) => py.detach(|| m.add(d)),
            Pass::Done => return Err(PyValueError::new_err("this binning is finished")),
        };
        r.map_err(booster_err)
    }

    /// Ends the cut pass: the chunks are to be given again, for the bins.
    fn next_pass(&mut self, py: Python<'_>) -> PyResult<()> {
        let Pass::Cuts(cuts) = std::mem::replace(&mut self.pass, Pass::Done) else {
            return Err(PyValueError::new_err("next_pass ends the cut pass, which is over"));
        };
        let total = self.total_rows;
        let mapper = py.detach(|| cuts.finish()).map_err(booster_err)?;
        self.pass = Pass::Bins(ChunkedMatrix::new(mapper, total).map_err(booster_err)?);
        Ok(())
    }

    /// The data set: the bins, with the labels, weights and base margins of all the rows.
    #[pyo3(signature = (label=None, weight=None, base_margin=None, feature_names=None, num_targets=1))]
    fn finish(
        &mut self,
        py: Python<'_>,
        label: Option<PyReadonlyArray1<'_, f32>>,
        weight: Option<PyReadonlyArray1<'_, f32>>,
        base_margin: Option<PyReadonlyArray1<'_, f32>>,
        feature_names: Option<Vec<String>>,
        num_targets: usize,
    ) -> PyResult<PyDataset> {
        let Pass::Bins(matrix) = std::mem::replace(&mut self.pass, Pass::Done) else {
            return Err(PyValueError::new_err("finish comes after the bin pass"));
        };
        let extras = Extras::of_rows(label, num_targets, weight, base_margin, feature_names, None);
        let max_bin = self.max_bin;
        let d = py.detach(|| {
            let (mapper, matrix) = matrix.finish()?;
            finish_dataset(Dataset::from_binned(mapper, matrix, max_bin)?, extras)
        });
        Ok(PyDataset {
            inner: d.map_err(booster_err)?,
        })
    }
}
