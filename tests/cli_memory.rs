//! `sylvan train` under a memory limit: a run whose estimate cannot fit stops with a clear error
//! naming the estimate and the limit (exit code 1) before its large allocations, instead of
//! aborting or being killed; `--verbose` prints the estimate. The limit is `ulimit -v` (the address
//! space), set by a shell around the binary.
#![cfg(target_os = "linux")]

mod cli_support;

use std::path::Path;
use std::process::{Command, Output};

use cli_support::{ok, s, stderr, sylvan, temp_dir, Lcg};

/// The address-space limit of the limited runs, in KiB (`ulimit -v`): the binary, its thread pool
/// and the data (10 MB) fit; 500 classes of 200,000 rows (1.7 GB of margins and gradients) do not.
const LIMIT_KIB: u64 = 1_000_000;

/// 200,000 rows of 5 features and a label among 500 classes, as CSV.
fn many_classes(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("many_classes.csv");
    let mut rng = Lcg(7);
    let mut text = String::from("a,b,c,d,e,label\n");
    for i in 0..200_000 {
        for _ in 0..5 {
            text.push_str(&format!("{:.4},", rng.next()));
        }
        text.push_str(&format!("{}\n", i % 500));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// `sylvan train` on `data` with 500 classes, under the address-space limit.
fn train_limited(data: &Path, model: &Path, env: &[(&str, &str)]) -> Output {
    let args = [
        "train",
        "--verbose",
        "--data",
        s(data),
        "--label",
        "label",
        "--set",
        "objective=multi:softprob",
        "--set",
        "num_class=500",
        "--set",
        "num_round=2",
        "--no-eval",
        "--model-out",
        s(model),
    ];
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_sylvan"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("sh runs")
}

#[test]
fn a_run_that_cannot_fit_the_limit_stops_with_the_estimate_not_a_kill() {
    let dir = temp_dir("limit");
    let data = many_classes(&dir);
    let model = dir.join("model.json");
    let o = train_limited(&data, &model, &[]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "a clean error exit, not a signal: {err}");
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: not enough memory: training needs an estimated "),
        "{err}"
    );
    for part in ["margins", "gradient pairs", "ulimit -v", "SYLVAN_NO_MEMORY_CHECK=1"] {
        assert!(last.contains(part), "no `{part}` in: {last}");
    }
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation of"),
        "{err}"
    );
    assert!(!model.exists(), "no model is written");

    // Without the check the same run gets as far as the allocation that does not fit, and dies.
    let unchecked = train_limited(&data, &model, &[("SYLVAN_NO_MEMORY_CHECK", "1")]);
    assert!(!unchecked.status.success(), "{}", stderr(&unchecked));
    assert_ne!(unchecked.status.code(), Some(1), "{}", stderr(&unchecked));
    assert!(!model.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn verbose_prints_the_estimate_and_the_memory_available() {
    let dir = temp_dir("verbose");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/breast_cancer_train.parquet");
    let model = dir.join("m.json");
    let run = |verbose: bool| {
        let mut args = vec![
            "train",
            "--data",
            s(&data),
            "--label",
            "malignant",
            "--set",
            "num_round=3",
            "--model-out",
            s(&model),
        ];
        if verbose {
            args.push("-v");
        }
        sylvan(&args)
    };
    let o = run(true);
    let err = stderr(&o);
    ok(o);
    let line = err
        .lines()
        .find(|l| l.starts_with("memory: training needs an estimated "))
        .unwrap_or_else(|| panic!("no estimate in: {err}"));
    assert!(
        line.contains("binned matrix") && line.contains("histograms") && line.contains("available"),
        "{line}"
    );
    let quiet = run(false);
    assert!(!stderr(&quiet).contains("memory:"), "{}", stderr(&quiet));
    ok(quiet);
    let _ = std::fs::remove_dir_all(&dir);
}
