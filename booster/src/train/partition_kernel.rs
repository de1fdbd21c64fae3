//! The partition kernel of threshold splits on a column of bins: a node's rows whose bin is at
//! most the split's last left bin (or, for the missing bin, whose split sends missing values
//! left) are moved, in order, to the front; the others follow, in order.
//!
//! Two implementations give the same rows: a branch-free scalar loop (the reference, and the one
//! that runs without AVX-512 or for the last few rows), and an AVX-512 loop that takes sixteen rows
//! at a time: it gathers their bins, compares them with the threshold and the missing bin, and
//! compresses the left and the right row ids into registers that it stores whole (a node's bins
//! are read at scattered rows, and one gather with two compressions replaces sixteen loads,
//! compares and pairs of stores).

use crate::bins::matrix::{BinIndex, COLUMN_PADDING};

/// A threshold split on a column of bins: a row goes left when its bin is at most `last`, or is
/// `missing` and `default_left` holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ThresholdTest {
    /// The last bin that goes left.
    pub last: usize,
    /// The feature's missing bin.
    pub missing: usize,
    /// Where missing values go.
    pub default_left: bool,
}

/// What sends a row left, by its bin.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RowTest<'a> {
    /// A threshold split.
    Threshold(ThresholdTest),
    /// A category-set split: a row goes left when its bin is `missing` and `default_left` holds,
    /// or when bit `b % 32` of `words[b / 32]` is set. `words` covers every bin up to `missing`
    /// (see [`SetWords`]); a column's bins are at most its missing bin, and a larger one would be
    /// read as missing.
    Set {
        /// The set's bits.
        words: &'a [u32],
        /// The feature's missing bin.
        missing: usize,
        /// Where missing values go.
        default_left: bool,
    },
}

/// The words of a category set padded with zeros to cover every bin up to `missing` (a
/// [`crate::model::categories::CategorySet`] stops at its largest category).
#[derive(Debug, Clone)]
pub(crate) struct SetWords(Vec<u32>);

impl SetWords {
    /// The bits of the bins `goes_in` accepts among `0..=missing`.
    pub(crate) fn new(missing: usize, goes_in: impl Fn(usize) -> bool) -> SetWords {
        let mut words = vec![0u32; missing / 32 + 1];
        for b in 0..missing {
            if goes_in(b) {
                words[b / 32] |= 1 << (b % 32);
            }
        }
        SetWords(words)
    }

    /// The test of a split sending these bins left (missing values `default_left`).
    pub(crate) fn test(&self, missing: usize, default_left: bool) -> RowTest<'_> {
        RowTest::Set {
            words: &self.0,
            missing,
            default_left,
        }
    }
}

impl RowTest<'_> {
    /// Whether a row of bin `b` goes left.
    #[inline(always)]
    fn goes_left(self, b: usize) -> bool {
        match self {
            RowTest::Threshold(t) => {
                if b == t.missing {
                    t.default_left
                } else {
                    b <= t.last
                }
            }
            RowTest::Set {
                words,
                missing,
                default_left,
            } => {
                if b >= missing {
                    default_left
                } else {
                    words[b / 32] >> (b % 32) & 1 != 0
                }
            }
        }
    }
}

/// Stably moves the rows of `rows` that go left by `test` on `col` to the front, the others after
/// them; returns how many go left. `scratch` must be at least as long as `rows`; every row must be
/// below `col.len() - COLUMN_PADDING` (`col` is a column of [`crate::bins::matrix::QuantizedMatrix`],
/// which ends in that many padding bins); both are checked.
pub(crate) fn partition_by_test<T: BinIndex>(
    rows: &mut [u32],
    scratch: &mut [u32],
    col: &[T],
    test: RowTest<'_>,
    largest_row: usize,
) -> usize {
    assert!(
        scratch.len() >= rows.len(),
        "the partition's scratch is shorter than its rows"
    );
    assert!(
        largest_row + COLUMN_PADDING < col.len() + 1 && col.len() >= COLUMN_PADDING,
        "a row beyond the column's padded end"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && rows.len() >= avx512::LANES && T::WIDTH <= 2 {
            // SAFETY: AVX-512F is present; rows are below `largest_row + 1`, and
            // `largest_row + COLUMN_PADDING <= col.len()`, so every 4-byte gather at a row's bin
            // stays inside `col` (checked above); `scratch` is long enough (checked above). The
            // caller guarantees that every row is at most `largest_row`.
            return unsafe { avx512::partition(rows, scratch, col, test) };
        }
    }
    partition_scalar(rows, scratch, col, test)
}

/// The scalar kernel (and reference): one branch-free pass that moves left rows forward in place
/// and right rows to `scratch`, then appends the right rows.
pub(crate) fn partition_scalar<T: BinIndex>(
    rows: &mut [u32],
    scratch: &mut [u32],
    col: &[T],
    test: RowTest<'_>,
) -> usize {
    partition_scalar_from(rows, scratch, col, test, 0, 0)
}

/// [`partition_scalar`] from row `start` on, `l` rows having gone left (to `rows[..l]`) and
/// `start - l` right (to `scratch[..start - l]`) before it.
fn partition_scalar_from<T: BinIndex>(
    rows: &mut [u32],
    scratch: &mut [u32],
    col: &[T],
    test: RowTest<'_>,
    start: usize,
    l: usize,
) -> usize {
    let n = rows.len();
    let scratch = &mut scratch[..n];
    let (mut l, mut r) = (l, start - l);
    for i in start..n {
        let row = rows[i];
        let left = test.goes_left(col[row as usize].index());
        // `l <= i` and `r <= i`: both writes stay within the part already read.
        rows[l.min(i)] = row;
        scratch[r.min(i)] = row;
        l += left as usize;
        r += !left as usize;
    }
    rows[l..].copy_from_slice(&scratch[..r]);
    l
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::{partition_scalar_from, RowTest};
    use crate::bins::matrix::BinIndex;

    /// Rows per step.
    pub(super) const LANES: usize = 16;

    /// The AVX-512 kernel: sixteen rows per step, the last `rows.len() % 16` by the scalar loop.
    ///
    /// # Safety
    /// The processor has AVX-512F; `scratch.len() >= rows.len()`; for every row `r`, the four
    /// bytes at byte offset `r * size_of::<T>()` of `col` lie inside `col` (`T` is one or two
    /// bytes wide).
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn partition<T: BinIndex>(
        rows: &mut [u32],
        scratch: &mut [u32],
        col: &[T],
        test: RowTest<'_>,
    ) -> usize {
        let n = rows.len();
        let base = col.as_ptr() as *const u8;
        let keep = _mm512_set1_epi32(if T::WIDTH == 1 { 0xff } else { 0xffff });
        // Bins are below 2^16, so the comparisons below are exact on the masked words; `last`
        // and `missing` are clamped into that range (a larger `last` sends every value left, and
        // no bin equals a `missing` beyond it).
        let (last, missing, default_left, words) = match test {
            RowTest::Threshold(t) => (t.last, t.missing, t.default_left, None),
            RowTest::Set {
                words,
                missing,
                default_left,
            } => (0, missing, default_left, Some(words)),
        };
        let last = _mm512_set1_epi32(last.min(0xffff) as i32);
        let missing = _mm512_set1_epi32(missing.min(0x1_0000) as i32);
        let (low_bits, one) = (_mm512_set1_epi32(31), _mm512_set1_epi32(1));
        let (rows_ptr, scratch_ptr) = (rows.as_mut_ptr(), scratch.as_mut_ptr());
        let (mut l, mut r) = (0usize, 0usize);
        let mut i = 0usize;
        while i + LANES <= n {
            // SAFETY (all of the block): `i + 16 <= n`, so the load reads `rows[i..i + 16]`;
            // the gathers read four bytes at each row's bin, inside `col` (the caller's
            // guarantee); the stores write sixteen ids at `rows[l..]` and `scratch[r..]`, with
            // `l <= i` and `r <= i`, so `l + 16 <= i + 16 <= n`: within the part of `rows`
            // already loaded and within `scratch` (`scratch.len() >= n`).
            let ids = _mm512_loadu_si512(rows_ptr.add(i) as *const __m512i);
            let gathered = if T::WIDTH == 1 {
                _mm512_i32gather_epi32::<1>(ids, base as *const i32)
            } else {
                _mm512_i32gather_epi32::<2>(ids, base as *const i32)
            };
            let bins = _mm512_and_si512(gathered, keep);
            let (chosen, is_missing) = match words {
                None => (
                    _mm512_cmple_epu32_mask(bins, last),
                    _mm512_cmpeq_epi32_mask(bins, missing),
                ),
                Some(words) => {
                    // Bins at or above the missing bin read as missing, as in the scalar test;
                    // the others' words lie inside `words`, which covers `0..=missing`.
                    let at_or_above = _mm512_cmpge_epu32_mask(bins, missing);
                    let b = _mm512_min_epu32(bins, missing);
                    let word = _mm512_i32gather_epi32::<4>(_mm512_srli_epi32::<5>(b), words.as_ptr() as *const i32);
                    let bit = _mm512_and_si512(_mm512_srlv_epi32(word, _mm512_and_si512(b, low_bits)), one);
                    (_mm512_test_epi32_mask(bit, bit), at_or_above)
                }
            };
            let left: __mmask16 = if default_left {
                chosen | is_missing
            } else {
                chosen & !is_missing
            };
            // Compressed in a register, then stored whole: a compressing store to memory is
            // microcoded on AMD's Zen 4 (tens of cycles each; partition was 28 % of a `higgs`
            // run there). The lanes past the compressed ids land on ids already loaded
            // (`l + 16 <= i + 16`) or on scratch not yet in use, and are overwritten later.
            _mm512_storeu_si512(rows_ptr.add(l) as *mut __m512i, _mm512_maskz_compress_epi32(left, ids));
            _mm512_storeu_si512(
                scratch_ptr.add(r) as *mut __m512i,
                _mm512_maskz_compress_epi32(!left, ids),
            );
            let went_left = left.count_ones() as usize;
            l += went_left;
            r += LANES - went_left;
            i += LANES;
        }
        partition_scalar_from(rows, scratch, col, test, i, l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Naive reference: the left rows in order, then the right rows in order.
    fn naive<T: BinIndex>(rows: &[u32], col: &[T], goes_left: impl Fn(usize) -> bool) -> (Vec<u32>, usize) {
        let goes = |r: &u32| goes_left(col[*r as usize].index());
        let mut out: Vec<u32> = rows.iter().copied().filter(goes).collect();
        let l = out.len();
        out.extend(rows.iter().copied().filter(|r| !goes(r)));
        (out, l)
    }

    fn check<T: BinIndex>(
        bins: &[usize],
        keep: &[bool],
        test: RowTest<'_>,
        goes_left: impl Fn(usize) -> bool,
    ) -> Result<(), TestCaseError> {
        let mut col: Vec<T> = bins.iter().map(|&b| T::from_index(b)).collect();
        col.extend(std::iter::repeat_n(T::from_index(0), COLUMN_PADDING));
        let rows: Vec<u32> = (0..bins.len() as u32).filter(|&r| keep[r as usize]).collect();
        let (want, want_left) = naive(&rows, &col, goes_left);
        let largest = bins.len().saturating_sub(1);
        for kernel in [true, false] {
            let mut got = rows.clone();
            let mut scratch = vec![0u32; rows.len()];
            let l = if kernel {
                partition_by_test(&mut got, &mut scratch, &col, test, largest)
            } else {
                partition_scalar(&mut got, &mut scratch, &col, test)
            };
            prop_assert_eq!(l, want_left);
            prop_assert_eq!(&got, &want);
        }
        Ok(())
    }

    fn threshold(t: ThresholdTest) -> impl Fn(usize) -> bool {
        move |b| if b == t.missing { t.default_left } else { b <= t.last }
    }

    proptest! {
        /// Both kernels give the naive partition of a threshold split, for byte and two-byte
        /// bins, any threshold, missing values on either side, node sizes around the 16-row steps.
        #[test]
        fn threshold_kernels_match_the_naive_partition(
            cells in proptest::collection::vec((0usize..300, any::<bool>()), 0..90),
            last in 0usize..320,
            missing in prop_oneof![Just(299usize), Just(255), 0usize..300],
            default_left in any::<bool>(),
        ) {
            let test = ThresholdTest { last, missing, default_left };
            let bins: Vec<usize> = cells.iter().map(|c| c.0).collect();
            let keep: Vec<bool> = cells.iter().map(|c| c.1).collect();
            check::<u16>(&bins, &keep, RowTest::Threshold(test), threshold(test))?;
            let small: Vec<usize> = bins.iter().map(|b| b % 256).collect();
            let test = ThresholdTest { missing: missing % 256, ..test };
            check::<u8>(&small, &keep, RowTest::Threshold(test), threshold(test))?;
        }

        /// The same for category-set splits: any set of the bins below the missing bin.
        #[test]
        fn set_kernels_match_the_naive_partition(
            cells in proptest::collection::vec((0usize..=300, any::<bool>()), 0..90),
            chosen in proptest::collection::btree_set(0usize..300, 0..120),
            default_left in any::<bool>(),
        ) {
            let missing = 300;
            let words = SetWords::new(missing, |b| chosen.contains(&b));
            let goes = |b: usize| if b == missing { default_left } else { chosen.contains(&b) };
            let bins: Vec<usize> = cells.iter().map(|c| c.0).collect();
            let keep: Vec<bool> = cells.iter().map(|c| c.1).collect();
            check::<u16>(&bins, &keep, words.test(missing, default_left), goes)?;
            // Byte bins, missing bin 255.
            let small: Vec<usize> = bins.iter().map(|b| b % 256).collect();
            let words = SetWords::new(255, |b| chosen.contains(&b));
            let goes = |b: usize| if b == 255 { default_left } else { chosen.contains(&b) };
            check::<u8>(&small, &keep, words.test(255, default_left), goes)?;
        }
    }

    #[test]
    fn every_row_and_wide_bins() {
        // 1,000 rows, all kept, bins up to 65,535.
        let bins: Vec<usize> = (0..1000).map(|i| (i * 7919) % 65_536).collect();
        let keep = vec![true; bins.len()];
        for last in [0, 100, 30_000, 65_535, 70_000] {
            for default_left in [false, true] {
                let test = ThresholdTest {
                    last,
                    missing: 65_535,
                    default_left,
                };
                check::<u16>(&bins, &keep, RowTest::Threshold(test), threshold(test)).unwrap();
            }
        }
        let words = SetWords::new(65_535, |b| b.is_multiple_of(3));
        let goes = |b: usize| b == 65_535 || b.is_multiple_of(3);
        check::<u16>(&bins, &keep, words.test(65_535, true), goes).unwrap();
    }
}
