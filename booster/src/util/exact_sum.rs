//! Exact, order-independent sums of `f32` values: every value is an integer mantissa times a power
//! of two, so its mantissa is added to an `i64` bucket of its exponent. Bucket sums are exact
//! integers, so any order of addition — across threads or across the ranks of distributed training
//! — gives the same buckets, and the buckets give the same `f64` total.

/// Buckets per value: one per `f32` exponent field (255 is infinity/NaN, kept apart).
const BUCKETS: usize = 255;

/// The exact sum of `f32` values (gradients or hessians of the rows of a leaf).
///
/// A bucket holds mantissas below 2^24, so it cannot overflow before 2^39 additions.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ExactSum {
    /// `buckets[e]`: the sum of the signed mantissas of the values with exponent field `e`
    /// (subnormals, field 0, are counted in bucket 1 where their weight is the same).
    buckets: [i64; BUCKETS],
    /// The sum of the non-finite values, if any (infinities and NaNs make the total non-finite
    /// whatever the order, so an `f64` sum of them is order-independent too).
    special: f64,
}

impl Default for ExactSum {
    fn default() -> Self {
        ExactSum {
            buckets: [0; BUCKETS],
            special: 0.0,
        }
    }
}

impl ExactSum {
    /// Adds one value.
    #[inline]
    pub(crate) fn add(&mut self, x: f32) {
        let bits = x.to_bits();
        let field = ((bits >> 23) & 0xff) as usize;
        if field == 0xff {
            self.special += x as f64;
            return;
        }
        let fraction = (bits & 0x7f_ffff) as i64;
        let (bucket, mantissa) = if field == 0 {
            (1, fraction)
        } else {
            (field, fraction | 0x80_0000)
        };
        self.buckets[bucket] += if bits >> 31 == 1 { -mantissa } else { mantissa };
    }

    /// The total, rounded to `f64` the same way whatever the order the values were added in:
    /// buckets are added from the smallest exponent up.
    pub(crate) fn total(&self) -> f64 {
        let mut total = 0.0f64;
        for (field, &b) in self.buckets.iter().enumerate() {
            if b != 0 {
                // A mantissa of exponent field `e` weighs 2^(e - 150).
                total += b as f64 * pow2(field as i32 - 150);
            }
        }
        total + self.special
    }

    /// The buckets in use, as the half-open range of their indices (empty when nothing was added).
    pub(crate) fn used(&self) -> std::ops::Range<usize> {
        let first = self.buckets.iter().position(|&b| b != 0);
        let last = self.buckets.iter().rposition(|&b| b != 0);
        match (first, last) {
            (Some(a), Some(b)) => a..b + 1,
            _ => 0..0,
        }
    }

    /// The buckets of `range`, for summing over ranks.
    pub(crate) fn buckets(&self, range: std::ops::Range<usize>) -> &[i64] {
        &self.buckets[range]
    }

    /// Replaces the buckets of `range` by `values` (the buckets summed over ranks).
    pub(crate) fn set_buckets(&mut self, range: std::ops::Range<usize>, values: &[i64]) {
        self.buckets[range].copy_from_slice(values);
    }

    /// The sum of the non-finite values.
    pub(crate) fn special(&self) -> f64 {
        self.special
    }

    /// Replaces the sum of the non-finite values.
    pub(crate) fn set_special(&mut self, special: f64) {
        self.special = special;
    }
}

/// 2^e as an `f64` (e in the normal range).
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum(values: &[f32]) -> f64 {
        let mut s = ExactSum::default();
        for &v in values {
            s.add(v);
        }
        s.total()
    }

    proptest! {
        #[test]
        fn any_order_gives_the_same_total_close_to_the_true_sum(
            values in proptest::collection::vec(prop_oneof![-1e3f32..1e3, -1e-30f32..1e-30, -1e30f32..1e30], 0..300),
            seed in 0u64..1000,
        ) {
            let mut shuffled = values.clone();
            // A deterministic shuffle.
            let n = shuffled.len();
            for i in (1..n).rev() {
                let j = (crate::train::sampling::mix(seed ^ i as u64) % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
            }
            prop_assert_eq!(sum(&values).to_bits(), sum(&shuffled).to_bits());
            // Within f64 rounding of a plain sum of well-scaled values.
            let plain: f64 = values.iter().map(|&v| v as f64).sum();
            let scale: f64 = values.iter().map(|&v| (v as f64).abs()).sum::<f64>().max(1e-300);
            prop_assert!((sum(&values) - plain).abs() <= scale * 1e-12);
        }
    }

    #[test]
    fn small_sums_are_exact_and_specials_propagate() {
        assert_eq!(sum(&[0.1, 0.2, -0.3]), 0.1f32 as f64 + 0.2f32 as f64 - 0.3f32 as f64);
        assert_eq!(sum(&[]), 0.0);
        assert_eq!(
            sum(&[f32::MIN_POSITIVE / 4.0, f32::MIN_POSITIVE / 4.0]),
            (f32::MIN_POSITIVE / 2.0) as f64
        );
        assert_eq!(sum(&[1.0, f32::INFINITY]), f64::INFINITY);
        assert!(sum(&[f32::NAN, 2.0]).is_nan());
        assert_eq!(sum(&[f32::MAX, f32::MAX]), 2.0 * f32::MAX as f64);
    }

    #[test]
    fn buckets_summed_elsewhere_give_the_total_of_all_values() {
        let (a, b) = ([1.5f32, -2.25, 1e-20], [3.0f32, 7e10]);
        let (mut sa, mut sb) = (ExactSum::default(), ExactSum::default());
        a.iter().for_each(|&v| sa.add(v));
        b.iter().for_each(|&v| sb.add(v));
        let range = 0..BUCKETS;
        let merged: Vec<i64> = sa
            .buckets(range.clone())
            .iter()
            .zip(sb.buckets(range.clone()))
            .map(|(x, y)| x + y)
            .collect();
        sa.set_buckets(range, &merged);
        assert_eq!(sa.total(), sum(&[1.5, -2.25, 1e-20, 3.0, 7e10]));
    }
}
