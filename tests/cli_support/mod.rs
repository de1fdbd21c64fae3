//! Helpers of the tests that run the `sylvan` binary: a fresh directory per test, running the
//! binary, asserting success or a clean failure, and a small deterministic generator.
//!
//! Include it with `mod cli_support;`. Not every test uses every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh directory for one test, named after the test binary and `name`.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "sylvan-{}-{name}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the binary.
pub fn sylvan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sylvan"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// The process's standard output.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The process's standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(o: Output) -> String {
    assert!(o.status.success(), "failed: {}\n{}", stderr(&o), stdout(&o));
    stdout(&o)
}

/// Asserts a clean failure (non-zero, not a panic, an error message) and returns stderr.
pub fn fails_cleanly(o: Output) -> String {
    let err = stderr(&o);
    assert!(!o.status.success(), "should fail: {}", stdout(&o));
    assert_ne!(o.status.code(), Some(101), "panicked: {err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    assert!(err.contains("error"), "{err}");
    err
}

/// Asserts a clean failure with one `error:` line and returns that line.
pub fn fails(o: Output) -> String {
    let err = fails_cleanly(o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {err}");
    assert!(lines[0].starts_with("error: "), "{err}");
    lines[0].to_string()
}

/// A path as an argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A tiny deterministic generator (no external randomness in tests).
pub struct Lcg(pub u64);

impl Lcg {
    /// The next value, uniform in [0, 1).
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}
