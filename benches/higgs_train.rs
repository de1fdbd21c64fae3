//! Training benchmark on generated data of the HIGGS shape, side by side with XGBoost and LightGBM.
//!
//! `cargo bench --bench higgs_train` generates 1,000,000 x 28 training rows and a 100,000-row test
//! set (`common::higgs_like`: kinematic-like features, derived masses, binary labels from a
//! nonlinear function plus noise), trains Sylvan with 100 rounds, eta 0.1, max_depth 8,
//! max_bin 255, lambda 1, 2 threads, and reports the wall-clock training time and the test AUC.
//! It then writes the same data as .npy files and runs `benches/python/anchors.py`, which trains
//! XGBoost (hist) and LightGBM on them with the same settings and thread count, and prints a table.
//! Nothing is asserted about time (shared/DESIGN.md: benchmarks are run, not asserted).
//!
//! What the time includes, for every tool: from an in-memory float matrix already wrapped in the
//! tool's data object (Sylvan `Dataset`, `xgboost.DMatrix`, `lightgbm.Dataset`) to a trained model,
//! i.e. quantile binning plus all boosting rounds. Data generation, file writing and loading,
//! prediction and AUC are outside the clock.
//!
//! Environment:
//! - `SYLVAN_BENCH_ROWS`: training rows (default 1,000,000); `SYLVAN_BENCH_TEST_ROWS` (100,000).
//! - `SYLVAN_BENCH_THREADS`: threads for every tool (default 2).
//! - `SYLVAN_BENCH_REPEAT`: train each tool this many times and report its fastest run (default 1).
//! - `SYLVAN_BENCH_ANCHORS=0`: skip XGBoost and LightGBM.
//! - `SYLVAN_PYTHON`: the Python with xgboost/lightgbm (default: the CI venv, then python3).
//!
//! Measure on an otherwise idle machine: the benchmark warns when the load average says it is not.
//! XGBoost's and LightGBM's OpenMP threads spin while they wait, and on a busy 2-core machine their
//! times grow several-fold (seen: XGBoost 1.9 s quiet vs 17-21 s beside a compiler, 200k rows).
//! `OMP_WAIT_POLICY=PASSIVE` softens that, but is not how the libraries run by default.
//!
//! Run without `--bench` (as `cargo test --bench higgs_train` does) it only trains once on a small
//! data set and checks the result is sane: a smoke test that keeps the benchmark from rotting.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "common_bench/mod.rs"]
mod common_bench;

use std::time::Instant;

use common_bench::{env_usize, warn_if_busy};

use sylvan::{Booster, Dataset, PredictOptions};

struct Settings {
    train_rows: usize,
    test_rows: usize,
    rounds: usize,
    threads: usize,
    repeat: usize,
    anchors: bool,
}

fn params(s: &Settings) -> Vec<(&'static str, String)> {
    vec![
        ("objective", "binary:logistic".into()),
        ("tree_method", "hist".into()),
        ("num_round", s.rounds.to_string()),
        ("eta", "0.1".into()),
        ("max_depth", "8".into()),
        ("max_bin", "255".into()),
        ("lambda", "1".into()),
        ("min_child_weight", "1".into()),
        ("nthread", s.threads.to_string()),
    ]
}

struct Row {
    tool: String,
    seconds: f64,
    auc: f64,
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let s = if bench_mode {
        Settings {
            train_rows: env_usize("SYLVAN_BENCH_ROWS", 1_000_000),
            test_rows: env_usize("SYLVAN_BENCH_TEST_ROWS", 100_000),
            rounds: 100,
            threads: env_usize("SYLVAN_BENCH_THREADS", 2),
            repeat: env_usize("SYLVAN_BENCH_REPEAT", 1).max(1),
            anchors: common_bench::anchors_enabled(),
        }
    } else {
        Settings {
            train_rows: 5_000,
            test_rows: 2_000,
            rounds: 5,
            threads: 2,
            repeat: 1,
            anchors: false,
        }
    };
    let p = params(&s);
    let pairs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();

    println!(
        "higgs_train: {} x 28 training rows, {} test rows, {} rounds, eta 0.1, max_depth 8, max_bin 255, lambda 1, {} threads{}",
        s.train_rows,
        s.test_rows,
        s.rounds,
        s.threads,
        if bench_mode { "" } else { " (smoke run; `cargo bench --bench higgs_train` for the benchmark)" }
    );
    if bench_mode {
        warn_if_busy();
    }
    let t = Instant::now();
    let (train, test) = common::higgs_like(s.train_rows + s.test_rows, 2026).split_at(s.train_rows);
    let positives = train.labels.iter().filter(|y| **y > 0.5).count() as f64 / s.train_rows as f64;
    println!(
        "generated in {:.1} s ({:.1} % positive)",
        t.elapsed().as_secs_f64(),
        positives * 100.0
    );

    // Sylvan. The Dataset is built before the clock starts, like the DMatrix / lgb.Dataset.
    let train_ds = Dataset::from_columns(train.columns.clone())
        .and_then(|d| d.with_labels(train.labels.clone()))
        .expect("valid training data");
    let test_ds = Dataset::from_columns(test.columns.clone()).expect("valid test data");
    let sylvan_params = common::sylvan_params(&pairs);
    let mut times = Vec::new();
    let mut booster = None;
    for _ in 0..s.repeat {
        let start = Instant::now();
        booster = Some(Booster::train(&sylvan_params, &train_ds, &[]).expect("Sylvan trains"));
        times.push(start.elapsed().as_secs_f64());
    }
    let booster = booster.expect("at least one run");
    let sylvan_seconds = times.iter().copied().fold(f64::INFINITY, f64::min);
    if s.repeat > 1 {
        println!(
            "sylvan runs: {:?} s",
            times.iter().map(|t| (t * 100.0).round() / 100.0).collect::<Vec<_>>()
        );
    }
    drop(train_ds);
    let pred = booster
        .predict(&test_ds, PredictOptions::default())
        .expect("Sylvan predicts");
    let sylvan_auc = common::auc(&test.labels, &pred.values);
    println!("sylvan: trained in {sylvan_seconds:.2} s, test AUC {sylvan_auc:.5}");
    let mut rows = vec![Row {
        tool: "sylvan".into(),
        seconds: sylvan_seconds,
        auc: sylvan_auc,
    }];

    if !bench_mode {
        assert_eq!(booster.num_trees(), s.rounds, "one tree per round");
        assert!(
            sylvan_auc > 0.6,
            "smoke run: test AUC {sylvan_auc} is no better than chance"
        );
        println!("smoke run ok");
        return;
    }

    if s.anchors {
        run_anchors(&s, &pairs, &train, &test, &mut rows);
    } else {
        println!("anchors skipped (SYLVAN_BENCH_ANCHORS=0)");
    }

    println!();
    println!(
        "{:<10} {:>14} {:>9} {:>22}",
        "tool", "train seconds", "test AUC", "Sylvan time / tool time"
    );
    for r in &rows {
        println!(
            "{:<10} {:>14.2} {:>9.5} {:>22.2}",
            r.tool,
            r.seconds,
            r.auc,
            sylvan_seconds / r.seconds
        );
    }
    if let Some(x) = rows.iter().find(|r| r.tool == "xgboost") {
        println!(
            "\nSylvan / XGBoost training time: {:.2}x (issue 2 goal: at most 1.5x); AUC difference {:+.5}",
            sylvan_seconds / x.seconds,
            sylvan_auc - x.auc
        );
    }
}

/// Writes the data as .npy and runs anchors.py; adds its rows, or prints why there are none.
fn run_anchors(s: &Settings, pairs: &[(&str, &str)], train: &common::Table, test: &common::Table, rows: &mut Vec<Row>) {
    let Some(reference) = common::reference() else {
        println!("anchors skipped: no Python with xgboost (set SYLVAN_PYTHON)");
        return;
    };
    let dir = common::ScratchDir::new("bench-higgs");
    let t = Instant::now();
    if let Err(e) = train
        .write_npy(dir.path(), "train")
        .and_then(|_| test.write_npy(dir.path(), "test"))
    {
        println!(
            "anchors skipped: could not write .npy files to {}: {e}",
            dir.path().display()
        );
        return;
    }
    println!(
        "wrote .npy files in {:.1} s; running XGBoost and LightGBM ({} rounds each)",
        t.elapsed().as_secs_f64(),
        s.rounds
    );
    let script = common::repo_root().join("benches/python/anchors.py");
    let (params, repeat) = (common::params_json(pairs), s.repeat.to_string());
    let args = [
        "--dir".as_ref(),
        dir.path().as_os_str(),
        "--params".as_ref(),
        params.as_ref(),
        "--repeat".as_ref(),
        repeat.as_ref(),
    ];
    let result = match common_bench::run_json_script(&reference.python, &script, &args) {
        Ok(r) => r,
        Err(why) => {
            println!("anchors {why}");
            return;
        }
    };
    for tool in ["xgboost", "lightgbm"] {
        let r = &result[tool];
        match (r["train_seconds"].as_f64(), r["auc"].as_f64()) {
            (Some(seconds), Some(auc)) => {
                println!(
                    "{tool} {}: trained in {seconds:.2} s, test AUC {auc:.5}{}",
                    r["version"].as_str().unwrap_or("?"),
                    if s.repeat > 1 {
                        format!(" (runs: {})", r["all_seconds"])
                    } else {
                        String::new()
                    }
                );
                rows.push(Row {
                    tool: tool.into(),
                    seconds,
                    auc,
                });
            }
            _ => println!("{tool}: not run ({})", r["error"].as_str().unwrap_or("no result")),
        }
    }
}
