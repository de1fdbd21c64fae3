//! Bundles of low-cardinality features for histogram building.
//!
//! A row-wise histogram costs one addition per (row, feature), whatever the feature's number of
//! bins. Features with few bins (flags, small integers, short categories) waste that: a feature of
//! 2 bins and one of 30 take two additions per row, though their 60 combinations fit one
//! histogram of 60 cells. A bundle is such a group of features, each row's bins written as one
//! mixed-radix number (`code = (b0 * w1 + b1) * w2 + b2 ...` for bins `b_i` of widths `w_i`), whose
//! product of widths stays within [`BUNDLE_CELLS`]. Its histogram gets one addition per row, and
//! each member's histogram is that histogram summed over the other members' bins
//! ([`BinBundles::unbundle`]).
//!
//! Sparse features (one bin in nearly every row: counts, one-hot columns) are cheaper still as lists
//! of each row's other bins ([`crate::bins::sparse_rows`]): when that saves enough additions they
//! leave the bundles, and a bundled histogram ends with their region.
//!
//! Unbundled sums are the same numbers only when sums do not depend on their order: the histogram
//! builder uses bundles for exact (integer) cells only, so models are the same, bit for bit, with
//! or without them.

use rayon::prelude::*;

use crate::bins::matrix::{BinIndex, BinStore};
use crate::bins::sparse_rows::{most_frequent_bins, SparseRows, SPARSE_MIN_DEFAULT_SHARE};

/// Most cells a bundle's histogram has: 256 cells of 8 bytes keep 20 bundles inside the L1 cache,
/// and a bundle's code stays a byte when every member is.
pub const BUNDLE_CELLS: usize = 256;

/// Rows per task while writing the bundled codes.
const BUNDLE_CHUNK_ROWS: usize = 4096;

/// The bundles of features of widths `widths` (bins per feature): first fit in decreasing order of
/// width, each feature joining the first bundle whose cells times its width stay within
/// [`BUNDLE_CELLS`], else starting a bundle of its own. Every feature is in exactly one bundle; a
/// feature wider than [`BUNDLE_CELLS`] is a bundle alone.
pub fn plan_bundles(widths: &[usize]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..widths.len()).collect();
    order.sort_by_key(|&f| (std::cmp::Reverse(widths[f]), f));
    let mut bundles: Vec<(usize, Vec<usize>)> = Vec::new();
    for f in order {
        let w = widths[f].max(1);
        match bundles.iter_mut().find(|(cells, _)| cells * w <= BUNDLE_CELLS) {
            Some((cells, members)) => {
                *cells *= w;
                members.push(f);
            }
            None => bundles.push((w, vec![f])),
        }
    }
    bundles.into_iter().map(|(_, members)| members).collect()
}

/// The training matrix's rows written as bundle codes, and how each bundle's histogram maps back
/// to its features' bins.
#[derive(Debug, Clone)]
pub struct BinBundles {
    /// The feature widths the bundles were planned for (a histogram layout of other widths cannot
    /// use them).
    widths: Vec<usize>,
    /// One code per (row, bundle), row-major.
    codes: BinStore,
    /// Where bundle `b`'s cells start in a bundled histogram; the total last.
    offsets: Vec<usize>,
    /// Per bundled cell, in cell order, the feature-histogram slot of each member of its bundle.
    slots: Vec<u32>,
    /// Per bundle, its number of members.
    members: Vec<usize>,
    /// The features' histogram offsets (the layout the bundles were planned for).
    feature_offsets: Vec<usize>,
    /// The sparse features, listed per row, whose region follows the bundles' cells.
    sparse: Option<SparseRows>,
}

/// The sparse features worth listing per row instead of bundling, with their default bins: those
/// whose default holds at least [`SPARSE_MIN_DEFAULT_SHARE`] of the rows, when the row-wise
/// additions (bundles of the other features, each row's listed cells and its total) stay below
/// three quarters of the bundled additions without them (`dense_cost`).
fn sparse_plan(
    store: &BinStore,
    nf: usize,
    offsets: &[usize],
    widths: &[usize],
    dense_cost: usize,
) -> Option<(Vec<usize>, Vec<usize>)> {
    let freq = most_frequent_bins(store, nf, offsets)?;
    let (features, defaults): (Vec<usize>, Vec<usize>) = freq
        .iter()
        .enumerate()
        .filter(|(_, (_, share))| *share >= SPARSE_MIN_DEFAULT_SHARE)
        .map(|(f, &(bin, _))| (f, bin))
        .unzip();
    if features.is_empty() {
        return None;
    }
    let listed: f64 = features.iter().map(|&f| 1.0 - freq[f].1).sum();
    let rest: Vec<usize> = (0..nf).filter(|f| features.binary_search(f).is_err()).collect();
    let rest_widths: Vec<usize> = rest.iter().map(|&f| widths[f]).collect();
    let cost = plan_bundles(&rest_widths).len() as f64 + listed + 2.0;
    (cost * 4.0 < dense_cost as f64 * 3.0).then_some((features, defaults))
}

impl BinBundles {
    /// Bundles the features of a row-major matrix of `num_features` features whose feature `f`
    /// has `offsets[f + 1] - offsets[f]` bins, when that saves at least an eighth of the row-wise
    /// additions; `None` otherwise, or when a stored bin lies outside its feature's width.
    pub fn build(store: &BinStore, num_features: usize, offsets: &[usize]) -> Option<BinBundles> {
        let widths: Vec<usize> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
        if widths.len() != num_features || num_features == 0 {
            return None;
        }
        let plan = plan_bundles(&widths);
        let saved = num_features - plan.len();
        let bundling_pays = saved > 0 && saved * 8 >= num_features;
        let dense_cost = if bundling_pays { plan.len() } else { num_features };
        let (plan, sparse) = match sparse_plan(store, num_features, offsets, &widths, dense_cost) {
            Some((features, defaults)) => {
                let rest: Vec<usize> = (0..num_features)
                    .filter(|f| features.binary_search(f).is_err())
                    .collect();
                let rest_widths: Vec<usize> = rest.iter().map(|&f| widths[f]).collect();
                let plan = plan_bundles(&rest_widths)
                    .into_iter()
                    .map(|members| members.into_iter().map(|m| rest[m]).collect())
                    .collect();
                let sparse = SparseRows::build(store, num_features, offsets, features, defaults);
                match sparse {
                    Some(sparse) => (plan, Some(sparse)),
                    None if bundling_pays => (plan_bundles(&widths), None),
                    None => return None,
                }
            }
            None if bundling_pays => (plan, None),
            None => return None,
        };
        let strides: Vec<Vec<usize>> = plan
            .iter()
            .map(|members| {
                let mut stride = 1;
                let mut out = vec![0; members.len()];
                for (k, &f) in members.iter().enumerate().rev() {
                    out[k] = stride;
                    stride *= widths[f].max(1);
                }
                out
            })
            .collect();
        let codes = match store {
            BinStore::U8(v) => BinStore::U8(encode(v, num_features, &plan, &strides, &widths)?),
            BinStore::U16(v) => BinStore::U16(encode(v, num_features, &plan, &strides, &widths)?),
        };
        let mut bundle_offsets = vec![0];
        let mut slots = Vec::new();
        for (members, strides) in plan.iter().zip(&strides) {
            let cells: usize = members.iter().map(|&f| widths[f].max(1)).product();
            for cell in 0..cells {
                for (&f, &stride) in members.iter().zip(strides) {
                    let bin = (cell / stride) % widths[f].max(1);
                    slots.push(u32::try_from(offsets[f] + bin).ok()?);
                }
            }
            bundle_offsets.push(bundle_offsets.last().copied().unwrap_or(0) + cells);
        }
        Some(BinBundles {
            widths,
            codes,
            offsets: bundle_offsets,
            slots,
            members: plan.iter().map(Vec::len).collect(),
            feature_offsets: offsets.to_vec(),
            sparse,
        })
    }

    /// Whether the bundles were planned for the histogram layout `offsets`.
    pub fn fit_layout(&self, offsets: &[usize]) -> bool {
        offsets.len() == self.widths.len() + 1 && offsets.windows(2).zip(&self.widths).all(|(o, w)| o[1] - o[0] == *w)
    }

    /// Number of bundles (the row-wise additions per row).
    pub fn num_bundles(&self) -> usize {
        self.members.len()
    }

    /// The rows' bundle codes, row-major.
    pub fn codes(&self) -> &BinStore {
        &self.codes
    }

    /// Where each bundle's cells start in a bundled histogram, the bundles' cells last (the
    /// sparse region, if any, follows them).
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// The sparse features listed per row, if any: their region follows the bundles' cells.
    pub fn sparse(&self) -> Option<&SparseRows> {
        self.sparse.as_ref()
    }

    /// Cells of a bundled histogram: the bundles' and the sparse region's.
    pub fn cells(&self) -> usize {
        self.offsets.last().copied().unwrap_or(0) + self.sparse.as_ref().map_or(0, SparseRows::region_cells)
    }

    /// Whether a node of `rows` rows is cheaper to build bundled: the additions saved must
    /// outweigh clearing and unbundling the bundled histogram.
    pub fn pays_for(&self, rows: usize) -> bool {
        let per_row = self.num_bundles() as f64 + self.sparse.as_ref().map_or(0.0, |s| s.cells_per_row() + 2.0);
        let saved = rows as f64 * (self.widths.len() as f64 - per_row);
        saved > 2.0 * (self.slots.len() + self.cells()) as f64
    }

    /// The feature histogram (`offsets` of [`BinBundles::fit_layout`]) of a bundled histogram
    /// (of [`BinBundles::cells`] cells): each member's bin receives the cells of its bundle that
    /// hold it; sparse features get their region's cells.
    pub fn unbundle<C: Copy + Default + std::ops::AddAssign + std::ops::SubAssign>(
        &self,
        bundled: &[C],
        total: usize,
    ) -> Vec<C> {
        let mut out = vec![C::default(); total];
        if let Some(sparse) = &self.sparse {
            let dense = self.offsets.last().copied().unwrap_or(0);
            sparse.write_features(&bundled[dense..], &self.feature_offsets, &mut out);
        }
        let mut slots = self.slots.iter();
        for (b, &m) in self.members.iter().enumerate() {
            for &cell in &bundled[self.offsets[b]..self.offsets[b + 1]] {
                for &slot in slots.by_ref().take(m) {
                    out[slot as usize] += cell;
                }
            }
        }
        out
    }
}

/// The bundle codes of a row-major matrix (rows in parallel); `None` when a bin lies outside its
/// feature's width (the code would land in another member's bins).
fn encode<T: BinIndex>(
    bins: &[T],
    nf: usize,
    plan: &[Vec<usize>],
    strides: &[Vec<usize>],
    widths: &[usize],
) -> Option<Vec<T>> {
    let nb = plan.len();
    let rows = bins.len() / nf;
    if nb == 0 {
        // Every feature is listed sparsely: no codes.
        return Some(Vec::new());
    }
    let mut codes = vec![T::from_index(0); rows * nb];
    let ok = codes
        .par_chunks_mut(BUNDLE_CHUNK_ROWS * nb)
        .zip(bins.par_chunks(BUNDLE_CHUNK_ROWS * nf))
        .all(|(out, src)| {
            for (row_codes, row) in out.chunks_exact_mut(nb).zip(src.chunks_exact(nf)) {
                for ((code, members), strides) in row_codes.iter_mut().zip(plan).zip(strides) {
                    let mut c = 0;
                    for (&f, &stride) in members.iter().zip(strides) {
                        let b = row[f].index();
                        if b >= widths[f] {
                            return false;
                        }
                        c += b * stride;
                    }
                    *code = T::from_index(c);
                }
            }
            true
        });
    ok.then_some(codes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plan_fills_wide_bundles_with_narrow_features() {
        // Widest first: 300 alone; 30 x 8 = 240 (and the width-1 feature); 16 x 16 = 256; 2 finds
        // no bundle with room.
        let plan = plan_bundles(&[2, 30, 16, 8, 16, 300, 1]);
        assert_eq!(plan, vec![vec![5], vec![1, 3, 6], vec![2, 4], vec![0]]);
        assert!(plan_bundles(&[]).is_empty());
    }

    proptest! {
        #[test]
        fn unbundled_histograms_are_the_feature_histograms(
            widths in proptest::collection::vec(1usize..40, 1..12),
            seed in any::<u64>(),
            rows in 1usize..300,
        ) {
            let nf = widths.len();
            let mut offsets = vec![0];
            for w in &widths {
                offsets.push(offsets.last().unwrap() + w);
            }
            let mut state = seed | 1;
            let mut next = || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            // Every third feature is sparse: its bin is 0 in about nine rows of ten.
            let bins: Vec<u8> = (0..rows * nf)
                .map(|i| {
                    let f = i % nf;
                    if f % 3 == 0 && next() % 10 != 0 {
                        0
                    } else {
                        (next() % widths[f] as u64) as u8
                    }
                })
                .collect();
            let weights: Vec<i64> = (0..rows).map(|_| (next() % 1000) as i64 - 500).collect();
            let mut direct = vec![0i64; offsets[nf]];
            for r in 0..rows {
                for f in 0..nf {
                    direct[offsets[f] + bins[r * nf + f] as usize] += weights[r];
                }
            }
            let Some(b) = BinBundles::build(&BinStore::U8(bins.clone()), nf, &offsets) else {
                // Bundling would not save an eighth of the additions (nor would listing sparse
                // features).
                prop_assert!(nf - plan_bundles(&widths).len() < nf.div_ceil(8));
                return Ok(());
            };
            prop_assert!(b.fit_layout(&offsets));
            let BinStore::U8(codes) = b.codes() else { panic!("byte bins give byte codes") };
            let nb = b.num_bundles();
            let dense = *b.offsets().last().unwrap();
            let mut bundled = vec![0i64; b.cells()];
            for r in 0..rows {
                for k in 0..nb {
                    let c = codes[r * nb + k] as usize;
                    prop_assert!(c < b.offsets()[k + 1] - b.offsets()[k]);
                    bundled[b.offsets()[k] + c] += weights[r];
                }
            }
            if let Some(sparse) = b.sparse() {
                let all: Vec<u32> = (0..rows as u32).collect();
                sparse.accumulate(&all, &weights, &mut bundled[dense..], |c, p| *c += p);
            }
            prop_assert_eq!(b.unbundle(&bundled, offsets[nf]), direct);
        }
    }

    #[test]
    fn bins_beyond_their_width_refuse_bundling() {
        let offsets = [0, 2, 4, 6, 8];
        assert!(BinBundles::build(&BinStore::U8(vec![0, 1, 1, 0, 1, 1, 0, 0]), 4, &offsets).is_some());
        assert!(BinBundles::build(&BinStore::U8(vec![0, 1, 2, 0, 1, 1, 0, 0]), 4, &offsets).is_none());
    }
}
