//! The root histograms of every output's tree of a round, built in one pass over the rows.
//!
//! With several outputs (`multi:softprob` with `k` classes), each round grows `k` trees whose
//! roots hold the same rows: built one tree at a time, the root histograms read every row's bins
//! `k` times and add `k` times one gradient pair per feature. Built together, every row's bins are
//! read once and the pairs of [`LANES`] outputs are added at once into interleaved cells (one
//! vector addition for all of them). Each output's pairs are quantized on the way, as its tree
//! quantizes them ([`RowQuantizer`]), so that no packed copy of every output's pairs is held. The
//! sums are those of the packed quantized pairs, which are exact integers, so each output's
//! histogram is the one its tree would have built alone, bit for bit.

use rayon::prelude::*;

use crate::bins::matrix::{BinIndex, BinStore, ColumnBins, QuantizedMatrix};
use crate::gradients::GradPair;
use crate::train::histogram::{assert_offsets_fit, is_contiguous, HIST_CHUNK};
use crate::train::quantize::RowQuantizer;
use crate::util::simd::simd_dispatch;

/// Outputs summed in one pass: one 64-byte cell (a cache line, an AVX-512 register) per bin.
pub const LANES: usize = 8;

/// One bin of the interleaved histogram: the sums of up to [`LANES`] outputs.
type Lanes = [i64; LANES];

/// Largest interleaved histogram (bytes) the shared pass builds: beyond it (wide data) one
/// thread's cells outgrow the core's L2 cache and the outputs' own passes do better.
pub const SHARED_ROOT_MAX_BYTES: usize = 1 << 20;

/// Whether [`build_root_histograms`] builds the roots of `outputs` trees over histograms of
/// `cells` cells: with at least two outputs, and an interleaved histogram that fits
/// [`SHARED_ROOT_MAX_BYTES`].
pub fn shared_roots_pay(outputs: usize, cells: usize) -> bool {
    outputs > 1 && cells * std::mem::size_of::<Lanes>() <= SHARED_ROOT_MAX_BYTES
}

/// The histograms (packed quantized sums, see [`crate::train::quantize`]) of the rows `rows`
/// for every output `o`: of the pairs `gpairs[r * k + o]` (`k = quantizers.len()` outputs) packed by
/// `quantizers[o]`; `offsets` come from the matrix's `BinMapper`. Equal to building each output's
/// histogram from its own packed pairs.
pub(crate) fn build_root_histograms(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    rows: &[u32],
    gpairs: &[GradPair],
    quantizers: &[RowQuantizer],
) -> Vec<Vec<i64>> {
    assert_offsets_fit(matrix, offsets);
    let k = quantizers.len();
    assert!(
        rows.iter().all(|&r| (r as usize + 1) * k <= gpairs.len()),
        "every output needs a pair for every row"
    );
    let total = *offsets.last().unwrap_or(&0);
    // Bundled columns (exclusive features sharing one code) where they pay, as for one output;
    // not with sparse features listed per row, which this pass does not read.
    let bundles = matrix
        .bundles()
        .filter(|b| b.fit_layout(offsets) && b.sparse().is_none() && b.pays_for(rows.len()));
    let (store, columns, column_offsets) = match bundles {
        Some(b) => (b.codes(), b.num_bundles(), b.offsets()),
        None => (matrix.store(), matrix.num_features(), offsets),
    };
    let cells = *column_offsets.last().unwrap_or(&0);
    // Every row (no bagging): the features' columns are read in order instead of the rows.
    let by_column = bundles.is_none() && is_contiguous(rows);
    let mut out = Vec::with_capacity(k);
    for (pass, outputs) in quantizers.chunks(LANES).enumerate() {
        let source = PairSource {
            gpairs,
            stride: k,
            first: pass * LANES,
            quantizers: outputs,
        };
        let interleaved = if by_column {
            let first = rows.first().map_or(0, |&r| r as usize);
            interleaved_sums_by_column(matrix, offsets, first..first + rows.len(), &source)
        } else {
            interleaved_sums(store, columns, column_offsets, cells, rows, &source)
        };
        for lane in 0..outputs.len() {
            let hist: Vec<i64> = interleaved.iter().map(|cell| cell[lane]).collect();
            out.push(match bundles {
                Some(b) => b.unbundle(&hist, total),
                None => hist,
            });
        }
    }
    out
}

/// Where one pass takes its rows' pairs: outputs `first..first + quantizers.len()` of `gpairs`
/// (rows x `stride`), packed by `quantizers`.
#[derive(Clone, Copy)]
struct PairSource<'a> {
    gpairs: &'a [GradPair],
    stride: usize,
    first: usize,
    quantizers: &'a [RowQuantizer],
}

impl PairSource<'_> {
    /// Row `r`'s packed pairs, one lane per output (unused lanes 0).
    #[inline(always)]
    fn lanes(&self, r: u32) -> Lanes {
        let mut lanes = [0i64; LANES];
        let at = r as usize * self.stride + self.first;
        let pairs = &self.gpairs[at..at + self.quantizers.len()];
        for ((lane, q), &p) in lanes.iter_mut().zip(self.quantizers).zip(pairs) {
            *lane = q.pair(p, r);
        }
        lanes
    }
}

/// The interleaved histogram of `rows` for up to [`LANES`] outputs: chunks of [`HIST_CHUNK`] rows
/// folded per worker, then added (integer sums: any order gives the same cells).
fn interleaved_sums(
    store: &BinStore,
    columns: usize,
    offsets: &[usize],
    cells: usize,
    rows: &[u32],
    outputs: &PairSource<'_>,
) -> Vec<Lanes> {
    rows.par_chunks(HIST_CHUNK)
        .fold(
            || vec![[0i64; LANES]; cells],
            |mut acc, chunk| {
                match store {
                    BinStore::U8(bins) => add_rows(bins, columns, offsets, chunk, outputs, &mut acc),
                    BinStore::U16(bins) => add_rows(bins, columns, offsets, chunk, outputs, &mut acc),
                }
                acc
            },
        )
        .reduce_with(|mut a, b| {
            for (x, y) in a.iter_mut().zip(&b) {
                add_lanes(x, y);
            }
            a
        })
        .unwrap_or_else(|| vec![[0i64; LANES]; cells])
}

/// Rows whose lanes [`add_columns_loop`] computes before it reads the columns over them: their
/// lanes (64 bytes a row, 16 KB) and one feature's interleaved cells (16 KB for 256 bins) fit a
/// 32 KB L1 cache together.
const COLUMN_CHUNK_ROWS: usize = 256;

/// [`interleaved_sums`] of the consecutive rows `range`, from the matrix's columns: row by row,
/// every row's cells lie all over the interleaved histogram (50 features of 256 bins are 800 KB,
/// an L2 cache), while one feature's cells stay in L1 while its column is read. `multiclass` (300,000
/// x 50, 7 classes), 30 rounds of one-level trees, histograms (the root passes): see
/// docs/performance.md, eighth pass.
fn interleaved_sums_by_column(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    range: std::ops::Range<usize>,
    outputs: &PairSource<'_>,
) -> Vec<Lanes> {
    let cells = *offsets.last().unwrap_or(&0);
    let columns: Vec<ColumnBins<'_>> = (0..matrix.num_features()).map(|f| matrix.column(f)).collect();
    let starts: Vec<usize> = range.clone().step_by(HIST_CHUNK).collect();
    starts
        .par_iter()
        .fold(
            || vec![[0i64; LANES]; cells],
            |mut acc, &start| {
                let rows = start..(start + HIST_CHUNK).min(range.end);
                add_columns(&columns, offsets, rows, outputs, &mut acc);
                acc
            },
        )
        .reduce_with(|mut a, b| {
            for (x, y) in a.iter_mut().zip(&b) {
                add_lanes(x, y);
            }
            a
        })
        .unwrap_or_else(|| vec![[0i64; LANES]; cells])
}

simd_dispatch! {
    /// [`add_columns_loop`] for the widest instruction set the processor has.
    fn add_columns, at add_columns_at(
        columns: &[ColumnBins<'_>],
        offsets: &[usize],
        rows: std::ops::Range<usize>,
        outputs: &PairSource<'_>,
        acc: &mut [Lanes],
    ) = add_columns_loop;
    avx512 needs ["avx512f", "avx512dq"]
}

/// Adds the consecutive rows `rows` into `acc`: for each [`COLUMN_CHUNK_ROWS`] of them, their
/// packed pairs of every output (one lane each, unused lanes 0), then each column's bins over them.
#[inline(always)]
fn add_columns_loop(
    columns: &[ColumnBins<'_>],
    offsets: &[usize],
    rows: std::ops::Range<usize>,
    outputs: &PairSource<'_>,
    acc: &mut [Lanes],
) {
    let mut lanes: Vec<Lanes> = Vec::with_capacity(COLUMN_CHUNK_ROWS);
    for start in rows.clone().step_by(COLUMN_CHUNK_ROWS) {
        let end = (start + COLUMN_CHUNK_ROWS).min(rows.end);
        lanes.clear();
        lanes.extend((start..end).map(|r| outputs.lanes(r as u32)));
        for (f, column) in columns.iter().enumerate() {
            let cells = &mut acc[offsets[f]..offsets[f + 1]];
            match column {
                ColumnBins::U8(c) => add_column(&c[start..end], &lanes, cells),
                ColumnBins::U16(c) => add_column(&c[start..end], &lanes, cells),
            }
        }
    }
}

/// Adds `lanes[i]` into `cells[bins[i]]` for every `i`.
#[inline(always)]
fn add_column<T: BinIndex>(bins: &[T], lanes: &[Lanes], cells: &mut [Lanes]) {
    let width = cells.len();
    for (&b, l) in bins.iter().zip(lanes) {
        debug_assert!(b.index() < width);
        // SAFETY: the column was quantized with the `BinMapper` whose offsets cut `cells`, so
        // every bin is below the feature's width (`build_root_histograms` asserts the offsets fit
        // through `assert_offsets_fit`).
        add_lanes(unsafe { cells.get_unchecked_mut(b.index()) }, l);
    }
}

/// Adds `y` into `x`, lane by lane.
#[inline(always)]
fn add_lanes(x: &mut Lanes, y: &Lanes) {
    for (a, b) in x.iter_mut().zip(y) {
        *a = a.wrapping_add(*b);
    }
}

simd_dispatch! {
    /// [`add_rows_loop`] for the widest instruction set the processor has (with AVX-512, one
    /// addition per bin for all outputs).
    fn add_rows[T: BinIndex], at add_rows_at(
        bins: &[T],
        columns: usize,
        offsets: &[usize],
        rows: &[u32],
        outputs: &PairSource<'_>,
        acc: &mut [Lanes],
    ) = add_rows_loop;
    avx512 needs ["avx512f", "avx512dq"]
}

/// Adds every row of `rows` into `acc`: the row's packed pairs of every output (one lane each,
/// unused lanes 0) into the cell of each of its columns' bins.
#[inline(always)]
fn add_rows_loop<T: BinIndex>(
    bins: &[T],
    columns: usize,
    offsets: &[usize],
    rows: &[u32],
    outputs: &PairSource<'_>,
    acc: &mut [Lanes],
) {
    let cells = acc.len();
    let offsets = &offsets[..columns];
    for &r in rows {
        let pairs = outputs.lanes(r);
        let r = r as usize;
        let row = &bins[r * columns..(r + 1) * columns];
        for (b, off) in row.iter().zip(offsets) {
            let slot = off + b.index();
            debug_assert!(slot < cells);
            // SAFETY: the bins were quantized with the `BinMapper` whose offsets these are (or are
            // the bundle codes of the same matrix), so `slot < offsets[columns] == acc.len()`,
            // which `build_root_histograms` asserts through `assert_offsets_fit`.
            add_lanes(unsafe { acc.get_unchecked_mut(slot) }, &pairs);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::bins::cuts::BinMapper;
    use crate::data::dataset::Dataset;
    use crate::train::histogram::build_histogram_naive;
    use crate::train::quantize::{output_quantizers, quantize_shard};
    use crate::util::simd::Isa;
    use proptest::prelude::*;

    fn matrix(cols: &[Vec<f32>], max_bin: usize, bundle: bool) -> (QuantizedMatrix, BinMapper) {
        let ds = Dataset::from_columns(cols.to_vec()).unwrap();
        let mapper = BinMapper::fit(&ds, max_bin);
        let m = QuantizedMatrix::build(&ds, &mapper);
        let m = if bundle { m.bundle(&mapper) } else { m };
        (m, mapper)
    }

    /// A xorshift stream of pseudo-random words (test data).
    pub(crate) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed | 1;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// Pairs of `n` rows x `k` outputs: gradients in [-5, 5], hessians in [0, 2].
    fn pairs(n: usize, k: usize, next: &mut impl FnMut() -> u64) -> Vec<GradPair> {
        (0..n * k)
            .map(|_| GradPair::new((next() % 2001) as f32 / 200.0 - 5.0, (next() % 1001) as f32 / 500.0))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Every output's root histogram is the one its tree builds from its own pairs, quantized
        /// by `quantize_shard` with the same rows and seed, for any number of outputs (past one
        /// pass of [`LANES`]), row subset and bin width, from the features or from their bundles
        /// (low-cardinality features are bundled).
        #[test]
        fn every_output_gets_its_trees_histogram(
            n in 1usize..5000,
            nf in 1usize..6,
            k in 1usize..12,
            max_bin in prop::sample::select(vec![4usize, 40, 300]),
            low_cardinality in any::<bool>(),
            keep in 1u32..4,
            seed in any::<u64>(),
        ) {
            let mut next = xorshift(seed);
            let cols: Vec<Vec<f32>> = (0..nf)
                .map(|_| {
                    (0..n)
                        .map(|_| match next() % 10 {
                            0 => f32::NAN,
                            _ if low_cardinality => (next() % 5) as f32,
                            _ => (next() % 1000) as f32 / 7.0,
                        })
                        .collect()
                })
                .collect();
            let gpairs = pairs(n, k, &mut next);
            let rows: Vec<u32> = (0..n as u32).filter(|r| r % keep == 0).collect();
            let seeds: Vec<u64> = (0..k as u64).map(|o| seed ^ (o * 77)).collect();
            let quantizers: Vec<RowQuantizer> = output_quantizers(&gpairs, k, &rows, &seeds)
                .into_iter()
                .map(|q| q.expect("finite pairs pack"))
                .collect();
            for bundle in [false, true] {
                let (m, mapper) = matrix(&cols, max_bin, bundle);
                let roots = build_root_histograms(&m, mapper.offsets(), &rows, &gpairs, &quantizers);
                prop_assert_eq!(roots.len(), k);
                for (o, root) in roots.iter().enumerate() {
                    let fit: Vec<GradPair> = (0..n).map(|r| gpairs[r * k + o]).collect();
                    let mut packed = Vec::new();
                    quantize_shard(&fit, &rows, seeds[o], &mut packed, None).unwrap().unwrap();
                    let alone = build_histogram_naive::<i64>(&m, mapper.offsets(), &rows, &packed);
                    prop_assert_eq!(root, &alone, "output {} (bundled {})", o, bundle);
                }
            }
        }

        /// The AVX-512, AVX2 and baseline loops add the same cells, row by row and column by
        /// column.
        #[test]
        fn every_variant_adds_alike(n in 1usize..700, k in 1usize..=LANES, seed in any::<u64>()) {
            let mut next = xorshift(seed);
            let nf = 3;
            let bins: Vec<u8> = (0..n * nf).map(|_| (next() % 16) as u8).collect();
            let offsets = [0usize, 16, 32, 48];
            let gpairs = pairs(n, k, &mut next);
            let rows: Vec<u32> = (0..n as u32).collect();
            let seeds: Vec<u64> = (0..k as u64).collect();
            let quantizers: Vec<RowQuantizer> =
                output_quantizers(&gpairs, k, &rows, &seeds).into_iter().flatten().collect();
            let source = PairSource { gpairs: &gpairs, stride: k, first: 0, quantizers: &quantizers };
            let mut reference = vec![[0i64; LANES]; 48];
            add_rows_loop(&bins, nf, &offsets, &rows, &source, &mut reference);
            let columns: Vec<Vec<u8>> = (0..nf).map(|f| (0..n).map(|r| bins[r * nf + f]).collect()).collect();
            let columns: Vec<ColumnBins<'_>> = columns.iter().map(|c| ColumnBins::U8(c)).collect();
            for isa in Isa::available(&["avx512f", "avx512dq"]) {
                let mut acc = vec![[0i64; LANES]; 48];
                add_rows_at(isa, &bins, nf, &offsets, &rows, &source, &mut acc);
                prop_assert_eq!(&acc, &reference, "{:?}", isa);
                // Column by column: the same cells.
                let mut acc = vec![[0i64; LANES]; 48];
                add_columns_at(isa, &columns, &offsets, 0..n, &source, &mut acc);
                prop_assert_eq!(&acc, &reference, "{:?} by column", isa);
            }
        }
    }

    #[test]
    fn shared_roots_need_outputs_and_room() {
        assert!(!shared_roots_pay(1, 100));
        assert!(shared_roots_pay(7, 50 * 256));
        assert!(!shared_roots_pay(7, 1000 * 256));
    }
}
