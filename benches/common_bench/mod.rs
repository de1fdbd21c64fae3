//! Small helpers shared by the benchmarks in benches/: environment settings, the load-average
//! warning, and running a Python anchor script that prints its result as JSON.
//!
//! Include it with `#[path = "common_bench/mod.rs"] mod common_bench;`. It lives in a folder so that
//! Cargo does not take it for a benchmark target of its own.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The value of the environment variable `name` as a count (`_` separators allowed), else `default`.
/// Panics with the variable's name when it is set but not a number.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// Whether the XGBoost/LightGBM anchors should run: yes unless `SYLVAN_BENCH_ANCHORS=0`.
pub fn anchors_enabled() -> bool {
    std::env::var("SYLVAN_BENCH_ANCHORS").map_or(true, |v| v != "0")
}

/// Timings mean little while other processes compete for the cores (XGBoost's and LightGBM's
/// OpenMP threads suffer most): say so when the load average shows them.
pub fn warn_if_busy() {
    let Ok(text) = std::fs::read_to_string("/proc/loadavg") else {
        return;
    };
    let Some(load) = text.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()) else {
        return;
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if load > 0.5 {
        println!(
            "warning: 1-minute load average {load:.2} on {cores} cores before the benchmark: other processes are \
             running, and the times below (OpenMP-based XGBoost and LightGBM above all) may be inflated"
        );
    }
}

/// Runs `python script args...` and parses the last line of its stdout as JSON. The error is a
/// sentence to print after "anchors ": why the script did not run or gave no result.
pub fn run_json_script(python: &Path, script: &Path, args: &[&std::ffi::OsStr]) -> Result<serde_json::Value, String> {
    let out = match Command::new(python).arg(script).args(args).output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            return Err(format!(
                "failed:\n{}\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ))
        }
        Err(e) => return Err(format!("skipped: could not run {}: {e}", python.display())),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .ok_or_else(|| format!("printed no result:\n{stdout}"))
}
