//! Software prefetch for the kernels that gather rows by index (histogram building, partitioning):
//! the next rows' cache lines are requested while the current ones are summed.

/// How many rows ahead the histogram and partition kernels prefetch.
pub(crate) const PREFETCH_DISTANCE: usize = 16;

/// A hint to load the cache line holding `p`; never faults, whatever `p` is.
#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it reads nothing architecturally and cannot fault, even
    // for an address outside any allocation; SSE is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Whether `rows` (ascending and distinct, as a node's rows are) are consecutive: the root, or a
/// chunk of it, whose data streams through the cache on its own, so that prefetching ahead would
/// only take issue slots. The empty list counts as consecutive.
#[inline]
pub(crate) fn consecutive_rows(rows: &[u32]) -> bool {
    match (rows.first(), rows.last()) {
        (Some(&first), Some(&last)) => (last as usize).wrapping_sub(first as usize).wrapping_add(1) == rows.len(),
        _ => true,
    }
}
