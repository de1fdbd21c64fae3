//! End-to-end tests of the `sylvan` binary on Parquet, CSV and LibSVM files written here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use sylvan::{Booster, ColumnSelection, Params, PredictOptions};

const ROWS: usize = 600;

/// A fresh directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sylvan-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary.
fn sylvan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sylvan"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
fn ok(o: Output) -> String {
    assert!(o.status.success(), "failed: {}\n{}", stderr(&o), stdout(&o));
    stdout(&o)
}

/// Asserts a clean failure (non-zero, one `error:` line, no panic) and returns that line.
fn fails(o: Output) -> String {
    assert!(!o.status.success(), "should fail: {}", stdout(&o));
    assert_ne!(o.status.code(), Some(101), "panicked: {}", stderr(&o));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    lines[0].to_string()
}

/// A tiny deterministic generator (no external randomness in tests).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Columns: x (float, some missing), z (int), color (string categorical, some null), flag (bool),
/// id (string, high-cardinality noise), y (0/1 label) and w (weights).
fn binary_batch(rows: usize, seed: u64) -> RecordBatch {
    let mut r = Lcg(seed);
    let mut x = Vec::new();
    let mut z = Vec::new();
    let mut color = Vec::new();
    let mut flag = Vec::new();
    let mut y = Vec::new();
    for i in 0..rows {
        let xi = r.next() * 4.0 - 2.0;
        let zi = (r.next() * 10.0) as i64;
        let c = ["red", "green", "blue"][(r.next() * 3.0) as usize % 3];
        let f = r.next() < 0.5;
        let score = xi + if c == "red" { 1.5 } else { -0.5 } + if f { 0.5 } else { 0.0 } + 0.1 * zi as f64 - 0.5;
        y.push(if score + (r.next() - 0.5) > 0.0 { 1.0 } else { 0.0 });
        x.push(if i % 13 == 0 { None } else { Some(xi) });
        z.push(zi);
        color.push(if i % 17 == 0 { None } else { Some(c) });
        flag.push(f);
    }
    let schema = Schema::new(vec![
        Field::new("x", DataType::Float64, true),
        Field::new("z", DataType::Int64, false),
        Field::new("color", DataType::Utf8, true),
        Field::new("flag", DataType::Boolean, false),
        Field::new("y", DataType::Float32, false),
        Field::new("w", DataType::Float64, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Float64Array::from(x)),
        Arc::new(Int64Array::from(z)),
        Arc::new(StringArray::from(color)),
        Arc::new(BooleanArray::from(flag)),
        Arc::new(Float32Array::from(y)),
        Arc::new(Float64Array::from(vec![1.0; rows])),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

fn write_parquet(path: &Path, batch: &RecordBatch) {
    let file = std::fs::File::create(path).unwrap();
    let mut w = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// Reads a one-header CSV of floats into rows.
fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<f32>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    (header, rows)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const BINARY: [&str; 8] = [
    "--set",
    "objective=binary:logistic",
    "--set",
    "num_round=15",
    "--set",
    "eval_metric=auc",
    "--set",
    "nthread=2",
];

#[test]
fn train_predict_eval_inspect_on_parquet() {
    let dir = temp_dir("parquet");
    let (train, valid, model) = (dir.join("train.parquet"), dir.join("valid.parquet"), dir.join("m.json"));
    write_parquet(&train, &binary_batch(ROWS, 1));
    write_parquet(&valid, &binary_batch(200, 2));
    let mut args = vec![
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--weight",
        "w",
        "--model-out",
        s(&model),
    ];
    args.extend(["--valid", s(&valid)]);
    args.extend(BINARY);
    let out = ok(sylvan(&args));
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.contains("trained 15 rounds") && out.contains("valid-auc:") && out.contains("m.json"),
        "{out}"
    );

    let pred = dir.join("p.csv");
    ok(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&valid),
        "--out",
        s(&pred),
    ]));
    let (header, rows) = read_csv(&pred);
    assert_eq!(header, vec!["prediction"]);
    assert_eq!(rows.len(), 200);
    assert!(rows.iter().all(|r| r[0] > 0.0 && r[0] < 1.0));

    let out = ok(sylvan(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&valid),
        "--metric",
        "auc",
        "--metric",
        "logloss",
    ]));
    let auc: f64 = out
        .lines()
        .next()
        .unwrap()
        .strip_prefix("auc: ")
        .unwrap()
        .parse()
        .unwrap();
    assert!(auc > 0.85, "{out}");
    assert!(out.contains("logloss: "), "{out}");
    // Default label and metric come from the model.
    let out = ok(sylvan(&["eval", "--model", s(&model), "--data", s(&valid)]));
    assert!(out.starts_with("auc: "), "{out}");

    let out = ok(sylvan(&["inspect", "--model", s(&model)]));
    for want in [
        "binary:logistic",
        "rounds:      15",
        "features:    4 (1 categorical)",
        "color: 3 categories",
        "num_round = 15",
        "top features by gain",
        "x",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }

    // Parquet output, margins and leaves.
    let pq = dir.join("p.parquet");
    ok(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&valid),
        "--out",
        s(&pq),
        "--margin",
    ]));
    let t = sylvan::io::read_table(&pq, &Default::default()).unwrap();
    assert_eq!(t.names, vec!["prediction"]);
    let margin0 = t.columns[0].get(0);
    let p0 = rows[0][0];
    assert!((1.0 / (1.0 + (-margin0).exp()) - p0).abs() < 1e-5);
    let leaves = dir.join("leaves.csv");
    ok(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&valid),
        "--out",
        s(&leaves),
        "--leaf",
    ]));
    let (header, rows) = read_csv(&leaves);
    assert_eq!(header.len(), 15);
    assert_eq!(header[0], "leaf_0");
    assert_eq!(rows.len(), 200);
}

#[test]
fn cli_model_predicts_like_the_rust_api() {
    let dir = temp_dir("parity");
    let (train, model) = (dir.join("train.parquet"), dir.join("m.sylvan"));
    write_parquet(&train, &binary_batch(ROWS, 3));
    let mut args = vec![
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--drop",
        "w",
        "--model-out",
        s(&model),
        "--quiet",
    ];
    args.extend(BINARY);
    ok(sylvan(&args));
    let pred = dir.join("p.csv");
    ok(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&train),
        "--out",
        s(&pred),
    ]));
    let (_, rows) = read_csv(&pred);
    let cli: Vec<f32> = rows.iter().map(|r| r[0]).collect();

    // The same data and parameters through the API.
    let sel = ColumnSelection {
        label: Some("y".into()),
        drop: vec!["w".into()],
        ..Default::default()
    };
    let loaded = sylvan::load_training(&train, &sel).unwrap();
    let mut params = Params::default();
    for kv in BINARY.iter().skip(1).step_by(2) {
        let (k, v) = kv.split_once('=').unwrap();
        params.set(k, v).unwrap();
    }
    let api = Booster::train(&params, &loaded.dataset, &[]).unwrap();
    let api_pred = api.predict(&loaded.dataset, PredictOptions::default()).unwrap().values;
    assert_eq!(cli, api_pred, "a model trained by the API predicts the same");

    // The CLI's model file loaded through the API.
    let saved = Booster::load(&model).unwrap();
    assert_eq!(
        saved
            .predict(&loaded.dataset, PredictOptions::default())
            .unwrap()
            .values,
        cli
    );
}

#[test]
fn prediction_matches_columns_by_name() {
    let dir = temp_dir("byname");
    let (train, model) = (dir.join("train.parquet"), dir.join("m.json"));
    let batch = binary_batch(ROWS, 4);
    write_parquet(&train, &batch);
    let mut args = vec![
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--features",
        "x,color,flag",
        "--model-out",
        s(&model),
        "-q",
    ];
    args.extend(BINARY);
    ok(sylvan(&args));
    let p1 = dir.join("p1.csv");
    ok(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&train),
        "--out",
        s(&p1),
    ]));

    // Columns in another order, plus an extra one, and the color strings of a new file.
    let cols = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect::<Vec<_>>();
    let order = ["flag", "w", "color", "extra", "x"];
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for name in order {
        if name == "extra" {
            fields.push(Field::new("extra", DataType::Float32, false));
            arrays.push(Arc::new(Float32Array::from(vec![7.0; ROWS])));
        } else {
            let j = cols.iter().position(|c| c == name).unwrap();
            fields.push(batch.schema().field(j).clone());
            arrays.push(batch.column(j).clone());
        }
    }
    let shuffled = dir.join("shuffled.parquet");
    write_parquet(
        &shuffled,
        &RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap(),
    );
    let p2 = dir.join("p2.csv");
    ok(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&shuffled),
        "--out",
        s(&p2),
    ]));
    assert_eq!(
        std::fs::read_to_string(&p1).unwrap(),
        std::fs::read_to_string(&p2).unwrap()
    );

    // A missing feature column is an error naming it.
    let no_color = dir.join("no_color.csv");
    std::fs::write(&no_color, "x,flag\n1.0,true\n").unwrap();
    let e = fails(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&no_color),
        "--out",
        s(&dir.join("p3.csv")),
    ]));
    assert!(e.contains("`color`") && e.contains("no_color.csv"), "{e}");
    // An unseen category predicts (as missing) rather than failing.
    let unseen = dir.join("unseen.csv");
    std::fs::write(&unseen, "x,flag,color\n1.0,true,purple\n1.0,true,\n").unwrap();
    let p4 = dir.join("p4.csv");
    ok(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&unseen),
        "--out",
        s(&p4),
    ]));
    let (_, rows) = read_csv(&p4);
    assert_eq!(rows[0], rows[1]);
}

#[test]
fn csv_and_libsvm_inputs() {
    let dir = temp_dir("text");
    let csv = dir.join("d.csv");
    let mut text = String::from("a,b,kind,target\n");
    let mut r = Lcg(9);
    for i in 0..300 {
        let a = r.next() * 10.0;
        let b = if i % 7 == 0 {
            "NA".to_string()
        } else {
            format!("{:.3}", r.next())
        };
        let kind = ["u", "v", ""][i % 3];
        text.push_str(&format!(
            "{a:.4},{b},{kind},{:.4}\n",
            2.0 * a + if kind == "u" { 3.0 } else { 0.0 }
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let model = dir.join("reg.json");
    let out = ok(sylvan(&[
        "train",
        "--data",
        s(&csv),
        "--label",
        "target",
        "--model-out",
        s(&model),
        "--set",
        "num_round=30",
    ]));
    assert!(
        out.contains("trained 30 rounds") && out.contains("train-rmse:"),
        "{out}"
    );
    let out = ok(sylvan(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&csv),
        "--metric",
        "rmse",
    ]));
    let rmse: f64 = out.trim().strip_prefix("rmse: ").unwrap().parse().unwrap();
    assert!(rmse < 2.0, "{out}");

    let svm = dir.join("d.svm");
    let mut text = String::new();
    for i in 0..300 {
        let x = (i % 50) as f64 / 10.0;
        let label = if x > 2.5 { 1 } else { 0 };
        let extra = if i % 4 == 0 {
            String::new()
        } else {
            format!(" 3:{}", i % 3)
        };
        text.push_str(&format!("{label} qid:{} 1:{x}{extra}\n", i / 30));
    }
    std::fs::write(&svm, text).unwrap();
    let model = dir.join("svm.sylvan");
    ok(sylvan(&[
        "train",
        "--data",
        s(&svm),
        "--group",
        "qid",
        "--model-out",
        s(&model),
        "--set",
        "objective=binary:logistic",
        "-q",
    ]));
    let out = ok(sylvan(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&svm),
        "--metric",
        "error",
    ]));
    assert!(out.starts_with("error: 0"), "{out}");
    let pred = dir.join("p.arrow");
    ok(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&svm),
        "--out",
        s(&pred),
    ]));
    assert_eq!(
        sylvan::io::read_table(&pred, &Default::default()).unwrap().num_rows,
        300
    );
}

#[test]
fn multiclass_writes_one_column_per_class() {
    let dir = temp_dir("multi");
    let csv = dir.join("d.csv");
    let mut text = String::from("x,cls\n");
    for i in 0..300 {
        text.push_str(&format!("{},{}\n", i % 30, (i % 30) / 10));
    }
    std::fs::write(&csv, text).unwrap();
    let cfg = dir.join("p.toml");
    std::fs::write(
        &cfg,
        "objective = \"multi:softprob\"\nnum_class = 3\nnum_round = 3\neta = 0.5\n",
    )
    .unwrap();
    let model = dir.join("m.json");
    let out = ok(sylvan(&[
        "train",
        "--data",
        s(&csv),
        "--label",
        "cls",
        "--config",
        s(&cfg),
        "--set",
        "num_round=6",
        "--model-out",
        s(&model),
    ]));
    assert!(out.contains("trained 6 rounds"), "--set wins over the file: {out}");
    let pred = dir.join("p.csv");
    ok(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&csv),
        "--out",
        s(&pred),
    ]));
    let (header, rows) = read_csv(&pred);
    assert_eq!(header, vec!["class_0", "class_1", "class_2"]);
    assert!(rows.iter().all(|r| (r.iter().sum::<f32>() - 1.0).abs() < 1e-4));
    assert!(rows[25][2] > 0.5);
}

#[test]
fn progress_lines_and_quiet() {
    let dir = temp_dir("progress");
    let train = dir.join("t.parquet");
    write_parquet(&train, &binary_batch(200, 5));
    let model = dir.join("m.json");
    let base = [
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--model-out",
        s(&model),
        "--set",
        "num_round=40",
    ];
    let o = sylvan(&base);
    let err = stderr(&o);
    ok(o);
    assert!(err.contains("[0]\ttrain-rmse:") && err.contains("[39]"), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with('[')).count(), 21, "{err}");
    let mut quiet = base.to_vec();
    quiet.push("--quiet");
    let o = sylvan(&quiet);
    assert_eq!(stderr(&o), "");
    assert_eq!(ok(o).lines().count(), 1);
}

#[test]
fn errors_are_one_line_and_never_leave_a_bad_model() {
    let dir = temp_dir("errors");
    let train = dir.join("t.parquet");
    write_parquet(&train, &binary_batch(100, 6));
    let model = dir.join("m.json");
    ok(sylvan(&[
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--model-out",
        s(&model),
        "-q",
    ]));
    let good = std::fs::read(&model).unwrap();
    let train_to_model = |data: &Path, label: &str, extra: &[&str]| {
        let mut args = vec!["train", "--data", s(data), "--label", label, "--model-out", s(&model)];
        args.extend(extra);
        fails(sylvan(&args))
    };

    let e = train_to_model(&dir.join("absent.parquet"), "y", &[]);
    assert!(e.contains("absent.parquet"), "{e}");
    let garbage = dir.join("garbage.parquet");
    std::fs::write(&garbage, b"PAR1 not really parquet").unwrap();
    let e = train_to_model(&garbage, "y", &[]);
    assert!(e.contains("garbage.parquet"), "{e}");
    let e = train_to_model(&train, "nope", &[]);
    assert!(e.contains("label column `nope`") && e.contains("x, z, color"), "{e}");
    let e = train_to_model(&train, "color", &[]);
    assert!(e.contains("`color`") && e.contains("numeric"), "{e}");
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, "x,y\n").unwrap();
    let e = train_to_model(&empty, "y", &[]);
    assert!(e.contains("no rows"), "{e}");
    let empty_pq = dir.join("empty.parquet");
    write_parquet(&empty_pq, &binary_batch(0, 1));
    let e = train_to_model(&empty_pq, "y", &[]);
    assert!(e.contains("no rows"), "{e}");
    let nan = dir.join("nan.csv");
    std::fs::write(&nan, "x,y\n1,NA\n2,\n3,NaN\n").unwrap();
    let e = train_to_model(&nan, "y", &[]);
    assert!(e.contains("`y`") && e.contains("missing"), "{e}");
    let e = train_to_model(&train, "y", &["--set", "etaa=0.1"]);
    assert!(e.contains("etaa"), "{e}");
    let e = train_to_model(&train, "y", &["--set", "max_depth=deep"]);
    assert!(e.contains("max_depth"), "{e}");
    let e = train_to_model(&train, "y", &["--set", "subsample=2"]);
    assert!(e.contains("subsample") && e.contains("(0, 1]"), "{e}");
    let e = train_to_model(&train, "y", &["--set", "objective=reg:nope"]);
    assert!(e.contains("objective"), "{e}");
    let e = train_to_model(&train, "y", &["--config", s(&dir.join("absent.toml"))]);
    assert!(e.contains("absent.toml"), "{e}");
    let e = train_to_model(
        &train,
        "y",
        &["--set", "objective=binary:logistic", "--set", "base_score=7"],
    );
    assert!(e.contains("base_score") || e.contains("label"), "{e}");
    assert_eq!(
        std::fs::read(&model).unwrap(),
        good,
        "a failed run must not touch the existing model"
    );

    let e = fails(sylvan(&[
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--model-out",
        s(&dir.join("m.txt")),
    ]));
    assert!(e.contains(".json") && e.contains(".sylvan"), "{e}");
    let e = fails(sylvan(&[
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--model-out",
        s(&dir.join("no/such/dir/m.json")),
    ]));
    assert!(e.contains("no/such/dir"), "{e}");

    let bad_model = dir.join("bad.json");
    std::fs::write(&bad_model, "{\"not\": \"a model\"}").unwrap();
    let e = fails(sylvan(&[
        "predict",
        "--model",
        s(&bad_model),
        "--data",
        s(&train),
        "--out",
        s(&dir.join("p.csv")),
    ]));
    assert!(e.contains("bad.json"), "{e}");
    let e = fails(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&train),
        "--out",
        s(&dir.join("p.xlsx")),
    ]));
    assert!(e.contains("xlsx"), "{e}");
    let e = fails(sylvan(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&train),
        "--metric",
        "bogus",
    ]));
    assert!(e.contains("bogus"), "{e}");

    // No temporary files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn bundled_breast_cancer_example() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let dir = temp_dir("example");
    let model = dir.join("bc.json");
    let out = ok(sylvan(&[
        "train",
        "--data",
        s(&root.join("breast_cancer_train.parquet")),
        "--valid",
        s(&root.join("breast_cancer_valid.parquet")),
        "--label",
        "malignant",
        "--model-out",
        s(&model),
        "--set",
        "objective=binary:logistic",
        "--set",
        "eval_metric=auc",
        "--set",
        "num_round=50",
        "--set",
        "eta=0.1",
        "-q",
    ]));
    assert!(out.contains("valid-auc:"), "{out}");
    let out = ok(sylvan(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&root.join("breast_cancer_valid.parquet")),
    ]));
    let auc: f64 = out.trim().strip_prefix("auc: ").unwrap().parse().unwrap();
    assert!(auc > 0.95, "{out}");
}

#[test]
fn ensembles_train_predict_eval_and_inspect() {
    let dir = temp_dir("ensembles");
    let (train, valid) = (dir.join("train.parquet"), dir.join("valid.parquet"));
    write_parquet(&train, &binary_batch(ROWS, 11));
    write_parquet(&valid, &binary_batch(200, 12));
    let configs = [
        (
            "bagging",
            "objective = \"binary:logistic\"\nnum_round = 5\n[ensemble]\nkind = \"bagging\"\nn_estimators = 4\n",
            "out-of-bag",
        ),
        (
            "stacking",
            "[ensemble]\nkind = \"stacking\"\nobjective = \"binary:logistic\"\nk = 3\n\
             [[ensemble.base]]\nobjective = \"binary:logistic\"\nnum_round = 5\n\
             [[ensemble.base]]\nkind = \"linear\"\n",
            "out-of-fold",
        ),
    ];
    for (kind, toml, scores) in configs {
        let config = dir.join(format!("{kind}.toml"));
        std::fs::write(&config, toml).unwrap();
        let model = dir.join(format!("{kind}.json"));
        ok(sylvan(&[
            "train",
            "--data",
            s(&train),
            "--label",
            "y",
            "--drop",
            "w",
            "--config",
            s(&config),
            "--model-out",
            s(&model),
        ]));
        let pred = dir.join(format!("{kind}.csv"));
        ok(sylvan(&[
            "predict",
            "--model",
            s(&model),
            "--data",
            s(&valid),
            "--out",
            s(&pred),
        ]));
        let (names, rows) = read_csv(&pred);
        assert_eq!(names, vec!["prediction"], "{kind}");
        assert_eq!(rows.len(), 200, "{kind}");
        assert!(rows.iter().all(|r| (0.0..=1.0).contains(&r[0])), "{kind}");
        let eval = ok(sylvan(&[
            "eval",
            "--model",
            s(&model),
            "--data",
            s(&valid),
            "--label",
            "y",
            "--metric",
            "auc",
        ]));
        assert!(eval.starts_with("auc: "), "{kind}: {eval}");
        let inspect = ok(sylvan(&["inspect", "--model", s(&model)]));
        assert!(inspect.contains(kind) && inspect.contains(scores), "{kind}: {inspect}");
        let e = fails(sylvan(&[
            "predict",
            "--model",
            s(&model),
            "--data",
            s(&valid),
            "--out",
            s(&pred),
            "--margin",
        ]));
        assert!(e.contains("--margin") && e.contains(kind), "{kind}: {e}");
    }
}

#[test]
fn training_continues_from_an_init_model() {
    let dir = temp_dir("continue");
    let train = dir.join("train.parquet");
    write_parquet(&train, &binary_batch(ROWS, 21));
    let (first, rest, whole) = (dir.join("first.json"), dir.join("rest.json"), dir.join("whole.json"));
    let base = [
        "--data",
        s(&train),
        "--label",
        "y",
        "--drop",
        "w",
        "--set",
        "objective=binary:logistic",
    ];
    let run = |out: &Path, rounds: &str, init: Option<&Path>| {
        let mut args = vec!["train"];
        args.extend(base);
        args.extend(["--set", rounds, "--model-out", s(out)]);
        if let Some(init) = init {
            args.extend(["--init-model", s(init)]);
        }
        ok(sylvan(&args))
    };
    run(&whole, "num_round=7", None);
    run(&first, "num_round=3", None);
    let out = run(&rest, "num_round=4", Some(&first));
    assert!(out.contains("trained"), "{out}");
    let inspect = ok(sylvan(&["inspect", "--model", s(&rest)]));
    assert!(inspect.contains("rounds:      7"), "{inspect}");
    let (p_rest, p_whole) = (dir.join("rest.csv"), dir.join("whole.csv"));
    ok(sylvan(&[
        "predict",
        "--model",
        s(&rest),
        "--data",
        s(&train),
        "--out",
        s(&p_rest),
    ]));
    ok(sylvan(&[
        "predict",
        "--model",
        s(&whole),
        "--data",
        s(&train),
        "--out",
        s(&p_whole),
    ]));
    assert_eq!(read_csv(&p_rest), read_csv(&p_whole));
    // Another objective cannot continue this model.
    let e = fails(sylvan(&[
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--drop",
        "w",
        "--init-model",
        s(&first),
        "--model-out",
        s(&rest),
        "--set",
        "objective=reg:squarederror",
    ]));
    assert!(e.contains("init_model"), "{e}");
}

#[test]
fn no_eval_trains_the_same_model_without_metrics() {
    let dir = temp_dir("no-eval");
    let train = dir.join("train.parquet");
    write_parquet(&train, &binary_batch(ROWS, 11));
    let (plain, silent) = (dir.join("plain.sylvan"), dir.join("silent.sylvan"));
    let base = [
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--drop",
        "w",
        "--log-every",
        "5",
    ];
    let mut with_eval = base.to_vec();
    with_eval.extend(["--model-out", s(&plain)]);
    with_eval.extend(BINARY);
    let o = sylvan(&with_eval);
    assert!(stderr(&o).contains("train-auc:"), "{}", stderr(&o));
    assert!(ok(o).contains("train-auc"));

    let mut no_eval = base.to_vec();
    no_eval.extend(["--model-out", s(&silent), "--no-eval"]);
    no_eval.extend(BINARY);
    let o = sylvan(&no_eval);
    assert!(!stderr(&o).contains("train-"), "{}", stderr(&o));
    let summary = ok(o);
    assert!(
        summary.contains("trained 15 rounds") && summary.contains("no metrics"),
        "{summary}"
    );

    // Evaluation only watches: the trees are the same.
    let sel = ColumnSelection {
        label: Some("y".into()),
        drop: vec!["w".into()],
        ..Default::default()
    };
    let data = sylvan::load_training(&train, &sel).unwrap().dataset;
    let predict = |m: &Path| {
        Booster::load(m)
            .unwrap()
            .predict(&data, PredictOptions::default())
            .unwrap()
            .values
    };
    assert_eq!(predict(&plain), predict(&silent));

    // It contradicts --valid.
    let mut both = no_eval.clone();
    both.extend(["--valid", s(&train)]);
    let o = sylvan(&both);
    assert!(!o.status.success() && stderr(&o).contains("--valid"), "{}", stderr(&o));
}
