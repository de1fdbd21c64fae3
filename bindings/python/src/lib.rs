//! Python bindings for Sylvan (PyO3 + maturin). A stub until the bindings issue fills it.

pub use sylvan_booster::Booster;
