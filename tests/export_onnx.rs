//! ONNX export (issue 6), checked by onnxruntime.
//!
//! Sylvan trains (binary, regression with missing values, multiclass softprob and softmax, Poisson
//! with its `Exp` node, a boosted forest, and a small model of every objective), writes ONNX with
//! `export_model(.., ModelFormat::Onnx, ..)`, and `tests/python/onnx_predict.py` checks the file with
//! `onnx.checker.check_model` and predicts held-out rows with onnxruntime (a tenth of the rows entirely
//! missing, more with one missing value).
//!
//! Tolerance: `|a - b| <= 1e-5 * max(1, |a|, |b|)` on probabilities and values (onnxruntime sums the
//! leaves in f32, Sylvan in f64). Class indices (`multi:softmax`) must be equal.
//!
//! The Python is the one `common::reference()` finds; without it, or without `onnx` and
//! `onnxruntime` in it, the runtime checks print "skipping" and pass unless
//! `SYLVAN_REQUIRE_REFERENCE=1`. The checks of the written protobuf itself always run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ScratchDir, Table};
use sylvan::io::export::onnx::{to_onnx_model, ML_OPSET};
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

/// The reference Python when it has onnx and onnxruntime; `None` (skip) otherwise, a panic when
/// `SYLVAN_REQUIRE_REFERENCE=1` (`common::require_onnxruntime`).
fn onnx_python() -> Option<PathBuf> {
    common::require_onnxruntime("the onnxruntime checks")
}

fn run_onnx(python: &Path, model: &Path, x: &Path, out: &Path) -> serde_json::Value {
    let o = Command::new(python)
        .arg(common::repo_root().join("tests/python/onnx_predict.py"))
        .args(["--model", path_str(model), "--x", path_str(x), "--out", path_str(out)])
        .output()
        .expect("run onnx_predict.py");
    assert!(
        o.status.success(),
        "onnx_predict.py {} failed:\n{}\n{}",
        model.display(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out).expect("read output")).expect("JSON output")
}

fn output(v: &serde_json::Value, name: &str) -> Vec<f64> {
    v["outputs"][name]
        .as_array()
        .unwrap_or_else(|| panic!("no output `{name}` in {}", v["shapes"]))
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// What of onnxruntime's outputs corresponds to Sylvan's predictions for `objective`.
fn comparable(objective: &str, v: &serde_json::Value, rows: usize) -> Vec<f64> {
    match objective {
        "binary:logistic" => {
            let p = output(v, "probabilities");
            assert_eq!(p.len(), 2 * rows, "binary: two probability columns");
            for r in 0..rows {
                assert!((p[2 * r] + p[2 * r + 1] - 1.0).abs() < 1e-6, "binary row {r}: {p:?}");
            }
            p.chunks(2).map(|c| c[1]).collect()
        }
        "multi:softprob" => output(v, "probabilities"),
        "multi:softmax" => output(v, "label"),
        _ => output(v, "variable"),
    }
}

/// Checks onnxruntime's predictions of `booster`'s ONNX export against Sylvan's on `x_cols`.
fn check_with_runtime(name: &str, python: &Path, dir: &Path, booster: &Booster, objective: &str, test: &Table) {
    let data = test.to_dataset();
    let expected = common::sylvan_predictions(booster, &data);
    let rows = test.num_rows();
    let cols = expected.len() / rows;
    let x = dir.join(format!("X_{name}.npy"));
    common::write_npy_columns(&x, &test.columns).unwrap();
    let model = dir.join(format!("{name}.onnx"));
    export_model(booster, ModelFormat::Onnx, &model).expect("export ONNX");
    let v = run_onnx(python, &model, &x, &dir.join(format!("{name}.json")));
    let got = comparable(objective, &v, rows);
    if objective == "multi:softmax" {
        let want: Vec<f64> = expected.iter().map(|c| *c as f64).collect();
        assert_eq!(got, want, "{name}: onnxruntime's labels differ from Sylvan's classes");
        println!("[{name}] {} labels equal", got.len());
    } else {
        common::assert_close(
            &format!("{name}: onnxruntime on Sylvan's ONNX export"),
            &expected,
            &got,
            cols,
            "onnxruntime",
        );
    }
    if objective == "binary:logistic" || objective.starts_with("multi:") {
        // The label is the most probable class.
        let labels = output(&v, "label");
        let probs = output(&v, "probabilities");
        let k = probs.len() / rows;
        let mut differ = 0;
        for r in 0..rows {
            let p = &probs[r * k..(r + 1) * k];
            let best = (0..k).fold(0, |b, c| if p[c] > p[b] { c } else { b });
            differ += (labels[r] as usize != best && (p[best] - p[labels[r] as usize]).abs() > 1e-6) as usize;
        }
        assert_eq!(differ, 0, "{name}: {differ} labels are not the most probable class");
    }
}

/// Trains Sylvan on `train` and checks its ONNX export on `test` (with missing rows).
fn onnx_case(name: &str, train: Table, test: Table, params: &[(&str, &str)]) {
    let p = common::sylvan_params(params);
    let booster = Booster::train(&p, &train.to_dataset(), &[]).expect("Sylvan trains");
    let objective = params
        .iter()
        .find(|(k, _)| *k == "objective")
        .map_or("reg:squarederror", |(_, v)| *v);
    // Without the runtime: the message is well formed.
    let m = to_onnx_model(&booster).expect("ONNX export");
    let g = m.graph.as_ref().expect("graph");
    assert!(m
        .opset_import
        .iter()
        .any(|o| o.domain == "ai.onnx.ml" && o.version == ML_OPSET));
    assert_eq!(g.input[0].name, "input");

    let Some(python) = onnx_python() else {
        return;
    };
    let dir = ScratchDir::new(&format!("onnx-{name}"));
    check_with_runtime(name, &python, dir.path(), &booster, objective, &with_missing_rows(test));
}

fn base(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut p = vec![
        ("num_round", "30"),
        ("nthread", "2"),
        ("max_depth", "6"),
        ("eta", "0.3"),
    ];
    p.extend_from_slice(extra);
    p
}

const LOSSGUIDE: [(&str, &str); 3] = [("grow_policy", "lossguide"), ("max_leaves", "31"), ("max_depth", "0")];

#[test]
fn onnx_binary_depthwise() {
    let (train, test) = common::binary_nonlinear(6000, 31).split_at(4000);
    onnx_case("binary", train, test, &base(&[("objective", "binary:logistic")]));
}

#[test]
fn onnx_regression_with_missing_values_lossguide() {
    let (train, test) = common::regression_missing(6000, 32, 0.1).split_at(4000);
    let mut p = base(&[("objective", "reg:squarederror")]);
    p.extend_from_slice(&LOSSGUIDE);
    onnx_case("regression", train, test, &p);
}

#[test]
fn onnx_multiclass_softprob() {
    let (train, test) = common::multiclass3(6000, 33).split_at(4000);
    onnx_case(
        "multiclass",
        train,
        test,
        &base(&[("objective", "multi:softprob"), ("num_class", "3")]),
    );
}

#[test]
fn onnx_multiclass_softmax_labels() {
    let (train, test) = common::multiclass3(4000, 34).split_at(3000);
    let mut p = base(&[("objective", "multi:softmax"), ("num_class", "3")]);
    p.extend_from_slice(&LOSSGUIDE);
    onnx_case("softmax", train, test, &p);
}

#[test]
fn onnx_poisson_has_an_exp_node() {
    let (mut train, test) = common::regression_missing(5000, 35, 0.05).split_at(3500);
    for y in train.labels.iter_mut() {
        *y = (*y / 3.0).exp().round();
    }
    let p = base(&[("objective", "count:poisson")]);
    let booster = Booster::train(&common::sylvan_params(&p), &train.to_dataset(), &[]).unwrap();
    let ops: Vec<String> = to_onnx_model(&booster)
        .unwrap()
        .graph
        .unwrap()
        .node
        .into_iter()
        .map(|n| n.op_type)
        .collect();
    assert_eq!(ops, ["TreeEnsembleRegressor", "Exp"]);
    onnx_case("poisson", train, test, &p);
}

/// Early stopping must fire here, and the export must hold the best rounds only. The validation
/// set is the training set with every label flipped (1 - y), and base_score is 0.5: then each
/// leaf's Newton step, which lowers the training logloss, has a flipped-label gradient of the
/// opposite sign (sum of p - (1 - y) = -(sum of p - y) when p = 0.5) and so raises the validation
/// logloss, and later rounds push the margins further towards the training labels. The best
/// iteration is therefore the first (0), and training stops after 1 + early_stopping_rounds rounds.
#[test]
fn onnx_early_stopping_exports_the_best_rounds() {
    let (train, test) = common::binary_nonlinear(4500, 36).split_at(3000);
    let valid = Table {
        labels: train.labels.iter().map(|y| 1.0 - y).collect(),
        ..train.clone()
    };
    let p = common::sylvan_params(&base(&[
        ("objective", "binary:logistic"),
        ("base_score", "0.5"),
        ("num_round", "200"),
        ("eta", "0.5"),
        ("early_stopping_rounds", "3"),
    ]));
    let booster = Booster::train(&p, &train.to_dataset(), &[("valid", &valid.to_dataset())]).unwrap();
    assert_eq!(
        booster.best_iteration(),
        Some(0),
        "early stopping: best iteration on the flipped-label validation set"
    );
    assert_eq!(booster.num_rounds(), 4, "early stopping fires 3 rounds after the best");
    let m = to_onnx_model(&booster).unwrap();
    let rounds = booster.best_iteration().map_or(booster.num_rounds(), |b| b + 1);
    let g = m.graph.unwrap();
    let treeids = &g.node[0]
        .attribute
        .iter()
        .find(|a| a.name == "nodes_treeids")
        .unwrap()
        .ints;
    assert_eq!(*treeids.iter().max().unwrap() as usize + 1, rounds);
    let Some(python) = onnx_python() else {
        return;
    };
    let dir = ScratchDir::new("onnx-early-stopping");
    check_with_runtime(
        "early-stopping",
        &python,
        dir.path(),
        &booster,
        "binary:logistic",
        &with_missing_rows(test),
    );
}

#[test]
fn onnx_multiclass_forest() {
    let (train, test) = common::multiclass3(4000, 37).split_at(3000);
    let p = base(&[
        ("objective", "multi:softprob"),
        ("num_class", "3"),
        ("num_parallel_tree", "2"),
        ("subsample", "0.8"),
        ("colsample_bynode", "0.8"),
        ("num_round", "5"),
    ]);
    onnx_case("multiclass-forest", train, test, &p);
}

/// A small model of `objective` on data with missing values.
fn small_model(objective: &str) -> (Booster, Table) {
    let mut t = with_missing_rows(common::regression_missing(1500, 41, 0.1));
    t.labels = match objective {
        "binary:logistic" | "binary:logitraw" => t.labels.iter().map(|y| (*y > 1.0) as u8 as f32).collect(),
        "count:poisson" | "reg:gamma" | "reg:tweedie" | "reg:squaredlogerror" | "survival:aft" => {
            t.labels.iter().map(|y| (*y / 3.0).exp()).collect()
        }
        "multi:softprob" | "multi:softmax" => t.labels.iter().map(|y| (y.abs() as u32 % 3) as f32).collect(),
        // Graded relevance 0-4 (binary for rank:map).
        "rank:pairwise" | "rank:ndcg" => t.labels.iter().map(|y| (y.abs() as u32 % 5) as f32).collect(),
        "rank:map" => t.labels.iter().map(|y| (*y > 1.0) as u8 as f32).collect(),
        _ => t.labels.clone(),
    };
    let mut p = vec![("objective", objective), ("num_round", "8"), ("nthread", "2")];
    if objective.starts_with("multi") {
        p.push(("num_class", "3"));
    }
    let mut data = t.to_dataset();
    if objective.starts_with("rank:") {
        // Queries of 10 consecutive rows.
        let ids = (0..data.num_rows() as u64).map(|i| i / 10).collect();
        data = data.with_query_ids(ids).unwrap();
    }
    let b = Booster::train(&common::sylvan_params(&p), &data, &[]).unwrap();
    (b, t)
}

#[test]
fn onnx_every_objective() {
    let models: Vec<_> = sylvan::ObjectiveKind::ALL
        .into_iter()
        .map(|k| (k.name(), small_model(k.name())))
        .collect();
    for (name, (b, _)) in &models {
        to_onnx_model(b).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let Some(python) = onnx_python() else {
        return;
    };
    let dir = ScratchDir::new("onnx-objectives");
    for (i, (name, (b, t))) in models.iter().enumerate() {
        check_with_runtime(&format!("objective{i}"), &python, dir.path(), b, name, t);
    }
}

#[test]
fn onnx_is_export_only() {
    let (b, _) = small_model("reg:squarederror");
    let dir = ScratchDir::new("onnx-import");
    let path = dir.path().join("m.onnx");
    export_model(&b, ModelFormat::Onnx, &path).unwrap();
    let err = import_model(&path, ModelFormat::Onnx).unwrap_err().to_string();
    assert!(err.contains("ONNX") && err.contains("not supported"), "{err}");
    assert_eq!(ModelFormat::Onnx.to_string(), "onnx");
}

#[test]
fn cli_exports_onnx() {
    let dir = ScratchDir::new("onnx-cli");
    let (b, t) = small_model("multi:softprob");
    let model = dir.path().join("m.sylvan");
    b.save(&model).unwrap();
    let out = dir.path().join("m.onnx");
    let o = Command::new(env!("CARGO_BIN_EXE_sylvan"))
        .args([
            "export",
            "--model",
            path_str(&model),
            "--format",
            "onnx",
            "--out",
            path_str(&out),
        ])
        .output()
        .expect("the binary runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), sylvan::io::export::to_onnx(&b).unwrap());
    let Some(python) = onnx_python() else {
        return;
    };
    let x = dir.path().join("X.npy");
    common::write_npy_columns(&x, &t.columns).unwrap();
    let v = run_onnx(&python, &out, &x, &dir.path().join("out.json"));
    let expected = common::sylvan_predictions(&b, &t.to_dataset());
    common::assert_close(
        "CLI ONNX export",
        &expected,
        &output(&v, "probabilities"),
        3,
        "onnxruntime",
    );
}

#[test]
fn onnx_binary_labels_with_only_positive_leaves() {
    // Every leaf weight positive and below 0.5, the base margin negative: onnxruntime's binary label
    // rule (`tree sum > 0.5` when no weight is negative) differs unless the exporter compensates.
    let tree = sylvan::booster::Tree {
        left: vec![1, -1, -1],
        right: vec![2, -1, -1],
        feature: vec![0, 0, 0],
        threshold: vec![0.5, 0.0, 0.0],
        default_left: vec![true, false, false],
        value: vec![0.0, 0.1, 0.3],
        gain: vec![1.0, 0.0, 0.0],
        cover: vec![2.0, 1.0, 1.0],
        categories: Default::default(),
    };
    let params = common::sylvan_params(&[("objective", "binary:logistic")]);
    let booster = Booster::from_parts(params, vec![-0.2], vec![tree], 1, None).unwrap();
    let test = Table {
        columns: vec![vec![0.0, 1.0, f32::NAN, 0.25, 0.75]],
        labels: vec![0.0; 5],
        weights: None,
    };
    let expected = common::sylvan_predictions(&booster, &test.to_dataset());
    assert!(expected[0] < 0.5 && expected[1] > 0.5, "{expected:?}");
    let Some(python) = onnx_python() else {
        return;
    };
    let dir = ScratchDir::new("onnx-binary-positive");
    check_with_runtime(
        "binary-positive",
        &python,
        dir.path(),
        &booster,
        "binary:logistic",
        &test,
    );
    let v = run_onnx(
        &python,
        &dir.path().join("binary-positive.onnx"),
        &dir.path().join("X_binary-positive.npy"),
        &dir.path().join("again.json"),
    );
    assert_eq!(output(&v, "label"), [0.0, 1.0, 0.0, 0.0, 1.0]);
}
