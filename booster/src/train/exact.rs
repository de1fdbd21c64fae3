//! The exact greedy method (XGBoost's `tree_method=exact`): a [`TreeBackend`] that enumerates every
//! distinct threshold of every feature by scanning the pre-sorted [`ColumnBlocks`]. Each scan of a
//! block serves all requested nodes at once, tracking each row's node; features are scanned in
//! parallel. Missing values are tried on both sides (sparsity-aware split finding).
//!
//! A categorical feature's block is summed per node and category (its codes are the sorted values)
//! and split by the same category-set search as the histogram methods
//! ([`crate::train::split::best_split_of_feature`]), so `exact` and `hist` choose category sets alike.

use rayon::prelude::*;

use crate::bins::blocks::{ColumnBlocks, FeatureBlock};
use crate::bins::cuts::{BinMapper, FeatureCuts};
use crate::data::dataset::Dataset;
use crate::error::Result;
use crate::gradients::CellScale;
use crate::gradients::GradPair;
use crate::gradients::GradStats;
use crate::train::constraints::monotone::{bounded_gain, split_score, Bounds, Monotone};
use crate::train::grow::{SplitRequest, SplitTask, TreeBackend};
use crate::train::partition::RowPartition;
use crate::train::split::{best_split_of_feature, node_gain, SplitInfo, SplitParams, MIN_GAIN};

/// Marks a row or node that takes no part in the current scan.
const NONE: u32 = u32::MAX;

/// Gap used for the "all present values on one side" thresholds (XGBoost's `kRtEps`).
const EDGE_GAP: f32 = 1e-6;

/// Exact split finding for one tree.
pub struct ExactBackend<'a> {
    data: &'a Dataset,
    blocks: &'a ColumnBlocks,
    gpairs: &'a [GradPair],
    params: SplitParams,
    partition: RowPartition,
    /// The node each row of this tree is in (`NONE` for rows outside the tree).
    position: Vec<u32>,
    root: GradStats,
}

impl<'a> ExactBackend<'a> {
    /// A backend over `rows` (the rows sampled for this tree) with their gradient pairs.
    pub fn new(
        data: &'a Dataset,
        blocks: &'a ColumnBlocks,
        gpairs: &'a [GradPair],
        rows: Vec<u32>,
        params: SplitParams,
    ) -> Self {
        let mut root = GradStats::default();
        let mut position = vec![NONE; data.num_rows()];
        for &r in &rows {
            root.add_pair(gpairs[r as usize]);
            position[r as usize] = 0;
        }
        ExactBackend {
            data,
            blocks,
            gpairs,
            params,
            partition: RowPartition::new(rows),
            position,
            root,
        }
    }
}

/// The running state of one node during a scan of one feature.
#[derive(Clone)]
struct ScanState {
    sum: GradStats,
    last: f32,
    seen: bool,
    best: Option<SplitInfo>,
}

impl ScanState {
    const EMPTY: ScanState = ScanState {
        sum: GradStats { grad: 0.0, hess: 0.0 },
        last: 0.0,
        seen: false,
        best: None,
    };
}

/// How a candidate's gain is computed: [`Plain`] (no monotone constraint; zero-sized, so the scan
/// compiles as it did before constraints existed) or [`Bounded`].
trait Scorer: Copy {
    /// The children's score minus `parent_gain`, or `None` when the split is refused.
    fn gain(self, left: GradStats, right: GradStats, parent_gain: f64, p: &SplitParams) -> Option<f64>;
}

/// XGBoost's regularised gain.
#[derive(Clone, Copy)]
struct Plain;

impl Scorer for Plain {
    #[inline(always)]
    fn gain(self, left: GradStats, right: GradStats, parent_gain: f64, p: &SplitParams) -> Option<f64> {
        Some(node_gain(left, p) + node_gain(right, p) - parent_gain)
    }
}

/// The gain under monotone constraints: weights clamped to the node's bounds, and a split that
/// breaks the feature's constraint refused.
#[derive(Clone, Copy)]
struct Bounded {
    bounds: Bounds,
    constraint: i8,
}

impl Scorer for Bounded {
    #[inline(always)]
    fn gain(self, left: GradStats, right: GradStats, parent_gain: f64, p: &SplitParams) -> Option<f64> {
        split_score(left, right, p, self.bounds, self.constraint).map(|score| score - parent_gain)
    }
}

/// Considers one candidate: `left` goes left of `threshold`, missing values go `default_left`;
/// `scorer` computes its gain.
#[allow(clippy::too_many_arguments)]
fn consider<S: Scorer>(
    best: &mut Option<SplitInfo>,
    feature: usize,
    threshold: f32,
    default_left: bool,
    left: GradStats,
    total: GradStats,
    parent_gain: f64,
    p: &SplitParams,
    scorer: S,
) {
    let right = total - left;
    let valid = |s: GradStats| s.hess >= p.min_child_weight && s.hess > 0.0;
    if !valid(left) || !valid(right) {
        return;
    }
    let Some(gain) = scorer.gain(left, right, parent_gain, p) else {
        return;
    };
    if gain > MIN_GAIN && best.as_ref().is_none_or(|b| gain > b.gain) {
        *best = Some(SplitInfo {
            feature,
            bin: 0,
            threshold,
            default_left,
            gain,
            left,
            right,
            categories: None,
        });
    }
}

/// Midpoint of two adjacent distinct values `lo < hi`, nudged so that `lo < t <= hi`.
fn midpoint(lo: f32, hi: f32) -> f32 {
    let t = (lo + hi) * 0.5;
    if t > lo {
        t
    } else {
        hi
    }
}

/// Scans one feature's block forward (missing values go right) and backward (missing go left) for
/// every requested node; returns each node's best split on this feature; `scorer(slot)` scores the
/// candidates of the node in `slot`.
#[allow(clippy::too_many_arguments)]
fn scan_feature<S: Scorer>(
    feature: usize,
    block: &FeatureBlock,
    dense: bool,
    position: &[u32],
    slot_of: &[u32],
    totals: &[GradStats],
    parent_gains: &[f64],
    gpairs: &[GradPair],
    p: &SplitParams,
    scorer: impl Fn(usize) -> S,
) -> Vec<Option<SplitInfo>> {
    let mut states = vec![ScanState::EMPTY; totals.len()];
    let slot = |r: u32| {
        let node = position[r as usize];
        if node == NONE {
            NONE
        } else {
            slot_of.get(node as usize).copied().unwrap_or(NONE)
        }
    };
    // As XGBoost does: a feature with no missing value anywhere is only scanned backward (its
    // default direction is then left); otherwise forward first, then backward, and a backward
    // candidate must be strictly better to win.
    if !dense {
        for (&r, &v) in block.rows.iter().zip(&block.values) {
            let s = slot(r);
            if s == NONE {
                continue;
            }
            let s = s as usize;
            let st = &mut states[s];
            if st.seen && v != st.last {
                consider(
                    &mut st.best,
                    feature,
                    midpoint(st.last, v),
                    false,
                    st.sum,
                    totals[s],
                    parent_gains[s],
                    p,
                    scorer(s),
                );
            }
            st.sum.add_pair(gpairs[r as usize]);
            st.last = v;
            st.seen = true;
        }
        for (s, st) in states.iter_mut().enumerate() {
            if st.seen {
                // All present values left, only the missing ones right.
                let t = st.last + (st.last.abs() + EDGE_GAP);
                let t = if t > st.last { t } else { st.last.next_up() };
                consider(
                    &mut st.best,
                    feature,
                    t,
                    false,
                    st.sum,
                    totals[s],
                    parent_gains[s],
                    p,
                    scorer(s),
                );
            }
            st.sum = GradStats::default();
            st.seen = false;
        }
    }
    for (&r, &v) in block.rows.iter().zip(&block.values).rev() {
        let s = slot(r);
        if s == NONE {
            continue;
        }
        let s = s as usize;
        let st = &mut states[s];
        if st.seen && v != st.last {
            let left = totals[s] - st.sum;
            consider(
                &mut st.best,
                feature,
                midpoint(v, st.last),
                true,
                left,
                totals[s],
                parent_gains[s],
                p,
                scorer(s),
            );
        }
        st.sum.add_pair(gpairs[r as usize]);
        st.last = v;
        st.seen = true;
    }
    for (s, st) in states.iter_mut().enumerate() {
        if st.seen {
            // All present values right, only the missing ones left.
            let t = st.last - (st.last.abs() + EDGE_GAP);
            let t = if t < st.last { t } else { st.last.next_down() };
            let left = totals[s] - st.sum;
            consider(
                &mut st.best,
                feature,
                t,
                true,
                left,
                totals[s],
                parent_gains[s],
                p,
                scorer(s),
            );
        }
    }
    states.into_iter().map(|s| s.best).collect()
}

/// The best category-set split of categorical `feature` for every requested node: the block's rows
/// summed per node and category code (the sorted block's last value is the largest code), the
/// missing values' sums the node's total minus them, then the histogram methods' search.
#[allow(clippy::too_many_arguments)]
fn scan_categorical_feature(
    feature: usize,
    block: &FeatureBlock,
    position: &[u32],
    slot_of: &[u32],
    totals: &[GradStats],
    node_rows: &[usize],
    gpairs: &[GradPair],
    p: &SplitParams,
    monotone: &[Monotone<'_>],
) -> Vec<Option<SplitInfo>> {
    let k = block.values.last().map_or(0, |x| *x as usize + 1);
    if k == 0 {
        return vec![None; totals.len()]; // every value missing: nothing to split
    }
    // Per node: k category cells, then the missing cell; and how many rows have a value.
    let mut hists = vec![GradStats::default(); totals.len() * (k + 1)];
    let mut present = vec![0usize; totals.len()];
    for (&r, &v) in block.rows.iter().zip(&block.values) {
        let node = position[r as usize];
        let s = match slot_of.get(node as usize) {
            Some(&s) if node != NONE && s != NONE => s as usize,
            _ => continue,
        };
        hists[s * (k + 1) + v as usize].add_pair(gpairs[r as usize]);
        present[s] += 1;
    }
    let mapper = BinMapper::from_cuts(vec![FeatureCuts::categorical(k, true)]);
    (0..totals.len())
        .map(|s| {
            let hist = &mut hists[s * (k + 1)..(s + 1) * (k + 1)];
            if present[s] < node_rows[s] {
                let sum = hist[..k].iter().fold(GradStats::default(), |a, c| a + *c);
                hist[k] = totals[s] - sum;
            }
            let mono = monotone[s];
            best_split_of_feature(hist, &CellScale::IDENTITY, &mapper, 0, totals[s], node_rows[s], p, mono).map(
                |mut split| {
                    split.feature = feature;
                    split
                },
            )
        })
        .collect()
}

impl TreeBackend for ExactBackend<'_> {
    fn root_stats(&self) -> GradStats {
        self.root
    }

    fn find_splits(&mut self, requests: &[SplitRequest]) -> Result<Vec<Option<SplitInfo>>> {
        let max_node = requests.iter().map(|r| r.node).max().unwrap_or(0);
        let mut slot_of = vec![NONE; max_node + 1];
        for (i, r) in requests.iter().enumerate() {
            slot_of[r.node] = i as u32;
        }
        let nf = self.blocks.num_features();
        let mut allowed = vec![false; requests.len() * nf];
        let mut union = vec![false; nf];
        for (i, r) in requests.iter().enumerate() {
            for &f in &r.features {
                allowed[i * nf + f] = true;
                union[f] = true;
            }
        }
        let features: Vec<usize> = (0..nf).filter(|&f| union[f]).collect();
        let totals: Vec<GradStats> = requests.iter().map(|r| r.stats).collect();
        // Monotone constraints are the same for every node of a tree; only the bounds differ.
        let monotone: Vec<Monotone> = requests.iter().map(|r| r.monotone).collect();
        let constraints = requests.first().map_or(&[][..], |r| r.monotone.constraints);
        let constrained = !constraints.is_empty();
        let bounds: Vec<Bounds> = monotone.iter().map(|m| m.bounds).collect();
        let parent_gains: Vec<f64> = if constrained {
            totals
                .iter()
                .zip(&bounds)
                .map(|(t, b)| bounded_gain(*t, &self.params, *b))
                .collect()
        } else {
            totals.iter().map(|t| node_gain(*t, &self.params)).collect()
        };
        let (blocks, position, gpairs, p) = (self.blocks, &self.position, self.gpairs, &self.params);
        let node_rows: Vec<usize> = requests.iter().map(|r| self.partition.len(r.node)).collect();
        let data = self.data;
        let per_feature: Vec<Vec<Option<SplitInfo>>> = features
            .par_iter()
            .map(|&f| {
                if data.feature_type(f).is_categorical() {
                    return scan_categorical_feature(
                        f,
                        blocks.feature(f),
                        position,
                        &slot_of,
                        &totals,
                        &node_rows,
                        gpairs,
                        p,
                        &monotone,
                    );
                }
                let (block, dense) = (blocks.feature(f), blocks.is_dense(f));
                if constrained {
                    let c = constraints.get(f).copied().unwrap_or(0);
                    let scorer = |s: usize| Bounded {
                        bounds: bounds[s],
                        constraint: c,
                    };
                    scan_feature(
                        f,
                        block,
                        dense,
                        position,
                        &slot_of,
                        &totals,
                        &parent_gains,
                        gpairs,
                        p,
                        scorer,
                    )
                } else {
                    let scorer = |_| Plain;
                    scan_feature(
                        f,
                        block,
                        dense,
                        position,
                        &slot_of,
                        &totals,
                        &parent_gains,
                        gpairs,
                        p,
                        scorer,
                    )
                }
            })
            .collect();
        Ok((0..requests.len())
            .map(|i| {
                let mut best: Option<SplitInfo> = None;
                for (fi, &f) in features.iter().enumerate() {
                    if !allowed[i * nf + f] {
                        continue;
                    }
                    if let Some(s) = &per_feature[fi][i] {
                        if best.as_ref().is_none_or(|b| s.gain > b.gain) {
                            best = Some(s.clone());
                        }
                    }
                }
                best.filter(|b| b.gain >= self.params.gamma)
            })
            .collect())
    }

    fn apply_splits(&mut self, tasks: &[SplitTask]) -> Result<()> {
        self.partition.apply(self.data, tasks);
        for t in tasks {
            for child in [t.left, t.right] {
                for &r in self.partition.node_rows(child) {
                    self.position[r as usize] = child as u32;
                }
            }
        }
        Ok(())
    }

    fn node_rows(&self, node: usize) -> Result<&[u32]> {
        Ok(self.partition.node_rows(node))
    }

    fn add_to_rows(&self, nodes: &[(usize, f64)], out: &mut [f64], stride: usize, offset: usize) -> Result<()> {
        self.partition.add_to_rows(nodes, out, stride, offset);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::sampling::ColumnSampler;
    use proptest::prelude::*;

    /// Brute force: every distinct midpoint threshold and both missing directions, rows summed
    /// directly; the best of `score(left, right, total)` over the candidates whose children meet
    /// `min_child_weight` (0 when none scores).
    fn brute_force_by(
        col: &[f32],
        gp: &[GradPair],
        p: &SplitParams,
        score: impl Fn(GradStats, GradStats, GradStats) -> Option<f64>,
    ) -> f64 {
        let total = gp.iter().fold(GradStats::default(), |mut a, g| {
            a.add_pair(*g);
            a
        });
        let mut vals: Vec<f32> = col.iter().copied().filter(|x| !x.is_nan()).collect();
        vals.sort_by(f32::total_cmp);
        vals.dedup();
        let mut thresholds: Vec<f32> = vals.windows(2).map(|w| midpoint(w[0], w[1])).collect();
        if let (Some(lo), Some(hi)) = (vals.first(), vals.last()) {
            thresholds.push(lo - (lo.abs() + EDGE_GAP));
            thresholds.push(hi + (hi.abs() + EDGE_GAP));
        }
        let mut best = 0.0f64;
        for t in thresholds {
            for dl in [false, true] {
                let mut left = GradStats::default();
                for (x, g) in col.iter().zip(gp) {
                    if crate::model::tree::Tree::goes_left(*x, t, dl) {
                        left.add_pair(*g);
                    }
                }
                let right = total - left;
                if left.hess < p.min_child_weight
                    || right.hess < p.min_child_weight
                    || left.hess <= 0.0
                    || right.hess <= 0.0
                {
                    continue;
                }
                if let Some(gain) = score(left, right, total) {
                    best = best.max(gain);
                }
            }
        }
        best
    }

    /// Brute force with the plain gain.
    fn brute_force(col: &[f32], gp: &[GradPair], p: &SplitParams) -> f64 {
        brute_force_by(col, gp, p, |l, r, t| {
            Some(node_gain(l, p) + node_gain(r, p) - node_gain(t, p))
        })
    }

    /// Brute force under monotone constraints: candidates scored with clamped weights and the
    /// order of the children's weights checked.
    fn brute_force_constrained(col: &[f32], gp: &[GradPair], p: &SplitParams, mono: Monotone<'_>) -> f64 {
        brute_force_by(col, gp, p, |l, r, t| {
            split_score(l, r, p, mono.bounds, mono.of(0)).map(|s| s - bounded_gain(t, p, mono.bounds))
        })
    }

    proptest! {
        #[test]
        fn exact_split_has_the_brute_force_maximum_gain(
            rows in proptest::collection::vec((prop_oneof![4 => (-20i32..20).prop_map(|v| v as f32 / 4.0), 1 => Just(f32::NAN)], -1f32..1f32, 0.1f32..1f32), 2..200),
            mcw in prop_oneof![Just(0.0f64), Just(1.0)],
        ) {
            let col: Vec<f32> = rows.iter().map(|r| r.0).collect();
            let gp: Vec<GradPair> = rows.iter().map(|r| GradPair::new(r.1, r.2)).collect();
            let data = Dataset::from_columns(vec![col.clone()]).unwrap();
            let blocks = ColumnBlocks::build(&data);
            let p = SplitParams { lambda: 1.0, alpha: 0.0, min_child_weight: mcw, max_delta_step: 0.0, gamma: 0.0, categorical: Default::default() };
            let mut b = ExactBackend::new(&data, &blocks, &gp, (0..col.len() as u32).collect(), p);
            let cols = ColumnSampler::new(1, 1.0, 1.0, 1.0, 6, 0, 0, 0);
            let req = SplitRequest { node: 0, stats: b.root_stats(), features: cols.features(0, 0), monotone: Monotone::NONE };
            let found = b.find_splits(&[req]).unwrap()[0].as_ref().map_or(0.0, |s| s.gain);
            let want = brute_force(&col, &gp, &p);
            prop_assert!((found - want).abs() < 1e-9 || (want <= MIN_GAIN && found == 0.0), "found {found}, brute force {want}");
        }

        #[test]
        fn constrained_exact_split_has_the_brute_force_maximum_gain(
            rows in proptest::collection::vec((prop_oneof![4 => (-20i32..20).prop_map(|v| v as f32 / 4.0), 1 => Just(f32::NAN)], -1f32..1f32, 0.1f32..1f32), 2..200),
            c in -1i8..=1,
            bounds in prop_oneof![Just((f64::NEG_INFINITY, f64::INFINITY)), (-1.0f64..0.5, 0.0f64..1.0).prop_map(|(lo, w)| (lo, lo + w))],
        ) {
            let col: Vec<f32> = rows.iter().map(|r| r.0).collect();
            let gp: Vec<GradPair> = rows.iter().map(|r| GradPair::new(r.1, r.2)).collect();
            let data = Dataset::from_columns(vec![col.clone()]).unwrap();
            let blocks = ColumnBlocks::build(&data);
            let p = SplitParams { lambda: 1.0, alpha: 0.0, min_child_weight: 0.0, max_delta_step: 0.0, gamma: 0.0, categorical: Default::default() };
            let mut b = ExactBackend::new(&data, &blocks, &gp, (0..col.len() as u32).collect(), p);
            let constraints = [c];
            let mono = Monotone { constraints: &constraints, bounds: Bounds { lower: bounds.0, upper: bounds.1 } };
            let req = SplitRequest { node: 0, stats: b.root_stats(), features: vec![0], monotone: mono };
            let found = b.find_splits(&[req]).unwrap()[0].as_ref().map_or(0.0, |s| s.gain);
            let want = brute_force_constrained(&col, &gp, &p, mono);
            prop_assert!((found - want).abs() < 1e-9 || (want <= MIN_GAIN && found == 0.0), "found {found}, brute force {want}");
        }
    }
}
