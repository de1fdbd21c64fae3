//! The gain of every candidate threshold of one feature, over prefix sums: the vectorised inner
//! loop of the split search when there is no L1 penalty and no `max_delta_step`.
//!
//! The same loop is compiled three times: for AVX-512, for AVX2 and for the x86-64 baseline (SSE2),
//! and the widest the processor has runs. The arithmetic is the same in each (Rust never fuses a
//! multiply and an add on its own), so every variant gives bit-identical gains.

use crate::util::simd::simd_dispatch;
use std::cell::RefCell;

use crate::gradients::{CellScale, GradStats};
use crate::train::histogram::HistCell;

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
    fill_gains(prefix, scale, grads, hesses, inputs, gains);
}

simd_dispatch! {
    /// [`gains_loop`] for the widest instruction set the processor has. The AVX-512 variant also
    /// needs DQ, whose 64-bit integer <-> f64 conversions unpack the quantized i64 cells (the other
    /// kernels convert no 64-bit integers and need F only).
    fn fill_gains[C: HistCell], at fill_gains_at(
        prefix: &[C],
        scale: &CellScale,
        grads: &mut [f64],
        hesses: &mut [f64],
        inputs: GainInputs,
        gains: &mut [f64],
    ) = gains_loop;
    avx512 needs ["avx512f", "avx512dq"]
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
    use crate::util::simd::Isa;

    #[test]
    fn every_variant_gives_the_baseline_bits() {
        let n = 37;
        let cells: Vec<GradStats> = (0..n)
            .map(|i| GradStats::new(((i * 7919) % 101) as f64 / 7.0 - 6.0, (i as f64) * 0.37))
            .collect();
        let packed: Vec<i64> = (0..n as i64)
            .map(|i| crate::gradients::pack(((i * 31) % 17 - 8) as i32, (i * 3) as u32))
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
        fn both<C: HistCell>(cells: &[C], scale: &CellScale, inputs: GainInputs, isa: Isa) -> (Vec<u64>, Vec<u64>) {
            let n = cells.len();
            let (mut g, mut h, mut base, mut got) = (vec![0.0; n], vec![0.0; n], vec![0.0; n], vec![0.0; n]);
            gains_loop(cells, scale, &mut g, &mut h, inputs, &mut base);
            fill_gains_at(isa, cells, scale, &mut g, &mut h, inputs, &mut got);
            assert!(base.iter().any(|g| g.is_finite()) && base.contains(&f64::NEG_INFINITY));
            (
                got.iter().map(|g| g.to_bits()).collect(),
                base.iter().map(|g| g.to_bits()).collect(),
            )
        }
        for isa in Isa::available(&["avx512f", "avx512dq"]) {
            let (got, base) = both(&cells, &CellScale::IDENTITY, inputs, isa);
            assert_eq!(got, base, "{isa:?}");
            let (got, base) = both(&packed, &scale, inputs, isa);
            assert_eq!(got, base, "{isa:?}");
        }
    }
}
