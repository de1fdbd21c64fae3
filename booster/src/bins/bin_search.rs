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
/// Most cuts for which the vector kernel compares sixteen values at once with every cut instead
/// of searching each value's block (flags, counts and other low-cardinality features).
const FEW_CUTS: usize = 16;

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
            let (cuts, missing) = (&self.feature.cuts, self.feature.missing_bin());
            let last = cuts.len() - 1;
            if cuts.len() <= FEW_CUTS {
                // SAFETY: as below; at most FEW_CUTS cuts.
                unsafe { avx512::bins_of_few(cuts, missing, values, &mut out) };
                // The values after the last whole vector.
                let done = values.len() - values.len() % BLOCK;
                // SAFETY: as below.
                unsafe { avx512::bins_of(table, last, missing, &values[done..], |i, b| out(done + i, b)) };
                return;
            }
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

    use super::{CutTable, BLOCK, BLOCKS, FEW_CUTS};

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

    /// Writes `out(i, bin)` for the values of every whole vector of sixteen (the first
    /// `values.len() - values.len() % 16`): `missing` for NaN, else `#{cuts <= x}`, at most
    /// `cuts.len() - 1`, as [`bins_of`] gives them; each vector of values is compared with every
    /// cut and the comparisons counted lane by lane.
    ///
    /// # Safety
    /// The processor has AVX-512F; `1 <= cuts.len() <= FEW_CUTS`.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn bins_of_few(cuts: &[f32], missing: usize, values: &[f32], out: &mut impl FnMut(usize, usize)) {
        let mut broadcast = [_mm512_setzero_ps(); FEW_CUTS];
        for (b, &c) in broadcast.iter_mut().zip(cuts) {
            *b = _mm512_set1_ps(c);
        }
        let broadcast = &broadcast[..cuts.len()];
        let one = _mm512_set1_epi32(1);
        let last = _mm512_set1_epi32(cuts.len() as i32 - 1);
        let missing_bin = _mm512_set1_epi32(missing as i32);
        let mut bins = [0u32; BLOCK];
        for (v, chunk) in values.chunks_exact(BLOCK).enumerate() {
            // SAFETY: `chunk` holds exactly sixteen f32.
            let x = _mm512_loadu_ps(chunk.as_ptr());
            let mut below = _mm512_setzero_si512();
            for &cut in broadcast {
                let at_or_below = _mm512_cmp_ps_mask::<_CMP_LE_OQ>(cut, x);
                below = _mm512_mask_add_epi32(below, at_or_below, below, one);
            }
            let bin = _mm512_min_epu32(below, last);
            let bin = _mm512_mask_mov_epi32(bin, _mm512_cmp_ps_mask::<_CMP_UNORD_Q>(x, x), missing_bin);
            // SAFETY: `bins` holds exactly sixteen u32.
            _mm512_storeu_si512(bins.as_mut_ptr().cast(), bin);
            for (k, &b) in bins.iter().enumerate() {
                out(v * BLOCK + k, b as usize);
            }
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

    /// Cuts at half of each of `raw`, and values on the cuts `picks` names (a cut's index, wrapped)
    /// moved by quarter steps, then NaN, both infinities, both zeros and two far values.
    fn cuts_and_values(raw: &std::collections::BTreeSet<i32>, picks: &[(usize, i32)]) -> (Vec<f32>, Vec<f32>) {
        let cuts: Vec<f32> = raw.iter().map(|&c| c as f32 * 0.5).collect();
        let mut values: Vec<f32> = picks
            .iter()
            .map(|&(i, d)| cuts[i % cuts.len()] + d as f32 * 0.25)
            .collect();
        values.extend([f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0, 0.0, 1e30, -1e30]);
        (cuts, values)
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
            let (cuts, values) = cuts_and_values(&raw, &picks);
            check(cuts, true, &values)?;
        }
    }

    proptest! {
        /// The few-cuts vector kernel (up to sixteen cuts, sixteen values at a time) gives the
        /// scalar search's bins, whole vectors and the values after them alike.
        #[test]
        fn few_cuts_vector_search_is_the_scalar_search(
            raw in proptest::collection::btree_set(-50i32..50, 1..20),
            picks in proptest::collection::vec((0usize..40, -2i32..3), 0..300),
            has_missing: bool,
        ) {
            let (cuts, mut values) = cuts_and_values(&raw, &picks);
            values.rotate_left(picks.len() / 2);
            check(cuts, has_missing, &values)?;
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
