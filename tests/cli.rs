//! End-to-end tests of the `sylvan` binary on Parquet, CSV and LibSVM files written here.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use sylvan::{Booster, ColumnSelection, Params, PredictOptions};

mod cli_support;
use cli_support::{fails, ok, s, stderr, sylvan, temp_dir, Lcg};

const ROWS: usize = 600;
/// Asserts success and returns stdout./// Asserts a clean failure (non-zero, one `error:` line, no panic) and returns that line./// A tiny deterministic generator (no external randomness in tests).
/// Columns: x (float, some missing), z (int), color (string categorical, some null), flag (bool),
/// id (string, high-cardinality noise), y (0/1 label) and w (weights: 0 for every 11th row, else
/// 1, 2 or 3, so that a test can write the rows they stand for; see `expand_weights`).
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
        Arc::new(Float64Array::from(weights(rows))),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

/// The `w` column of `binary_batch`.
fn weights(rows: usize) -> Vec<f64> {
    (0..rows)
        .map(|i| if i % 11 == 0 { 0.0 } else { (1 + i % 3) as f64 })
        .collect()
}

/// The rows a weighted batch stands for: each row repeated `w` times (a zero weight drops it), the
/// weight column set to 1. Returns the batch and, for each of its rows, the source row.
fn expand_weights(batch: &RecordBatch) -> (RecordBatch, Vec<usize>) {
    let w = batch
        .column_by_name("w")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    let source: Vec<usize> = (0..batch.num_rows())
        .flat_map(|i| std::iter::repeat_n(i, w.value(i) as usize))
        .collect();
    let indices = arrow_array::UInt32Array::from(source.iter().map(|&i| i as u32).collect::<Vec<_>>());
    let mut columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| arrow_select::take::take(c.as_ref(), &indices, None).unwrap())
        .collect();
    let j = batch.schema().index_of("w").unwrap();
    columns[j] = Arc::new(Float64Array::from(vec![1.0; source.len()]));
    (RecordBatch::try_new(batch.schema(), columns).unwrap(), source)
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

/// `name: value` lines of `sylvan eval` as pairs.
fn eval_lines(out: &str) -> Vec<(String, f64)> {
    out.lines()
        .map(|l| {
            let (name, value) = l.split_once(": ").unwrap_or_else(|| panic!("not `name: value`: {l}"));
            (name.to_string(), value.parse().unwrap())
        })
        .collect()
}

/// The AUC counted pair by pair: the share of (positive, negative) pairs that the scores order
/// correctly, ties counting one half. A naive reference for `sylvan eval`.
fn pairwise_auc(scores: &[f32], labels: &[bool]) -> f64 {
    let (mut pairs, mut won) = (0.0, 0.0);
    for (&si, &yi) in scores.iter().zip(labels) {
        for (&sj, &yj) in scores.iter().zip(labels) {
            if yi && !yj {
                pairs += 1.0;
                won += if si > sj {
                    1.0
                } else if si == sj {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    won / pairs
}

/// Column `name` of a data file as 0/1 labels.
fn binary_labels(path: &Path, name: &str) -> Vec<bool> {
    let t = sylvan::io::read_table(path, &Default::default()).unwrap();
    let j = t.names.iter().position(|n| n == name).unwrap();
    (0..t.num_rows).map(|i| t.columns[j].get(i) > 0.5).collect()
}

/// Runs `sylvan predict --model MODEL --data DATA` plus `extra` into `DIR/p.csv` and returns its
/// rows (one value per output column).
fn predict_rows(dir: &Path, model: &Path, data: &Path, extra: &[&str]) -> Vec<Vec<f32>> {
    let out = dir.join("p.csv");
    let mut args = vec!["predict", "--model", s(model), "--data", s(data), "--out", s(&out)];
    args.extend(extra);
    ok(sylvan(&args));
    read_csv(&out).1
}

/// A weight column means the rows it stands for: training with `--weight w` (exact method) grows
/// the trees that training on the expanded file grows (each row repeated `w` times, zero-weight
/// rows dropped). Pinned: every kept row reaches the same leaf of every tree, predictions agree to
/// 1e-6 (the same gradients summed in another order in f64, then rounded to f32), and
/// `sylvan eval --weight w` prints the metrics of the expanded rows (to the 6 printed decimals).
/// A model that ignores the weights routes rows differently on this data (checked, so that the
/// identity is not vacuous).
#[test]
fn weight_column_is_the_rows_it_stands_for() {
    let dir = temp_dir("weights");
    let batch = binary_batch(ROWS, 31);
    let (expanded, source) = expand_weights(&batch);
    let (weighted, repeated) = (dir.join("weighted.parquet"), dir.join("repeated.parquet"));
    write_parquet(&weighted, &batch);
    write_parquet(&repeated, &expanded);
    let train = |data: &Path, model: &Path, weight: &str| {
        let mut args = vec![
            "train",
            "--data",
            s(data),
            "--label",
            "y",
            "--model-out",
            s(model),
            "-q",
        ];
        args.extend(["--set", "tree_method=exact", "--set", "objective=binary:logistic"]);
        args.extend(["--set", "num_round=8", "--set", "max_depth=4", "--set", "nthread=2"]);
        args.extend(if weight.is_empty() {
            ["--drop", "w"]
        } else {
            ["--weight", weight]
        });
        ok(sylvan(&args));
    };
    let (m_weighted, m_repeated, m_unweighted) = (dir.join("w.json"), dir.join("r.json"), dir.join("u.json"));
    train(&weighted, &m_weighted, "w");
    train(&repeated, &m_repeated, "");
    train(&weighted, &m_unweighted, "");
    let predict = |model: &Path, extra: &[&str]| predict_rows(&dir, model, &weighted, extra);
    let w = weights(ROWS);
    let kept: Vec<usize> = (0..ROWS).filter(|&i| w[i] > 0.0).collect();
    let (leaf_w, leaf_r, leaf_u) = (
        predict(&m_weighted, &["--leaf"]),
        predict(&m_repeated, &["--leaf"]),
        predict(&m_unweighted, &["--leaf"]),
    );
    for &i in &kept {
        assert_eq!(leaf_w[i], leaf_r[i], "row {i} reaches other leaves");
    }
    assert!(
        kept.iter().any(|&i| leaf_w[i] != leaf_u[i]),
        "the weights change no routing: the test data cannot tell"
    );
    let (p_w, p_r) = (predict(&m_weighted, &[]), predict(&m_repeated, &[]));
    for &i in &kept {
        assert!(
            (p_w[i][0] - p_r[i][0]).abs() <= 1e-6,
            "row {i}: {} vs {}",
            p_w[i][0],
            p_r[i][0]
        );
    }
    assert_eq!(source.len(), w.iter().sum::<f64>() as usize);

    let metrics = [
        "--metric", "logloss", "--metric", "error", "--metric", "auc", "--metric", "rmse",
    ];
    let eval = |data: &Path, weight: Option<&str>| {
        let mut args = vec!["eval", "--model", s(&m_weighted), "--data", s(data), "--label", "y"];
        if let Some(w) = weight {
            args.extend(["--weight", w]);
        }
        args.extend(metrics);
        eval_lines(&ok(sylvan(&args)))
    };
    let (on_weighted, on_repeated, ignoring) =
        (eval(&weighted, Some("w")), eval(&repeated, None), eval(&weighted, None));
    assert_eq!(on_weighted.len(), 4);
    for ((name, a), (_, b)) in on_weighted.iter().zip(&on_repeated) {
        assert!((a - b).abs() <= 1.5e-6, "weighted {name} {a} vs expanded rows {b}");
    }
    assert_ne!(on_weighted, ignoring, "eval ignores --weight");
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

/// Categories are matched by name, whatever codes a prediction file gives them: a file holding a
/// subset of the training categories, in another order, stored as a dictionary column whose
/// dictionary lists them in reverse, predicts every row exactly as the training file's copy of
/// that row; an unseen category predicts exactly as a missing one (the documented rule); and a
/// model that ignored the column would not pass (the category changes the prediction).
#[test]
fn categories_match_by_name_in_subsets_other_orders_and_unseen() {
    let dir = temp_dir("categories");
    let (train, model) = (dir.join("train.parquet"), dir.join("m.json"));
    let batch = binary_batch(ROWS, 41);
    write_parquet(&train, &batch);
    let mut args = vec![
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--features",
        "x,color,flag",
    ];
    args.extend(["--model-out", s(&model), "-q"]);
    args.extend(BINARY);
    ok(sylvan(&args));
    let predict = |data: &Path| -> Vec<f32> {
        predict_rows(&dir, &model, data, &[])
            .into_iter()
            .map(|r| r[0])
            .collect()
    };
    let full = predict(&train);

    let colors = batch
        .column_by_name("color")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    let color_of = |i: usize| arrow_array::Array::is_valid(colors, i).then(|| colors.value(i));
    // Rows without "green", last first, then the first 30 of them again as "purple" and as null.
    let subset: Vec<usize> = (0..ROWS).rev().filter(|&i| color_of(i) != Some("green")).collect();
    let probes: Vec<usize> = subset
        .iter()
        .copied()
        .filter(|&i| color_of(i).is_some())
        .take(30)
        .collect();
    let rows: Vec<usize> = subset.iter().chain(&probes).chain(&probes).copied().collect();
    let mut color: Vec<Option<&str>> = subset.iter().map(|&i| color_of(i)).collect();
    color.extend(probes.iter().map(|_| Some("purple")));
    color.extend(probes.iter().map(|_| None));
    let take = |name: &str| {
        let indices = arrow_array::UInt32Array::from(rows.iter().map(|&i| i as u32).collect::<Vec<_>>());
        arrow_select::take::take(batch.column_by_name(name).unwrap().as_ref(), &indices, None).unwrap()
    };
    // Dictionary ["red", "blue", "purple"]: codes unlike the training file's sorted ones.
    let dictionary = StringArray::from(vec!["red", "blue", "purple"]);
    let keys = arrow_array::Int32Array::from(
        color
            .iter()
            .map(|c| c.map(|c| ["red", "blue", "purple"].iter().position(|d| *d == c).unwrap() as i32))
            .collect::<Vec<_>>(),
    );
    let coded: ArrayRef = Arc::new(arrow_array::DictionaryArray::new(keys, Arc::new(dictionary)));
    let schema = Schema::new(vec![
        Field::new("flag", DataType::Boolean, false),
        Field::new("color", coded.data_type().clone(), true),
        Field::new("x", DataType::Float64, true),
    ]);
    let file = dir.join("subset.parquet");
    write_parquet(
        &file,
        &RecordBatch::try_new(Arc::new(schema), vec![take("flag"), coded, take("x")]).unwrap(),
    );
    let got = predict(&file);
    assert_eq!(got.len(), rows.len());
    for (k, &i) in subset.iter().enumerate() {
        assert_eq!(
            got[k],
            full[i],
            "row {i} ({:?}) predicts differently in the subset file",
            color_of(i)
        );
    }
    let (purple, null) = got[subset.len()..].split_at(probes.len());
    assert_eq!(purple, null, "an unseen category predicts as a missing one");
    assert!(
        probes.iter().zip(null).any(|(&i, p)| *p != full[i]),
        "the color never changes a prediction: the test data cannot tell"
    );
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
    let table = sylvan::io::read_table(&pred, &Default::default()).unwrap();
    assert_eq!(table.num_rows, 300);
    // `eval` reads the LibSVM labels and scores what `predict` wrote: the error counted here.
    let wrong = (0..300)
        .filter(|&i| {
            let label = (i % 50) as f64 / 10.0 > 2.5;
            (table.columns[0].get(i) > 0.5) != label
        })
        .count();
    let printed = eval_lines(&out);
    assert_eq!(printed.len(), 1, "{out}");
    assert_eq!(printed[0].0, "error");
    assert!(
        (printed[0].1 - wrong as f64 / 300.0).abs() < 1e-6,
        "eval says {out}, predictions give {wrong} of 300 wrong"
    );
    // The label is a threshold on feature 1, so the model learns it.
    assert!(wrong < 15, "{wrong} of 300 wrong");
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

    // One --base-margin column per class, in class order: each row's margins replace the model's
    // base margin class by class (checked against all-zero margin columns, every row and class).
    let margins = dir.join("margins.csv");
    let mut text = String::from("x,m0,m1,m2,z0,z1,z2\n");
    let m = |i: usize, c: usize| ((i * 7 + c * 3) % 11) as f32 * 0.25 - 1.0;
    for i in 0..300 {
        text.push_str(&format!("{},{},{},{},0,0,0\n", i % 30, m(i, 0), m(i, 1), m(i, 2)));
    }
    std::fs::write(&margins, text).unwrap();
    let with = predict_rows(&dir, &model, &margins, &["--margin", "--base-margin", "m0,m1,m2"]);
    let zero = predict_rows(&dir, &model, &margins, &["--margin", "--base-margin", "z0,z1,z2"]);
    for i in 0..300 {
        for c in 0..3 {
            let got = with[i][c] - zero[i][c];
            assert!((got - m(i, c)).abs() < 1e-5, "row {i} class {c}: {got} vs {}", m(i, c));
        }
    }
    let e = fails(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&margins),
        "--out",
        s(&dir.join("bad.csv")),
        "--base-margin",
        "m0,m1",
    ]));
    assert!(e.contains("base_margin") || e.contains("base margin"), "{e}");
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
    // A file on which the Arrow IPC decoder panics (a fuzz finding): one error line, no panic
    // report.
    let corrupt =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions/arrow_ipc/buffer_offset_past_body.arrow");
    let e = train_to_model(&corrupt, "y", &[]);
    assert!(
        e.contains("buffer_offset_past_body.arrow") && e.contains("corrupt Arrow IPC file"),
        "{e}"
    );
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
    // The last round's validation AUC, printed with 5 decimals.
    let printed: f64 = out
        .split("valid-auc:")
        .nth(1)
        .and_then(|rest| rest.split([' ', ';']).next())
        .unwrap_or_else(|| panic!("no valid-auc in {out}"))
        .parse()
        .unwrap();
    let valid = root.join("breast_cancer_valid.parquet");
    let out = ok(sylvan(&["eval", "--model", s(&model), "--data", s(&valid)]));
    let evals = eval_lines(&out);
    assert_eq!(evals.len(), 1, "the model's own metric only: {out}");
    assert_eq!(evals[0].0, "auc");
    let auc = evals[0].1;
    // Both equal the AUC of what `predict` writes, counted pair by pair (ties count one half).
    let pred = dir.join("bc.csv");
    ok(sylvan(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&valid),
        "--out",
        s(&pred),
    ]));
    let scores: Vec<f32> = read_csv(&pred).1.iter().map(|r| r[0]).collect();
    let labels = binary_labels(&valid, "malignant");
    assert_eq!(labels.len(), 114);
    let counted = pairwise_auc(&scores, &labels);
    assert!((auc - counted).abs() < 1e-6, "eval {auc} vs counted {counted}");
    assert!(
        (printed - counted).abs() <= 5e-6,
        "training printed {printed} vs counted {counted}"
    );
    // XGBoost with these settings reaches 0.99 on this split; a model that learned nothing gives 0.5.
    assert!(counted > 0.95, "{counted}");
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
        // The file holds what the saved model predicts through the Rust API on the same rows
        // (CSV keeps 9 significant digits).
        let loaded = sylvan::booster::Model::load(&model).unwrap();
        let data = sylvan::load_training(
            &valid,
            &ColumnSelection {
                label: Some("y".into()),
                drop: vec!["w".into()],
                ..Default::default()
            },
        )
        .unwrap();
        let api = loaded.predict(&data.dataset).unwrap();
        assert_eq!(rows.len(), 200, "{kind}");
        for (i, (r, a)) in rows.iter().zip(&api.values).enumerate() {
            assert!((r[0] - a).abs() <= 1e-6, "{kind} row {i}: file {} vs API {a}", r[0]);
        }
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
        let predicted: Vec<f32> = rows.iter().map(|r| r[0]).collect();
        let counted = pairwise_auc(&predicted, &binary_labels(&valid, "y"));
        let printed = eval_lines(&eval);
        assert!(printed.len() == 1 && printed[0].0 == "auc", "{kind}: {eval}");
        assert!(
            (printed[0].1 - counted).abs() <= 1e-6,
            "{kind}: eval {eval} vs counted {counted}"
        );
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

/// A CSV for regression with a margin column: `x0, x1` features, `y` the label, `m` a starting
/// margin per row and `r = y - m` the residual.
fn margin_csv(path: &Path, rows: usize, seed: u64) {
    let mut r = Lcg(seed);
    let mut text = String::from("x0,x1,y,m,r\n");
    for _ in 0..rows {
        let (x0, x1) = (r.next() * 4.0 - 2.0, r.next());
        let y = (x0 * 3.0).sin() + x1 * x1 + 0.2 * r.next();
        let m = (r.next() * 8.0).floor() * 0.25 - 1.0;
        // The CSV holds y and m; the residual is formed from the f32 values the reader will see.
        let (y, m) = (y as f32, m as f32);
        text.push_str(&format!("{x0:.5},{x1:.5},{y},{m},{}\n", y - m));
    }
    std::fs::write(path, text).unwrap();
}

/// Base margins and round ranges through the CLI:
/// - `--base-margin m` on label `y` (exact method) grows the trees of label `y - m` from
///   `base_score=0`: every row reaches the same leaves, and `predict --margin --base-margin m` is
///   `m` plus the residual model's margin (1e-5: f32 sums);
/// - `predict --iteration-range a:b` is `margin(0:b) - margin(0:a) + base` for every row (1e-5);
/// - bad ranges and a margin column of an ensemble are one-line errors.
#[test]
fn base_margin_and_iteration_ranges() {
    let dir = temp_dir("margins");
    let data = dir.join("d.csv");
    margin_csv(&data, 400, 5);
    let common = [
        "--set",
        "tree_method=exact",
        "--set",
        "max_depth=3",
        "--set",
        "num_round=6",
        "-q",
    ];
    let (from_margin, from_residual) = (dir.join("m.json"), dir.join("r.json"));
    let mut args = vec![
        "train",
        "--data",
        s(&data),
        "--label",
        "y",
        "--base-margin",
        "m",
        "--drop",
        "r",
    ];
    args.extend(["--model-out", s(&from_margin)]);
    args.extend(common);
    ok(sylvan(&args));
    let mut args = vec!["train", "--data", s(&data), "--label", "r", "--drop", "y,m"];
    args.extend(["--model-out", s(&from_residual), "--set", "base_score=0"]);
    args.extend(common);
    ok(sylvan(&args));
    let predict = |model: &Path, extra: &[&str]| predict_rows(&dir, model, &data, extra);
    assert_eq!(predict(&from_margin, &["--leaf"]), predict(&from_residual, &["--leaf"]));
    let shifted = predict(&from_margin, &["--margin", "--base-margin", "m"]);
    let residual = predict(&from_residual, &["--margin"]);
    let (_, rows) = read_csv(&data);
    for (i, row) in rows.iter().enumerate() {
        let want = row[3] + residual[i][0];
        assert!(
            (shifted[i][0] - want).abs() < 1e-5,
            "row {i}: {} vs {want}",
            shifted[i][0]
        );
    }
    // Without the column the model's base margin is used: another prediction.
    assert_ne!(predict(&from_margin, &["--margin"]), shifted);

    let base = Booster::load(&from_residual).unwrap().base_margin()[0] as f32;
    let prefix = |b: usize| predict(&from_residual, &["--margin", "--iteration-range", &format!("0:{b}")]);
    for (a, b) in [(1, 4), (2, 6), (0, 3), (5, 6)] {
        let range = predict(&from_residual, &["--margin", "--iteration-range", &format!("{a}:{b}")]);
        // No rounds at all is the base margin alone.
        let (upper, lower) = (
            prefix(b),
            if a == 0 {
                vec![vec![base]; rows.len()]
            } else {
                prefix(a)
            },
        );
        for i in 0..rows.len() {
            let want = upper[i][0] - lower[i][0] + base;
            assert!(
                (range[i][0] - want).abs() < 1e-5,
                "rounds {a}:{b} row {i}: {} vs {want}",
                range[i][0]
            );
        }
    }
    for bad in ["3:3", "0:7", "x:2", "4"] {
        let out = dir.join("bad.csv");
        let e = fails(sylvan(&[
            "predict",
            "--model",
            s(&from_residual),
            "--data",
            s(&data),
            "--out",
            s(&out),
            "--iteration-range",
            bad,
        ]));
        assert!(e.contains("iteration") || e.contains(bad), "{bad}: {e}");
    }
    let config = dir.join("bag.toml");
    std::fs::write(&config, "[ensemble]\nkind = \"bagging\"\nn_estimators = 2\n").unwrap();
    let e = fails(sylvan(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "y",
        "--base-margin",
        "m",
        "--config",
        s(&config),
        "--model-out",
        s(&dir.join("bag.json")),
    ]));
    assert!(e.contains("--base-margin"), "{e}");
}

/// Early stopping through the CLI, for a metric to maximise (AUC) and one to minimise (logloss):
/// the best iteration reported is the first best of the per-round validation values printed
/// (`--log-every 1`, 5 decimals), training stops `early_stopping_rounds` after it, and the saved
/// model predicts with rounds `0..best+1` by default (equal to `--iteration-range 0:best+1`,
/// unlike all rounds).
#[test]
fn early_stopping_best_iteration_is_saved_and_used() {
    let dir = temp_dir("early");
    let (train, valid) = (dir.join("t.parquet"), dir.join("v.parquet"));
    write_parquet(&train, &binary_batch(ROWS, 51));
    write_parquet(&valid, &binary_batch(400, 52));
    for (metric, maximise) in [("auc", true), ("logloss", false)] {
        let model = dir.join(format!("{metric}.json"));
        let o = sylvan(&[
            "train",
            "--data",
            s(&train),
            "--valid",
            s(&valid),
            "--label",
            "y",
            "--drop",
            "w",
            "--model-out",
            s(&model),
            "--log-every",
            "1",
            "--set",
            "objective=binary:logistic",
            "--set",
            &format!("eval_metric={metric}"),
            "--set",
            "eta=0.5",
            "--set",
            "max_depth=6",
            "--set",
            "num_round=300",
            "--set",
            "early_stopping_rounds=5",
        ]);
        let progress = stderr(&o);
        let summary = ok(o);
        let values: Vec<f64> = progress
            .lines()
            .filter_map(|l| l.split(&format!("valid-{metric}:")).nth(1))
            .map(|v| v.trim().parse().unwrap())
            .collect();
        let best_printed = summary
            .split("best iteration ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .unwrap_or_else(|| panic!("{metric}: no best iteration in {summary}"));
        let best: usize = best_printed.parse().unwrap();
        assert_eq!(
            values.len(),
            best + 6,
            "{metric}: stops 5 rounds after the best: {summary}"
        );
        let target = if maximise {
            values.iter().cloned().fold(f64::MIN, f64::max)
        } else {
            values.iter().cloned().fold(f64::MAX, f64::min)
        };
        // The best round's printed value is the best printed (ties at 5 decimals allowed), and no
        // later round beats it.
        assert_eq!(values[best], target, "{metric}: best {best} in {values:?}");
        let predict = |extra: &[&str]| predict_rows(&dir, &model, &valid, extra);
        let default = predict(&[]);
        assert_eq!(
            default,
            predict(&["--iteration-range", &format!("0:{}", best + 1)]),
            "{metric}"
        );
        assert_ne!(
            default,
            predict(&["--iteration-range", &format!("0:{}", values.len())]),
            "{metric}"
        );
    }
}

/// A table for categorical training: `city` (string, 300 categories with random effects, some
/// null), `segment` (integer codes 0..40 with random effects), `x` (float) and `y` (regression).
fn categorical_batch(rows: usize, seed: u64) -> RecordBatch {
    let mut g = Lcg(seed);
    let effect = |salt: u64, c: u64| ((c.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt) >> 20) % 1000;
    let (mut city, mut segment, mut x, mut y) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        let c = (g.next() * g.next() * 300.0) as u64;
        let s = (g.next() * 40.0) as i64;
        let v = g.next() * 2.0 - 1.0;
        city.push((g.next() > 0.03).then(|| format!("city-{c:03}")));
        segment.push(s);
        x.push(v);
        y.push(effect(1, c) as f64 / 500.0 + effect(2, s as u64) as f64 / 1000.0 + v * 0.3 + g.next() * 0.1);
    }
    let schema = Schema::new(vec![
        Field::new("city", DataType::Utf8, true),
        Field::new("segment", DataType::Int64, false),
        Field::new("x", DataType::Float64, false),
        Field::new("y", DataType::Float64, false),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(city)),
        Arc::new(Int64Array::from(segment)),
        Arc::new(Float64Array::from(x)),
        Arc::new(Float64Array::from(y)),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

#[test]
fn categorical_columns_split_by_category_sets() {
    let dir = temp_dir("category-sets");
    let (train, model) = (dir.join("train.parquet"), dir.join("m.json"));
    write_parquet(&train, &categorical_batch(4000, 7));
    let base = [
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--set",
        "num_round=20",
        "--set",
        "min_data_per_group=20",
        "--set",
        "nthread=2",
        "-q",
    ];
    let mut args = base.to_vec();
    args.extend(["--categorical", "segment", "--model-out", s(&model)]);
    ok(sylvan(&args));
    let loaded = Booster::load(&model).unwrap();
    let types = loaded.feature_types();
    let names = loaded.feature_names().unwrap().to_vec();
    for (name, t) in names.iter().zip(&types) {
        assert_eq!(t.is_categorical(), name != "x", "{name}");
    }
    assert!(loaded.trees().iter().any(|t| t.has_category_splits()));
    let out = ok(sylvan(&["inspect", "--model", s(&model), "--trees", "2"]));
    assert!(out.contains("(2 categorical)"), "{out}");
    assert!(out.contains("city in {city-"), "{out}");
    assert!(out.contains("segment"), "{out}");
    // The same columns as ordered numbers fit worse: sets group the cities that belong together.
    let ordinal = dir.join("ordinal.json");
    let mut args = base.to_vec();
    args.extend(["--drop", "city", "--model-out", s(&ordinal)]);
    ok(sylvan(&args));
    let eval = |m: &Path| -> f64 {
        let out = ok(sylvan(&["eval", "--model", s(m), "--data", s(&train), "--label", "y"]));
        eval_lines(&out)[0].1
    };
    let (sets, codes) = (eval(&model), eval(&ordinal));
    assert!(
        sets < codes,
        "rmse with category sets {sets}, without the city column {codes}"
    );
    // Values that are no category codes, and a categorical column that is not a feature.
    let bad = dir.join("bad.json");
    let e = fails(sylvan(&[
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--categorical",
        "x",
        "--model-out",
        s(&bad),
        "-q",
    ]));
    assert!(
        e.contains("`x`") && e.contains("row") && e.contains("category code"),
        "{e}"
    );
    let e = fails(sylvan(&[
        "train",
        "--data",
        s(&train),
        "--label",
        "y",
        "--categorical",
        "nope",
        "--model-out",
        s(&bad),
        "-q",
    ]));
    assert!(e.contains("nope") && e.contains("categorical"), "{e}");
    assert!(!bad.exists());
}

/// A CSV of `debt`, `age`, `income` and the label `y`: the label rises with debt and falls with age,
/// each with wiggles (sines), so that only a monotone constraint makes a model monotone in them.
fn monotone_csv(path: &Path, rows: usize, seed: u64) {
    let mut r = Lcg(seed);
    let mut text = String::from("debt,age,income,y\n");
    for _ in 0..rows {
        let (debt, age, income) = (r.next(), r.next(), r.next() * 2.0 - 1.0);
        let y = 2.0 * debt + (14.0 * debt).sin() - 2.0 * age
            + 0.8 * (11.0 * age).sin()
            + 0.5 * income
            + 0.3 * (r.next() - 0.5);
        text.push_str(&format!("{debt:.5},{age:.5},{income:.5},{y:.5}\n"));
    }
    std::fs::write(path, text).unwrap();
}

/// A grid CSV (`debt`, `age`, `income`): for each of `bases` rows of fixed values, `points` rows
/// along `column` from 0 to 1 (the other columns held).
fn grid_csv(path: &Path, column: usize, bases: usize, points: usize) {
    let mut r = Lcg(77);
    let mut text = String::from("debt,age,income\n");
    for _ in 0..bases {
        let base = [r.next(), r.next(), r.next() * 2.0 - 1.0];
        for k in 0..points {
            let mut row = base;
            row[column] = k as f64 / (points - 1) as f64;
            text.push_str(&format!("{:.5},{:.5},{:.5}\n", row[0], row[1], row[2]));
        }
    }
    std::fs::write(path, text).unwrap();
}

/// How often the prediction falls (`sign` 1) or rises (`sign` -1) between neighbouring grid points.
fn violations(pred: &[Vec<f32>], points: usize, sign: f32) -> usize {
    pred.chunks(points)
        .flat_map(|c| c.windows(2).map(|w| sign * (w[1][0] - w[0][0])))
        .filter(|d| *d < 0.0)
        .count()
}

/// `--set monotone_constraints='{"debt":1,"age":-1}'` and the same constraint in a TOML config train
/// the same model, monotone along grids of debt (never falls) and age (never rises) read by
/// `sylvan predict`; without the constraint the model is not monotone there (the data makes the
/// constraint matter). `sylvan inspect` prints the controls by name. A name the data lacks is a
/// one-line error naming the parameter and the name.
#[test]
fn monotone_constraints_from_set_and_config_are_monotone() {
    let dir = temp_dir("monotone");
    let data = dir.join("d.csv");
    monotone_csv(&data, 1500, 5);
    let (bases, points) = (6, 50);
    let (grid_debt, grid_age) = (dir.join("g_debt.csv"), dir.join("g_age.csv"));
    grid_csv(&grid_debt, 0, bases, points);
    grid_csv(&grid_age, 1, bases, points);
    let common = [
        "--label",
        "y",
        "--quiet",
        "--set",
        "num_round=40",
        "--set",
        "max_depth=5",
        "--set",
        "nthread=2",
    ];
    let train = |model: &Path, extra: &[&str]| {
        let mut args = vec!["train", "--data", s(&data), "--model-out", s(model)];
        args.extend(common);
        args.extend(extra);
        ok(sylvan(&args));
    };
    let by_set = dir.join("set.json");
    train(&by_set, &["--set", r#"monotone_constraints={"debt":1,"age":-1}"#]);
    let config = dir.join("p.toml");
    std::fs::write(&config, "monotone_constraints = { debt = 1, age = -1 }\n").unwrap();
    let by_config = dir.join("config.sylvan");
    train(&by_config, &["--config", s(&config)]);
    let tuple = dir.join("tuple.json");
    train(&tuple, &["--set", "monotone_constraints=(1,-1,0)"]);
    let free = dir.join("free.json");
    train(&free, &[]);

    for model in [&by_set, &by_config, &tuple] {
        let debt = predict_rows(&dir, model, &grid_debt, &[]);
        let age = predict_rows(&dir, model, &grid_age, &[]);
        assert_eq!(debt.len(), bases * points);
        assert_eq!(
            violations(&debt, points, 1.0),
            0,
            "{}: falls along debt",
            model.display()
        );
        assert_eq!(
            violations(&age, points, -1.0),
            0,
            "{}: rises along age",
            model.display()
        );
        assert_eq!(
            debt,
            predict_rows(&dir, &by_set, &grid_debt, &[]),
            "{}",
            model.display()
        );
    }
    let debt = predict_rows(&dir, &free, &grid_debt, &[]);
    let age = predict_rows(&dir, &free, &grid_age, &[]);
    assert!(
        violations(&debt, points, 1.0) > 0 && violations(&age, points, -1.0) > 0,
        "the unconstrained model should not be monotone on this data"
    );

    let out = ok(sylvan(&["inspect", "--model", s(&by_set)]));
    assert!(out.contains("training controls:"), "{out}");
    assert!(out.contains("monotone: debt +1, age -1"), "{out}");
    let out = ok(sylvan(&["inspect", "--model", s(&free)]));
    assert!(!out.contains("training controls:"), "{out}");

    let err = fails(sylvan(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "y",
        "--model-out",
        s(&dir.join("bad.json")),
        "--set",
        r#"monotone_constraints={"debt":1,"salary":1}"#,
    ]));
    assert!(err.contains("monotone_constraints") && err.contains("salary"), "{err}");
    assert!(!dir.join("bad.json").exists());
    let err = fails(sylvan(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "y",
        "--model-out",
        s(&dir.join("bad.json")),
        "--set",
        "monotone_constraints=(1,2)",
    ]));
    assert!(err.contains("monotone_constraints"), "{err}");
}

/// Interaction groups, feature weights, DART and GOSS from `--set` and TOML, and the readable
/// block `sylvan inspect` prints for them (by feature name; DART with its tree weights).
#[test]
fn inspect_prints_the_training_controls() {
    let dir = temp_dir("controls");
    let data = dir.join("d.csv");
    monotone_csv(&data, 800, 9);
    let config = dir.join("p.toml");
    std::fs::write(
        &config,
        "interaction_constraints = [[\"debt\", \"age\"], [\"income\"]]\nfeature_weights = { income = 0 }\n\
         colsample_bynode = 0.7\nbooster = \"dart\"\nrate_drop = 0.1\nskip_drop = 0.25\n",
    )
    .unwrap();
    let dart = dir.join("dart.json");
    ok(sylvan(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "y",
        "--model-out",
        s(&dart),
        "--quiet",
        "--config",
        s(&config),
        "--set",
        "num_round=12",
        "--set",
        "max_depth=4",
    ]));
    let out = ok(sylvan(&["inspect", "--model", s(&dart)]));
    for want in [
        "training controls:",
        "interaction groups: [debt, age], [income]",
        "feature weights: income 0 (others 1)",
        "booster: dart (rate_drop 0.1, skip_drop 0.25, one_drop false, sample_type uniform, normalize_type tree)",
    ] {
        assert!(out.contains(want), "missing `{want}` in:\n{out}");
    }
    assert!(!out.contains("monotone:"), "{out}");
    let booster = sylvan::Booster::load(&dart).unwrap();
    if let Some(w) = booster.tree_weights() {
        assert!(out.contains(&format!("; {} weighted trees", w.len())), "{out}");
    }

    let goss = dir.join("goss.sylvan");
    ok(sylvan(&[
        "train",
        "--data",
        s(&data),
        "--label",
        "y",
        "--model-out",
        s(&goss),
        "--quiet",
        "--set",
        "data_sample_strategy=goss",
        "--set",
        "top_rate=0.3",
        "--set",
        "other_rate=0.2",
        "--set",
        "interaction_constraints=[[0, 2]]",
        "--set",
        "num_round=5",
    ]));
    let out = ok(sylvan(&["inspect", "--model", s(&goss)]));
    assert!(
        out.contains("row sampling: goss (top_rate 0.3, other_rate 0.2"),
        "{out}"
    );
    assert!(out.contains("interaction groups: [debt, income]"), "{out}");
    assert!(!out.contains("booster: dart"), "{out}");
}

/// A ranking file: `queries` queries of 8 documents each, the rows shuffled so that a query's rows
/// are scattered through the file; relevance 0..3 rises with `x0`, `x1` is noise. The query id
/// column is an integer (`qid`) and also a string (`query`).
fn ranking_batch(queries: usize, seed: u64) -> RecordBatch {
    let mut r = Lcg(seed);
    let mut rows: Vec<(i64, f64, f64, f64)> = Vec::new();
    for q in 0..queries {
        for _ in 0..8 {
            let (x0, x1) = (r.next(), r.next());
            rows.push((q as i64 * 10 + 3, x0, x1, (x0 * 4.0).floor().min(3.0)));
        }
    }
    // A seeded shuffle (Fisher-Yates).
    for i in (1..rows.len()).rev() {
        let j = (r.next() * (i + 1) as f64) as usize;
        rows.swap(i, j.min(i));
    }
    let col = |f: fn(&(i64, f64, f64, f64)) -> f64| -> ArrayRef {
        Arc::new(Float64Array::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let qid: ArrayRef = Arc::new(Int64Array::from(rows.iter().map(|r| r.0).collect::<Vec<_>>()));
    let query: ArrayRef = Arc::new(StringArray::from(
        rows.iter().map(|r| format!("q{}", r.0)).collect::<Vec<_>>(),
    ));
    let schema = Schema::new(vec![
        Field::new("qid", DataType::Int64, false),
        Field::new("query", DataType::Utf8, false),
        Field::new("x0", DataType::Float64, false),
        Field::new("x1", DataType::Float64, false),
        Field::new("rel", DataType::Float64, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![qid, query, col(|r| r.1), col(|r| r.2), col(|r| r.3)],
    )
    .unwrap()
}

/// The query-id column reaches the data set (rows of a query scattered through the file, integer
/// or string ids) for training and for a trained model's evaluation files; a missing query id and
/// an ensemble with --qid are one-line errors.
#[test]
fn query_id_column_reaches_the_dataset() {
    let dir = temp_dir("qid-data");
    let path = dir.join("rank.parquet");
    write_parquet(&path, &ranking_batch(12, 3));
    for (group, other) in [("qid", "query"), ("query", "qid")] {
        let sel = ColumnSelection {
            label: Some("rel".into()),
            group: Some(group.into()),
            drop: vec![other.into()],
            ..Default::default()
        };
        let loaded = sylvan::load_training(&path, &sel).unwrap();
        let groups = loaded.dataset.groups().expect("groups attached");
        assert_eq!(groups.num_queries(), 12, "{group}");
        assert!(groups.iter().all(|q| q.len() == 8), "{group}");
        // Scattered: some query's rows are not one contiguous block.
        assert!(groups.iter().any(|q| q[q.len() - 1] - q[0] >= 8), "{group}");
        assert_eq!(loaded.dataset.num_features(), 2);
    }
    let csv = dir.join("bad.csv");
    std::fs::write(&csv, "x,y,q\n1,0,1\n2,1,\n3,0,2\n").unwrap();
    let model = dir.join("m.json");
    let e = fails(sylvan(&[
        "train",
        "--data",
        s(&csv),
        "--label",
        "y",
        "--qid",
        "q",
        "--model-out",
        s(&model),
    ]));
    assert!(e.contains("row 1") && e.contains("query id"), "{e}");
    let config = dir.join("bag.toml");
    std::fs::write(&config, "[ensemble]\nkind = \"bagging\"\n").unwrap();
    let e = fails(sylvan(&[
        "train",
        "--data",
        s(&csv),
        "--label",
        "y",
        "--qid",
        "q",
        "--config",
        s(&config),
        "--model-out",
        s(&model),
    ]));
    assert!(e.contains("--qid") || e.contains("ensemble"), "{e}");
}

/// Ranking end to end: rank:ndcg trained on a shuffled Parquet file with a query-id column prints
/// the validation ndcg, and `sylvan eval --qid` reports a high ndcg (relevance follows x0).
#[test]
fn ranking_run_prints_ndcg() {
    let dir = temp_dir("rank");
    let train = dir.join("train.parquet");
    let valid = dir.join("valid.parquet");
    write_parquet(&train, &ranking_batch(40, 5));
    write_parquet(&valid, &ranking_batch(15, 6));
    let model = dir.join("rank.json");
    let out = ok(sylvan(&[
        "train",
        "--data",
        s(&train),
        "--valid",
        s(&valid),
        "--label",
        "rel",
        "--qid",
        "qid",
        "--drop",
        "query",
        "--set",
        "objective=rank:ndcg",
        "--set",
        "num_round=20",
        "--model-out",
        s(&model),
        "--quiet",
    ]));
    assert!(out.contains("valid-ndcg"), "{out}");
    let out = ok(sylvan(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&valid),
        "--qid",
        "query",
    ]));
    let lines = eval_lines(&out);
    let (name, ndcg) = &lines[0];
    assert!(name.starts_with("ndcg"), "{out}");
    assert!(*ndcg > 0.9 && *ndcg <= 1.0 + 1e-9, "{out}");
}

/// Survival columns: lower and upper bounds (an empty upper cell = +inf, right-censored) reach
/// the data set, for training and evaluation files, and the lower bound stands in for a missing
/// --label.
fn survival_csv(path: &Path, rows: usize, seed: u64) {
    let mut r = Lcg(seed);
    let mut text = String::from("x0,x1,lo,hi\n");
    for i in 0..rows {
        let (x0, x1) = (r.next(), r.next());
        let t = (1.0 + 2.0 * x0 + 0.3 * r.next()).exp();
        match i % 3 {
            0 => text.push_str(&format!("{x0:.5},{x1:.5},{t:.4},{t:.4}\n")),
            1 => text.push_str(&format!("{x0:.5},{x1:.5},{:.4},\n", t * 0.8)),
            _ => text.push_str(&format!("{x0:.5},{x1:.5},{:.4},{:.4}\n", t * 0.7, t * 1.3)),
        }
    }
    std::fs::write(path, text).unwrap();
}

#[test]
fn label_bound_columns_reach_the_dataset() {
    let dir = temp_dir("aft-data");
    let path = dir.join("aft.csv");
    survival_csv(&path, 30, 2);
    let sel = ColumnSelection {
        label: Some("lo".into()),
        label_lower: Some("lo".into()),
        label_upper: Some("hi".into()),
        ..Default::default()
    };
    let loaded = sylvan::load_training(&path, &sel).unwrap();
    let b = loaded.dataset.label_bounds().expect("bounds attached");
    assert_eq!(loaded.dataset.num_features(), 2);
    assert!((0..30).all(|i| (i % 3 == 1) == b.upper[i].is_infinite()));
    assert!((0..30).all(|i| (i % 3 == 0) == (b.lower[i] == b.upper[i])));
    assert_eq!(loaded.dataset.labels(), &b.lower[..]);
    let model = dir.join("m.json");
    let e = fails(sylvan(&[
        "train",
        "--data",
        s(&path),
        "--label-lower",
        "lo",
        "--label-upper",
        "nope",
        "--model-out",
        s(&model),
    ]));
    assert!(e.contains("nope"), "{e}");
}

/// Survival end to end: survival:aft with --label-lower/--label-upper (no --label) prints
/// aft-nloglik, and `sylvan eval` with the bound columns reports it too.
#[test]
fn aft_run_prints_aft_nloglik() {
    let dir = temp_dir("aft");
    let train = dir.join("train.csv");
    let valid = dir.join("valid.csv");
    survival_csv(&train, 300, 7);
    survival_csv(&valid, 100, 8);
    let model = dir.join("aft.json");
    let out = ok(sylvan(&[
        "train",
        "--data",
        s(&train),
        "--valid",
        s(&valid),
        "--label-lower",
        "lo",
        "--label-upper",
        "hi",
        "--set",
        "objective=survival:aft",
        "--set",
        "num_round=20",
        "--model-out",
        s(&model),
        "--quiet",
    ]));
    assert!(out.contains("valid-aft-nloglik"), "{out}");
    let out = ok(sylvan(&[
        "eval",
        "--model",
        s(&model),
        "--data",
        s(&valid),
        "--label-lower",
        "lo",
        "--label-upper",
        "hi",
    ]));
    let lines = eval_lines(&out);
    assert!(lines[0].0.starts_with("aft-nloglik") && lines[0].1.is_finite(), "{out}");
}
