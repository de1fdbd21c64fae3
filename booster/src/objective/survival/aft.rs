//! `survival:aft`: accelerated failure time, `log T = margin + sigma * Z`, on interval-censored
//! times.
//!
//! Each row has bounds `[lower, upper]` (from [`crate::LabelBounds`]; the labels as both bounds
//! when a data set has none): uncensored when they are equal, right-censored when `upper` is
//! infinite, left-censored when `lower` is 0, interval-censored otherwise. The loss, gradient and
//! hessian follow XGBoost (`src/common/survival_util.h`, arXiv:2006.04920): densities floored at
//! 1e-12, gradients clamped to [-15, 15] and hessians to [1e-16, 15], and the limits XGBoost takes
//! where a denominator underflows.

use rayon::prelude::*;

use crate::data::Targets;
use crate::error::{Error, Result};
use crate::gradients::GradPair;
use crate::metric::Metric;
use crate::objective::Objective;
use crate::params::AftDistribution;

const MIN_GRAD: f64 = -15.0;
const MAX_GRAD: f64 = 15.0;
const MIN_HESS: f64 = 1e-16;
const MAX_HESS: f64 = 15.0;
const EPS: f64 = 1e-12;
/// Rows per parallel task (fixed: results never depend on the thread count).
const CHUNK: usize = 8192;

/// Density, CDF and the first two derivatives of the density of a standard noise distribution.
pub trait Distribution {
    /// Density at `z`.
    fn pdf(z: f64) -> f64;
    /// Cumulative distribution at `z`.
    fn cdf(z: f64) -> f64;
    /// First derivative of the density.
    fn grad_pdf(z: f64) -> f64;
    /// Second derivative of the density.
    fn hess_pdf(z: f64) -> f64;
}

/// Standard normal noise.
pub struct Normal;
/// Standard logistic noise.
pub struct Logistic;
/// Standard Gumbel (minimum) noise: `F(z) = 1 - exp(-e^z)`.
pub struct Extreme;

impl Distribution for Normal {
    fn pdf(z: f64) -> f64 {
        (-z * z / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt()
    }
    fn cdf(z: f64) -> f64 {
        0.5 * (1.0 + erf(z / std::f64::consts::SQRT_2))
    }
    fn grad_pdf(z: f64) -> f64 {
        -z * Self::pdf(z)
    }
    fn hess_pdf(z: f64) -> f64 {
        (z * z - 1.0) * Self::pdf(z)
    }
}

impl Distribution for Logistic {
    fn pdf(z: f64) -> f64 {
        let w = z.exp();
        if w.is_infinite() || (w * w).is_infinite() {
            0.0
        } else {
            w / ((1.0 + w) * (1.0 + w))
        }
    }
    fn cdf(z: f64) -> f64 {
        let w = z.exp();
        if w.is_infinite() {
            1.0
        } else {
            w / (1.0 + w)
        }
    }
    fn grad_pdf(z: f64) -> f64 {
        let w = z.exp();
        if w.is_infinite() {
            0.0
        } else {
            Self::pdf(z) * (1.0 - w) / (1.0 + w)
        }
    }
    fn hess_pdf(z: f64) -> f64 {
        let w = z.exp();
        if w.is_infinite() || (w * w).is_infinite() {
            0.0
        } else {
            Self::pdf(z) * (w * w - 4.0 * w + 1.0) / ((1.0 + w) * (1.0 + w))
        }
    }
}

impl Distribution for Extreme {
    fn pdf(z: f64) -> f64 {
        let w = z.exp();
        if w.is_infinite() {
            0.0
        } else {
            w * (-w).exp()
        }
    }
    fn cdf(z: f64) -> f64 {
        1.0 - (-z.exp()).exp()
    }
    fn grad_pdf(z: f64) -> f64 {
        let w = z.exp();
        if w.is_infinite() {
            0.0
        } else {
            (1.0 - w) * Self::pdf(z)
        }
    }
    fn hess_pdf(z: f64) -> f64 {
        let w = z.exp();
        if w.is_infinite() || (w * w).is_infinite() {
            0.0
        } else {
            (w * w - 3.0 * w + 1.0) * Self::pdf(z)
        }
    }
}

/// The error function (W. J. Cody's rational approximations, relative error below 1e-15 in f64
/// arithmetic, as in most libm implementations).
#[allow(clippy::excessive_precision)] // the published coefficients, as printed
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let ax = x.abs();
    let r = if ax < 0.5 {
        const A: [f64; 5] = [
            3.161_123_743_870_565_6,
            113.864_154_151_050_16,
            377.485_237_685_302_0,
            3_209.377_589_138_469_5,
            0.185_777_706_184_603_15,
        ];
        const B: [f64; 4] = [
            23.601_290_952_344_122,
            244.024_637_934_444_17,
            1_282.616_526_077_372_3,
            2_844.236_833_439_170_6,
        ];
        let z = x * x;
        let mut num = A[4] * z;
        let mut den = z;
        for i in 0..3 {
            num = (num + A[i]) * z;
            den = (den + B[i]) * z;
        }
        return x * (num + A[3]) / (den + B[3]);
    } else {
        1.0 - erfc_pos(ax)
    };
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// `erfc(x)` for `x >= 0.5` (Cody).
#[allow(clippy::excessive_precision)]
fn erfc_pos(x: f64) -> f64 {
    if x < 4.0 {
        const C: [f64; 9] = [
            0.564_188_496_988_670_1,
            8.883_149_794_388_376,
            66.119_190_637_141_63,
            298.635_138_197_400_1,
            881.952_221_241_769_1,
            1_712.047_612_634_070_7,
            2_051.078_377_826_071_6,
            1_230.339_354_797_997_2,
            2.153_115_354_744_038_3e-8,
        ];
        const D: [f64; 8] = [
            15.744_926_110_709_835,
            117.693_950_891_312_5,
            537.181_101_862_009_9,
            1_621.389_574_566_690_3,
            3_290.799_235_733_459_7,
            4_362.619_090_143_247,
            3_439.367_674_143_721_6,
            1_230.339_354_803_749_5,
        ];
        let mut num = C[8] * x;
        let mut den = x;
        for i in 0..7 {
            num = (num + C[i]) * x;
            den = (den + D[i]) * x;
        }
        let r = (num + C[7]) / (den + D[7]);
        let xs = (x * 16.0).trunc() / 16.0;
        let del = (x - xs) * (x + xs);
        (-xs * xs).exp() * (-del).exp() * r
    } else {
        if x >= 27.0 {
            return 0.0;
        }
        const P: [f64; 6] = [
            0.305_326_634_961_232_36,
            0.360_344_899_949_804_4,
            0.125_781_726_111_229_25,
            0.016_083_785_148_742_275,
            6.587_491_615_298_378e-4,
            0.016_315_387_137_302_097,
        ];
        const Q: [f64; 5] = [
            2.568_520_192_289_822,
            1.872_952_849_923_460_4,
            0.527_905_102_951_428_4,
            0.060_518_341_312_441_32,
            0.002_335_204_976_268_691_8,
        ];
        let z = 1.0 / (x * x);
        let mut num = P[5] * z;
        let mut den = z;
        for i in 0..4 {
            num = (num + P[i]) * z;
            den = (den + Q[i]) * z;
        }
        let r = z * (num + P[4]) / (den + Q[4]);
        let r = (1.0 / std::f64::consts::PI.sqrt() - r) / x;
        let xs = (x * 16.0).trunc() / 16.0;
        let del = (x - xs) * (x + xs);
        (-xs * xs).exp() * (-del).exp() * r
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Censoring {
    None,
    Right,
    Left,
    Interval,
}

/// Values of `limit` XGBoost takes where a denominator underflows, per distribution.
fn grad_limit(dist: AftDistribution, c: Censoring, sign: bool, sigma: f64) -> f64 {
    use Censoring::*;
    let (lo, hi) = match dist {
        AftDistribution::Normal => (MIN_GRAD, MAX_GRAD),
        AftDistribution::Logistic => (-1.0 / sigma, 1.0 / sigma),
        AftDistribution::Extreme => (MIN_GRAD, 1.0 / sigma),
    };
    match (c, sign) {
        (None | Interval, true) | (Right, true) => lo,
        (None | Interval, false) | (Left, false) => hi,
        (Right, false) | (Left, true) => 0.0,
    }
}

fn hess_limit(dist: AftDistribution, c: Censoring, sign: bool, sigma: f64) -> f64 {
    use Censoring::*;
    match dist {
        AftDistribution::Normal => {
            let v = 1.0 / (sigma * sigma);
            match (c, sign) {
                (Right, false) | (Left, true) => MIN_HESS,
                _ => v,
            }
        }
        AftDistribution::Logistic => MIN_HESS,
        AftDistribution::Extreme => match (c, sign) {
            (None | Right | Interval, true) => MAX_HESS,
            _ => MIN_HESS,
        },
    }
}

/// The AFT loss of one noise distribution and scale.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AftLoss {
    /// The noise distribution.
    pub dist: AftDistribution,
    /// Its scale `sigma` (> 0).
    pub sigma: f64,
}

/// Density, CDF, and the density's derivatives of `dist` at `z`, in that order.
fn eval(dist: AftDistribution, z: f64) -> (f64, f64, f64, f64) {
    fn of<D: Distribution>(z: f64) -> (f64, f64, f64, f64) {
        (D::pdf(z), D::cdf(z), D::grad_pdf(z), D::hess_pdf(z))
    }
    match dist {
        AftDistribution::Normal => of::<Normal>(z),
        AftDistribution::Logistic => of::<Logistic>(z),
        AftDistribution::Extreme => of::<Extreme>(z),
    }
}

impl AftLoss {
    /// Negative log likelihood of the bounds `[lower, upper]` at margin `pred` (log time).
    pub fn loss(&self, lower: f64, upper: f64, pred: f64) -> f64 {
        let s = self.sigma;
        if lower == upper {
            let z = (lower.ln() - pred) / s;
            let (pdf, ..) = eval(self.dist, z);
            -(pdf / (s * lower)).max(EPS).ln()
        } else {
            let cdf_u = if upper.is_infinite() {
                1.0
            } else {
                eval(self.dist, (upper.ln() - pred) / s).1
            };
            let cdf_l = if lower <= 0.0 {
                0.0
            } else {
                eval(self.dist, (lower.ln() - pred) / s).1
            };
            -(cdf_u - cdf_l).max(EPS).ln()
        }
    }

    /// Gradient and hessian of [`AftLoss::loss`] in `pred`, clamped as XGBoost does.
    pub fn grad_hess(&self, lower: f64, upper: f64, pred: f64) -> (f64, f64) {
        let s = self.sigma;
        let (c, sign, g_num, g_den, h_num, h_den);
        if lower == upper {
            let z = (lower.ln() - pred) / s;
            let (pdf, _, gpdf, hpdf) = eval(self.dist, z);
            c = Censoring::None;
            sign = z > 0.0;
            g_num = gpdf;
            g_den = s * pdf;
            h_num = -(pdf * hpdf - gpdf * gpdf);
            h_den = s * s * pdf * pdf;
        } else {
            let (mut z_u, mut z_l) = (0.0, 0.0);
            let (mut cens_right, mut cens_left) = (false, false);
            let (pdf_u, cdf_u, gpdf_u) = if upper.is_infinite() {
                cens_right = true;
                (0.0, 1.0, 0.0)
            } else {
                z_u = (upper.ln() - pred) / s;
                let (p, c, g, _) = eval(self.dist, z_u);
                (p, c, g)
            };
            let (pdf_l, cdf_l, gpdf_l) = if lower <= 0.0 {
                cens_left = true;
                (0.0, 0.0, 0.0)
            } else {
                z_l = (lower.ln() - pred) / s;
                let (p, c, g, _) = eval(self.dist, z_l);
                (p, c, g)
            };
            // XGBoost checks right, then left: a row with both is called left-censored.
            c = if cens_left {
                Censoring::Left
            } else if cens_right {
                Censoring::Right
            } else {
                Censoring::Interval
            };
            sign = z_u > 0.0 || z_l > 0.0;
            let cdf_diff = cdf_u - cdf_l;
            let pdf_diff = pdf_u - pdf_l;
            g_num = pdf_diff;
            g_den = s * cdf_diff;
            h_num = -(cdf_diff * (gpdf_u - gpdf_l) - pdf_diff * pdf_diff);
            h_den = g_den * g_den;
        }
        let mut g = g_num / g_den;
        if g_den < EPS && !g.is_finite() {
            g = grad_limit(self.dist, c, sign, s);
        }
        let mut h = h_num / h_den;
        if h_den < EPS && !h.is_finite() {
            h = hess_limit(self.dist, c, sign, s);
        }
        (g.clamp(MIN_GRAD, MAX_GRAD), h.clamp(MIN_HESS, MAX_HESS))
    }
}

/// The bounds of row `i`: from `targets.bounds`, else the label as both.
pub(crate) fn bounds_of(targets: &Targets<'_>, i: usize) -> (f64, f64) {
    match targets.bounds {
        Some(b) => (b.lower[i] as f64, b.upper[i] as f64),
        None => (targets.labels[i] as f64, targets.labels[i] as f64),
    }
}

/// `survival:aft`.
#[derive(Debug, Clone)]
pub struct AftObjective {
    loss: AftLoss,
}

impl AftObjective {
    /// The AFT objective with noise `dist` of scale `sigma`.
    pub fn new(dist: AftDistribution, sigma: f64) -> AftObjective {
        AftObjective {
            loss: AftLoss { dist, sigma },
        }
    }
}

impl Objective for AftObjective {
    fn name(&self) -> &str {
        "survival:aft"
    }

    fn validate_labels(&self, labels: &[f32]) -> Result<()> {
        match labels.iter().position(|y| !(y.is_finite() && *y > 0.0)) {
            Some(row) => Err(Error::InvalidLabel {
                row,
                value: labels[row] as f64,
                reason: "survival:aft without label bounds reads the labels as uncensored times, which must be > 0"
                    .into(),
            }),
            None => Ok(()),
        }
    }

    fn check_targets(&self, targets: &Targets<'_>) -> Result<()> {
        match targets.bounds {
            None => self.validate_labels(targets.labels),
            Some(b) => {
                if b.lower.len() != targets.labels.len() {
                    return Err(Error::ShapeMismatch {
                        what: "label bounds vs rows".into(),
                        expected: targets.labels.len(),
                        got: b.lower.len(),
                    });
                }
                // An uncensored time of 0 has no log density.
                match (0..b.lower.len()).find(|&i| b.lower[i] == b.upper[i] && b.lower[i] <= 0.0) {
                    Some(row) => Err(Error::InvalidLabel {
                        row,
                        value: b.lower[row] as f64,
                        reason: "survival:aft: an uncensored time (lower == upper) must be > 0".into(),
                    }),
                    None => Ok(()),
                }
            }
        }
    }

    fn gradients(&self, labels: &[f32], weights: Option<&[f32]>, margins: &[f64], out: &mut [GradPair]) {
        self.gradients_for(&Targets::plain(labels, weights), margins, out)
    }

    fn gradients_for(&self, targets: &Targets<'_>, margins: &[f64], out: &mut [GradPair]) {
        let loss = self.loss;
        out.par_chunks_mut(CHUNK).enumerate().for_each(|(c, chunk)| {
            for (k, gp) in chunk.iter_mut().enumerate() {
                let i = c * CHUNK + k;
                let (lo, hi) = bounds_of(targets, i);
                let (g, h) = loss.grad_hess(lo, hi, margins[i]);
                let w = targets.weights.map_or(1.0, |w| w[i]) as f64;
                *gp = GradPair::new((g * w) as f32, (h * w) as f32);
            }
        });
    }

    fn initial_margin(&self, _labels: &[f32], _weights: Option<&[f32]>) -> Vec<f64> {
        // XGBoost 3.2 starts survival:aft from base_score 0.5, i.e. margin ln 0.5 (it does not
        // fit an intercept for it).
        vec![0.5f64.ln()]
    }

    fn score_to_margin(&self, score: f64) -> Result<f64> {
        if score <= 0.0 {
            return Err(Error::param(
                "base_score",
                format!("must be > 0 for survival:aft (a time), got {score}"),
            ));
        }
        Ok(score.ln())
    }

    fn margin_to_score(&self, row: &mut [f32]) {
        row[0] = (row[0] as f64).exp() as f32;
    }

    fn default_metric(&self) -> Metric {
        Metric::AftNloglik
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISTS: [AftDistribution; 3] = [
        AftDistribution::Normal,
        AftDistribution::Logistic,
        AftDistribution::Extreme,
    ];

    #[test]
    fn erf_matches_known_values() {
        for (x, v) in [
            (0.0, 0.0),
            (0.1, 0.112_462_916_018_284_9),
            (0.5, 0.520_499_877_813_046_5),
            (1.0, 0.842_700_792_949_714_9),
            (2.0, 0.995_322_265_018_952_7),
            (3.5, 0.999_999_256_901_627_7),
            (5.0, 0.999_999_999_998_462_5),
        ] {
            assert!((erf(x) - v).abs() < 1e-14, "erf({x}) = {} vs {v}", erf(x));
            assert!((erf(-x) + v).abs() < 1e-14);
        }
    }

    #[test]
    fn densities_and_cdfs_in_closed_form() {
        // Closed forms: the logistic CDF is the sigmoid, Gumbel-min CDF 1 - exp(-e^z).
        for z in [-3.0, -0.7, 0.0, 0.4, 2.5] {
            assert!((Logistic::cdf(z) - 1.0 / (1.0 + (-z).exp())).abs() < 1e-15);
            assert!((Extreme::pdf(z) - z.exp() * (-z.exp()).exp()).abs() < 1e-15);
            assert!((Normal::pdf(z) - (-z * z / 2.0).exp() * 0.398_942_280_401_432_7).abs() < 1e-15);
        }
        assert!((Normal::cdf(1.96) - 0.975_002_104_851_780).abs() < 1e-12);
        // CDF' = pdf, pdf' = grad_pdf, grad_pdf' = hess_pdf, by central differences.
        let h = 1e-5;
        for z in [-2.0, -0.3, 0.0, 0.8, 1.7] {
            for d in DISTS {
                let (p, _, g, hh) = eval(d, z);
                let (_, cu, gu, _) = eval(d, z + h);
                let (_, cd, gd, _) = eval(d, z - h);
                let (pu, ..) = eval(d, z + h);
                let (pd, ..) = eval(d, z - h);
                assert!(((cu - cd) / (2.0 * h) - p).abs() < 1e-8, "{d:?} cdf' at {z}");
                assert!(((pu - pd) / (2.0 * h) - g).abs() < 1e-8, "{d:?} pdf' at {z}");
                assert!(((gu - gd) / (2.0 * h) - hh).abs() < 1e-7, "{d:?} pdf'' at {z}");
            }
        }
    }

    #[test]
    fn gradients_are_derivatives_of_the_loss() {
        let cases = [
            (2.0, 2.0),           // uncensored
            (1.5, f64::INFINITY), // right-censored
            (0.0, 3.0),           // left-censored
            (1.0, 4.0),           // interval
        ];
        let h = 1e-5;
        for d in DISTS {
            for sigma in [0.7, 1.0, 1.6] {
                let l = AftLoss { dist: d, sigma };
                for (lo, hi) in cases {
                    for pred in [-0.5, 0.2, 0.9, 1.4] {
                        let (g, hs) = l.grad_hess(lo, hi, pred);
                        let fd = (l.loss(lo, hi, pred + h) - l.loss(lo, hi, pred - h)) / (2.0 * h);
                        assert!(
                            (fd - g).abs() < 1e-6,
                            "{d:?} s={sigma} [{lo},{hi}] p={pred}: {fd} vs {g}"
                        );
                        let (gu, _) = l.grad_hess(lo, hi, pred + h);
                        let (gd, _) = l.grad_hess(lo, hi, pred - h);
                        let fh = (gu - gd) / (2.0 * h);
                        assert!((fh - hs).abs() < 1e-5 || hs == MIN_HESS, "{d:?} hess: {fh} vs {hs}");
                    }
                }
            }
        }
    }

    #[test]
    fn far_predictions_take_the_clamped_limits() {
        let l = AftLoss {
            dist: AftDistribution::Normal,
            sigma: 1.0,
        };
        // Far below the interval: the gradient is clamped at -15 and the hessian at most 15.
        let (g, h) = l.grad_hess(1.0, 2.0, -80.0);
        assert_eq!(g, MIN_GRAD);
        assert!(h > 0.0 && h <= MAX_HESS);
        let (g, h) = l.grad_hess(1.0, f64::INFINITY, 80.0);
        assert!(g.abs() < 1e-12 && h == MIN_HESS);
        assert!(l.loss(2.0, 2.0, 100.0).is_finite());
    }

    #[test]
    fn uncensored_normal_loss_in_closed_form() {
        let l = AftLoss {
            dist: AftDistribution::Normal,
            sigma: 2.0,
        };
        let (y, p): (f64, f64) = (3.0, 0.5);
        let z = (y.ln() - p) / 2.0;
        let want = 0.5 * z * z + 0.5 * (2.0 * std::f64::consts::PI).ln() + 2f64.ln() + y.ln();
        assert!((l.loss(y, y, p) - want).abs() < 1e-12);
    }
}
