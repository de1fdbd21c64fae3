//! Training time of each split-finding method (`tree_method` exact, approx, hist) on generated data
//! of the HIGGS shape, side by side with XGBoost's same method measured in the same run.
//!
//! `cargo bench --bench split_methods` generates 100,000 x 28 training rows and a 20,000-row test set
//! (`common::higgs_like`), and for each method trains Sylvan with objective binary:logistic, 50
//! rounds, eta 0.1, max_depth 6, lambda 1, max_bin 256 (approx sketches that many bins per feature;
//! exact does not bin) and 2 threads, and reports the wall-clock training time and the test AUC.
//! It then writes the same data as .npy files and runs `benches/python/split_methods.py`, which
//! trains XGBoost with the same `tree_method`, settings and thread count, and prints a table with
//! the ratio XGBoost seconds / Sylvan seconds (above 1: Sylvan is faster). Nothing is asserted about
//! time (shared/DESIGN.md: benchmarks are run, not asserted).
//!
//! What the time includes, for both tools and every method: the `Booster::train` call only (for
//! XGBoost, `xgboost.train`), from an in-memory float matrix already wrapped in the tool's data
//! object (Sylvan `Dataset`, `xgboost.DMatrix`, a fresh one for every method) to a trained model.
//! That is the method's own preparation (the pre-sorted column blocks of exact and approx, the
//! quantile cuts and binned matrix of hist, the per-tree sketches of approx) plus all boosting
//! rounds. Data generation, file writing and loading, prediction and AUC are outside the clock.
//!
//! Environment:
//! - `SYLVAN_BENCH_ROWS`: training rows (default 100,000); `SYLVAN_BENCH_TEST_ROWS` (20,000).
//! - `SYLVAN_BENCH_THREADS`: threads for both tools (default 2).
//! - `SYLVAN_BENCH_ANCHORS=0`: skip XGBoost.
//! - `SYLVAN_PYTHON`: the Python with xgboost (default: the CI venv, then python3).
//!
//! Measure on an otherwise idle machine: the benchmark warns when the load average says it is not
//! (XGBoost's OpenMP threads spin while they wait and suffer most on a busy machine).
//!
//! Run without `--bench` (as `cargo test --bench split_methods` does) it trains every method once on
//! a small data set (3,000 rows, 10 rounds) and checks the result is sane (test AUC above 0.6, one
//! tree per round), and runs the XGBoost anchors on it too when a Python with xgboost is found: a
//! smoke test that keeps the benchmark and its script from rotting.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "common_bench/mod.rs"]
mod common_bench;

use std::time::Instant;

use common_bench::env_usize;
use sylvan::{Booster, PredictOptions};

/// The methods compared, in table order.
const METHODS: [&str; 3] = ["exact", "approx", "hist"];

struct Settings {
    train_rows: usize,
    test_rows: usize,
    rounds: usize,
    threads: usize,
    anchors: bool,
}

/// The settings shared by both tools and every method (XGBoost names); `tree_method` is added per run.
fn params(s: &Settings) -> Vec<(&'static str, String)> {
    vec![
        ("objective", "binary:logistic".into()),
        ("num_round", s.rounds.to_string()),
        ("eta", "0.1".into()),
        ("max_depth", "6".into()),
        ("lambda", "1".into()),
        ("min_child_weight", "1".into()),
        ("max_bin", "256".into()),
        ("nthread", s.threads.to_string()),
    ]
}

/// One method's results; the XGBoost side is `None` when it was not run.
struct Row {
    method: &'static str,
    sylvan_seconds: f64,
    sylvan_auc: f64,
    xgboost: Option<(f64, f64)>,
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let s = if bench_mode {
        Settings {
            train_rows: env_usize("SYLVAN_BENCH_ROWS", 100_000),
            test_rows: env_usize("SYLVAN_BENCH_TEST_ROWS", 20_000),
            rounds: 50,
            threads: env_usize("SYLVAN_BENCH_THREADS", 2),
            anchors: common_bench::anchors_enabled(),
        }
    } else {
        Settings {
            train_rows: 3_000,
            test_rows: 2_000,
            rounds: 10,
            threads: 2,
            anchors: common_bench::anchors_enabled(),
        }
    };
    let shared = params(&s);

    println!(
        "split_methods: {} x 28 training rows, {} test rows, {} rounds, eta 0.1, max_depth 6, lambda 1, max_bin 256, \
         {} threads{}",
        s.train_rows,
        s.test_rows,
        s.rounds,
        s.threads,
        if bench_mode {
            ""
        } else {
            " (smoke run; `cargo bench --bench split_methods` for the benchmark)"
        }
    );
    if bench_mode {
        common_bench::warn_if_busy();
    }
    let t = Instant::now();
    let (train, test) = common::higgs_like(s.train_rows + s.test_rows, 2026).split_at(s.train_rows);
    println!("generated in {:.1} s", t.elapsed().as_secs_f64());

    let test_ds = sylvan::Dataset::from_columns(test.columns.clone()).expect("valid test data");
    let mut rows = Vec::new();
    for method in METHODS {
        let mut p = shared.clone();
        p.push(("tree_method", method.into()));
        let pairs: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let sylvan_params = common::sylvan_params(&pairs);
        // A fresh Dataset for every method, built before the clock starts (like XGBoost's DMatrix).
        let train_ds = train.to_dataset();
        let start = Instant::now();
        let booster = Booster::train(&sylvan_params, &train_ds, &[]).expect("Sylvan trains");
        let seconds = start.elapsed().as_secs_f64();
        drop(train_ds);
        let pred = booster
            .predict(&test_ds, PredictOptions::default())
            .expect("Sylvan predicts");
        let auc = common::auc(&test.labels, &pred.values);
        println!("sylvan {method}: trained in {seconds:.2} s, test AUC {auc:.5}");
        if !bench_mode {
            assert_eq!(booster.num_trees(), s.rounds, "{method}: one tree per round");
            assert!(
                auc > 0.6,
                "smoke run, {method}: test AUC {auc} is no better than chance"
            );
        }
        rows.push(Row {
            method,
            sylvan_seconds: seconds,
            sylvan_auc: auc,
            xgboost: None,
        });
    }

    let pairs: Vec<(&str, &str)> = shared.iter().map(|(k, v)| (*k, v.as_str())).collect();
    if s.anchors {
        run_anchors(&s, &pairs, &train, &test, &mut rows, bench_mode);
    } else {
        println!("anchors skipped (SYLVAN_BENCH_ANCHORS=0)");
    }

    println!();
    println!(
        "{:<8} {:>9} {:>10} {:>21} {:>11} {:>12}",
        "method", "Sylvan s", "XGBoost s", "XGBoost s / Sylvan s", "Sylvan AUC", "XGBoost AUC"
    );
    for r in &rows {
        let (xs, ratio, xa) = match r.xgboost {
            Some((seconds, auc)) => (
                format!("{seconds:.2}"),
                format!("{:.2}", seconds / r.sylvan_seconds),
                format!("{auc:.5}"),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<8} {:>9.2} {:>10} {:>21} {:>11.5} {:>12}",
            r.method, r.sylvan_seconds, xs, ratio, r.sylvan_auc, xa
        );
    }
    println!(
        "(XGBoost s / Sylvan s above 1: Sylvan trains faster; both times are Booster::train / xgboost.train only)"
    );
    if !bench_mode {
        println!("smoke run ok");
    }
}

/// Writes the data as .npy and runs split_methods.py for every method; fills in the XGBoost side of
/// `rows`, or prints why it stays empty. In the smoke run it also checks XGBoost's AUC.
fn run_anchors(
    s: &Settings,
    pairs: &[(&str, &str)],
    train: &common::Table,
    test: &common::Table,
    rows: &mut [Row],
    bench_mode: bool,
) {
    let Some(reference) = common::reference() else {
        println!("anchors skipped: no Python with xgboost (set SYLVAN_PYTHON)");
        return;
    };
    let dir = common::ScratchDir::new("bench-split-methods");
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
    println!("running XGBoost ({} rounds per method)", s.rounds);
    let script = common::repo_root().join("benches/python/split_methods.py");
    let (params, methods) = (common::params_json(pairs), METHODS.join(","));
    let args = [
        "--dir".as_ref(),
        dir.path().as_os_str(),
        "--params".as_ref(),
        params.as_ref(),
        "--methods".as_ref(),
        methods.as_ref(),
    ];
    let result = match common_bench::run_json_script(&reference.python, &script, &args) {
        Ok(r) => r,
        Err(why) => {
            assert!(bench_mode, "smoke run: anchors {why}");
            println!("anchors {why}");
            return;
        }
    };
    let version = result["xgboost_version"].as_str().unwrap_or("?");
    for row in rows.iter_mut() {
        let r = &result["methods"][row.method];
        match (r["train_seconds"].as_f64(), r["auc"].as_f64()) {
            (Some(seconds), Some(auc)) => {
                println!(
                    "xgboost {version} {}: trained in {seconds:.2} s, test AUC {auc:.5}",
                    row.method
                );
                if !bench_mode {
                    assert!(auc > 0.6, "smoke run, XGBoost {}: test AUC {auc}", row.method);
                }
                row.xgboost = Some((seconds, auc));
            }
            _ => println!(
                "xgboost {}: not run ({})",
                row.method,
                r["error"].as_str().unwrap_or("no result")
            ),
        }
    }
}
