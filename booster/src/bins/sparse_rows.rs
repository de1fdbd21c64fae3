//! Sparse features stored as each row's list of non-default bins, for histogram building.
//!
//! A feature whose most frequent bin holds nearly every row (counts, flags, one-hot columns: zero
//! in 95 % of the rows) costs a row-wise histogram one addition per row, though almost all of them
//! land in that one bin. Such a feature is *sparse* here: its most frequent bin is its *default*,
//! and every row lists the histogram cells of its sparse features' other bins (compressed sparse
//! rows). A histogram then adds a row's pair to those cells and to one cell holding the node's
//! total, and each default cell is afterwards the total less the feature's other cells. LightGBM
//! stores sparse features the same way (its sparse and multi-value bins, `sparse_threshold` 0.8).
//!
//! The default cells are the sums a dense build gives only when sums do not depend on their order:
//! the histogram builder uses sparse rows for exact (integer) cells only, so models are the same,
//! bit for bit, with or without them.

use rayon::prelude::*;

use crate::bins::matrix::{BinIndex, BinStore};
use crate::util::prefetch::{prefetch, PREFETCH_DISTANCE};

/// Least share of the rows a feature's most frequent bin must hold for the feature to be sparse
/// (LightGBM's `sparse_threshold`).
pub const SPARSE_MIN_DEFAULT_SHARE: f64 = 0.8;

/// Rows per task while counting bins and listing the non-default ones.
const SPARSE_CHUNK_ROWS: usize = 4096;

/// A histogram region of sparse features: for each, all its bins' cells, then one cell for the
/// node's total; and every row's list of the cells its non-default bins add to.
#[derive(Debug, Clone)]
pub struct SparseRows {
    /// The sparse features, ascending.
    features: Vec<usize>,
    /// Where sparse feature `k`'s cells start in the region; the region's feature cells last
    /// (the total's cell is at that index).
    region_offsets: Vec<usize>,
    /// Each sparse feature's default (most frequent) bin.
    defaults: Vec<usize>,
    /// Where row `r`'s cells start in `cells`; the number of cells last.
    starts: Vec<usize>,
    /// Region cells of every row's non-default sparse bins, row after row.
    cells: Vec<u32>,
}

/// Rows at most that [`most_frequent_bins`] reads (evenly spaced): the default bins and shares
/// only choose the layout, and any default gives the same histograms.
const SPARSE_SAMPLE_ROWS: usize = 1 << 16;

/// Each feature's most frequent bin and the share of the rows holding it, over a row-major store
/// of `nf` features whose feature `f` has `offsets[f + 1] - offsets[f]` bins, read at evenly spaced
/// rows (at most [`SPARSE_SAMPLE_ROWS`]); the lowest bin wins a tie. `None` when a bin lies
/// outside its feature's width.
pub(crate) fn most_frequent_bins(store: &BinStore, nf: usize, offsets: &[usize]) -> Option<Vec<(usize, f64)>> {
    match store {
        BinStore::U8(v) => most_frequent_bins_of(v, nf, offsets),
        BinStore::U16(v) => most_frequent_bins_of(v, nf, offsets),
    }
}

fn most_frequent_bins_of<T: BinIndex>(bins: &[T], nf: usize, offsets: &[usize]) -> Option<Vec<(usize, f64)>> {
    let total = *offsets.last()?;
    if nf == 0 || offsets.len() != nf + 1 {
        return None;
    }
    let rows = bins.len() / nf;
    let step = rows.div_ceil(SPARSE_SAMPLE_ROWS).max(1);
    let sampled = rows.div_ceil(step);
    let counts = (0..sampled.div_ceil(SPARSE_CHUNK_ROWS))
        .into_par_iter()
        .map(|chunk| {
            let mut counts = vec![0u32; total];
            let first = chunk * SPARSE_CHUNK_ROWS;
            for r in (first..(first + SPARSE_CHUNK_ROWS).min(sampled)).map(|i| i * step) {
                for (f, b) in bins[r * nf..(r + 1) * nf].iter().enumerate() {
                    let slot = offsets[f] + b.index();
                    if slot >= offsets[f + 1] {
                        return None;
                    }
                    counts[slot] += 1;
                }
            }
            Some(counts)
        })
        .try_reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(a, b)| *a += b);
            Some(a)
        });
    let counts = match counts {
        None => vec![0; total],
        Some(None) => return None,
        Some(Some(counts)) => counts,
    };
    let n = sampled.max(1) as f64;
    Some(
        offsets
            .windows(2)
            .map(|w| {
                let own = &counts[w[0]..w[1]];
                // The first largest count (max_by_key keeps the last of equals: compare reversed bins).
                let (bin, &rows) = own
                    .iter()
                    .enumerate()
                    .max_by_key(|&(b, &c)| (c, std::cmp::Reverse(b)))
                    .unwrap_or((0, &0));
                (bin, rows as f64 / n)
            })
            .collect(),
    )
}

impl SparseRows {
    /// The sparse rows of the features `features` (ascending) with default bins `defaults`, over
    /// a row-major store of `nf` features whose feature `f` has `offsets[f + 1] - offsets[f]`
    /// bins; `None` when there are none or the cells do not fit 32 bits.
    pub fn build(
        store: &BinStore,
        nf: usize,
        offsets: &[usize],
        features: Vec<usize>,
        defaults: Vec<usize>,
    ) -> Option<SparseRows> {
        if features.is_empty() || features.len() != defaults.len() {
            return None;
        }
        let mut region_offsets = vec![0];
        for &f in &features {
            region_offsets.push(region_offsets.last().copied().unwrap_or(0) + offsets[f + 1] - offsets[f]);
        }
        u32::try_from(*region_offsets.last()?).ok()?;
        let lists: Vec<(Vec<u32>, Vec<u32>)> = match store {
            BinStore::U8(v) => list_cells(v, nf, &features, &defaults, &region_offsets),
            BinStore::U16(v) => list_cells(v, nf, &features, &defaults, &region_offsets),
        };
        let rows: usize = lists.iter().map(|(lengths, _)| lengths.len()).sum();
        let mut starts = Vec::with_capacity(rows + 1);
        let mut cells = Vec::with_capacity(lists.iter().map(|(_, c)| c.len()).sum());
        starts.push(0);
        for (lengths, chunk_cells) in lists {
            for n in lengths {
                starts.push(starts.last().copied().unwrap_or(0) + n as usize);
            }
            cells.extend_from_slice(&chunk_cells);
        }
        Some(SparseRows {
            features,
            region_offsets,
            defaults,
            starts,
            cells,
        })
    }

    /// The sparse features, ascending.
    pub fn features(&self) -> &[usize] {
        &self.features
    }

    /// Cells of the region: every sparse feature's bins and the total's cell.
    pub fn region_cells(&self) -> usize {
        self.total_cell() + 1
    }

    /// Where the node total's cell is in the region.
    fn total_cell(&self) -> usize {
        self.region_offsets.last().copied().unwrap_or(0)
    }

    /// Average listed cells per row (the additions a row costs besides the total's).
    pub fn cells_per_row(&self) -> f64 {
        self.cells.len() as f64 / (self.starts.len() - 1).max(1) as f64
    }

    /// Adds the rows `rows` into `region` (of [`SparseRows::region_cells`] cells): each row's pair
    /// into the total's cell and into the cells of its non-default bins.
    pub fn accumulate<P: Copy, C: Copy>(&self, rows: &[u32], pairs: &[P], region: &mut [C], add: impl Fn(&mut C, P)) {
        let total = self.total_cell();
        assert_eq!(region.len(), total + 1, "the region has every sparse bin and the total");
        for (i, &r) in rows.iter().enumerate() {
            // A deep node's rows are scattered: a later row's pair and list bounds are fetched
            // ahead, and a nearer row's list (whose bounds were fetched by then), so that the
            // loads overlap with this row's additions.
            if let Some(&far) = rows.get(i + PREFETCH_DISTANCE) {
                prefetch(pairs.as_ptr().wrapping_add(far as usize));
                prefetch(self.starts.as_ptr().wrapping_add(far as usize));
            }
            if let Some(&near) = rows.get(i + PREFETCH_DISTANCE / 2) {
                prefetch(self.cells.as_ptr().wrapping_add(self.starts[near as usize]));
            }
            let r = r as usize;
            let p = pairs[r];
            add(&mut region[total], p);
            for &cell in &self.cells[self.starts[r]..self.starts[r + 1]] {
                debug_assert!((cell as usize) < total);
                // SAFETY: every listed cell is below the region's feature cells (`list_cells`
                // writes `region_offsets[k] + bin` with `bin` below feature `k`'s width), and the
                // region has one more cell, asserted above.
                add(unsafe { region.get_unchecked_mut(cell as usize) }, p);
            }
        }
    }

    /// Writes the region's cells into a feature histogram (feature `f`'s bins at
    /// `offsets[f]..`): each default cell is the total less the feature's other cells.
    pub fn write_features<C: Copy + Default + std::ops::SubAssign>(
        &self,
        region: &[C],
        offsets: &[usize],
        out: &mut [C],
    ) {
        let total = region[self.total_cell()];
        for (k, &f) in self.features.iter().enumerate() {
            let own = &region[self.region_offsets[k]..self.region_offsets[k + 1]];
            let mut default = total;
            for &c in own {
                default -= c;
            }
            let dest = &mut out[offsets[f]..offsets[f + 1]];
            dest.copy_from_slice(own);
            // The default cell was never added to (it is 0), so `default` is the total less the
            // other cells.
            dest[self.defaults[k]] = default;
        }
    }
}

/// Per chunk of rows: each row's number of listed cells, and the cells.
fn list_cells<T: BinIndex>(
    bins: &[T],
    nf: usize,
    features: &[usize],
    defaults: &[usize],
    region_offsets: &[usize],
) -> Vec<(Vec<u32>, Vec<u32>)> {
    bins.par_chunks(SPARSE_CHUNK_ROWS * nf)
        .map(|chunk| {
            let mut lengths = Vec::with_capacity(chunk.len() / nf);
            let mut cells = Vec::new();
            for row in chunk.chunks_exact(nf) {
                let before = cells.len();
                for (k, (&f, &default)) in features.iter().zip(defaults).enumerate() {
                    let b = row[f].index();
                    if b != default {
                        cells.push((region_offsets[k] + b) as u32);
                    }
                }
                lengths.push((cells.len() - before) as u32);
            }
            (lengths, cells)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_cells_are_the_total_less_the_others() {
        // 3 features of widths 2, 3, 2; rows (bins): feature 1 is mostly bin 2.
        let offsets = [0, 2, 5, 7];
        let rows: [[u8; 3]; 5] = [[0, 2, 1], [1, 2, 0], [0, 0, 0], [0, 2, 0], [1, 1, 0]];
        let store = BinStore::U8(rows.iter().flatten().copied().collect());
        let freq = most_frequent_bins(&store, 3, &offsets).unwrap();
        assert_eq!(freq, vec![(0, 0.6), (2, 0.6), (0, 0.8)]);
        let s = SparseRows::build(&store, 3, &offsets, vec![1, 2], vec![2, 0]).unwrap();
        assert_eq!(s.region_cells(), 3 + 2 + 1);
        assert_eq!(s.cells_per_row(), 3.0 / 5.0);
        let pairs: Vec<i64> = vec![10, 200, 3000, 40000, 500000];
        let picked = [0u32, 2, 3, 4];
        let mut region = vec![0i64; s.region_cells()];
        s.accumulate(&picked, &pairs, &mut region, |c, p| *c += p);
        let mut out = vec![0i64; 7];
        s.write_features(&region, &offsets, &mut out);
        let mut direct = vec![0i64; 7];
        for &r in &picked {
            for f in [1, 2] {
                direct[offsets[f] + rows[r as usize][f] as usize] += pairs[r as usize];
            }
        }
        assert_eq!(out, direct);
    }

    #[test]
    fn bins_beyond_their_width_are_refused() {
        assert!(most_frequent_bins(&BinStore::U8(vec![0, 1]), 2, &[0, 2, 4]).is_some());
        assert!(most_frequent_bins(&BinStore::U8(vec![2, 0]), 2, &[0, 2, 4]).is_none());
    }
}
