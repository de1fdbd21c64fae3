//! Row subsampling and column sampling (by tree, by level, by node), seeded so that every draw
//! depends only on `seed` and its position (round, class, depth, node) — never on thread timing.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

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
    let mut rng = if parallel == 0 {
        stream(seed, &[1, round as u64])
    } else {
        stream(seed, &[5, round as u64, parallel as u64])
    };
    let mut rows: Vec<u32> = (0..num_rows as u32).filter(|_| rng.random::<f64>() < rate).collect();
    if rows.is_empty() && num_rows > 0 {
        rows.push(rng.random_range(0..num_rows as u32));
    }
    rows
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

/// Column sampling for one tree: the tree's features, a subset of those per depth level, and a
/// subset of the level's per node.
#[derive(Debug, Clone)]
pub struct ColumnSampler {
    by_level: Vec<Vec<usize>>,
    by_node_rate: f64,
    seed: u64,
    tree_key: Vec<u64>,
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
        )
    }

    /// [`ColumnSampler::new`] for parallel tree `parallel` of a round (see `num_parallel_tree`):
    /// `rates` are by tree, by level and by node. Tree 0 draws exactly what `new` draws; every other
    /// tree draws from its own streams.
    pub fn for_tree(
        num_features: usize,
        rates: [f64; 3],
        max_depth: usize,
        seed: u64,
        round: usize,
        group: usize,
        parallel: usize,
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
        let tree = pick(&all, by_tree, &mut rng);
        let levels = max_depth.clamp(1, 64) + 1;
        let by_level = (0..levels)
            .map(|d| {
                let mut rng = stream(seed, &key(3, Some(d as u64)));
                pick(&tree, by_level, &mut rng)
            })
            .collect();
        ColumnSampler {
            by_level,
            by_node_rate: by_node,
            seed,
            tree_key,
        }
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
        pick(level, self.by_node_rate, &mut rng)
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
}
