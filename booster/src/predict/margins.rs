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
    let mut s: Vec<f32> = margins.iter().map(|v| *v as f32).collect();
    s.par_chunks_mut(k * 1024)
        .for_each(|c| c.chunks_exact_mut(k).for_each(|row| objective.margin_to_score(row)));
    s
}
