//! Helpers shared by the integration tests and benchmarks: deterministic data generators, a tiny
//! `.npy` writer, independent metric implementations, and the runner for the Python reference
//! (`tests/python/reference.py`, which trains XGBoost or LightGBM on the same files).
//!
//! Include it with `mod common;` from a test, or `#[path = "../tests/common/mod.rs"] mod common;`
//! from a benchmark. Not every user needs every helper.
#![allow(dead_code)]

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

// ------------------------------------------------------------------------------------------------
// Data

/// A generated table: feature columns (`NaN` = missing) and one label per row.
#[derive(Debug, Clone)]
pub struct Table {
    /// Feature columns, all of the same length.
    pub columns: Vec<Vec<f32>>,
    /// Labels, one per row.
    pub labels: Vec<f32>,
    /// Sample weights, one per row, or `None` (every row weighs 1). Written as `w_<name>.npy` and
    /// given to XGBoost's `DMatrix(weight=...)` / LightGBM's `Dataset(weight=...)` by reference.py.
    pub weights: Option<Vec<f32>>,
}

impl Table {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.labels.len()
    }

    /// Number of feature columns.
    pub fn num_features(&self) -> usize {
        self.columns.len()
    }

    /// Splits off the first `n` rows; returns `(first n rows, the rest)`.
    pub fn split_at(mut self, n: usize) -> (Table, Table) {
        let rest_cols = self.columns.iter_mut().map(|c| c.split_off(n)).collect();
        let rest_labels = self.labels.split_off(n);
        let rest_weights = self.weights.as_mut().map(|w| w.split_off(n));
        (
            self,
            Table {
                columns: rest_cols,
                labels: rest_labels,
                weights: rest_weights,
            },
        )
    }

    /// A table without weights.
    pub fn new(columns: Vec<Vec<f32>>, labels: Vec<f32>) -> Table {
        Table {
            columns,
            labels,
            weights: None,
        }
    }

    /// The same table with non-uniform weights drawn uniformly from `[lo, hi)` (seeded).
    pub fn with_uniform_weights(mut self, lo: f64, hi: f64, seed: u64) -> Table {
        let mut g = Gen::new(seed ^ 0x7765_6967_6874_7321);
        self.weights = Some((0..self.num_rows()).map(|_| g.uniform(lo, hi) as f32).collect());
        self
    }

    /// The table as a labelled (and weighted, when it has weights) Sylvan data set.
    pub fn to_dataset(&self) -> sylvan::Dataset {
        let d = sylvan::Dataset::from_columns(self.columns.clone())
            .and_then(|d| d.with_labels(self.labels.clone()))
            .expect("generated data is valid");
        match &self.weights {
            Some(w) => d.with_weights(w.clone()).expect("generated weights are valid"),
            None => d,
        }
    }

    /// Writes `X_<name>.npy` (rows x features, f32, C order), `y_<name>.npy` and, when the table
    /// has weights, `w_<name>.npy` into `dir` (an old `w_<name>.npy` is removed otherwise).
    pub fn write_npy(&self, dir: &Path, name: &str) -> std::io::Result<()> {
        write_npy_columns(&dir.join(format!("X_{name}.npy")), &self.columns)?;
        write_npy_f32(&dir.join(format!("y_{name}.npy")), &[self.labels.len()], &self.labels)?;
        let w_path = dir.join(format!("w_{name}.npy"));
        match &self.weights {
            Some(w) => write_npy_f32(&w_path, &[w.len()], w),
            None => match std::fs::remove_file(&w_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            },
        }
    }
}

/// Deterministic random numbers for the generators.
pub struct Gen {
    rng: StdRng,
}

impl Gen {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Gen {
        Gen {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        self.rng.random_range(lo..hi)
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1: f64 = 1.0 - self.rng.random::<f64>(); // (0, 1]
        let u2: f64 = self.rng.random::<f64>();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Exponential with rate 1.
    pub fn exponential(&mut self) -> f64 {
        -(1.0 - self.rng.random::<f64>()).ln()
    }

    /// Laplace with scale `b`.
    pub fn laplace(&mut self, b: f64) -> f64 {
        let e = self.exponential() * b;
        if self.rng.random_bool(0.5) {
            e
        } else {
            -e
        }
    }

    /// True with probability `p`.
    pub fn bernoulli(&mut self, p: f64) -> bool {
        self.rng.random_bool(p.clamp(0.0, 1.0))
    }

    /// A uniformly random permutation of `0..n` (Fisher-Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.rng.random_range(0..=i);
            p.swap(i, j);
        }
        p
    }
}

/// A per-category effect in [-1, 1): a hash of `(salt, code)`, so codes carry no order.
pub fn category_effect(salt: u64, code: u32) -> f64 {
    let mut h = salt << 32 | code as u64;
    for m in [0xff51_afd7_ed55_8ccdu64, 0xc4ce_b9fe_1a85_ec53] {
        h ^= h >> 33;
        h = h.wrapping_mul(m);
    }
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
}

/// Mixed categorical and numeric data: one categorical column per entry of `cardinalities`
/// (codes `0..k` drawn with skewed, Zipf-like frequencies — the square of a uniform draw — and 5 %
/// missing), then 3 numeric columns (uniform in [-1, 1), the second 10 % missing). The signal is
/// the sum of hashed per-category effects, plus the first categorical feature's own second effect
/// times the first numeric feature (an interaction), plus `0.5 x1` and Gaussian noise (sd 0.3);
/// `binary` labels are Bernoulli(sigmoid(2 * signal)), else the label is the signal.
/// Returns the table and the indices of its categorical columns (`0..cardinalities.len()`).
pub fn categorical_mixed(n: usize, cardinalities: &[u32], seed: u64, binary: bool) -> (Table, Vec<usize>) {
    let mut g = Gen::new(seed ^ 0x6361_7465_676f_7279);
    let nc = cardinalities.len();
    let mut columns = vec![Vec::with_capacity(n); nc + 3];
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let mut t = 0.0;
        let mut first = None;
        for (j, &k) in cardinalities.iter().enumerate() {
            let u = g.uniform(0.0, 1.0);
            let code = ((u * u * k as f64) as u32).min(k - 1);
            t += category_effect(j as u64, code);
            if j == 0 {
                first = Some(code);
            }
            columns[j].push(if g.bernoulli(0.05) { f32::NAN } else { code as f32 });
        }
        let x: Vec<f64> = (0..3).map(|_| g.uniform(-1.0, 1.0)).collect();
        t += first.map_or(0.0, |c| category_effect(1000, c) * 1.5 * x[0]) + 0.5 * x[1] + 0.3 * g.normal();
        columns[nc].push(x[0] as f32);
        columns[nc + 1].push(if g.bernoulli(0.1) { f32::NAN } else { x[1] as f32 });
        columns[nc + 2].push(x[2] as f32);
        labels.push(if binary {
            g.bernoulli(sigmoid(2.0 * t)) as u8 as f32
        } else {
            t as f32
        });
    }
    (Table::new(columns, labels), (0..nc).collect())
}

/// The table as a labelled Sylvan data set with the features `categorical` declared categorical.
pub fn categorical_dataset(table: &Table, categorical: &[usize]) -> sylvan::Dataset {
    table
        .to_dataset()
        .with_categorical(categorical)
        .expect("generated category codes are valid")
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Builds a table from a row generator that returns `(features, label)`.
fn table_from_rows(
    n: usize,
    m: usize,
    mut row: impl FnMut(&mut [f64]) -> f64,
    g: &mut Gen,
    features: impl Fn(&mut Gen, &mut [f64]),
) -> Table {
    let mut columns: Vec<Vec<f32>> = (0..m).map(|_| Vec::with_capacity(n)).collect();
    let mut labels = Vec::with_capacity(n);
    let mut x = vec![0.0f64; m];
    for _ in 0..n {
        features(g, &mut x);
        // Labels are computed from the f32 values the learners will see.
        for v in x.iter_mut() {
            *v = *v as f32 as f64;
        }
        let y = row(&mut x);
        for (c, v) in columns.iter_mut().zip(&x) {
            c.push(*v as f32);
        }
        labels.push(y as f32);
    }
    Table::new(columns, labels)
}

/// Binary classification, 10 informative features with nonlinear effects and interactions:
/// P(y = 1) = sigmoid(f(x)), f mixing sines, products, squares, thresholds and a tanh.
pub fn binary_nonlinear(n: usize, seed: u64) -> Table {
    let mut g = Gen::new(seed);
    let mut labels_rng = Gen::new(seed ^ 0x9e37_79b9_7f4a_7c15);
    let features = |g: &mut Gen, x: &mut [f64]| {
        for v in x[0..4].iter_mut() {
            *v = g.normal();
        }
        for v in x[4..7].iter_mut() {
            *v = g.uniform(-2.0, 2.0);
        }
        x[7] = g.exponential();
        x[8] = g.normal() * 3.0 + 1.0;
        x[9] = g.uniform(0.0, 10.0);
    };
    table_from_rows(
        n,
        10,
        |x| {
            let f = 1.5 * (2.0 * x[0]).sin() + x[1] * x[2] + 0.6 * (x[3] * x[3] - 1.0) - 0.8 * x[4].abs()
                + if x[5] > 0.5 { 1.0 } else { -0.3 }
                + 0.5 * x[6] * (x[0] > 0.0) as i32 as f64
                + 0.7 * (x[7] - 1.0).tanh()
                + 0.3 * (x[8] / 3.0).powi(2) * x[1].signum()
                + 0.4 * (x[9] * 0.8).cos()
                + 0.3;
            labels_rng.bernoulli(sigmoid(f)) as i32 as f64
        },
        &mut g,
        features,
    )
}

/// Regression with a nonlinear mean, Gaussian noise (sd 0.5), and about `missing` of all feature
/// values replaced by `NaN` (missing completely at random, after the label was computed).
pub fn regression_missing(n: usize, seed: u64, missing: f64) -> Table {
    let mut g = Gen::new(seed);
    let mut noise = Gen::new(seed ^ 0x5851_f42d_4c95_7f2d);
    let features = |g: &mut Gen, x: &mut [f64]| {
        for (j, v) in x.iter_mut().enumerate() {
            *v = if j % 2 == 0 { g.normal() } else { g.uniform(-3.0, 3.0) };
        }
    };
    let mut t = table_from_rows(
        n,
        10,
        |x| {
            3.0 * (x[0] * 1.5).sin() + 2.0 * x[1].abs() - 1.5 * x[2] * x[3] / 3.0
                + if x[4] > 0.0 { 2.0 } else { -1.0 }
                + 0.8 * x[5] * x[5] / 3.0
                + x[6].tanh() * x[7]
                + 0.5 * x[8]
                - 0.3 * x[9]
                + noise.normal() * 0.5
        },
        &mut g,
        features,
    );
    let mut m = Gen::new(seed ^ 0x2545_f491_4f6c_dd1d);
    for c in t.columns.iter_mut() {
        for v in c.iter_mut() {
            if m.bernoulli(missing) {
                *v = f32::NAN;
            }
        }
    }
    t
}

/// Regression with heavy-tailed (Laplace, scale 1) noise and a few gross outliers (1 % of rows
/// shifted by +-20): the setting where the absolute error loss matters.
pub fn regression_heavy_tails(n: usize, seed: u64) -> Table {
    let mut g = Gen::new(seed);
    let mut noise = Gen::new(seed ^ 0x1234_5678_9abc_def1);
    let features = |g: &mut Gen, x: &mut [f64]| {
        for v in x.iter_mut() {
            *v = g.uniform(-2.0, 2.0);
        }
    };
    table_from_rows(
        n,
        8,
        |x| {
            let mean = 4.0 * (x[0] * 1.2).sin() + 2.0 * x[1] * x[2] + 3.0 * (x[3] > 0.3) as i32 as f64 - x[4] * x[4]
                + 0.5 * x[5]
                + x[6].abs() * x[7];
            let outlier = if noise.bernoulli(0.01) {
                20.0 * noise.uniform(-1.0, 1.0).signum()
            } else {
                0.0
            };
            mean + noise.laplace(1.0) + outlier
        },
        &mut g,
        features,
    )
}

/// Three-class classification, 8 features: class scores are nonlinear functions of the
/// features, and the label is the argmax of the scores plus Gumbel noise (a softmax draw).
pub fn multiclass3(n: usize, seed: u64) -> Table {
    let mut g = Gen::new(seed);
    let mut noise = Gen::new(seed ^ 0x0bad_5eed_dead_beef);
    let features = |g: &mut Gen, x: &mut [f64]| {
        for (j, v) in x.iter_mut().enumerate() {
            *v = if j < 4 { g.normal() } else { g.uniform(-2.0, 2.0) };
        }
    };
    table_from_rows(
        n,
        8,
        |x| {
            let s = [
                1.5 * x[0] + (2.0 * x[1]).sin() + 0.5 * x[4] * x[5],
                -x[0] + 1.2 * x[2] * x[3] + 0.8 * x[6].abs(),
                0.8 * x[1] * x[1] - 0.5 + (x[7] > 0.5) as i32 as f64 * 1.5 - 0.7 * x[4],
            ];
            let mut best = 0;
            let mut best_v = f64::NEG_INFINITY;
            for (c, v) in s.iter().enumerate() {
                let gumbel = -(noise.exponential()).ln();
                if v + gumbel > best_v {
                    best_v = v + gumbel;
                    best = c;
                }
            }
            best as f64
        },
        &mut g,
        features,
    )
}

/// Regression on tie-free features (every column's values are distinct, checked), with one
/// dominant step: y = 3 * [x0 >= 0.37 * scale0] + smooth terms + noise. The best root split is on
/// feature 0 near the step, clearly ahead of every other candidate.
///
/// Column `j` holds a random permutation of `offset_j + scale_j * (k + 0.5) / n`, k = 0..n, so
/// the values are evenly spread and distinct.
pub fn tie_free_step(n: usize, seed: u64) -> Table {
    let m = 6;
    let mut g = Gen::new(seed);
    let scales = [1.0, 10.0, 0.5, 100.0, 3.0, 2.0];
    let offsets = [0.0, -5.0, 2.0, 50.0, -1.0, 0.25];
    let mut columns = Vec::with_capacity(m);
    for j in 0..m {
        let perm = g.permutation(n);
        let col: Vec<f32> = perm
            .iter()
            .map(|&k| (offsets[j] + scales[j] * (k as f64 + 0.5) / n as f64) as f32)
            .collect();
        let mut sorted = col.clone();
        sorted.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
        assert!(sorted.windows(2).all(|w| w[0] < w[1]), "column {j} has ties");
        columns.push(col);
    }
    let mut noise = Gen::new(seed ^ 0x7777_1111_3333_5555);
    let labels = (0..n)
        .map(|i| {
            let u = |j: usize| (columns[j][i] as f64 - offsets[j]) / scales[j]; // back to [0, 1)
            let y = 3.0 * (u(0) >= 0.37) as i32 as f64 + 0.8 * (u(1) * 6.0).sin() + 0.6 * u(2) * u(3) - 0.4 * u(4)
                + 0.2 * u(5)
                + noise.normal() * 0.3;
            y as f32
        })
        .collect();
    Table::new(columns, labels)
}

/// Data of the HIGGS shape: 28 features (21 "low-level" kinematic-like values: transverse momenta
/// (exponential), pseudorapidities (normal), azimuths (uniform), b-tags (discrete {0, 1, 2}); and 7
/// "high-level" derived masses that are nonlinear functions of them), binary labels from a
/// nonlinear function of both plus logistic noise, about 53 % positive like HIGGS.
pub fn higgs_like(n: usize, seed: u64) -> Table {
    let mut g = Gen::new(seed);
    let mut noise = Gen::new(seed ^ 0x4849_4747_5321_0001);
    let mut columns: Vec<Vec<f32>> = (0..28).map(|_| Vec::with_capacity(n)).collect();
    let mut labels = Vec::with_capacity(n);
    let mut x = [0.0f64; 28];
    for _ in 0..n {
        // lepton pT, eta, phi; missing energy magnitude, phi; 4 jets x (pT, eta, phi, b-tag)
        x[0] = 0.3 + g.exponential() * 0.7;
        x[1] = g.normal() * 1.0;
        x[2] = g.uniform(-1.74, 1.74);
        x[3] = 0.2 + g.exponential() * 0.8;
        x[4] = g.uniform(-1.74, 1.74);
        for jet in 0..4 {
            let b = 5 + jet * 4;
            x[b] = 0.25 + g.exponential() * 0.75;
            x[b + 1] = g.normal() * 1.0;
            x[b + 2] = g.uniform(-1.74, 1.74);
            let u = g.uniform(0.0, 1.0);
            x[b + 3] = if u < 0.55 {
                0.0
            } else if u < 0.8 {
                1.1
            } else {
                2.2
            };
        }
        for v in x[..21].iter_mut() {
            *v = *v as f32 as f64;
        }
        let pair_mass = |pa: f64, ea: f64, fa: f64, pb: f64, eb: f64, fb: f64| {
            (2.0 * pa * pb * ((ea - eb).cosh() - (fa - fb).cos())).max(0.0).sqrt()
        };
        x[21] = pair_mass(x[5], x[6], x[7], x[9], x[10], x[11]); // m_jj
        x[22] = pair_mass(x[0], x[1], x[2], x[3], 0.0, x[4]); // m_lv
        x[23] = pair_mass(x[13], x[14], x[15], x[17], x[18], x[19]); // m_bb
        x[24] = (x[21] * x[21] + x[22] * x[22]).sqrt(); // m_wwbb
        x[25] = (x[0] + x[5] + x[9]).ln_1p() * (1.0 + 0.1 * x[8]); // m_jlv
        x[26] = (x[23] + x[21]) / (1.0 + x[3]); // m_wbb
        x[27] = (x[24] * x[25]).sqrt() + 0.05 * (x[1] - x[6]).abs(); // m_wwb
        for v in x[21..].iter_mut() {
            *v = *v as f32 as f64;
        }
        let f = 1.2 * ((x[23] - 1.0).abs() < 0.35) as i32 as f64
            + 0.9 * ((x[21] - 0.9).abs() < 0.4) as i32 as f64
            + 0.6 * (x[8] + x[20]) / 2.2
            - 0.7 * (x[24] - 1.8).abs()
            + 0.5 * (x[0] * x[3]).tanh()
            + 0.4 * (x[2] - x[4]).cos() * x[26].min(3.0) / 3.0
            - 0.3 * x[1].abs() * x[6].abs() / 2.0
            + 0.5 * (x[27] - 1.3).tanh()
            - 0.8;
        let y = (f + noise.laplace(0.8) > 0.0) as i32 as f32;
        for (c, v) in columns.iter_mut().zip(x.iter()) {
            c.push(*v as f32);
        }
        labels.push(y);
    }
    Table::new(columns, labels)
}

/// Regression for the benchmark of issue #7: `m` features (at least 12), half of them (the odd
/// columns) with about `missing` of their values replaced by `NaN` after the label was computed.
/// The mean is a nonlinear function of 12 features (sines, products, steps, a tanh) spread over both
/// halves, plus Gaussian noise (sd 0.5); the other features are noise, some correlated with the
/// informative ones.
pub fn regression_wide_missing(n: usize, m: usize, seed: u64, missing: f64) -> Table {
    assert!(m >= 12, "regression_wide_missing needs at least 12 features");
    let mut g = Gen::new(seed);
    let mut noise = Gen::new(seed ^ 0x7265_6772_6573_7331);
    let features = |g: &mut Gen, x: &mut [f64]| {
        for (j, v) in x.iter_mut().enumerate() {
            *v = match j % 3 {
                0 => g.normal(),
                1 => g.uniform(-3.0, 3.0),
                _ => g.exponential(),
            };
        }
        // A few noise columns that echo informative ones, so that splits have look-alikes.
        for j in (12..x.len()).step_by(7) {
            x[j] = x[j % 12] + 0.5 * g.normal();
        }
    };
    let mut t = table_from_rows(
        n,
        m,
        |x| {
            2.5 * (1.5 * x[0]).sin() + 1.5 * x[1].abs() - x[2] * x[3] / 2.0
                + if x[4] > 0.5 { 2.0 } else { -1.0 }
                + 0.6 * x[5] * x[5] / 3.0
                + 1.5 * x[6].tanh() * (x[7] > 0.0) as i32 as f64
                + 0.7 * x[8].min(3.0)
                - 0.4 * x[9]
                + (x[10] - x[11]).cos()
                + noise.normal() * 0.5
        },
        &mut g,
        features,
    );
    let mut mask = Gen::new(seed ^ 0x6d69_7373_696e_6721);
    for c in t.columns.iter_mut().skip(1).step_by(2) {
        for v in c.iter_mut() {
            if mask.bernoulli(missing) {
                *v = f32::NAN;
            }
        }
    }
    t
}

/// Multiclass classification for the benchmark of issue #7: `m` features (at least 14), `k` classes
/// (at least 2). Each class has a score that mixes a linear direction with a nonlinear term of its
/// own (a sine, a product, a step, an absolute value) over 14 informative features; the label is the
/// argmax of the scores plus Gumbel noise (a softmax draw), so a model can learn about two thirds of
/// it. The other features are noise.
pub fn multiclass_k(n: usize, m: usize, k: usize, seed: u64) -> Table {
    assert!(
        m >= 14 && k >= 2,
        "multiclass_k needs at least 14 features and 2 classes"
    );
    let mut g = Gen::new(seed);
    let mut noise = Gen::new(seed ^ 0x6d75_6c74_6963_6c61);
    let features = |g: &mut Gen, x: &mut [f64]| {
        for (j, v) in x.iter_mut().enumerate() {
            *v = if j % 2 == 0 { g.normal() } else { g.uniform(-2.0, 2.0) };
        }
    };
    table_from_rows(
        n,
        m,
        |x| {
            let mut best = (0usize, f64::NEG_INFINITY);
            for c in 0..k {
                let (a, b, d) = (c % 14, (c * 3 + 5) % 14, (c * 5 + 2) % 14);
                let nonlinear = match c % 4 {
                    0 => 1.5 * (2.0 * x[a]).sin(),
                    1 => x[a] * x[b],
                    2 => 2.0 * (x[a] > 0.3 * c as f64 - 1.0) as i32 as f64 - 1.0,
                    _ => x[a].abs() - 0.8,
                };
                let s = 1.5 * nonlinear + 0.9 * x[b] - 0.6 * x[d] + 0.3 * (c as f64 - k as f64 / 2.0).signum();
                let v = 1.5 * s - (noise.exponential()).ln();
                if v > best.1 {
                    best = (c, v);
                }
            }
            best.0 as f64
        },
        &mut g,
        features,
    )
}

/// Wide binary classification for the benchmark of issue #7: `m` features (at least 40), of which
/// 40 are informative (every `m / 40`-th column): P(y = 1) = sigmoid(f(x)) with f a sum of
/// nonlinear terms and pairwise products; the rest are noise (normal, uniform or sparse counts).
pub fn wide_binary(n: usize, m: usize, seed: u64) -> Table {
    assert!(m >= 40, "wide_binary needs at least 40 features");
    let stride = m / 40;
    let mut g = Gen::new(seed);
    let mut labels_rng = Gen::new(seed ^ 0x7769_6465_6269_6e31);
    let features = |g: &mut Gen, x: &mut [f64]| {
        for (j, v) in x.iter_mut().enumerate() {
            *v = match j % 4 {
                0 | 2 => g.normal(),
                1 => g.uniform(-2.0, 2.0),
                _ => {
                    if g.bernoulli(0.3) {
                        (g.exponential() * 3.0).floor()
                    } else {
                        0.0
                    }
                }
            };
        }
    };
    table_from_rows(
        n,
        m,
        |x| {
            let inf = |i: usize| x[i * stride];
            let mut f = -0.2;
            for i in 0..10 {
                f += 0.6 * (1.5 * inf(i)).sin();
            }
            for i in (10..20).step_by(2) {
                f += 0.5 * inf(i) * inf(i + 1);
            }
            for i in 20..30 {
                f += 0.4 * if inf(i) > 0.5 { 1.0 } else { -0.5 };
            }
            for i in 30..40 {
                f += 0.25 * inf(i).min(3.0);
            }
            labels_rng.bernoulli(sigmoid(f)) as i32 as f64
        },
        &mut g,
        features,
    )
}

// ------------------------------------------------------------------------------------------------
// .npy (format version 1.0) writer

/// Writes the header of a little-endian f32 C-order array of `shape`.
fn npy_header(out: &mut impl Write, shape: &[usize]) -> std::io::Result<()> {
    let shape_text = match shape {
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + header length (2) + header, padded with spaces and ended by a
    // newline so that the data starts on a 64-byte boundary (what numpy itself writes).
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let len = u16::try_from(header.len()).expect("npy header fits in u16");
    out.write_all(b"\x93NUMPY\x01\x00")?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(header.as_bytes())
}

/// Writes `values` (C order, `shape.iter().product()` of them) as an f32 `.npy` file.
pub fn write_npy_f32(path: &Path, shape: &[usize], values: &[f32]) -> std::io::Result<()> {
    assert_eq!(
        shape.iter().product::<usize>(),
        values.len(),
        "shape does not match the values"
    );
    let mut out = BufWriter::new(File::create(path)?);
    npy_header(&mut out, shape)?;
    for v in values {
        out.write_all(&v.to_le_bytes())?;
    }
    out.flush()
}

/// Writes feature columns as a rows x features f32 `.npy` file (C order: row by row).
pub fn write_npy_columns(path: &Path, columns: &[Vec<f32>]) -> std::io::Result<()> {
    let n = columns.first().map_or(0, Vec::len);
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    npy_header(&mut out, &[n, columns.len()])?;
    for i in 0..n {
        for c in columns {
            out.write_all(&c[i].to_le_bytes())?;
        }
    }
    out.flush()
}

// ------------------------------------------------------------------------------------------------
// Metrics, written independently of Sylvan's own (the same code scores Sylvan and the reference)

/// Area under the ROC curve; tied scores get their average rank. Labels > 0.5 are positive.
pub fn auc(labels: &[f32], scores: &[f32]) -> f64 {
    assert_eq!(labels.len(), scores.len());
    let n = scores.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[a].partial_cmp(&scores[b]).expect("scores are not NaN"));
    let mut rank_sum_pos = 0.0f64;
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j < n && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let avg_rank = (i + j + 1) as f64 / 2.0; // 1-based ranks i+1..=j
        rank_sum_pos += avg_rank * order[i..j].iter().filter(|&&k| labels[k] > 0.5).count() as f64;
        i = j;
    }
    let n_pos = labels.iter().filter(|&&y| y > 0.5).count() as f64;
    let n_neg = n as f64 - n_pos;
    (rank_sum_pos - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// Root mean squared error.
pub fn rmse(labels: &[f32], pred: &[f32]) -> f64 {
    assert_eq!(labels.len(), pred.len());
    let s: f64 = labels
        .iter()
        .zip(pred)
        .map(|(y, p)| (*p as f64 - *y as f64).powi(2))
        .sum();
    (s / labels.len() as f64).sqrt()
}

/// Mean absolute error.
pub fn mae(labels: &[f32], pred: &[f32]) -> f64 {
    assert_eq!(labels.len(), pred.len());
    let s: f64 = labels
        .iter()
        .zip(pred)
        .map(|(y, p)| (*p as f64 - *y as f64).abs())
        .sum();
    s / labels.len() as f64
}

/// Accuracy of row-major class probabilities (`k` per row) against integer labels; the first
/// largest probability wins.
pub fn accuracy(labels: &[f32], probs: &[f32], k: usize) -> f64 {
    assert_eq!(labels.len() * k, probs.len());
    let hits = labels
        .iter()
        .zip(probs.chunks_exact(k))
        .filter(|(y, row)| {
            let mut best = 0;
            for c in 1..k {
                if row[c] > row[best] {
                    best = c;
                }
            }
            best == **y as usize
        })
        .count();
    hits as f64 / labels.len() as f64
}

// ------------------------------------------------------------------------------------------------
// Scratch directories

/// A scratch directory under the system temp dir, removed on drop unless `SYLVAN_KEEP_TMP` is set.
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    /// Creates a fresh directory named after `what` and the process id.
    pub fn new(what: &str) -> ScratchDir {
        let dir = std::env::temp_dir().join(format!("sylvan-{what}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        ScratchDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        if std::env::var_os("SYLVAN_KEEP_TMP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        } else {
            eprintln!("kept {}", self.0.display());
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The Python reference

/// The repository root (the root package's manifest directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What `reference.py --check` found.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The Python interpreter that has xgboost.
    pub python: PathBuf,
    /// Versions reported by `--check` (`xgboost`, `lightgbm`, `numpy`; null when missing).
    pub versions: serde_json::Value,
}

impl Reference {
    /// Whether LightGBM can be imported too.
    pub fn has_lightgbm(&self) -> bool {
        self.versions.get("lightgbm").is_some_and(|v| v.is_string())
    }
}

/// Candidate interpreters: `$SYLVAN_PYTHON`, else the CI venv, else `python3` on the PATH.
fn python_candidates() -> Vec<PathBuf> {
    if let Some(p) = std::env::var_os("SYLVAN_PYTHON") {
        return vec![PathBuf::from(p)];
    }
    let mut c = Vec::new();
    let venv = PathBuf::from("/var/tmp/sylvan-venv/bin/python");
    if venv.exists() {
        c.push(venv);
    }
    c.push(PathBuf::from("python3"));
    c
}

fn require_reference() -> bool {
    std::env::var("SYLVAN_REQUIRE_REFERENCE").is_ok_and(|v| v == "1")
}

/// Finds a Python with xgboost (once per process). `None` means: skip the differential checks
/// (after printing why). With `SYLVAN_REQUIRE_REFERENCE=1` a missing reference panics instead.
pub fn reference() -> Option<Reference> {
    static FOUND: OnceLock<Result<Reference, String>> = OnceLock::new();
    let found = FOUND.get_or_init(|| {
        let script = repo_root().join("tests/python/reference.py");
        let mut why = Vec::new();
        for python in python_candidates() {
            match Command::new(&python).arg(&script).arg("--check").output() {
                Ok(out) if out.status.success() => {
                    let versions = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
                    return Ok(Reference { python, versions });
                }
                Ok(out) => why.push(format!(
                    "{}: {}",
                    python.display(),
                    String::from_utf8_lossy(&out.stdout).trim()
                )),
                Err(e) => why.push(format!("{}: {e}", python.display())),
            }
        }
        Err(why.join("; "))
    });
    match found {
        Ok(r) => Some(r.clone()),
        Err(why) if require_reference() => {
            panic!("SYLVAN_REQUIRE_REFERENCE=1 but no Python with xgboost was found ({why})")
        }
        Err(why) => {
            eprintln!("skipping: xgboost not available ({why}); set SYLVAN_PYTHON to a Python that has it");
            None
        }
    }
}

/// A reference is missing: panics under `SYLVAN_REQUIRE_REFERENCE=1`, otherwise prints
/// "skipping `what`: `why`" (the caller then skips that part and passes).
pub fn missing_reference(what: &str, why: &str) {
    if require_reference() {
        panic!("SYLVAN_REQUIRE_REFERENCE=1 but {what} cannot run: {why}");
    }
    eprintln!("skipping {what}: {why}");
}

/// The reference Python when it also has LightGBM; `None` (after printing why, or a panic under
/// `SYLVAN_REQUIRE_REFERENCE=1`) when it does not. `what` names the skipped check.
pub fn require_lightgbm(what: &str) -> Option<Reference> {
    let r = reference()?;
    if r.has_lightgbm() {
        return Some(r);
    }
    let why = format!(
        "{} cannot import lightgbm ({})",
        r.python.display(),
        r.versions
            .get("lightgbm_error")
            .and_then(|v| v.as_str())
            .unwrap_or("not installed")
    );
    missing_reference(what, &why);
    None
}

/// The reference Python when it can import onnx and onnxruntime; `None` (after printing why, or a
/// panic under `SYLVAN_REQUIRE_REFERENCE=1`) otherwise. `what` names the skipped check.
pub fn require_onnxruntime(what: &str) -> Option<PathBuf> {
    static OK: OnceLock<Result<(), String>> = OnceLock::new();
    let python = reference()?.python;
    let ok = OK.get_or_init(
        || match Command::new(&python).args(["-c", "import onnx, onnxruntime"]).output() {
            Ok(o) if o.status.success() => Ok(()),
            Ok(o) => Err(format!(
                "{} cannot import onnx and onnxruntime: {}",
                python.display(),
                String::from_utf8_lossy(&o.stderr).trim().lines().last().unwrap_or("")
            )),
            Err(e) => Err(format!("{}: {e}", python.display())),
        },
    );
    match ok {
        Ok(()) => Some(python),
        Err(why) => {
            missing_reference(what, why);
            None
        }
    }
}

/// One training for [`run_reference_batch`]: library, task name, data directory, parameters.
pub type ReferenceJob<'a> = (&'a str, String, PathBuf, Vec<(&'a str, &'a str)>);

/// Runs `reference.py --batch` once for several trainings (one Python start, one import of the
/// libraries): each job is `(library, task, dir, params)`, its data in `dir` as for
/// [`run_reference`]. Returns the results in order.
pub fn run_reference_batch(r: &Reference, jobs: &[ReferenceJob<'_>]) -> Vec<serde_json::Value> {
    let script = repo_root().join("tests/python/reference.py");
    let first = jobs.first().expect("at least one job");
    let batch_file = first.2.join("batch.json");
    let outs: Vec<PathBuf> = jobs
        .iter()
        .map(|(library, task, dir, _)| dir.join(format!("result-{library}-{task}.json")))
        .collect();
    let list: Vec<serde_json::Value> = jobs
        .iter()
        .zip(&outs)
        .map(|((library, task, dir, params), out)| {
            serde_json::json!({
                "library": library,
                "task": task,
                "dir": dir,
                "params": serde_json::from_str::<serde_json::Value>(&params_json(params)).expect("JSON"),
                "out": out,
            })
        })
        .collect();
    std::fs::write(&batch_file, serde_json::Value::Array(list).to_string()).expect("write batch.json");
    let out = Command::new(&r.python)
        .arg(&script)
        .arg("--batch")
        .arg(&batch_file)
        .output()
        .expect("run reference.py");
    assert!(
        out.status.success(),
        "reference.py --batch failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    outs.iter()
        .map(|o| {
            let text = std::fs::read_to_string(o).expect("read result.json");
            serde_json::from_str(&text).expect("result.json is JSON")
        })
        .collect()
}

/// The parameters as the JSON object `reference.py --params` takes (values stay strings).
pub fn params_json(params: &[(&str, &str)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = params
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Sylvan parameters from the same list of `(name, value)` pairs.
pub fn sylvan_params(params: &[(&str, &str)]) -> sylvan::Params {
    let mut p = sylvan::Params::default();
    for (k, v) in params {
        p.set(k, v).unwrap_or_else(|e| panic!("Sylvan rejects {k}={v}: {e}"));
    }
    p
}

/// Runs the reference script on the `.npy` files in `dir` and returns its result.json (a batch of
/// one job).
pub fn run_reference(
    r: &Reference,
    library: &str,
    task: &str,
    dir: &Path,
    params: &[(&str, &str)],
) -> serde_json::Value {
    run_reference_batch(r, &[(library, task.to_string(), dir.to_path_buf(), params.to_vec())]).swap_remove(0)
}

/// The reference's test predictions as f32 (row-major).
pub fn reference_predictions(result: &serde_json::Value) -> Vec<f32> {
    result["predictions"]
        .as_array()
        .expect("predictions")
        .iter()
        .map(|v| v.as_f64().expect("number") as f32)
        .collect()
}

/// Largest allowed scaled difference between Sylvan's predictions and another runtime's.
pub const PREDICTION_TOLERANCE: f64 = 1e-5;

/// Sylvan's predictions (objective output space) for every row.
pub fn sylvan_predictions(b: &sylvan::Booster, data: &sylvan::Dataset) -> Vec<f32> {
    b.predict(data, sylvan::PredictOptions::default())
        .expect("Sylvan predicts")
        .values
}

/// Asserts that Sylvan's predictions and `against`'s agree within [`PREDICTION_TOLERANCE`], scaled
/// by `max(1, |a|, |b|)` (relative above 1, absolute below); reports the worst row.
pub fn assert_close(what: &str, sylvan: &[f32], other: &[f64], cols: usize, against: &str) {
    assert_eq!(sylvan.len(), other.len(), "{what}: prediction lengths differ");
    let mut worst = (0.0f64, 0usize);
    for (i, (a, b)) in sylvan.iter().zip(other).enumerate() {
        let a = *a as f64;
        let err = (a - b).abs() / a.abs().max(b.abs()).max(1.0);
        assert!(!err.is_nan(), "{what}: row {} has NaN ({a} vs {b})", i / cols);
        if err > worst.0 {
            worst = (err, i);
        }
    }
    let i = worst.1;
    println!(
        "[{what}] {} values, worst scaled difference {:.2e} (row {}: Sylvan {} vs {against} {})",
        sylvan.len(),
        worst.0,
        i / cols,
        sylvan[i],
        other[i]
    );
    assert!(
        worst.0 <= PREDICTION_TOLERANCE,
        "{what}: row {} differs: Sylvan {} vs {against} {} (scaled difference {:.2e} > {PREDICTION_TOLERANCE:e})",
        i / cols,
        sylvan[i],
        other[i],
        worst.0
    );
}

// ------------------------------------------------------------------------------------------------
// More data families for the benchmark of issue #22 (benches/perf.rs)

/// A uniform integer in `0..k` (`k` at least 1).
fn uniform_index(g: &mut Gen, k: usize) -> usize {
    (g.uniform(0.0, k as f64) as usize).min(k - 1)
}

/// Classification in the manner of scikit-learn's `make_classification`: `k` classes, each made of
/// `clusters_per_class` Gaussian clusters centred on random vertices of a hypercube of side
/// `2 * class_sep` in the first `informative` dimensions, every cluster with a covariance of its own
/// (standard normal draws times a random matrix with entries uniform in [-1, 1)); then `redundant`
/// random linear combinations of the informative features, and normal noise for the remaining
/// `m - informative - redundant` features. A row's cluster is drawn uniformly (so the classes are
/// balanced) and, with probability `flip`, its label is replaced by a uniformly drawn class (label
/// noise, which caps the attainable accuracy). Rows are drawn one after another, so a prefix of a
/// larger table is the smaller table.
#[allow(clippy::too_many_arguments)]
pub fn clustered_classification(
    n: usize,
    m: usize,
    k: usize,
    informative: usize,
    redundant: usize,
    clusters_per_class: usize,
    class_sep: f64,
    flip: f64,
    seed: u64,
) -> Table {
    assert!(
        k >= 2 && informative >= 1 && clusters_per_class >= 1 && informative + redundant <= m,
        "clustered_classification needs 2+ classes, 1+ informative features, 1+ clusters per class and \
         informative + redundant <= m"
    );
    let mut setup = Gen::new(seed ^ 0x6d61_6b65_636c_6173);
    let clusters = k * clusters_per_class;
    let centroids: Vec<Vec<f64>> = (0..clusters)
        .map(|_| {
            (0..informative)
                .map(|_| if setup.bernoulli(0.5) { class_sep } else { -class_sep })
                .collect()
        })
        .collect();
    let mut matrix =
        |rows: usize, cols: usize| -> Vec<f64> { (0..rows * cols).map(|_| setup.uniform(-1.0, 1.0)).collect() };
    let transforms: Vec<Vec<f64>> = (0..clusters).map(|_| matrix(informative, informative)).collect();
    let combos = matrix(informative, redundant);
    let mut g = Gen::new(seed);
    let mut labels_rng = Gen::new(seed ^ 0x666c_6970_5f79_2121);
    let mut columns: Vec<Vec<f32>> = (0..m).map(|_| Vec::with_capacity(n)).collect();
    let mut labels = Vec::with_capacity(n);
    let mut z = vec![0.0f64; informative];
    let mut x = vec![0.0f64; m];
    for _ in 0..n {
        let c = uniform_index(&mut g, clusters);
        for v in z.iter_mut() {
            *v = g.normal();
        }
        let a = &transforms[c];
        for (j, xj) in x[..informative].iter_mut().enumerate() {
            *xj = centroids[c][j]
                + z.iter()
                    .enumerate()
                    .map(|(i, zi)| zi * a[i * informative + j])
                    .sum::<f64>();
        }
        for r in 0..redundant {
            x[informative + r] = (0..informative).map(|i| x[i] * combos[i * redundant + r]).sum();
        }
        for v in x[informative + redundant..].iter_mut() {
            *v = g.normal();
        }
        let label = if labels_rng.bernoulli(flip) {
            uniform_index(&mut labels_rng, k)
        } else {
            c % k
        };
        for (col, v) in columns.iter_mut().zip(&x) {
            col.push(*v as f32);
        }
        labels.push(label as f32);
    }
    Table::new(columns, labels)
}

/// Replaces about `missing` of the values of every odd column by `NaN` (after the label was
/// computed; a mask generator of its own, seeded from `seed`).
fn mask_odd_columns(t: &mut Table, seed: u64, missing: f64) {
    let mut mask = Gen::new(seed ^ 0x6f64_645f_6d61_736b);
    for c in t.columns.iter_mut().skip(1).step_by(2) {
        for v in c.iter_mut() {
            if mask.bernoulli(missing) {
                *v = f32::NAN;
            }
        }
    }
}

/// Nonlinear regression in the manner of scikit-learn's `make_friedman1`: `m` features (at least
/// 20) uniform in [0, 1), the mean `10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4` plus more
/// nonlinear terms of x5..x19 (a sine of a product, a step times a feature, an absolute
/// difference, an exponential, a threshold interaction, a cosine), Gaussian noise (sd 1); the other
/// features are noise. About `missing` of the values of the odd columns are then replaced by `NaN`.
pub fn friedman_missing(n: usize, m: usize, seed: u64, missing: f64) -> Table {
    assert!(m >= 20, "friedman_missing needs at least 20 features");
    let mut g = Gen::new(seed);
    let mut noise = Gen::new(seed ^ 0x6672_6965_646d_616e);
    let features = |g: &mut Gen, x: &mut [f64]| {
        for v in x.iter_mut() {
            *v = g.uniform(0.0, 1.0);
        }
    };
    let pi = std::f64::consts::PI;
    let mut t = table_from_rows(
        n,
        m,
        |x| {
            10.0 * (pi * x[0] * x[1]).sin()
                + 20.0 * (x[2] - 0.5).powi(2)
                + 10.0 * x[3]
                + 5.0 * x[4]
                + 4.0 * (2.0 * pi * x[5] * x[6]).sin()
                + 6.0 * (x[7] > 0.6) as i32 as f64 * x[8]
                + 8.0 * (x[9] - x[10]).abs()
                + 2.0 * (2.0 * x[11]).exp() / 7.4
                + 5.0 * ((x[12] > 0.5) == (x[13] < 0.3)) as i32 as f64
                + 3.0 * (3.0 * pi * x[14]).cos() * x[15]
                + 4.0 * (x[16] * x[17] * x[18]).sqrt()
                - 3.0 * x[19] * x[19]
                + noise.normal()
        },
        &mut g,
        features,
    );
    mask_odd_columns(&mut t, seed, missing);
    t
}

/// Binary classification on features with few distinct values, so that histograms have few
/// non-empty bins: feature j takes the integers `0..levels` with `levels = 2 + (7 j) % 29` (2 to
/// 30); every fourth feature is `0` in about 90 % of the rows (one dominant value) and uniform over
/// its levels otherwise, the others uniform. P(y = 1) = sigmoid(f), f a sum of hashed per-value
/// effects of the first 16 features ([`category_effect`]; no order), two products of scaled
/// levels, a threshold and a dominant-value indicator. `m` at least 20.
pub fn ties_binary(n: usize, m: usize, seed: u64) -> Table {
    assert!(m >= 20, "ties_binary needs at least 20 features");
    let levels = |j: usize| 2 + (7 * j) % 29;
    let mut g = Gen::new(seed);
    let mut labels_rng = Gen::new(seed ^ 0x7469_6573_5f62_696e);
    let features = |g: &mut Gen, x: &mut [f64]| {
        for (j, v) in x.iter_mut().enumerate() {
            let k = levels(j);
            *v = if j % 4 == 3 && g.bernoulli(0.9) {
                0.0
            } else {
                uniform_index(g, k) as f64
            };
        }
    };
    table_from_rows(
        n,
        m,
        |x| {
            let scaled = |j: usize| x[j] / (levels(j) - 1) as f64;
            let mut f = 0.1;
            for (j, v) in x[..16].iter().enumerate() {
                f += 0.7 * category_effect(j as u64 + 77, *v as u32);
            }
            f += 1.5 * (scaled(16) - 0.5) * (scaled(17) - 0.5) * 4.0;
            f += 1.2 * (scaled(18) > 0.6) as i32 as f64 * scaled(1);
            f -= 0.8 * (x[19] == 0.0) as i32 as f64;
            labels_rng.bernoulli(sigmoid(1.5 * f)) as i32 as f64
        },
        &mut g,
        features,
    )
}

/// Groups of one-hot columns of [`sparse_binary`]: the levels of each encoded categorical variable.
pub const SPARSE_ONE_HOT_LEVELS: [usize; 4] = [40, 60, 80, 100];

/// Binary classification on sparse data in the manner of bag-of-words and one-hot encoded
/// tables: 20 dense normal features, then 200 count features (Poisson with mean 0.05: zero in
/// about 95 % of the rows), then the indicator columns of 4 one-hot encoded categorical variables
/// of [`SPARSE_ONE_HOT_LEVELS`] levels (280 columns, exactly one set per group, skewed level
/// frequencies): 500 features. The log-odds are a nonlinear function of the first 4 dense
/// features, plus a weight on each of the first 40 counts, plus an effect per category.
pub fn sparse_binary(n: usize, seed: u64) -> Table {
    const DENSE: usize = 20;
    const COUNTS: usize = 200;
    let m = DENSE + COUNTS + SPARSE_ONE_HOT_LEVELS.iter().sum::<usize>();
    let mut g = Gen::new(seed);
    let mut labels_rng = Gen::new(seed ^ 0x7370_6172_7365_2121);
    let features = |g: &mut Gen, x: &mut [f64]| {
        x.fill(0.0);
        for v in &mut x[..DENSE] {
            *v = g.normal();
        }
        for v in &mut x[DENSE..DENSE + COUNTS] {
            // Poisson(0.05) by inversion: P(0) = e^-0.05, then rarely more.
            let (mut k, mut p, u) = (0.0, (-0.05f64).exp(), g.uniform(0.0, 1.0));
            let mut cdf = p;
            while u > cdf && k < 20.0 {
                k += 1.0;
                p *= 0.05 / k;
                cdf += p;
            }
            *v = k;
        }
        let mut start = DENSE + COUNTS;
        for &levels in &SPARSE_ONE_HOT_LEVELS {
            // Skewed: the square of a uniform index favours low levels.
            let u = g.uniform(0.0, 1.0);
            let level = ((u * u * levels as f64) as usize).min(levels - 1);
            x[start + level] = 1.0;
            start += levels;
        }
    };
    table_from_rows(
        n,
        m,
        |x| {
            let mut f = x[0] - x[1] * x[2] + 0.5 * (x[3] > 0.5) as i32 as f64 - 0.3;
            for (j, v) in x[DENSE..DENSE + 40].iter().enumerate() {
                f += 1.5 * category_effect(j as u64 + 500, 0) * v;
            }
            let mut start = DENSE + COUNTS;
            for (group, &levels) in SPARSE_ONE_HOT_LEVELS.iter().enumerate() {
                let level = x[start..start + levels].iter().position(|&v| v == 1.0).unwrap_or(0);
                f += 0.6 * category_effect(group as u64 + 900, level as u32);
                start += levels;
            }
            labels_rng.bernoulli(sigmoid(f)) as i32 as f64
        },
        &mut g,
        features,
    )
}

/// Regression on skewed, heavy-tailed features: by column, log-normal (`exp(1.5 z)`), Pareto
/// (shape 1.5, from 1), Cauchy (`tan(pi (u - 1/2))`), exponential and normal, repeating. The mean
/// depends on logarithms, signed logarithms and thresholds of the first 10 features (so a learner
/// must find splits in the dense part of a long tail); the noise is Laplace (scale 0.5: heavier
/// tails than Gaussian, finite variance, so the RMSE stays meaningful). `m` at least 10.
pub fn skewed_regression(n: usize, m: usize, seed: u64) -> Table {
    assert!(m >= 10, "skewed_regression needs at least 10 features");
    let mut g = Gen::new(seed);
    let mut noise = Gen::new(seed ^ 0x736b_6577_6564_2121);
    let features = |g: &mut Gen, x: &mut [f64]| {
        for (j, v) in x.iter_mut().enumerate() {
            *v = match j % 5 {
                0 => (1.5 * g.normal()).exp(),
                1 => (1.0 - g.uniform(0.0, 1.0)).powf(-1.0 / 1.5),
                2 => (std::f64::consts::PI * (g.uniform(0.0, 1.0) - 0.5)).tan(),
                3 => g.exponential(),
                _ => g.normal(),
            };
        }
    };
    let slog = |v: f64| v.signum() * v.abs().ln_1p();
    table_from_rows(
        n,
        m,
        |x| {
            0.8 * x[0].ln()
                + 1.5 * x[1].ln().min(4.0)
                + 0.7 * slog(x[2]).clamp(-4.0, 4.0)
                + 2.0 * (x[3] > 2.0) as i32 as f64
                + (x[4] * 1.5).sin()
                + if x[5] > 3.0 {
                    1.5
                } else {
                    -0.5 * (x[5] < 0.3) as i32 as f64
                }
                + 0.5 * x[6].ln_1p().min(3.0) * (x[7] > 0.0) as i32 as f64
                - 1.2 * (x[8] > 0.5) as i32 as f64 * x[9].tanh()
                + noise.laplace(0.5)
        },
        &mut g,
        features,
    )
}
