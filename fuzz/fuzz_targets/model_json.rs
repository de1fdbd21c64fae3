//! Fuzz target `model_json`: the check `checks::model_json` (tests/fuzz_checks/mod.rs) on each input.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::model_json(data));
