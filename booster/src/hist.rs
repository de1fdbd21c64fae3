//! Histogram building: per-bin sums of gradients and hessians over a node's rows, built in parallel
//! over fixed row chunks and reduced in a fixed order, plus the parent - sibling subtraction.

use std::ops::{AddAssign, SubAssign};

use rayon::prelude::*;

use crate::matrix::{BinIndex, BinStore, QuantizedMatrix};
use crate::objective::GradPair;

/// Rows per histogram task. Fixed, so the summation order — and so the result — never depends on
/// the number of threads.
pub const HIST_CHUNK: usize = 8192;

/// Sum of gradients and hessians (f64 for accuracy).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GradStats {
    /// Sum of gradients.
    pub grad: f64,
    /// Sum of hessians.
    pub hess: f64,
}

impl GradStats {
    /// Stats from two sums.
    pub fn new(grad: f64, hess: f64) -> Self {
        GradStats { grad, hess }
    }

    /// Adds one gradient pair.
    #[inline(always)]
    pub fn add_pair(&mut self, g: GradPair) {
        self.grad += g.grad as f64;
        self.hess += g.hess as f64;
    }
}

impl AddAssign for GradStats {
    fn add_assign(&mut self, o: GradStats) {
        self.grad += o.grad;
        self.hess += o.hess;
    }
}

impl SubAssign for GradStats {
    fn sub_assign(&mut self, o: GradStats) {
        self.grad -= o.grad;
        self.hess -= o.hess;
    }
}

impl std::ops::Sub for GradStats {
    type Output = GradStats;
    fn sub(self, o: GradStats) -> GradStats {
        GradStats::new(self.grad - o.grad, self.hess - o.hess)
    }
}

/// Adds the rows `rows` into `hist` (sequential kernel).
///
/// `offsets[f]` is where feature `f`'s bins start; every stored bin of feature `f` is below
/// `offsets[f + 1] - offsets[f]`, which [`crate::binning::BinMapper`] guarantees.
fn accumulate<T: BinIndex>(
    bins: &[T],
    nf: usize,
    offsets: &[usize],
    rows: &[u32],
    gpairs: &[GradPair],
    hist: &mut [GradStats],
) {
    let offsets = &offsets[..nf];
    let total = hist.len();
    for (i, &r) in rows.iter().enumerate() {
        // The rows of a deep node are scattered over the matrix: fetch a later row's bins and
        // gradient ahead of time, as XGBoost does, so the loads overlap with this row's work.
        if let Some(&ahead) = rows.get(i + PREFETCH_DISTANCE) {
            let ahead = ahead as usize;
            prefetch(bins.as_ptr().wrapping_add(ahead * nf));
            prefetch(gpairs.as_ptr().wrapping_add(ahead));
        }
        let r = r as usize;
        let g = gpairs[r];
        let (gg, hh) = (g.grad as f64, g.hess as f64);
        let row = &bins[r * nf..(r + 1) * nf];
        for (b, off) in row.iter().zip(offsets) {
            let slot = off + b.index();
            debug_assert!(slot < total);
            // SAFETY: the matrix was quantized with the same `BinMapper` whose offsets we got, so
            // `b < offsets[f + 1] - offsets[f]` and `slot < offsets[nf] == hist.len()` (checked by
            // `build_histograms` before any kernel runs).
            let cell = unsafe { hist.get_unchecked_mut(slot) };
            cell.grad += gg;
            cell.hess += hh;
        }
    }
}

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

fn accumulate_store(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    rows: &[u32],
    gpairs: &[GradPair],
    hist: &mut [GradStats],
) {
    let nf = matrix.num_features();
    match matrix.store() {
        BinStore::U8(v) => accumulate(v, nf, offsets, rows, gpairs, hist),
        BinStore::U16(v) => accumulate(v, nf, offsets, rows, gpairs, hist),
    }
}

/// Builds the histograms of several nodes at once: `nodes[i]` is the row list of node `i`.
///
/// Every node's rows are cut into chunks of [`HIST_CHUNK`]; all chunks of all nodes are built in
/// parallel, then each node's chunk histograms are added in chunk order.
pub fn build_histograms(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    nodes: &[&[u32]],
    gpairs: &[GradPair],
) -> Vec<Vec<GradStats>> {
    let total = *offsets.last().unwrap_or(&0);
    assert_eq!(
        offsets.len(),
        matrix.num_features() + 1,
        "offsets must come from the matrix's BinMapper"
    );
    assert!(
        matrix.max_bin_below(offsets),
        "the matrix holds bins beyond its BinMapper's offsets"
    );
    let tasks: Vec<(usize, &[u32])> = nodes
        .iter()
        .enumerate()
        .flat_map(|(n, rows)| rows.chunks(HIST_CHUNK).map(move |c| (n, c)))
        .collect();
    let partials: Vec<(usize, Vec<GradStats>)> = tasks
        .par_iter()
        .map(|(n, rows)| {
            let mut h = vec![GradStats::default(); total];
            accumulate_store(matrix, offsets, rows, gpairs, &mut h);
            (*n, h)
        })
        .collect();
    let mut out: Vec<Option<Vec<GradStats>>> = vec![None; nodes.len()];
    let mut grouped: Vec<Vec<Vec<GradStats>>> = vec![Vec::new(); nodes.len()];
    for (n, h) in partials {
        grouped[n].push(h);
    }
    out.par_iter_mut()
        .zip(grouped.into_par_iter())
        .for_each(|(slot, parts)| {
            let mut it = parts.into_iter();
            let mut acc = it.next().unwrap_or_else(|| vec![GradStats::default(); total]);
            for p in it {
                for (a, b) in acc.iter_mut().zip(&p) {
                    *a += *b;
                }
            }
            *slot = Some(acc);
        });
    out.into_iter()
        .map(|h| h.unwrap_or_else(|| vec![GradStats::default(); total]))
        .collect()
}

/// The sibling's histogram: `parent - child`, bin by bin.
pub fn subtract(parent: &[GradStats], child: &[GradStats]) -> Vec<GradStats> {
    parent.iter().zip(child).map(|(p, c)| *p - *c).collect()
}

/// Turns a parent's histogram into its sibling's: `parent -= child`, bin by bin.
pub fn subtract_in_place(parent: &mut [GradStats], child: &[GradStats]) {
    for (p, c) in parent.iter_mut().zip(child) {
        *p -= *c;
    }
}

/// Naive reference: one row at a time, feature by feature, through [`QuantizedMatrix::bin`].
pub fn build_histogram_naive(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    rows: &[u32],
    gpairs: &[GradPair],
) -> Vec<GradStats> {
    let mut h = vec![GradStats::default(); *offsets.last().unwrap_or(&0)];
    for &r in rows {
        for f in 0..matrix.num_features() {
            h[offsets[f] + matrix.bin(r as usize, f)].add_pair(gpairs[r as usize]);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binning::BinMapper;
    use crate::data::Dataset;
    use proptest::prelude::*;

    fn setup(cols: Vec<Vec<f32>>, max_bin: usize) -> (QuantizedMatrix, BinMapper) {
        let d = Dataset::from_columns(cols).unwrap();
        let m = BinMapper::fit(&d, max_bin);
        (QuantizedMatrix::build(&d, &m), m)
    }

    fn close(a: &[GradStats], b: &[GradStats]) -> bool {
        a.iter()
            .zip(b)
            .all(|(x, y)| (x.grad - y.grad).abs() < 1e-6 && (x.hess - y.hess).abs() < 1e-6)
    }

    proptest! {
        #[test]
        fn parallel_build_matches_naive_and_subtraction_matches_direct(
            rows in proptest::collection::vec((-100f32..100f32, prop_oneof![4 => -5f32..5f32, 1 => Just(f32::NAN)], -1f32..1f32, 0f32..2f32), 2..3000),
            split in 0usize..3000,
            max_bin in prop_oneof![Just(4usize), Just(300usize)],
        ) {
            let c0: Vec<f32> = rows.iter().map(|r| r.0).collect();
            let c1: Vec<f32> = rows.iter().map(|r| r.1).collect();
            let gp: Vec<GradPair> = rows.iter().map(|r| GradPair::new(r.2, r.3)).collect();
            let (q, m) = setup(vec![c0, c1], max_bin);
            let all: Vec<u32> = (0..rows.len() as u32).collect();
            let cut = split % rows.len();
            let (left, right) = all.split_at(cut);
            let built = build_histograms(&q, m.offsets(), &[&all, left, right], &gp);
            prop_assert!(close(&built[0], &build_histogram_naive(&q, m.offsets(), &all, &gp)));
            prop_assert!(close(&built[1], &build_histogram_naive(&q, m.offsets(), left, &gp)));
            prop_assert!(close(&subtract(&built[0], &built[1]), &built[2]));
        }
    }

    #[test]
    fn chunked_sum_is_deterministic_across_pools() {
        let n = 50_000;
        let col: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32).collect();
        let gp: Vec<GradPair> = (0..n)
            .map(|i| GradPair::new(((i % 13) as f32 - 6.0) * 0.37, 0.5))
            .collect();
        let (q, m) = setup(vec![col], 256);
        let rows: Vec<u32> = (0..n as u32).collect();
        let run = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
                .install(|| build_histograms(&q, m.offsets(), &[&rows], &gp))
        };
        assert_eq!(run(1), run(2));
    }
}
