//! Order-independent sums of `f32` values: each value is rounded once to a fixed-point grid (a
//! power of two chosen from the largest magnitude and the number of values), and the integers are
//! summed exactly. The total is then the same whatever the order of addition — over threads, or
//! over the ranks of distributed training, which sum the integers — and within one grid unit per
//! value of the true sum.

/// A fixed-point grid: a value `x` becomes the integer `trunc(x / unit)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FixedPoint {
    /// What one integer step stands for (a power of two).
    unit: f64,
    /// `1 / unit` (exact, a power of two).
    inverse: f64,
}

impl FixedPoint {
    /// The finest grid on which `count` values of magnitude at most `max_abs` (finite) sum without
    /// overflowing an `i64`: each value below `2^(62 - ceil(log2(count + 1)))` units. For a million
    /// values that is 42 bits below the largest magnitude — finer than the `f32` values themselves
    /// for all but the smallest of them.
    pub(crate) fn for_values(max_abs: f64, count: usize) -> FixedPoint {
        if !(max_abs > 0.0 && max_abs.is_finite()) {
            return FixedPoint {
                unit: 1.0,
                inverse: 1.0,
            };
        }
        // 2^above > max_abs: one more than its binary exponent (read from the bits, so exact).
        let above = if max_abs >= f64::MIN_POSITIVE {
            ((max_abs.to_bits() >> 52) & 0x7ff) as i32 - 1023 + 1
        } else {
            -1021
        };
        let count_bits = (usize::BITS - (count + 1).leading_zeros()) as i32;
        let unit_exponent = (above - (62 - count_bits)).clamp(-1000, 1000);
        FixedPoint {
            unit: pow2(unit_exponent),
            inverse: pow2(-unit_exponent),
        }
    }

    /// The value on the grid.
    #[inline(always)]
    pub(crate) fn to_fixed(self, x: f32) -> i64 {
        (x as f64 * self.inverse) as i64
    }

    /// The value of a sum of grid integers.
    pub(crate) fn to_f64(self, sum: i64) -> f64 {
        sum as f64 * self.unit
    }
}

/// 2^e as an `f64` (e within the normal range).
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum(grid: FixedPoint, values: &[f32]) -> f64 {
        grid.to_f64(values.iter().map(|&v| grid.to_fixed(v)).fold(0i64, |a, b| a + b))
    }

    proptest! {
        #[test]
        fn sums_are_close_to_the_true_sum_and_never_overflow(
            values in proptest::collection::vec(prop_oneof![-1e3f32..1e3, -1e-20f32..1e-20, Just(f32::MAX), Just(-f32::MAX)], 1..400),
        ) {
            let max = values.iter().map(|v| (*v as f64).abs()).fold(0.0, f64::max);
            let grid = FixedPoint::for_values(max, values.len());
            let plain: f64 = values.iter().map(|&v| v as f64).sum();
            // At most one unit per value off (truncation), plus the final rounding.
            let unit = grid.to_f64(1);
            prop_assert!((sum(grid, &values) - plain).abs() <= values.len() as f64 * unit + plain.abs() * 1e-15);
            // Every value, and any sum of them, fits.
            let total: i128 = values.iter().map(|&v| grid.to_fixed(v) as i128).sum();
            prop_assert!(total.abs() < (1i128 << 63));
        }
    }

    #[test]
    fn grids_are_powers_of_two_and_fine() {
        let g = FixedPoint::for_values(1.0, 1_000_000);
        // 2^1 > 1; 20 bits for the count: unit 2^(1 - 42).
        assert_eq!(g.to_f64(1), pow2(-41));
        assert_eq!(g.to_fixed(0.75), (0.75 * pow2(41)) as i64);
        assert_eq!(FixedPoint::for_values(0.0, 10).to_f64(3), 3.0);
        assert_eq!(sum(FixedPoint::for_values(0.5, 3), &[0.25, -0.5, 0.125]), -0.125);
    }
}
