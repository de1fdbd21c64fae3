//! The root histograms of every output's tree of a round, built in one pass over the rows.
//!
//! With several outputs (`multi:softprob` with `k` classes), each round grows `k` trees whose
//! roots hold the same rows: built one tree at a time, the root histograms read every row's bins
//! `k` times and add `k` times one gradient pair per feature. Built together, every row's bins are
//! read once and the pairs of [`LANES`] outputs are added at once into interleaved cells (one
//! vector addition for all of them). The sums are those of the packed quantized pairs, which are
//! exact integers, so each output's histogram is the one its tree would have built alone, bit for
//! bit.

use rayon::prelude::*;

use crate::bins::matrix::{BinIndex, BinStore, QuantizedMatrix};
use crate::train::histogram::HIST_CHUNK;
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
/// for every output: `packed[o][r]` is row `r`'s packed pair for output `o`; `offsets` come from
/// the matrix's `BinMapper`. Equal to building each output's histogram from its own pairs.
pub fn build_root_histograms(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    rows: &[u32],
    packed: &[&[i64]],
) -> Vec<Vec<i64>> {
    assert_eq!(
        offsets.len(),
        matrix.num_features() + 1,
        "offsets must come from the matrix's BinMapper"
    );
    assert!(
        matrix.max_bin_below(offsets),
        "the matrix holds bins beyond its BinMapper's offsets"
    );
    assert!(
        packed.iter().all(|p| rows.iter().all(|&r| (r as usize) < p.len())),
        "every output needs a pair for every row"
    );
    let total = *offsets.last().unwrap_or(&0);
    // Bundled columns (exclusive features sharing one code) where they pay, as for one output.
    let bundles = matrix
        .bundles()
        .filter(|b| b.fit_layout(offsets) && b.pays_for(rows.len()));
    let (store, columns, column_offsets) = match bundles {
        Some(b) => (b.codes(), b.num_bundles(), b.offsets()),
        None => (matrix.store(), matrix.num_features(), offsets),
    };
    let cells = *column_offsets.last().unwrap_or(&0);
    let mut out = Vec::with_capacity(packed.len());
    for outputs in packed.chunks(LANES) {
        let interleaved = interleaved_sums(store, columns, column_offsets, cells, rows, outputs);
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

/// The interleaved histogram of `rows` for up to [`LANES`] outputs: chunks of [`HIST_CHUNK`] rows
/// folded per worker, then added (integer sums: any order gives the same cells).
fn interleaved_sums(
    store: &BinStore,
    columns: usize,
    offsets: &[usize],
    cells: usize,
    rows: &[u32],
    outputs: &[&[i64]],
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
        outputs: &[&[i64]],
        acc: &mut [Lanes],
    ) = add_rows_loop;
    avx512 needs ["avx512f"]
}

/// Adds every row of `rows` into `acc`: the row's pairs of every output (one lane each, unused
/// lanes 0) into the cell of each of its columns' bins.
#[inline(always)]
fn add_rows_loop<T: BinIndex>(
    bins: &[T],
    columns: usize,
    offsets: &[usize],
    rows: &[u32],
    outputs: &[&[i64]],
    acc: &mut [Lanes],
) {
    let cells = acc.len();
    let offsets = &offsets[..columns];
    for &r in rows {
        let r = r as usize;
        let mut pairs = [0i64; LANES];
        for (lane, output) in pairs.iter_mut().zip(outputs) {
            *lane = output[r];
        }
        let row = &bins[r * columns..(r + 1) * columns];
        for (b, off) in row.iter().zip(offsets) {
            let slot = off + b.index();
            debug_assert!(slot < cells);
            // SAFETY: the bins were quantized with the `BinMapper` whose offsets these are (or are
            // the bundle codes of the same matrix), so `slot < offsets[columns] == acc.len()`,
            // which `build_root_histograms` asserts through `max_bin_below`.
            add_lanes(unsafe { acc.get_unchecked_mut(slot) }, &pairs);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bins::cuts::BinMapper;
    use crate::data::dataset::Dataset;
    use crate::train::histogram::build_histogram_naive;
    use crate::util::simd::Isa;
    use proptest::prelude::*;

    fn matrix(cols: &[Vec<f32>], max_bin: usize, bundle: bool) -> (QuantizedMatrix, BinMapper) {
        let ds = Dataset::from_columns(cols.to_vec()).unwrap();
        let mapper = BinMapper::fit(&ds, max_bin);
        let m = QuantizedMatrix::build(&ds, &mapper);
        let m = if bundle { m.bundle(&mapper) } else { m };
        (m, mapper)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Every output's root histogram is the one built from its own pairs alone, for any number
        /// of outputs (past one pass of [`LANES`]), row subset and bin width, from the features or
        /// from their bundles (low-cardinality features are bundled).
        #[test]
        fn every_output_gets_its_own_histogram(
            n in 1usize..5000,
            nf in 1usize..6,
            outputs in 1usize..12,
            max_bin in prop::sample::select(vec![4usize, 40, 300]),
            low_cardinality in any::<bool>(),
            keep in 1u32..4,
            seed in any::<u64>(),
        ) {
            let mut state = seed | 1;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
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
            let packed: Vec<Vec<i64>> = (0..outputs)
                .map(|_| (0..n).map(|_| ((next() % 2001) as i64 - 1000) << 32 | (next() % 500) as i64).collect())
                .collect();
            let views: Vec<&[i64]> = packed.iter().map(|p| &p[..]).collect();
            let rows: Vec<u32> = (0..n as u32).filter(|r| r % keep == 0).collect();
            for bundle in [false, true] {
                let (m, mapper) = matrix(&cols, max_bin, bundle);
                let roots = build_root_histograms(&m, mapper.offsets(), &rows, &views);
                prop_assert_eq!(roots.len(), outputs);
                for (o, root) in roots.iter().enumerate() {
                    let alone = build_histogram_naive::<i64>(&m, mapper.offsets(), &rows, &packed[o]);
                    prop_assert_eq!(root, &alone, "output {} (bundled {})", o, bundle);
                }
            }
        }

        /// The AVX-512, AVX2 and baseline loops add the same cells.
        #[test]
        fn every_variant_adds_alike(n in 1usize..300, outputs in 1usize..=LANES, seed in any::<u64>()) {
            let nf = 3;
            let bins: Vec<u8> = (0..n * nf).map(|i| ((i as u64 * 31 + seed) % 16) as u8).collect();
            let offsets = [0usize, 16, 32, 48];
            let packed: Vec<Vec<i64>> = (0..outputs)
                .map(|o| (0..n).map(|r| (seed.wrapping_mul(r as u64 + 1) >> (o + 1)) as i64).collect())
                .collect();
            let views: Vec<&[i64]> = packed.iter().map(|p| &p[..]).collect();
            let rows: Vec<u32> = (0..n as u32).collect();
            let mut reference = vec![[0i64; LANES]; 48];
            add_rows_loop(&bins, nf, &offsets, &rows, &views, &mut reference);
            for isa in Isa::available(&["avx512f"]) {
                let mut acc = vec![[0i64; LANES]; 48];
                add_rows_at(isa, &bins, nf, &offsets, &rows, &views, &mut acc);
                prop_assert_eq!(&acc, &reference, "{:?}", isa);
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
