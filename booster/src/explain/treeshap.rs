//! Exact TreeSHAP over many rows at once: contributions ([`Explanation::Contributions`]) and
//! interaction values ([`Explanation::Interactions`]).
//!
//! Each tree is prepared once ([`PreparedTree`]): its expected value, its leaves' paths and, for
//! every path short enough, the table of the leaf's credits for every bit set of one fractions
//! ([`crate::explain::shapley`]). Rows then go in blocks, in parallel: for a block and a tree, every
//! internal node's decision for all rows of the block is taken first as bit masks (64 rows to a
//! word), a leaf's bit set for a row is gathered from the masks of the splits on its path, and the
//! row's credits are one table look-up per distinct feature. Leaves with longer paths than tables
//! cover are evaluated directly. Trees whose tables would not fit the memory budget together are
//! taken in chunks, one after another.
//!
//! Every row's sums run over the trees in order and, within a tree, over its leaves in order, so
//! the values never depend on the number of threads.

use rayon::prelude::*;

use crate::data::dataset::Dataset;
use crate::explain::paths::{leaf_paths, node_means, LeafPath};
use crate::explain::shapley::{
    add_contributions_direct, add_interactions_direct, contribution_table, interaction_table, pairs, Scratch,
};
use crate::model::tree::Tree;

/// What [`explain_trees`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Explanation {
    /// SHAP values: `num_features + 1` per output.
    Contributions,
    /// SHAP interaction values: `(num_features + 1)²` per output.
    Interactions,
}

/// The most distinct features on a path whose contribution credits are tabulated (`2^d · d` values).
const MAX_CONTRIBUTION_TABLE: usize = 12;
/// The most distinct features on a path whose interaction credits are tabulated
/// (`2^d · d(d − 1)/2` values).
const MAX_INTERACTION_TABLE: usize = 10;
/// The most bytes of tables prepared at once; more trees are explained chunk by chunk.
const TABLE_BUDGET_BYTES: usize = 256 << 20;

/// A leaf ready for explanation: its path and, when tabulated, its credit tables.
struct PreparedLeaf {
    path: LeafPath,
    /// [`contribution_table`], when tabulated.
    contributions: Option<Vec<f32>>,
    /// [`interaction_table`], when tabulated (interactions only).
    interactions: Option<Vec<f32>>,
}

/// A tree ready for explanation.
struct PreparedTree<'t> {
    tree: &'t Tree,
    group: usize,
    leaves: Vec<PreparedLeaf>,
}

impl<'t> PreparedTree<'t> {
    fn new(tree: &'t Tree, group: usize, kind: Explanation, num_rows: usize) -> PreparedTree<'t> {
        let leaves = leaf_paths(tree)
            .into_iter()
            .map(|path| {
                let d = path.len();
                // A table costs about 2^d · d² to build, a direct evaluation d³ per row.
                let worth = (1usize << d.min(40)) <= num_rows.saturating_mul(d * d).max(64);
                let contributions = (worth && d <= MAX_CONTRIBUTION_TABLE).then(|| contribution_table(&path));
                let interactions = (kind == Explanation::Interactions && worth && d <= MAX_INTERACTION_TABLE)
                    .then(|| interaction_table(&path));
                PreparedLeaf {
                    path,
                    contributions,
                    interactions,
                }
            })
            .collect();
        PreparedTree { tree, group, leaves }
    }

    /// Bytes of the tree's tables.
    fn table_bytes(&self) -> usize {
        self.leaves
            .iter()
            .map(|l| 4 * (l.contributions.as_ref().map_or(0, Vec::len) + l.interactions.as_ref().map_or(0, Vec::len)))
            .sum()
    }
}

/// Values per output of an explanation of `num_features` features.
fn width_of(kind: Explanation, num_features: usize) -> usize {
    match kind {
        Explanation::Contributions => num_features + 1,
        Explanation::Interactions => (num_features + 1) * (num_features + 1),
    }
}

/// Explains every row of `data` by `trees` (tree `t` adds to output `group_of(t)`, `num_groups`
/// outputs): per row and output, the values of [`Explanation`], with `base_margins` (the row's
/// starting margin of every output, `num_rows * num_groups`) added to the bias.
pub(crate) fn explain_trees(
    trees: &[Tree],
    group_of: impl Fn(usize) -> usize + Sync,
    num_groups: usize,
    data: &Dataset,
    base_margins: &[f64],
    kind: Explanation,
) -> Vec<f32> {
    let n = data.num_rows();
    let nf = data.num_features();
    let width = width_of(kind, nf);
    let cols = num_groups * width;
    let mut out = vec![0f32; n * cols];
    let block = match kind {
        Explanation::Contributions => 256,
        Explanation::Interactions => 32,
    };
    // The bias: every tree's expected value, summed per output in tree order.
    let mut expected = vec![0f64; num_groups];
    for (t, tree) in trees.iter().enumerate() {
        expected[group_of(t)] += node_means(tree)[0];
    }
    let mut start = 0;
    let mut first = true;
    while start < trees.len() || first {
        // Prepare trees until the tables fill the budget (at least one tree per chunk).
        let mut chunk: Vec<PreparedTree> = Vec::new();
        let mut bytes = 0;
        while start < trees.len() && (chunk.is_empty() || bytes < TABLE_BUDGET_BYTES) {
            let end = (start + rayon::current_num_threads().max(1)).min(trees.len());
            let prepared: Vec<PreparedTree> = (start..end)
                .into_par_iter()
                .map(|t| PreparedTree::new(&trees[t], group_of(t), kind, n))
                .collect();
            bytes += prepared.iter().map(PreparedTree::table_bytes).sum::<usize>();
            chunk.extend(prepared);
            start = end;
        }
        let last = start >= trees.len();
        out.par_chunks_mut(block * cols).enumerate().for_each(|(b, out)| {
            let r0 = b * block;
            let rows = out.len() / cols.max(1);
            let mut x = Vec::new();
            data.rows_into(r0, r0 + rows, &mut x);
            let mut acc = vec![0f64; rows * cols];
            let mut side = match kind {
                Explanation::Contributions => Vec::new(),
                Explanation::Interactions => vec![0f64; rows * num_groups * (nf + 1)],
            };
            let mut work = BlockWork::default();
            for t in &chunk {
                explain_block(t, kind, &x, nf, rows, width, num_groups, &mut acc, &mut side, &mut work);
            }
            let bias = first.then(|| (&base_margins[r0 * num_groups..(r0 + rows) * num_groups], &expected[..]));
            finish_block(kind, bias, nf, num_groups, &mut acc, &side);
            for (o, a) in out.iter_mut().zip(&acc) {
                *o = if first { *a as f32 } else { (*o as f64 + a) as f32 };
            }
        });
        first = false;
        if last {
            break;
        }
    }
    out
}

/// Scratch space of one block.
#[derive(Default)]
struct BlockWork {
    /// Per internal node, per 64 rows: which rows go left.
    left: Vec<u64>,
    /// Per distinct feature of a path, per 64 rows: which rows follow the path through it.
    on: Vec<u64>,
    ones: Vec<bool>,
    scratch: Scratch,
    /// A row's explanation in f64 by feature (direct evaluation).
    row: Vec<f64>,
}

/// Adds tree `t`'s credits for the `rows` rows of a block (`x` row-major, `nf` features) to `acc`
/// (`rows * num_groups * width`), and for interactions its contributions to `side`.
#[allow(clippy::too_many_arguments)]
fn explain_block(
    t: &PreparedTree,
    kind: Explanation,
    x: &[f32],
    nf: usize,
    rows: usize,
    width: usize,
    num_groups: usize,
    acc: &mut [f64],
    side: &mut [f64],
    w: &mut BlockWork,
) {
    let tree = t.tree;
    let words = rows.div_ceil(64);
    let nodes = tree.num_nodes();
    w.left.clear();
    w.left.resize(nodes * words, 0);
    for node in (0..nodes).filter(|&i| !tree.is_leaf(i)) {
        let f = tree.feature[node] as usize;
        let masks = &mut w.left[node * words..(node + 1) * words];
        for r in 0..rows {
            if tree.node_goes_left(node, x[r * nf + f]) {
                masks[r / 64] |= 1u64 << (r % 64);
            }
        }
    }
    let stride = num_groups * width;
    let side_width = nf + 1;
    let side_stride = num_groups * side_width;
    let g = t.group;
    for leaf in &t.leaves {
        let path = &leaf.path;
        let d = path.len();
        if d == 0 {
            continue;
        }
        // Which rows follow the path through each distinct feature.
        w.on.clear();
        w.on.resize(d * words, !0u64);
        for s in &path.steps {
            let (node, u) = (s.node as usize, s.unique as usize);
            for k in 0..words {
                let m = w.left[node * words + k];
                w.on[u * words + k] &= if s.goes_left { m } else { !m };
            }
        }
        let pattern = |r: usize, on: &[u64]| -> usize {
            let (k, bit) = (r / 64, r % 64);
            (0..d).fold(0usize, |q, u| q | ((((on[u * words + k] >> bit) & 1) as usize) << u))
        };
        let features = &path.features;
        // Contributions (to `acc`, or to `side` when explaining interactions).
        let (target, twidth, tstride) = match kind {
            Explanation::Contributions => (&mut *acc, width, stride),
            Explanation::Interactions => (&mut *side, side_width, side_stride),
        };
        match &leaf.contributions {
            Some(table) => {
                for r in 0..rows {
                    let q = pattern(r, &w.on);
                    let credits = &table[q * d..(q + 1) * d];
                    let base = r * tstride + g * twidth;
                    let row = &mut target[base..base + twidth];
                    for (f, c) in features.iter().zip(credits) {
                        row[*f as usize] += *c as f64;
                    }
                }
            }
            None => {
                for r in 0..rows {
                    ones_of(r, d, words, &w.on, &mut w.ones);
                    w.row.clear();
                    w.row.resize(twidth, 0.0);
                    add_contributions_direct(path, &w.ones, &mut w.row, &mut w.scratch);
                    let base = r * tstride + g * twidth;
                    for f in features {
                        target[base + *f as usize] += w.row[*f as usize];
                    }
                }
            }
        }
        if kind != Explanation::Interactions || d < 2 {
            continue;
        }
        let side = nf + 1;
        match &leaf.interactions {
            Some(table) => {
                let p = d * (d - 1) / 2;
                let cells: Vec<(usize, usize)> = pairs(d)
                    .map(|(a, b)| {
                        let (fa, fb) = (features[a] as usize, features[b] as usize);
                        (fa * side + fb, fb * side + fa)
                    })
                    .collect();
                for r in 0..rows {
                    let q = pattern(r, &w.on);
                    let credits = &table[q * p..(q + 1) * p];
                    let base = r * stride + g * width;
                    let m = &mut acc[base..base + width];
                    for ((ab, ba), c) in cells.iter().zip(credits) {
                        m[*ab] += *c as f64;
                        m[*ba] += *c as f64;
                    }
                }
            }
            None => {
                for r in 0..rows {
                    ones_of(r, d, words, &w.on, &mut w.ones);
                    let base = r * stride + g * width;
                    add_interactions_direct(path, &w.ones, side, &mut acc[base..base + width], &mut w.scratch);
                }
            }
        }
    }
}

/// Row `r`'s one fractions from the per-feature masks.
fn ones_of(r: usize, d: usize, words: usize, on: &[u64], ones: &mut Vec<bool>) {
    ones.clear();
    ones.extend((0..d).map(|u| (on[u * words + r / 64] >> (r % 64)) & 1 == 1));
}

/// Adds the bias (the trees' expected values and the rows' base margins; `bias` is given for the
/// first chunk of trees only) and, for interactions, the diagonal: each feature's contribution
/// (`side`) less its interactions with the other features.
fn finish_block(
    kind: Explanation,
    bias: Option<(&[f64], &[f64])>,
    nf: usize,
    num_groups: usize,
    acc: &mut [f64],
    side: &[f64],
) {
    let width = width_of(kind, nf);
    let side_width = nf + 1;
    for (r, row) in acc.chunks_exact_mut(num_groups * width).enumerate() {
        for (g, out) in row.chunks_exact_mut(width).enumerate() {
            if kind == Explanation::Interactions {
                let contributions = &side[(r * num_groups + g) * side_width..][..side_width];
                for a in 0..nf {
                    let line = &out[a * side_width..a * side_width + nf];
                    let others: f64 = line.iter().enumerate().filter(|(b, _)| *b != a).map(|(_, v)| v).sum();
                    out[a * side_width + a] = contributions[a] - others;
                }
            }
            if let Some((base, expected)) = bias {
                out[width - 1] += base[r * num_groups + g] + expected[g];
            }
        }
    }
}
