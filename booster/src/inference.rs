//! The prediction layout: every tree of a model packed into one array of 12-byte nodes, children
//! side by side, so that a step down a tree is one load of one cache line.
//!
//! [`crate::tree::Tree`] keeps one array per field (the layout training fills and model files
//! store); walking it touches five arrays per node. [`PackedForest`] is built from the trees once
//! (for a batch prediction, or cached by the booster for single rows) and walked instead.

use crate::tree::Tree;

/// Set in [`PackedNode::feature`] for a leaf.
const LEAF: u32 = 1 << 31;
/// Set in [`PackedNode::feature`] when missing values go left.
const DEFAULT_LEFT: u32 = 1 << 30;
/// The feature index bits of [`PackedNode::feature`].
const FEATURE_MASK: u32 = DEFAULT_LEFT - 1;

/// How many trees [`PackedForest::add_row`] walks side by side.
const INTERLEAVE: usize = 8;
/// How many rows [`PackedForest::add_block`] walks side by side through one tree.
const ROWS_INTERLEAVED: usize = 8;

/// One node: a split (`feature`, `value` = threshold, children `left` and `left + 1`) or a leaf
/// (`value` = leaf value).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
struct PackedNode {
    value: f32,
    feature: u32,
    left: u32,
}

/// Trees packed for prediction: node arrays laid out tree after tree, children next to each other.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedForest {
    nodes: Vec<PackedNode>,
    /// Index of each tree's root in `nodes`.
    roots: Vec<u32>,
    /// Output (class) of each tree.
    groups: Vec<u32>,
    /// One more than the largest feature index any split reads (0 without splits).
    num_features: usize,
}

impl PackedForest {
    /// Packs `trees`; tree `t` adds to output `group_of(t)`.
    ///
    /// Trees are assumed valid ([`Tree::validate`]: children after their parent, in range); a
    /// tree's nodes are renumbered breadth-first so that every node's children are adjacent.
    pub fn new(trees: &[Tree], group_of: impl Fn(usize) -> usize) -> PackedForest {
        let total: usize = trees.iter().map(|t| t.left.len()).sum();
        let mut nodes = Vec::with_capacity(total);
        let mut roots = Vec::with_capacity(trees.len());
        let mut groups = Vec::with_capacity(trees.len());
        let mut num_features = 0;
        let mut queue = Vec::new();
        for (t, tree) in trees.iter().enumerate() {
            roots.push(nodes.len() as u32);
            groups.push(group_of(t) as u32);
            if tree.left.is_empty() {
                nodes.push(PackedNode {
                    value: 0.0,
                    feature: LEAF,
                    left: 0,
                });
                continue;
            }
            // Breadth-first: `queue[i]` is the original id of packed node `base + i`.
            let base = nodes.len();
            queue.clear();
            queue.push(0usize);
            let mut i = 0;
            while i < queue.len() {
                let id = queue[i];
                i += 1;
                if tree.is_leaf(id) {
                    nodes.push(PackedNode {
                        value: tree.value[id],
                        feature: LEAF,
                        left: 0,
                    });
                    continue;
                }
                let f = tree.feature[id];
                num_features = num_features.max(f as usize + 1);
                let flags = if tree.default_left[id] { DEFAULT_LEFT } else { 0 };
                nodes.push(PackedNode {
                    value: tree.threshold[id],
                    feature: (f & FEATURE_MASK) | flags,
                    left: (base + queue.len()) as u32,
                });
                queue.push(tree.left[id] as usize);
                queue.push(tree.right[id] as usize);
            }
        }
        PackedForest {
            nodes,
            roots,
            groups,
            num_features,
        }
    }

    /// Number of trees.
    pub fn num_trees(&self) -> usize {
        self.roots.len()
    }

    /// One more than the largest feature index the trees read: rows must be at least this long.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// One step down from the split node `n`: its left child when `x < threshold`, else its right
    /// child; a missing `x` (NaN) follows the default direction.
    #[inline(always)]
    // `!(x < t)` rather than `x >= t`: a row goes left exactly when `x < t` holds, as in `Tree`.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    fn step(&self, n: PackedNode, row: &[f32]) -> PackedNode {
        let x = row[(n.feature & FEATURE_MASK) as usize];
        let right = if x.is_nan() {
            n.feature & DEFAULT_LEFT == 0
        } else {
            !(x < n.value)
        };
        self.nodes[(n.left + right as u32) as usize]
    }

    /// The leaf value tree `t` gives `row` (which holds at least [`PackedForest::num_features`]
    /// values; a missing value is NaN).
    #[inline(always)]
    pub fn tree_value(&self, t: usize, row: &[f32]) -> f32 {
        let mut n = self.nodes[self.roots[t] as usize];
        while n.feature & LEAF == 0 {
            n = self.step(n, row);
        }
        n.value
    }

    /// Adds every tree's value for `row` to `margins[group]`, in tree order.
    ///
    /// Trees are walked [`INTERLEAVE`] at a time, one level per step for all of them, so that the
    /// memory loads of independent walks overlap instead of waiting on each other.
    pub fn add_row(&self, row: &[f32], margins: &mut [f64]) {
        let full = self.roots.len() / INTERLEAVE * INTERLEAVE;
        for first in (0..full).step_by(INTERLEAVE) {
            let mut at: [PackedNode; INTERLEAVE] = std::array::from_fn(|j| self.nodes[self.roots[first + j] as usize]);
            loop {
                let mut active = false;
                for n in at.iter_mut() {
                    if n.feature & LEAF == 0 {
                        active = true;
                        *n = self.step(*n, row);
                    }
                }
                if !active {
                    break;
                }
            }
            for (j, n) in at.iter().enumerate() {
                margins[self.groups[first + j] as usize] += n.value as f64;
            }
        }
        for t in full..self.roots.len() {
            margins[self.groups[t] as usize] += self.tree_value(t, row) as f64;
        }
    }

    /// Adds every tree's values for a block of rows (`rows` row-major, `num_features` values each)
    /// to `margins` (`num_groups` per row), tree by tree so that one tree's nodes stay in cache
    /// while the block's rows walk it, [`ROWS_INTERLEAVED`] rows side by side (their walks are
    /// independent, so their loads overlap); each row's sum is still taken in tree order.
    pub fn add_block(&self, rows: &[f32], num_features: usize, margins: &mut [f64], num_groups: usize) {
        let nf = num_features.max(1);
        let n = rows.len() / nf;
        let full = n / ROWS_INTERLEAVED * ROWS_INTERLEAVED;
        for t in 0..self.roots.len() {
            let g = self.groups[t] as usize;
            let root = self.nodes[self.roots[t] as usize];
            for first in (0..full).step_by(ROWS_INTERLEAVED) {
                let block = &rows[first * nf..(first + ROWS_INTERLEAVED) * nf];
                let mut at = [root; ROWS_INTERLEAVED];
                loop {
                    let mut active = false;
                    for (j, n) in at.iter_mut().enumerate() {
                        if n.feature & LEAF == 0 {
                            active = true;
                            *n = self.step(*n, &block[j * nf..(j + 1) * nf]);
                        }
                    }
                    if !active {
                        break;
                    }
                }
                for (j, n) in at.iter().enumerate() {
                    margins[(first + j) * num_groups + g] += n.value as f64;
                }
            }
            for k in full..n {
                margins[k * num_groups + g] += self.tree_value(t, &rows[k * nf..(k + 1) * nf]) as f64;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> Tree {
        // Root splits f1 < 0.5 (missing right); its left child splits f0 < -1 (missing left).
        // Children are not adjacent in the original numbering (left child is node 2).
        Tree {
            left: vec![2, -1, 3, -1, -1],
            right: vec![1, -1, 4, -1, -1],
            feature: vec![1, 0, 0, 0, 0],
            threshold: vec![0.5, 0.0, -1.0, 0.0, 0.0],
            default_left: vec![false, false, true, false, false],
            value: vec![0.0, 3.0, 0.0, 1.0, 2.0],
            gain: vec![1.0, 0.0, 1.0, 0.0, 0.0],
            cover: vec![1.0; 5],
        }
    }

    #[test]
    fn packed_walk_matches_the_tree_walk() {
        let t = tree();
        let forest = PackedForest::new(&[t.clone(), t.clone()], |i| i);
        // More trees than one interleaved group, plus a remainder.
        let many = PackedForest::new(&vec![t.clone(); 2 * INTERLEAVE + 3], |_| 0);
        assert_eq!(forest.num_features(), 2);
        let values = [-2.0, -1.0, 0.0, 0.5, 1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
        for a in values {
            for b in values {
                let row = [a, b];
                assert_eq!(forest.tree_value(1, &row), t.predict_row(&row), "row {row:?}");
                let mut m = [0.0f64; 2];
                forest.add_row(&row, &mut m);
                assert_eq!(m, [t.predict_row(&row) as f64; 2]);
                let mut one = [0.0f64];
                many.add_row(&row, &mut one);
                assert_eq!(one[0], (2 * INTERLEAVE + 3) as f64 * t.predict_row(&row) as f64);
            }
        }
    }

    #[test]
    fn interleaved_block_matches_row_by_row() {
        let t = tree();
        let forest = PackedForest::new(&[t.clone(), t.clone(), t.clone()], |i| i % 2);
        // 13 rows: one interleaved group of 8 and a remainder of 5.
        let values = [-2.0, -1.0, 0.0, 0.5, 1.0, f32::NAN, 3.0];
        let rows: Vec<f32> = (0..26).map(|i| values[(i * 5 + i / 7) % values.len()]).collect();
        let mut block = vec![0.0f64; 13 * 2];
        forest.add_block(&rows, 2, &mut block, 2);
        for (k, row) in rows.chunks_exact(2).enumerate() {
            let mut want = [0.0f64; 2];
            forest.add_row(row, &mut want);
            assert_eq!(&block[k * 2..k * 2 + 2], &want, "row {k}");
        }
    }

    #[test]
    fn empty_tree_and_single_leaf() {
        let leaf = Tree {
            left: vec![-1],
            right: vec![-1],
            feature: vec![0],
            threshold: vec![0.0],
            default_left: vec![false],
            value: vec![0.25],
            gain: vec![0.0],
            cover: vec![1.0],
        };
        let forest = PackedForest::new(&[leaf], |_| 0);
        assert_eq!(forest.num_features(), 0);
        assert_eq!(forest.tree_value(0, &[]), 0.25);
    }
}
