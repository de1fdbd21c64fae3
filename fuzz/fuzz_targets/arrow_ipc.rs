//! Fuzz target `arrow_ipc`: the check `checks::arrow_ipc` (tests/fuzz_checks/mod.rs) on each input.
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(init: checks::allow_caught_panics(), |data: &[u8]| checks::arrow_ipc(data));
