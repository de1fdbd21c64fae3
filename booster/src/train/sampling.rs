//! Row subsampling and column sampling (by tree, by level, by node), seeded so that every draw
//! depends only on `seed` and its position (round, class, depth, node) — never on thread timing.
//!
//! A round's rows come from [`round_rows`]: uniform bagging with `subsample`, or GOSS
//! ([`crate::train::goss`]). Columns come from [`ColumnSampler`]; with `feature_weights` its draws
//! are weighted (Efraimidis–Spirakis keys, see [`pick_weighted`]) and a feature of weight 0 is
//! never drawn.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::gradients::GradPair;
use crate::params::{Params, SampleStrategy};
use crate::train::goss;

/// A random stream for one position in training.
pub fn stream(seed: u64, parts: &[u64]) -> StdRng {
    StdRng::seed_from_u64(position_seed(seed, parts))
}

/// The 64-bit seed of one position in training (round, class, tree, ...): the seed of [`stream`].
pub fn position_seed(seed: u64, parts: &[u64]) -> u64 {
    let mut h = seed ^ 0x5179_6c76_616e_0001;
    for &p in parts {
        h = mix(h ^ mix(p.wrapping_add(0x9e37_79b9_7f4a_7c15)));
    }
    h
}

/// SplitMix64's finaliser.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The rows of each of a round's `num_parallel` trees, ascending: uniform bagging with `subsample`
/// ([`sample_rows_for_tree`]) or, with `data_sample_strategy=goss`, GOSS ([`goss::goss_rows`]),
/// which scales the sampled rows' pairs in `gpairs` (rows x `num_outputs`) in place and returns
/// them with their factor too.
pub(crate) fn round_rows(
    params: &Params,
    round: usize,
    num_parallel: usize,
    num_outputs: usize,
    gpairs: &mut [GradPair],
    shard: Option<Shard>,
) -> (Vec<Vec<u32>>, Option<goss::Scaled>) {
    let num_rows = gpairs.len() / num_outputs.max(1);
    match params.data_sample_strategy {
        SampleStrategy::Bagging => (
            (0..num_parallel)
                .map(|p| match shard {
                    Some(s) => sample_shard_rows(s, num_rows, params.subsample, params.seed, round, p),
                    None => sample_rows_for_tree(num_rows, params.subsample, params.seed, round, p),
                })
                .collect(),
            None,
        ),
        SampleStrategy::Goss => {
            let (rows, scaled) = goss::goss_rows(params, round, num_outputs, gpairs);
            (vec![rows; num_parallel.max(1)], scaled)
        }
    }
}

/// Where a rank's rows sit among the rows of all ranks (distributed training).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shard {
    /// Global id of the rank's first row.
    pub row_offset: usize,
    /// Rows over all ranks.
    pub total_rows: usize,
}

/// The rows used for one round: each row is kept with probability `rate` (all rows when 1).
pub fn sample_rows(num_rows: usize, rate: f64, seed: u64, round: usize) -> Vec<u32> {
    sample_rows_for_tree(num_rows, rate, seed, round, 0)
}

/// The rows used for parallel tree `parallel` of a round (see `num_parallel_tree`); tree 0 draws
/// exactly the rows of [`sample_rows`], every other tree draws from its own stream.
pub fn sample_rows_for_tree(num_rows: usize, rate: f64, seed: u64, round: usize, parallel: usize) -> Vec<u32> {
    if rate >= 1.0 {
        return (0..num_rows as u32).collect();
    }
    let mut rows = Vec::with_capacity((num_rows as f64 * rate) as usize + 16);
    for_each_drawn(num_rows, rate, seed, round, parallel, |r| rows.push(r));
    rows
}

/// [`sample_rows_for_tree`] of one rank's `num_rows` rows: the one-process draw over all ranks'
/// rows, restricted to this rank's and numbered from its first row.
fn sample_shard_rows(shard: Shard, num_rows: usize, rate: f64, seed: u64, round: usize, parallel: usize) -> Vec<u32> {
    if rate >= 1.0 {
        return (0..num_rows as u32).collect();
    }
    let mut rows = Vec::with_capacity((num_rows as f64 * rate) as usize + 16);
    let range = shard.row_offset..shard.row_offset + num_rows;
    for_each_drawn(shard.total_rows, rate, seed, round, parallel, |r| {
        if range.contains(&(r as usize)) {
            rows.push((r as usize - shard.row_offset) as u32);
        }
    });
    rows
}

/// Calls `keep` on the rows of `0..num_rows` drawn with probability `rate` (ascending), or on one
/// row drawn uniformly when none was.
fn for_each_drawn(num_rows: usize, rate: f64, seed: u64, round: usize, parallel: usize, mut keep: impl FnMut(u32)) {
    let mut rng = if parallel == 0 {
        stream(seed, &[1, round as u64])
    } else {
        stream(seed, &[5, round as u64, parallel as u64])
    };
    let mut any = false;
    for r in 0..num_rows as u32 {
        if rng.random::<f64>() < rate {
            keep(r);
            any = true;
        }
    }
    if !any && num_rows > 0 {
        keep(rng.random_range(0..num_rows as u32));
    }
}

/// Picks `max(1, round(rate * from.len()))` of `from`, in ascending order.
fn pick(from: &[usize], rate: f64, rng: &mut StdRng) -> Vec<usize> {
    if rate >= 1.0 || from.len() <= 1 {
        return from.to_vec();
    }
    let k = ((rate * from.len() as f64).round() as usize).clamp(1, from.len());
    let mut idx: Vec<usize> = rand::seq::index::sample(rng, from.len(), k)
        .into_iter()
        .map(|i| from[i])
        .collect();
    idx.sort_unstable();
    idx
}

/// Whether feature `f` may be drawn under `weights` (a positive weight).
fn positive(weights: &[f64], f: usize) -> bool {
    weights.get(f).is_some_and(|&w| w > 0.0)
}

/// A uniform draw from (0, 1] (53 random bits), so that its logarithm is finite.
fn open_unit(rng: &mut StdRng) -> f64 {
    ((rng.random::<u64>() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Weighted [`pick`]: draws `max(1, round(rate * from.len()))` of `from`'s features of positive
/// weight (all of them when fewer, or when `rate` is 1) without replacement, each draw with
/// probability in proportion to the weights of the features not drawn yet; ascending. Features of
/// weight 0 are never drawn.
///
/// Efraimidis–Spirakis: every feature gets the key `u^(1/w)` (here `ln(u) / w`) for a uniform `u`,
/// and the `k` largest keys win (ties by the lower index). Draws come from `rng` alone, one per
/// positive-weight feature in ascending order, so they are reproducible.
pub(crate) fn pick_weighted(from: &[usize], rate: f64, weights: &[f64], rng: &mut StdRng) -> Vec<usize> {
    let eligible: Vec<usize> = from.iter().copied().filter(|&f| positive(weights, f)).collect();
    if rate >= 1.0 {
        return eligible;
    }
    let k = ((rate * from.len() as f64).round() as usize).clamp(1, from.len().max(1));
    if k >= eligible.len() {
        return eligible;
    }
    let mut keyed: Vec<(f64, usize)> = eligible
        .iter()
        .map(|&f| (open_unit(rng).ln() / weights[f], f))
        .collect();
    keyed.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut picked: Vec<usize> = keyed[..k].iter().map(|&(_, f)| f).collect();
    picked.sort_unstable();
    picked
}

/// One draw of `rate` of `from`: uniform ([`pick`]) without weights, else [`pick_weighted`].
fn draw(from: &[usize], rate: f64, weights: Option<&[f64]>, rng: &mut StdRng) -> Vec<usize> {
    match weights {
        None => pick(from, rate, rng),
        Some(w) => pick_weighted(from, rate, w, rng),
    }
}

/// Column sampling for one tree: the tree's features, a subset of those per depth level, and a
/// subset of the level's per node. With feature weights every draw is weighted and features of
/// weight 0 are left out of the tree (also when every rate is 1).
#[derive(Debug, Clone)]
pub struct ColumnSampler {
    by_level: Vec<Vec<usize>>,
    by_node_rate: f64,
    seed: u64,
    tree_key: Vec<u64>,
    /// Column-sampling weight per feature (`feature_weights`); `None` for uniform draws.
    weights: Option<Vec<f64>>,
}

impl ColumnSampler {
    /// Samples the tree's features (`colsample_bytree`) and prepares the per-level and per-node draws.
    #[allow(clippy::too_many_arguments)]
    #[cfg(test)]
    pub fn new(
        num_features: usize,
        by_tree: f64,
        by_level: f64,
        by_node: f64,
        max_depth: usize,
        seed: u64,
        round: usize,
        group: usize,
    ) -> ColumnSampler {
        ColumnSampler::for_tree(
            num_features,
            [by_tree, by_level, by_node],
            max_depth,
            seed,
            round,
            group,
            0,
            None,
        )
    }

    /// The sampler of parallel tree `parallel` of a round (see `num_parallel_tree`): `rates` are
    /// by tree, by level and by node; `weights` (one per feature, from `feature_weights`) make
    /// every draw weighted. Tree 0 draws what the tests' `new` draws; every other tree draws from
    /// its own streams. Without weights the draws are the uniform ones.
    #[allow(clippy::too_many_arguments)]
    pub fn for_tree(
        num_features: usize,
        rates: [f64; 3],
        max_depth: usize,
        seed: u64,
        round: usize,
        group: usize,
        parallel: usize,
        weights: Option<&[f64]>,
    ) -> ColumnSampler {
        let [by_tree, by_level, by_node] = rates;
        let all: Vec<usize> = (0..num_features).collect();
        let mut tree_key = vec![round as u64, group as u64];
        if parallel > 0 {
            tree_key.push(0x7061_7261_0000_0000 | parallel as u64);
        }
        let key = |tag: u64, extra: Option<u64>| {
            let mut parts = vec![tag];
            parts.extend_from_slice(&tree_key);
            parts.extend(extra);
            parts
        };
        let mut rng = stream(seed, &key(2, None));
        let tree = draw(&all, by_tree, weights, &mut rng);
        let levels = max_depth.clamp(1, 64) + 1;
        let by_level = (0..levels)
            .map(|d| {
                let mut rng = stream(seed, &key(3, Some(d as u64)));
                draw(&tree, by_level, weights, &mut rng)
            })
            .collect();
        ColumnSampler {
            by_level,
            by_node_rate: by_node,
            seed,
            tree_key,
            weights: weights.map(<[f64]>::to_vec),
        }
    }

    /// Whether nodes draw their own features (`colsample_bynode` below 1), seeded by their id.
    pub fn draws_by_node(&self) -> bool {
        self.by_node_rate < 1.0
    }

    /// The features a node at `depth` with id `node` may split on.
    pub fn features(&self, depth: usize, node: usize) -> Vec<usize> {
        let level = &self.by_level[depth.min(self.by_level.len() - 1)];
        if self.by_node_rate >= 1.0 {
            return level.clone();
        }
        let mut parts = vec![4];
        parts.extend_from_slice(&self.tree_key);
        parts.push(node as u64);
        let mut rng = stream(self.seed, &parts);
        draw(level, self.by_node_rate, self.weights.as_deref(), &mut rng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_reproducible_and_sized() {
        let a = sample_rows(10_000, 0.5, 7, 3);
        assert_eq!(a, sample_rows(10_000, 0.5, 7, 3));
        assert!((4_500..5_500).contains(&a.len()));
        assert_ne!(a, sample_rows(10_000, 0.5, 7, 4));
        let s = ColumnSampler::new(10, 0.5, 0.5, 1.0, 6, 1, 0, 0);
        let l0 = s.features(0, 0);
        assert!(!l0.is_empty() && l0.len() <= 3);
        assert!(l0.windows(2).all(|w| w[0] < w[1]));
        let full = ColumnSampler::new(4, 1.0, 1.0, 1.0, 6, 1, 0, 0);
        assert_eq!(full.features(3, 9), vec![0, 1, 2, 3]);
    }

    /// The features of levels 0, 1 and 2 (node ids 1, 3, 5) of one tree.
    fn three_levels(s: &ColumnSampler) -> Vec<Vec<usize>> {
        (0..3).map(|d| s.features(d, d * 2 + 1)).collect()
    }

    #[test]
    fn unweighted_draws_are_pinned() {
        // Recorded from the sampler before feature weights existed: without weights the draws
        // (and so every model) must stay exactly these.
        /// Round, group, parallel tree, and the features of levels 0-2.
        type Tree3 = (usize, usize, usize, [[usize; 3]; 3]);
        let cases: [(u64, usize, [f64; 3], [Tree3; 3]); 2] = [
            (
                42,
                7,
                [0.8, 0.6, 0.7],
                [
                    (0, 0, 0, [[0, 1, 6], [0, 4, 5], [0, 3, 5]]),
                    (3, 1, 0, [[1, 3, 6], [0, 4, 6], [0, 4, 6]]),
                    (2, 0, 2, [[0, 5, 6], [2, 3, 6], [2, 4, 5]]),
                ],
            ),
            (
                7,
                20,
                [0.3, 1.0, 0.5],
                [
                    (0, 0, 0, [[3, 16, 17], [4, 16, 19], [16, 17, 19]]),
                    (3, 1, 0, [[7, 11, 15], [3, 6, 15], [3, 11, 16]]),
                    (2, 0, 2, [[12, 16, 18], [6, 12, 14], [6, 12, 16]]),
                ],
            ),
        ];
        for (seed, nf, rates, trees) in cases {
            for (round, group, parallel, expected) in trees {
                let s = ColumnSampler::for_tree(nf, rates, 4, seed, round, group, parallel, None);
                let expected: Vec<Vec<usize>> = expected.iter().map(|l| l.to_vec()).collect();
                assert_eq!(
                    three_levels(&s),
                    expected,
                    "seed {seed} round {round} group {group} parallel {parallel}"
                );
            }
        }
        let pinned: [(usize, usize, usize, [[usize; 2]; 3]); 3] = [
            (0, 0, 0, [[0, 8], [6, 7], [6, 8]]),
            (3, 1, 0, [[8, 9], [0, 7], [5, 8]]),
            (2, 0, 2, [[2, 4], [2, 4], [4, 6]]),
        ];
        for (round, group, parallel, expected) in pinned {
            let s = ColumnSampler::for_tree(10, [0.5; 3], 4, 1, round, group, parallel, None);
            let expected: Vec<Vec<usize>> = expected.iter().map(|l| l.to_vec()).collect();
            assert_eq!(three_levels(&s), expected);
        }
    }

    #[test]
    fn zero_weight_features_are_never_drawn() {
        let weights = [0.0, 1.0, 0.0, 5.0, 0.5, 0.0, 2.0, 1.0];
        let positive: Vec<usize> = vec![1, 3, 4, 6, 7];
        for rates in [
            [1.0, 1.0, 1.0],
            [0.5, 1.0, 1.0],
            [1.0, 0.5, 1.0],
            [1.0, 1.0, 0.5],
            [0.9, 0.9, 0.9],
            [0.1, 0.1, 0.1],
        ] {
            for seed in 0..200 {
                let s = ColumnSampler::for_tree(8, rates, 3, seed, seed as usize % 5, 0, 0, Some(&weights));
                for depth in 0..4 {
                    for node in 0..8 {
                        let f = s.features(depth, node);
                        assert!(!f.is_empty(), "rates {rates:?} seed {seed}");
                        assert!(
                            f.iter().all(|j| weights[*j] > 0.0),
                            "rates {rates:?} seed {seed}: {f:?}"
                        );
                        assert!(f.windows(2).all(|w| w[0] < w[1]));
                        if rates == [1.0, 1.0, 1.0] {
                            assert_eq!(f, positive, "every rate 1: all features of positive weight");
                        }
                    }
                }
            }
        }
        // The draw size is capped by the positive-weight features: 0.9 of 8 would be 7.
        let s = ColumnSampler::for_tree(8, [0.9, 1.0, 1.0], 3, 1, 0, 0, 0, Some(&weights));
        assert_eq!(s.features(0, 0), positive);
        // Uniform sampling without weights may draw any feature.
        let s = ColumnSampler::for_tree(8, [1.0, 1.0, 1.0], 3, 1, 0, 0, 0, Some(&[1.0; 8]));
        assert_eq!(s.features(2, 3), (0..8).collect::<Vec<_>>());
    }

    /// Which draw of a sampler a frequency test counts.
    #[derive(Clone, Copy, Debug)]
    enum Draw {
        Tree,
        Depth,
        Node,
    }

    /// The features drawn at `level` by the sampler of `seed` over `weights` with draw rate `rate`.
    fn drawn_at(level: Draw, weights: &[f64], rate: f64, seed: u64) -> Vec<usize> {
        let n = weights.len();
        let rates = match level {
            Draw::Tree => [rate, 1.0, 1.0],
            Draw::Depth => [1.0, rate, 1.0],
            Draw::Node => [1.0, 1.0, rate],
        };
        ColumnSampler::for_tree(n, rates, 3, seed, 2, 0, 0, Some(weights)).features(1, 4)
    }

    /// The exact probability that feature `i` is among `k` (1 or 2) successive weighted draws
    /// without replacement from the positive weights `w`.
    fn inclusion(w: &[f64], i: usize, k: usize) -> f64 {
        let total: f64 = w.iter().sum();
        let first = w[i] / total;
        match k {
            1 => first,
            2 => {
                first
                    + (0..w.len())
                        .filter(|&j| j != i)
                        .map(|j| w[j] / total * w[i] / (total - w[j]))
                        .sum::<f64>()
            }
            _ => unreachable!("k is 1 or 2 here"),
        }
    }

    #[test]
    fn draw_frequencies_follow_the_weights() {
        // Weights 1, 2, 3, 0, 4 (feature 3 has weight 0). Over N = 20,000 seeds per case:
        // - one feature drawn (rate 0.2 of 5): the counts of features 0, 1, 2, 4 are multinomial
        //   with p = w / 10; Pearson's chi-square (3 degrees of freedom) must stay below 30
        //   (p-value about 1e-6 under the null, so a false failure is all but impossible while
        //   a wrong distribution, e.g. uniform, scores in the thousands);
        // - two features drawn (rate 0.4 of 5): each feature's inclusion count against the exact
        //   successive-sampling probability, |z| < 5 with z = (count - Np) / sqrt(Np(1 - p)).
        let weights = [1.0, 2.0, 3.0, 0.0, 4.0];
        let positive = [0usize, 1, 2, 4];
        let pw: Vec<f64> = positive.iter().map(|&j| weights[j]).collect();
        const N: usize = 20_000;
        for level in [Draw::Tree, Draw::Depth, Draw::Node] {
            let mut single = [0usize; 5];
            let mut pairs = [0usize; 5];
            for seed in 0..N as u64 {
                let one = drawn_at(level, &weights, 0.2, seed);
                assert_eq!(one.len(), 1);
                single[one[0]] += 1;
                let two = drawn_at(level, &weights, 0.4, seed);
                assert_eq!(two.len(), 2);
                for j in two {
                    pairs[j] += 1;
                }
            }
            assert_eq!(single[3] + pairs[3], 0, "{level:?}: weight 0 drawn");
            let chi2: f64 = positive
                .iter()
                .enumerate()
                .map(|(i, &j)| {
                    let e = N as f64 * inclusion(&pw, i, 1);
                    (single[j] as f64 - e).powi(2) / e
                })
                .sum();
            println!("{level:?}: one draw, counts {single:?}, chi-square {chi2:.2}; two draws, counts {pairs:?}");
            assert!(chi2 < 30.0, "{level:?}: chi-square {chi2:.2}, counts {single:?}");
            for (i, &j) in positive.iter().enumerate() {
                let p = inclusion(&pw, i, 2);
                let e = N as f64 * p;
                let z = (pairs[j] as f64 - e) / (e * (1.0 - p)).sqrt();
                assert!(
                    z.abs() < 5.0,
                    "{level:?}: feature {j} in {} draws of 2, expected {e:.0} (z {z:.2})",
                    pairs[j]
                );
            }
        }
    }

    #[test]
    fn weighted_draws_are_reproducible() {
        let w = [0.5, 1.0, 0.0, 2.0, 1.0, 3.0];
        let a = ColumnSampler::for_tree(6, [0.7, 0.8, 0.6], 4, 9, 3, 1, 0, Some(&w));
        let b = ColumnSampler::for_tree(6, [0.7, 0.8, 0.6], 4, 9, 3, 1, 0, Some(&w));
        assert_eq!(three_levels(&a), three_levels(&b));
    }
}
