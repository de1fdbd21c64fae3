//! Quantized gradients for histogram building (LightGBM 4's `use_quantized_grad`, with more levels).
//!
//! Before a tree is grown, every row's gradient and hessian are scaled to integers with unbiased
//! stochastic rounding and packed into one `i64`: the gradient in the high 32 bits, the hessian in
//! the low 32 bits. A histogram bin then needs 8 bytes instead of 16, one integer addition adds both
//! parts, and sums are exact, so any order of addition gives the same histogram.
//!
//! The number of levels is as large as the tree's row count allows without overflow: with `m` rows
//! a gradient becomes an integer in `[-Q_g, Q_g]` with `Q_g = (2^31 - 1) / m - 1` and a hessian one in
//! `[0, Q_h]` with `Q_h = (2^32 - 1) / m - 1` (both at most 2^20), so no sum of any node can carry from
//! the hessian into the gradient or overflow the gradient. For 1,000,000 rows that is 2,147 gradient
//! and 4,294 hessian levels per row — LightGBM's default is 4. Split gains are computed from the
//! dequantized sums; the leaf values are then recomputed from the exact gradients (see
//! `train::leaves`), so quantization only touches which splits are chosen.

use rayon::prelude::*;

use crate::collective::ops::Cluster;
use crate::error::{Error, Result};
use crate::gradients::{pack, CellScale, GradPair};
use crate::train::sampling::mix;
use crate::util::fixed_point::FixedPoint;
use crate::util::simd::simd_dispatch;

/// Largest number of levels on either side of zero, whatever the row count.
const MAX_LEVELS: f64 = (1u64 << 20) as f64;

/// The fixed-point grids on which a tree's exact node sums are taken (`train::leaves`): chosen from
/// the largest gradient and hessian and the row count of the tree over all ranks, so that sums are
/// the same in any order and over any number of ranks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LeafGrids {
    /// The gradients' grid.
    pub grad: FixedPoint,
    /// The hessians' grid.
    pub hess: FixedPoint,
}

/// Per-row packed quantized gradient pairs of one tree, with the scale that turns sums back into
/// gradient sums.
#[derive(Debug, Clone, PartialEq)]
#[cfg(test)]
pub struct QuantizedGradients {
    /// `packed[r]`: row `r`'s pair (0 for rows not in the tree's sample).
    pub packed: Vec<i64>,
    /// What one unit of the packed parts stands for.
    pub scale: CellScale,
}

/// The rounding dither of a row: `frac(row * phi + s)` for a seed-derived offset `s` (a Weyl
/// sequence: evenly spread over [0, 1) and cheap), the same on every thread.
#[inline(always)]
fn dither(offset: u64, row: u32) -> f64 {
    let z = (row as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(offset);
    (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// What turns one row's pair into its packed quantized pair: the tree's scales and rounding
/// stream.
#[derive(Debug, Clone, Copy)]
struct PairQuantizer {
    /// The rounding stream (from the seed).
    stream: u64,
    /// The global id of this shard's first row (0 outside distributed training).
    first_row: u32,
    /// Gradient levels per unit of gradient.
    to_grad: f64,
    /// Hessian levels per unit of hessian.
    to_hess: f64,
    /// Added before truncation so that it floors (more than the largest level), and its integer.
    offset: f64,
    offset_int: i64,
}

impl PairQuantizer {
    /// Row `r`'s pair `p`, packed: `floor(x + u)` with `u` uniform in [0, 1) rounds `x` up with
    /// probability `frac(x)`, unbiased; the offset makes the sum positive so that truncation is
    /// floor (no libm call).
    #[inline(always)]
    fn pair(self, p: GradPair, r: u32) -> i64 {
        let u = dither(self.stream, self.first_row.wrapping_add(r));
        let g = truncate(p.grad as f64 * self.to_grad + (u + self.offset)) - self.offset_int;
        let h = truncate(p.hess as f64 * self.to_hess + u);
        pack(g as i32, h as u32)
    }
}

/// `x as i64` (truncation toward zero) for the values [`PairQuantizer::pair`] truncates, which
/// are finite and far inside `i64` (at most a few million in magnitude: the pairs were checked
/// before their tree's scales were chosen). `as` saturates and maps NaN to 0, which the compiler
/// cannot vectorise (it checked every lane of the AVX-512 loop one at a time, with branches): here
/// the value is clamped to +-2^62 first (NaN to -2^62), so the plain conversion is always defined
/// and gives `x as i64` for every value within that range, bit for bit.
#[inline(always)]
#[allow(clippy::manual_clamp)] // `clamp` keeps NaN, whose conversion would be undefined
fn truncate(x: f64) -> i64 {
    const LIMIT: f64 = (1u64 << 62) as f64;
    let clamped = x.max(-LIMIT).min(LIMIT);
    // SAFETY: `clamped` is neither NaN nor infinite, and its magnitude is at most 2^62, so its
    // truncation is representable in i64.
    unsafe { clamped.to_int_unchecked::<i64>() }
}

/// Quantizes `pairs` (rows `first..`) into `slots` and returns their packed sum.
#[inline(always)]
fn quantize_loop(quantizer: PairQuantizer, first: u32, pairs: &[GradPair], slots: &mut [i64]) -> i64 {
    let mut sum = 0i64;
    for (i, (slot, &p)) in slots.iter_mut().zip(pairs).enumerate() {
        *slot = quantizer.pair(p, first.wrapping_add(i as u32));
        sum = sum.wrapping_add(*slot);
    }
    sum
}

simd_dispatch! {
    /// [`quantize_loop`] for the widest instruction set the processor has (AVX-512 with DQ: its
    /// 64-bit multiplications and integer <-> f64 conversions are the dither's and the
    /// rounding's; the scalar loop was 8 % of a `higgs` run on AMD's Zen 4).
    fn quantize_run, at quantize_run_at(
        quantizer: PairQuantizer,
        first: u32,
        pairs: &[GradPair],
        slots: &mut [i64],
    ) -> i64 = quantize_loop;
    avx512 needs ["avx512f", "avx512dq"]
}

/// Quantizes the pairs of `rows` (indices into `pairs`, which has one pair per row of the data).
///
/// `seed` picks the rounding stream (derive it from the training seed, the round and the tree, so
/// that results depend on neither the thread count nor how training was split into sessions).
/// Returns `None` when the pairs cannot be packed — a negative or non-finite hessian, or a
/// non-finite gradient — and the caller falls back to f64 histograms.
#[cfg(test)]
pub fn quantize(pairs: &[GradPair], rows: &[u32], seed: u64) -> Option<QuantizedGradients> {
    let mut packed = vec![0i64; pairs.len()];
    let (scale, _, _) = quantize_shard(pairs, rows, seed, &mut packed, None).ok()??;
    Some(QuantizedGradients { packed, scale })
}

/// Pairs per task when the largest gradient and hessian are sought and when all rows are quantized.
const EXTREMES_CHUNK: usize = 1 << 14;

/// The largest absolute gradient and the largest hessian of some pairs, and whether any pair cannot
/// be packed (a non-finite part or a negative hessian). Maxima are exact, so any grouping gives the
/// same result.
#[derive(Debug, Clone, Copy, Default)]
struct PairExtremes {
    grad: f32,
    hess: f32,
    unpackable: bool,
}

impl PairExtremes {
    /// These extremes with one more pair. The comparisons are written so that they compile to
    /// vector max instructions (a NaN never replaces the maximum; it marks the pairs unpackable).
    #[inline(always)]
    fn with(self, p: GradPair) -> PairExtremes {
        let g = p.grad.abs();
        PairExtremes {
            grad: if g > self.grad { g } else { self.grad },
            hess: if p.hess > self.hess { p.hess } else { self.hess },
            unpackable: self.unpackable | !(p.grad.is_finite() & p.hess.is_finite() & (p.hess >= 0.0)),
        }
    }

    /// The extremes of two groups of pairs together.
    fn merge(self, other: PairExtremes) -> PairExtremes {
        PairExtremes {
            grad: self.grad.max(other.grad),
            hess: self.hess.max(other.hess),
            unpackable: self.unpackable | other.unpackable,
        }
    }

    /// `(largest |gradient|, largest hessian, every pair packable)`, the maxima as f64 (exact).
    fn widened(self) -> (f64, f64, bool) {
        (self.grad as f64, self.hess as f64, !self.unpackable)
    }
}

/// Running extremes per lane of [`extremes_loop`]: enough lanes for a vector of f32.
const EXTREME_LANES: usize = 16;

/// [`PairExtremes`] of consecutive pairs: sixteen running extremes, one per lane, folded together at
/// the end. Written so that it vectorises: the maxima as compare-and-select (a NaN never replaces
/// a maximum), and whether a pair cannot be packed as an integer flag per lane (a part that is NaN
/// or infinite, or a hessian below zero).
#[inline(always)]
fn extremes_loop(pairs: &[GradPair]) -> PairExtremes {
    let (mut grad, mut hess, mut bad) = ([0f32; EXTREME_LANES], [0f32; EXTREME_LANES], [0u32; EXTREME_LANES]);
    let chunks = pairs.chunks_exact(EXTREME_LANES);
    let rest = chunks.remainder();
    for chunk in chunks {
        for i in 0..EXTREME_LANES {
            let (g, h) = (chunk[i].grad.abs(), chunk[i].hess);
            grad[i] = if g > grad[i] { g } else { grad[i] };
            hess[i] = if h > hess[i] { h } else { hess[i] };
            // `!(g <= MAX)` holds for NaN and infinities; `0 <= h <= MAX` fails for those and for
            // negative hessians (-0.0 passes, as in `PairExtremes::with`).
            #[allow(clippy::manual_range_contains)] // `&`, not `&&`: no branch in the loop
            let packable = (g <= f32::MAX) & (h >= 0.0) & (h <= f32::MAX);
            bad[i] |= u32::from(!packable);
        }
    }
    let lanes = (0..EXTREME_LANES).map(|i| PairExtremes {
        grad: grad[i],
        hess: hess[i],
        unpackable: bad[i] != 0,
    });
    let tail = rest.iter().fold(PairExtremes::default(), |e, &p| e.with(p));
    lanes.fold(tail, PairExtremes::merge)
}

simd_dispatch! {
    /// [`extremes_loop`] for the widest instruction set the processor has (the baseline loop took
    /// three quarters of a tree's quantization on 262,000 rows).
    fn extremes_of, at extremes_of_at(pairs: &[GradPair]) -> PairExtremes = extremes_loop;
    avx512 needs ["avx512f"]
}

/// Quantizes the pairs of `rows` into a reused buffer (resized to `pairs.len()`; entries of rows
/// outside `rows` are left as they were) and returns the scale and the packed sum of all of `rows`
/// (the root's sums) with the grids of the tree's exact node sums; `None` when the pairs cannot be
/// packed (see [`quantize`]).
///
/// With `cluster`, quantizes this rank's shard of a distributed run: the scale comes from the largest
/// gradient and hessian and the row count over all ranks, rows are dithered by their global ids and
/// the root's sum is summed over ranks, so every rank packs its rows as one process would.
/// Distributed training has no f64 fallback (f64 sums would depend on the number of ranks): pairs
/// that cannot be packed on any rank are an error.
pub(crate) fn quantize_shard(
    pairs: &[GradPair],
    rows: &[u32],
    seed: u64,
    packed: &mut Vec<i64>,
    cluster: Option<&Cluster<'_>>,
) -> Result<Option<(CellScale, i64, LeafGrids)>> {
    let (mut gmax, mut hmax, mut ok) = if rows.len() == pairs.len() {
        // Every row: read the pairs in order, in fixed chunks whose loop vectorises.
        pairs
            .par_chunks(EXTREMES_CHUNK)
            .map(extremes_of)
            .reduce(PairExtremes::default, PairExtremes::merge)
    } else {
        rows.par_chunks(EXTREMES_CHUNK)
            .map(|chunk| {
                chunk
                    .iter()
                    .fold(PairExtremes::default(), |e, &r| e.with(pairs[r as usize]))
            })
            .reduce(PairExtremes::default, PairExtremes::merge)
    }
    .widened();
    let mut count = rows.len();
    if let Some(c) = cluster {
        let mut maxima = [gmax, hmax, if ok { 0.0 } else { 1.0 }];
        c.max_f64(&mut maxima)?;
        let mut total = [rows.len() as i64];
        c.sum_i64(&mut total)?;
        (gmax, hmax, ok, count) = (maxima[0], maxima[1], maxima[2] == 0.0, total[0] as usize);
        if !ok || !gmax.is_finite() || !hmax.is_finite() {
            return Err(Error::data(
                "distributed training needs finite gradients and non-negative hessians (they are summed as \
                 quantized integers); the objective gave others on some rank",
            ));
        }
    }
    // Beyond 2^30 rows there would be less than one level: sum in f64 instead.
    if cluster.is_some() && ok && count >= 1 << 30 {
        return Err(Error::data("distributed training supports at most 2^30 rows per tree"));
    }
    let first_row = cluster.map_or(0, |c| c.row_offset) as u32;
    let Some(plan) = TreePlan::new((gmax, hmax, ok), count, seed, first_row) else {
        return Ok(None);
    };
    packed.resize(pairs.len(), 0);
    let quantizer = plan.quantizer;
    // Integer sums are exact, so the root's sum may be reduced in any order.
    let mut root = if rows.len() == pairs.len() {
        // Every row is in the tree (rows are distinct row ids): quantize them all in parallel,
        // in fixed chunks, each one vectorised loop.
        packed
            .par_chunks_mut(EXTREMES_CHUNK)
            .enumerate()
            .map(|(c, slots)| {
                let first = c * EXTREMES_CHUNK;
                quantize_run(quantizer, first as u32, &pairs[first..first + slots.len()], slots)
            })
            .reduce(|| 0, i64::wrapping_add)
    } else {
        let mut root = 0i64;
        for &r in rows {
            let q = quantizer.pair(pairs[r as usize], r);
            packed[r as usize] = q;
            root = root.wrapping_add(q);
        }
        root
    };
    if let Some(c) = cluster {
        let mut sum = [root];
        c.sum_i64(&mut sum)?;
        root = sum[0];
    }
    Ok(Some((plan.scale, root, plan.grids)))
}

/// How one tree's pairs are quantized: the rounding and the scales, from the extremes of its pairs
/// and its row count.
#[derive(Debug, Clone, Copy)]
struct TreePlan {
    quantizer: PairQuantizer,
    scale: CellScale,
    grids: LeafGrids,
}

impl TreePlan {
    /// The plan for pairs of `extremes` (`(largest |gradient|, largest hessian, every pair
    /// packable)`) over `count` rows, rounded with the stream of `seed`, the first row's global id
    /// being `first_row`; `None` when the pairs cannot be packed.
    fn new(extremes: (f64, f64, bool), count: usize, seed: u64, first_row: u32) -> Option<TreePlan> {
        let (gmax, hmax, ok) = extremes;
        if !ok || count >= 1 << 30 {
            return None;
        }
        let m = count.max(1) as f64;
        // One level of headroom: a value may round up to `levels + 1` (float rounding of the scale),
        // and `m * (levels + 1)` still fits.
        let grad_levels = ((((1u64 << 31) - 1) as f64 / m).floor() - 1.0).clamp(1.0, MAX_LEVELS);
        let hess_levels = ((((1u64 << 32) - 1) as f64 / m).floor() - 1.0).clamp(1.0, MAX_LEVELS);
        let grad_unit = if gmax > 0.0 { gmax / grad_levels } else { 1.0 };
        let hess_unit = if hmax > 0.0 { hmax / hess_levels } else { 1.0 };
        let (to_grad, to_hess) = (1.0 / grad_unit, 1.0 / hess_unit);
        // |x| <= levels, so the results stay within [-levels, levels] and [0, levels] (clamped
        // against float rounding).
        let offset = grad_levels + 2.0;
        let quantizer = PairQuantizer {
            stream: mix(seed),
            // Rows are dithered by their global id.
            first_row,
            to_grad,
            to_hess,
            offset,
            offset_int: offset as i64,
        };
        let grids = LeafGrids {
            grad: FixedPoint::for_values(gmax, count),
            hess: FixedPoint::for_values(hmax, count),
        };
        Some(TreePlan {
            quantizer,
            scale: CellScale { grad_unit, hess_unit },
            grids,
        })
    }
}

/// What packs one output's pairs as its tree of the round packs them ([`quantize_shard`] with the
/// same pairs, rows and seed), for the round's root histograms of all outputs
/// ([`crate::train::root_histograms`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowQuantizer(PairQuantizer);

impl RowQuantizer {
    /// Row `r`'s pair `p`, packed.
    #[inline(always)]
    pub(crate) fn pair(self, p: GradPair, r: u32) -> i64 {
        self.0.pair(p, r)
    }
}

/// For each output `g < k` of a round's pairs `gpairs` (rows x `k`), what packs its pairs as
/// [`quantize_shard`] of output `g`'s pairs over `rows` with `seeds[g]` does (one process, not a
/// distributed run); `None` for an output whose pairs cannot be packed.
pub(crate) fn output_quantizers(
    gpairs: &[GradPair],
    k: usize,
    rows: &[u32],
    seeds: &[u64],
) -> Vec<Option<RowQuantizer>> {
    assert_eq!(seeds.len(), k, "one seed per output");
    let merge = |a: Vec<PairExtremes>, b: Vec<PairExtremes>| a.into_iter().zip(b).map(|(x, y)| x.merge(y)).collect();
    let extremes: Vec<PairExtremes> = rows
        .par_chunks(EXTREMES_CHUNK)
        .map(|chunk| {
            let mut e = vec![PairExtremes::default(); k];
            for &r in chunk {
                let row = &gpairs[r as usize * k..(r as usize + 1) * k];
                for (e, &p) in e.iter_mut().zip(row) {
                    *e = e.with(p);
                }
            }
            e
        })
        .reduce(|| vec![PairExtremes::default(); k], merge);
    extremes
        .iter()
        .zip(seeds)
        .map(|(e, &seed)| TreePlan::new(e.widened(), rows.len(), seed, 0).map(|p| RowQuantizer(p.quantizer)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradients::unpack;
    use crate::train::histogram::HistCell;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn pack_unpack_roundtrip_and_sums(values in proptest::collection::vec((-1000i32..1000, 0u32..5000), 1..200)) {
            let mut sum = 0i64;
            let (mut g, mut h) = (0i64, 0i64);
            for &(a, b) in &values {
                prop_assert_eq!(unpack(pack(a, b)), (a as i64, b as i64));
                sum = sum.wrapping_add(pack(a, b));
                g += a as i64;
                h += b as i64;
            }
            prop_assert_eq!(unpack(sum), (g, h));
        }

        #[test]
        fn quantized_sums_are_close_to_exact_sums(pairs in proptest::collection::vec((-5f32..5f32, 0f32..2f32), 1..2000)) {
            let gp: Vec<GradPair> = pairs.iter().map(|p| GradPair::new(p.0, p.1)).collect();
            let rows: Vec<u32> = (0..gp.len() as u32).collect();
            let q = quantize(&gp, &rows, 7).unwrap();
            let s = q.packed.iter().fold(0i64, |a, b| a.wrapping_add(*b)).stats(&q.scale);
            let (eg, eh): (f64, f64) = gp.iter().fold((0.0, 0.0), |a, p| (a.0 + p.grad as f64, a.1 + p.hess as f64));
            // Each row is off by at most one unit.
            let m = gp.len() as f64;
            prop_assert!((s.grad - eg).abs() <= m * q.scale.grad_unit + 1e-9);
            prop_assert!((s.hess - eh).abs() <= m * q.scale.hess_unit + 1e-9);
        }
    }

    proptest! {
        /// Every instruction set's variant of the quantizing loop gives the scalar loop's bits.
        #[test]
        fn every_variant_quantizes_alike(
            pairs in proptest::collection::vec((-3f32..3f32, 0f32..2f32), 0..300),
            first in any::<u32>(),
            stream in any::<u64>(),
            levels in 1f64..1e6,
        ) {
            use crate::util::simd::Isa;
            let pairs: Vec<GradPair> = pairs.iter().map(|p| GradPair::new(p.0, p.1)).collect();
            let offset = levels + 2.0;
            let quantizer = PairQuantizer {
                stream,
                first_row: first / 2,
                to_grad: levels / 3.0,
                to_hess: levels / 2.0,
                offset,
                offset_int: offset as i64,
            };
            let mut want = vec![0i64; pairs.len()];
            let want_sum = quantize_loop(quantizer, first, &pairs, &mut want);
            for isa in Isa::available(&["avx512f", "avx512dq"]) {
                let mut got = vec![0i64; pairs.len()];
                prop_assert_eq!(quantize_run_at(isa, quantizer, first, &pairs, &mut got), want_sum);
                prop_assert_eq!(&got, &want);
            }
        }
    }

    proptest! {
        /// The vectorisable truncation is `as i64` for every value within +-2^62, and clamps
        /// beyond (NaN to -2^62).
        #[test]
        fn truncation_is_the_as_conversion(x in -1e19f64..1e19, small in -1e7f64..1e7) {
            let limit = (1u64 << 62) as f64;
            for v in [x, small, small.floor(), small + 0.5] {
                let want = if v.abs() <= limit { v as i64 } else { v.signum() as i64 * (1i64 << 62) };
                prop_assert_eq!(truncate(v), want, "{}", v);
            }
            prop_assert_eq!(truncate(f64::NAN), -(1i64 << 62));
        }

        /// Every instruction set's variant of the extremes loop gives the pair-by-pair fold's
        /// maxima, and flags the same pairs as unpackable: NaN and infinite parts, negative
        /// hessians (-0.0 is packable).
        #[test]
        fn every_variant_finds_the_same_extremes(
            pairs in proptest::collection::vec((-3f32..3f32, 0f32..2f32), 0..300),
            poison in proptest::option::of((any::<proptest::sample::Index>(), 0usize..6)),
        ) {
            use crate::util::simd::Isa;
            let mut pairs: Vec<GradPair> = pairs.iter().map(|p| GradPair::new(p.0, p.1)).collect();
            if let (Some((at, kind)), false) = (poison, pairs.is_empty()) {
                let i = at.index(pairs.len());
                let p = &mut pairs[i];
                match kind {
                    0 => p.grad = f32::NAN,
                    1 => p.hess = f32::NAN,
                    2 => p.grad = f32::NEG_INFINITY,
                    3 => p.hess = f32::INFINITY,
                    4 => p.hess = -0.5,
                    _ => p.hess = -0.0,
                }
            }
            let want = pairs.iter().fold(PairExtremes::default(), |e, &p| e.with(p)).widened();
            for isa in Isa::available(&["avx512f"]) {
                let got = extremes_of_at(isa, &pairs).widened();
                prop_assert_eq!(got.2, want.2);
                if want.2 {
                    prop_assert_eq!((got.0, got.1), (want.0, want.1));
                }
            }
        }
    }

    #[test]
    fn rounding_is_unbiased_and_deterministic() {
        // 0.3 units per row: the sum of 100,000 rounded values is close to 30,000 units.
        let n = 100_000;
        let gp: Vec<GradPair> = (0..n)
            .map(|i| {
                if i == 0 {
                    GradPair::new(1.0, 1.0)
                } else {
                    GradPair::new(0.3, 0.3)
                }
            })
            .collect();
        let rows: Vec<u32> = (0..n as u32).collect();
        let q = quantize(&gp, &rows, 42).unwrap();
        let levels = (((1u64 << 31) - 1) as f64 / n as f64).floor() - 1.0;
        let (g, _) = unpack(q.packed[1..].iter().fold(0i64, |a, b| a.wrapping_add(*b)));
        let want = 0.3 * levels * (n - 1) as f64;
        assert!((g as f64 - want).abs() / want < 0.01, "{g} vs {want}");
        assert_eq!(q, quantize(&gp, &rows, 42).unwrap());
        // A sampled subset quantizes its rows only.
        let some: Vec<u32> = (0..n as u32).step_by(3).collect();
        let qs = quantize(&gp, &some, 42).unwrap();
        assert!(qs.packed[1] == 0 && qs.packed[3] != 0);
    }

    #[test]
    fn unpackable_pairs_fall_back() {
        let rows = [0u32, 1];
        assert!(quantize(&[GradPair::new(1.0, -0.5), GradPair::new(0.0, 1.0)], &rows, 1).is_none());
        assert!(quantize(&[GradPair::new(f32::NAN, 1.0), GradPair::new(0.0, 1.0)], &rows, 1).is_none());
        let zero = quantize(&[GradPair::new(0.0, 0.0), GradPair::new(0.0, 0.0)], &rows, 1).unwrap();
        assert_eq!(zero.packed, vec![0, 0]);
    }
}
