//! Export and import of DART models (`booster=dart`, tree weights), checked by the real libraries.
//!
//! - XGBoost JSON: Sylvan's DART models (binary, regression with missing values and weighted drops,
//!   multiclass with parallel trees and forest normalisation, an early-stopped model) are written
//!   as XGBoost 3.2 writes a `dart` booster (`weight_drop` beside the nested `gbtree`), and XGBoost
//!   loads them and predicts held-out rows as Sylvan does; Sylvan reads them back as DART models with
//!   the same weights and bit-identical predictions (runs without Python).
//! - LightGBM text and ONNX have no tree weights: the leaves are written multiplied by the weights,
//!   and LightGBM / onnxruntime predict as Sylvan does.
//! - Import: XGBoost trains a DART model natively, and Sylvan imports it as a DART model (its
//!   `weight_drop` as tree weights) that predicts what XGBoost predicts.
//!
//! Tolerance as in tests/export.rs: `1e-5 * max(1, |a|, |b|)` on probabilities and values.
//!
//! The libraries run through `tests/python/foreign_models.py` and `tests/python/onnx_predict.py`
//! with the Python that `common::reference()` finds; without it the library checks print "skipping"
//! and pass unless `SYLVAN_REQUIRE_REFERENCE=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ScratchDir, Table};
use sylvan::booster::BoosterKind;
use sylvan::io::export::{from_xgboost_json, to_xgboost_json};
use sylvan::io::{export_model, import_model, ModelFormat};
use sylvan::Booster;

/// Held-out rows with missing values: every 10th row entirely missing, every 7th one value missing.
fn with_missing_rows(mut t: Table) -> Table {
    let m = t.num_features();
    for i in 0..t.num_rows() {
        for (j, c) in t.columns.iter_mut().enumerate() {
            if i % 10 == 0 || (i % 7 == 3 && j == i % m) {
                c[i] = f32::NAN;
            }
        }
    }
    t
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Runs a Python script and returns its JSON output.
fn run(python: &Path, script: &str, args: &[&str], out: &Path) -> serde_json::Value {
    let o = Command::new(python)
        .arg(common::repo_root().join("tests/python").join(script))
        .args(args)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap_or_else(|e| panic!("run {script}: {e}"));
    assert!(
        o.status.success(),
        "{script} {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out).expect("read output")).expect("JSON output")
}

fn numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// A library's predictions of a Sylvan export through `foreign_models.py predict`.
fn library_predicts(python: &Path, library: &str, model: &Path, x: &Path, out: &Path) -> Vec<f64> {
    let v = run(
        python,
        "foreign_models.py",
        &[
            "predict",
            "--library",
            library,
            "--model",
            path_str(model),
            "--x",
            path_str(x),
        ],
        out,
    );
    numbers(&v["predictions"])
}

/// What of onnxruntime's outputs corresponds to Sylvan's predictions for `objective`.
fn onnx_predicts(python: &Path, model: &Path, x: &Path, out: &Path, objective: &str) -> Vec<f64> {
    let v = run(
        python,
        "onnx_predict.py",
        &["--model", path_str(model), "--x", path_str(x)],
        out,
    );
    match objective {
        "binary:logistic" => numbers(&v["outputs"]["probabilities"])
            .chunks(2)
            .map(|c| c[1])
            .collect(),
        "multi:softprob" => numbers(&v["outputs"]["probabilities"]),
        _ => numbers(&v["outputs"]["variable"]),
    }
}

fn base(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut p = vec![
        ("booster", "dart"),
        ("rate_drop", "0.2"),
        ("num_round", "25"),
        ("nthread", "2"),
        ("max_depth", "5"),
        ("eta", "0.3"),
        ("seed", "5"),
    ];
    p.extend_from_slice(extra);
    p
}

/// Trains a DART model on `train` (with `test` as the early-stopping set when asked) and checks
/// every export on `test` (with missing rows).
fn dart_case(name: &str, train: Table, test: Table, params: &[(&str, &str)], lightgbm: bool) {
    let p = common::sylvan_params(params);
    let test = with_missing_rows(test);
    let data = test.to_dataset();
    let booster = if p.early_stopping_rounds.is_some() {
        Booster::train(&p, &train.to_dataset(), &[("test", &data)]).expect("Sylvan trains")
    } else {
        Booster::train(&p, &train.to_dataset(), &[]).expect("Sylvan trains")
    };
    let weights = booster.tree_weights().expect("a DART model has tree weights");
    assert!(weights.iter().any(|w| *w != 1.0), "{name}: nothing was dropped");
    let expected = common::sylvan_predictions(&booster, &data);
    let cols = expected.len() / test.num_rows();
    let objective = booster.objective_name().to_string();

    // The XGBoost file: a dart booster with one weight per exported tree; read back as the same
    // DART model.
    let text = to_xgboost_json(&booster).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let gb = &v["learner"]["gradient_booster"];
    assert_eq!(gb["name"], "dart");
    assert_eq!(gb["gbtree"]["name"], "gbtree");
    let written = numbers(&gb["weight_drop"]);
    let trees = gb["gbtree"]["model"]["trees"].as_array().unwrap().len();
    assert_eq!(written.len(), trees);
    assert!(written.iter().zip(weights).all(|(a, b)| *a as f32 == *b));
    let back = from_xgboost_json(&text).unwrap();
    assert_eq!(back.params().booster, BoosterKind::Dart);
    assert_eq!(back.tree_weights().unwrap(), &weights[..trees]);
    assert_eq!(
        common::sylvan_predictions(&back, &data),
        expected,
        "{name}: XGBoost JSON round trip"
    );
    // LightGBM text without the library: Sylvan's own import predicts the same.
    let dir = ScratchDir::new(&format!("export-dart-{name}"));
    let lgb_model = dir.path().join("model.txt");
    if lightgbm {
        export_model(&booster, ModelFormat::LightgbmText, &lgb_model).expect("export LightGBM text");
        let lgb = import_model(&lgb_model, ModelFormat::LightgbmText).expect("import LightGBM text");
        common::assert_close(
            &format!("{name}: Sylvan on its LightGBM export"),
            &common::sylvan_predictions(&lgb, &data),
            &expected.iter().map(|v| *v as f64).collect::<Vec<_>>(),
            cols,
            "Sylvan",
        );
    }

    let Some(python) = common::reference().map(|r| r.python) else {
        return;
    };
    let x = dir.path().join("X_test.npy");
    common::write_npy_columns(&x, &test.columns).unwrap();
    let xgb_model = dir.path().join("model.json");
    export_model(&booster, ModelFormat::XgboostJson, &xgb_model).expect("export XGBoost JSON");
    let got = library_predicts(&python, "xgboost", &xgb_model, &x, &dir.path().join("xgb.json"));
    common::assert_close(
        &format!("{name}: XGBoost on Sylvan's DART export"),
        &expected,
        &got,
        cols,
        "XGBoost",
    );
    if lightgbm && common::require_lightgbm(&format!("the LightGBM part of {name}")).is_some() {
        let got = library_predicts(&python, "lightgbm", &lgb_model, &x, &dir.path().join("lgb.json"));
        common::assert_close(
            &format!("{name}: LightGBM on Sylvan's DART export"),
            &expected,
            &got,
            cols,
            "LightGBM",
        );
    }
    if let Some(python) = common::require_onnxruntime(&format!("the ONNX part of {name}")) {
        let model = dir.path().join("model.onnx");
        export_model(&booster, ModelFormat::Onnx, &model).expect("export ONNX");
        let got = onnx_predicts(&python, &model, &x, &dir.path().join("onnx.json"), &objective);
        common::assert_close(
            &format!("{name}: onnxruntime on Sylvan's DART export"),
            &expected,
            &got,
            cols,
            "onnxruntime",
        );
    }
}

#[test]
fn dart_binary() {
    let (train, test) = common::binary_nonlinear(5000, 61).split_at(4000);
    dart_case(
        "binary",
        train,
        test,
        &base(&[("objective", "binary:logistic"), ("one_drop", "true")]),
        true,
    );
}

#[test]
fn dart_regression_weighted_with_missing_values() {
    let (train, test) = common::regression_missing(5000, 62, 0.15).split_at(4000);
    dart_case(
        "regression-weighted",
        train,
        test,
        &base(&[("sample_type", "weighted"), ("skip_drop", "0.3"), ("subsample", "0.8")]),
        true,
    );
}

#[test]
fn dart_multiclass_forest() {
    let (train, test) = common::multiclass3(4000, 63).split_at(3000);
    dart_case(
        "multiclass-forest",
        train,
        test,
        &base(&[
            ("objective", "multi:softprob"),
            ("num_class", "3"),
            ("num_parallel_tree", "2"),
            ("subsample", "0.7"),
            ("normalize_type", "forest"),
            ("num_round", "12"),
        ]),
        true,
    );
}

#[test]
fn dart_early_stopped() {
    let (train, test) = common::regression_missing(3000, 64, 0.1).split_at(2500);
    dart_case(
        "early-stopped",
        train,
        test,
        &base(&[
            ("num_round", "300"),
            ("eta", "0.8"),
            ("early_stopping_rounds", "3"),
            ("one_drop", "true"),
        ]),
        true,
    );
}

#[test]
fn xgboost_dart_imports_as_dart() {
    let Some(python) = common::reference().map(|r| r.python) else {
        return;
    };
    let table = common::regression_missing(3000, 65, 0.1);
    let dir = ScratchDir::new("import-dart");
    let (x, y, xp) = (
        dir.path().join("X.npy"),
        dir.path().join("y.npy"),
        dir.path().join("X_pred.npy"),
    );
    common::write_npy_columns(&x, &table.columns).unwrap();
    common::write_npy_f32(&y, &[table.num_rows()], &table.labels).unwrap();
    let all = with_missing_rows(table.clone());
    common::write_npy_columns(&xp, &all.columns).unwrap();
    let model: PathBuf = dir.path().join("model.json");
    let params = serde_json::json!({"booster": "dart", "tree_method": "hist", "max_depth": 4,
        "rate_drop": 0.3, "one_drop": 1, "normalize_type": "forest", "eta": 0.3, "nthread": 2, "seed": 3});
    let v = run(
        &python,
        "foreign_models.py",
        &[
            "train",
            "--library",
            "xgboost",
            "--x",
            path_str(&x),
            "--y",
            path_str(&y),
            "--params",
            &params.to_string(),
            "--rounds",
            "20",
            "--model-out",
            path_str(&model),
            "--x-pred",
            path_str(&xp),
        ],
        &dir.path().join("pred.json"),
    );
    let expected = numbers(&v["predictions"]);
    let b = import_model(&model, ModelFormat::XgboostJson).expect("import XGBoost DART");
    assert_eq!(b.params().booster, BoosterKind::Dart);
    let w = b.tree_weights().expect("weights kept");
    assert_eq!(w.len(), 20);
    assert!(w.iter().any(|w| *w < 1.0), "XGBoost dropped nothing: {w:?}");
    let got = common::sylvan_predictions(&b, &all.to_dataset());
    common::assert_close(
        "Sylvan on XGBoost's DART model",
        &got,
        &expected,
        1,
        "Sylvan on the import",
    );
    // Written back, XGBoost's file and Sylvan's agree on the weights.
    let again: serde_json::Value = serde_json::from_str(&to_xgboost_json(&b).unwrap()).unwrap();
    let orig: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&model).unwrap()).unwrap();
    let as_f32 = |v: &serde_json::Value| -> Vec<f32> { numbers(v).iter().map(|x| *x as f32).collect() };
    assert_eq!(
        as_f32(&again["learner"]["gradient_booster"]["weight_drop"]),
        as_f32(&orig["learner"]["gradient_booster"]["weight_drop"])
    );
}
