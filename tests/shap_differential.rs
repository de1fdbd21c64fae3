//! SHAP values against XGBoost 3.2 (issue #20): Sylvan's `Contributions`, `ApproxContributions`
//! and `Interactions` against XGBoost's `pred_contribs`, `approx_contribs` and `pred_interactions`
//! on the same trees: each Sylvan model is written as XGBoost JSON (`to_xgboost_json`), the real
//! XGBoost loads it and explains the same held-out rows (`tests/python/shap_reference.py`).
//!
//! Models (generated data, a few hundred held-out rows, at most 11 features so that interactions
//! stay cheap):
//! - binary logistic (`common::binary_nonlinear`, two seeds);
//! - regression with about 20 % of the values missing (`common::regression_missing`: the default
//!   directions decide the paths), two seeds;
//! - multiclass: 3 classes (`common::multiclass3`) and 4 classes (quartiles of a regression with
//!   missing values), one matrix per class;
//! - lossguide (`grow_policy=lossguide`, `max_leaves` 31, `max_depth` 0: long, unbalanced paths);
//! - categorical features split by category sets (`common::categorical_mixed`, cardinalities 4,
//!   12 and 40, with missing categories and codes never seen in training);
//! - a forest (`num_parallel_tree` 4, `subsample` 0.7, `colsample_bynode` 0.8);
//! - DART (`booster=dart`: XGBoost weighs each tree by its `weight_drop`);
//! - iteration ranges: `[0, end)` through XGBoost's `iteration_range`, `[start, end)` through
//!   XGBoost's model slicing (XGBoost refuses contributions over a range that does not start at 0);
//! - per-row base margins (binary, and one per class for multiclass: XGBoost adds them to the
//!   bias), three quantile levels (`reg:quantileerror`, one output per level), and a large `gamma`
//!   that leaves many trees a single leaf;
//! - models trained by XGBoost itself (binary with missing values, multiclass, categorical),
//!   imported by Sylvan (`from_xgboost_json`) and explained by both.
//!
//! Tolerance: for each model and output, every value `a` of Sylvan's and the matching `b` of
//! XGBoost's satisfy `|a - b| <= 1e-5 * max(1, max |b|)`, the maximum taken over all of XGBoost's
//! values of that output (both compute in f32, and interactions are differences of f32 sums). The
//! margins of the exported model are checked first (1e-5, relative above 1): a difference there is
//! the export's, not the explanation's. Sylvan's own identities are checked too: contributions sum
//! to the margin, interaction rows sum to the contributions.
//!
//! Without a Python that has xgboost the tests print "skipping" and pass, unless
//! `SYLVAN_REQUIRE_REFERENCE=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ScratchDir, Table};
use serde_json::{json, Value};
use sylvan::io::export::{from_xgboost_json, to_xgboost_json};
use sylvan::{Booster, Dataset, PredictOptions, PredictOutput};

/// The stated tolerance, relative to `max(1, max |XGBoost's values|)`.
const TOLERANCE: f64 = 1e-5;

/// One model to explain: the booster, its held-out rows and what XGBoost must be told.
struct Case {
    name: String,
    booster: Booster,
    rows: Table,
    categorical: Vec<usize>,
    range: Option<(usize, usize)>,
    /// Per-row base margins (rows x outputs, row-major), given to both libraries.
    base_margin: Option<Vec<f32>>,
}

impl Case {
    fn new(name: &str, booster: Booster, rows: Table) -> Case {
        Case {
            name: name.to_string(),
            booster,
            rows,
            categorical: Vec::new(),
            range: None,
            base_margin: None,
        }
    }

    fn dataset(&self) -> Dataset {
        let d = if self.categorical.is_empty() {
            self.rows.to_dataset()
        } else {
            common::categorical_dataset(&self.rows, &self.categorical)
        };
        match &self.base_margin {
            Some(m) => d.with_base_margin(m.clone()).expect("generated base margins are valid"),
            None => d,
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Runs the jobs through `shap_reference.py` (one Python start) and returns each job's result.
fn run_jobs(python: &Path, dir: &Path, jobs: &[Value]) -> Vec<Value> {
    let (jobs_file, out) = (dir.join("jobs.json"), dir.join("out.json"));
    std::fs::write(&jobs_file, Value::Array(jobs.to_vec()).to_string()).unwrap();
    let o = Command::new(python)
        .arg(common::repo_root().join("tests/python/shap_reference.py"))
        .args(["--jobs", path_str(&jobs_file), "--out", path_str(&out)])
        .output()
        .expect("run shap_reference.py");
    assert!(
        o.status.success(),
        "shap_reference.py failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    v["results"].as_array().expect("results").clone()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("a list of numbers")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// An explain job for the model file `model` on the case's rows.
fn explain_job(dir: &Path, tag: &str, model: &Path, case: &Case) -> Value {
    let x = dir.join(format!("X_{tag}.npy"));
    common::write_npy_columns(&x, &case.rows.columns).unwrap();
    let base_margin = case.base_margin.as_ref().map(|m| {
        let f = dir.join(format!("BM_{tag}.npy"));
        let k = m.len() / case.rows.num_rows();
        let shape = if k == 1 {
            vec![m.len()]
        } else {
            vec![case.rows.num_rows(), k]
        };
        common::write_npy_f32(&f, &shape, m).unwrap();
        path_str(&f).to_string()
    });
    json!({
        "base_margin": base_margin,
        "kind": "explain",
        "model": path_str(model),
        "x": path_str(&x),
        "categorical": case.categorical,
        "iteration_range": case.range.map(|(a, b)| [a, b]),
    })
}

fn predict(case: &Case, output: PredictOutput) -> Vec<f32> {
    let p = case
        .booster
        .predict(
            &case.dataset(),
            PredictOptions {
                output,
                iteration_range: case.range,
            },
        )
        .unwrap_or_else(|e| panic!("{}: Sylvan {output:?}: {e}", case.name));
    assert_eq!(
        p.num_cols,
        if output.is_explanation() {
            case.booster.explanation_columns(output)
        } else {
            case.booster.num_groups()
        },
        "{}: {output:?} columns",
        case.name
    );
    p.values
}

/// Describes flat index `i` of an explanation of `k` outputs and `c = features + 1` columns.
fn position(i: usize, k: usize, c: usize, interactions: bool) -> String {
    let per_row = if interactions { k * c * c } else { k * c };
    let (row, rest) = (i / per_row, i % per_row);
    let bias = |j: usize| {
        if j + 1 == c {
            "bias".to_string()
        } else {
            format!("f{j}")
        }
    };
    if interactions {
        let (g, cell) = (rest / (c * c), rest % (c * c));
        format!("row {row} output {g} ({}, {})", bias(cell / c), bias(cell % c))
    } else {
        format!("row {row} output {} {}", rest / c, bias(rest % c))
    }
}

/// Checks Sylvan's `output` against XGBoost's values (the tolerance of the module docs); returns
/// the worst scaled difference.
fn check_output(case: &Case, output: PredictOutput, theirs: &[f64]) -> f64 {
    let ours = predict(case, output);
    let (k, c) = (case.booster.num_groups(), case.booster.num_features() + 1);
    let interactions = output == PredictOutput::Interactions;
    assert_eq!(
        ours.len(),
        theirs.len(),
        "{}: {output:?}: Sylvan gives {} values, XGBoost {}",
        case.name,
        ours.len(),
        theirs.len()
    );
    let scale = theirs.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let mut worst = (0.0f64, 0usize);
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        let d = (*a as f64 - b).abs();
        assert!(
            !d.is_nan(),
            "{}: {output:?} NaN at {}",
            case.name,
            position(i, k, c, interactions)
        );
        if d > worst.0 {
            worst = (d, i);
        }
    }
    let (d, i) = worst;
    eprintln!(
        "{}: {output:?} worst |sylvan - xgboost| {d:.3e} at {} (scale {scale:.3})",
        case.name,
        position(i, k, c, interactions)
    );
    assert!(
        d <= TOLERANCE * scale,
        "{}: {output:?} differs from XGBoost at {}: sylvan {} xgboost {} (|diff| {d:e} > {:e})",
        case.name,
        position(i, k, c, interactions),
        ours[i],
        theirs[i],
        TOLERANCE * scale
    );
    d / scale
}

/// Sylvan's own identities: contributions sum to the margin, interaction rows to the contributions.
fn check_identities(case: &Case) {
    let (k, c) = (case.booster.num_groups(), case.booster.num_features() + 1);
    let margin = predict(case, PredictOutput::Margin);
    let contribs = predict(case, PredictOutput::Contributions);
    let inter = predict(case, PredictOutput::Interactions);
    let n = case.rows.num_rows();
    for r in 0..n {
        for g in 0..k {
            let phi = &contribs[(r * k + g) * c..(r * k + g + 1) * c];
            let sum: f64 = phi.iter().map(|v| *v as f64).sum();
            let m = margin[r * k + g] as f64;
            assert!(
                (sum - m).abs() <= 1e-4 * m.abs().max(1.0),
                "{}: row {r} output {g}: contributions sum to {sum}, margin {m}",
                case.name
            );
            let mat = &inter[(r * k + g) * c * c..(r * k + g + 1) * c * c];
            for (i, p) in phi.iter().enumerate() {
                let s: f64 = mat[i * c..(i + 1) * c].iter().map(|v| *v as f64).sum();
                assert!(
                    (s - *p as f64).abs() <= 1e-4 * (*p as f64).abs().max(1.0),
                    "{}: row {r} output {g}: interaction row {i} sums to {s}, contribution {p}",
                    case.name
                );
            }
        }
    }
}

/// Checks every case against XGBoost: the models as XGBoost JSON (Sylvan's export unless the case
/// names a file XGBoost wrote), `train_jobs` run first (they write the files `files` name).
fn check_cases(what: &str, cases: &[Case], files: &[Option<PathBuf>], train_jobs: Vec<Value>, dir: &ScratchDir) {
    let Some(r) = common::reference() else { return };
    let mut jobs = train_jobs;
    let skip = jobs.len();
    for (n, case) in cases.iter().enumerate() {
        let model = match files.get(n).cloned().flatten() {
            Some(f) => f,
            None => {
                let f = dir.path().join(format!("model_{n}.json"));
                let text = to_xgboost_json(&case.booster).unwrap_or_else(|e| panic!("{}: export: {e}", case.name));
                std::fs::write(&f, text).unwrap();
                f
            }
        };
        jobs.push(explain_job(dir.path(), &n.to_string(), &model, case));
    }
    let results = run_jobs(&r.python, dir.path(), &jobs);
    for (case, res) in cases.iter().zip(&results[skip..]) {
        // The exported model first: XGBoost must compute the margins Sylvan does.
        let ours = predict(case, PredictOutput::Margin);
        let theirs = floats(&res["margin"]);
        common::assert_close(
            &format!("{}: margin in XGBoost", case.name),
            &ours,
            &theirs,
            case.booster.num_groups(),
            "xgboost",
        );
        let mut worst = 0.0f64;
        for (output, key) in [
            (PredictOutput::Contributions, "contribs"),
            (PredictOutput::ApproxContributions, "approx"),
            (PredictOutput::Interactions, "interactions"),
        ] {
            worst = worst.max(check_output(case, output, &floats(&res[key])));
        }
        check_identities(case);
        eprintln!("{what}: {} ok (worst scaled difference {worst:.2e})", case.name);
    }
}

/// Trains Sylvan with XGBoost-named parameters (2 threads, hist, max_bin 256).
fn train(table: &Table, categorical: &[usize], params: &[(&str, &str)]) -> Booster {
    let mut all = vec![("tree_method", "hist"), ("nthread", "2"), ("max_bin", "256")];
    all.extend_from_slice(params);
    let p = common::sylvan_params(&all);
    let data = if categorical.is_empty() {
        table.to_dataset()
    } else {
        common::categorical_dataset(table, categorical)
    };
    Booster::train(&p, &data, &[]).unwrap_or_else(|e| panic!("train {params:?}: {e}"))
}

/// `n` training rows and `m` held-out rows of one generated table.
fn split(t: Table, n: usize) -> (Table, Table) {
    t.split_at(n)
}

/// The held-out rows with more missing values: every 9th row entirely missing, every 5th one value.
fn with_missing_rows(mut t: Table) -> Table {
    let m = t.num_features();
    for i in 0..t.num_rows() {
        for (j, c) in t.columns.iter_mut().enumerate() {
            if i % 9 == 0 || (i % 5 == 2 && j == i % m) {
                c[i] = f32::NAN;
            }
        }
    }
    t
}

/// Four classes: the quartiles of `regression_missing`'s label (features with missing values).
fn multiclass4(n: usize, seed: u64) -> Table {
    let mut t = common::regression_missing(n, seed, 0.15);
    let mut sorted = t.labels.clone();
    sorted.sort_by(f32::total_cmp);
    let q = [sorted[n / 4], sorted[n / 2], sorted[3 * n / 4]];
    for y in t.labels.iter_mut() {
        *y = q.iter().filter(|c| *y >= **c).count() as f32;
    }
    t
}

#[test]
fn binary_and_regression_with_missing_values_match_xgboost() {
    let dir = ScratchDir::new("shap-binary-regression");
    let mut cases = Vec::new();
    for seed in [3u64, 41] {
        let (tr, te) = split(common::binary_nonlinear(3_200, seed), 3_000);
        let b = train(
            &tr,
            &[],
            &[
                ("objective", "binary:logistic"),
                ("num_round", "30"),
                ("max_depth", "6"),
                ("eta", "0.3"),
            ],
        );
        cases.push(Case::new(&format!("binary seed {seed}"), b, with_missing_rows(te)));
    }
    for seed in [5u64, 77] {
        let (tr, te) = split(common::regression_missing(3_200, seed, 0.2), 3_000);
        let b = train(
            &tr,
            &[],
            &[
                ("objective", "reg:squarederror"),
                ("num_round", "30"),
                ("max_depth", "6"),
                ("eta", "0.2"),
            ],
        );
        cases.push(Case::new(&format!("regression 20% NaN seed {seed}"), b, te));
    }
    check_cases("binary/regression", &cases, &[], Vec::new(), &dir);
}

#[test]
fn multiclass_matches_xgboost() {
    let dir = ScratchDir::new("shap-multiclass");
    let (tr, te) = split(common::multiclass3(3_150, 9), 3_000);
    let b3 = train(
        &tr,
        &[],
        &[
            ("objective", "multi:softprob"),
            ("num_class", "3"),
            ("num_round", "20"),
            ("max_depth", "5"),
            ("eta", "0.3"),
        ],
    );
    let (tr, te4) = split(multiclass4(3_150, 21), 3_000);
    let b4 = train(
        &tr,
        &[],
        &[
            ("objective", "multi:softmax"),
            ("num_class", "4"),
            ("num_round", "15"),
            ("max_depth", "5"),
            ("eta", "0.3"),
        ],
    );
    let cases = vec![
        Case::new("multiclass 3", b3, te),
        Case::new("multiclass 4 with NaN", b4, te4),
    ];
    check_cases("multiclass", &cases, &[], Vec::new(), &dir);
}

#[test]
fn lossguide_forest_and_dart_match_xgboost() {
    let dir = ScratchDir::new("shap-lossguide-forest-dart");
    let (tr, te) = split(common::regression_heavy_tails(4_200, 13), 4_000);
    let lossguide = train(
        &tr,
        &[],
        &[
            ("objective", "reg:squarederror"),
            ("grow_policy", "lossguide"),
            ("max_leaves", "31"),
            ("max_depth", "0"),
            ("num_round", "20"),
            ("eta", "0.2"),
        ],
    );
    let depth = lossguide.trees().iter().map(|t| t.depth()).max().unwrap_or(0);
    eprintln!("lossguide: deepest tree {depth} levels");
    let (tr, te2) = split(common::binary_nonlinear(3_200, 17), 3_000);
    let forest = train(
        &tr,
        &[],
        &[
            ("objective", "binary:logistic"),
            ("num_parallel_tree", "4"),
            ("subsample", "0.7"),
            ("colsample_bynode", "0.8"),
            ("num_round", "8"),
            ("max_depth", "5"),
            ("eta", "0.5"),
            ("seed", "7"),
        ],
    );
    let (tr, te3) = split(common::regression_missing(3_200, 19, 0.2), 3_000);
    let dart = train(
        &tr,
        &[],
        &[
            ("objective", "reg:squarederror"),
            ("booster", "dart"),
            ("rate_drop", "0.2"),
            ("skip_drop", "0.1"),
            ("num_round", "20"),
            ("max_depth", "5"),
            ("eta", "0.3"),
            ("seed", "3"),
        ],
    );
    let cases = vec![
        Case::new(&format!("lossguide (depth {depth})"), lossguide, te),
        Case::new("forest of 4 per round", forest, te2),
        Case::new("dart", dart, te3),
    ];
    check_cases("lossguide/forest/dart", &cases, &[], Vec::new(), &dir);
}

#[test]
fn categorical_splits_match_xgboost() {
    let dir = ScratchDir::new("shap-categorical");
    let mut cases = Vec::new();
    for (seed, binary) in [(23u64, true), (29, false)] {
        let (t, cats) = common::categorical_mixed(4_200, &[4, 12, 40], seed, binary);
        let (tr, mut te) = split(t, 4_000);
        let objective = if binary { "binary:logistic" } else { "reg:squarederror" };
        let b = train(
            &tr,
            &cats,
            &[
                ("objective", objective),
                ("num_round", "20"),
                ("max_depth", "5"),
                ("eta", "0.3"),
                ("max_cat_to_onehot", "4"),
                ("min_data_per_group", "20"),
            ],
        );
        let sets = b
            .trees()
            .iter()
            .flat_map(|t| (0..t.num_nodes()).filter_map(move |i| t.category_set(i).map(|s| s.len())))
            .filter(|&len| len > 1)
            .count();
        assert!(
            sets > 0,
            "categorical seed {seed}: no split by a set of several categories"
        );
        // Codes never seen in training, and missing categories.
        for i in 0..te.num_rows() {
            if i % 11 == 5 {
                te.columns[1][i] = 12.0;
            } else if i % 13 == 6 {
                te.columns[2][i] = f32::NAN;
            }
        }
        let mut c = Case::new(&format!("categorical {objective} ({sets} set splits)"), b, te);
        c.categorical = cats;
        cases.push(c);
    }
    check_cases("categorical", &cases, &[], Vec::new(), &dir);
}

#[test]
fn iteration_ranges_match_xgboost() {
    let dir = ScratchDir::new("shap-ranges");
    let (tr, te) = split(common::binary_nonlinear(3_200, 31), 3_000);
    let params = [
        ("objective", "binary:logistic"),
        ("num_round", "30"),
        ("max_depth", "5"),
        ("eta", "0.3"),
    ];
    let (tr3, te3) = split(common::multiclass3(3_150, 37), 3_000);
    let params3 = [
        ("objective", "multi:softprob"),
        ("num_class", "3"),
        ("num_round", "12"),
        ("max_depth", "4"),
        ("eta", "0.3"),
    ];
    let mut cases = Vec::new();
    for range in [(0, 10), (5, 20), (29, 30)] {
        let mut c = Case::new(
            &format!("binary rounds {range:?}"),
            train(&tr, &[], &params),
            te.clone(),
        );
        c.range = Some(range);
        cases.push(c);
    }
    for range in [(0, 4), (3, 9)] {
        let mut c = Case::new(
            &format!("multiclass rounds {range:?}"),
            train(&tr3, &[], &params3),
            te3.clone(),
        );
        c.range = Some(range);
        cases.push(c);
    }
    check_cases("iteration ranges", &cases, &[], Vec::new(), &dir);
}

#[test]
fn models_trained_by_xgboost_match_xgboost() {
    let dir = ScratchDir::new("shap-xgboost-trained");
    let Some(r) = common::reference() else { return };
    let d = dir.path();
    let (tr_b, te_b) = split(common::regression_missing(3_200, 43, 0.2), 3_000);
    let mut tr_b = tr_b;
    let median = {
        let mut s = tr_b.labels.clone();
        s.sort_by(f32::total_cmp);
        s[s.len() / 2]
    };
    for y in tr_b.labels.iter_mut() {
        *y = (*y > median) as u8 as f32;
    }
    let (tr_m, te_m) = split(common::multiclass3(3_150, 47), 3_000);
    let (t, cats) = common::categorical_mixed(4_200, &[4, 12, 40], 53, false);
    let (tr_c, te_c) = split(t, 4_000);
    let specs: Vec<(&str, &Table, &Table, Vec<usize>, Value)> = vec![
        (
            "xgboost binary with NaN",
            &tr_b,
            &te_b,
            vec![],
            json!({"objective": "binary:logistic", "max_depth": 6, "eta": 0.3, "tree_method": "hist", "nthread": 2}),
        ),
        (
            "xgboost multiclass 3",
            &tr_m,
            &te_m,
            vec![],
            json!({"objective": "multi:softprob", "num_class": 3, "max_depth": 5, "eta": 0.3, "tree_method": "hist", "nthread": 2}),
        ),
        (
            "xgboost categorical",
            &tr_c,
            &te_c,
            cats.clone(),
            json!({"objective": "reg:squarederror", "max_depth": 5, "eta": 0.3, "tree_method": "hist", "nthread": 2, "max_cat_to_onehot": 4}),
        ),
    ];
    let mut jobs = Vec::new();
    let mut files = Vec::new();
    for (n, (_, tr, _, cats, params)) in specs.iter().enumerate() {
        let (x, y, model) = (
            d.join(format!("Xtrain_{n}.npy")),
            d.join(format!("ytrain_{n}.npy")),
            d.join(format!("xgb_{n}.json")),
        );
        common::write_npy_columns(&x, &tr.columns).unwrap();
        common::write_npy_f32(&y, &[tr.labels.len()], &tr.labels).unwrap();
        jobs.push(json!({
            "kind": "train", "x": path_str(&x), "y": path_str(&y), "categorical": cats,
            "params": params, "rounds": 20, "model_out": path_str(&model),
        }));
        files.push(model);
    }
    // Train first (one Python run), then import the files XGBoost wrote.
    run_jobs(&r.python, d, &jobs);
    let mut cases = Vec::new();
    for ((name, _, te, cats, _), file) in specs.iter().zip(&files) {
        let text = std::fs::read_to_string(file).unwrap();
        let b = from_xgboost_json(&text).unwrap_or_else(|e| panic!("{name}: import: {e}"));
        let mut c = Case::new(name, b, (*te).clone());
        c.categorical = cats.clone();
        cases.push(c);
    }
    let files: Vec<Option<PathBuf>> = files.into_iter().map(Some).collect();
    check_cases("xgboost-trained", &cases, &files, Vec::new(), &dir);
}

#[test]
fn base_margins_quantile_levels_and_stumps_match_xgboost() {
    let dir = ScratchDir::new("shap-extra");
    let (tr, te) = split(common::binary_nonlinear(3_200, 59), 3_000);
    let b = train(
        &tr,
        &[],
        &[
            ("objective", "binary:logistic"),
            ("num_round", "20"),
            ("max_depth", "5"),
            ("eta", "0.3"),
        ],
    );
    let margins: Vec<f32> = (0..te.num_rows()).map(|i| (i % 7) as f32 * 0.25 - 0.75).collect();
    let mut with_margin = Case::new("binary with base margins", b, te);
    with_margin.base_margin = Some(margins);
    let (tr, te3) = split(common::multiclass3(3_150, 61), 3_000);
    let b3 = train(
        &tr,
        &[],
        &[
            ("objective", "multi:softprob"),
            ("num_class", "3"),
            ("num_round", "10"),
            ("max_depth", "4"),
            ("eta", "0.3"),
        ],
    );
    let margins3: Vec<f32> = (0..3 * te3.num_rows()).map(|i| (i % 5) as f32 * 0.3 - 0.6).collect();
    let mut multi_margin = Case::new("multiclass with base margins", b3, te3);
    multi_margin.base_margin = Some(margins3);
    let (tr, te_q) = split(common::regression_missing(3_200, 67, 0.2), 3_000);
    let quantiles = train(
        &tr,
        &[],
        &[
            ("objective", "reg:quantileerror"),
            ("quantile_alpha", "0.1,0.5,0.9"),
            ("num_round", "15"),
            ("max_depth", "4"),
            ("eta", "0.3"),
        ],
    );
    let (tr, te_s) = split(common::regression_heavy_tails(3_200, 71), 3_000);
    // A large gamma leaves many trees a single leaf (or one split).
    let stumps = train(
        &tr,
        &[],
        &[
            ("objective", "reg:squarederror"),
            ("gamma", "400"),
            ("num_round", "20"),
            ("max_depth", "4"),
            ("eta", "0.3"),
        ],
    );
    let single = stumps.trees().iter().filter(|t| t.num_nodes() == 1).count();
    eprintln!("stumps: {single} of {} trees are a single leaf", stumps.trees().len());
    let cases = vec![
        with_margin,
        multi_margin,
        Case::new("three quantile levels", quantiles, te_q),
        Case::new(&format!("large gamma ({single} single-leaf trees)"), stumps, te_s),
    ];
    check_cases("extra", &cases, &[], Vec::new(), &dir);
}

/// The most distinct features on one root-to-leaf path of the booster's trees.
fn max_distinct_features(b: &Booster) -> usize {
    fn walk(t: &sylvan::booster::Tree, i: usize, on_path: &mut Vec<u32>, best: &mut usize) {
        if t.is_leaf(i) {
            let mut f = on_path.clone();
            f.sort_unstable();
            f.dedup();
            *best = (*best).max(f.len());
            return;
        }
        on_path.push(t.feature[i]);
        walk(t, t.left[i] as usize, on_path, best);
        walk(t, t.right[i] as usize, on_path, best);
        on_path.pop();
    }
    let mut best = 0;
    for t in b.trees() {
        walk(t, 0, &mut Vec::new(), &mut best);
    }
    best
}

/// Paths with more distinct features than Sylvan tabulates (12 for contributions, 10 for
/// interactions) are evaluated directly, and so are long paths when few rows are explained: a deep
/// loss-guided model over 16 features (its paths reach 11 distinct features: past the interaction
/// tables), explained on 200 rows and on 5 rows (where paths of 9 or more distinct features are
/// evaluated directly for contributions too).
#[test]
fn paths_with_many_distinct_features_match_xgboost() {
    let dir = ScratchDir::new("shap-long-paths");
    let (tr, te) = split(common::regression_wide_missing(6_200, 16, 83, 0.2), 6_000);
    let params = [
        ("objective", "reg:squarederror"),
        ("grow_policy", "lossguide"),
        ("max_leaves", "255"),
        ("max_depth", "0"),
        ("min_child_weight", "0.1"),
        ("num_round", "6"),
        ("eta", "0.3"),
    ];
    let b = train(&tr, &[], &params);
    let distinct = max_distinct_features(&b);
    let depth = b.trees().iter().map(|t| t.depth()).max().unwrap_or(0);
    eprintln!("long paths: deepest tree {depth} levels, at most {distinct} distinct features on a path");
    assert!(
        distinct > 10,
        "the model has no path with more than 10 distinct features ({distinct})"
    );
    let few = Table::new(
        te.columns.iter().map(|c| c[..5].to_vec()).collect(),
        te.labels[..5].to_vec(),
    );
    let cases = vec![
        Case::new(
            &format!("lossguide over 16 features ({distinct} on a path), 200 rows"),
            train(&tr, &[], &params),
            te,
        ),
        Case::new("the same, 5 rows", b, few),
    ];
    check_cases("long paths", &cases, &[], Vec::new(), &dir);
}
