//! End-to-end tests of the `sylvan` binary on models with several outputs (issue #19): several
//! label columns (`--label y1,y2`, both `multi_strategy` values) through train, eval, predict and
//! inspect; several quantile and expectile levels (`--set quantile_alpha=0.1,0.5,0.9`); and the
//! errors of bad label columns. The data are small CSV files written here.

use std::path::{Path, PathBuf};

mod cli_support;
use cli_support::{fails, ok, sylvan, temp_dir, Lcg};

const ROWS: usize = 400;

/// Columns x0, x1 (features), y1 = 3 x0 + noise, y2 = -2 x1 + noise (the targets) and q (an
/// integer query id); returns the path and the rows' (y1, y2).
fn write_data(dir: &Path, name: &str, seed: u64) -> (PathBuf, Vec<(f64, f64)>) {
    let mut r = Lcg(seed);
    let mut text = String::from("x0,x1,y1,y2,q\n");
    let mut targets = Vec::with_capacity(ROWS);
    for i in 0..ROWS {
        let (x0, x1) = (r.next(), r.next());
        let y1 = 3.0 * x0 + 0.2 * r.next();
        let y2 = -2.0 * x1 + 0.2 * r.next();
        text.push_str(&format!("{x0},{x1},{y1},{y2},{}\n", i / 10));
        targets.push((y1, y2));
    }
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    (path, targets)
}

/// A prediction CSV: its header's column names and its rows of numbers.
fn read_predictions(path: &Path) -> (Vec<String>, Vec<Vec<f64>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines
        .map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()).collect())
        .collect();
    (header, rows)
}

/// `sylvan train` on `data` with these extra arguments, saving to `model`.
fn train(data: &Path, model: &Path, extra: &[&str]) -> String {
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--model-out",
        model.to_str().unwrap(),
        "--quiet",
        "--set",
        "num_round=30",
        "--set",
        "max_depth=3",
    ];
    args.extend_from_slice(extra);
    ok(sylvan(&args))
}

/// `sylvan predict` of `model` on `data` into `out` (with extra arguments), read back.
fn predict(model: &Path, data: &Path, out: &Path, extra: &[&str]) -> (Vec<String>, Vec<Vec<f64>>) {
    let mut args = vec![
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let said = ok(sylvan(&args));
    let (header, rows) = read_predictions(out);
    assert!(
        said.contains(&format!("{} rows x {} columns", rows.len(), header.len())),
        "{said}"
    );
    (header, rows)
}

/// Mean absolute error of output column `c` against `target`.
fn mae(rows: &[Vec<f64>], c: usize, target: impl Fn(usize) -> f64) -> f64 {
    rows.iter()
        .enumerate()
        .map(|(i, r)| (r[c] - target(i)).abs())
        .sum::<f64>()
        / rows.len() as f64
}

#[test]
fn two_label_columns_train_eval_predict_and_inspect_with_both_strategies() {
    let dir = temp_dir("targets");
    let (data, _) = write_data(&dir, "train.csv", 1);
    let (valid, targets) = write_data(&dir, "valid.csv", 2);
    for strategy in ["one_output_per_tree", "multi_output_tree"] {
        let model = dir.join(format!("{strategy}.json"));
        let set = format!("multi_strategy={strategy}");
        let said = train(
            &data,
            &model,
            &[
                "--label",
                "y1,y2",
                "--drop",
                "q",
                "--valid",
                valid.to_str().unwrap(),
                "--set",
                &set,
            ],
        );
        assert!(said.contains("on 400 rows x 2 features"), "{strategy}: {said}");

        // Predictions: one column per label column, named after it, following its target.
        let (header, rows) = predict(&model, &valid, &dir.join("pred.csv"), &[]);
        assert_eq!(header, ["prediction_y1", "prediction_y2"], "{strategy}");
        assert_eq!(rows.len(), ROWS);
        assert!(rows.iter().all(|r| r.len() == 2));
        let (e1, e2) = (mae(&rows, 0, |i| targets[i].0), mae(&rows, 1, |i| targets[i].1));
        assert!(e1 < 0.2 && e2 < 0.2, "{strategy}: mean absolute errors {e1} {e2}");
        let (margin_header, _) = predict(&model, &valid, &dir.join("margin.csv"), &["--margin"]);
        assert_eq!(margin_header, header);

        // Eval reads both label columns back from the model (no --label), or takes them named.
        let model_arg = model.to_str().unwrap();
        let valid_arg = valid.to_str().unwrap();
        let eval = ok(sylvan(&["eval", "--model", model_arg, "--data", valid_arg]));
        let rmse: f64 = eval
            .trim()
            .strip_prefix("rmse: ")
            .unwrap_or_else(|| panic!("{eval}"))
            .parse()
            .unwrap();
        assert!(rmse < 0.25, "{strategy}: rmse {rmse}");
        let named = ok(sylvan(&[
            "eval", "--model", model_arg, "--data", valid_arg, "--label", "y1,y2", "--metric", "mae",
        ]));
        assert!(named.starts_with("mae: "), "{named}");
        // One label column for a model of two targets: a clear error.
        let e = fails(sylvan(&[
            "eval", "--model", model_arg, "--data", valid_arg, "--label", "y1",
        ]));
        assert!(e.contains("trained on 2 target(s)"), "{e}");

        let inspect = ok(sylvan(&["inspect", "--model", model_arg]));
        assert!(inspect.contains("label:       y1,y2"), "{inspect}");
        assert!(
            inspect.contains(&format!(
                "outputs:     2 (num_target 2, one per label column; multi_strategy {strategy})"
            )),
            "{inspect}"
        );
        assert!(inspect.contains("num_target = 2"), "{inspect}");
    }
}

#[test]
fn quantile_and_expectile_levels_predict_named_non_crossing_columns() {
    let dir = temp_dir("levels");
    let (data, _) = write_data(&dir, "train.csv", 3);
    let model = dir.join("quantiles.sylvan");
    train(
        &data,
        &model,
        &[
            "--label",
            "y1",
            "--drop",
            "q,y2",
            "--set",
            "objective=reg:quantileerror",
            "--set",
            "quantile_alpha=0.1,0.5,0.9",
        ],
    );
    let (header, rows) = predict(&model, &data, &dir.join("q.csv"), &[]);
    assert_eq!(header, ["quantile_0.1", "quantile_0.5", "quantile_0.9"]);
    assert_eq!(rows.len(), ROWS);
    assert!(rows.iter().all(|r| r[0] <= r[1] && r[1] <= r[2]), "quantiles cross");
    // Raw outputs keep the names (they are in the levels' order, not rearranged).
    let (margin_header, margins) = predict(&model, &data, &dir.join("qm.csv"), &["--margin"]);
    assert_eq!(margin_header, header);
    assert_eq!(margins.len(), ROWS);
    let inspect = ok(sylvan(&["inspect", "--model", model.to_str().unwrap()]));
    assert!(
        inspect.contains("outputs:     3 (quantile_alpha 0.1, 0.5, 0.9; multi_strategy one_output_per_tree)"),
        "{inspect}"
    );
    let eval = ok(sylvan(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]));
    assert!(eval.starts_with("quantile"), "{eval}");

    let model = dir.join("expectiles.json");
    train(
        &data,
        &model,
        &[
            "--label",
            "y1",
            "--drop",
            "q,y2",
            "--set",
            "objective=reg:expectileerror",
            "--set",
            "expectile_alpha=0.2,0.8",
            "--set",
            "multi_strategy=multi_output_tree",
        ],
    );
    let (header, rows) = predict(&model, &data, &dir.join("e.csv"), &[]);
    assert_eq!(header, ["expectile_0.2", "expectile_0.8"]);
    assert!(rows.iter().all(|r| r[0] <= r[1]), "expectiles cross");
    let inspect = ok(sylvan(&["inspect", "--model", model.to_str().unwrap()]));
    assert!(
        inspect.contains("outputs:     2 (expectile_alpha 0.2, 0.8; multi_strategy multi_output_tree)"),
        "{inspect}"
    );
}

#[test]
fn one_label_column_keeps_its_output() {
    let dir = temp_dir("single");
    let (data, _) = write_data(&dir, "train.csv", 4);
    let model = dir.join("m.json");
    train(&data, &model, &["--label", "y1", "--drop", "q,y2"]);
    let (header, rows) = predict(&model, &data, &dir.join("p.csv"), &[]);
    assert_eq!(header, ["prediction"]);
    assert_eq!(rows.len(), ROWS);
    let inspect = ok(sylvan(&["inspect", "--model", model.to_str().unwrap()]));
    assert!(inspect.contains("label:       y1\n"), "{inspect}");
    assert!(!inspect.contains("outputs:"), "{inspect}");
}

#[test]
fn bad_label_columns_are_clear_errors() {
    let dir = temp_dir("bad");
    let (data, _) = write_data(&dir, "train.csv", 5);
    let model = dir.join("m.json");
    let model_arg = model.to_str().unwrap();
    let data_arg = data.to_str().unwrap();
    let run = |label: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            data_arg,
            "--model-out",
            model_arg,
            "--quiet",
            "--label",
            label,
        ];
        args.extend_from_slice(extra);
        fails(sylvan(&args))
    };
    let e = run("y1,nope", &[]);
    assert!(e.contains("nope"), "{e}");
    let e = run("y1,", &[]);
    assert!(e.contains("empty"), "{e}");
    let e = run("y1,y1", &[]);
    assert!(e.contains("twice"), "{e}");
    let e = run("y1,y2", &["--group", "q"]);
    assert!(e.contains("group") && e.contains("one label"), "{e}");
    let e = run(
        "y1,y2",
        &[
            "--drop",
            "q",
            "--set",
            "objective=multi:softprob",
            "--set",
            "num_class=3",
        ],
    );
    assert!(e.contains("num_target"), "{e}");
    let e = run(
        "y1,y2",
        &[
            "--drop",
            "q",
            "--set",
            "objective=reg:quantileerror",
            "--set",
            "quantile_alpha=0.1,0.9",
        ],
    );
    assert!(e.contains("quantile"), "{e}");

    // A missing label in the second column: the error names the file, column and row.
    let text = std::fs::read_to_string(&data).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut cells: Vec<String> = lines[8].split(',').map(str::to_string).collect();
    cells[3] = String::new();
    lines[8] = cells.join(",");
    let holed = dir.join("holed.csv");
    std::fs::write(&holed, lines.join("\n") + "\n").unwrap();
    let e = fails(sylvan(&[
        "train",
        "--data",
        holed.to_str().unwrap(),
        "--model-out",
        model_arg,
        "--quiet",
        "--label",
        "y1,y2",
        "--drop",
        "q",
    ]));
    assert!(
        e.contains("holed.csv") && e.contains("row 7") && e.contains("`y2`") && e.contains("missing"),
        "{e}"
    );
    assert!(!model.exists(), "no model is written after an error");
}
