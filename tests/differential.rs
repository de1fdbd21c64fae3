//! Differential tests: Sylvan against XGBoost 3.2 (`tree_method=hist`) on generated data, with the
//! same parameters, the same f32 values (written as .npy and read by `tests/python/reference.py`)
//! and the same thread count. Both models' test predictions are scored by the same Rust code
//! (`common::auc`, `rmse`, ...), so the comparison does not depend on either library's metrics.
//!
//! The reference Python is `$SYLVAN_PYTHON`, else `/var/tmp/sylvan-venv/bin/python` (what
//! `.ci/run` creates), else `python3`. Without xgboost the tests print "skipping: xgboost not
//! available" and pass, unless `SYLVAN_REQUIRE_REFERENCE=1` (set by CI), which makes that a failure.
//!
//! Tolerances (from issue 2; a failure here means Sylvan differs from XGBoost, not that the
//! tolerance needs widening):
//! - binary:logistic: |AUC_sylvan - AUC_xgboost| <= 0.003
//! - reg:squarederror with ~10 % missing values: |RMSE_sylvan - RMSE_xgboost| <= 1 % of XGBoost's
//! - multi:softprob (3 classes): |accuracy difference| <= 0.5 percentage points
//! - first tree's root split on tie-free data: same feature, and the thresholds at most one
//!   quantile bin apart (see `root_split_matches_on_tie_free_data`)
//! - boosting=gradient with reg:absoluteerror: MAE within 5 % of XGBoost's reg:absoluteerror
//! - tree_method=exact (issue 4): every tree has the same splits (feature, threshold to 1e-6
//!   relative, default direction) as XGBoost's exact method, and predictions agree to 1e-4

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

#[test]
fn binary_logistic_auc_matches_xgboost() {
    let (train, test) = common::binary_nonlinear(30_000, 11).split_at(20_000);
    let params = with(base_params(), &[("objective", "binary:logistic")]);
    let Some(case) = run_case("binary", train, test, &params) else {
        return;
    };
    let auc_s = common::auc(&case.test.labels, &case.sylvan_pred);
    let auc_x = common::auc(&case.test.labels, &case.xgb_pred);
    println!(
        "[binary] test AUC: Sylvan {auc_s:.5}, XGBoost {auc_x:.5} (difference {:+.5}, tolerance 0.003)",
        auc_s - auc_x
    );
    report_root("binary", &case);
    // Sanity check of the scoring: the Python side's own AUC of XGBoost's predictions.
    let auc_py = case.xgb["metrics"]["auc"].as_f64().unwrap_or(f64::NAN);
    assert!(
        (auc_py - auc_x).abs() < 1e-9,
        "AUC of XGBoost's predictions: Rust {auc_x}, Python {auc_py}"
    );

    // (e) LightGBM as a second anchor, reported only: it grows trees leaf-wise, so it is not held
    // to XGBoost's tolerance.
    if let Some(r) = common::reference().filter(|r| r.has_lightgbm()) {
        let dir = ScratchDir::new("diff-binary-lgb");
        case.train.write_npy(dir.path(), "train").expect("write");
        case.test.write_npy(dir.path(), "test").expect("write");
        let lgb = common::run_reference(&r, "lightgbm", "binary", dir.path(), &params);
        let auc_l = common::auc(&case.test.labels, &common::reference_predictions(&lgb));
        println!("[binary] test AUC: LightGBM {auc_l:.5} (anchor only, not asserted)");
    }

    assert!(
        (auc_s - auc_x).abs() <= 0.003,
        "binary:logistic test AUC: Sylvan {auc_s:.5} vs XGBoost {auc_x:.5}: differ by more than 0.003"
    );
}

#[test]
fn squared_error_with_missing_values_rmse_matches_xgboost() {
    let (train, test) = common::regression_missing(30_000, 22, 0.10).split_at(20_000);
    let missing = train.columns.iter().flatten().filter(|v| v.is_nan()).count() as f64
        / (train.num_rows() * train.num_features()) as f64;
    // eta 0.1: at eta 0.3 the RMSE of either library moves by up to 2% with max_bin alone (255 vs
    // 256), which is more than the tolerance measures.
    let params = with(base_params(), &[("objective", "reg:squarederror"), ("eta", "0.1")]);
    let Some(case) = run_case("regression", train, test, &params) else {
        return;
    };
    let rmse_s = common::rmse(&case.test.labels, &case.sylvan_pred);
    let rmse_x = common::rmse(&case.test.labels, &case.xgb_pred);
    let rel = (rmse_s - rmse_x) / rmse_x;
    println!(
        "[regression, {:.1} % missing] test RMSE: Sylvan {rmse_s:.5}, XGBoost {rmse_x:.5} (relative difference {:+.3} %, tolerance 1 %)",
        missing * 100.0,
        rel * 100.0
    );
    report_root("regression", &case);
    assert!(
        rel.abs() <= 0.01,
        "reg:squarederror test RMSE: Sylvan {rmse_s:.5} vs XGBoost {rmse_x:.5}: differ by more than 1 %"
    );
}

#[test]
fn multiclass_softprob_accuracy_matches_xgboost() {
    let (train, test) = common::multiclass3(30_000, 33).split_at(20_000);
    // eta 0.1 for the same reason as the regression case: at eta 0.3 the accuracy of either
    // library moves by about the tolerance with max_bin alone.
    let params = with(
        base_params(),
        &[("objective", "multi:softprob"), ("num_class", "3"), ("eta", "0.1")],
    );
    let Some(case) = run_case("multiclass", train, test, &params) else {
        return;
    };
    let acc_s = common::accuracy(&case.test.labels, &case.sylvan_pred, 3);
    let acc_x = common::accuracy(&case.test.labels, &case.xgb_pred, 3);
    println!(
        "[multiclass] test accuracy: Sylvan {:.3} %, XGBoost {:.3} % (difference {:+.3} points, tolerance 0.5)",
        acc_s * 100.0,
        acc_x * 100.0,
        (acc_s - acc_x) * 100.0
    );
    report_root("multiclass", &case);
    // Compared in whole rows (0.5 points of 10000 test rows = 50 rows), free of rounding.
    let n_test = case.test.num_rows() as f64;
    let rows_apart = ((acc_s - acc_x) * n_test).round().abs();
    assert!(
        rows_apart <= 0.005 * n_test,
        "multi:softprob test accuracy: Sylvan {:.3} % vs XGBoost {:.3} %: differ by more than 0.5 points",
        acc_s * 100.0,
        acc_x * 100.0
    );
}

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
fn exact_method_matches_xgboost_exact() {
    // 5,000 x 10 with 10 % missing, depth 4, 5 rounds, lambda 1, no sampling (issue 4).
    for objective in ["reg:squarederror", "binary:logistic"] {
        let (mut train, test) = common::regression_missing(10_000, 44, 0.10).split_at(5_000);
        let mut test = test;
        if objective == "binary:logistic" {
            for t in [&mut train, &mut test] {
                t.labels = t.labels.iter().map(|y| (*y > 0.5) as u8 as f32).collect();
            }
        }
        let params = with(
            base_params(),
            &[
                ("tree_method", "exact"),
                ("objective", objective),
                ("max_depth", "4"),
                ("num_round", "5"),
            ],
        );
        let Some(case) = run_case("exact", train, test, &params) else {
            return;
        };
        let xgb = splits_of_xgboost(&case.xgb);
        assert_eq!(xgb.len(), case.sylvan.trees().len(), "{objective}: number of trees");
        for (t, (tree, want)) in case.sylvan.trees().iter().zip(&xgb).enumerate() {
            let got: Vec<(usize, f64, bool)> = (0..tree.num_nodes())
                .filter(|&i| !tree.is_leaf(i))
                .map(|i| (tree.feature[i] as usize, tree.threshold[i] as f64, tree.default_left[i]))
                .collect();
            assert_eq!(
                got.len(),
                want.len(),
                "{objective}: tree {t} has a different number of splits"
            );
            for (node, (g, w)) in got.iter().zip(want).enumerate() {
                let close = (g.1 - w.1).abs() <= 1e-6 * w.1.abs().max(1.0);
                assert!(
                    g.0 == w.0 && close && g.2 == w.2,
                    "{objective}: tree {t} split {node}: Sylvan {g:?}, XGBoost {w:?}"
                );
            }
        }
        let worst = case
            .sylvan_pred
            .iter()
            .zip(&case.xgb_pred)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        println!(
            "[exact, {objective}] {} trees with identical splits; largest prediction difference {worst:e}",
            xgb.len()
        );
        assert!(worst <= 1e-4, "{objective}: predictions differ by {worst}");
    }
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
