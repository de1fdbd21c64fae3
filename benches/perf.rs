//! The benchmark of issue #7: Sylvan beside XGBoost and LightGBM on four generated workloads, with
//! training time, prediction time, peak memory and test metric, and the ratios the targets
//! are stated in.
//!
//! `cargo bench --bench perf` generates each workload (deterministic, seeded), writes its training
//! and test sets as Parquet (features `f0..` float32, label `y`) for Sylvan and as .npy for the
//! anchors, then runs, for each repeat, Sylvan, XGBoost and LightGBM one after the other (the order
//! rotates from repeat to repeat), each in a process of its own:
//!
//! | workload     | train rows | test rows | features | task                                      |
//! |--------------|-----------:|----------:|---------:|-------------------------------------------|
//! | `higgs`      |  1,000,000 |   100,000 |       28 | binary (AUC), `common::higgs_like`        |
//! | `regression` |    500,000 |   100,000 |       60 | RMSE; 20 % NaN in the 30 odd columns      |
//! | `multiclass` |    300,000 |    50,000 |       50 | 7 classes (accuracy), `multi:softprob`    |
//! | `wide`       |     40,000 |    50,000 |    1,000 | binary (AUC)                              |
//! | `categorical`|    500,000 |   100,000 |        7 | binary (AUC), 4 string columns, see below |
//! | `monotone`   |    500,000 |   100,000 |       60 | RMSE, `regression` with 4 monotone features |
//! | `explain`    |    200,000 |   100,000 |       28 | SHAP contributions (issue #20), see below   |
//!
//! `categorical` (issue #17): `common::categorical_mixed` with string columns of 5, 50, 1,000 and
//! 10,000 categories (skewed frequencies, 5 % null; written as strings `c00017`, which Sylvan's CLI
//! reads as categorical features) and 3 numeric columns. The anchors get the codes as floats and the
//! same columns declared categorical (XGBoost `enable_categorical` with feature types `c`, LightGBM
//! `categorical_feature`); every library splits them natively with `max_cat_to_onehot` 4 and
//! `max_cat_threshold` 64 (Sylvan and LightGBM with LightGBM's `cat_smooth`, `cat_l2`,
//! `min_data_per_group` defaults). Its target: Sylvan's training time at most the faster anchor's.
//! `monotone` (issue #18): the `regression` generator without missing values, trained with
//! `monotone_constraints` +1 on f4, f6, f8 and -1 on f9 (the directions of their true effects) by
//! every library (XGBoost's string form `(0,0,0,0,1,..)`, LightGBM's list with its default `basic`
//! method). It shows what constraints cost; the other workloads set none, and their times show
//! that code paths without constraints did not slow down.
//! `explain` (issue #20, `benches/common_bench/perf_explain.rs`): the time of SHAP contributions
//! for 100,000 rows of a 100-round, depth-8 model, Sylvan's `PredictOutput::Contributions` beside
//! XGBoost's `pred_contribs` on the same model (exported as XGBoost JSON) and LightGBM's
//! `pred_contrib` on its own model of the same size; interaction values on 1,000 rows. Target: at
//! least 3x faster than the faster anchor. `SYLVAN_BENCH_EXPLAIN_XGB_ROWS=N` times XGBoost on the
//! first N rows only and scales its time linearly (it needs minutes for 100,000 rows).
//! The wide test set is larger than its training set: the rows are generated one after another, so
//! the training rows are the same whatever the test size, and at 10,000 test rows the AUC's sampling
//! standard error (about 0.005; 0.002 at 50,000) dwarfed the differences the accuracy target asks
//! about (0.001).
//!
//! Parameters, the same for every library (XGBoost names; LightGBM's mirror is in
//! `benches/python/perf_anchors.py`): 100 rounds, eta 0.1, max_depth 8 (LightGBM num_leaves 255),
//! max_bin 255, lambda 1, min_child_weight 1, tree_method hist, 2 threads.
//!
//! What is measured:
//! - Sylvan training: the whole `sylvan train --data train.parquet --label y --no-eval --quiet`
//!   process (start, Parquet load, binning, all rounds, model save), wall clock from spawn to exit;
//!   its peak RSS: VmHWM from /proc/PID/status, polled every 2 ms until exit (wait4's ru_maxrss
//!   would include this process's own memory, which Linux carries over the fork).
//! - XGBoost / LightGBM training (`perf_anchors.py`, one process per library per run): from the
//!   NumPy arrays in memory to a trained model (binning + all rounds), like `anchors.py`; loading the
//!   .npy files is timed apart and reported as "load s". Peak RSS of the whole Python process (VmHWM,
//!   polled the same way; it holds the training and test arrays).
//! - Prediction: the test set, in memory, to probabilities / values. Sylvan: `Booster::predict`
//!   in this process on the model the CLI saved, with the test Parquet already loaded (the load is
//!   not timed); XGBoost: `inplace_predict` on the NumPy array; LightGBM: `Booster.predict`. For each
//!   library the second of two calls is timed (the first warms caches and thread pools).
//! - Sylvan "load + binning": in this process, `sylvan::load_training` of the training Parquet file
//!   plus `BinMapper::fit` and `QuantizedMatrix::build`, as a fraction of the CLI training time.
//! - Test metric: AUC (binary), RMSE (regression), accuracy (multiclass).
//!
//! With SYLVAN_BENCH_REPEAT > 1 every tool runs that many times and the fastest training run (and the
//! fastest prediction) is reported; the peak RSS is the largest over the runs.
//!
//! Output: a table per workload, then a summary against the issue's targets ("meets" / "misses";
//! printed, never asserted: shared/DESIGN.md), and the raw results as JSON (see
//! benches/results/README.md to compare runs).
//!
//! Environment:
//! - `SYLVAN_BENCH_WORKLOADS=higgs,regression,multiclass,wide,categorical,monotone,explain`: a subset
//!   (default: all seven; `explain` alone runs just the SHAP timing).
//! - `SYLVAN_BENCH_SCALE`: fraction of the rows, train and test, e.g. 0.05 for a quick run (default 1).
//! - `SYLVAN_BENCH_THREADS` (default 2), `SYLVAN_BENCH_REPEAT` (default 1).
//! - `SYLVAN_BENCH_ANCHORS=0`: Sylvan only.
//! - `SYLVAN_BENCH_OUT`: where to write the JSON (default `benches/results/perf-<UTC time>.json`).
//! - `SYLVAN_PYTHON`: the Python with xgboost and lightgbm (default: the CI venv, then python3).
//! - `SYLVAN_KEEP_TMP=1`: keep the generated files.
//!
//! Run without `--bench` (as `cargo test --bench perf` does) it is a smoke test: every workload at a
//! few thousand rows (4,000; wide: 3,000), 3 rounds, Sylvan only (anchors too with SYLVAN_BENCH_ANCHORS=1),
//! checking that the files were written, the CLI succeeded and the test metric beats chance.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "common_bench/mod.rs"]
mod common_bench;
#[path = "common_bench/perf_explain.rs"]
mod perf_explain;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};
use sylvan::booster::backend::BinMapper;
use sylvan::booster::backend::QuantizedMatrix;
use sylvan::{Booster, ColumnSelection, PredictOptions};

use common_bench::{env_usize, run_measured, Measured};

/// The label column's name in the Parquet files.
const LABEL: &str = "y";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Task {
    Binary,
    Regression,
    Multiclass(usize),
}

impl Task {
    fn name(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Regression => "regression",
            Task::Multiclass(_) => "multiclass",
        }
    }

    fn metric_name(self) -> &'static str {
        match self {
            Task::Binary => "auc",
            Task::Regression => "rmse",
            Task::Multiclass(_) => "accuracy",
        }
    }

    fn objective(self) -> &'static str {
        match self {
            Task::Binary => "binary:logistic",
            Task::Regression => "reg:squarederror",
            Task::Multiclass(_) => "multi:softprob",
        }
    }

    /// The test metric of predictions `pred` (objective output space).
    fn metric(self, labels: &[f32], pred: &[f32]) -> f64 {
        match self {
            Task::Binary => common::auc(labels, pred),
            Task::Regression => common::rmse(labels, pred),
            Task::Multiclass(k) => common::accuracy(labels, pred, k),
        }
    }
}

/// One workload of the issue.
#[derive(Debug, Clone, Copy)]
struct Workload {
    name: &'static str,
    train_rows: usize,
    test_rows: usize,
    features: usize,
    task: Task,
    seed: u64,
    /// The first this many features are categorical (written as strings for Sylvan).
    categorical: usize,
}

/// The cardinalities of the `categorical` workload's string columns.
const CATEGORICAL_CARDINALITIES: [u32; 4] = [5, 50, 1_000, 10_000];

/// The monotone constraints of the `monotone` workload: (feature, direction).
const MONOTONE: [(usize, i8); 4] = [(4, 1), (6, 1), (8, 1), (9, -1)];

const WORKLOADS: [Workload; 6] = [
    Workload {
        name: "higgs",
        train_rows: 1_000_000,
        test_rows: 100_000,
        features: 28,
        task: Task::Binary,
        seed: 2026,
        categorical: 0,
    },
    Workload {
        name: "regression",
        train_rows: 500_000,
        test_rows: 100_000,
        features: 60,
        task: Task::Regression,
        seed: 7,
        categorical: 0,
    },
    Workload {
        name: "multiclass",
        train_rows: 300_000,
        test_rows: 50_000,
        features: 50,
        task: Task::Multiclass(7),
        seed: 11,
        categorical: 0,
    },
    Workload {
        name: "wide",
        train_rows: 40_000,
        test_rows: 50_000,
        features: 1_000,
        task: Task::Binary,
        seed: 13,
        categorical: 0,
    },
    Workload {
        name: "categorical",
        train_rows: 500_000,
        test_rows: 100_000,
        features: 7,
        task: Task::Binary,
        seed: 17,
        categorical: 4,
    },
    Workload {
        name: "monotone",
        train_rows: 500_000,
        test_rows: 100_000,
        features: 60,
        task: Task::Regression,
        seed: 19,
        categorical: 0,
    },
];

impl Workload {
    /// Generates `train_rows + test_rows` rows and splits them.
    fn generate(&self) -> (common::Table, common::Table) {
        let n = self.train_rows + self.test_rows;
        let t = match self.name {
            "higgs" => common::higgs_like(n, self.seed),
            "regression" => common::regression_wide_missing(n, self.features, self.seed, 0.2),
            "multiclass" => common::multiclass_k(n, self.features, 7, self.seed),
            "wide" => common::wide_binary(n, self.features, self.seed),
            "categorical" => common::categorical_mixed(n, &CATEGORICAL_CARDINALITIES, self.seed, true).0,
            "monotone" => common::regression_wide_missing(n, self.features, self.seed, 0.0),
            other => unreachable!("unknown workload {other}"),
        };
        t.split_at(self.train_rows)
    }

    /// The parameters, with XGBoost's names.
    fn params(&self, s: &Settings) -> Vec<(&'static str, String)> {
        let mut p = vec![
            ("objective", self.task.objective().to_string()),
            ("tree_method", "hist".into()),
            ("num_round", s.rounds.to_string()),
            ("eta", "0.1".into()),
            ("max_depth", "8".into()),
            ("max_bin", "255".into()),
            ("lambda", "1".into()),
            ("min_child_weight", "1".into()),
            ("nthread", s.threads.to_string()),
        ];
        if let Task::Multiclass(k) = self.task {
            p.push(("num_class", k.to_string()));
        }
        if self.categorical > 0 {
            let list: Vec<String> = (0..self.categorical).map(|j| j.to_string()).collect();
            p.push(("categorical_features", list.join(",")));
            p.push(("max_cat_to_onehot", "4".into()));
            p.push(("max_cat_threshold", "64".into()));
        }
        if self.name == "monotone" {
            let mut signs = vec!["0".to_string(); self.features];
            for (j, c) in MONOTONE {
                signs[j] = c.to_string();
            }
            p.push(("monotone_constraints", format!("({})", signs.join(","))));
        }
        p
    }
}

struct Settings {
    bench: bool,
    workloads: Vec<Workload>,
    /// The `explain` workload (SHAP contributions) was asked for.
    explain: bool,
    scale: f64,
    rounds: usize,
    threads: usize,
    repeat: usize,
    anchors: bool,
    out: Option<PathBuf>,
}

impl Settings {
    fn from_env(bench: bool) -> Settings {
        let names: Vec<String> = std::env::var("SYLVAN_BENCH_WORKLOADS")
            .unwrap_or_else(|_| "higgs,regression,multiclass,wide,categorical,monotone,explain".into())
            .split(',')
            .map(|w| w.trim().to_ascii_lowercase())
            .filter(|w| !w.is_empty())
            .collect();
        let mut workloads = Vec::new();
        let explain = names.iter().any(|n| n == "explain");
        for name in names.iter().filter(|n| *n != "explain") {
            let w = WORKLOADS.iter().find(|w| w.name == name).unwrap_or_else(|| {
                panic!("SYLVAN_BENCH_WORKLOADS: unknown workload `{name}` (higgs, regression, multiclass, wide, categorical, monotone, explain)")
            });
            workloads.push(*w);
        }
        let scale = match std::env::var("SYLVAN_BENCH_SCALE") {
            Ok(v) => v
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|s| *s > 0.0)
                .unwrap_or_else(|| panic!("SYLVAN_BENCH_SCALE={v} is not a positive number")),
            Err(_) => 1.0,
        };
        let out = std::env::var_os("SYLVAN_BENCH_OUT").map(PathBuf::from);
        if bench {
            for w in workloads.iter_mut() {
                w.train_rows = ((w.train_rows as f64 * scale).round() as usize).max(200);
                w.test_rows = ((w.test_rows as f64 * scale).round() as usize).max(100);
            }
            Settings {
                bench,
                workloads,
                explain,
                scale,
                rounds: 100,
                threads: env_usize("SYLVAN_BENCH_THREADS", 2).max(1),
                repeat: env_usize("SYLVAN_BENCH_REPEAT", 1).max(1),
                anchors: common_bench::anchors_enabled(),
                out: Some(out.unwrap_or_else(|| {
                    common::repo_root()
                        .join("benches/results")
                        .join(format!("perf-{}.json", common_bench::utc_now().0))
                })),
            }
        } else {
            for w in workloads.iter_mut() {
                (w.train_rows, w.test_rows) = if w.name == "wide" {
                    (3_000, 1_000)
                } else {
                    (4_000, 1_000)
                };
            }
            Settings {
                bench,
                workloads,
                explain,
                scale: 0.0,
                rounds: 3,
                threads: 2,
                repeat: 1,
                anchors: std::env::var("SYLVAN_BENCH_ANCHORS").is_ok_and(|v| v == "1"),
                out,
            }
        }
    }
}

/// One library's best over the repeats.
#[derive(Debug, Default, Clone)]
struct ToolResult {
    version: String,
    train_seconds: Vec<f64>,
    predict_seconds: Vec<f64>,
    peak_rss_mb: f64,
    metric: Option<f64>,
    /// Anchors: loading the .npy files; Sylvan: the in-process Parquet load of the training file.
    load_seconds: Vec<f64>,
    /// Sylvan only: BinMapper::fit + QuantizedMatrix::build on the loaded training data.
    bin_seconds: Vec<f64>,
    error: Option<String>,
}

fn min(v: &[f64]) -> Option<f64> {
    v.iter().copied().reduce(f64::min)
}

impl ToolResult {
    fn train(&self) -> Option<f64> {
        min(&self.train_seconds)
    }
    fn predict(&self) -> Option<f64> {
        min(&self.predict_seconds)
    }
    fn ok(&self) -> bool {
        self.error.is_none() && self.train().is_some()
    }
    fn to_json(&self, test_rows: usize) -> Value {
        json!({
            "version": self.version,
            "train_seconds": self.train(),
            "all_train_seconds": self.train_seconds,
            "predict_seconds": self.predict(),
            "all_predict_seconds": self.predict_seconds,
            "predict_rows_per_second": self.predict().map(|p| test_rows as f64 / p),
            "peak_rss_mb": self.peak_rss_mb,
            "metric": self.metric,
            "load_seconds": min(&self.load_seconds),
            "bin_seconds": min(&self.bin_seconds),
            "error": self.error,
        })
    }
}

const TOOLS: [&str; 3] = ["sylvan", "xgboost", "lightgbm"];

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let s = Settings::from_env(bench);
    // Sylvan's Parquet reader and binning use rayon's global pool: give it, here and in the CLI
    // child, the same number of threads as everything else.
    std::env::set_var("RAYON_NUM_THREADS", s.threads.to_string());
    let (_, started) = common_bench::utc_now();
    println!(
        "perf (issue #7): workloads {}; {} rounds, eta 0.1, max_depth 8, max_bin 255, lambda 1, {} threads, repeat {}{}{}",
        s.workloads
            .iter()
            .map(|w| w.name)
            .chain(s.explain.then_some("explain"))
            .collect::<Vec<_>>()
            .join(","),
        s.rounds,
        s.threads,
        s.repeat,
        if s.bench && s.scale != 1.0 {
            format!(", scale {}", s.scale)
        } else {
            String::new()
        },
        if s.bench {
            ""
        } else {
            " (smoke run; `cargo bench --bench perf` for the benchmark)"
        }
    );
    let load_before = common_bench::load_average();
    if s.bench {
        common_bench::warn_if_busy();
    }
    let python = if s.anchors {
        match common::reference() {
            Some(r) => Some(r.python),
            None => {
                println!("anchors skipped: no Python with xgboost (set SYLVAN_PYTHON)");
                None
            }
        }
    } else {
        println!("anchors skipped (SYLVAN_BENCH_ANCHORS)");
        None
    };

    let mut results = Vec::new();
    let mut summaries = Vec::new();
    for w in &s.workloads {
        let (value, summary) = run_workload(&s, w, python.as_deref());
        results.push(value);
        summaries.push(summary);
    }
    if s.explain {
        let (value, summary) = perf_explain::run(&perf_explain::ExplainSettings {
            bench: s.bench,
            scale: s.scale,
            rounds: s.rounds,
            threads: s.threads,
            python: python.as_deref(),
        });
        results.push(value);
        summaries.push(summary);
    }

    println!();
    println!("== summary against the targets of issues #7 and #20 (printed, not asserted) ==");
    for line in summaries.iter().flatten() {
        println!("{line}");
    }

    let report = json!({
        "benchmark": "perf",
        "started": started,
        "finished": common_bench::utc_now().1,
        "git_commit": git_commit(),
        "machine": {
            "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
            "load_average_before": load_before,
        },
        "settings": {
            "mode": if s.bench { "bench" } else { "smoke" },
            "scale": s.scale,
            "rounds": s.rounds,
            "threads": s.threads,
            "repeat": s.repeat,
            "anchors": python.is_some(),
        },
        "workloads": results,
        "targets": summaries.concat(),
    });
    let scratch;
    let out = match &s.out {
        Some(p) => p.clone(),
        None => {
            scratch = common::ScratchDir::new("perf-smoke-out");
            scratch.path().join("perf.json")
        }
    };
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    }
    let text = serde_json::to_string_pretty(&report).expect("results are JSON");
    std::fs::write(&out, text + "\n").unwrap_or_else(|e| panic!("write {}: {e}", out.display()));
    println!("\nraw results: {}", out.display());
    if !s.bench {
        println!("smoke run ok");
    }
}

/// The commit being measured (read-only `git rev-parse`), when git is there.
fn git_commit() -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(common::repo_root())
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Generates, writes and measures one workload; returns its JSON and its target lines.
fn run_workload(s: &Settings, w: &Workload, python: Option<&Path>) -> (Value, Vec<String>) {
    println!();
    println!(
        "== {}: {} x {} training rows, {} test rows, {}, test metric {} ==",
        w.name,
        w.train_rows,
        w.features,
        w.test_rows,
        w.task.name(),
        w.task.metric_name()
    );
    let dir = common::ScratchDir::new(&format!("perf-{}", w.name));
    let d = dir.path();
    let t = Instant::now();
    let (train, test) = w.generate();
    let generated = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let (train_pq, test_pq) = (d.join("train.parquet"), d.join("test.parquet"));
    common_bench::write_parquet(&train_pq, &train.columns, &train.labels, LABEL, w.categorical)
        .expect("write train.parquet");
    common_bench::write_parquet(&test_pq, &test.columns, &test.labels, LABEL, w.categorical)
        .expect("write test.parquet");
    if python.is_some() {
        train.write_npy(d, "train").expect("write train .npy");
        test.write_npy(d, "test").expect("write test .npy");
    }
    let mb = |p: &Path| std::fs::metadata(p).map_or(0.0, |m| m.len() as f64 / 1e6);
    println!(
        "generated in {generated:.1} s; wrote files in {:.1} s (train.parquet {:.1} MB, test.parquet {:.1} MB{})",
        t.elapsed().as_secs_f64(),
        mb(&train_pq),
        mb(&test_pq),
        if python.is_some() {
            format!(", X_train.npy {:.1} MB", mb(&d.join("X_train.npy")))
        } else {
            String::new()
        }
    );
    if !s.bench {
        for f in ["train.parquet", "test.parquet"] {
            assert!(mb(&d.join(f)) > 0.0, "{f} was not written");
        }
    }
    // The data lives in the files from here on; free this process's copy.
    drop((train, test));

    let params = w.params(s);
    let mut res: Vec<ToolResult> = vec![ToolResult::default(); 3];
    for r in 0..s.repeat {
        for k in 0..3 {
            let tool = (k + r) % 3;
            match tool {
                0 => run_sylvan(s, w, d, &params, r, &mut res[0]),
                _ => match python {
                    Some(py) => run_anchor(w, d, &params, py, TOOLS[tool], r, &mut res[tool]),
                    None => res[tool].error = Some("not run".into()),
                },
            }
        }
    }
    report(s, w, &res)
}

/// Trains with the CLI (measured as a process), then predicts and scores in this process, and
/// times load + binning.
fn run_sylvan(s: &Settings, w: &Workload, d: &Path, params: &[(&str, String)], run: usize, out: &mut ToolResult) {
    let model = d.join("sylvan.sylvan");
    let _ = std::fs::remove_file(&model);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sylvan"));
    cmd.arg("train")
        .arg("--data")
        .arg(d.join("train.parquet"))
        .args(["--label", LABEL, "--no-eval", "--quiet", "--model-out"])
        .arg(&model);
    for (k, v) in params {
        cmd.arg("--set").arg(format!("{k}={v}"));
    }
    let m = run_measured(&mut cmd, d, &format!("sylvan-{run}")).expect("run the sylvan binary");
    if !m.success() {
        let why = format!("sylvan train failed ({:?}): {}{}", m.code, m.stdout, m.stderr);
        assert!(s.bench, "{why}");
        println!("{why}");
        out.error = Some(why);
        return;
    }
    out.version = format!("{} (CLI)", env!("CARGO_PKG_VERSION"));
    out.train_seconds.push(m.seconds);
    out.peak_rss_mb = out.peak_rss_mb.max(m.peak_rss_mb);

    // Prediction: the saved model on the test set, loaded before the clock starts.
    let booster = Booster::load(&model).expect("load the model the CLI saved");
    let names: Vec<String> = match booster.feature_names() {
        Some(n) => n.to_vec(),
        None => (0..booster.num_features()).map(|j| format!("f{j}")).collect(),
    };
    let selection = ColumnSelection {
        label: Some(LABEL.into()),
        ..Default::default()
    };
    let categories = match booster.attributes().get(sylvan::io::CATEGORIES_ATTRIBUTE) {
        Some(json) => sylvan::CategoryMap::from_json(json).expect("the model's categories"),
        None => Default::default(),
    };
    let test = sylvan::load_for_model(&d.join("test.parquet"), &names, &categories, &selection)
        .expect("load test.parquet")
        .dataset;
    let labels = test.labels().to_vec();
    // One untimed prediction first (caches, thread pool), as for the anchors; then the timed one.
    let _ = booster.predict(&test, PredictOptions::default());
    let t = Instant::now();
    let pred = booster
        .predict(&test, PredictOptions::default())
        .expect("Sylvan predicts");
    out.predict_seconds.push(t.elapsed().as_secs_f64());
    let metric = w.task.metric(&labels, &pred.values);
    out.metric.get_or_insert(metric);
    drop((booster, test, pred));

    // Load + binning, in this process, with the thread count of the run.
    let t = Instant::now();
    let train = sylvan::load_training(&d.join("train.parquet"), &selection)
        .expect("load train.parquet")
        .dataset;
    let loaded = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mapper = BinMapper::fit(&train, 255);
    let matrix = QuantizedMatrix::build(&train, &mapper);
    out.bin_seconds.push(t.elapsed().as_secs_f64());
    out.load_seconds.push(loaded);
    drop((matrix, mapper, train));
    println!(
        "  sylvan   run {run}: train {:.2} s (CLI process), peak RSS {:.0} MB; predict {:.3} s; {} {:.5}",
        m.seconds,
        m.peak_rss_mb,
        out.predict_seconds.last().copied().unwrap_or(f64::NAN),
        w.task.metric_name(),
        metric
    );
    if !s.bench {
        sanity(w, &labels, metric);
    }
}

/// Smoke-run check: the metric beats what a constant prediction would get.
fn sanity(w: &Workload, labels: &[f32], metric: f64) {
    match w.task {
        Task::Binary => assert!(metric > 0.55, "{}: test AUC {metric} is no better than chance", w.name),
        Task::Regression => {
            let mean = labels.iter().map(|y| *y as f64).sum::<f64>() / labels.len() as f64;
            let sd = (labels.iter().map(|y| (*y as f64 - mean).powi(2)).sum::<f64>() / labels.len() as f64).sqrt();
            assert!(
                metric < 0.97 * sd,
                "{}: test RMSE {metric} is no better than the label's sd {sd}",
                w.name
            );
        }
        Task::Multiclass(k) => {
            let mut counts = vec![0usize; k];
            for y in labels {
                counts[*y as usize] += 1;
            }
            let majority = *counts.iter().max().expect("classes") as f64 / labels.len() as f64;
            assert!(
                metric > majority + 0.02,
                "{}: test accuracy {metric} is no better than the majority class ({majority})",
                w.name
            );
        }
    }
}

/// Runs perf_anchors.py for one library, as a measured process.
fn run_anchor(
    w: &Workload,
    d: &Path,
    params: &[(&str, String)],
    python: &Path,
    lib: &str,
    run: usize,
    out: &mut ToolResult,
) {
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut cmd = Command::new(python);
    cmd.arg(common::repo_root().join("benches/python/perf_anchors.py"))
        .args(["--lib", lib, "--task", w.task.name(), "--dir"])
        .arg(d)
        .args(["--params", &common::params_json(&pairs)])
        .env("OMP_NUM_THREADS", params_value(params, "nthread"));
    let m: Measured = match run_measured(&mut cmd, d, &format!("{lib}-{run}")) {
        Ok(m) => m,
        Err(e) => {
            out.error = Some(format!("could not run {}: {e}", python.display()));
            return;
        }
    };
    let parsed = m
        .stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str::<Value>(l).ok());
    let r = match parsed {
        Some(r) if m.success() && r.get("error").is_none() => r,
        Some(r) => {
            let why = r["error"].as_str().unwrap_or("failed").to_string();
            println!("  {lib:<8} run {run}: not run ({why})");
            out.error = Some(why);
            return;
        }
        None => {
            let why = format!("exit {:?}, no result: {}{}", m.code, m.stdout, m.stderr);
            println!("  {lib:<8} run {run}: {why}");
            out.error = Some(why);
            return;
        }
    };
    let f = |k: &str| r[k].as_f64().unwrap_or(f64::NAN);
    out.version = r["version"].as_str().unwrap_or("?").to_string();
    out.train_seconds.push(f("train_seconds"));
    out.predict_seconds.push(f("predict_seconds"));
    out.load_seconds.push(f("load_seconds"));
    out.peak_rss_mb = out.peak_rss_mb.max(m.peak_rss_mb);
    out.metric.get_or_insert(f("metric"));
    out.error = None;
    println!(
        "  {lib:<8} run {run}: train {:.2} s (load {:.2} s apart; process {:.2} s), peak RSS {:.0} MB; predict {:.3} s; {} {:.5}",
        f("train_seconds"),
        f("load_seconds"),
        m.seconds,
        m.peak_rss_mb,
        f("predict_seconds"),
        w.task.metric_name(),
        f("metric")
    );
}

fn params_value(params: &[(&str, String)], key: &str) -> String {
    params
        .iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// "meets" / "misses", or "n/a" when a side is missing.
fn verdict(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "meets",
        Some(false) => "misses",
        None => "n/a",
    }
}

/// Prints the workload's table and returns its JSON and its lines of the target summary.
fn report(s: &Settings, w: &Workload, res: &[ToolResult]) -> (Value, Vec<String>) {
    let rows = w.test_rows as f64;
    let metric = w.task.metric_name();
    println!();
    println!(
        "{:<9} {:>9} {:>9} {:>12} {:>8} {:>9} {:>7}   version",
        "tool", "train s", "predict s", "predict r/s", "RSS MB", metric, "load s"
    );
    for (tool, r) in TOOLS.iter().zip(res) {
        if !r.ok() {
            println!("{tool:<9} {}", r.error.as_deref().unwrap_or("not run"));
            continue;
        }
        let p = r.predict().unwrap_or(f64::NAN);
        println!(
            "{tool:<9} {:>9.2} {:>9.3} {:>12.0} {:>8.0} {:>9.5} {:>7.2}   {}",
            r.train().unwrap_or(f64::NAN),
            p,
            rows / p,
            r.peak_rss_mb,
            r.metric.unwrap_or(f64::NAN),
            min(&r.load_seconds).unwrap_or(f64::NAN),
            r.version
        );
    }
    println!(
        "(sylvan: train = the whole CLI process from Parquet, load s = in-process Parquet load of the training file; \
         xgboost/lightgbm: train = binning + rounds from NumPy in memory, load s = .npy load, apart)"
    );

    let sy = &res[0];
    let mut ratios = serde_json::Map::new();
    for (tool, r) in TOOLS.iter().zip(res).skip(1) {
        if !(sy.ok() && r.ok()) {
            continue;
        }
        let (st, at) = (sy.train().unwrap_or(f64::NAN), r.train().unwrap_or(f64::NAN));
        let (sp, ap) = (sy.predict().unwrap_or(f64::NAN), r.predict().unwrap_or(f64::NAN));
        let (sm, am) = (sy.metric.unwrap_or(f64::NAN), r.metric.unwrap_or(f64::NAN));
        let (time, mem, tput) = (st / at, sy.peak_rss_mb / r.peak_rss_mb, ap / sp);
        println!(
            "Sylvan / {tool:<8}: training time {time:.2}x, peak RSS {mem:.2}x, prediction throughput {tput:.2}x, {metric} {:+.5}",
            sm - am
        );
        ratios.insert(
            tool.to_string(),
            json!({"train_time": time, "peak_rss": mem, "predict_throughput": tput, "metric_difference": sm - am}),
        );
    }
    let load_bin = match (min(&sy.load_seconds), min(&sy.bin_seconds), sy.train()) {
        (Some(l), Some(b), Some(t)) => {
            println!(
                "Sylvan load + binning: {:.2} s (Parquet load {l:.2} s + BinMapper::fit and QuantizedMatrix::build {b:.2} s) \
                 = {:.1} % of the CLI training run ({t:.2} s)",
                l + b,
                100.0 * (l + b) / t
            );
            Some((l + b) / t)
        }
        _ => None,
    };

    // The targets of issue #7.
    let x = &res[1];
    let anchors_ok: Vec<&ToolResult> = res[1..].iter().filter(|r| r.ok()).collect();
    let fastest = anchors_ok
        .iter()
        .zip(TOOLS[1..].iter())
        .filter_map(|(r, t)| r.train().map(|v| (v, *t)))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let mut lines = Vec::new();
    let mut targets = Vec::new();
    let name = w.name;
    let mut add = |target: &str, value: String, ok: Option<bool>| {
        lines.push(format!("{name:<11} {target:<58} {value:<34} {}", verdict(ok)));
        targets.push(json!({"workload": name, "target": target, "value": value, "verdict": verdict(ok)}));
    };
    match (sy.train(), fastest) {
        (Some(st), Some((at, tool))) => add(
            "training time <= 0.7x the faster anchor",
            format!("{:.2}x ({tool} {at:.2} s)", st / at),
            Some(st / at <= 0.7),
        ),
        _ => add("training time <= 0.7x the faster anchor", "-".into(), None),
    }
    if w.categorical > 0 {
        // Issue #17's target for the categorical workload (both anchors in native categorical mode).
        let target = "categorical: training time <= the faster anchor";
        match (sy.train(), fastest) {
            (Some(st), Some((at, tool))) => add(target, format!("{:.2}x ({tool} {at:.2} s)", st / at), Some(st <= at)),
            _ => add(target, "-".into(), None),
        }
    }
    let tolerance = match w.task {
        Task::Binary => "test AUC >= XGBoost's - 0.001",
        Task::Regression => "test RMSE <= XGBoost's x 1.005",
        Task::Multiclass(_) => "test accuracy >= XGBoost's - 0.3 points",
    };
    match (sy.metric, x.ok().then_some(x.metric).flatten()) {
        (Some(sm), Some(xm)) => {
            let ok = match w.task {
                Task::Binary => sm >= xm - 0.001,
                Task::Regression => sm <= xm * 1.005,
                Task::Multiclass(_) => sm >= xm - 0.003,
            };
            add(tolerance, format!("{sm:.5} vs {xm:.5}"), Some(ok));
        }
        _ => add(tolerance, "-".into(), None),
    }
    if sy.ok() && x.ok() {
        add(
            "peak RSS <= XGBoost's (Parquet CLI vs NumPy)",
            format!("{:.0} MB vs {:.0} MB", sy.peak_rss_mb, x.peak_rss_mb),
            Some(sy.peak_rss_mb <= x.peak_rss_mb),
        );
        let (sp, xp) = (sy.predict().unwrap_or(f64::NAN), x.predict().unwrap_or(f64::NAN));
        add(
            "prediction throughput >= 2x XGBoost's",
            format!("{:.2}x ({:.0} vs {:.0} rows/s)", xp / sp, rows / sp, rows / xp),
            Some(xp / sp >= 2.0),
        );
    } else {
        add("peak RSS <= XGBoost's (Parquet CLI vs NumPy)", "-".into(), None);
        add("prediction throughput >= 2x XGBoost's", "-".into(), None);
    }
    if w.name == "higgs" {
        add(
            "Parquet load + binning < 10% of the training run",
            load_bin.map_or("-".into(), |f| format!("{:.1} %", 100.0 * f)),
            load_bin.map(|f| f < 0.10),
        );
    }

    let value = json!({
        "name": w.name,
        "task": w.task.name(),
        "train_rows": w.train_rows,
        "test_rows": w.test_rows,
        "features": w.features,
        "metric": metric,
        "params": w.params(s).into_iter().map(|(k, v)| (k.to_string(), Value::String(v))).collect::<serde_json::Map<_, _>>(),
        "results": {
            "sylvan": sy.to_json(w.test_rows),
            "xgboost": res[1].to_json(w.test_rows),
            "lightgbm": res[2].to_json(w.test_rows),
        },
        "sylvan_load_bin_fraction": load_bin,
        "ratios": ratios,
        "targets": targets,
    });
    (value, lines)
}
