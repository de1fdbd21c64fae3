//! C ABI for Sylvan. A stub until the bindings issue fills it.

pub use sylvan_booster::Booster;
