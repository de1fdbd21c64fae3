//! Replays the committed fuzz corpus (`fuzz/corpus/<target>/`) and every input that once crashed a
//! target (`fuzz/regressions/<target>/`) through the same checks the fuzz targets run
//! (tests/fuzz_checks/mod.rs), on the stable toolchain. A panic fails the test and names the file.

mod fuzz_checks;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn corpus_and_regressions_pass_their_checks() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut failures = Vec::new();
    let mut seeds = 0;
    for (target, check) in fuzz_checks::TARGETS {
        let mut count = 0;
        for kind in ["corpus", "regressions"] {
            for file in files(&root.join(kind).join(target)) {
                let data = std::fs::read(&file).expect("cannot read a corpus file");
                if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
                    let message = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    failures.push(format!("{}: {message}", file.display()));
                }
                count += 1;
                seeds += usize::from(kind == "corpus");
            }
        }
        assert!(count > 0, "no corpus for fuzz target `{target}`");
    }
    assert!(seeds >= fuzz_checks::TARGETS.len());
    assert!(
        failures.is_empty(),
        "{} inputs fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_fuzz_target_has_a_check() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/fuzz_targets");
    for file in files(&dir) {
        let name = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        assert!(
            fuzz_checks::check_for(name).is_some(),
            "fuzz target `{name}` has no check"
        );
    }
}
