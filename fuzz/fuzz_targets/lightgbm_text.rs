//! Fuzz target `lightgbm_text`: the check `checks::lightgbm_text` (tests/fuzz_checks/mod.rs) on each input.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::lightgbm_text(data));
