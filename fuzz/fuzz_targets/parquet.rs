//! Fuzz target `parquet`: the check `checks::parquet` (tests/fuzz_checks/mod.rs) on each input.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(init: checks::allow_caught_panics(), |data: &[u8]| checks::parquet(data));
