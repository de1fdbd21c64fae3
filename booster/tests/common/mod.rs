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

/// A deterministic per-category effect in [-1, 1): a hash of the feature and the code, so that
/// codes carry no order.
pub fn category_effect(feature: usize, code: u32) -> f32 {
    let mut h = (feature as u64) << 32 | code as u64;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
}

/// `n` rows: one categorical column per entry of `cardinalities` (codes drawn with a skewed,
/// Zipf-like frequency, 5 % missing), then 2 uniform numeric columns. The label is the sum of the
/// per-category effects, plus the first categorical feature's effect times the first numeric
/// feature (an interaction), plus noise; binary labels threshold it at 0. Returns the data set
/// with the categorical features declared.
pub fn categorical_data(n: usize, cardinalities: &[u32], seed: u64, binary: bool) -> Dataset {
    let mut rng = StdRng::seed_from_u64(seed);
    let nc = cardinalities.len();
    let mut cols = vec![vec![0f32; n]; nc + 2];
    let mut y = vec![0f32; n];
    for i in 0..n {
        let mut t = 0f32;
        for (j, &k) in cardinalities.iter().enumerate() {
            // Skewed frequencies: the square of a uniform draw favours small codes.
            let u: f32 = rng.random();
            let code = ((u * u * k as f32) as u32).min(k - 1);
            t += category_effect(j, code);
            cols[j][i] = if rng.random::<f32>() < 0.05 {
                f32::NAN
            } else {
                code as f32
            };
        }
        let x0: f32 = rng.random_range(-1.0..1.0);
        let x1: f32 = rng.random_range(-1.0..1.0);
        cols[nc][i] = x0;
        cols[nc + 1][i] = x1;
        let c0 = cols[0][i];
        let inter = if c0.is_nan() {
            0.0
        } else {
            category_effect(7, c0 as u32) * x0
        };
        t += inter + 0.5 * x1 + 0.3 * rng.random_range(-1.0f32..1.0);
        y[i] = if binary { (t > 0.0) as u8 as f32 } else { t };
    }
    let cats: Vec<usize> = (0..nc).collect();
    Dataset::from_columns(cols)
        .unwrap()
        .with_labels(y)
        .unwrap()
        .with_categorical(&cats)
        .unwrap()
}
