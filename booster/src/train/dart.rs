//! DART (`booster=dart`, "dropouts meet multiple additive regression trees"): which earlier trees a
//! round drops, how the round's new trees and the dropped ones are weighted afterwards, and the
//! margin bookkeeping that goes with it. The semantics follow XGBoost's:
//!
//! - each round, with probability `skip_drop` nothing is dropped; otherwise every earlier tree is
//!   dropped with probability `rate_drop` (`sample_type=uniform`) or `rate_drop * n * w_i / sum(w)`
//!   (`weighted`, `w_i` its weight), and with `one_drop` at least one (uniformly, or in proportion
//!   to the weights);
//! - the round's trees are fitted to the gradients at the margins without the dropped trees;
//! - then, with `k` trees dropped and `lr = eta`: `normalize_type=tree` gives each new tree the
//!   weight `1 / (k + lr)` and scales the dropped trees by `k / (k + lr)`; `forest` gives the new
//!   trees `1 / (1 + lr)` and scales the dropped ones by the same; with nothing dropped a new tree
//!   weighs 1.
//!
//! Weights are f32 and a tree adds `value * weight` (the f32 product) to a margin, as XGBoost's
//! predictor does. Trees are dropped one by one over all outputs and parallel trees (XGBoost's
//! order), and `lr` is the whole round's learning rate `eta` even with `num_parallel_tree > 1` or
//! several classes (XGBoost 3.4 on; 3.2 and 3.3 divided it by the number of trees of the round).
//!
//! Random draws come from [`stream`]`(seed, &[DART_TAG, round])`, so a run is deterministic and
//! independent of the thread count; the margin updates go through
//! [`crate::predict::batch::add_trees`], whose per-row sums are in tree order.

use rayon::prelude::*;

use crate::data::dataset::Dataset;
use crate::model::tree::Tree;
use crate::params::{BoosterKind, DartNormalizeType, DartSampleType, Params};
use crate::predict::batch::add_trees;
use crate::train::sampling::stream;
use rand::RngExt;

/// The tag of DART's random streams (the ASCII of "dart").
const DART_TAG: u64 = 0x6461_7274;

/// The DART settings of a run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct DartSettings {
    /// Probability of dropping each earlier tree (uniform sampling; the mean rate when weighted).
    pub rate_drop: f64,
    /// Probability of dropping nothing in a round.
    pub skip_drop: f64,
    /// Whether a round that is not skipped drops at least one tree.
    pub one_drop: bool,
    /// Uniform or weight-proportional choice of the dropped trees.
    pub sample_type: DartSampleType,
    /// How the new trees and the dropped ones are weighted.
    pub normalize_type: DartNormalizeType,
    /// The learning rate of a round (`eta`), as the f32 XGBoost keeps.
    pub lr: f32,
    /// The run's seed.
    pub seed: u64,
}

impl DartSettings {
    /// The settings of `params`.
    pub(crate) fn from_params(params: &Params) -> DartSettings {
        DartSettings {
            rate_drop: params.rate_drop,
            skip_drop: params.skip_drop,
            one_drop: params.one_drop,
            sample_type: params.sample_type,
            normalize_type: params.normalize_type,
            lr: params.eta as f32,
            seed: params.seed,
        }
    }
}

/// The trees round `round` drops, ascending, given the current weight of every earlier tree.
pub(crate) fn select_dropped(settings: &DartSettings, weights: &[f32], round: usize) -> Vec<usize> {
    let n = weights.len();
    if n == 0 {
        return Vec::new();
    }
    let mut rng = stream(settings.seed, &[DART_TAG, round as u64]);
    // The skip draw is always taken, so the later draws do not depend on skip_drop being 0.
    let skip = rng.random::<f64>() < settings.skip_drop;
    if skip {
        return Vec::new();
    }
    let mut dropped: Vec<usize> = match settings.sample_type {
        _ if settings.rate_drop <= 0.0 => Vec::new(),
        DartSampleType::Uniform => (0..n).filter(|_| rng.random::<f64>() < settings.rate_drop).collect(),
        DartSampleType::Weighted => {
            let sum: f64 = weights.iter().map(|w| *w as f64).sum();
            let scale = if sum > 0.0 {
                settings.rate_drop * n as f64 / sum
            } else {
                0.0
            };
            (0..n)
                .filter(|&i| rng.random::<f64>() < scale * weights[i] as f64)
                .collect()
        }
    };
    if settings.one_drop && dropped.is_empty() {
        let i = match settings.sample_type {
            DartSampleType::Uniform => rng.random_range(0..n),
            DartSampleType::Weighted => pick_by_weight(weights, rng.random::<f64>()),
        };
        dropped.push(i);
    }
    dropped
}

/// The index `i` whose share of the cumulative weights holds `u` (in [0, 1)): tree `i` is picked
/// with probability `w_i / sum(w)`. Uniform when every weight is 0.
fn pick_by_weight(weights: &[f32], u: f64) -> usize {
    let sum: f64 = weights.iter().map(|w| *w as f64).sum();
    if sum <= 0.0 {
        return ((u * weights.len() as f64) as usize).min(weights.len() - 1);
    }
    let target = u * sum;
    let mut acc = 0.0;
    for (i, w) in weights.iter().enumerate() {
        acc += *w as f64;
        if target < acc {
            return i;
        }
    }
    // Rounding can leave `target` at the very end: the last tree of positive weight.
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(weights.len() - 1)
}

/// The weights a round gives: every dropped tree's weight is multiplied by `dropped_factor`, every
/// new tree weighs `new_weight`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Normalization {
    /// Factor of the dropped trees' weights.
    pub dropped_factor: f32,
    /// Weight of each new tree.
    pub new_weight: f32,
}

/// The weights after a round that dropped `num_dropped` trees with learning rate `lr` (see the
/// module docs); computed in f64 and kept as f32, as XGBoost does.
pub(crate) fn normalization(normalize_type: DartNormalizeType, lr: f32, num_dropped: usize) -> Normalization {
    if num_dropped == 0 {
        return Normalization {
            dropped_factor: 1.0,
            new_weight: 1.0,
        };
    }
    let (k, lr) = (num_dropped as f64, lr as f64);
    match normalize_type {
        DartNormalizeType::Tree => Normalization {
            dropped_factor: (k / (k + lr)) as f32,
            new_weight: (1.0 / (k + lr)) as f32,
        },
        DartNormalizeType::Forest => {
            let f = (1.0 / (1.0 + lr)) as f32;
            Normalization {
                dropped_factor: f,
                new_weight: f,
            }
        }
    }
}

/// One contribution to margins: tree `index` (of the run's trees) counted `weight` times.
type Term = (usize, f32);

/// The DART state of a training run: the weight of every tree so far and this round's dropped
/// trees.
#[derive(Debug, Clone)]
pub(crate) struct Dart {
    settings: DartSettings,
    /// Outputs per round.
    k: usize,
    /// Trees per output per round.
    npt: usize,
    /// One weight per tree grown so far (the initial model's first).
    weights: Vec<f32>,
    /// The trees this round dropped, ascending.
    dropped: Vec<usize>,
}

impl Dart {
    /// The DART state of a run, if it needs one: with `booster=dart`, or when the initial model
    /// has tree weights (a gbtree run on top of a DART model keeps them, and its trees weigh 1).
    pub(crate) fn for_run(params: &Params, k: usize, init_weights: Option<&[f32]>, init_trees: usize) -> Option<Dart> {
        if params.booster == BoosterKind::Dart {
            Some(Dart::new(params, k, init_weights, init_trees))
        } else {
            init_weights.map(|w| {
                let mut d = Dart::new(params, k, Some(w), init_trees);
                d.settings.rate_drop = 0.0;
                d.settings.skip_drop = 0.0;
                d.settings.one_drop = false;
                d
            })
        }
    }

    /// The state at the start of a run: the initial model's weights (1 for each of its trees
    /// when it has none).
    pub(crate) fn new(params: &Params, k: usize, init_weights: Option<&[f32]>, init_trees: usize) -> Dart {
        Dart {
            settings: DartSettings::from_params(params),
            k,
            npt: params.num_parallel_tree.max(1),
            weights: init_weights.map_or_else(|| vec![1.0; init_trees], <[f32]>::to_vec),
            dropped: Vec::new(),
        }
    }

    /// The output tree `t` adds to.
    fn group(&self, t: usize) -> usize {
        (t / self.npt) % self.k
    }

    /// Adds `sum(weight * tree)` over `terms` to `margins` (rows x outputs of `data`), each row's
    /// sum in the order of `terms`.
    fn add_terms(&self, trees: &[Tree], terms: &[Term], data: &Dataset, margins: &mut [f64]) {
        if terms.is_empty() {
            return;
        }
        let scaled: Vec<Tree> = terms.iter().map(|&(t, w)| trees[t].scaled(w)).collect();
        add_trees(&scaled, |j| self.group(terms[j].0), data, self.k, margins);
    }

    /// The start of round `round`: picks the trees to drop and takes their weighted values out of
    /// the training margins, so that the round's gradients are taken without them.
    pub(crate) fn begin_round(&mut self, round: usize, trees: &[Tree], train: &Dataset, margins: &mut [f64]) {
        debug_assert_eq!(self.weights.len(), trees.len());
        self.dropped = select_dropped(&self.settings, &self.weights, round);
        let terms: Vec<Term> = self.dropped.iter().map(|&t| (t, -self.weights[t])).collect();
        self.add_terms(trees, &terms, train, margins);
    }

    /// The end of a round whose new trees are `trees[first_new..]` (already in every margin with
    /// weight 1): weighs them and rescales the dropped trees, then puts the dropped trees back into
    /// the training margins and brings every evaluation set's margins to the new weights.
    pub(crate) fn end_round(
        &mut self,
        trees: &[Tree],
        first_new: usize,
        train: &Dataset,
        margins: &mut [f64],
        evals: &mut [(&Dataset, &mut [f64])],
    ) {
        let norm = normalization(self.settings.normalize_type, self.settings.lr, self.dropped.len());
        let old: Vec<f32> = self.dropped.iter().map(|&t| self.weights[t]).collect();
        for &t in &self.dropped {
            self.weights[t] *= norm.dropped_factor;
        }
        self.weights.resize(trees.len(), norm.new_weight);
        if self.dropped.is_empty() {
            return;
        }
        // The new trees: out at weight 1, in at their weight.
        let new: Vec<Term> = (first_new..trees.len())
            .flat_map(|t| [(t, -1.0), (t, norm.new_weight)])
            .collect();
        let back: Vec<Term> = self.dropped.iter().map(|&t| (t, self.weights[t])).collect();
        let train_terms: Vec<Term> = back.iter().chain(&new).copied().collect();
        self.add_terms(trees, &train_terms, train, margins);
        // Evaluation sets still hold the dropped trees at their old weights.
        let eval_terms: Vec<Term> = self
            .dropped
            .iter()
            .zip(&old)
            .map(|(&t, w)| (t, -w))
            .chain(back.iter().copied())
            .chain(new.iter().copied())
            .collect();
        evals
            .par_iter_mut()
            .with_max_len(1)
            .for_each(|(data, m)| self.add_terms(trees, &eval_terms, data, m));
        self.dropped.clear();
    }

    /// The weight of every tree grown so far.
    pub(crate) fn weights(&self) -> &[f32] {
        &self.weights
    }

    /// Weighs the later rounds' trees for learning rate `lr` (a callback's schedule).
    pub(crate) fn set_learning_rate(&mut self, lr: f32) {
        self.settings.lr = lr;
    }

    /// The weight of every tree of the run.
    pub(crate) fn into_weights(self) -> Vec<f32> {
        self.weights
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(rate: f64, skip: f64, one: bool, sample: DartSampleType) -> DartSettings {
        DartSettings {
            rate_drop: rate,
            skip_drop: skip,
            one_drop: one,
            sample_type: sample,
            normalize_type: DartNormalizeType::Tree,
            lr: 0.3,
            seed: 7,
        }
    }

    #[test]
    fn uniform_drops_at_the_rate() {
        let w = vec![1.0f32; 1000];
        let s = settings(0.1, 0.0, false, DartSampleType::Uniform);
        let total: usize = (0..50).map(|r| select_dropped(&s, &w, r).len()).sum();
        let rate = total as f64 / 50_000.0;
        assert!((rate - 0.1).abs() < 0.01, "rate {rate}");
        // Ascending, distinct, in range.
        let d = select_dropped(&s, &w, 3);
        assert!(d.windows(2).all(|p| p[0] < p[1]) && d.iter().all(|&i| i < 1000));
        // Deterministic, and different from round to round.
        assert_eq!(d, select_dropped(&s, &w, 3));
        assert_ne!(d, select_dropped(&s, &w, 4));
        assert!(select_dropped(&settings(0.0, 0.0, false, DartSampleType::Uniform), &w, 0).is_empty());
        assert_eq!(
            select_dropped(&settings(1.0, 0.0, false, DartSampleType::Uniform), &w, 0).len(),
            1000
        );
        assert!(select_dropped(&s, &[], 0).is_empty());
    }

    #[test]
    fn skip_drop_skips_rounds() {
        let w = vec![1.0f32; 100];
        let all = settings(1.0, 1.0, true, DartSampleType::Uniform);
        assert!((0..20).all(|r| select_dropped(&all, &w, r).is_empty()));
        let half = settings(1.0, 0.5, false, DartSampleType::Uniform);
        let skipped = (0..1000).filter(|&r| select_dropped(&half, &w, r).is_empty()).count();
        assert!((400..600).contains(&skipped), "{skipped} of 1000 skipped");
        // A round that is not skipped drops everything at rate 1.
        assert!((0..1000).all(|r| {
            let d = select_dropped(&half, &w, r).len();
            d == 0 || d == 100
        }));
    }

    #[test]
    fn one_drop_drops_one_tree_when_the_draws_drop_none() {
        let w = vec![1.0f32; 10];
        let s = settings(0.0, 0.0, true, DartSampleType::Uniform);
        let mut seen = [0usize; 10];
        for r in 0..2000 {
            let d = select_dropped(&s, &w, r);
            assert_eq!(d.len(), 1);
            seen[d[0]] += 1;
        }
        assert!(seen.iter().all(|&c| (150..250).contains(&c)), "{seen:?}");
        // Weighted: in proportion to the weights; a tree of weight 0 never.
        let w = [0.0f32, 1.0, 3.0];
        let s = settings(0.0, 0.0, true, DartSampleType::Weighted);
        let mut seen = [0usize; 3];
        for r in 0..4000 {
            let d = select_dropped(&s, &w, r);
            assert_eq!(d.len(), 1);
            seen[d[0]] += 1;
        }
        assert_eq!(seen[0], 0);
        assert!(
            (900..1100).contains(&seen[1]) && (2900..3100).contains(&seen[2]),
            "{seen:?}"
        );
        // With one_drop off, nothing.
        assert!(select_dropped(&settings(0.0, 0.0, false, DartSampleType::Weighted), &w, 0).is_empty());
    }

    #[test]
    fn weighted_drops_in_proportion_to_the_weights() {
        // Half the trees weigh 3, half 1: the mean weight is 2, so at rate 0.1 the heavy trees are
        // dropped with probability 0.15 and the light ones with 0.05.
        let w: Vec<f32> = (0..1000).map(|i| if i % 2 == 0 { 3.0 } else { 1.0 }).collect();
        let s = settings(0.1, 0.0, false, DartSampleType::Weighted);
        let (mut heavy, mut light) = (0usize, 0usize);
        for r in 0..100 {
            for i in select_dropped(&s, &w, r) {
                if i % 2 == 0 {
                    heavy += 1
                } else {
                    light += 1
                }
            }
        }
        let (h, l) = (heavy as f64 / 50_000.0, light as f64 / 50_000.0);
        assert!((h - 0.15).abs() < 0.01 && (l - 0.05).abs() < 0.01, "{h} {l}");
        // Equal weights: the uniform rate.
        let total: usize = (0..50).map(|r| select_dropped(&s, &vec![0.5f32; 1000], r).len()).sum();
        assert!((total as f64 / 50_000.0 - 0.1).abs() < 0.01);
    }

    #[test]
    fn normalisation_by_hand() {
        let none = normalization(DartNormalizeType::Tree, 0.3, 0);
        assert_eq!((none.dropped_factor, none.new_weight), (1.0, 1.0));
        let tree = normalization(DartNormalizeType::Tree, 0.3, 2);
        assert_eq!(tree.dropped_factor, (2.0 / (2.0 + 0.3f32 as f64)) as f32);
        assert_eq!(tree.new_weight, (1.0 / (2.0 + 0.3f32 as f64)) as f32);
        assert!((tree.dropped_factor - 0.869_565_2).abs() < 1e-6);
        assert!((tree.new_weight - 0.434_782_6).abs() < 1e-6);
        let forest = normalization(DartNormalizeType::Forest, 0.3, 5);
        assert!((forest.dropped_factor - 0.769_230_8).abs() < 1e-6);
        assert_eq!(forest.dropped_factor, forest.new_weight);
        assert_eq!(normalization(DartNormalizeType::Forest, 0.3, 0).new_weight, 1.0);
    }

    fn stump(threshold: f32, left: f32, right: f32) -> Tree {
        Tree {
            left: vec![1, -1, -1],
            right: vec![2, -1, -1],
            feature: vec![0, 0, 0],
            threshold: vec![threshold, 0.0, 0.0],
            default_left: vec![false; 3],
            value: vec![0.0, left, right],
            gain: vec![1.0, 0.0, 0.0],
            cover: vec![1.0; 3],
            categories: Default::default(),
        }
    }

    /// base + sum of weight * value, in tree order: what prediction gives.
    fn predicted(trees: &[Tree], weights: &[f32], x: &[f32]) -> Vec<f64> {
        x.iter()
            .map(|v| {
                trees
                    .iter()
                    .zip(weights)
                    .fold(0.5f64, |m, (t, w)| m + (t.predict_row(&[*v]) * w) as f64)
            })
            .collect()
    }

    #[test]
    fn rounds_keep_margins_at_the_weighted_sum() {
        let x: Vec<f32> = (0..300).map(|i| i as f32 / 10.0).collect();
        let data = Dataset::from_columns(vec![x.clone()]).unwrap();
        let params = Params {
            rate_drop: 0.5,
            one_drop: true,
            ..Params::default()
        };
        let mut dart = Dart::new(&params, 1, None, 0);
        let mut trees: Vec<Tree> = Vec::new();
        let mut margins = vec![0.5f64; x.len()];
        let mut eval = vec![0.5f64; x.len()];
        for round in 0..12 {
            dart.begin_round(round, &trees, &data, &mut margins);
            let dropped = dart.dropped.clone();
            // Without the dropped trees.
            let mut w = dart.weights.clone();
            for &t in &dropped {
                w[t] = 0.0;
            }
            let want = predicted(&trees, &w, &x);
            assert!(margins.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-9));
            assert_eq!(dropped.is_empty(), round == 0);
            // A new tree, added at weight 1 as the trainer adds it.
            let t = stump(round as f32 * 2.0 + 1.0, -0.1 * round as f32, 0.2 + 0.01 * round as f32);
            for (i, v) in x.iter().enumerate() {
                margins[i] += t.predict_row(&[*v]) as f64;
                eval[i] += t.predict_row(&[*v]) as f64;
            }
            trees.push(t);
            let first = trees.len() - 1;
            dart.end_round(&trees, first, &data, &mut margins, &mut [(&data, &mut eval[..])]);
            let want = predicted(&trees, &dart.weights, &x);
            for m in [&margins, &eval] {
                assert!(m.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-9));
            }
            if !dropped.is_empty() {
                let n = normalization(DartNormalizeType::Tree, 0.3, dropped.len());
                assert_eq!(*dart.weights.last().unwrap(), n.new_weight);
            }
        }
        let w = dart.into_weights();
        assert_eq!(w.len(), 12);
        assert!(w[0] < 1.0);
    }
}
