//! Gradient-based one-side sampling (GOSS, LightGBM's `data_sample_strategy=goss`): after a
//! round's gradients, keep the `top_rate` share of rows with the largest `|g·h|` (summed over the
//! outputs), draw `other_rate` of all rows uniformly from the rest, and scale the drawn rows'
//! gradient pairs by `(n - top_k) / other_k` so that the sums over the sample estimate the sums
//! over all rows. The round's trees grow on the kept rows; the rows left out still get the new
//! trees' values in their margins.
//!
//! As in LightGBM 4.x (`GOSSStrategy::Bagging`: no sampling while
//! `iter < int(1.0f / learning_rate)`), the first [`warmup_rounds`] rounds use every row. Rounds
//! are counted from the start of the model, so continued training past them samples from its
//! first new round. The counts follow Sylvan's rounding (`top_k = max(1, round(top_rate · n))`,
//! `other_k = min(round(other_rate · n), n - top_k)`) rather than LightGBM's truncation, so that
//! `top_rate + other_rate = 1` keeps every row unscaled (plain training).
//!
//! Every choice is deterministic: the top rows are ranked by score with ties broken by the lower
//! row index, and the others are drawn from the seeded stream of the round, so the sample does not
//! depend on the thread count.

use rand::seq::index;

use crate::gradients::GradPair;
use crate::params::Params;
use crate::train::sampling::stream;
use rayon::prelude::*;

/// The tag of GOSS's random stream (`"goss"`), apart from every other draw's.
const STREAM_TAG: u64 = 0x676f_7373;

/// Rounds that use every row before sampling starts: LightGBM's `int(1.0f / learning_rate)`,
/// computed in f32 as LightGBM does (so `eta = 0.1` gives 10).
pub(crate) fn warmup_rounds(eta: f64) -> usize {
    let r = 1.0f32 / eta as f32;
    if r.is_finite() && r > 0.0 {
        r as usize
    } else {
        0
    }
}

/// The number of top rows and of rows drawn from the rest, out of `num_rows`.
pub(crate) fn counts(num_rows: usize, top_rate: f64, other_rate: f64) -> (usize, usize) {
    if num_rows == 0 {
        return (0, 0);
    }
    let top = ((top_rate * num_rows as f64).round() as usize).clamp(1, num_rows);
    let other = ((other_rate * num_rows as f64).round() as usize).min(num_rows - top);
    (top, other)
}

/// One round's GOSS sample.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GossSample {
    /// Every kept row, ascending: the top rows and the drawn ones.
    pub rows: Vec<u32>,
    /// The rows drawn from the rest, ascending (their pairs are scaled by `factor`).
    pub drawn: Vec<u32>,
    /// `(n - top_k) / other_k`, the scale of the drawn rows' pairs (1 when nothing was drawn).
    pub factor: f64,
}

/// Each row's score `sum over outputs of |grad · hess|` (`gpairs` is rows x `k`).
pub(crate) fn scores(gpairs: &[GradPair], k: usize) -> Vec<f64> {
    gpairs
        .par_chunks(k.max(1))
        .map(|row| row.iter().map(|p| (p.grad as f64 * p.hess as f64).abs()).sum())
        .collect()
}

/// Whether row `a` ranks before row `b`: the higher score, then the lower index. NaN scores rank
/// last (below every number).
fn ranks_before(scores: &[f64], a: u32, b: u32) -> std::cmp::Ordering {
    let key = |r: u32| {
        let s = scores[r as usize];
        if s.is_nan() {
            f64::NEG_INFINITY
        } else {
            s
        }
    };
    key(b).total_cmp(&key(a)).then(a.cmp(&b))
}

/// The `top_k` best-ranked rows (see [`ranks_before`]), ascending; a linear-time selection.
pub(crate) fn top_rows(scores: &[f64], top_k: usize) -> Vec<u32> {
    let mut rows: Vec<u32> = (0..scores.len() as u32).collect();
    let top_k = top_k.min(rows.len());
    if top_k > 0 && top_k < rows.len() {
        rows.select_nth_unstable_by(top_k - 1, |&a, &b| ranks_before(scores, a, b));
    }
    rows.truncate(top_k);
    rows.sort_unstable();
    rows
}

/// Reference for [`top_rows`]: sorts every row by rank and keeps the first `top_k`.
#[cfg(test)]
pub(crate) fn top_rows_naive(scores: &[f64], top_k: usize) -> Vec<u32> {
    let mut rows: Vec<u32> = (0..scores.len() as u32).collect();
    rows.sort_by(|&a, &b| ranks_before(scores, a, b));
    rows.truncate(top_k);
    rows.sort_unstable();
    rows
}

/// The GOSS sample of `round` from the pairs `gpairs` (rows x `k`): the top rows by [`scores`]
/// and `other_k` rows drawn uniformly without replacement from the rest with the round's stream
/// of `seed`. Does not scale anything (see [`scale`]).
pub(crate) fn sample(
    gpairs: &[GradPair],
    k: usize,
    top_rate: f64,
    other_rate: f64,
    seed: u64,
    round: usize,
) -> GossSample {
    let n = gpairs.len() / k.max(1);
    let (top_k, other_k) = counts(n, top_rate, other_rate);
    let s = scores(gpairs, k);
    let top = top_rows(&s, top_k);
    let mut is_top = vec![false; n];
    for &r in &top {
        is_top[r as usize] = true;
    }
    let rest: Vec<u32> = (0..n as u32).filter(|&r| !is_top[r as usize]).collect();
    let mut rng = stream(seed, &[STREAM_TAG, round as u64]);
    let mut drawn: Vec<u32> = if other_k >= rest.len() {
        rest.clone()
    } else {
        index::sample(&mut rng, rest.len(), other_k)
            .into_iter()
            .map(|i| rest[i])
            .collect()
    };
    drawn.sort_unstable();
    let factor = if drawn.is_empty() {
        1.0
    } else {
        rest.len() as f64 / drawn.len() as f64
    };
    let mut rows = top;
    rows.extend_from_slice(&drawn);
    rows.sort_unstable();
    GossSample { rows, drawn, factor }
}

/// Multiplies the gradient and the hessian of every output of each row in `rows` by `factor`
/// (computed in f64, rounded to f32). A factor of 1 changes nothing.
pub(crate) fn scale(gpairs: &mut [GradPair], k: usize, rows: &[u32], factor: f64) {
    if factor == 1.0 {
        return;
    }
    let k = k.max(1);
    for &r in rows {
        for p in &mut gpairs[r as usize * k..(r as usize + 1) * k] {
            p.grad = (p.grad as f64 * factor) as f32;
            p.hess = (p.hess as f64 * factor) as f32;
        }
    }
}

/// The rows of a GOSS round, ascending: every row during the warm-up rounds, else the sample
/// of [`sample`], with the drawn rows' pairs in `gpairs` (rows x `k`) scaled in place. Returns the
/// rows and, when some were scaled, the drawn rows with their factor (first-order boosting fits
/// to the sample weights instead of the hessians, and scales those the same way).
pub(crate) fn goss_rows(
    params: &Params,
    round: usize,
    k: usize,
    gpairs: &mut [GradPair],
) -> (Vec<u32>, Option<Scaled>) {
    let n = gpairs.len() / k.max(1);
    if round < warmup_rounds(params.eta) {
        return ((0..n as u32).collect(), None);
    }
    let s = sample(gpairs, k, params.top_rate, params.other_rate, params.seed, round);
    scale(gpairs, k, &s.drawn, s.factor);
    let scaled = (s.factor != 1.0).then_some(Scaled {
        rows: s.drawn,
        factor: s.factor,
    });
    (s.rows, scaled)
}

/// The rows of a GOSS round whose gradient pairs were scaled up, and the factor.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Scaled {
    /// The drawn rows, ascending.
    pub rows: Vec<u32>,
    /// What their pairs were multiplied by.
    pub factor: f64,
}

impl Scaled {
    /// Scales the hessians of the drawn rows in `pairs` (one pair per row) as [`scale`] scales
    /// the pairs: first-order boosting's pairs hold sample weights in place of hessians.
    pub(crate) fn scale_weights(&self, pairs: &mut [GradPair]) {
        for &r in &self.rows {
            let p = &mut pairs[r as usize];
            p.hess = (p.hess as f64 * self.factor) as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(values: &[(f32, f32)]) -> Vec<GradPair> {
        values.iter().map(|&(g, h)| GradPair::new(g, h)).collect()
    }

    #[test]
    fn warmup_follows_lightgbm() {
        assert_eq!(warmup_rounds(0.1), 10);
        assert_eq!(warmup_rounds(0.3), 3);
        assert_eq!(warmup_rounds(1.0), 1);
        assert_eq!(warmup_rounds(0.05), 20);
        assert_eq!(warmup_rounds(0.7), 1);
    }

    #[test]
    fn counts_round_and_fill_the_rest() {
        assert_eq!(counts(1000, 0.2, 0.1), (200, 100));
        assert_eq!(counts(10, 0.25, 0.75), (3, 7));
        assert_eq!(counts(10, 0.0, 0.5), (1, 5));
        assert_eq!(counts(3, 0.3, 0.7), (1, 2));
        assert_eq!(counts(0, 0.2, 0.1), (0, 0));
        for n in 1..200 {
            for t in [0.0, 0.1, 0.25, 0.3, 0.5, 0.7, 0.9] {
                let (top, other) = counts(n, t, 1.0 - t);
                assert_eq!(top + other, n, "n {n} top_rate {t}");
            }
        }
    }

    #[test]
    fn keeps_the_top_rows_and_scales_the_drawn_ones() {
        // 10 rows, one output: |g·h| = 9, 0, 1, 8, 2, 7, 3, 6, 4, 5.
        let g = pairs(&[
            (9.0, 1.0),
            (0.0, 1.0),
            (-1.0, 1.0),
            (4.0, 2.0),
            (2.0, 1.0),
            (-3.5, 2.0),
            (3.0, 1.0),
            (6.0, 1.0),
            (4.0, 1.0),
            (-5.0, 1.0),
        ]);
        let s = sample(&g, 1, 0.3, 0.2, 11, 4);
        // Top 3: rows 0 (9), 3 (8), 5 (7).
        let top = [0u32, 3, 5];
        assert_eq!(s.drawn.len(), 2);
        assert!(s.drawn.iter().all(|r| !top.contains(r)));
        assert_eq!(s.factor, 7.0 / 2.0);
        let mut expected: Vec<u32> = top.iter().chain(&s.drawn).copied().collect();
        expected.sort_unstable();
        assert_eq!(s.rows, expected);
        assert_eq!(s, sample(&g, 1, 0.3, 0.2, 11, 4), "reproducible");
        let mut scaled = g.clone();
        scale(&mut scaled, 1, &s.drawn, s.factor);
        for r in 0..10u32 {
            let f = if s.drawn.contains(&r) { 3.5 } else { 1.0 };
            assert_eq!(scaled[r as usize].grad, g[r as usize].grad * f);
            assert_eq!(scaled[r as usize].hess, g[r as usize].hess * f);
        }
    }

    #[test]
    fn scores_sum_over_outputs_and_ties_go_to_the_lower_row() {
        // Two outputs: row scores 2, 2, 3, 0.
        let g = pairs(&[
            (1.0, 1.0),
            (-1.0, 1.0),
            (2.0, 1.0),
            (0.0, 5.0),
            (3.0, 1.0),
            (0.0, 1.0),
            (0.0, 1.0),
            (0.0, 1.0),
        ]);
        assert_eq!(scores(&g, 2), vec![2.0, 2.0, 3.0, 0.0]);
        assert_eq!(top_rows(&scores(&g, 2), 2), vec![0, 2]);
        let s = sample(&g, 2, 0.5, 0.25, 1, 0);
        assert_eq!(s.drawn.len(), 1);
        assert!(s.drawn[0] == 1 || s.drawn[0] == 3);
        assert_eq!(s.factor, 2.0);
        let mut scaled = g.clone();
        scale(&mut scaled, 2, &s.drawn, s.factor);
        let d = s.drawn[0] as usize;
        assert_eq!(scaled[2 * d].grad, 2.0 * g[2 * d].grad);
        assert_eq!(scaled[2 * d + 1].hess, 2.0 * g[2 * d + 1].hess);
    }

    #[test]
    fn all_rows_kept_unscaled_when_the_rates_sum_to_one() {
        let g: Vec<GradPair> = (0..101).map(|i| GradPair::new((i as f32 * 0.37).sin(), 1.0)).collect();
        let s = sample(&g, 1, 0.3, 0.7, 5, 9);
        assert_eq!(s.rows, (0..101).collect::<Vec<u32>>());
        assert_eq!(s.factor, 1.0);
    }

    #[test]
    fn drawn_rows_are_uniform_over_the_rest() {
        // 20 rows with distinct scores; the top 4 are fixed, 4 of the other 16 are drawn: each
        // should be drawn in 1/4 of the rounds. 4000 rounds: 1000 expected per row, standard
        // deviation sqrt(4000 * 0.25 * 0.75) = 27.4; the bound 150 is 5.5 standard deviations.
        let g: Vec<GradPair> = (0..20).map(|i| GradPair::new(i as f32, 1.0)).collect();
        let mut hits = [0usize; 20];
        for round in 0..4000 {
            let s = sample(&g, 1, 0.2, 0.2, 3, round);
            assert_eq!(s.rows.len(), 8);
            for &r in &s.drawn {
                hits[r as usize] += 1;
            }
        }
        assert!(hits[16..].iter().all(|&h| h == 0), "the top rows are never drawn");
        for (r, &h) in hits[..16].iter().enumerate() {
            assert!((h as i64 - 1000).abs() < 150, "row {r} drawn {h} times");
        }
    }

    proptest! {
        #[test]
        fn top_rows_matches_the_naive_sort(
            raw in prop::collection::vec(0u8..12, 0..300),
            rate in 0.0f64..1.0,
        ) {
            // Few distinct scores, so ties are common.
            let s: Vec<f64> = raw.iter().map(|&v| v as f64 * 0.5).collect();
            let k = (rate * s.len() as f64).round() as usize;
            prop_assert_eq!(top_rows(&s, k), top_rows_naive(&s, k));
        }

        #[test]
        fn sample_is_the_top_plus_a_draw_from_the_rest(
            raw in prop::collection::vec((-4i8..5, 0u8..4), 1..200),
            top_rate in 0.0f64..0.6,
            other_rate in 0.01f64..0.4,
            seed in any::<u64>(),
        ) {
            let g: Vec<GradPair> = raw.iter().map(|&(a, b)| GradPair::new(a as f32, b as f32 * 0.5)).collect();
            let n = g.len();
            let s = sample(&g, 1, top_rate, other_rate, seed, 3);
            let (top_k, other_k) = counts(n, top_rate, other_rate);
            let top = top_rows_naive(&scores(&g, 1), top_k);
            prop_assert!(s.rows.windows(2).all(|w| w[0] < w[1]));
            prop_assert_eq!(s.rows.len(), top_k + other_k);
            prop_assert_eq!(s.drawn.len(), other_k);
            prop_assert!(top.iter().all(|r| s.rows.contains(r)));
            prop_assert!(s.drawn.iter().all(|r| !top.contains(r)));
            if other_k > 0 {
                prop_assert_eq!(s.factor, (n - top_k) as f64 / other_k as f64);
            }
        }
    }
}
