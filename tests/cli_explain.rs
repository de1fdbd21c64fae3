//! End-to-end tests of explanations in the `sylvan` binary (issue #20): `sylvan predict
//! --contribs`, `--approx-contribs` and `--interactions` on binary, multiclass, regression (with
//! missing values) and categorical models, their column names, that contributions sum to the
//! `--margin` output (1e-4 per row, also over an iteration range), that interactions are
//! symmetric with rows summing to the contributions, CSV and Parquet outputs, ensembles, the
//! refused flag combinations, and `sylvan inspect --importance` of every type and `shap`.

use std::path::{Path, PathBuf};

use arrow_array::{Array, Float32Array};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

mod cli_support;
use cli_support::{fails_cleanly, ok, s, sylvan, temp_dir, Lcg};

const ROWS: usize = 300;
/// The tolerance of a row's sum against its margin (f32 sums of a few dozen trees).
const TOL: f64 = 1e-4;
/// Columns x0, x1, x2 (every 9th x1 empty, i.e. missing), c (a string category `a`..`d`) and the
/// targets: `bin` (0/1), `cls` (0, 1, 2) and `reg` (a number).
fn write_data(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let mut r = Lcg(seed);
    let mut text = String::from("x0,x1,x2,c,bin,cls,reg\n");
    for i in 0..ROWS {
        let (x0, x1, x2) = (r.next(), r.next(), r.next());
        let c = (r.next() * 4.0) as usize;
        let cat = ["a", "b", "c", "d"][c];
        let x1_text = if i % 9 == 4 { String::new() } else { x1.to_string() };
        let x1_seen = if i % 9 == 4 { 0.5 } else { x1 };
        let effect = [0.0, 1.0, -1.0, 0.5][c];
        let bin = (x0 + x1_seen + 0.3 * effect + 0.2 * r.next() > 1.1) as u8;
        let cls = ((x0 * 2.0 + x2).min(2.99) as usize).min(2);
        let reg = 3.0 * x0 - 2.0 * x1_seen + effect + 0.1 * r.next();
        text.push_str(&format!("{x0},{x1_text},{x2},{cat},{bin},{cls},{reg}\n"));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// `sylvan train` on `data` with label `label` and these settings, saving to `model`.
fn train(data: &Path, model: &Path, label: &str, drop: &str, sets: &[&str]) {
    let mut args = vec![
        "train",
        "--data",
        s(data),
        "--label",
        label,
        "--drop",
        drop,
        "--model-out",
        s(model),
        "--quiet",
        "--set",
        "num_round=20",
        "--set",
        "max_depth=3",
    ];
    for set in sets {
        args.push("--set");
        args.push(set);
    }
    ok(sylvan(&args));
}

/// A prediction CSV: its header's column names and its rows of numbers.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines
        .map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()).collect())
        .collect();
    (header, rows)
}

/// A prediction Parquet file: its column names and its rows.
fn read_parquet(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let mut names = Vec::new();
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        if names.is_empty() {
            names = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        }
        let columns: Vec<&Float32Array> = batch
            .columns()
            .iter()
            .map(|c| c.as_any().downcast_ref::<Float32Array>().expect("f32 columns"))
            .collect();
        for i in 0..batch.num_rows() {
            rows.push(columns.iter().map(|c| c.value(i) as f64).collect());
        }
    }
    (names, rows)
}

/// `sylvan predict` of `model` on `data` into `out` with extra arguments, read back (CSV).
fn predict(model: &Path, data: &Path, out: &Path, extra: &[&str]) -> (Vec<String>, Vec<Vec<f64>>) {
    ok(sylvan(&predict_args(model, data, out, extra)));
    read_csv(out)
}

/// The arguments of `sylvan predict` for `model` on `data` into `out`, plus `extra`.
fn predict_args<'a>(model: &'a Path, data: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["predict", "--model", s(model), "--data", s(data), "--out", s(out)];
    args.extend_from_slice(extra);
    args
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// Asserts that each row's `k` blocks of `c` contributions sum to its `k` margins within [`TOL`].
fn assert_sums_to_margin(what: &str, contribs: &[Vec<f64>], margins: &[Vec<f64>], c: usize) {
    assert_eq!(contribs.len(), margins.len(), "{what}: rows");
    for (i, (row, m)) in contribs.iter().zip(margins).enumerate() {
        assert_eq!(row.len(), c * m.len(), "{what}: row {i} width");
        for (g, block) in row.chunks(c).enumerate() {
            let sum: f64 = block.iter().sum();
            assert!(
                (sum - m[g]).abs() < TOL,
                "{what}: row {i} output {g}: contributions sum to {sum}, margin {}",
                m[g]
            );
        }
    }
}

#[test]
fn binary_contributions_are_named_and_sum_to_the_margin() {
    let dir = temp_dir("binary");
    let data = write_data(&dir, "d.csv", 1);
    let model = dir.join("m.json");
    train(&data, &model, "bin", "cls,reg,c", &["objective=binary:logistic"]);
    let (_, margins) = predict(&model, &data, &dir.join("margin.csv"), &["--margin"]);
    for flag in ["--contribs", "--approx-contribs"] {
        let (names, rows) = predict(&model, &data, &dir.join("contribs.csv"), &[flag]);
        assert_eq!(names, strings(&["x0", "x1", "x2", "bias"]), "{flag}");
        assert_sums_to_margin(flag, &rows, &margins, 4);
        // x0 and x1 decide the label; every row's bias is the same expected margin.
        assert!(rows.iter().any(|r| r[0].abs() > 0.1), "{flag}: x0 contributes nothing");
        let bias = rows[0][3];
        assert!(
            rows.iter().all(|r| (r[3] - bias).abs() < 1e-6),
            "{flag}: the bias varies"
        );
    }
    // An iteration range: the contributions of rounds 0..5 sum to those rounds' margins.
    let (_, early) = predict(
        &model,
        &data,
        &dir.join("m5.csv"),
        &["--margin", "--iteration-range", "0:5"],
    );
    let (_, rows) = predict(
        &model,
        &data,
        &dir.join("c5.csv"),
        &["--contribs", "--iteration-range", "0:5"],
    );
    assert_sums_to_margin("rounds 0..5", &rows, &early, 4);
    let moved = rows
        .iter()
        .zip(&margins)
        .any(|(r, m)| (r.iter().sum::<f64>() - m[0]).abs() > 1e-3);
    assert!(moved, "--iteration-range was ignored");
}

#[test]
fn multiclass_contributions_have_a_block_per_class() {
    let dir = temp_dir("multiclass");
    let data = write_data(&dir, "d.csv", 2);
    let model = dir.join("m.json");
    train(
        &data,
        &model,
        "cls",
        "bin,reg,c",
        &["objective=multi:softprob", "num_class=3"],
    );
    let (_, margins) = predict(&model, &data, &dir.join("margin.csv"), &["--margin"]);
    assert_eq!(margins[0].len(), 3);
    let (names, rows) = predict(&model, &data, &dir.join("contribs.csv"), &["--contribs"]);
    let mut expected = Vec::new();
    for k in 0..3 {
        for f in ["x0", "x1", "x2", "bias"] {
            expected.push(format!("class_{k}_{f}"));
        }
    }
    assert_eq!(names, expected);
    assert_sums_to_margin("multiclass", &rows, &margins, 4);
}

#[test]
fn regression_with_missing_values_and_interactions() {
    let dir = temp_dir("regression");
    let data = write_data(&dir, "d.csv", 3);
    let model = dir.join("m.sylvan");
    train(&data, &model, "reg", "bin,cls,c", &["objective=reg:squarederror"]);
    let (_, margins) = predict(&model, &data, &dir.join("margin.csv"), &["--margin"]);
    let (_, contribs) = predict(&model, &data, &dir.join("contribs.csv"), &["--contribs"]);
    assert_sums_to_margin("regression", &contribs, &margins, 4);
    let (names, rows) = predict(&model, &data, &dir.join("inter.csv"), &["--interactions"]);
    let c = 4;
    assert_eq!(names.len(), c * c);
    assert_eq!(names[0], "x0:x0");
    assert_eq!(names[1], "x0:x1");
    assert_eq!(names[3], "x0:bias");
    assert_eq!(names[c], "x1:x0");
    assert_eq!(names[c * c - 1], "bias:bias");
    for (i, (m, phi)) in rows.iter().zip(&contribs).enumerate() {
        for a in 0..c {
            for b in 0..c {
                assert!(
                    (m[a * c + b] - m[b * c + a]).abs() < 1e-5,
                    "row {i}: {} != {}",
                    names[a * c + b],
                    names[b * c + a]
                );
            }
            let sum: f64 = m[a * c..(a + 1) * c].iter().sum();
            assert!(
                (sum - phi[a]).abs() < TOL,
                "row {i}: row {a} sums to {sum}, not {}",
                phi[a]
            );
        }
    }
}

#[test]
fn quantile_levels_get_a_block_per_level() {
    let dir = temp_dir("quantiles");
    let data = write_data(&dir, "d.csv", 9);
    let model = dir.join("m.json");
    train(
        &data,
        &model,
        "reg",
        "bin,cls,c",
        &["objective=reg:quantileerror", "quantile_alpha=0.1,0.9"],
    );
    let (_, margins) = predict(&model, &data, &dir.join("margin.csv"), &["--margin"]);
    let (names, rows) = predict(&model, &data, &dir.join("contribs.csv"), &["--contribs"]);
    let expected: Vec<String> = ["quantile_0.1", "quantile_0.9"]
        .iter()
        .flat_map(|q| ["x0", "x1", "x2", "bias"].map(|f| format!("{q}_{f}")))
        .collect();
    assert_eq!(names, expected);
    assert_sums_to_margin("quantiles", &rows, &margins, 4);
}

#[test]
fn categorical_model_explains_its_string_column() {
    let dir = temp_dir("categorical");
    let data = write_data(&dir, "d.csv", 4);
    let model = dir.join("m.json");
    train(&data, &model, "reg", "bin,cls", &["objective=reg:squarederror"]);
    let (_, margins) = predict(&model, &data, &dir.join("margin.csv"), &["--margin"]);
    let (names, rows) = predict(&model, &data, &dir.join("contribs.csv"), &["--contribs"]);
    assert_eq!(names, strings(&["x0", "x1", "x2", "c", "bias"]));
    assert_sums_to_margin("categorical", &rows, &margins, 5);
    assert!(
        rows.iter().any(|r| r[3].abs() > 0.05),
        "the category column gets no credit"
    );
}

#[test]
fn parquet_output_equals_csv_output() {
    let dir = temp_dir("parquet");
    let data = write_data(&dir, "d.csv", 5);
    let model = dir.join("m.json");
    train(&data, &model, "bin", "cls,reg,c", &["objective=binary:logistic"]);
    for flag in ["--contribs", "--interactions"] {
        let (csv_names, csv_rows) = predict(&model, &data, &dir.join("p.csv"), &[flag]);
        let pq = dir.join("p.parquet");
        ok(sylvan(&predict_args(&model, &data, &pq, &[flag])));
        let (pq_names, pq_rows) = read_parquet(&pq);
        assert_eq!(pq_names, csv_names, "{flag}");
        assert_eq!(pq_rows.len(), csv_rows.len(), "{flag}");
        for (a, b) in pq_rows.iter().zip(&csv_rows) {
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-6 * (1.0 + y.abs()), "{flag}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn bad_flag_combinations_name_the_flag() {
    let dir = temp_dir("flags");
    let data = write_data(&dir, "d.csv", 6);
    let model = dir.join("m.json");
    train(&data, &model, "bin", "cls,reg,c", &["objective=binary:logistic"]);
    let out = dir.join("p.csv");
    for (extra, named) in [
        (&["--contribs", "--margin"][..], ["--contribs", "--margin"]),
        (&["--contribs", "--leaf"][..], ["--contribs", "--leaf"]),
        (&["--interactions", "--contribs"][..], ["--interactions", "--contribs"]),
        (
            &["--approx-contribs", "--interactions"][..],
            ["--approx-contribs", "--interactions"],
        ),
        (
            &["--approx-contribs", "--margin"][..],
            ["--approx-contribs", "--margin"],
        ),
        (&["--contribs", "--device", "cuda"][..], ["--contribs", "CPU"]),
    ] {
        let err = fails_cleanly(sylvan(&predict_args(&model, &data, &out, extra)));
        for name in named {
            assert!(err.contains(name), "{extra:?}: `{name}` not in {err}");
        }
        assert!(!out.exists(), "{extra:?}: an output was written");
    }
}

#[test]
fn ensembles_are_explained_or_refused_cleanly() {
    let dir = temp_dir("ensembles");
    let data = write_data(&dir, "d.csv", 7);
    let config = dir.join("bag.toml");
    std::fs::write(
        &config,
        "objective = \"binary:logistic\"\nnum_round = 5\n[ensemble]\nkind = \"bagging\"\nn_estimators = 3\n",
    )
    .unwrap();
    let model = dir.join("bag.json");
    ok(sylvan(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "bin",
        "--drop",
        "cls,reg,c",
        "--config",
        s(&config),
        "--model-out",
        s(&model),
    ]));
    let out = dir.join("p.csv");
    let o = sylvan(&predict_args(&model, &data, &out, &["--contribs"]));
    if o.status.success() {
        let (names, rows) = read_csv(&out);
        assert_eq!(names, strings(&["x0", "x1", "x2", "bias"]));
        assert_eq!(rows.len(), ROWS);
    } else {
        let err = fails_cleanly(o);
        assert!(err.contains("ensemble") || err.contains("bagging"), "{err}");
    }
    // A stacking ensemble is explained or refused with a message (never a crash).
    let stack_config = dir.join("stack.toml");
    std::fs::write(
        &stack_config,
        "[ensemble]\nkind = \"stacking\"\nobjective = \"binary:logistic\"\nk = 3\n\
         [[ensemble.base]]\nobjective = \"binary:logistic\"\nnum_round = 5\n\
         [[ensemble.base]]\nkind = \"linear\"\n",
    )
    .unwrap();
    let stack = dir.join("stack.json");
    ok(sylvan(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "bin",
        "--drop",
        "cls,reg,c",
        "--config",
        s(&stack_config),
        "--model-out",
        s(&stack),
    ]));
    let o = sylvan(&predict_args(&stack, &data, &out, &["--contribs"]));
    if !o.status.success() {
        let err = fails_cleanly(o);
        assert!(err.contains("ensemble") || err.contains("stacking"), "{err}");
    }
    // An iteration range is a booster's: refused for an ensemble, naming the flag.
    let err = fails_cleanly(sylvan(&predict_args(
        &model,
        &data,
        &out,
        &["--contribs", "--iteration-range", "0:2"],
    )));
    assert!(err.contains("--iteration-range"), "{err}");
}

#[test]
fn inspect_ranks_features_by_every_importance_type() {
    let dir = temp_dir("importance");
    let data = write_data(&dir, "d.csv", 8);
    let model = dir.join("m.json");
    train(&data, &model, "bin", "cls,reg,c", &["objective=binary:logistic"]);
    for kind in ["weight", "gain", "cover", "total_gain", "total_cover"] {
        let out = ok(sylvan(&["inspect", "--model", s(&model), "--importance", kind]));
        assert!(out.contains(&format!("top features by {kind} (")), "{kind}: {out}");
    }
    let out = ok(sylvan(&[
        "inspect",
        "--model",
        s(&model),
        "--importance",
        "shap",
        "--data",
        s(&data),
    ]));
    assert!(out.contains("top features by mean |SHAP|"), "{out}");
    assert!(out.contains(&format!("({ROWS} rows)")), "{out}");
    let ranked: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.contains("mean |SHAP|"))
        .skip(1)
        .take(2)
        .collect();
    assert!(
        ranked.iter().all(|l| l.contains("x0") || l.contains("x1")),
        "x0 and x1 decide the label: {ranked:?}"
    );
    let err = fails_cleanly(sylvan(&["inspect", "--model", s(&model), "--importance", "shap"]));
    assert!(err.contains("--data"), "{err}");
    let err = fails_cleanly(sylvan(&["inspect", "--model", s(&model), "--data", s(&data)]));
    assert!(err.contains("--importance shap"), "{err}");
    let err = fails_cleanly(sylvan(&["inspect", "--model", s(&model), "--importance", "gini"]));
    assert!(err.contains("gini") && err.contains("total_gain"), "{err}");
}
