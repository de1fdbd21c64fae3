//! Fuzz target `capi_params`: the check `checks::capi_params` (tests/fuzz_checks/mod.rs) on each input.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::capi_params(data));
