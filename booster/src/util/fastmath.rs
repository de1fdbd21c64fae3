//! `exp` for the logistic and softmax links (and `ln` for the log-loss metrics), written so that the compiler vectorises the loops that
//! call it (the C library's `exp` is an opaque call per value) and so that it gives the same bits on
//! every x86-64 processor (the C library picks an FMA or a plain variant at run time).
//!
//! Method: `x = k ln 2 + r` with `k` the nearest integer to `x / ln 2` and `|r| <= ln 2 / 2`
//! (Cody–Waite: `ln 2` in two parts, so `k * LN2_HI` is exact), `e^r` by its Taylor series to degree
//! 13 (truncation below 1e-17 relative), then times `2^k`, built in the exponent bits. Within 2 ulp of the
//! exact value (checked against the C library in the tests).

/// `ln 2`'s high part: 32 significant bits, so that `k * LN2_HI` is exact for `|k| < 2^21`.
use crate::util::simd::simd_dispatch;

const LN2_HI: f64 = 0.693_147_180_369_123_8;
/// `ln 2 - LN2_HI`.
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// 1.5 x 2^52: adding it rounds a number below 2^51 in magnitude to an integer, which then sits in
/// the low bits of the sum.
const ROUND: f64 = 6_755_399_441_055_744.0;
/// Inputs are clamped to this range: `e^x` stays a normal number (below it the true value is under
/// 2^-1021, which the links treat as 0 anyway), and above it the result is infinite.
const MIN_X: f64 = -708.0;
/// See [`MIN_X`].
const MAX_X: f64 = 709.782_712_893_384;

/// `e^x`: within 2 ulp for `x` in `[-708, 709.78]`; `e^x` at -708 for smaller `x` (about 3e-308,
/// where the exact value is smaller still), infinity above, NaN for NaN.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // Clamped into the range (NaN becomes MIN_X); the edges and NaN are put back at the end, with
    // selects rather than branches so that loops over `exp` vectorise.
    #[allow(clippy::manual_clamp)] // `clamp` would keep NaN, which the integer steps must not see.
    let xc = x.max(MIN_X).min(MAX_X);
    let t = xc * std::f64::consts::LOG2_E + ROUND;
    let k = t - ROUND;
    let ki = t.to_bits().wrapping_sub(ROUND.to_bits()) as i64;
    let r = (xc - k * LN2_HI) - k * LN2_LO;
    // Taylor series of e^r to degree 13, Horner's scheme.
    let mut p = 1.0 / 6_227_020_800.0;
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    // 2^k in two halves, each a normal number (k reaches 1024 just below the overflow threshold);
    // `k + 2048` is positive, so the halving is a logical shift, which every SIMD level has.
    let half = (((ki + 2048) as u64) >> 1) as i64 - 1024;
    let y = p * f64::from_bits(((half + 1023) as u64) << 52) * f64::from_bits(((ki - half + 1023) as u64) << 52);
    let y = if x > MAX_X { f64::INFINITY } else { y };
    if x.is_nan() {
        x
    } else {
        y
    }
}

/// `ln x` for a positive, normal, finite `x` (what the log-loss metrics take after clamping their
/// probabilities into `[1e-16, 1 - 1e-16]`), within 2 ulp, without branches, so that loops over
/// it vectorise and give the same bits on every x86-64 processor. NaN gives NaN; other inputs
/// (zero, negative, subnormal, infinite) give unspecified values: callers clamp first.
///
/// Method: `x = 2^e m` with `m` in `[sqrt(1/2), sqrt(2))`; `ln m = 2 atanh(s)` with
/// `s = (m - 1) / (m + 1)`, `|s| <= 0.172`, by its series to degree 21 (truncation below 1e-17
/// relative); `ln x = e ln 2 + ln m` with `ln 2` in two parts.
#[inline(always)]
pub fn ln_positive(x: f64) -> f64 {
    const SQRT2: f64 = std::f64::consts::SQRT_2;
    // 2^52 as bits: or-ing a biased exponent (< 2^11) into its mantissa and subtracting 2^52
    // gives that exponent as a float without an integer conversion (which AVX2 lacks).
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let bits = x.to_bits();
    let biased = f64::from_bits(TWO52.to_bits() | ((bits >> 52) & 0x7ff)) - TWO52;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | (1023u64 << 52));
    let big = m > SQRT2;
    let m = if big { m * 0.5 } else { m };
    let e = biased - if big { 1022.0 } else { 1023.0 };
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    let mut p = 1.0 / 21.0;
    for c in [
        1.0 / 19.0,
        1.0 / 17.0,
        1.0 / 15.0,
        1.0 / 13.0,
        1.0 / 11.0,
        1.0 / 9.0,
        1.0 / 7.0,
        1.0 / 5.0,
        1.0 / 3.0,
    ] {
        p = p * z + c;
    }
    // ln m = 2s + 2s z p: the leading term apart keeps the rounding error of the series small.
    let two_s = 2.0 * s;
    let y = e * LN2_HI + (e * LN2_LO + (two_s + two_s * z * p));
    if x.is_nan() {
        x
    } else {
        y
    }
}

simd_dispatch! {
    /// Replaces every `v` of `values` by [`exp`]`(v)`, vectorised for the widest instruction set the
    /// processor has (AVX-512, AVX2 or the baseline); the same bits whichever runs.
    pub fn exp_in_place, at exp_in_place_at(values: &mut [f64]) = exp_loop;
    avx512 needs ["avx512f"]
}

simd_dispatch! {
    /// Replaces every `v` of `values` by [`ln_positive`]`(v)`, vectorised as [`exp_in_place`] is; the
    /// same bits whichever instruction set runs.
    pub fn ln_in_place, at ln_in_place_at(values: &mut [f64]) = ln_loop;
    avx512 needs ["avx512f"]
}

/// The loop of [`ln_in_place`], inlined into each variant.
#[inline(always)]
fn ln_loop(values: &mut [f64]) {
    for v in values {
        *v = ln_positive(*v);
    }
}

/// The loop of [`exp_in_place`], inlined into each variant.
#[inline(always)]
fn exp_loop(values: &mut [f64]) {
    for v in values {
        *v = exp(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn within_two_ulp_of_the_c_library() {
        let mut worst = 0;
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..2_000_000u64 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            // Mostly the range the links use, some of the whole range.
            let x = if i % 4 == 0 {
                MIN_X + u * (MAX_X - MIN_X)
            } else {
                u * 80.0 - 40.0
            };
            worst = worst.max(ulps(exp(x), x.exp()));
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        for x in [0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, -1e-300, 700.0, -700.0] {
            assert!(ulps(exp(x), x.exp()) <= 2, "{x}");
        }
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn slices_give_the_same_bits() {
        let x: Vec<f64> = (0..1001)
            .map(|i| (i as f64 - 500.0) * 1.37)
            .chain([f64::NAN, 800.0, -900.0])
            .collect();
        for isa in crate::util::simd::Isa::available(&["avx512f"]) {
            let mut out = x.clone();
            exp_in_place_at(isa, &mut out);
            for (o, v) in out.iter().zip(&x) {
                assert_eq!(o.to_bits(), exp(*v).to_bits(), "{v} {isa:?}");
            }
        }
    }

    #[test]
    fn ln_within_two_ulp_of_the_c_library() {
        let mut worst = 0;
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..2_000_000u64 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64;
            // Probabilities (the metrics' inputs), values near 1, and the normal range.
            let x = match i % 3 {
                0 => u.max(1e-16),
                1 => 1.0 - u * 1e-3,
                _ => 2f64.powf(u * 2000.0 - 1000.0),
            };
            worst = worst.max(ulps(ln_positive(x), x.ln()));
        }
        assert!(worst <= 2, "worst error {worst} ulp");
        for x in [
            1.0,
            2.0,
            0.5,
            1e-16,
            1.0 - 1e-16,
            f64::MIN_POSITIVE,
            f64::MAX,
            std::f64::consts::E,
        ] {
            assert!(
                ulps(ln_positive(x), x.ln()) <= 2,
                "{x}: {} vs {}",
                ln_positive(x),
                x.ln()
            );
        }
        assert_eq!(ln_positive(1.0), 0.0);
        assert!(ln_positive(f64::NAN).is_nan());
    }

    #[test]
    fn ln_slices_give_the_same_bits() {
        let x: Vec<f64> = (1..1001)
            .map(|i| i as f64 * 1.37e-3)
            .chain([f64::NAN, 1e-16, 1e300])
            .collect();
        for isa in crate::util::simd::Isa::available(&["avx512f"]) {
            let mut out = x.clone();
            ln_in_place_at(isa, &mut out);
            for (o, v) in out.iter().zip(&x) {
                assert_eq!(o.to_bits(), ln_positive(*v).to_bits(), "{v} {isa:?}");
            }
        }
    }

    #[test]
    fn edges() {
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert!(exp(f64::NAN).is_nan());
        let tiny = exp(-1000.0);
        assert!(tiny > 0.0 && tiny < 1e-307);
        assert_eq!(exp(f64::NEG_INFINITY), exp(MIN_X));
    }
}
