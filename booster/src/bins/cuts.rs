//! `BinMapper`: per-feature quantile cut points and the mapping from values to bins.
//!
//! Conventions (the same as XGBoost's histogram cuts): feature `f` has cut values `c_0 < c_1 < ... <
//! c_{k-1}`, the last one above every training value. A finite value `x` falls in bin
//! `#{i : c_i <= x}`, so bin `b` holds `c_{b-1} <= x < c_b`, and "bins `0..=b` go left" is the same
//! as the raw test `x < c_b`. Missing values (NaN) have their own bin, numbered `k` (after the value
//! bins).
//!
//! A categorical feature has one bin per category: category code `c` is bin `c`, for codes
//! `0..k` where `k - 1` is the largest code in the training data (its cuts are `1, 2, ..., k`, so
//! the numerical formula gives the same bins). `max_bin` does not apply to it.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::bins::blocks::ColumnBlocks;
use crate::data::column::Column;
use crate::data::dataset::Dataset;

/// Cut points of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureCuts {
    /// Strictly increasing upper bounds of the value bins; the last lies above every training value.
    pub cuts: Vec<f32>,
    /// Whether the training data had missing values in this feature.
    pub has_missing: bool,
    /// Whether the feature is categorical (bin `c` is category code `c`).
    #[serde(default)]
    pub categorical: bool,
}

impl FeatureCuts {
    /// The cuts of a categorical feature whose codes run `0..num_categories` (at least one bin).
    pub fn categorical(num_categories: usize, has_missing: bool) -> FeatureCuts {
        FeatureCuts {
            cuts: (1..=num_categories.max(1)).map(|c| c as f32).collect(),
            has_missing,
            categorical: true,
        }
    }

    /// The categorical cuts of a column (codes already checked by the data set).
    pub fn of_categorical_column(column: &Column, num_rows: usize) -> FeatureCuts {
        let mut end = 0usize;
        column.for_each_present(|_, x| end = end.max(x as usize + 1));
        FeatureCuts::categorical(end, column.num_present() < num_rows)
    }

    /// The largest bin index a row can have: the missing bin when the feature has missing
    /// values, else the last value bin.
    pub fn max_stored_bin(&self) -> usize {
        if self.has_missing {
            self.missing_bin()
        } else {
            self.num_value_bins().saturating_sub(1)
        }
    }

    /// Number of value bins (without the missing bin).
    pub fn num_value_bins(&self) -> usize {
        self.cuts.len()
    }

    /// The bin index of the missing bin.
    pub fn missing_bin(&self) -> usize {
        self.cuts.len()
    }

    /// The bin of a value: `#{cuts <= x}`, or the missing bin for NaN. Values at or above the last
    /// cut (never seen in training) fall in the last value bin.
    #[inline]
    pub fn bin(&self, x: f32) -> usize {
        if x.is_nan() {
            return self.missing_bin();
        }
        if self.categorical {
            // Training codes are checked (`0..k`); anything else cannot reach here from training data.
            return (x.max(0.0) as usize).min(self.cuts.len() - 1);
        }
        let b = self.cuts.partition_point(|c| *c <= x);
        b.min(self.cuts.len() - 1)
    }

    /// A value whose bin is `bin` (the inverse of [`FeatureCuts::bin`]): NaN for the missing bin,
    /// the code of a categorical bin, else the bin's lower edge (the cut below it; `f32::MIN` for
    /// the first bin). A split at one of the cuts sends it where it sends every value of its bin.
    pub fn bin_value(&self, bin: usize) -> f32 {
        if bin >= self.cuts.len() {
            f32::NAN
        } else if self.categorical {
            bin as f32
        } else if bin == 0 {
            f32::MIN
        } else {
            self.cuts[bin - 1]
        }
    }

    /// Whether a split of this feature at `threshold` (left: values below it) separates the bins
    /// exactly, so that [`FeatureCuts::bin_value`] stands for every value of its bin: true for cut
    /// points and for every threshold of a categorical feature (its values are its codes).
    pub fn splits_between_bins(&self, threshold: f32) -> bool {
        self.categorical || self.cuts.binary_search_by(|c| c.total_cmp(&threshold)).is_ok()
    }
}

/// Cut points for every feature, and where each feature's bins start in a flat histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinMapper {
    features: Vec<FeatureCuts>,
    offsets: Vec<usize>,
}

impl BinMapper {
    /// Computes weighted quantile cuts with at most `max_bin` value bins per feature.
    pub fn fit(data: &Dataset, max_bin: usize) -> BinMapper {
        let features: Vec<FeatureCuts> = (0..data.num_features())
            .into_par_iter()
            .map(|j| {
                if data.feature_type(j).is_categorical() {
                    FeatureCuts::of_categorical_column(data.column(j), data.num_rows())
                } else {
                    column_cuts(data.column(j), data.num_rows(), data.weights(), max_bin)
                }
            })
            .collect();
        Self::from_cuts(features)
    }

    /// Weighted quantile cuts from pre-sorted blocks, with a weight per row (the hessians, for the
    /// approximate method's per-tree sketch). No sorting: one pass over each block (over a fixed
    /// sample of the rows beyond 200,000 rows, as for [`BinMapper::fit`]). A categorical
    /// feature (`categorical[j]`) keeps one bin per category.
    pub fn from_blocks(
        blocks: &ColumnBlocks,
        row_weight: &(dyn Fn(usize) -> f64 + Sync),
        max_bin: usize,
        categorical: &[bool],
    ) -> BinMapper {
        let keep = CutSample::new(blocks.num_rows());
        let features: Vec<FeatureCuts> = (0..blocks.num_features())
            .into_par_iter()
            .map(|j| {
                let block = blocks.feature(j);
                if categorical.get(j).copied().unwrap_or(false) {
                    let end = block.values.last().map_or(0, |x| *x as usize + 1);
                    return FeatureCuts::categorical(end, !blocks.is_dense(j));
                }
                let pairs = sketch_pairs(blocks, j, row_weight, &keep, 0);
                let (values, wsum) = distinct_weighted(pairs.into_iter());
                FeatureCuts {
                    cuts: cuts_from_distinct(&values, &wsum, max_bin),
                    has_missing: !blocks.is_dense(j),
                    categorical: false,
                }
            })
            .collect();
        Self::from_cuts(features)
    }

    /// Builds a mapper from given cuts (each feature's cuts must be non-empty and increasing).
    pub fn from_cuts(features: Vec<FeatureCuts>) -> BinMapper {
        let mut offsets = Vec::with_capacity(features.len() + 1);
        let mut total = 0;
        for f in &features {
            offsets.push(total);
            total += f.num_value_bins() + 1;
        }
        offsets.push(total);
        BinMapper { features, offsets }
    }

    /// Number of features.
    pub fn num_features(&self) -> usize {
        self.features.len()
    }

    /// The cuts of feature `j`.
    pub fn feature(&self, j: usize) -> &FeatureCuts {
        &self.features[j]
    }

    /// Where feature `j`'s bins start in a flat histogram (each feature has its value bins and a
    /// missing bin).
    pub fn offset(&self, j: usize) -> usize {
        self.offsets[j]
    }

    /// All offsets, with the total number of histogram slots last.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Total number of histogram slots over all features.
    pub fn total_bins(&self) -> usize {
        *self.offsets.last().unwrap_or(&0)
    }

    /// The largest bin index stored in the quantized matrix (decides u8 or u16 storage).
    pub fn max_stored_bin(&self) -> usize {
        self.features.iter().map(FeatureCuts::max_stored_bin).max().unwrap_or(0)
    }

    /// Whether feature `j` is categorical.
    pub fn is_categorical(&self, j: usize) -> bool {
        self.features[j].categorical
    }

    /// Whether any feature is categorical.
    pub fn has_categorical(&self) -> bool {
        self.features.iter().any(|f| f.categorical)
    }

    /// The split threshold of "bins `0..=bin` go left" on feature `j`: go left when `x < threshold`.
    pub fn threshold(&self, j: usize, bin: usize) -> f32 {
        self.features[j].cuts[bin]
    }
}

/// Weighted quantile cut points of one column (NaNs ignored).
///
/// With at most `max_bin` distinct values every distinct value gets its own bin. Otherwise cut `i`
/// (for `i` in `1..max_bin`) is the distinct value whose weighted mid-rank is nearest to
/// `i * W / max_bin`, where `W` is the total weight, as in XGBoost's quantile sketch.
pub fn feature_cuts(column: &[f32], weights: Option<&[f32]>, max_bin: usize) -> FeatureCuts {
    let keep = CutSample::new(column.len());
    if weights.is_none() && keep.takes_every_row() {
        // Unweighted and unsampled: few distinct values are counted in one pass, which also
        // finds the missing ones.
        if let Some((values, counts, has_missing)) = few_distinct_counted(column) {
            return numeric_cuts(&values, &counts, has_missing, max_bin);
        }
    }
    let has_missing = column.iter().any(|x| x.is_nan());
    if weights.is_none() {
        // Unweighted: few distinct values are found without collecting the pairs.
        let present = column
            .iter()
            .enumerate()
            .filter(|(i, x)| !x.is_nan() && keep.contains(*i));
        if let Some((values, wsum)) = few_distinct_weighted(present.map(|(_, &x)| (x, 1.0))) {
            return numeric_cuts(&values, &wsum, has_missing, max_bin);
        }
    }
    let pairs: Vec<(f32, f32)> = column
        .iter()
        .enumerate()
        .filter(|(i, x)| !x.is_nan() && keep.contains(*i))
        .map(|(i, x)| (*x, weights.map_or(1.0, |w| w[i])))
        .collect();
    cuts_from_pairs(pairs, has_missing, max_bin)
}

/// [`feature_cuts`] of a dense or sparse column of a data set with `num_rows` rows.
pub fn column_cuts(column: &Column, num_rows: usize, weights: Option<&[f32]>, max_bin: usize) -> FeatureCuts {
    match column.as_dense() {
        Some(values) => feature_cuts(values, weights, max_bin),
        None => {
            let pairs = sampled_pairs(column, weights, &CutSample::new(num_rows), 0);
            let has_missing = column.num_present() < num_rows;
            cuts_from_pairs(pairs, has_missing, max_bin)
        }
    }
}

/// The present `(value, weight)` pairs of `column` that the cut sample `keep` holds, in row order;
/// the column's rows have global ids from `row_offset` on.
pub(crate) fn sampled_pairs(
    column: &Column,
    weights: Option<&[f32]>,
    keep: &CutSample,
    row_offset: usize,
) -> Vec<(f32, f32)> {
    let mut pairs = Vec::with_capacity(column.num_present().min(CUT_SAMPLE_ROWS + CUT_SAMPLE_ROWS / 8));
    column.for_each_present(|r, x| {
        if !x.is_nan() && keep.contains(row_offset + r) {
            pairs.push((x, weights.map_or(1.0, |w| w[r])));
        }
    });
    pairs
}

/// The `(value, weight)` pairs of feature `j`'s block that the cut sample `keep` holds and that
/// weigh something, in the block's order (ascending values, ties in row order); the block's rows
/// have global ids from `row_offset` on.
pub(crate) fn sketch_pairs(
    blocks: &ColumnBlocks,
    j: usize,
    row_weight: &(dyn Fn(usize) -> f64 + Sync),
    keep: &CutSample,
    row_offset: usize,
) -> Vec<(f32, f64)> {
    let block = blocks.feature(j);
    block
        .rows
        .iter()
        .zip(&block.values)
        .filter(|(&r, _)| keep.contains(row_offset + r as usize))
        .filter_map(|(&r, &x)| {
            let w = row_weight(r as usize);
            // A row of weight 0 takes no part in the sketch (as in XGBoost): the cuts are those of
            // the data without it.
            (w != 0.0).then_some((x, w))
        })
        .collect()
}

/// Distinct values (in the order given, which must be ascending) with the summed weight of each
/// (-0.0 and 0.0 are one value).
pub(crate) fn distinct_weighted(pairs: impl Iterator<Item = (f32, f64)>) -> (Vec<f32>, Vec<f64>) {
    let mut values: Vec<f32> = Vec::new();
    let mut wsum: Vec<f64> = Vec::new();
    for (x, w) in pairs {
        match (values.last(), wsum.last_mut()) {
            (Some(last), Some(s)) if *last == x => *s += w,
            _ => {
                values.push(x);
                wsum.push(w);
            }
        }
    }
    (values, wsum)
}

/// Rows beyond which cut points are computed from a sample (LightGBM's `bin_construct_sample_cnt`
/// default): sorting every value of a million-row feature costs far more than the quantiles gain.
pub const CUT_SAMPLE_ROWS: usize = 200_000;

/// Which rows [`feature_cuts`] reads: all of them up to [`CUT_SAMPLE_ROWS`] rows, else a fixed
/// pseudo-random subset of about that many (the same for every feature and run). Rows are named by
/// their global id, so the ranks of distributed training draw the one-process sample.
pub(crate) struct CutSample {
    /// Keep row `i` when its hash is below this (`u64::MAX`: keep all).
    below: u64,
}

impl CutSample {
    /// Whether the sample holds every row.
    pub(crate) fn takes_every_row(&self) -> bool {
        self.below == u64::MAX
    }

    /// The sample of a data set of `num_rows` rows (over all ranks).
    pub(crate) fn new(num_rows: usize) -> CutSample {
        let below = if num_rows <= CUT_SAMPLE_ROWS {
            u64::MAX
        } else {
            ((CUT_SAMPLE_ROWS as f64 / num_rows as f64) * u64::MAX as f64) as u64
        };
        CutSample { below }
    }

    /// Whether the row of global id `row` is in the sample.
    #[inline]
    pub(crate) fn contains(&self, row: usize) -> bool {
        self.below == u64::MAX || crate::train::sampling::mix(row as u64 ^ 0x6375_7473_616d_706c) < self.below
    }
}

/// The bits of `x` as an unsigned key that sorts as `f32::total_cmp` does (negative values
/// reversed below the positive ones, -0.0 just below 0.0).
#[inline]
fn total_order_key(x: f32) -> u32 {
    let b = x.to_bits();
    if b >> 31 == 1 {
        !b
    } else {
        b | 0x8000_0000
    }
}

/// Sorts `pairs` by their values in `f32::total_cmp` order, stable (ties keep their order): a
/// least-significant-digit radix sort on 11-bit digits for long inputs (three passes, linear
/// time; the comparison sort of 200,000 values per feature dominated binning), a stable comparison
/// sort for short ones.
pub(crate) fn sort_pairs_by_value(pairs: &mut [(f32, f32)]) {
    const SHORT: usize = 512;
    if pairs.len() <= SHORT {
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        return;
    }
    let mut from: Vec<(u32, f32, f32)> = pairs.iter().map(|&(x, w)| (total_order_key(x), x, w)).collect();
    let mut to = from.clone();
    for shift in [0u32, 11, 22] {
        let digit = |k: u32| ((k >> shift) & 0x7ff) as usize;
        let mut counts = vec![0usize; 2049];
        for e in &from {
            counts[digit(e.0) + 1] += 1;
        }
        // A pass whose digit is the same for every value moves nothing.
        if counts.contains(&from.len()) {
            continue;
        }
        for d in 1..counts.len() {
            counts[d] += counts[d - 1];
        }
        for e in &from {
            let slot = &mut counts[digit(e.0)];
            to[*slot] = *e;
            *slot += 1;
        }
        std::mem::swap(&mut from, &mut to);
    }
    for (p, e) in pairs.iter_mut().zip(from) {
        *p = (e.1, e.2);
    }
}

/// Cuts from the present `(value, weight)` pairs of a feature. Pairs of weight 0 are left out (as
/// in XGBoost), so a row of weight 0 gives the same cuts as no row at all.
pub(crate) fn cuts_from_pairs(mut pairs: Vec<(f32, f32)>, has_missing: bool, max_bin: usize) -> FeatureCuts {
    pairs.retain(|p| p.1 != 0.0);
    let (values, wsum) = few_distinct_weighted(pairs.iter().copied()).unwrap_or_else(|| {
        sort_pairs_by_value(&mut pairs);
        distinct_weighted(pairs.into_iter().map(|(x, w)| (x, w as f64)))
    });
    numeric_cuts(&values, &wsum, has_missing, max_bin)
}

/// The cuts of a numerical feature of distinct values `values` (ascending) weighing `wsum`.
fn numeric_cuts(values: &[f32], wsum: &[f64], has_missing: bool, max_bin: usize) -> FeatureCuts {
    FeatureCuts {
        cuts: cuts_from_distinct(values, wsum, max_bin),
        has_missing,
        categorical: false,
    }
}

/// Most distinct values [`few_distinct_weighted`] collects before it gives up.
const FEW_DISTINCT: usize = 32;

/// What `distinct_weighted` gives for the sorted pairs, found without sorting them, when they
/// hold at most [`FEW_DISTINCT`] distinct values (flags, counts, small integers: sorting hundreds
/// of thousands of them per feature was most of binning one-hot data). `None` when there are more,
/// which shows within the first few dozen pairs of a continuous feature, or when a value is -0.0
/// (its weight would join 0.0's in another order than the sort's).
///
/// Each value's weights are summed in the pairs' order, which is the order the stable sort keeps
/// among equal values, so the sums are the same, bit for bit.
fn few_distinct_weighted(pairs: impl IntoIterator<Item = (f32, f32)>) -> Option<(Vec<f32>, Vec<f64>)> {
    const SLOTS: usize = 2 * FEW_DISTINCT;
    // Open addressing on the value's bits; `index[slot]` is 1 + the value's place in `found`.
    let mut index = [0u8; SLOTS];
    let mut found: Vec<(f32, f64)> = Vec::with_capacity(FEW_DISTINCT);
    // The value of the current run of equal values, where it is in `found`, and its running sum
    // (kept in a register through the run: most pairs of a sparse feature repeat the last value).
    let (mut run_bits, mut run_at, mut run_sum) = (None::<u32>, 0usize, 0f64);
    for (x, w) in pairs {
        let bits = x.to_bits();
        if run_bits == Some(bits) {
            run_sum += w as f64;
            continue;
        }
        if bits == 0x8000_0000 || x.is_nan() {
            return None;
        }
        if run_bits.is_some() {
            found[run_at].1 = run_sum;
        }
        let mut slot = (bits.wrapping_mul(0x9E37_79B9) >> 26) as usize % SLOTS;
        loop {
            match index[slot] {
                0 => {
                    if found.len() == FEW_DISTINCT {
                        return None;
                    }
                    found.push((x, w as f64));
                    index[slot] = found.len() as u8;
                    (run_at, run_sum) = (found.len() - 1, w as f64);
                    break;
                }
                i if found[i as usize - 1].0.to_bits() == bits => {
                    run_at = i as usize - 1;
                    run_sum = found[run_at].1 + w as f64;
                    break;
                }
                _ => slot = (slot + 1) % SLOTS,
            }
        }
        run_bits = Some(bits);
    }
    if run_bits.is_some() {
        found[run_at].1 = run_sum;
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(found.into_iter().unzip())
}

/// Slots of [`few_distinct_counted`]'s table (a power of two, twice [`FEW_DISTINCT`]).
const COUNT_SLOTS: usize = 2 * FEW_DISTINCT;
/// The key of every NaN in [`few_distinct_counted`]'s table.
const NAN_KEY: u32 = 0x7FC0_0000;
/// A free slot of [`few_distinct_counted`]'s table: a NaN's bits, which no key has (every NaN
/// is keyed [`NAN_KEY`]).
const FREE_SLOT: u32 = u32::MAX;
/// Independent counters per slot in [`few_distinct_counted`]: consecutive values of one run
/// add to different counters instead of waiting for each other's store.
const COUNT_LANES: usize = 4;

/// [`few_distinct_weighted`] of every value of `column` at weight 1, with whether it holds a
/// NaN: the distinct values (ascending, NaN left out) and how many times each occurs, as `f64`.
/// A sum of ones in `f64` is exact below 2^53, so the counts are the sums, bit for bit; counting
/// avoids the chain of floating-point additions and the branch on each change of value, which
/// made binning a column of scattered non-zeros slow. `None` under the same conditions (more
/// than [`FEW_DISTINCT`] distinct values, or a -0.0).
fn few_distinct_counted(column: &[f32]) -> Option<(Vec<f32>, Vec<f64>, bool)> {
    let mut keys = [FREE_SLOT; COUNT_SLOTS];
    let mut counts = [[0u64; COUNT_SLOTS]; COUNT_LANES];
    let mut distinct = 0usize;
    for chunk in column.chunks(COUNT_LANES) {
        for (lane, &x) in chunk.iter().enumerate() {
            let key = if x.is_nan() { NAN_KEY } else { x.to_bits() };
            let mut slot = (key.wrapping_mul(0x9E37_79B9) >> 26) as usize % COUNT_SLOTS;
            loop {
                if keys[slot] == key {
                    counts[lane][slot] += 1;
                    break;
                }
                if keys[slot] == FREE_SLOT {
                    if key == (-0.0f32).to_bits() {
                        return None;
                    }
                    if key != NAN_KEY {
                        distinct += 1;
                        if distinct > FEW_DISTINCT {
                            return None;
                        }
                    }
                    keys[slot] = key;
                    counts[lane][slot] = 1;
                    break;
                }
                slot = (slot + 1) % COUNT_SLOTS;
            }
        }
    }
    let mut has_missing = false;
    let mut found: Vec<(f32, f64)> = Vec::with_capacity(distinct);
    for (slot, &key) in keys.iter().enumerate() {
        if key == FREE_SLOT {
            continue;
        }
        if key == NAN_KEY {
            has_missing = true;
            continue;
        }
        let count: u64 = counts.iter().map(|lane| lane[slot]).sum();
        found.push((f32::from_bits(key), count as f64));
    }
    found.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (values, counts) = found.into_iter().unzip();
    Some((values, counts, has_missing))
}

/// Cut points from a feature's distinct values (ascending) and the total weight of each.
///
/// With at most `max_bin` values every value gets its own bin; otherwise cut `i` (for `i` in
/// `1..max_bin`) is the value whose weighted mid-rank is nearest to `i * W / max_bin`. The last cut
/// lies above the largest value. An empty feature gets one bin.
pub fn cuts_from_distinct(values: &[f32], wsum: &[f64], max_bin: usize) -> Vec<f32> {
    let Some(&max_value) = values.last() else {
        return vec![f32::MAX];
    };
    let sentinel = sentinel_above(max_value);
    let mut cuts = Vec::with_capacity(max_bin.min(values.len()));
    let total: f64 = wsum.iter().sum();
    if values.len() <= max_bin || total <= 0.0 {
        cuts.extend_from_slice(&values[1..values.len().min(max_bin)]);
    } else {
        let mut before = 0.0f64; // weight of values strictly before values[j]
        let mut j = 0usize;
        for i in 1..max_bin {
            let target = total * i as f64 / max_bin as f64;
            // Advance while the next value's mid-rank is at least as close to the target.
            while j + 1 < values.len() {
                let mid_j = before + wsum[j] / 2.0;
                let mid_next = before + wsum[j] + wsum[j + 1] / 2.0;
                if (mid_next - target).abs() <= (mid_j - target).abs() {
                    before += wsum[j];
                    j += 1;
                } else {
                    break;
                }
            }
            // The first distinct value can never be a cut (nothing would go left of it).
            if j > 0 && cuts.last().is_none_or(|c| *c < values[j]) {
                cuts.push(values[j]);
            }
        }
    }
    cuts.push(sentinel);
    cuts
}

/// A value strictly above `max` (XGBoost uses `max + |max| + 1e-5`).
fn sentinel_above(max: f32) -> f32 {
    let s = max + max.abs() + 1e-5;
    if s > max && s.is_finite() {
        s
    } else if max < f32::MAX {
        f32::MAX
    } else {
        f32::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn few_distinct_values_get_one_bin_each() {
        let c = feature_cuts(&[3.0, 1.0, 2.0, 2.0, f32::NAN], None, 256);
        assert_eq!(c.cuts.len(), 3);
        assert!(c.has_missing);
        assert_eq!(c.bin(1.0), 0);
        assert_eq!(c.bin(2.0), 1);
        assert_eq!(c.bin(3.0), 2);
        assert_eq!(c.bin(f32::NAN), 3);
    }

    #[test]
    fn quantile_cuts_split_evenly() {
        let col: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let c = feature_cuts(&col, None, 4);
        assert_eq!(c.cuts.len(), 4);
        let mut counts = [0usize; 4];
        for x in &col {
            counts[c.bin(*x)] += 1;
        }
        for n in counts {
            assert!((240..=260).contains(&n), "{counts:?}");
        }
    }

    #[test]
    fn weights_move_the_cuts() {
        let col: Vec<f32> = (0..100).map(|i| i as f32).collect();
        let mut w = vec![1.0f32; 100];
        for x in w.iter_mut().take(50) {
            *x = 9.0;
        }
        let c = feature_cuts(&col, Some(&w), 2);
        // 90% of the weight lies in the first half, so the median cut falls there.
        assert!(c.cuts[0] < 50.0, "{:?}", c.cuts);
    }

    #[test]
    fn zero_weights_do_not_move_the_cuts() {
        // 1000 values, 4 bins: the cuts are weighted quantiles. Values of weight 0 must give the
        // cuts of the column without them (XGBoost's sketch leaves them out too).
        let col: Vec<f32> = (0..1000).map(|i| ((i * 7919) % 1000) as f32).collect();
        let w: Vec<f32> = (0..1000)
            .map(|i| if i % 3 == 0 { 0.0 } else { 1.0 + (i % 5) as f32 })
            .collect();
        let kept: Vec<usize> = (0..1000).filter(|&i| w[i] > 0.0).collect();
        let col_kept: Vec<f32> = kept.iter().map(|&i| col[i]).collect();
        let w_kept: Vec<f32> = kept.iter().map(|&i| w[i]).collect();
        assert_eq!(
            feature_cuts(&col, Some(&w), 4),
            feature_cuts(&col_kept, Some(&w_kept), 4)
        );
    }

    proptest! {
        /// Collecting few distinct values without sorting gives what sorting gives, weights
        /// summed bit for bit the same; many distinct values, -0.0 or NaN are left to the sort.
        #[test]
        fn few_distinct_values_are_the_sorted_ones(
            levels in proptest::collection::vec(prop_oneof![Just(0.0f32), Just(-0.0f32), Just(1.0f32), -1e3f32..1e3], 1..40),
            picks in proptest::collection::vec((any::<usize>(), 0.001f32..10.0), 0..400),
        ) {
            let pairs: Vec<(f32, f32)> = picks.iter().map(|&(i, w)| (levels[i % levels.len()], w)).collect();
            let mut sorted = pairs.clone();
            sort_pairs_by_value(&mut sorted);
            let expected = distinct_weighted(sorted.into_iter().map(|(x, w)| (x, w as f64)));
            match few_distinct_weighted(pairs.iter().copied()) {
                Some((values, wsum)) => {
                    prop_assert!(values.len() <= FEW_DISTINCT);
                    prop_assert_eq!(values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        expected.0.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
                    prop_assert_eq!(wsum.iter().map(|w| w.to_bits()).collect::<Vec<_>>(),
                        expected.1.iter().map(|w| w.to_bits()).collect::<Vec<_>>());
                }
                None => prop_assert!(expected.0.len() > FEW_DISTINCT || pairs.iter().any(|p| p.0.to_bits() == 0x8000_0000)),
            }
        }
    }

    proptest! {
        /// Counting few distinct values gives the sorted values and their unit weights summed, bit
        /// for bit, and finds the NaN the column holds; many distinct values or a -0.0 give `None`.
        /// Values come from up to 40 levels (NaN of several payloads, infinities, both zeros).
        #[test]
        fn few_distinct_counts_are_the_sorted_sums(
            levels in proptest::collection::vec(prop_oneof![
                2 => Just(0.0f32), 1 => Just(-0.0f32), 2 => Just(1.0f32), 1 => Just(f32::NAN),
                1 => Just(f32::from_bits(0xFFC0_0123)), 1 => Just(f32::INFINITY), 4 => -1e3f32..1e3,
            ], 1..40),
            picks in proptest::collection::vec(any::<usize>(), 0..600),
        ) {
            let column: Vec<f32> = picks.iter().map(|&i| levels[i % levels.len()]).collect();
            let mut sorted: Vec<(f32, f32)> = column.iter().filter(|x| !x.is_nan()).map(|&x| (x, 1.0)).collect();
            sort_pairs_by_value(&mut sorted);
            let expected = distinct_weighted(sorted.into_iter().map(|(x, w)| (x, w as f64)));
            match few_distinct_counted(&column) {
                Some((values, counts, has_missing)) => {
                    prop_assert_eq!(has_missing, column.iter().any(|x| x.is_nan()));
                    prop_assert_eq!(values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                        expected.0.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
                    prop_assert_eq!(counts.iter().map(|w| w.to_bits()).collect::<Vec<_>>(),
                        expected.1.iter().map(|w| w.to_bits()).collect::<Vec<_>>());
                }
                None => prop_assert!(expected.0.len() > FEW_DISTINCT || column.iter().any(|x| x.to_bits() == 0x8000_0000)),
            }
        }
    }

    proptest! {
        /// The radix sort orders as the stable comparison sort does (ties and signed zeros too).
        #[test]
        fn radix_sort_matches_the_stable_comparison_sort(
            values in proptest::collection::vec(prop_oneof![
                6 => -1e6f32..1e6f32,
                2 => (0u32..20).prop_map(|v| v as f32 - 10.0),
                1 => Just(-0.0f32),
                1 => prop_oneof![Just(f32::INFINITY), Just(f32::NEG_INFINITY), Just(f32::MIN_POSITIVE), Just(-1e-40f32)],
            ], 0..3000),
        ) {
            let pairs: Vec<(f32, f32)> = values.iter().enumerate().map(|(i, &x)| (x, i as f32)).collect();
            let mut radix = pairs.clone();
            sort_pairs_by_value(&mut radix);
            let mut standard = pairs;
            standard.sort_by(|a, b| a.0.total_cmp(&b.0));
            let bits = |v: &[(f32, f32)]| v.iter().map(|p| (p.0.to_bits(), p.1.to_bits())).collect::<Vec<_>>();
            prop_assert_eq!(bits(&radix), bits(&standard));
        }

        #[test]
        fn binning_is_monotone_and_in_range(
            col in proptest::collection::vec(prop_oneof![9 => -1e6f32..1e6f32, 1 => Just(f32::NAN)], 1..400),
            max_bin in 2usize..64,
        ) {
            let c = feature_cuts(&col, None, max_bin);
            prop_assert!(c.cuts.len() <= max_bin.max(1));
            prop_assert!(c.cuts.windows(2).all(|w| w[0] < w[1]));
            let mut finite: Vec<f32> = col.iter().copied().filter(|x| !x.is_nan()).collect();
            finite.sort_by(f32::total_cmp);
            let mut last = 0;
            for x in &finite {
                let b = c.bin(*x);
                prop_assert!(b < c.num_value_bins());
                prop_assert!(b >= last);
                prop_assert!(*x < c.cuts[b]);
                if b > 0 { prop_assert!(c.cuts[b - 1] <= *x); }
                last = b;
            }
        }
    }
}
