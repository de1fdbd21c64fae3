//! Fuzz target `model_binary`: the check `checks::model_binary` (tests/fuzz_checks/mod.rs) on each input.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::model_binary(data));
