//! Identities the learning core must satisfy, checked through the public Rust API on small
//! generated data (2,000 rows, features on a grid of 32 values, 10% of feature 1 missing):
//!
//! - **Zero weights**: a row of weight 0 gives the same model as dropping the row — same tree
//!   structure, features, default directions, gains, covers and leaf values, and the same leaf for
//!   every kept row (thresholds may move between kept values, so routing is compared, not
//!   thresholds) — for `exact`, `hist` and `approx`, `reg:squarederror`, `binary:logistic` and
//!   `multi:softprob`, both with every distinct value in its own bin (`max_bin` 256, 32 values) and
//!   with quantile cuts (`max_bin` 16, ~2,000 values: zero-weight rows must not move the cuts, as in
//!   XGBoost). The base margin estimated from the labels is identical too.
//! - **Integer weights**: weight k gives the same model as the row repeated k times (`exact` and
//!   `hist`, the three objectives).
//! - **base_margin**: a per-row base margin is an offset of the initial margin: a constant one equals
//!   `base_score`; for squared error it equals training on `y - m`; a per-row (and, for multiclass,
//!   per-class) one equals a custom objective that adds the offset to the margins; per-class
//!   constants equal continuing a tree-less model with that base margin; and predicting with a base
//!   margin shifts every row and class by `b - base_margin`.
//! - **Iteration ranges**: `margin(a..b) = margin(0..b) - margin(0..a) + base` for every row and class.
//! - **Early stopping**: the best round survives JSON and binary save/load, is what `predict` uses
//!   by default, and its score is the metric recomputed (naively, here) on the validation set.
//!
//! Tolerances (each justified where used):
//! - Zero weights, `exact`: bit-identical. Zero pairs add `+0.0` to every f64 sum, and the exact
//!   method sums in the same (value-sorted) order with or without them.
//! - Zero weights, `hist`/`approx` with `use_quantized_grad=false`: gains, covers and leaf values
//!   within 2 f32 ulps of the tree's largest value (relative 2.5e-7). The histogram of the larger of two siblings is
//!   the parent's minus the smaller's, and "smaller" is decided by row count, which the zero-weight
//!   rows change: the f64 sums can then differ in the last bit before they are rounded to f32.
//!   The quantized histograms are left out: their number of levels depends on the row count and
//!   their rounding dither on the row index, both by design.
//! - Integer weights: relative 1e-5 on gains, covers and values. `g * k` is rounded to f32 once where
//!   k copies of `g` are rounded each and summed in f64; gains are differences of such sums, whose
//!   relative error grows with cancellation (1e-6 is observed; 1e-5 leaves a margin without hiding a
//!   wrong weight, which moves values by percents).
//! - base_margin: bit-identical where the initial margins are the same f64 numbers (constants,
//!   first rounds, continued training); after the first round, margins accumulate as `(m + t1) + t2`
//!   instead of `m + (t1 + t2)` (f64 associativity), so later trees match to relative 1e-5.
//! - Prediction identities: f32 margins are rounded once each from f64 sums, so an identity of three
//!   or four of them holds to `4 * f32::EPSILON` times the sum of their magnitudes.

use std::sync::Arc;

mod common;

use common::signal;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sylvan_booster::backend::objective_for;
use sylvan_booster::*;

/// Raw columns and labels, from which data sets of chosen rows and weights are built.
struct Raw {
    cols: Vec<Vec<f32>>,
    y: Vec<f32>,
}

impl Raw {
    /// `n` rows of `nf` features on a grid of `levels` values in [-1, 1), 10% of feature 1 missing,
    /// label from the complete row.
    fn new(n: usize, nf: usize, seed: u64, levels: u32, label: impl Fn(&[f32], &mut StdRng) -> f32) -> Raw {
        let grid = |r: &mut StdRng| -1.0 + 2.0 * r.random_range(0..levels) as f32 / levels as f32;
        let (cols, y) = common::columns_with_missing(n, nf, seed, 0.1, grid, label);
        Raw { cols, y }
    }

    fn n(&self) -> usize {
        self.y.len()
    }

    /// The data set of `rows` (in that order, repeats allowed) with optional weights.
    fn take(&self, rows: &[usize], weights: Option<Vec<f32>>) -> Dataset {
        let cols = self.cols.iter().map(|c| rows.iter().map(|&r| c[r]).collect()).collect();
        let y = rows.iter().map(|&r| self.y[r]).collect();
        let d = Dataset::from_columns(cols).unwrap().with_labels(y).unwrap();
        match weights {
            Some(w) => d.with_weights(w).unwrap(),
            None => d,
        }
    }

    fn all(&self) -> Dataset {
        self.take(&(0..self.n()).collect::<Vec<_>>(), None)
    }
}

/// Regression, binary and 3-class data of the same shape.
fn data_for(objective: &str, seed: u64) -> Raw {
    match objective {
        "reg:squarederror" => Raw::new(2000, 5, seed, 32, |x, r| signal(x) + r.random_range(-0.5f32..0.5)),
        "binary:logistic" => Raw::new(2000, 5, seed, 32, |x, r| {
            (signal(x) + r.random_range(-1.0f32..1.0) > 0.0) as u8 as f32
        }),
        "multi:softprob" => Raw::new(2000, 5, seed, 32, |x, r| {
            ((signal(x) + r.random_range(-1.0f32..1.0) + 6.0) / 4.0)
                .clamp(0.0, 2.0)
                .floor()
        }),
        _ => unreachable!("{objective}"),
    }
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    p.set("nthread", "2").unwrap();
    for (k, v) in pairs {
        p.set(k, v).unwrap();
    }
    if p.objective.is_multiclass() {
        p.set("num_class", "3").unwrap();
    }
    p
}

fn margins(b: &Booster, d: &Dataset, range: Option<(usize, usize)>) -> Predictions {
    b.predict(
        d,
        PredictOptions {
            output: PredictOutput::Margin,
            iteration_range: range,
        },
    )
    .unwrap()
}

fn leaves(b: &Booster, d: &Dataset) -> Predictions {
    b.predict(
        d,
        PredictOptions {
            output: PredictOutput::LeafIndex,
            ..Default::default()
        },
    )
    .unwrap()
}

/// `|a - b| <= rel * max(|a|, |b|)` (so `rel = 0` asks for equality).
fn close(a: f32, b: f32, rel: f32) -> bool {
    a == b || (a - b).abs() <= rel * a.abs().max(b.abs())
}

/// `|a - b| <= rel * scale`.
fn close_at(a: f32, b: f32, rel: f32, scale: f32) -> bool {
    a == b || (a - b).abs() <= rel * scale
}

/// Same nodes, children, features and default directions; gains, covers and values within `rel`
/// times the largest magnitude of that quantity in the tree (bit-identical for `rel = 0`): rounding
/// errors scale with the sums a value is computed from, not with the value, which cancellation can
/// make arbitrarily small (a leaf whose gradients sum to about 0); thresholds too when `thresholds`
/// is set.
fn assert_same_trees(a: &[Tree], b: &[Tree], rel: f32, thresholds: bool, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: number of trees");
    for (t, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.left, y.left, "{what}: tree {t} structure");
        assert_eq!(x.right, y.right, "{what}: tree {t} structure");
        for i in 0..x.num_nodes() {
            if x.is_leaf(i) {
                continue;
            }
            assert_eq!(x.feature[i], y.feature[i], "{what}: tree {t} node {i} feature");
            assert_eq!(
                x.default_left[i], y.default_left[i],
                "{what}: tree {t} node {i} default"
            );
            if thresholds {
                assert_eq!(x.threshold[i], y.threshold[i], "{what}: tree {t} node {i} threshold");
            }
        }
        for (name, u, v) in [
            ("gain", &x.gain, &y.gain),
            ("cover", &x.cover, &y.cover),
            ("value", &x.value, &y.value),
        ] {
            let scale = u.iter().chain(v.iter()).fold(0f32, |m, x| m.max(x.abs()));
            for i in 0..x.num_nodes() {
                assert!(
                    close_at(u[i], v[i], rel, scale),
                    "{what}: tree {t} node {i} {name} {} vs {} (relative tolerance {rel})",
                    u[i],
                    v[i]
                );
            }
        }
    }
}

/// A row's weights: 0 for about a quarter of the rows, else 0.5, 1 or 2.
fn weights_with_zeros(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
    (0..n)
        .map(|_| {
            if rng.random::<f32>() < 0.25 {
                0.0
            } else {
                [0.5, 1.0, 2.0][rng.random_range(0..3usize)]
            }
        })
        .collect()
}

/// Trains on all rows with some weights 0 and on the rows of non-zero weight only, and checks that
/// the models are the same (see the tolerances above) and route every kept row alike.
fn check_zero_weights(method: &str, objective: &str, raw: &Raw, seed: u64, max_bin: &str) {
    let w = weights_with_zeros(raw.n(), seed);
    let kept: Vec<usize> = (0..raw.n()).filter(|&i| w[i] > 0.0).collect();
    let full = raw.take(&(0..raw.n()).collect::<Vec<_>>(), Some(w.clone()));
    let dropped = raw.take(&kept, Some(kept.iter().map(|&i| w[i]).collect()));
    let p = params(&[
        ("objective", objective),
        ("tree_method", method),
        ("use_quantized_grad", "false"),
        ("max_bin", max_bin),
        ("num_round", "4"),
        ("max_depth", "4"),
    ]);
    let a = Booster::train(&p, &full, &[]).unwrap();
    let b = Booster::train(&p, &dropped, &[]).unwrap();
    let what = format!("{method} {objective} max_bin {max_bin}");
    assert_eq!(a.base_margin(), b.base_margin(), "{what}: estimated base margin");
    assert!(
        a.trees().iter().all(|t| t.num_leaves() > 4),
        "{what}: trees too small to test"
    );
    let rel = if method == "exact" { 0.0 } else { 2.5e-7 };
    assert_same_trees(a.trees(), b.trees(), rel, false, &what);
    // Routing of the kept rows.
    let la = leaves(&a, &full);
    let lb = leaves(&b, &dropped);
    for (j, &i) in kept.iter().enumerate() {
        assert_eq!(la.row(i), lb.row(j), "{what}: kept row {i} falls in other leaves");
    }
    // And so the same predictions of the kept rows.
    let ma = margins(&a, &dropped, None);
    let mb = margins(&b, &dropped, None);
    for (x, y) in ma.values.iter().zip(&mb.values) {
        assert!(close(*x, *y, 4.0 * f32::EPSILON), "{what}: margin {x} vs {y}");
    }
}

#[test]
fn a_zero_weight_is_the_same_as_dropping_the_row() {
    let mut cases = Vec::new();
    for method in ["exact", "hist", "approx"] {
        for objective in ["reg:squarederror", "binary:logistic"] {
            cases.push((method, objective));
        }
    }
    cases.push(("hist", "multi:softprob"));
    cases.push(("exact", "multi:softprob"));
    for (seed, (method, objective)) in cases.into_iter().enumerate() {
        let seed = seed as u64 + 100;
        // 32 distinct values per feature <= max_bin: every value is its own bin in both data sets.
        check_zero_weights(method, objective, &data_for(objective, seed), seed, "256");
    }
}

#[test]
fn a_zero_weight_row_takes_no_part_in_the_cut_points() {
    // Far more distinct values than bins: the cuts are weighted quantiles, and a zero-weight row
    // must not move them (XGBoost 3.2 gives identical trees here, thresholds included).
    let cases = [
        ("hist", "reg:squarederror"),
        ("approx", "binary:logistic"),
        ("hist", "binary:logistic"),
        ("approx", "reg:squarederror"),
    ];
    for (seed, (method, objective)) in cases.into_iter().enumerate() {
        let seed = seed as u64 + 150;
        let raw = if objective == "binary:logistic" {
            Raw::new(2000, 5, seed, 1 << 20, |x, r| {
                (signal(x) + r.random_range(-1.0f32..1.0) > 0.0) as u8 as f32
            })
        } else {
            Raw::new(2000, 5, seed, 1 << 20, |x, r| signal(x) + r.random_range(-0.5f32..0.5))
        };
        check_zero_weights(method, objective, &raw, seed, "16");
    }
}

#[test]
fn an_integer_weight_is_the_same_as_repeating_the_row() {
    let cases = [
        ("exact", "reg:squarederror"),
        ("exact", "binary:logistic"),
        ("exact", "multi:softprob"),
        ("hist", "reg:squarederror"),
        ("hist", "binary:logistic"),
        ("hist", "multi:softprob"),
    ];
    for (seed, (method, objective)) in cases.into_iter().enumerate() {
        let seed = seed as u64 + 200;
        let raw = data_for(objective, seed);
        let mut rng = StdRng::seed_from_u64(seed);
        let k: Vec<usize> = (0..raw.n())
            .map(|_| [1, 1, 2, 3][rng.random_range(0..4usize)])
            .collect();
        let repeated: Vec<usize> = (0..raw.n()).flat_map(|i| std::iter::repeat_n(i, k[i])).collect();
        let weighted = raw.take(
            &(0..raw.n()).collect::<Vec<_>>(),
            Some(k.iter().map(|&k| k as f32).collect()),
        );
        let copies = raw.take(&repeated, None);
        let what = format!("{method} {objective}");
        // The estimated base margin: a weighted mean (or class frequencies) against a plain one.
        let p1 = params(&[("objective", objective), ("num_round", "1")]);
        let (a, b) = (
            Booster::train(&p1, &weighted, &[]).unwrap(),
            Booster::train(&p1, &copies, &[]).unwrap(),
        );
        for (x, y) in a.base_margin().iter().zip(b.base_margin()) {
            assert!(
                (x - y).abs() <= 1e-12 * (1.0 + x.abs()),
                "{what}: base margin {x} vs {y}"
            );
        }
        // The trees, from the same base score (the estimates may differ in the last bit).
        let score = if objective == "binary:logistic" { "0.5" } else { "0.25" };
        // 32 distinct values <= max_bin: both data sets have every value as its own bin.
        let p = params(&[
            ("objective", objective),
            ("tree_method", method),
            ("base_score", score),
            ("max_bin", "256"),
            ("use_quantized_grad", "false"),
            ("num_round", "4"),
            ("max_depth", "4"),
        ]);
        let a = Booster::train(&p, &weighted, &[]).unwrap();
        let b = Booster::train(&p, &copies, &[]).unwrap();
        assert!(
            a.trees().iter().all(|t| t.num_leaves() > 4),
            "{what}: trees too small to test"
        );
        // Both data sets hold the same distinct values, so thresholds (midpoints or cuts) agree too.
        assert_same_trees(a.trees(), b.trees(), 1e-5, true, &what);
        let la = leaves(&a, &weighted);
        let lb = leaves(&b, &copies);
        for (j, &i) in repeated.iter().enumerate() {
            assert_eq!(
                la.row(i),
                lb.row(j),
                "{what}: row {i} and its copy fall in other leaves"
            );
        }
    }
}

/// Trees of `objective` trained on `d` with `extra` parameters.
fn train(objective: &str, d: &Dataset, extra: &[(&str, &str)]) -> Booster {
    let mut pairs = vec![("objective", objective), ("num_round", "5"), ("max_depth", "4")];
    pairs.extend_from_slice(extra);
    Booster::train(&params(&pairs), d, &[]).unwrap()
}

#[test]
fn a_constant_base_margin_is_the_same_as_base_score() {
    // Margins that are exact in f32 and f64 alike: base_score 0.5 is margin 0 for binary:logistic.
    for (objective, margin, score) in [
        ("reg:squarederror", 0.25f32, "0.25"),
        ("binary:logistic", 0.0, "0.5"),
        ("multi:softprob", 0.75, "0.75"),
    ] {
        let raw = data_for(objective, 300);
        let d = raw.all();
        let k = if objective == "multi:softprob" { 3 } else { 1 };
        let with_margin = d.clone().with_base_margin(vec![margin; raw.n() * k]).unwrap();
        let a = train(objective, &with_margin, &[]);
        let b = train(objective, &d, &[("base_score", score)]);
        assert_same_trees(a.trees(), b.trees(), 0.0, true, objective);
        // Predicting with the same base margin gives the base_score model's margins.
        assert_eq!(margins(&a, &with_margin, None), margins(&b, &d, None), "{objective}");
    }
}

#[test]
fn squared_error_with_a_base_margin_is_training_on_the_residual() {
    // Labels on a grid of 1/64 and margins on one of 1/8: `y - m` is exact in f32, so the first
    // round's gradients `m - y` and `0 - (y - m)` are the same numbers.
    let raw = Raw::new(2000, 5, 301, 32, |x, r| {
        ((signal(x) + r.random_range(-0.5f32..0.5)) * 64.0).round() / 64.0
    });
    let mut rng = StdRng::seed_from_u64(302);
    let m: Vec<f32> = (0..raw.n())
        .map(|_| rng.random_range(-16i32..=16) as f32 / 8.0)
        .collect();
    let with_margin = raw.all().with_base_margin(m.clone()).unwrap();
    let residual = raw
        .all()
        .with_labels(raw.y.iter().zip(&m).map(|(y, m)| y - m).collect())
        .unwrap();
    for method in ["exact", "hist"] {
        let extra = [("tree_method", method), ("base_score", "0")];
        let a = train("reg:squarederror", &with_margin, &extra);
        let b = train("reg:squarederror", &residual, &extra);
        assert_same_trees(&a.trees()[..1], &b.trees()[..1], 0.0, true, method);
        assert_same_trees(a.trees(), b.trees(), 1e-5, true, method);
        // Without the margin the first tree fits y, not y - m: the identity is not vacuous.
        let c = train("reg:squarederror", &raw.all(), &extra);
        assert_ne!(c.trees()[0], b.trees()[0]);
    }
}

/// A built-in objective evaluated at the margins plus a fixed per-row (per-class) offset: the
/// independent construct a base margin must equal.
#[derive(Debug)]
struct Offset {
    inner: Arc<dyn Objective>,
    offset: Vec<f64>,
}

impl Objective for Offset {
    fn name(&self) -> &str {
        "test:offset"
    }
    fn num_groups(&self) -> usize {
        self.inner.num_groups()
    }
    fn gradients(&self, labels: &[f32], w: Option<&[f32]>, margins: &[f64], out: &mut [GradPair]) {
        let shifted: Vec<f64> = margins.iter().zip(&self.offset).map(|(m, o)| o + m).collect();
        self.inner.gradients(labels, w, &shifted, out);
    }
}

#[test]
fn a_per_row_base_margin_is_an_offset_of_the_margins() {
    for (seed, objective) in ["reg:squarederror", "binary:logistic", "multi:softprob"]
        .into_iter()
        .enumerate()
    {
        let raw = data_for(objective, 310 + seed as u64);
        let k = if objective == "multi:softprob" { 3 } else { 1 };
        let mut rng = StdRng::seed_from_u64(320 + seed as u64);
        // Rows x classes, row-major; a different offset for every row and class.
        let m: Vec<f32> = (0..raw.n() * k).map(|_| rng.random_range(-1.5f32..1.5)).collect();
        let with_margin = raw.all().with_base_margin(m.clone()).unwrap();
        let p = params(&[("objective", objective), ("num_round", "5"), ("max_depth", "4")]);
        // The base margin replaces base_score (left to be estimated here); a custom objective
        // reads base_score as a margin: 0.
        let a = Booster::train(&p, &with_margin, &[]).unwrap();
        let mut p0 = p.clone();
        p0.set("base_score", "0").unwrap();
        let options = TrainOptions {
            objective: Some(Arc::new(Offset {
                inner: objective_for(&p),
                offset: m.iter().map(|v| *v as f64).collect(),
            })),
            ..Default::default()
        };
        let b = Booster::train_with(&p0, &raw.all(), &[], options).unwrap();
        // Round one: both start at margin m exactly (0 + m = m).
        assert_same_trees(&a.trees()[..k], &b.trees()[..k], 0.0, true, objective);
        assert_same_trees(a.trees(), b.trees(), 1e-5, true, objective);
        // Ignoring the base margin would grow other trees.
        let c = Booster::train(&p, &raw.all(), &[]).unwrap();
        assert_ne!(c.trees()[..k], a.trees()[..k], "{objective}");
    }
}

#[test]
fn per_class_base_margins_equal_continuing_a_model_with_that_base() {
    // A tree-less model whose base margin is (0.5, -0.25, 1) continued for 5 rounds starts every
    // row at those margins, as does a base margin of (0.5, -0.25, 1) on every row of the data.
    let raw = data_for("multi:softprob", 330);
    let base = [0.5f32, -0.25, 1.0];
    let per_row: Vec<f32> = (0..raw.n()).flat_map(|_| base).collect();
    let with_margin = raw.all().with_base_margin(per_row).unwrap();
    let p = params(&[("objective", "multi:softprob"), ("num_round", "5"), ("max_depth", "4")]);
    let a = Booster::train(&p, &with_margin, &[]).unwrap();
    let init = Booster::from_parts(p.clone(), base.iter().map(|v| *v as f64).collect(), vec![], 5, None).unwrap();
    let options = TrainOptions {
        init_model: Some(&init),
        ..Default::default()
    };
    let b = Booster::train_with(&p, &raw.all(), &[], options).unwrap();
    assert_same_trees(a.trees(), b.trees(), 0.0, true, "per-class base margin");
    // The classes are not interchangeable: a permuted base grows other trees.
    let permuted: Vec<f32> = (0..raw.n()).flat_map(|_| [base[2], base[0], base[1]]).collect();
    let c = Booster::train(&p, &raw.all().with_base_margin(permuted).unwrap(), &[]).unwrap();
    assert_ne!(c.trees()[..3], a.trees()[..3]);
}

/// `4 * f32::EPSILON` times the summed magnitudes: the rounding of a few f32 margins from f64.
fn f32_tol(parts: &[f32]) -> f32 {
    4.0 * f32::EPSILON * parts.iter().map(|v| v.abs()).sum::<f32>()
}

#[test]
fn predicting_with_a_base_margin_shifts_every_row_and_class() {
    for objective in ["reg:squarederror", "binary:logistic", "multi:softprob"] {
        let raw = data_for(objective, 340);
        let d = raw.all();
        let b = train(objective, &d, &[]);
        let k = b.num_groups();
        let mut rng = StdRng::seed_from_u64(341);
        let m: Vec<f32> = (0..raw.n() * k).map(|_| rng.random_range(-3.0f32..3.0)).collect();
        let shifted = d.clone().with_base_margin(m.clone()).unwrap();
        let with = margins(&b, &shifted, None);
        let without = margins(&b, &d, None);
        assert_eq!(with.num_cols, k);
        for i in 0..raw.n() {
            for j in 0..k {
                let (x, y) = (with.row(i)[j], without.row(i)[j]);
                let want = m[i * k + j] - b.base_margin()[j] as f32;
                assert!(
                    ((x - y) - want).abs() <= f32_tol(&[x, y, m[i * k + j], b.base_margin()[j] as f32]),
                    "{objective}: row {i} class {j}: {x} - {y} != {want}"
                );
            }
        }
    }
}

#[test]
fn an_iteration_range_is_a_difference_of_prefixes() {
    for objective in ["binary:logistic", "multi:softprob"] {
        let raw = data_for(objective, 350);
        let d = raw.all();
        let rounds = 6;
        let b = train(objective, &d, &[("num_round", "6")]);
        let k = b.num_groups();
        assert_eq!(b.num_rounds(), rounds);
        let prefix: Vec<Predictions> = (1..=rounds).map(|e| margins(&b, &d, Some((0, e)))).collect();
        for a in 1..rounds {
            for e in a + 1..=rounds {
                let range = margins(&b, &d, Some((a, e)));
                for i in 0..raw.n() {
                    for j in 0..k {
                        let (r, pe, pa) = (range.row(i)[j], prefix[e - 1].row(i)[j], prefix[a - 1].row(i)[j]);
                        let base = b.base_margin()[j] as f32;
                        let want = pe - pa + base;
                        assert!(
                            (r - want).abs() <= f32_tol(&[r, pe, pa, base]),
                            "{objective} rounds {a}..{e} row {i} class {j}: {r} vs {want}"
                        );
                    }
                }
            }
        }
    }
}

/// Naive metrics on the validation set.
fn rmse(p: &[f32], y: &[f32]) -> f64 {
    let s: f64 = p.iter().zip(y).map(|(p, y)| (*p as f64 - *y as f64).powi(2)).sum();
    (s / y.len() as f64).sqrt()
}

fn logloss(p: &[f32], y: &[f32]) -> f64 {
    let s: f64 = p
        .iter()
        .zip(y)
        .map(|(p, y)| {
            let p = (*p as f64).clamp(1e-16, 1.0 - 1e-16);
            -(*y as f64 * p.ln() + (1.0 - *y as f64) * (1.0 - p).ln())
        })
        .sum();
    s / y.len() as f64
}

/// AUC as the Mann-Whitney statistic with mid-ranks for ties.
fn auc(p: &[f32], y: &[f32]) -> f64 {
    let mut idx: Vec<usize> = (0..p.len()).collect();
    idx.sort_by(|a, b| p[*a].total_cmp(&p[*b]));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && p[idx[j + 1]] == p[idx[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += idx[i..=j].iter().filter(|&&r| y[r] == 1.0).count() as f64 * mid;
        i = j + 1;
    }
    let pos = y.iter().filter(|v| **v == 1.0).count() as f64;
    let neg = y.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

#[test]
fn early_stopping_keeps_the_best_round_through_save_and_load() {
    type Naive = fn(&[f32], &[f32]) -> f64;
    let cases: [(&str, &str, Naive); 3] = [
        ("reg:squarederror", "rmse", rmse),
        ("binary:logistic", "logloss", logloss),
        ("binary:logistic", "auc", auc),
    ];
    for (objective, metric, naive) in cases {
        // Noisy labels and deep trees at a high learning rate: the validation metric turns early.
        let label = |x: &[f32], r: &mut StdRng| -> f32 {
            let s = signal(x) + r.random_range(-3.0f32..3.0);
            if objective == "binary:logistic" {
                (s > 0.0) as u8 as f32
            } else {
                s
            }
        };
        let train_set = Raw::new(1500, 5, 360, 32, label).all();
        let valid = Raw::new(1500, 5, 361, 32, label).all();
        let p = params(&[
            ("objective", objective),
            ("eval_metric", metric),
            ("num_round", "300"),
            ("eta", "0.5"),
            ("max_depth", "8"),
            ("early_stopping_rounds", "4"),
        ]);
        let b = Booster::train(&p, &train_set, &[("train", &train_set), ("valid", &valid)]).unwrap();
        let best = b.best_iteration().expect("early stopping ran");
        assert!(
            b.num_rounds() == best + 5 && b.num_rounds() < 300,
            "{metric}: early stopping did not fire: {} rounds, best {best}",
            b.num_rounds()
        );
        // The best round is the best of the validation history (the metric's direction).
        let history: Vec<f64> = b.eval_history().iter().map(|r| r.evals[1].2).collect();
        let argbest = (0..history.len())
            .reduce(|i, j| {
                let better = if metric == "auc" {
                    history[j] > history[i]
                } else {
                    history[j] < history[i]
                };
                if better {
                    j
                } else {
                    i
                }
            })
            .unwrap();
        assert_eq!(best, argbest, "{metric}: {history:?}");
        assert_eq!(b.best_score(), Some(history[best]));
        let json = Booster::from_json_str(&b.to_json_string().unwrap()).unwrap();
        let bin = Booster::from_bytes(&b.to_bytes().unwrap()).unwrap();
        for (form, m) in [("trained", &b), ("json", &json), ("binary", &bin)] {
            assert_eq!(m.best_iteration(), Some(best), "{metric} {form}");
            assert_eq!(m.best_score(), b.best_score(), "{metric} {form}");
            let default = m.predict(&valid, PredictOptions::default()).unwrap();
            let at_best = m
                .predict(
                    &valid,
                    PredictOptions {
                        iteration_range: Some((0, best + 1)),
                        ..Default::default()
                    },
                )
                .unwrap();
            let all = m
                .predict(
                    &valid,
                    PredictOptions {
                        iteration_range: Some((0, m.num_rounds())),
                        ..Default::default()
                    },
                )
                .unwrap();
            assert_eq!(
                default, at_best,
                "{metric} {form}: default prediction is not the best round's"
            );
            assert_ne!(default, all, "{metric} {form}");
            // The best score is the metric of the best round's predictions. Training evaluates
            // f64 margins summed tree by tree; prediction may sum them in another order, so the
            // f32 predictions can differ in the last bit: relative 1e-6 (AUC: one swapped pair
            // of nearly equal predictions, 1 / (positives * negatives) < 1e-5).
            let v = naive(&default.values, valid.labels());
            let want = b.best_score().unwrap();
            let tol = if metric == "auc" { 1e-5 } else { 1e-6 * want.abs() };
            assert!(
                (v - want).abs() <= tol,
                "{metric} {form}: recomputed {v}, best score {want}"
            );
        }
    }
}
