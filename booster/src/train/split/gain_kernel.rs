//! The gain of every candidate threshold of one feature, over prefix sums: the vectorised inner
//! loop of the split search, for the plain formula (no L1 penalty, no `max_delta_step`, no monotone
//! constraint) and for the bounded one (under monotone constraints: the gain of the children's
//! clamped weights, see [`crate::train::constraints::monotone`]).
//!
//! The same loop is compiled three times: for AVX-512, for AVX2 and for the x86-64 baseline (SSE2),
//! and the widest the processor has runs. The arithmetic is the same in each (Rust never fuses a
//! multiply and an add on its own), so every variant gives bit-identical gains.

use crate::util::simd::simd_dispatch;

use super::threshold_l1;
use crate::gradients::{CellScale, GradStats};
use crate::train::constraints::monotone::Bounds;
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
    /// `None`: the plain formula ([`plain_gains`]); `Some`: the bounded one ([`bounded_gains`]).
    pub bounded: Option<BoundedInputs>,
}

/// What the bounded gain (under monotone constraints) needs besides [`GainInputs`].
#[derive(Debug, Clone, Copy)]
pub(super) struct BoundedInputs {
    /// L1 regularisation (`alpha`).
    pub alpha: f64,
    /// `max_delta_step` (0 = none).
    pub max_delta_step: f64,
    /// The node's bounds on a child's weight.
    pub bounds: Bounds,
    /// The feature's constraint: +1 refuses a left weight above the right one, -1 the reverse.
    pub constraint: i8,
}

/// Candidates whose gains one step of [`best_gain_loop`] computes on the stack: a few vector
/// registers' worth, so that no buffer as long as the feature's bins is written and read back.
const CHUNK: usize = 16;

/// The first largest gain over the candidates whose left-child cells are `prefix` (candidate `b`
/// puts the rows of `prefix[b]` on the left), with its index, or `None` without candidates; see
/// [`gains_loop`] for the gains. NaN gains are never the largest; `(-inf, 0)` when no gain is above
/// `-inf` (every candidate refused).
pub(super) fn first_best<C: HistCell>(prefix: &[C], scale: &CellScale, inputs: GainInputs) -> Option<(f64, usize)> {
    if prefix.is_empty() {
        return None;
    }
    Some(best_gain(prefix, scale, inputs))
}

simd_dispatch! {
    /// [`best_gain_loop`] for the widest instruction set the processor has. The AVX-512 variant
    /// also needs DQ, whose 64-bit integer <-> f64 conversions unpack the quantized i64 cells (the
    /// other kernels convert no 64-bit integers and need F only).
    fn best_gain[C: HistCell], at best_gain_at(
        prefix: &[C],
        scale: &CellScale,
        inputs: GainInputs,
    ) -> (f64, usize) = best_gain_loop;
    avx512 needs ["avx512f", "avx512dq"]
}

/// [`first_best`] of a non-empty `prefix`: the gains of [`CHUNK`] candidates at a time computed in
/// registers by [`gains_loop`], each lane keeping its own first largest gain ([`LaneBests`]), the
/// lanes reduced at the end. No gain is stored and read back: a chunk's merge is a comparison and
/// two selects per lane, with no branch on the gains. Inlined into each variant so that each is
/// compiled for its instruction set.
#[inline(always)]
fn best_gain_loop<C: HistCell>(prefix: &[C], scale: &CellScale, inputs: GainInputs) -> (f64, usize) {
    let (mut grads, mut hesses, mut gains) = ([0.0; CHUNK], [0.0; CHUNK], [0.0; CHUNK]);
    if prefix.len() < CHUNK {
        // Fewer candidates than a chunk (a feature of a few bins, a small node): their gains, then
        // a plain scan, without merging and reducing sixteen lanes for a handful of candidates.
        let n = prefix.len();
        gains_loop(
            prefix,
            scale,
            &mut grads[..n],
            &mut hesses[..n],
            inputs,
            &mut gains[..n],
        );
        return first_largest(&gains[..n]);
    }
    let mut lanes = LaneBests::new();
    let mut chunks = prefix.chunks_exact(CHUNK);
    for (c, cells) in chunks.by_ref().enumerate() {
        // Whole chunks: every length known, so the gains loop is unrolled into vector operations.
        let cells: &[C; CHUNK] = cells.try_into().expect("chunks_exact gives whole chunks");
        gains_loop(cells, scale, &mut grads, &mut hesses, inputs, &mut gains);
        lanes.merge(&gains, c * CHUNK);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let n = tail.len();
        gains_loop(tail, scale, &mut grads[..n], &mut hesses[..n], inputs, &mut gains[..n]);
        gains[n..].fill(f64::NEG_INFINITY);
        lanes.merge(&gains, prefix.len() - n);
    }
    lanes.best()
}

/// The first largest of `gains` with its index, NaNs ignored, `(-inf, 0)` without a gain above
/// `-inf`: what [`LaneBests`] gives, by a plain scan.
#[inline(always)]
fn first_largest(gains: &[f64]) -> (f64, usize) {
    let mut best = (f64::NEG_INFINITY, 0);
    for (b, &gain) in gains.iter().enumerate() {
        if gain > best.0 {
            best = (gain, b);
        }
    }
    best
}

/// Per lane of a chunk (candidates `lane`, `lane + CHUNK`, ...): the first largest gain so far
/// and its candidate.
struct LaneBests {
    gains: [f64; CHUNK],
    at: [usize; CHUNK],
}

impl LaneBests {
    #[inline(always)]
    fn new() -> Self {
        LaneBests {
            gains: [f64::NEG_INFINITY; CHUNK],
            at: [usize::MAX; CHUNK],
        }
    }

    /// Merges the gains of the chunk of candidates `first..first + CHUNK`: a lane takes a gain
    /// only when larger than its own best (so a lane keeps its first largest; NaNs never enter).
    #[inline(always)]
    fn merge(&mut self, gains: &[f64; CHUNK], first: usize) {
        for (lane, &gain) in gains.iter().enumerate() {
            let larger = gain > self.gains[lane];
            self.gains[lane] = if larger { gain } else { self.gains[lane] };
            self.at[lane] = if larger { first + lane } else { self.at[lane] };
        }
    }

    /// The first largest gain over all lanes: the largest of the lanes' bests, at the smallest
    /// candidate among the lanes holding it; `(-inf, 0)` when no lane took a gain.
    #[inline(always)]
    fn best(&self) -> (f64, usize) {
        let mut best = (f64::NEG_INFINITY, 0);
        for (&gain, &at) in self.gains.iter().zip(&self.at) {
            if at != usize::MAX && (gain > best.0 || (gain == best.0 && at < best.1)) {
                best = (gain, at);
            }
        }
        best
    }
}

/// Unpacks the cells `prefix` into `grads` and `hesses`, then writes into `gains[b]` the gain of
/// putting the rows of `prefix[b]` on the left: [`plain_gains`] without `inputs.bounded`, else
/// [`bounded_gains`]. Inlined into each variant so that each is compiled for its instruction set.
#[inline(always)]
fn gains_loop<C: HistCell>(
    prefix: &[C],
    scale: &CellScale,
    grads: &mut [f64],
    hesses: &mut [f64],
    inputs: GainInputs,
    gains: &mut [f64],
) {
    unpack_cells(prefix, scale, grads, hesses);
    match inputs.bounded {
        None => plain_gains(grads, hesses, inputs, gains),
        Some(bounded) => bounded_gains(grads, hesses, inputs, bounded, gains),
    }
}

/// The gain of each candidate: `g²/(h+λ) + g_r²/(h_r+λ) - parent` for the left sums `(g, h)`
/// and right sums `total - left`, or `-inf` when a child's hessian sum is below
/// `min_child_weight` or not positive.
#[inline(always)]
fn plain_gains(grads: &[f64], hesses: &[f64], inputs: GainInputs, gains: &mut [f64]) {
    let GainInputs {
        total,
        lambda,
        min_child_weight: mcw,
        parent_gain,
        bounded: _,
    } = inputs;
    for ((out, &g), &h) in gains.iter_mut().zip(grads).zip(hesses) {
        let (gr, hr) = (total.grad - g, total.hess - h);
        let ok = h >= mcw && h > 0.0 && hr >= mcw && hr > 0.0;
        // `g²/(h+λ) + g_r²/(h_r+λ)` over one common denominator: one division, not two.
        let (dl, dr) = (h + lambda, hr + lambda);
        let gain = (g * g * dr + gr * gr * dl) / (dl * dr) - parent_gain;
        *out = if ok { gain } else { f64::NEG_INFINITY };
    }
}

/// Unpacks the cells `prefix` into `grads` and `hesses`.
#[inline(always)]
fn unpack_cells<C: HistCell>(prefix: &[C], scale: &CellScale, grads: &mut [f64], hesses: &mut [f64]) {
    for ((c, g), h) in prefix.iter().zip(grads.iter_mut()).zip(hesses.iter_mut()) {
        let s = c.stats(scale);
        (*g, *h) = (s.grad, s.hess);
    }
}

/// The bounded gain of each candidate (left sums `(g, h)`, right sums `total - left`): each
/// child's weight is its regularised Newton weight (L1, `max_delta_step`) clamped to the node's
/// bounds, the children's score is the loss reduction of those weights, and the gain is that score
/// less `parent_gain`; `-inf` when a child's hessian sum is below `min_child_weight` or not
/// positive, or when the weights are in the wrong order for the constraint. The same arithmetic,
/// operation for operation, as [`crate::train::constraints::monotone::split_score`] on valid
/// children, written with selects so that it vectorises.
#[inline(always)]
fn bounded_gains(grads: &[f64], hesses: &[f64], inputs: GainInputs, bounded: BoundedInputs, gains: &mut [f64]) {
    let GainInputs {
        total,
        lambda,
        min_child_weight: mcw,
        parent_gain,
        bounded: _,
    } = inputs;
    let BoundedInputs {
        alpha,
        max_delta_step: mds,
        bounds,
        constraint,
    } = bounded;
    // As `split::leaf_weight` then `Bounds::clamp`, for a child whose hessian sum is valid.
    let weight = |g: f64, h: f64| {
        let w = -threshold_l1(g, alpha) / (h + lambda);
        let w = if mds > 0.0 {
            if w < -mds {
                -mds
            } else if w > mds {
                mds
            } else {
                w
            }
        } else {
            w
        };
        bounds.clamp(w)
    };
    // As `monotone::gain_given_weight` for a positive hessian sum.
    let score = |g: f64, h: f64, w: f64| -(2.0 * g * w + (h + lambda) * w * w) - 2.0 * alpha * w.abs();
    for ((out, &g), &h) in gains.iter_mut().zip(grads).zip(hesses) {
        let (gr, hr) = (total.grad - g, total.hess - h);
        let ok = h >= mcw && h > 0.0 && hr >= mcw && hr > 0.0;
        let (wl, wr) = (weight(g, h), weight(gr, hr));
        let refused = (constraint > 0 && wl > wr) || (constraint < 0 && wl < wr);
        let gain = score(g, h, wl) + score(gr, hr, wr) - parent_gain;
        *out = if ok && !refused { gain } else { f64::NEG_INFINITY };
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::first_largest as scan;

    proptest! {
        #[test]
        fn lane_bests_are_the_scan(gains in proptest::collection::vec(prop_oneof![
            4 => -3.0f64..3.0,
            2 => (-3i32..3).prop_map(f64::from),
            1 => Just(f64::NEG_INFINITY),
            1 => Just(f64::INFINITY),
            1 => Just(f64::NAN),
            1 => Just(-0.0),
        ], 1..70)) {
            let mut lanes = super::LaneBests::new();
            for (c, chunk) in gains.chunks(super::CHUNK).enumerate() {
                let mut padded = [f64::NEG_INFINITY; super::CHUNK];
                padded[..chunk.len()].copy_from_slice(chunk);
                lanes.merge(&padded, c * super::CHUNK);
            }
            let (a, b) = (lanes.best(), scan(&gains));
            prop_assert_eq!((a.0.to_bits(), a.1), (b.0.to_bits(), b.1));
        }
    }

    use super::*;
    use crate::util::simd::Isa;

    /// The gains of every candidate at once (the x86-64 baseline), then the scan: what
    /// [`best_gain`] must give. Checks that the cells give both valid and refused candidates.
    fn reference<C: HistCell>(cells: &[C], scale: &CellScale, inputs: GainInputs) -> (f64, usize) {
        let n = cells.len();
        let (mut g, mut h, mut gains) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        gains_loop(cells, scale, &mut g, &mut h, inputs, &mut gains);
        if n > 20 {
            assert!(gains.iter().any(|g| g.is_finite()) && gains.contains(&f64::NEG_INFINITY));
        }
        scan(&gains)
    }

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
            bounded: None,
        };
        let scale = CellScale {
            grad_unit: 0.125,
            hess_unit: 0.25,
        };
        fn both<C: HistCell>(
            cells: &[C],
            scale: &CellScale,
            inputs: GainInputs,
            isa: Isa,
        ) -> ((u64, usize), (u64, usize)) {
            let base = reference(cells, scale, inputs);
            let got = best_gain_at(isa, cells, scale, inputs);
            ((got.0.to_bits(), got.1), (base.0.to_bits(), base.1))
        }
        // Every candidate, and prefixes shorter than a chunk, one, or just over one.
        for m in [n, 1, 2, 3, 5, 15, 16, 17] {
            for isa in Isa::available(&["avx512f", "avx512dq"]) {
                let (got, base) = both(&cells[..m], &CellScale::IDENTITY, inputs, isa);
                assert_eq!(got, base, "{isa:?} {m}");
                let (got, base) = both(&packed[..m], &scale, inputs, isa);
                assert_eq!(got, base, "{isa:?} {m}");
            }
        }
    }

    #[test]
    fn every_bounded_variant_gives_the_baseline_bits() {
        let n = 41;
        let cells: Vec<GradStats> = (0..n)
            .map(|i| GradStats::new(((i * 7919) % 101) as f64 / 7.0 - 6.0, (i as f64) * 0.37))
            .collect();
        for (constraint, alpha, mds, lower, upper) in [
            (1i8, 0.0, 0.0, -0.5, 0.8),
            (-1, 0.3, 0.0, f64::NEG_INFINITY, 0.2),
            (0, 0.0, 0.6, -0.1, f64::INFINITY),
            (1, 0.2, 0.4, f64::NEG_INFINITY, f64::INFINITY),
        ] {
            let bounded = BoundedInputs {
                alpha,
                max_delta_step: mds,
                bounds: Bounds { lower, upper },
                constraint,
            };
            let inputs = GainInputs {
                total: GradStats::new(3.25, 14.0),
                lambda: 1.0,
                min_child_weight: 0.5,
                parent_gain: 0.7,
                bounded: Some(bounded),
            };
            for m in [n, 3, 15, 16] {
                let base = reference(&cells[..m], &CellScale::IDENTITY, inputs);
                for isa in Isa::available(&["avx512f", "avx512dq"]) {
                    let got = best_gain_at(isa, &cells[..m], &CellScale::IDENTITY, inputs);
                    assert_eq!(
                        (got.0.to_bits(), got.1),
                        (base.0.to_bits(), base.1),
                        "{isa:?} {constraint} {alpha} {mds} {m}"
                    );
                }
            }
        }
    }
}
