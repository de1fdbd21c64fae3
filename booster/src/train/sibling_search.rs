//! The sibling subtraction fused with the split search. The larger of two siblings takes its
//! parent's histogram and subtracts the smaller's; done as a pass of its own, then searched, each
//! histogram crosses the memory bus three times (subtract, search the smaller, search the larger),
//! and a wide data set's histograms (1,000 features x 256 bins x 8 bytes = 2 MB per node) are far
//! larger than a core's cache. Here the histogram is derived a block of features at a time, and each
//! feature is searched for both siblings as soon as it is derived, while its cells are in L1.
//!
//! The splits are the ones [`crate::train::split::best_split_constrained`] finds on the derived
//! histograms: the same per-feature search on the same cells, reduced in feature order.

use std::ops::Range;

use rayon::prelude::*;

use crate::bins::cuts::BinMapper;
use crate::train::histogram::{subtract_in_place, HistCell};
use crate::train::split::{best_of_features, CandidateScratch, NodeSearch, SplitInfo};

/// About how many bytes of histogram one task derives and searches: small enough for the tasks of
/// one pair to spread over the threads, large enough that a task's overhead does not count.
const BLOCK_BYTES: usize = 32 * 1024;

/// A node's split search: what it needs besides its histogram, and its features (ascending).
#[derive(Clone, Copy)]
pub(crate) struct Searched<'a> {
    /// The node's search.
    pub search: NodeSearch<'a>,
    /// The features the node may split on, ascending.
    pub features: &'a [usize],
}

/// Two siblings: the smaller's histogram is built, the larger's is to be derived from the parent's.
pub(crate) struct SiblingPair<'a, C> {
    /// The parent's histogram; it becomes the larger sibling's.
    pub parent: Vec<C>,
    /// The smaller sibling's histogram.
    pub small: &'a [C],
    /// The smaller sibling's search.
    pub small_search: Searched<'a>,
    /// The larger sibling's search.
    pub large_search: Searched<'a>,
}

/// What [`derive_and_search`] gives for one pair: the larger sibling's histogram and the best
/// split of the smaller and of the larger sibling (`gamma` applied).
pub(crate) struct PairOutcome<C> {
    /// The larger sibling's histogram.
    pub large_hist: Vec<C>,
    /// The smaller sibling's best split.
    pub small_split: Option<SplitInfo>,
    /// The larger sibling's best split.
    pub large_split: Option<SplitInfo>,
}

/// Derives each pair's larger histogram (parent minus smaller) and searches both siblings, block of
/// features by block, the blocks of every pair in parallel. `gamma` is the least gain a split must
/// have.
pub(crate) fn derive_and_search<C: HistCell>(
    pairs: Vec<SiblingPair<'_, C>>,
    mapper: &BinMapper,
    gamma: f64,
) -> Vec<PairOutcome<C>> {
    let cells_per_block = (BLOCK_BYTES / std::mem::size_of::<C>().max(1)).max(1);
    derive_and_search_in_blocks(pairs, mapper, gamma, cells_per_block)
}

/// [`derive_and_search`] with blocks of about `cells_per_block` cells (tests force small ones).
fn derive_and_search_in_blocks<C: HistCell>(
    pairs: Vec<SiblingPair<'_, C>>,
    mapper: &BinMapper,
    gamma: f64,
    cells_per_block: usize,
) -> Vec<PairOutcome<C>> {
    let offsets = mapper.offsets();
    let blocks = feature_blocks(offsets, cells_per_block);
    let mut parents = Vec::with_capacity(pairs.len());
    let mut rest = Vec::with_capacity(pairs.len());
    for pair in pairs {
        parents.push(pair.parent);
        rest.push((pair.small, pair.small_search, pair.large_search));
    }
    // One task per pair and block of features, each with its block of the parent's cells.
    let mut tasks: Vec<(usize, Range<usize>, &mut [C])> = Vec::with_capacity(parents.len() * blocks.len());
    for (p, parent) in parents.iter_mut().enumerate() {
        let mut tail: &mut [C] = &mut parent[..];
        for block in &blocks {
            let (cells, after) = std::mem::take(&mut tail).split_at_mut(offsets[block.end] - offsets[block.start]);
            tail = after;
            tasks.push((p, block.clone(), cells));
        }
    }
    // Per task, each sibling's best split within the block (the first of equal gains).
    let found: Vec<(usize, [Option<SplitInfo>; 2])> = tasks
        .into_par_iter()
        .map_init(CandidateScratch::default, |scratch, (p, block, cells)| {
            let (small, small_search, large_search) = rest[p];
            let base = offsets[block.start];
            let mut wanted = [small_search, large_search].map(|s| {
                let from = s.features.partition_point(|&f| f < block.start);
                let to = s.features.partition_point(|&f| f < block.end);
                s.features[from..to].iter().copied().peekable()
            });
            let mut best: [Option<SplitInfo>; 2] = [None, None];
            let mut keep = |side: usize, split: Option<SplitInfo>| {
                if let Some(s) = split {
                    if best[side].as_ref().is_none_or(|b| s.gain > b.gain) {
                        best[side] = Some(s);
                    }
                }
            };
            for f in block {
                let range = offsets[f]..offsets[f + 1];
                let derived = &mut cells[range.start - base..range.end - base];
                subtract_in_place(derived, &small[range.clone()]);
                if wanted[0].next_if_eq(&f).is_some() {
                    keep(0, small_search.search.feature(&small[range], f, scratch));
                }
                if wanted[1].next_if_eq(&f).is_some() {
                    keep(1, large_search.search.feature(derived, f, scratch));
                }
            }
            (p, best)
        })
        .collect();
    // The tasks come back in order (pair by pair, blocks ascending), so reducing the blocks' bests
    // in that order keeps the first of equal gains, as over the features one by one.
    let mut per_pair: Vec<[Vec<Option<SplitInfo>>; 2]> = (0..parents.len()).map(|_| [Vec::new(), Vec::new()]).collect();
    for (p, [small, large]) in found {
        per_pair[p][0].push(small);
        per_pair[p][1].push(large);
    }
    parents
        .into_iter()
        .zip(per_pair)
        .map(|(large_hist, [small, large])| PairOutcome {
            large_hist,
            small_split: best_of_features(small, gamma),
            large_split: best_of_features(large, gamma),
        })
        .collect()
}

/// The features cut into consecutive blocks of about `cells_per_block` histogram cells (at least one
/// feature each), covering every feature.
fn feature_blocks(offsets: &[usize], cells_per_block: usize) -> Vec<Range<usize>> {
    let features = offsets.len().saturating_sub(1);
    let mut blocks = Vec::new();
    let mut start = 0;
    for f in 0..features {
        if offsets[f + 1] - offsets[start] >= cells_per_block {
            blocks.push(start..f + 1);
            start = f + 1;
        }
    }
    if start < features {
        blocks.push(start..features);
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bins::cuts::FeatureCuts;
    use crate::gradients::{CellScale, GradStats};
    use crate::train::constraints::monotone::Monotone;
    use crate::train::histogram::{subtract, HistCell};
    use crate::train::root_histograms::tests::xorshift;
    use crate::train::split::{best_split_constrained, SplitParams};
    use proptest::prelude::*;

    #[test]
    fn blocks_cover_every_feature_once() {
        let offsets = [0, 3, 4, 10, 11, 12, 20];
        for size in 1..25 {
            let blocks = feature_blocks(&offsets, size);
            let flat: Vec<usize> = blocks.iter().flat_map(|b| b.clone()).collect();
            assert_eq!(flat, (0..6).collect::<Vec<_>>(), "{size}");
            assert!(blocks.iter().all(|b| !b.is_empty()));
        }
        assert!(feature_blocks(&[0], 4).is_empty());
    }

    fn params() -> SplitParams {
        SplitParams {
            lambda: 1.0,
            alpha: 0.0,
            min_child_weight: 1.0,
            max_delta_step: 0.0,
            gamma: 0.0,
            categorical: Default::default(),
        }
    }

    const SCALE: CellScale = CellScale {
        grad_unit: 0.25,
        hess_unit: 0.5,
    };

    /// A node's sums: those of its first feature's cells (every feature holds all its rows).
    fn node_sums(hist: &[i64], mapper: &BinMapper) -> GradStats {
        hist[mapper.offset(0)..mapper.offset(1)]
            .iter()
            .fold(GradStats::default(), |a, c| a + c.stats(&SCALE))
    }

    proptest! {
        /// The fused pass gives the larger sibling's histogram and both siblings' splits as the
        /// subtraction followed by the plain search do, with packed quantized cells, for any
        /// feature subsets and block sizes.
        #[test]
        fn fused_pass_is_subtraction_then_search(
            widths in proptest::collection::vec(1usize..12, 1..9),
            seed in any::<u64>(),
            keep_small in any::<u16>(),
            keep_large in any::<u16>(),
            cells_per_block in 1usize..40,
        ) {
            let mapper = BinMapper::from_cuts(
                widths
                    .iter()
                    .map(|&w| FeatureCuts { cuts: (1..=w).map(|c| c as f32).collect(), has_missing: true, categorical: false })
                    .collect(),
            );
            let cells = *mapper.offsets().last().unwrap();
            let mut next = xorshift(seed);
            // Small gradients, hessians 0..6, every fifth cell empty.
            let mut cell = || {
                let r = next();
                if r.is_multiple_of(5) { 0 } else { crate::gradients::pack((r % 41) as i32 - 20, ((r >> 8) % 7) as u32) }
            };
            let small: Vec<i64> = (0..cells).map(|_| cell()).collect();
            let large: Vec<i64> = (0..cells).map(|_| cell()).collect();
            let parent: Vec<i64> = small.iter().zip(&large).map(|(a, b)| a.wrapping_add(*b)).collect();
            let subset = |keep: u16| (0..widths.len()).filter(|f| (keep >> (f % 16)) & 1 == 1).collect::<Vec<_>>();
            let (small_features, large_features) = (subset(keep_small), subset(keep_large));
            let (small_total, large_total) = (node_sums(&small, &mapper), node_sums(&large, &mapper));
            let p = params();
            let search = |total| NodeSearch { scale: &SCALE, mapper: &mapper, total, node_rows: 100, p: &p, mono: Monotone::NONE };
            let pair = SiblingPair {
                parent: parent.clone(),
                small: &small,
                small_search: Searched { search: search(small_total), features: &small_features },
                large_search: Searched { search: search(large_total), features: &large_features },
            };
            let got = derive_and_search_in_blocks(vec![pair], &mapper, 0.0, cells_per_block).pop().unwrap();
            let derived = subtract(&parent, &small);
            prop_assert_eq!(&got.large_hist, &derived);
            let want_small = best_split_constrained(&small, &SCALE, &mapper, &small_features, small_total, 100, &p, Monotone::NONE);
            let want_large = best_split_constrained(&derived, &SCALE, &mapper, &large_features, large_total, 100, &p, Monotone::NONE);
            prop_assert_eq!(got.small_split, want_small);
            prop_assert_eq!(got.large_split, want_large);
        }
    }
}
