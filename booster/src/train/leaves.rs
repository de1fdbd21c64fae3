//! Leaf values: once a tree is grown, every node gets its value — the regularised Newton step of its
//! gradient sums (recomputed from the exact pairs when the tree was grown from quantized ones), a
//! line search for objectives that refresh leaves, or one Newton step with the true hessians for
//! first-order boosting — clamped to the node's monotone-constraint bounds, times the learning rate;
//! and every node its cover.

use rayon::prelude::*;

use crate::collective::ops::Cluster;
use crate::data::dataset::Dataset;
use crate::error::Result;
use crate::gradients::{GradPair, GradStats};
use crate::model::tree::Tree;
use crate::objective::{LeafRows, Objective};
use crate::params::{Boosting, Params};
use crate::train::grow::{TrainNode, TreeBackend};
use crate::train::partition::PARALLEL_SCATTER_ROWS;
use crate::train::split::{leaf_weight, SplitParams};
use crate::train::split_method::Renew;

/// Every node's exact gradient sums: each leaf's pairs summed on the fixed-point grids of `renew`
/// (so the same in any order, and over the ranks of distributed training, which sum the
/// integers), internal nodes as the sum of their children.
pub(crate) fn exact_node_stats(
    nodes: &[TrainNode],
    backend: &dyn TreeBackend,
    renew: Renew<'_>,
    cluster: Option<&Cluster<'_>>,
) -> Result<Vec<GradStats>> {
    let Renew { fit, grids } = renew;
    let leaves: Vec<usize> = (0..nodes.len()).filter(|&i| nodes[i].is_leaf()).collect();
    let rows: Vec<&[u32]> = leaves.iter().map(|&i| backend.node_rows(i)).collect::<Result<_>>()?;
    let leaf_sums = |rows: &&[u32]| {
        let (mut grad, mut hess) = (0i64, 0i64);
        for &r in *rows {
            let p = fit[r as usize];
            grad = grad.wrapping_add(grids.grad.to_fixed(p.grad));
            hess = hess.wrapping_add(grids.hess.to_fixed(p.hess));
        }
        [grad, hess]
    };
    // A small tree's leaves are summed on this thread: like the margins' scatter, the gather of
    // their pairs gains less from a second core than waking it costs.
    let total: usize = rows.iter().map(|r| r.len()).sum();
    let mut sums: Vec<i64> = if total < PARALLEL_SCATTER_ROWS {
        rows.iter().flat_map(leaf_sums).collect()
    } else {
        rows.par_iter().flat_map_iter(leaf_sums).collect()
    };
    if let Some(c) = cluster {
        c.sum_i64(&mut sums)?;
    }
    let mut stats = vec![GradStats::default(); nodes.len()];
    for (&i, s) in leaves.iter().zip(sums.chunks_exact(2)) {
        stats[i] = GradStats::new(grids.grad.to_f64(s[0]), grids.hess.to_f64(s[1]));
    }
    // Children are created after their parents, so a reverse pass sees both children first.
    for i in (0..nodes.len()).rev() {
        if !nodes[i].is_leaf() {
            stats[i] = stats[nodes[i].left] + stats[nodes[i].right];
        }
    }
    Ok(stats)
}

/// What setting a tree's leaf values needs besides the grown nodes and their rows.
pub(crate) struct LeafContext<'a> {
    /// The training parameters (`boosting` picks how leaves are fitted).
    pub params: &'a Params,
    /// The learning rate, already divided among a round's parallel trees.
    pub eta: f64,
    /// The split regularisation (leaf weights use `lambda`, `alpha`, `max_delta_step`).
    pub split: &'a SplitParams,
    /// The objective (for line searches of leaf values).
    pub objective: &'a dyn Objective,
    /// The training data (labels and weights for line searches).
    pub train: &'a Dataset,
    /// The margins the round's gradients were taken at.
    pub margins: &'a [f64],
    /// Every row's gradient pairs of every output (rows x outputs).
    pub gpairs: &'a [GradPair],
    /// The output the tree belongs to.
    pub group: usize,
    /// Outputs per round.
    pub num_groups: usize,
    /// Whether leaves are line-searched (first-order boosting, or objectives that refresh leaves).
    pub line_search: bool,
    /// When the tree was grown from quantized gradients: the exact pairs it was fitted to, from
    /// which node sums are recomputed.
    pub renew: Option<Renew<'a>>,
    /// In distributed training, the group over whose rows node sums are taken.
    pub cluster: Option<&'a Cluster<'a>>,
}

/// Turns grown nodes into an inference tree, setting each leaf's value (times `eta`).
pub(crate) fn finish_tree(nodes: &[TrainNode], backend: &dyn TreeBackend, cx: &LeafContext<'_>) -> Result<Tree> {
    let LeafContext {
        params,
        eta,
        split: sp,
        objective,
        train,
        margins,
        gpairs,
        group,
        num_groups: k,
        line_search,
        renew,
        cluster,
    } = *cx;
    let m = nodes.len();
    // A tree grown from quantized gradients takes its node sums (cover, values) from the exact
    // pairs it was fitted to.
    let exact_stats = renew
        .map(|r| exact_node_stats(nodes, backend, r, cluster))
        .transpose()?;
    let node_stats = |i: usize| exact_stats.as_ref().map_or(nodes[i].stats, |s| s[i]);
    let mut t = Tree {
        left: vec![-1; m],
        right: vec![-1; m],
        feature: vec![0; m],
        threshold: vec![0.0; m],
        default_left: vec![false; m],
        value: vec![0.0; m],
        gain: vec![0.0; m],
        cover: vec![0.0; m],
        categories: Default::default(),
    };
    for (i, node) in nodes.iter().enumerate() {
        t.cover[i] = node_stats(i).hess as f32;
        if let Some(s) = &node.split {
            t.left[i] = node.left as i32;
            t.right[i] = node.right as i32;
            t.feature[i] = s.feature as u32;
            t.threshold[i] = s.threshold;
            t.default_left[i] = s.default_left;
            if let Some(set) = &s.categories {
                t.categories.set_node(i, m, set.clone());
            }
            t.gain[i] = s.gain as f32;
            t.value[i] = (node.bounds.clamp(leaf_weight(node_stats(i), sp)) * eta) as f32;
            continue;
        }
        let rows = backend.node_rows(i)?;
        let searched = if line_search {
            objective.line_search(&LeafRows {
                rows,
                labels: train.labels(),
                margins,
                weights: train.weights(),
                group,
                num_groups: k,
            })
        } else {
            None
        };
        let w = searched.unwrap_or_else(|| {
            if params.boosting == Boosting::Gradient {
                // One Newton step with the true hessians over the leaf's rows.
                let mut s = GradStats::default();
                for &r in rows {
                    s.add_pair(gpairs[r as usize * k + group]);
                }
                leaf_weight(
                    s,
                    &SplitParams {
                        min_child_weight: 0.0,
                        ..*sp
                    },
                )
            } else {
                leaf_weight(node_stats(i), sp)
            }
        });
        // Under monotone constraints every leaf stays within the bounds its ancestors set.
        t.value[i] = (node.bounds.clamp(w) * eta) as f32;
    }
    Ok(t)
}
