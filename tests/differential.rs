//! Differential tests: Sylvan against XGBoost 3.2 (and LightGBM 4.7 where it is an anchor) on
//! generated data, with the same parameters, the same f32 values (written as .npy, weights as
//! w_train.npy, read by `tests/python/reference.py`) and 2 threads. Both models' test predictions
//! are scored by the same Rust code (`common::auc`, `rmse`, `objective_score`, ...), so the
//! comparison does not depend on either library's metrics.
//!
//! The reference Python is `$SYLVAN_PYTHON`, else `/var/tmp/sylvan-venv/bin/python` (what
//! `.ci/run` creates), else `python3`. Without xgboost (or lightgbm, for the anchors) the tests
//! print "skipping ..." and pass, unless `SYLVAN_REQUIRE_REFERENCE=1` (set by CI), which makes every
//! missing reference a failure.
//!
//! A failure here means Sylvan differs from the reference more than it did when the tolerance was
//! measured, not that the tolerance needs widening. Hist tolerances are 2x (rounded up) the largest
//! |difference| seen over 5 data seeds, measured once with `SYLVAN_DIFF_SEEDS=5` (the tests run one
//! seed; `SYLVAN_DIFF_ONLY=<objective>` narrows the per-objective test to one objective).
//!
//! Cases and tolerances:
//! - `every_objective_exact_matches_xgboost_exact`: tree_method=exact, all 12 objectives
//!   (reg:squarederror, reg:absoluteerror, reg:pseudohubererror (huber_slope 4),
//!   reg:quantileerror (alpha 0.3), reg:squaredlogerror, count:poisson, reg:gamma, reg:tweedie
//!   (power 1.3), binary:logistic, binary:logitraw, multi:softmax, multi:softprob), unweighted and
//!   with weights uniform in [0.2, 3); 3000 x 10 rows, 10 % missing, depth 4, 5 rounds, base_score
//!   explicit on both sides (see `every_objective`). Every tree has the same splits (feature,
//!   threshold to 1e-6 relative, default direction) and predictions agree to 1e-5 scaled by
//!   max(1, |value|) (pseudo-Huber 1e-4): observed at most 5.1e-7 (pseudo-Huber 1.5e-5), the
//!   f32 rounding of the gradients. Narrow exceptions, each checked or explained where it is set:
//!   reg:absoluteerror and reg:quantileerror compare the first tree only (XGBoost's exact method
//!   does not re-fit leaves to the residual quantile, Sylvan's does; the test checks that XGBoost's
//!   leaves are eta x the Newton weight); count:poisson sets min_child_weight 10 (a tie otherwise).
//! - `every_objective_hist_score_near_xgboost`: tree_method=hist, the same 12 objectives,
//!   unweighted and weighted, Sylvan with quantized gradients (default) and with
//!   use_quantized_grad=false; 8000 x 10 training rows, depth 5, 20 rounds. The test score
//!   (`objective_score`) within `hist_tolerance` of XGBoost's, relative (absolute for AUC and the
//!   softmax error rate). Largest |difference| over the 20 measured runs per objective
//!   (5 seeds x weighted or not x quantized or f64) -> tolerance: squarederror 0.017 -> 0.035,
//!   absoluteerror 0.046 -> 0.095, pseudohubererror 0.047 -> 0.095, quantileerror 0.048 -> 0.1,
//!   squaredlogerror 0.071 -> 0.15, poisson 0.0045 -> 0.01, gamma 0.0026 -> 0.006, tweedie 0.0019
//!   -> 0.004, logistic AUC 0.0091 -> 0.019, logitraw AUC 0.0037 -> 0.008, softmax error rate
//!   0.0048 -> 0.01, softprob mlogloss 0.012 -> 0.025. The f64 path is NOT measurably closer to
//!   XGBoost than the quantized one: Sylvan's two scores usually differ far less from each other
//!   than from XGBoost's (reg:quantileerror is the exception), so the differences come mostly
//!   from the cut points (the two libraries' quantile sketches), not from the gradient sums.
//! - `binary_logistic_auc_matches_xgboost` (20,000 x 10, 50 rounds, depth 6, eta 0.3): test AUC
//!   within 0.007 of XGBoost's (5 seeds: -0.0002, -0.0026, -0.0007, -0.0033, +0.0017; the former
//!   tolerance 0.003 was below seed 14's difference) and 0.009 of LightGBM's (+0.0021, -0.0024,
//!   +0.0041, -0.0022, +0.0017).
//! - `squared_error_with_missing_values_rmse_matches_xgboost` (~10 % missing, eta 0.1): test RMSE
//!   within 1.1 % of XGBoost's (-0.27, -0.54, +0.05, -0.07, +0.23 %) and 1.9 % of LightGBM's
//!   (+0.21, -0.35, -0.21, +0.82, +0.91 %).
//! - `multiclass_softprob_accuracy_matches_xgboost` (3 classes, eta 0.1): test accuracy within 0.3
//!   points of XGBoost's (-0.15, +0.08, -0.01, -0.04, 0.00) and 2.1 points of LightGBM's (-1.05,
//!   -0.77, -0.38, -0.94, -0.83: LightGBM is consistently better here, by ~0.8 points).
//! - first tree's root split on tie-free data: same feature, and the thresholds at most one
//!   quantile bin apart (see `root_split_matches_on_tie_free_data`)
//! - boosting=gradient with reg:absoluteerror: MAE within 5 % of XGBoost's reg:absoluteerror
//! - random forest mode (num_parallel_tree 50): AUC within 0.005 of XGBoost's (issue 5)

mod common;

use common::{ScratchDir, Table};
use sylvan::{Booster, PredictOptions};

const ROUNDS: &str = "50";

/// Parameters shared by every case: XGBoost's defaults written out, 50 rounds, 2 threads.
fn base_params() -> Vec<(&'static str, &'static str)> {
    vec![
        ("tree_method", "hist"),
        ("num_round", ROUNDS),
        ("eta", "0.3"),
        ("max_depth", "6"),
        ("lambda", "1"),
        ("alpha", "0"),
        ("gamma", "0"),
        ("min_child_weight", "1"),
        ("max_bin", "256"),
        ("nthread", "2"),
        ("seed", "0"),
    ]
}

fn with(
    mut base: Vec<(&'static str, &'static str)>,
    extra: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    base.extend_from_slice(extra);
    base
}

/// Everything one case produced.
struct Case {
    train: Table,
    test: Table,
    sylvan: Booster,
    sylvan_pred: Vec<f32>,
    xgb: serde_json::Value,
    xgb_pred: Vec<f32>,
}

/// Writes the data, trains Sylvan and XGBoost with `params`, predicts the test set with both.
fn run_case(name: &str, train: Table, test: Table, params: &[(&str, &str)]) -> Option<Case> {
    let reference = common::reference()?;
    let dir = ScratchDir::new(&format!("diff-{name}"));
    train.write_npy(dir.path(), "train").expect("write train .npy");
    test.write_npy(dir.path(), "test").expect("write test .npy");

    let p = common::sylvan_params(params);
    let sylvan = Booster::train(&p, &train.to_dataset(), &[]).expect("Sylvan trains");
    let pred = sylvan
        .predict(&test.to_dataset(), PredictOptions::default())
        .expect("Sylvan predicts");
    let xgb = common::run_reference(&reference, "xgboost", name, dir.path(), params);
    let xgb_pred = common::reference_predictions(&xgb);
    assert_eq!(
        pred.values.len(),
        xgb_pred.len(),
        "{name}: prediction shapes differ (Sylvan {}x{}, XGBoost {:?})",
        pred.num_rows,
        pred.num_cols,
        xgb["pred_shape"]
    );
    Some(Case {
        train,
        test,
        sylvan,
        sylvan_pred: pred.values,
        xgb,
        xgb_pred,
    })
}

fn report_root(name: &str, case: &Case) {
    let s = case.sylvan.trees().first().and_then(|t| t.root_split());
    let x = &case.xgb["root_split"];
    println!(
        "[{name}] first tree's root split: Sylvan {:?}, XGBoost feature {} threshold {}",
        s, x["feature"], x["threshold"]
    );
}

/// One of the three 50-round comparisons with both anchors: the test score of Sylvan (default,
/// quantized gradients), XGBoost and LightGBM (`lgb_params_from_xgb` in reference.py:
/// num_leaves = 2^max_depth with the same max_depth, min_data_in_leaf 0, min_sum_hessian_in_leaf
/// = min_child_weight, lambda_l2, max_bin, learning rate) on `data(seed)` for each of `seeds`,
/// each difference within its tolerance. `score` is lower-is-better or higher-is-better, the
/// differences are absolute (`relative` false) or relative to XGBoost's / LightGBM's score.
#[allow(clippy::too_many_arguments)]
fn anchors_case(
    name: &str,
    data: impl Fn(u64) -> (Table, Table),
    seeds: Vec<u64>,
    params: &[(&'static str, &'static str)],
    score: impl Fn(&[f32], &[f32]) -> f64,
    relative: bool,
    tol_xgboost: f64,
    tol_lightgbm: f64,
) {
    let mut failures = Vec::new();
    for seed in seeds {
        let (train, test) = data(seed);
        let Some(case) = run_case(name, train, test, params) else {
            return;
        };
        let s = score(&case.test.labels, &case.sylvan_pred);
        let x = score(&case.test.labels, &case.xgb_pred);
        let diff = |a: f64, b: f64| if relative { (a - b) / b.abs() } else { a - b };
        let dx = diff(s, x);
        report_root(name, &case);
        // The scoring itself: Python's own AUC of XGBoost's predictions (reference.py, numpy).
        if let Some(auc_py) = case.xgb["metrics"]["auc"].as_f64() {
            assert!(
                (auc_py - x).abs() < 1e-9,
                "AUC of XGBoost's predictions: Rust {x}, Python {auc_py}"
            );
        }
        let lightgbm = common::require_lightgbm(&format!("the LightGBM anchor of {name}")).map(|r| {
            let dir = ScratchDir::new(&format!("diff-{name}-lgb"));
            case.train.write_npy(dir.path(), "train").expect("write");
            case.test.write_npy(dir.path(), "test").expect("write");
            let lgb = common::run_reference(&r, "lightgbm", name, dir.path(), params);
            score(&case.test.labels, &common::reference_predictions(&lgb))
        });
        let dl = lightgbm.map(|l| diff(s, l));
        println!(
            "[{name}, seed {seed}] test score: Sylvan {s:.5}, XGBoost {x:.5}, LightGBM {} (Sylvan - XGBoost {dx:+.5}, tolerance {tol_xgboost}; Sylvan - LightGBM {}, tolerance {tol_lightgbm}{})",
            lightgbm.map_or("-".into(), |l| format!("{l:.5}")),
            dl.map_or("-".into(), |d| format!("{d:+.5}")),
            if relative { ", relative" } else { "" }
        );
        if dx.abs() > tol_xgboost {
            failures.push(format!(
                "seed {seed}: Sylvan {s:.5} vs XGBoost {x:.5} ({dx:+.5}, tolerance {tol_xgboost})"
            ));
        }
        if let (Some(l), Some(d)) = (lightgbm, dl) {
            if d.abs() > tol_lightgbm {
                failures.push(format!(
                    "seed {seed}: Sylvan {s:.5} vs LightGBM {l:.5} ({d:+.5}, tolerance {tol_lightgbm})"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{name}:\n{}", failures.join("\n"));
}

/// binary:logistic, 20,000 x 10 training rows, 50 rounds, depth 6, eta 0.3: test AUC.
#[test]
fn binary_logistic_auc_matches_xgboost() {
    let params = with(base_params(), &[("objective", "binary:logistic")]);
    anchors_case(
        "binary",
        |seed| common::binary_nonlinear(30_000, seed).split_at(20_000),
        seeds(11),
        &params,
        common::auc,
        false,
        TOL_BINARY_AUC.0,
        TOL_BINARY_AUC.1,
    );
}

/// reg:squarederror with ~10 % missing values, 20,000 x 10 training rows, 50 rounds, depth 6,
/// eta 0.1: test RMSE, relative. (eta 0.1: at eta 0.3 the RMSE of either library moves by up to 2 %
/// with max_bin alone, 255 vs 256, more than the differences measured here.)
#[test]
fn squared_error_with_missing_values_rmse_matches_xgboost() {
    let params = with(base_params(), &[("objective", "reg:squarederror"), ("eta", "0.1")]);
    anchors_case(
        "regression",
        |seed| common::regression_missing(30_000, seed, 0.10).split_at(20_000),
        seeds(22),
        &params,
        common::rmse,
        true,
        TOL_REGRESSION_RMSE.0,
        TOL_REGRESSION_RMSE.1,
    );
}

/// multi:softprob, 3 classes, 20,000 x 8 training rows, 50 rounds, depth 6, eta 0.1: test
/// accuracy (in whole rows of the 10,000 test rows).
#[test]
fn multiclass_softprob_accuracy_matches_xgboost() {
    let params = with(
        base_params(),
        &[("objective", "multi:softprob"), ("num_class", "3"), ("eta", "0.1")],
    );
    anchors_case(
        "multiclass",
        |seed| common::multiclass3(30_000, seed).split_at(20_000),
        seeds(33),
        &params,
        |y, p| common::accuracy(y, p, 3),
        false,
        TOL_MULTICLASS_ACCURACY.0,
        TOL_MULTICLASS_ACCURACY.1,
    );
}

/// (XGBoost, LightGBM) tolerances of the three cases above: 2x (rounded up) the largest
/// |difference| over 5 data seeds (SYLVAN_DIFF_SEEDS=5: seeds 11..16, 22..27, 33..38), listed in
/// the file's doc comment.
const TOL_BINARY_AUC: (f64, f64) = (0.007, 0.009);
const TOL_REGRESSION_RMSE: (f64, f64) = (0.011, 0.019);
const TOL_MULTICLASS_ACCURACY: (f64, f64) = (0.003, 0.021);

/// The first tree's root split on tie-free data: the same feature, and the same threshold up to
/// one quantile bin.
///
/// Both libraries send a row left when `x < threshold`, so the training rows the two root splits
/// route differently are exactly those with a value in `[min(t_s, t_x), max(t_s, t_x))`.
/// Tolerance: at most `ceil(n_train / max_bin)` such rows (20000 / 256 -> 79 rows, 0.39 % of the
/// data), i.e. the thresholds are the same cut up to one bin of difference between the two quantile
/// sketches. On this data a bin is about 0.39 % of the feature's range, so that is also a bound of
/// about 0.4 % of the spread (printed, not asserted separately).
#[test]
fn root_split_matches_on_tie_free_data() {
    let n_train = 20_000;
    let (train, test) = common::tie_free_step(30_000, 44).split_at(n_train);
    // eta 0.1: at eta 0.3 the RMSE of either library moves by up to 2% with max_bin alone (255 vs
    // 256), which is more than the tolerance measures.
    let params = with(base_params(), &[("objective", "reg:squarederror"), ("eta", "0.1")]);
    let max_bin: usize = 256;
    let Some(case) = run_case("root-split", train, test, &params) else {
        return;
    };
    let (f_s, t_s) = case.sylvan.trees()[0]
        .root_split()
        .expect("Sylvan's first tree has a root split");
    let x = &case.xgb["root_split"];
    let f_x = x["feature"].as_u64().expect("XGBoost root feature") as usize;
    let t_x = x["threshold"].as_f64().expect("XGBoost root threshold") as f32;

    let column = &case.train.columns[f_x];
    let (lo, hi) = if t_s <= t_x { (t_s, t_x) } else { (t_x, t_s) };
    let rows_between = column.iter().filter(|v| **v >= lo && **v < hi).count();
    let allowed = n_train.div_ceil(max_bin);
    let (min, max) = column
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), v| (a.min(*v), b.max(*v)));
    let rel_spread = (t_s - t_x).abs() as f64 / (max - min) as f64;
    // Where XGBoost's own cut points put Sylvan's threshold (informative).
    let cut_note = match case.xgb["root_feature_cuts"].as_array() {
        Some(cuts) => {
            let cuts: Vec<f32> = cuts.iter().filter_map(|v| v.as_f64()).map(|v| v as f32).collect();
            let k_x = cuts.iter().position(|c| *c == t_x);
            let k_s = cuts.partition_point(|c| *c < t_s);
            format!(
                "XGBoost cut index of its threshold {k_x:?}, Sylvan's threshold falls at cut index {k_s} of {}",
                cuts.len()
            )
        }
        None => "XGBoost cut points not available".into(),
    };
    println!(
        "[root-split] Sylvan feature {f_s} threshold {t_s}; XGBoost feature {f_x} threshold {t_x}; \
         {rows_between} training rows between them (allowed {allowed}); |difference| = {:.4} % of the feature's range; {cut_note}",
        rel_spread * 100.0
    );
    assert_eq!(f_s, f_x, "root split feature: Sylvan {f_s} vs XGBoost {f_x}");
    assert!(
        rows_between <= allowed,
        "root split threshold: Sylvan {t_s} vs XGBoost {t_x}: {rows_between} training rows between them, more than one bin ({allowed})"
    );
}

/// Classic first-order boosting (`boosting=gradient`, leaf values from the loss's line search:
/// the median for absolute error) against XGBoost's reg:absoluteerror (which also re-fits leaves
/// to the median): test MAE within 5 %.
#[test]
fn gradient_boosting_absolute_error_mae_near_xgboost() {
    let (train, test) = common::regression_heavy_tails(30_000, 55).split_at(20_000);
    let shared = with(base_params(), &[("objective", "reg:absoluteerror")]);
    let Some(reference) = common::reference() else { return };
    let dir = ScratchDir::new("diff-abs");
    train.write_npy(dir.path(), "train").expect("write");
    test.write_npy(dir.path(), "test").expect("write");
    let xgb = common::run_reference(&reference, "xgboost", "absolute", dir.path(), &shared);
    let mae_x = common::mae(&test.labels, &common::reference_predictions(&xgb));

    let p = common::sylvan_params(&with(shared.clone(), &[("boosting", "gradient")]));
    let b = Booster::train(&p, &train.to_dataset(), &[]).expect("Sylvan trains");
    let pred = b
        .predict(&test.to_dataset(), PredictOptions::default())
        .expect("predict");
    let mae_s = common::mae(&test.labels, &pred.values);
    let rel = (mae_s - mae_x) / mae_x;
    println!(
        "[absolute] test MAE: Sylvan boosting=gradient {mae_s:.5}, XGBoost reg:absoluteerror {mae_x:.5} (relative {:+.3} %, tolerance 5 %)",
        rel * 100.0
    );
    assert!(
        rel.abs() <= 0.05,
        "boosting=gradient reg:absoluteerror test MAE: Sylvan {mae_s:.5} vs XGBoost {mae_x:.5}: differ by more than 5 %"
    );
}

/// The helpers themselves: the .npy writer produces what numpy reads, and the Rust AUC agrees
/// with the Python reference's on the same predictions (only when the reference is available).
#[test]
fn npy_files_and_metrics_agree_with_python() {
    let Some(r) = common::reference() else { return };
    let dir = ScratchDir::new("diff-npy");
    let t = Table {
        columns: vec![vec![1.0, f32::NAN, -2.5], vec![0.25, 1e30, -0.0]],
        labels: vec![1.0, 0.0, 1.0],
        weights: None,
    };
    t.write_npy(dir.path(), "train").expect("write");
    let script = "import sys, numpy as np; x = np.load(sys.argv[1]); y = np.load(sys.argv[2]); \
                  assert x.dtype == np.float32 and x.shape == (3, 2), (x.dtype, x.shape); \
                  assert np.isnan(x[1, 0]) and x[0, 0] == 1.0 and x[2, 0] == -2.5 and x[1, 1] == np.float32(1e30); \
                  assert y.shape == (3,) and list(y) == [1.0, 0.0, 1.0]; print('ok')";
    let out = std::process::Command::new(&r.python)
        .args(["-c", script])
        .arg(dir.path().join("X_train.npy"))
        .arg(dir.path().join("y_train.npy"))
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "numpy could not read the .npy files: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // AUC with ties: scores [0.1, 0.4, 0.4, 0.8], labels [0, 0, 1, 1] -> 0.875.
    let auc = common::auc(&[0.0, 0.0, 1.0, 1.0], &[0.1, 0.4, 0.4, 0.8]);
    assert!((auc - 0.875).abs() < 1e-12, "{auc}");
}

/// Splits of every tree as (feature, threshold, default_left), in node order, internal nodes only.
fn splits_of_xgboost(result: &serde_json::Value) -> Vec<Vec<(usize, f64, bool)>> {
    let trees = result["trees"].as_array().expect("reference result has trees");
    trees
        .iter()
        .map(|t| {
            let left = t["left_children"].as_array().expect("left_children");
            (0..left.len())
                .filter(|&i| left[i].as_i64() != Some(-1))
                .map(|i| {
                    (
                        t["split_indices"][i].as_u64().expect("split index") as usize,
                        t["split_conditions"][i].as_f64().expect("split condition"),
                        t["default_left"][i].as_bool().expect("default_left"),
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn random_forest_mode_auc_matches_xgboost_random_forest() {
    // XGBoost's random forest recipe: one round of many parallel trees, row and column sampling,
    // eta 1 (issue 5: within 0.005 AUC).
    let (train, test) = common::binary_nonlinear(30_000, 55).split_at(20_000);
    let params = with(
        base_params(),
        &[
            ("objective", "binary:logistic"),
            ("num_round", "1"),
            ("num_parallel_tree", "50"),
            ("subsample", "0.63"),
            ("colsample_bynode", "0.8"),
            ("eta", "1"),
            ("max_depth", "8"),
        ],
    );
    let Some(case) = run_case("forest", train, test, &params) else {
        return;
    };
    assert_eq!(case.sylvan.num_trees(), 50);
    let auc_s = common::auc(&case.test.labels, &case.sylvan_pred);
    let auc_x = common::auc(&case.test.labels, &case.xgb_pred);
    println!(
        "[forest] test AUC: Sylvan {auc_s:.5}, XGBoost {auc_x:.5} (difference {:+.5}, tolerance 0.005)",
        auc_s - auc_x
    );
    assert!(
        (auc_s - auc_x).abs() <= 0.005,
        "random forest AUC: Sylvan {auc_s:.5} vs XGBoost {auc_x:.5}"
    );
}

// ------------------------------------------------------------------------------------------------
// Every objective (issue 15)

/// One objective of the table below: its name, its own parameters, and the `base_score` given to
/// each side so that both start from the same margin (see `every_objective`).
#[derive(Clone)]
struct Obj {
    name: &'static str,
    extra: &'static [(&'static str, &'static str)],
    base_sylvan: &'static str,
    base_xgboost: &'static str,
}

/// Every objective Sylvan has, with an explicit base_score on both sides: XGBoost 3.2 estimates
/// base_score its own way per objective (one Newton step, the median for absolute/quantile error,
/// ...), Sylvan from the weighted mean/median/quantile/class frequencies (booster/src/objective.rs
/// `initial_margin`), so the comparison would otherwise start from different margins. The values
/// are the same output-space number on both sides, which both libraries map through the same link
/// (logit for binary:logistic, ln for count:poisson, reg:gamma, reg:tweedie, identity otherwise,
/// binary:logitraw included: both add its base_score to the margin as it is; 0.3, so that a logit
/// would show).
fn every_objective() -> Vec<Obj> {
    let o = |name, extra, base_sylvan, base_xgboost| Obj {
        name,
        extra,
        base_sylvan,
        base_xgboost,
    };
    vec![
        o("reg:squarederror", &[], "0.5", "0.5"),
        o("reg:absoluteerror", &[], "0.5", "0.5"),
        o("reg:pseudohubererror", &[("huber_slope", "4")], "3.5", "3.5"),
        o("reg:quantileerror", &[("quantile_alpha", "0.3")], "0.5", "0.5"),
        o("reg:squaredlogerror", &[], "0.5", "0.5"),
        // max_delta_step left at its default: both apply 0.7 to the hessian and to the trees (leaf
        // weights clipped to +-0.7, gains computed with the clipped weights); before issue 15
        // Sylvan applied it to the hessian only, which this case caught.
        // min_child_weight 10: a Poisson row's hessian is e^(m + 0.7) >= 3 here, and with
        // the default 1 a node can split off one row, which several features do equally well
        // (seen: the same row isolated by feature 2 in XGBoost and feature 8 in Sylvan, gains equal
        // to 6e-4 relative), a tie that the two libraries' f32 rounding breaks differently.
        o("count:poisson", &[("min_child_weight", "10")], "1.5", "1.5"),
        o("reg:gamma", &[], "1.5", "1.5"),
        o("reg:tweedie", &[("tweedie_variance_power", "1.3")], "1.5", "1.5"),
        o("binary:logistic", &[], "0.5", "0.5"),
        o("binary:logitraw", &[], "0.3", "0.3"),
        o("multi:softmax", &[("num_class", "3")], "0.5", "0.5"),
        o("multi:softprob", &[("num_class", "3")], "0.5", "0.5"),
    ]
}

/// `regression_missing`'s labels turned into what `objective` needs: as they are for the
/// additive losses, exp(y / 3) (positive, skewed) for the log-link and squared-log losses,
/// y > 1 for the binary ones, three classes at fixed cuts (about a third each) for multi:*.
fn labels_for(objective: &str, y: &[f32]) -> Vec<f32> {
    match objective {
        "reg:squaredlogerror" | "count:poisson" | "reg:gamma" | "reg:tweedie" => {
            y.iter().map(|v| (v / 3.0).exp()).collect()
        }
        "binary:logistic" | "binary:logitraw" => y.iter().map(|v| (*v > 1.0) as u8 as f32).collect(),
        o if o.starts_with("multi:") => y
            .iter()
            .map(|v| {
                if *v < 0.0 {
                    0.0
                } else if *v < 2.5 {
                    1.0
                } else {
                    2.0
                }
            })
            .collect(),
        _ => y.to_vec(),
    }
}

/// Parameters of one objective on top of `shared`, with the base_score for `side`.
fn objective_params(
    shared: &[(&'static str, &'static str)],
    o: &Obj,
    xgboost_side: bool,
) -> Vec<(&'static str, &'static str)> {
    let mut p = shared.to_vec();
    p.push(("objective", o.name));
    p.extend_from_slice(o.extra);
    p.push(("base_score", if xgboost_side { o.base_xgboost } else { o.base_sylvan }));
    p
}

/// The data sets of the per-objective tests: train and test tables for `objective`, weighted
/// (uniform in [0.2, 3)) when `weighted`.
fn objective_data(objective: &str, n_train: usize, n_test: usize, seed: u64, weighted: bool) -> (Table, Table) {
    let mut t = common::regression_missing(n_train + n_test, seed, 0.10);
    t.labels = labels_for(objective, &t.labels);
    if weighted {
        t = t.with_uniform_weights(0.2, 3.0, seed);
    }
    let (train, mut test) = t.split_at(n_train);
    test.weights = None;
    (train, test)
}

/// Sylvan's splits of every tree as (feature, threshold, default_left), in node order, internal
/// nodes only (the order of `splits_of_xgboost`).
fn splits_of_sylvan(b: &Booster) -> Vec<Vec<(usize, f64, bool)>> {
    b.trees()
        .iter()
        .map(|tree| {
            (0..tree.num_nodes())
                .filter(|&i| !tree.is_leaf(i))
                .map(|i| (tree.feature[i] as usize, tree.threshold[i] as f64, tree.default_left[i]))
                .collect()
        })
        .collect()
}

/// Where two lists of trees first differ (feature, threshold to 1e-6 relative, default
/// direction), or `None` when every split agrees.
fn first_split_difference(got: &[Vec<(usize, f64, bool)>], want: &[Vec<(usize, f64, bool)>]) -> Option<String> {
    if got.len() != want.len() {
        return Some(format!("{} trees vs {}", got.len(), want.len()));
    }
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        if g.len() != w.len() {
            return Some(format!("tree {t}: {} splits vs {}", g.len(), w.len()));
        }
        for (node, (g, w)) in g.iter().zip(w).enumerate() {
            let close = (g.1 - w.1).abs() <= 1e-6 * w.1.abs().max(1.0);
            if !(g.0 == w.0 && close && g.2 == w.2) {
                return Some(format!("tree {t} split {node}: Sylvan {g:?}, XGBoost {w:?}"));
            }
        }
    }
    None
}

/// Largest difference of two prediction vectors, scaled by max(1, |a|, |b|).
fn worst_scaled_difference(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| {
            let (a, b) = (*a as f64, *b as f64);
            (a - b).abs() / a.abs().max(b.abs()).max(1.0)
        })
        .fold(0.0, f64::max)
}

/// Tolerance of the exact-method predictions, scaled by max(1, |value|). Both libraries compute
/// f32 gradients (Sylvan in f64 then rounded, XGBoost in f32 arithmetic), sum them in f64 and store
/// f32 leaves, so the predictions differ by the rounding of the gradients only: observed at most
/// 5.1e-7 for every objective, weighted or not, except reg:pseudohubererror (3.5e-6, weighted
/// 1.5e-5: its gradients are bounded by huber_slope and cancel in a leaf's sum, which magnifies
/// their f32 rounding). Tolerance 1e-5 (pseudo-Huber 1e-4): about 7x the worst observed value.
fn exact_prediction_tolerance(objective: &str) -> f64 {
    if objective == "reg:pseudohubererror" {
        1e-4
    } else {
        1e-5
    }
}

/// Objectives whose exact-method model is compared on its first tree only: XGBoost 3.2 re-fits
/// the leaves of reg:absoluteerror and reg:quantileerror to a quantile of the residuals with hist
/// and approx but not with tree_method=exact (checked below: its leaves stay eta x the Newton
/// weight), while Sylvan re-fits them with every method. The first tree's splits come before any
/// re-fit and must agree; later trees (and the predictions) differ by design.
fn exact_first_tree_only(objective: &str) -> bool {
    matches!(objective, "reg:absoluteerror" | "reg:quantileerror")
}

/// The exact method against XGBoost's, every objective, unweighted and weighted (uniform in
/// [0.2, 3)): every tree has the same splits and predictions agree to
/// `exact_prediction_tolerance` (first tree only for `exact_first_tree_only`). 3000 x 10 training rows with 10 % missing, depth 4, 5 rounds,
/// lambda 1, no sampling; one Python process for all 24 XGBoost trainings.
#[test]
fn every_objective_exact_matches_xgboost_exact() {
    let Some(reference) = common::reference() else { return };
    let shared = with(
        base_params(),
        &[("tree_method", "exact"), ("max_depth", "4"), ("num_round", "5")],
    );
    let dir = ScratchDir::new("diff-exact-all");
    let mut jobs = Vec::new();
    let mut sylvan = Vec::new();
    for (i, o) in every_objective().iter().enumerate() {
        for weighted in [false, true] {
            let (train, test) = objective_data(o.name, 3000, 1000, 60 + i as u64, weighted);
            let case_dir = dir.path().join(format!("{i}-{weighted}"));
            std::fs::create_dir_all(&case_dir).expect("mkdir");
            train.write_npy(&case_dir, "train").expect("write");
            test.write_npy(&case_dir, "test").expect("write");
            let p = common::sylvan_params(&objective_params(&shared, o, false));
            let b = Booster::train(&p, &train.to_dataset(), &[]).expect("Sylvan trains");
            let pred = common::sylvan_predictions(&b, &test.to_dataset());
            sylvan.push((o.name, weighted, b, pred));
            jobs.push((
                "xgboost",
                format!("exact-{i}-{weighted}"),
                case_dir,
                objective_params(&shared, o, true),
            ));
        }
    }
    let results = common::run_reference_batch(&reference, &jobs);
    let mut failures = Vec::new();
    for ((name, weighted, b, pred), xgb) in sylvan.iter().zip(&results) {
        let what = format!("{name}{}", if *weighted { ", weighted" } else { "" });
        let (mut got, mut want) = (splits_of_sylvan(b), splits_of_xgboost(xgb));
        let first_only = exact_first_tree_only(name);
        if first_only {
            got.truncate(1);
            want.truncate(1);
            // The reason for comparing one tree: XGBoost's exact leaves are not re-fitted.
            let t = &xgb["trees"][0];
            let leaves = (0..t["left_children"].as_array().expect("tree").len())
                .filter(|&i| t["left_children"][i].as_i64() == Some(-1));
            for i in leaves {
                let (value, newton) = (
                    t["split_conditions"][i].as_f64().expect("leaf"),
                    t["base_weights"][i].as_f64().expect("weight"),
                );
                if (value - 0.3 * newton).abs() > 1e-6 {
                    failures.push(format!(
                        "{what}: XGBoost's exact leaf {i} is {value}, not eta x its Newton weight {newton}: \
                         it re-fits leaves now, compare every tree"
                    ));
                }
            }
        }
        let diff = first_split_difference(&got, &want);
        let worst = worst_scaled_difference(pred, &common::reference_predictions(xgb));
        let tolerance = exact_prediction_tolerance(name);
        println!(
            "[exact, {what}] {} of {} trees compared: {}; worst scaled prediction difference {worst:.2e}{}",
            got.len(),
            b.num_trees(),
            diff.as_deref().unwrap_or("identical splits"),
            if first_only {
                " (not compared)".to_string()
            } else {
                format!(" (tolerance {tolerance:e})")
            }
        );
        if let Some(d) = diff {
            failures.push(format!("{what}: splits differ at {d}"));
        } else if !first_only && worst > tolerance {
            failures.push(format!(
                "{what}: predictions differ by {worst:.2e} (tolerance {tolerance:e})"
            ));
        }
    }
    assert!(failures.is_empty(), "exact method vs XGBoost:\n{}", failures.join("\n"));
}

/// The test score of one objective's predictions, lower is better: RMSE, MAE, mean pseudo-Huber,
/// pinball loss, RMSLE, mean Poisson / gamma / Tweedie negative log-likelihood (up to terms that
/// do not depend on the prediction), 1 - AUC for the binary objectives (rank based, so the same
/// for probabilities and logitraw margins), mlogloss for multi:softprob, error rate for
/// multi:softmax. Written here, independent of Sylvan's metric code.
fn objective_score(o: &Obj, labels: &[f32], pred: &[f32]) -> f64 {
    let param = |k: &str| {
        o.extra
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.parse::<f64>().expect("number"))
    };
    let mean = |f: &dyn Fn(f64, f64) -> f64| {
        labels
            .iter()
            .zip(pred)
            .map(|(y, p)| f(*y as f64, *p as f64))
            .sum::<f64>()
            / labels.len() as f64
    };
    match o.name {
        "reg:squarederror" => common::rmse(labels, pred),
        "reg:absoluteerror" => common::mae(labels, pred),
        "reg:pseudohubererror" => {
            let s = param("huber_slope").expect("huber_slope");
            mean(&|y, p| s * s * ((1.0 + ((p - y) / s).powi(2)).sqrt() - 1.0))
        }
        "reg:quantileerror" => {
            let a = param("quantile_alpha").expect("quantile_alpha");
            mean(&|y, p| if y >= p { a * (y - p) } else { (1.0 - a) * (p - y) })
        }
        "reg:squaredlogerror" => mean(&|y, p| (p.max(-1.0 + 1e-6).ln_1p() - y.ln_1p()).powi(2)).sqrt(),
        "count:poisson" => mean(&|y, p| p - y * p.ln()),
        "reg:gamma" => mean(&|y, p| y / p + p.ln()),
        "reg:tweedie" => {
            let r = param("tweedie_variance_power").expect("tweedie_variance_power");
            mean(&|y, p| -y * p.powf(1.0 - r) / (1.0 - r) + p.powf(2.0 - r) / (2.0 - r))
        }
        "binary:logistic" | "binary:logitraw" => 1.0 - common::auc(labels, pred),
        "multi:softprob" => {
            let k = pred.len() / labels.len();
            labels
                .iter()
                .zip(pred.chunks_exact(k))
                .map(|(y, row)| -(row[*y as usize] as f64).max(1e-15).ln())
                .sum::<f64>()
                / labels.len() as f64
        }
        "multi:softmax" => labels.iter().zip(pred).filter(|(y, p)| y != p).count() as f64 / labels.len() as f64,
        other => panic!("no score for {other}"),
    }
}

/// Seeds of the data in the hist comparisons: `default` in the test; `SYLVAN_DIFF_SEEDS=N` runs N
/// seeds from `default` on (how the tolerances below were measured, offline).
fn seeds(default: u64) -> Vec<u64> {
    match std::env::var("SYLVAN_DIFF_SEEDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        Some(n) => (default..default + n).collect(),
        None => vec![default],
    }
}

/// Hist tolerance per objective: the largest allowed |score_sylvan - score_xgboost| /
/// |score_xgboost| (absolute for the binary objectives' 1 - AUC and multi:softmax's error rate),
/// the same with quantized gradients and with f64 sums. Each is 2x (rounded up) the largest
/// |difference| measured over 5 seeds (70..75) x {unweighted, weighted} x {quantized, f64}, i.e. 20
/// runs, with SYLVAN_DIFF_SEEDS=5; the largest observed value is in the comment of each line.
fn hist_tolerance(objective: &str) -> f64 {
    match objective {
        "reg:squarederror" => 0.035,     // 0.0173 (weighted), unweighted 0.0105
        "reg:absoluteerror" => 0.095,    // 0.0458 (weighted), unweighted 0.0311
        "reg:pseudohubererror" => 0.095, // 0.0468 (weighted), unweighted 0.0444
        "reg:quantileerror" => 0.1,      // 0.0483 (f64), quantized 0.0398
        "reg:squaredlogerror" => 0.15,   // 0.0714 (weighted, Sylvan better), unweighted 0.0100
        "count:poisson" => 0.01,         // 0.0045, weighted 0.0013
        "reg:gamma" => 0.006,            // 0.0026 (weighted), unweighted 0.0018
        "reg:tweedie" => 0.004,          // 0.0019, weighted 0.0017
        "binary:logistic" => 0.019,      // AUC 0.0091 (weighted), unweighted 0.0049
        "binary:logitraw" => 0.008,      // AUC 0.0037, weighted 0.0035
        "multi:softmax" => 0.01,         // error rate 0.0048 (weighted), unweighted 0.0033
        "multi:softprob" => 0.025,       // mlogloss 0.0123, weighted 0.0115
        other => panic!("no hist tolerance for {other}"),
    }
}

/// The hist method against XGBoost's, every objective, unweighted and weighted: the test score
/// (`objective_score`) within `hist_tolerance`, both with Sylvan's quantized gradients (its
/// default) and with use_quantized_grad=false (f64 sums, as XGBoost). 8000 training rows x 10
/// with 10 % missing, 4000 test rows, depth 5, 20 rounds, eta 0.3, max_bin 256.
#[test]
fn every_objective_hist_score_near_xgboost() {
    let Some(reference) = common::reference() else { return };
    let shared = with(base_params(), &[("max_depth", "5"), ("num_round", "20")]);
    let dir = ScratchDir::new("diff-hist-all");
    let mut jobs = Vec::new();
    let mut cases = Vec::new();
    for seed in seeds(70) {
        for (i, o) in every_objective().into_iter().enumerate() {
            // SYLVAN_DIFF_ONLY=<objective>: one objective only (for measuring its spread).
            if std::env::var("SYLVAN_DIFF_ONLY").is_ok_and(|only| only != o.name) {
                continue;
            }
            for weighted in [false, true] {
                let (train, test) = objective_data(o.name, 8000, 4000, seed * 100 + i as u64, weighted);
                let case_dir = dir.path().join(format!("{seed}-{i}-{weighted}"));
                std::fs::create_dir_all(&case_dir).expect("mkdir");
                train.write_npy(&case_dir, "train").expect("write");
                test.write_npy(&case_dir, "test").expect("write");
                let mut scores = Vec::new();
                for quantized in ["true", "false"] {
                    let mut p = objective_params(&shared, &o, false);
                    p.push(("use_quantized_grad", quantized));
                    let b =
                        Booster::train(&common::sylvan_params(&p), &train.to_dataset(), &[]).expect("Sylvan trains");
                    let pred = common::sylvan_predictions(&b, &test.to_dataset());
                    scores.push(objective_score(&o, &test.labels, &pred));
                }
                jobs.push((
                    "xgboost",
                    format!("hist-{seed}-{i}-{weighted}"),
                    case_dir,
                    objective_params(&shared, &o, true),
                ));
                cases.push((seed, o.clone(), weighted, test.labels, scores));
            }
        }
    }
    let results = common::run_reference_batch(&reference, &jobs);
    let mut failures = Vec::new();
    for ((seed, o, weighted, labels, scores), xgb) in cases.iter().zip(&results) {
        let x = objective_score(o, labels, &common::reference_predictions(xgb));
        let absolute = o.name.starts_with("binary:") || o.name == "multi:softmax";
        let rel = |s: f64| if absolute { s - x } else { (s - x) / x.abs() };
        let (tq, tf) = (hist_tolerance(o.name), hist_tolerance(o.name));
        let (dq, df) = (rel(scores[0]), rel(scores[1]));
        println!(
            "[hist, {}{}, seed {seed}] score XGBoost {x:.5}, Sylvan quantized {:.5} ({}difference {dq:+.5}, tolerance {tq}), f64 {:.5} (difference {df:+.5}, tolerance {tf})",
            o.name,
            if *weighted { ", weighted" } else { "" },
            scores[0],
            if absolute { "" } else { "relative " },
            scores[1]
        );
        if dq.abs() > tq || df.abs() > tf {
            failures.push(format!(
                "{}{} seed {seed}: XGBoost {x:.5}, Sylvan quantized {:.5} ({dq:+.5}, tolerance {tq}), f64 {:.5} ({df:+.5}, tolerance {tf})",
                o.name,
                if *weighted { " weighted" } else { "" },
                scores[0],
                scores[1]
            ));
        }
    }
    assert!(failures.is_empty(), "hist method vs XGBoost:\n{}", failures.join("\n"));
}

// ------------------------------------------------------------------------------------------------
// Categorical features (issue 17)

/// Categorical columns of cardinality 3, 12, 150 and 3000 (skewed frequencies, 5 % missing) and 3
/// numeric ones, one of which interacts with the first categorical feature; see
/// `common::categorical_mixed`. 20,000 training rows, 10,000 test rows.
const CATEGORICAL_CARDINALITIES: [u32; 4] = [3, 12, 150, 3000];

/// The tolerances: 0.003 AUC and 1 % RMSE against either library.
const TOL_CATEGORICAL_AUC: f64 = 0.003;
const TOL_CATEGORICAL_RMSE: f64 = 0.01;

/// Parameters of the categorical comparisons: eta 0.1, 100 rounds, depth 6, the categorical
/// columns declared, `max_cat_to_onehot` 4 and `max_cat_threshold` 64 for every library, and the
/// settings of the library Sylvan is compared with:
/// - `like = "xgboost"`: XGBoost orders categories by leaf weight `-G / (H + lambda)` and has no
///   other categorical regularisation, so Sylvan runs with `cat_smooth` = lambda = 1, `cat_l2` 0,
///   `min_data_per_group` 0, its defaults, given explicitly (XGBoost never sees these three);
/// - `like = "lightgbm"`: LightGBM's defaults (`cat_smooth` 10, `cat_l2` 10,
///   `min_data_per_group` 100), given to both.
fn categorical_params(objective: &'static str, like: &str) -> Vec<(&'static str, &'static str)> {
    let own: &[(&'static str, &'static str)] = if like == "xgboost" {
        &[("cat_smooth", "1"), ("cat_l2", "0"), ("min_data_per_group", "0")]
    } else {
        &[("cat_smooth", "10"), ("cat_l2", "10"), ("min_data_per_group", "100")]
    };
    let mut p = with(
        base_params(),
        &[
            ("objective", objective),
            ("categorical_features", "0,1,2,3"),
            ("eta", "0.1"),
            ("num_round", "100"),
            ("max_cat_to_onehot", "4"),
            ("max_cat_threshold", "64"),
        ],
    );
    p.extend_from_slice(own);
    p
}

/// Sylvan against XGBoost and LightGBM in native categorical mode on `categorical_mixed` data
/// (`binary`: test AUC, higher is better; else test RMSE, relative, lower is better): Sylvan's
/// score may not be worse than either library's by more than the tolerance, and must be clearly
/// better than its own on the category codes taken as ordered numbers.
fn categorical_case(name: &str, binary: bool, seed: u64) {
    let (objective, tol) = if binary {
        ("binary:logistic", TOL_CATEGORICAL_AUC)
    } else {
        ("reg:squarederror", TOL_CATEGORICAL_RMSE)
    };
    let score = |y: &[f32], p: &[f32]| if binary { common::auc(y, p) } else { common::rmse(y, p) };
    // How much worse Sylvan's score `s` is than `r` (positive: worse), absolute AUC or relative RMSE.
    let worse = |s: f64, r: f64| if binary { r - s } else { (s - r) / r };
    let data = || {
        common::categorical_mixed(30_000, &CATEGORICAL_CARDINALITIES, seed, binary)
            .0
            .split_at(20_000)
    };
    let mut failures = Vec::new();
    let xgb_params = categorical_params(objective, "xgboost");
    let (train, test) = data();
    let Some(x) = run_case(&format!("{name}-xgboost"), train, test, &xgb_params) else {
        return;
    };
    let (s_x, r_x) = (
        score(&x.test.labels, &x.sylvan_pred),
        score(&x.test.labels, &x.xgb_pred),
    );
    println!("[{name}, seed {seed}] XGBoost settings: Sylvan {s_x:.5}, XGBoost {r_x:.5} (Sylvan worse by {:+.5}, tolerance {tol})", worse(s_x, r_x));
    if worse(s_x, r_x) > tol {
        failures.push(format!("Sylvan {s_x:.5} vs XGBoost {r_x:.5}"));
    }
    let lgb_params = categorical_params(objective, "lightgbm");
    let (train, test) = data();
    let sylvan = Booster::train(&common::sylvan_params(&lgb_params), &train.to_dataset(), &[]).expect("trains");
    let pred = sylvan
        .predict(&test.to_dataset(), PredictOptions::default())
        .expect("predicts")
        .values;
    let s_l = score(&test.labels, &pred);
    if let Some(r) = common::require_lightgbm(&format!("the LightGBM anchor of {name}")) {
        let dir = ScratchDir::new(&format!("diff-{name}-lgb"));
        train.write_npy(dir.path(), "train").expect("write");
        test.write_npy(dir.path(), "test").expect("write");
        let lgb = common::run_reference(&r, "lightgbm", name, dir.path(), &lgb_params);
        let r_l = score(&test.labels, &common::reference_predictions(&lgb));
        println!("[{name}, seed {seed}] LightGBM settings: Sylvan {s_l:.5}, LightGBM {r_l:.5} (Sylvan worse by {:+.5}, tolerance {tol})", worse(s_l, r_l));
        if worse(s_l, r_l) > tol {
            failures.push(format!("Sylvan {s_l:.5} vs LightGBM {r_l:.5}"));
        }
    }
    // The same data and default settings with every feature numerical.
    let plain: Vec<(&str, &str)> = lgb_params
        .iter()
        .copied()
        .filter(|(k, _)| *k != "categorical_features")
        .collect();
    let ordinal = Booster::train(&common::sylvan_params(&plain), &train.to_dataset(), &[]).expect("trains");
    let s_o = score(
        &test.labels,
        &ordinal
            .predict(&test.to_dataset(), PredictOptions::default())
            .expect("predicts")
            .values,
    );
    println!("[{name}, seed {seed}] Sylvan, default settings: category sets {s_l:.5}, ordinal codes {s_o:.5}");
    let margin = if binary { 0.005 } else { 0.03 };
    if worse(s_l, s_o) > -margin {
        failures.push(format!(
            "category sets {s_l:.5} not clearly better than ordinal codes {s_o:.5}"
        ));
    }
    assert!(failures.is_empty(), "{name}, seed {seed}:\n{}", failures.join("\n"));
}

/// binary:logistic on categorical data: test AUC within 0.003 of XGBoost's and LightGBM's.
#[test]
fn categorical_auc_matches_xgboost_and_lightgbm() {
    for seed in seeds(31) {
        categorical_case("categorical-binary", true, seed);
    }
}

/// reg:squarederror on categorical data: test RMSE within 1 % of XGBoost's and LightGBM's.
#[test]
fn categorical_rmse_matches_xgboost_and_lightgbm() {
    for seed in seeds(32) {
        categorical_case("categorical-regression", false, seed);
    }
}
