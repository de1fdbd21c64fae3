//! Helpers shared by several stages: run-time SIMD dispatch ([`simd`]), a portable vectorisable
//! `exp` ([`fastmath`]), memory prefetch ([`prefetch`]), atomic file writes ([`atomic_file`]) and
//! weighted statistics ([`stats`]), order-independent fixed-point sums ([`fixed_point`]), the per-phase
//! training profile ([`profile`]), the memory the process may still allocate ([`available_memory`]).

pub(crate) mod atomic_file;
pub(crate) mod available_memory;
pub(crate) mod fastmath;
pub(crate) mod fixed_point;
pub(crate) mod prefetch;
pub mod profile;
pub(crate) mod simd;
pub(crate) mod stats;
