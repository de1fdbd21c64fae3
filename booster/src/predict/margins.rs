//! Margins before and after the trees: every row's starting margins (its own base margins, or the
//! model's) and their conversion to scores in output space, which metrics read.

use rayon::prelude::*;

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::objective::Objective;

/// Initial margins of every row: the data's own base margins, or the model's base margin.
pub(crate) fn initial_margins(data: &Dataset, base: &[f64]) -> Result<Vec<f64>> {
    let k = base.len();
    let n = data.num_rows();
    match data.base_margin() {
        Some(m) if m.len() == n * k => Ok(m.iter().map(|v| *v as f64).collect()),
        Some(m) => Err(Error::ShapeMismatch {
            what: "base_margin (rows x outputs)".into(),
            expected: n * k,
            got: m.len(),
        }),
        None => Ok((0..n * k).map(|i| base[i % k]).collect()),
    }
}

/// Converts margins to scores in output space (what metrics read).
pub(crate) fn scores_of(objective: &dyn Objective, margins: &[f64], k: usize) -> Vec<f32> {
    let mut s = vec![0f32; margins.len()];
    let rows_per_chunk = 8192;
    s.par_chunks_mut(k * rows_per_chunk)
        .zip(margins.par_chunks(k * rows_per_chunk))
        .for_each(|(c, m)| {
            for (o, v) in c.iter_mut().zip(m) {
                *o = *v as f32;
            }
            objective.margins_to_scores(c, k)
        });
    s
}
