//! Order-independent sums of `f32` values: each value is rounded once to a fixed-point grid (a
//! power of two chosen from the largest magnitude and the number of values), and the integers are
//! summed exactly. Rounding uses the `1.5 * 2^52` addition (no float-to-integer conversion), so it
//! costs about what adding the value to an `f64` does. The total is then the same whatever the order of addition — over threads, or
//! over the ranks of distributed training, which sum the integers — and within one grid unit per
//! value of the true sum.

/// A fixed-point grid: a value `x` becomes the integer nearest to `x / unit` (ties to even).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FixedPoint {
    /// What one integer step stands for (a power of two).
    unit: f64,
    /// `1 / unit` (exact, a power of two).
    inverse: f64,
}

impl FixedPoint {
    /// The finest grid on which `count` values of magnitude at most `max_abs` (finite) sum without
    /// overflowing an `i64`: each value below `2^min(51, 62 - ceil(log2(count + 1)))` units. For a
    /// million values that is 42 bits below the largest magnitude — finer than the `f32` values
    /// themselves for all but the smallest of them.
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
        // Below 2^51 units the rounding addition is exact (see `to_fixed`).
        let unit_exponent = (above - (62 - count_bits).min(ROUNDING_BITS)).clamp(-1000, 1000);
        FixedPoint {
            unit: pow2(unit_exponent),
            inverse: pow2(-unit_exponent),
        }
    }

    /// The value on the grid. `x / unit` is below 2^51 in magnitude (by the choice of the grid), so
    /// adding `1.5 * 2^52` gives a float whose last mantissa bits hold it rounded to an integer.
    #[inline(always)]
    pub(crate) fn to_fixed(self, x: f32) -> i64 {
        let shifted = x as f64 * self.inverse + ROUNDING_MAGIC;
        shifted.to_bits() as i64 - ROUNDING_MAGIC.to_bits() as i64
    }

    /// The value of a sum of grid integers.
    pub(crate) fn to_f64(self, sum: i64) -> f64 {
        sum as f64 * self.unit
    }
}

/// Magnitudes (in units) up to which [`FixedPoint::to_fixed`]'s rounding addition is exact.
const ROUNDING_BITS: i32 = 51;
/// `1.5 * 2^52`: adding it to a float below 2^51 in magnitude rounds that float to an integer held
/// in the mantissa's low bits.
const ROUNDING_MAGIC: f64 = 6_755_399_441_055_744.0;

/// 2^e as an `f64` (e within the normal range).
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum(grid: FixedPoint, values: &[f32]) -> f64 {
        grid.to_f64(values.iter().map(|&v| grid.to_fixed(v)).sum::<i64>())
    }

    proptest! {
        #[test]
        fn sums_are_close_to_the_true_sum_and_never_overflow(
            values in proptest::collection::vec(prop_oneof![-1e3f32..1e3, -1e-20f32..1e-20, Just(f32::MAX), Just(-f32::MAX)], 1..400),
        ) {
            let max = values.iter().map(|v| (*v as f64).abs()).fold(0.0, f64::max);
            let grid = FixedPoint::for_values(max, values.len());
            let plain: f64 = values.iter().map(|&v| v as f64).sum();
            // At most half a unit per value off, plus the final rounding.
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
        assert_eq!(g.to_fixed(-0.75), -(0.75 * pow2(41)) as i64);
        // Rounding to nearest, ties to even: 2.5 and 3.5 units.
        let one = FixedPoint::for_values(1.0, 1);
        let unit = one.to_f64(1) as f32;
        assert_eq!(
            (
                one.to_fixed(2.5 * unit),
                one.to_fixed(3.5 * unit),
                one.to_fixed(-2.5 * unit)
            ),
            (2, 4, -2)
        );
        assert_eq!(FixedPoint::for_values(0.0, 10).to_f64(3), 3.0);
        assert_eq!(sum(FixedPoint::for_values(0.5, 3), &[0.25, -0.5, 0.125]), -0.125);
    }
}
