//! Keeps `include/sylvan.h` in sync with the Rust code: regenerates it with cbindgen (from
//! `src/lib.rs` and `cbindgen.toml`) and compares it with the checked-in file. Run with
//! `SYLVAN_BLESS_HEADER=1` to rewrite the header after changing the ABI.

use std::path::Path;

#[test]
fn header_matches_the_rust_code() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml parses");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let generated = String::from_utf8(generated).expect("the header is UTF-8");
    let path = dir.join("include/sylvan.h");
    if std::env::var_os("SYLVAN_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("include/sylvan.h is writable");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/sylvan.h is out of date with src/lib.rs; regenerate it with\n  \
         SYLVAN_BLESS_HEADER=1 cargo test -p sylvan-capi --test header\n--- generated ---\n{generated}"
    );
}

/// Every `#[no_mangle]` function of the crate is declared in the header (a second, simpler check
/// that does not trust cbindgen's view of the code).
#[test]
fn every_exported_function_is_declared() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let src = std::fs::read_to_string(dir.join("src/lib.rs")).expect("src/lib.rs is readable");
    let header = std::fs::read_to_string(dir.join("include/sylvan.h")).expect("include/sylvan.h is readable");
    let mut names = Vec::new();
    let mut lines = src.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "#[no_mangle]" {
            let decl = lines.next().unwrap_or_default();
            let name = decl
                .split("fn ")
                .nth(1)
                .and_then(|rest| rest.split('(').next())
                .unwrap_or_else(|| panic!("no function after #[no_mangle]: {decl}"));
            names.push(name.trim().to_string());
        }
    }
    assert!(names.len() >= 12, "found only {names:?}");
    for name in &names {
        let declared = [" ", "*"]
            .iter()
            .any(|before| header.contains(&format!("{before}{name}(")));
        assert!(declared, "{name} is not declared in include/sylvan.h");
    }
}
