//! Finding the bins of many values of one numerical feature at once: `#{cuts <= x}`, as
//! [`FeatureCuts::bin`] gives one value's, without its binary search.
//!
//! A binary search over 255 cuts is eight dependent loads and comparisons per value, and binning
//! `higgs` (1,000,000 x 28) took 7 % of a training run with it. With AVX-512, a feature of at most
//! 256 cuts is searched in two steps of sixteen comparisons each: one vector comparison of the
//! value with every sixteenth cut (the last of each block of sixteen) counts the blocks lying
//! wholly at or below it, and a second one with the sixteen cuts of the next block counts the cuts
//! of that block at or below it. Cuts are padded with NaN, which no comparison finds at or below a
//! value. The scalar search is the reference and the fallback (other processors, more cuts).

use crate::bins::cuts::FeatureCuts;

/// Cuts per block and per vector comparison.
const BLOCK: usize = 16;
/// Blocks of the table: up to `BLOCK * BLOCKS` cuts are searched by the vector kernel.
const BLOCKS: usize = 16;

/// The cuts of one feature laid out for the vector search: every cut padded with NaN to
/// `BLOCK * BLOCKS`, and the last cut of each block.
pub(crate) struct CutTable {
    cuts: [f32; BLOCK * BLOCKS],
    block_ends: [f32; BLOCKS],
}

impl CutTable {
    /// The table of a numerical feature's cuts, when they fit one (`None` otherwise: categorical
    /// features, more than 256 cuts).
    pub(crate) fn new(feature: &FeatureCuts) -> Option<CutTable> {
        let n = feature.cuts.len();
        if feature.categorical || n == 0 || n > BLOCK * BLOCKS {
            return None;
        }
        let mut cuts = [f32::NAN; BLOCK * BLOCKS];
        cuts[..n].copy_from_slice(&feature.cuts);
        let mut block_ends = [f32::NAN; BLOCKS];
        for (b, end) in block_ends.iter_mut().enumerate() {
            *end = cuts[b * BLOCK + BLOCK - 1];
        }
        Some(CutTable { cuts, block_ends })
    }
}

/// The search of one feature's bins, prepared once (the table is a kilobyte: built per block of
/// a few hundred rows, it cost as much as the search on wide data).
pub(crate) struct FeatureSearch<'f> {
    feature: &'f FeatureCuts,
    /// The vector search's table, when the processor has AVX-512 and the cuts fit one.
    table: Option<Box<CutTable>>,
}

impl<'f> FeatureSearch<'f> {
    /// The search of `feature`'s bins on this processor.
    pub(crate) fn new(feature: &'f FeatureCuts) -> FeatureSearch<'f> {
        #[cfg(target_arch = "x86_64")]
        let table = if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("popcnt") {
            CutTable::new(feature).map(Box::new)
        } else {
            None
        };
        #[cfg(not(target_arch = "x86_64"))]
        let table = None;
        FeatureSearch { feature, table }
    }

    /// Writes the bin of `values[i]` (as [`FeatureCuts::bin`] gives it) to `out(i, bin)` for
    /// every `i`.
    pub(crate) fn bins_of(&self, values: &[f32], mut out: impl FnMut(usize, usize)) {
        #[cfg(target_arch = "x86_64")]
        if let Some(table) = &self.table {
            let (last, missing) = (self.feature.cuts.len() - 1, self.feature.missing_bin());
            // SAFETY: the table exists only when the processor has AVX-512F and POPCNT (`new`).
            unsafe { avx512::bins_of(table, last, missing, values, out) };
            return;
        }
        for (i, &x) in values.iter().enumerate() {
            out(i, self.feature.bin(x));
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{CutTable, BLOCK, BLOCKS};

    /// Writes `out(i, bin)` for every value: `missing` for NaN, else `#{cuts <= x}` over the
    /// table's cuts, at most `last`.
    ///
    /// # Safety
    /// The processor has AVX-512F and POPCNT (the counts of the comparisons' masks).
    #[target_feature(enable = "avx512f,popcnt")]
    pub(super) unsafe fn bins_of(
        table: &CutTable,
        last: usize,
        missing: usize,
        values: &[f32],
        mut out: impl FnMut(usize, usize),
    ) {
        // SAFETY: `block_ends` holds exactly sixteen f32.
        let ends = _mm512_loadu_ps(table.block_ends.as_ptr());
        for (i, &x) in values.iter().enumerate() {
            let value = _mm512_set1_ps(x);
            let whole = (_mm512_cmp_ps_mask::<_CMP_LE_OQ>(ends, value).count_ones() as usize).min(BLOCKS - 1);
            // SAFETY: `whole < BLOCKS`, so the sixteen f32 from `whole * BLOCK` lie inside `cuts`.
            let block = _mm512_loadu_ps(table.cuts.as_ptr().add(whole * BLOCK));
            let below = whole * BLOCK + _mm512_cmp_ps_mask::<_CMP_LE_OQ>(block, value).count_ones() as usize;
            out(i, if x.is_nan() { missing } else { below.min(last) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(cuts: Vec<f32>, has_missing: bool, values: &[f32]) -> Result<(), TestCaseError> {
        let feature = FeatureCuts {
            cuts,
            has_missing,
            categorical: false,
        };
        let mut got = vec![usize::MAX; values.len()];
        FeatureSearch::new(&feature).bins_of(values, |i, b| got[i] = b);
        for (x, b) in values.iter().zip(&got) {
            prop_assert_eq!(*b, feature.bin(*x), "value {}", x);
        }
        Ok(())
    }

    proptest! {
        /// The vector search gives the scalar search's bin for every value: cuts of 1 to 300
        /// (beyond 256 the scalar search runs), values on cuts, between them, beyond both ends,
        /// infinities, NaN and -0.0.
        #[test]
        fn vector_search_is_the_scalar_search(
            raw in proptest::collection::btree_set(-1000i32..1000, 1..300),
            picks in proptest::collection::vec((0usize..400, -2i32..3), 0..200),
        ) {
            let cuts: Vec<f32> = raw.iter().map(|&c| c as f32 * 0.5).collect();
            let mut values: Vec<f32> = picks
                .iter()
                .map(|&(i, d)| cuts[i % cuts.len()] + d as f32 * 0.25)
                .collect();
            values.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0, 1e30, -1e30]);
            check(cuts, true, &values)?;
        }
    }

    #[test]
    fn every_block_boundary() {
        // 256 cuts 0..256: every value from -1 to 257 in quarter steps.
        let cuts: Vec<f32> = (0..256).map(|c| c as f32).collect();
        let values: Vec<f32> = (-4..=1028).map(|q| q as f32 * 0.25).collect();
        check(cuts, false, &values).unwrap();
    }
}
