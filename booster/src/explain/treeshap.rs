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
use crate::util::simd::simd_dispatch;

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
            let x = block_columns(data, r0, rows);
            // Contributions feature by feature (`rows` values of output 0's feature 0, then of its
            // feature 1...); interaction values row by row.
            let mut by_feature = vec![0f64; num_groups * (nf + 1) * rows];
            let mut interactions = match kind {
                Explanation::Contributions => Vec::new(),
                Explanation::Interactions => vec![0f64; rows * cols],
            };
            let mut work = BlockWork::default();
            for t in &chunk {
                explain_block(
                    t,
                    kind,
                    &x,
                    rows,
                    nf,
                    num_groups,
                    &mut by_feature,
                    &mut interactions,
                    &mut work,
                );
            }
            let contributions = transpose(&by_feature, rows);
            let (mut acc, side) = match kind {
                Explanation::Contributions => (contributions, Vec::new()),
                Explanation::Interactions => (interactions, contributions),
            };
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

/// Rows `r0..r0 + rows` of `data`, column by column (`rows` values of feature 0, then feature 1...).
fn block_columns(data: &Dataset, r0: usize, rows: usize) -> Vec<f32> {
    let nf = data.num_features();
    let mut by_row = Vec::new();
    data.rows_into(r0, r0 + rows, &mut by_row);
    let mut out = vec![0f32; rows * nf];
    for (r, row) in by_row.chunks_exact(nf).enumerate() {
        for (f, v) in row.iter().enumerate() {
            out[f * rows + r] = *v;
        }
    }
    out
}

/// `values` laid out as `values.len() / rows` series of `rows` values, row by row instead.
fn transpose(values: &[f64], rows: usize) -> Vec<f64> {
    let series = values.len() / rows.max(1);
    let mut out = vec![0f64; values.len()];
    for (c, column) in values.chunks_exact(rows.max(1)).enumerate() {
        for (r, v) in column.iter().enumerate() {
            out[r * series + c] = *v;
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
    /// Per row of the block: the bit set of one fractions of the leaf at hand.
    patterns: Vec<u32>,
    ones: Vec<bool>,
    scratch: Scratch,
    /// A row's contributions by feature (direct evaluation).
    row: Vec<f64>,
}

/// Sets `masks` (one bit per row, 64 rows a word) to the rows of `column` that inner node `node`
/// sends left ([`Tree::node_goes_left`]).
fn left_masks(tree: &Tree, node: usize, column: &[f32], masks: &mut [u64]) {
    let default_left = tree.default_left[node];
    match tree.category_set(node) {
        Some(set) => {
            masks.fill(0);
            for (r, v) in column.iter().enumerate() {
                let left = Tree::goes_left_categorical(*v, set, default_left);
                masks[r / 64] |= (left as u64) << (r % 64);
            }
        }
        None => threshold_masks(column, tree.threshold[node], default_left, masks),
    }
}

simd_dispatch! {
    /// [`Tree::goes_left`] for every value of `column`, as bits (64 values a word).
    fn threshold_masks, at threshold_masks_at(column: &[f32], threshold: f32, default_left: bool, masks: &mut [u64]) = threshold_masks_loop;
    avx512 needs ["avx512f", "avx512bw"]
}

#[inline(always)]
fn threshold_masks_loop(column: &[f32], threshold: f32, default_left: bool, masks: &mut [u64]) {
    for (mask, values) in masks.iter_mut().zip(column.chunks(64)) {
        // Tree::goes_left without branches: NaN compares false with everything.
        *mask = values.iter().enumerate().fold(0u64, |m, (b, v)| {
            let left = (*v < threshold) | (v.is_nan() & default_left);
            m | ((left as u64) << b)
        });
    }
}

simd_dispatch! {
    /// Sets bit `u` of every row's pattern from `masks` (one bit per row, 64 rows a word).
    fn add_pattern_bit, at add_pattern_bit_at(patterns: &mut [u32], masks: &[u64], u: usize) = add_pattern_bit_loop;
    avx512 needs ["avx512f"]
}

#[inline(always)]
fn add_pattern_bit_loop(patterns: &mut [u32], masks: &[u64], u: usize) {
    for (rows, m) in patterns.chunks_mut(64).zip(masks) {
        for (b, q) in rows.iter_mut().enumerate() {
            *q |= (((m >> b) & 1) as u32) << u;
        }
    }
}

simd_dispatch! {
    /// Adds to every row's value in `column` the credit of its pattern: `credits[pattern]`
    /// (`credits` has a power-of-two length that every pattern is below).
    fn add_credits, at add_credits_at(column: &mut [f64], credits: &[f32], patterns: &[u32]) = add_credits_loop;
    avx512 needs ["avx512f"]
}

#[inline(always)]
fn add_credits_loop(column: &mut [f64], credits: &[f32], patterns: &[u32]) {
    let Some(mask) = credits.len().checked_sub(1) else {
        return;
    };
    for (c, q) in column.iter_mut().zip(patterns) {
        // The mask changes no pattern (all are below the length).
        let i = *q as usize & mask;
        // SAFETY: `i <= mask = credits.len() - 1`. (With a checked index the loop keeps a bounds
        // check per row and does not vectorise.)
        *c += unsafe { *credits.get_unchecked(i) } as f64;
    }
}

/// Adds tree `t`'s credits for the `rows` rows of a block (`x`: the rows column by column,
/// [`block_columns`]): contributions to `by_feature` (per output, per feature, `rows` values),
/// interaction values to `interactions` (row by row).
#[allow(clippy::too_many_arguments)]
fn explain_block(
    t: &PreparedTree,
    kind: Explanation,
    x: &[f32],
    rows: usize,
    nf: usize,
    num_groups: usize,
    by_feature: &mut [f64],
    interactions: &mut [f64],
    w: &mut BlockWork,
) {
    let tree = t.tree;
    let words = rows.div_ceil(64);
    let nodes = tree.num_nodes();
    w.left.clear();
    w.left.resize(nodes * words, 0);
    for node in (0..nodes).filter(|&i| !tree.is_leaf(i)) {
        let column = &x[tree.feature[node] as usize * rows..][..rows];
        left_masks(tree, node, column, &mut w.left[node * words..(node + 1) * words]);
    }
    let side = nf + 1;
    let width = side * side;
    let g = t.group;
    let output = &mut by_feature[g * side * rows..(g + 1) * side * rows];
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
        // Every row's bit set of one fractions.
        w.patterns.clear();
        w.patterns.resize(rows, 0);
        for u in 0..d {
            add_pattern_bit(&mut w.patterns, &w.on[u * words..(u + 1) * words], u);
        }
        let features = &path.features;
        match &leaf.contributions {
            Some(table) => {
                for (u, f) in features.iter().enumerate() {
                    let column = &mut output[*f as usize * rows..][..rows];
                    add_credits(column, &table[u << d..(u + 1) << d], &w.patterns);
                }
            }
            None => {
                for r in 0..rows {
                    ones_of(r, d, words, &w.on, &mut w.ones);
                    w.row.clear();
                    w.row.resize(side, 0.0);
                    add_contributions_direct(path, &w.ones, &mut w.row, &mut w.scratch);
                    for f in features {
                        output[*f as usize * rows + r] += w.row[*f as usize];
                    }
                }
            }
        }
        if kind != Explanation::Interactions || d < 2 {
            continue;
        }
        let stride = num_groups * width;
        match &leaf.interactions {
            Some(table) => {
                let p = d * (d - 1) / 2;
                let cells: Vec<(usize, usize)> = pairs(d)
                    .map(|(a, b)| {
                        let (fa, fb) = (features[a] as usize, features[b] as usize);
                        (fa * side + fb, fb * side + fa)
                    })
                    .collect();
                for (r, q) in w.patterns.iter().enumerate() {
                    let q = *q as usize;
                    let credits = &table[q * p..(q + 1) * p];
                    let m = &mut interactions[r * stride + g * width..][..width];
                    for ((ab, ba), c) in cells.iter().zip(credits) {
                        m[*ab] += *c as f64;
                        m[*ba] += *c as f64;
                    }
                }
            }
            None => {
                for r in 0..rows {
                    ones_of(r, d, words, &w.on, &mut w.ones);
                    let m = &mut interactions[r * stride + g * width..][..width];
                    add_interactions_direct(path, &w.ones, side, m, &mut w.scratch);
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
