//! Data generators shared by the booster's integration tests.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sylvan_booster::Dataset;

/// `n` rows of `nf` uniform features in [-1, 1), a fraction `missing` of feature 1 missing, and a
/// label from `label(x, rng)` computed on the complete row.
pub fn make_data_with_missing(
    n: usize,
    nf: usize,
    seed: u64,
    missing: f32,
    label: impl Fn(&[f32], &mut StdRng) -> f32,
) -> Dataset {
    let (cols, y) = columns_with_missing(n, nf, seed, missing, |r| r.random_range(-1.0f32..1.0), label);
    Dataset::from_columns(cols).unwrap().with_labels(y).unwrap()
}

/// The columns and labels of `n` rows of `nf` features drawn by `draw`, a fraction `missing` of
/// feature 1 missing, and a label from `label(x, rng)` computed on the complete row.
pub fn columns_with_missing(
    n: usize,
    nf: usize,
    seed: u64,
    missing: f32,
    draw: impl Fn(&mut StdRng) -> f32,
    label: impl Fn(&[f32], &mut StdRng) -> f32,
) -> (Vec<Vec<f32>>, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut cols = vec![vec![0f32; n]; nf];
    let mut y = vec![0f32; n];
    let mut row = vec![0f32; nf];
    for i in 0..n {
        for j in 0..nf {
            row[j] = draw(&mut rng);
            cols[j][i] = if j == 1 && rng.random::<f32>() < missing {
                f32::NAN
            } else {
                row[j]
            };
        }
        y[i] = label(&row, &mut rng);
    }
    (cols, y)
}

/// A nonlinear signal of the first four features.
pub fn signal(x: &[f32]) -> f32 {
    2.0 * x[0] + 3.0 * x[1] * x[2] + (3.0 * x[3]).sin()
}
