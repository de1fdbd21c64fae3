//! Differential tests of DART (`booster=dart`): Sylvan against XGBoost 3.2's dart booster with the
//! same parameters (tree_method hist, rate_drop 0.1, eta, max_depth, lambda, min_child_weight,
//! max_bin, 2 threads) and the same f32 data (written as .npy and read by
//! `tests/python/reference.py`). Both models' test predictions are scored by the same Rust code
//! (`common::rmse`, `common::auc`).
//!
//! DART drops random trees, and the two libraries draw from different random streams, so single
//! runs differ by more than the training differences: each case averages the test score over
//! `RUNS` runs (data seed and training seed both vary), and the tolerance is one-sided on the
//! means: Sylvan may be better by any amount, but not worse than XGBoost by more than 1 % of its
//! mean test RMSE (regression) or 0.003 of its mean test AUC (binary), the bars of the issue.
//!
//! The reference Python is found as in tests/differential.rs (`$SYLVAN_PYTHON`, ...); without
//! xgboost the tests print "skipping ..." and pass, unless `SYLVAN_REQUIRE_REFERENCE=1`.

mod common;

use common::{ScratchDir, Table};
use sylvan::{Booster, PredictOptions};

/// Largest relative excess of Sylvan's mean test RMSE over XGBoost's.
const TOL_RMSE: f64 = 0.01;
/// Largest shortfall of Sylvan's mean test AUC below XGBoost's.
const TOL_AUC: f64 = 0.003;
/// Runs per case (`SYLVAN_DIFF_SEEDS` overrides).
const RUNS: u64 = 3;

/// Parameters of every case: XGBoost's defaults written out, DART with rate_drop 0.1, 50 rounds,
/// 2 threads.
fn base_params(objective: &'static str, eta: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("objective", objective),
        ("booster", "dart"),
        ("rate_drop", "0.1"),
        ("tree_method", "hist"),
        ("num_round", "50"),
        ("eta", eta),
        ("max_depth", "6"),
        ("lambda", "1"),
        ("alpha", "0"),
        ("gamma", "0"),
        ("min_child_weight", "1"),
        ("max_bin", "256"),
        ("nthread", "2"),
    ]
}

fn runs() -> u64 {
    std::env::var("SYLVAN_DIFF_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(RUNS)
}

/// Trains Sylvan and XGBoost (one Python start for every run) on `data(seed)` for each run with
/// training seed `seed` too, and returns each run's `(Sylvan, XGBoost)` test score.
fn scores(
    name: &str,
    data: impl Fn(u64) -> (Table, Table),
    first_seed: u64,
    params: &[(&'static str, &'static str)],
    score: impl Fn(&[f32], &[f32]) -> f64,
) -> Option<Vec<(f64, f64)>> {
    let reference = common::reference()?;
    let dir = ScratchDir::new(&format!("dart-diff-{name}"));
    let seeds: Vec<u64> = (first_seed..first_seed + runs()).collect();
    let seed_text: Vec<String> = seeds.iter().map(u64::to_string).collect();
    let mut jobs = Vec::new();
    let mut sylvan = Vec::new();
    let mut tests = Vec::new();
    for (seed, seed_str) in seeds.iter().zip(&seed_text) {
        let (train, test) = data(*seed);
        let run_dir = dir.path().join(format!("seed-{seed}"));
        std::fs::create_dir_all(&run_dir).unwrap();
        train.write_npy(&run_dir, "train").expect("write train .npy");
        test.write_npy(&run_dir, "test").expect("write test .npy");
        let mut p = params.to_vec();
        p.push(("seed", seed_str.as_str()));
        let booster = Booster::train(&common::sylvan_params(&p), &train.to_dataset(), &[]).expect("Sylvan trains");
        let w = booster.tree_weights().expect("tree weights");
        assert!(w.iter().any(|w| *w < 1.0), "{name}: Sylvan dropped nothing");
        let pred = booster
            .predict(&test.to_dataset(), PredictOptions::default())
            .expect("Sylvan predicts")
            .values;
        sylvan.push(score(&test.labels, &pred));
        tests.push(test);
        jobs.push(("xgboost", format!("{name}-{seed}"), run_dir, p));
    }
    let results = common::run_reference_batch(&reference, &jobs);
    Some(
        results
            .iter()
            .zip(&tests)
            .zip(sylvan)
            .map(|((r, test), s)| (s, score(&test.labels, &common::reference_predictions(r))))
            .collect(),
    )
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.collect();
    v.iter().sum::<f64>() / v.len() as f64
}

/// reg:squarederror with ~10 % missing values, 20,000 x 10 training rows, eta 0.1: mean test RMSE
/// at most 1 % above XGBoost's.
#[test]
fn dart_regression_rmse_near_xgboost() {
    let Some(runs) = scores(
        "regression",
        |seed| common::regression_missing(30_000, seed, 0.10).split_at(20_000),
        40,
        &base_params("reg:squarederror", "0.1"),
        common::rmse,
    ) else {
        return;
    };
    for (i, (s, x)) in runs.iter().enumerate() {
        println!(
            "[dart regression run {i}] test RMSE: Sylvan {s:.5}, XGBoost {x:.5} ({:+.3} %)",
            100.0 * (s - x) / x
        );
    }
    let (s, x) = (mean(runs.iter().map(|r| r.0)), mean(runs.iter().map(|r| r.1)));
    let excess = (s - x) / x;
    println!(
        "[dart regression] mean test RMSE: Sylvan {s:.5}, XGBoost {x:.5} ({:+.3} %, tolerance +{} %)",
        100.0 * excess,
        100.0 * TOL_RMSE
    );
    assert!(
        excess <= TOL_RMSE,
        "DART regression: Sylvan's mean RMSE {s:.5} is {:.2} % above XGBoost's {x:.5}",
        100.0 * excess
    );
}

/// binary:logistic, 20,000 x 10 training rows, eta 0.3: mean test AUC at most 0.003 below
/// XGBoost's.
#[test]
fn dart_binary_auc_near_xgboost() {
    let Some(runs) = scores(
        "binary",
        |seed| common::binary_nonlinear(30_000, seed).split_at(20_000),
        50,
        &base_params("binary:logistic", "0.3"),
        common::auc,
    ) else {
        return;
    };
    for (i, (s, x)) in runs.iter().enumerate() {
        println!(
            "[dart binary run {i}] test AUC: Sylvan {s:.5}, XGBoost {x:.5} ({:+.5})",
            s - x
        );
    }
    let (s, x) = (mean(runs.iter().map(|r| r.0)), mean(runs.iter().map(|r| r.1)));
    println!(
        "[dart binary] mean test AUC: Sylvan {s:.5}, XGBoost {x:.5} ({:+.5}, tolerance -{TOL_AUC})",
        s - x
    );
    assert!(
        x - s <= TOL_AUC,
        "DART binary: Sylvan's mean AUC {s:.5} is {:.5} below XGBoost's {x:.5}",
        x - s
    );
}
