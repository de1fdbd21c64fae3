//! The gain of every candidate threshold of one feature, over prefix sums: the vectorised inner
//! loop of the split search when there is no L1 penalty and no `max_delta_step`.
//!
//! The same loop is compiled three times: for AVX-512, for AVX2 and for the x86-64 baseline (SSE2),
//! and the widest the processor has runs. The arithmetic is the same in each (Rust never fuses a
//! multiply and an add on its own), so every variant gives bit-identical gains.

use std::cell::RefCell;

use crate::hist::{CellScale, GradStats, HistCell};

/// What the gain of a candidate needs besides its left child's sums.
#[derive(Debug, Clone, Copy)]
pub(super) struct GainInputs {
    /// The node's sums.
    pub total: GradStats,
    /// L2 regularisation (`lambda`).
    pub lambda: f64,
    /// The smallest hessian sum a child may have (`min_child_weight`).
    pub min_child_weight: f64,
    /// The node's own score, subtracted from the children's.
    pub parent_gain: f64,
}

thread_local! {
    /// Per-thread buffers of [`first_best`]: left gradient sums, hessian sums and gains.
    static SCRATCH: RefCell<(Vec<f64>, Vec<f64>, Vec<f64>)> = const { RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

/// The first largest gain over the candidates whose left-child cells are `prefix` (candidate `b`
/// puts the rows of `prefix[b]` on the left), with its index, or `None` without candidates; see
/// [`gains_loop`] for the gain.
pub(super) fn first_best<C: HistCell>(prefix: &[C], scale: &CellScale, inputs: GainInputs) -> Option<(f64, usize)> {
    if prefix.is_empty() {
        return None;
    }
    SCRATCH.with(|scratch| {
        let (grads, hesses, gains) = &mut *scratch.borrow_mut();
        for v in [&mut *grads, &mut *hesses, &mut *gains] {
            v.clear();
            v.resize(prefix.len(), 0.0);
        }
        plain_gains(prefix, scale, grads, hesses, inputs, gains);
        let mut best = (gains[0], 0);
        for (b, &gain) in gains.iter().enumerate().skip(1) {
            if gain > best.0 {
                best = (gain, b);
            }
        }
        Some(best)
    })
}

/// Unpacks the cells `prefix` into `grads` and `hesses`, then writes into `gains[b]` the gain of
/// putting the rows of `prefix[b]` on the left (see [`gains_loop`]). All have the same length.
fn plain_gains<C: HistCell>(
    prefix: &[C],
    scale: &CellScale,
    grads: &mut [f64],
    hesses: &mut [f64],
    inputs: GainInputs,
    gains: &mut [f64],
) {
    assert!(prefix.len() == grads.len() && grads.len() == hesses.len() && gains.len() == grads.len());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512dq") {
            // SAFETY: the processor has AVX-512F and DQ (checked above).
            return unsafe { gains_avx512(prefix, scale, grads, hesses, inputs, gains) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2 (checked above).
            return unsafe { gains_avx2(prefix, scale, grads, hesses, inputs, gains) };
        }
    }
    gains_loop(prefix, scale, grads, hesses, inputs, gains);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq")]
unsafe fn gains_avx512<C: HistCell>(
    prefix: &[C],
    scale: &CellScale,
    grads: &mut [f64],
    hesses: &mut [f64],
    inputs: GainInputs,
    gains: &mut [f64],
) {
    gains_loop(prefix, scale, grads, hesses, inputs, gains);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn gains_avx2<C: HistCell>(
    prefix: &[C],
    scale: &CellScale,
    grads: &mut [f64],
    hesses: &mut [f64],
    inputs: GainInputs,
    gains: &mut [f64],
) {
    gains_loop(prefix, scale, grads, hesses, inputs, gains);
}

/// The gain of candidate `b`: `g²/(h+λ) + g_r²/(h_r+λ) - parent` for the left sums of `prefix[b]`
/// and right sums `total - left`, or `-inf` when a child's hessian sum is below
/// `min_child_weight` or not positive. Inlined into each variant so that each is compiled for its
/// instruction set.
#[inline(always)]
fn gains_loop<C: HistCell>(
    prefix: &[C],
    scale: &CellScale,
    grads: &mut [f64],
    hesses: &mut [f64],
    inputs: GainInputs,
    gains: &mut [f64],
) {
    for ((c, g), h) in prefix.iter().zip(grads.iter_mut()).zip(hesses.iter_mut()) {
        let s = c.stats(scale);
        (*g, *h) = (s.grad, s.hess);
    }
    let GainInputs {
        total,
        lambda,
        min_child_weight: mcw,
        parent_gain,
    } = inputs;
    for ((out, &g), &h) in gains.iter_mut().zip(&*grads).zip(&*hesses) {
        let (gr, hr) = (total.grad - g, total.hess - h);
        let ok = h >= mcw && h > 0.0 && hr >= mcw && hr > 0.0;
        // The same arithmetic as `node_gain(left) + node_gain(right) - parent_gain`.
        let gain = g * g / (h + lambda) + gr * gr / (hr + lambda) - parent_gain;
        *out = if ok { gain } else { f64::NEG_INFINITY };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_gives_the_baseline_bits() {
        let n = 37;
        let cells: Vec<GradStats> = (0..n)
            .map(|i| GradStats::new(((i * 7919) % 101) as f64 / 7.0 - 6.0, (i as f64) * 0.37))
            .collect();
        let packed: Vec<i64> = (0..n as i64)
            .map(|i| crate::quantize::pack(((i * 31) % 17 - 8) as i32, (i * 3) as u32))
            .collect();
        let inputs = GainInputs {
            total: GradStats::new(3.25, 14.0),
            lambda: 1.0,
            min_child_weight: 0.5,
            parent_gain: 0.7,
        };
        let scale = CellScale {
            grad_unit: 0.125,
            hess_unit: 0.25,
        };
        fn both<C: HistCell>(cells: &[C], scale: &CellScale, inputs: GainInputs) -> (Vec<u64>, Vec<u64>) {
            let n = cells.len();
            let (mut g, mut h, mut base, mut got) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            gains_loop(cells, scale, &mut g, &mut h, inputs, &mut base);
            plain_gains(cells, scale, &mut g, &mut h, inputs, &mut got);
            assert!(base.iter().any(|g| g.is_finite()) && base.iter().any(|g| *g == f64::NEG_INFINITY));
            (
                got.iter().map(|g| g.to_bits()).collect(),
                base.iter().map(|g| g.to_bits()).collect(),
            )
        }
        let (got, base) = both(&cells, &CellScale::IDENTITY, inputs);
        assert_eq!(got, base);
        let (got, base) = both(&packed, &scale, inputs);
        assert_eq!(got, base);
    }
}
