//! The prediction layout: every tree of a model packed into one array of 12-byte nodes, children
//! side by side, so that a step down a tree is one load of one cache line.
//!
//! [`crate::model::tree::Tree`] keeps one array per field (the layout training fills and model files
//! store); walking it touches five arrays per node. [`PackedForest`] is built from the trees once
//! (for a batch prediction, or cached by the booster for single rows) and walked instead.

use crate::data::column::Column;
use crate::model::categories::CategorySet;
use crate::model::tree::Tree;

use super::column_walk;

/// Set in [`PackedNode::feature`] for a leaf.
const LEAF: u32 = 1 << 31;
/// Set in [`PackedNode::feature`] when missing values go left.
const DEFAULT_LEFT: u32 = 1 << 30;
/// Set in [`PackedNode::feature`] for a category-set split; its `value` then holds the bits of
/// the set's index in [`PackedForest::sets`].
const CATEGORICAL: u32 = 1 << 29;
/// The feature index bits of [`PackedNode::feature`].
const FEATURE_MASK: u32 = CATEGORICAL - 1;

/// How many trees [`PackedForest::add_row`] walks side by side.
const INTERLEAVE: usize = 8;
/// How many rows [`PackedForest::add_columns_scalar`] walks side by side through one tree.
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
    /// The category sets of the category-set splits (empty when there are none: the walks of
    /// threshold-only forests never look at them).
    sets: Vec<CategorySet>,
    /// The same trees in the complete layout of batch prediction (built by
    /// [`PackedForest::for_batch`] when no tree is too deep for it).
    complete: Option<column_walk::CompleteForest>,
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
        let mut sets = Vec::new();
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
                let mut flags = if tree.default_left[id] { DEFAULT_LEFT } else { 0 };
                let mut value = tree.threshold[id];
                if let Some(set) = tree.category_set(id) {
                    flags |= CATEGORICAL;
                    value = f32::from_bits(sets.len() as u32);
                    sets.push(set.clone());
                }
                nodes.push(PackedNode {
                    value,
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
            sets,
            complete: None,
        }
    }

    /// [`PackedForest::new`] for batch prediction over blocks of `block_rows` rows
    /// ([`PackedForest::add_rows`], or [`PackedForest::add_columns`] with that stride): the trees
    /// are also laid out as complete trees, which rows walk without branches (category-set splits
    /// included; trees deeper than 12 levels complete down to 8, linked below, see
    /// [`column_walk`]).
    pub fn for_batch(trees: &[Tree], group_of: impl Fn(usize) -> usize, block_rows: usize) -> PackedForest {
        let mut forest = PackedForest::new(trees, &group_of);
        forest.complete = column_walk::CompleteForest::new(trees, group_of, block_rows, forest.num_features);
        forest
    }

    /// Adds every tree's values for rows `start..end` of `columns` (a dataset's feature columns,
    /// at least [`PackedForest::num_features`] of them) to `margins` (`num_groups` per row, from
    /// row `start` on); see [`PackedForest::add_columns`]. With the complete layout of
    /// [`PackedForest::for_batch`], `end - start` must not exceed its `block_rows`.
    pub fn add_rows(&self, columns: &[Column], start: usize, end: usize, margins: &mut [f64], num_groups: usize) {
        let columns = &columns[..self.num_features];
        match &self.complete {
            Some(complete) => complete.add_rows(columns, start, end, margins, num_groups),
            None => {
                let rows = end - start;
                let mut block = vec![f32::NAN; self.num_features * rows];
                for (f, column) in columns.iter().enumerate() {
                    column.copy_rows(start, end, &mut block[f * rows..(f + 1) * rows]);
                }
                self.add_columns_scalar(&block, rows, rows, margins, num_groups);
            }
        }
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
    fn step<const CAT: bool>(&self, n: PackedNode, row: &[f32]) -> PackedNode {
        self.step_by::<CAT>(n, |f| row[f])
    }

    /// [`PackedForest::step`] with feature `f`'s value given by `value(f)`. `CAT`: whether the
    /// forest has category-set splits (the walks of threshold-only forests are compiled without
    /// the test).
    #[inline(always)]
    fn step_by<const CAT: bool>(&self, n: PackedNode, value: impl Fn(usize) -> f32) -> PackedNode {
        let x = value((n.feature & FEATURE_MASK) as usize);
        let default_left = n.feature & DEFAULT_LEFT != 0;
        let left = if CAT && n.feature & CATEGORICAL != 0 {
            Tree::goes_left_categorical(x, &self.sets[n.value.to_bits() as usize], default_left)
        } else {
            Tree::goes_left(x, n.value, default_left)
        };
        self.nodes[(n.left + !left as u32) as usize]
    }

    /// The leaf value tree `t` gives `row` (which holds at least [`PackedForest::num_features`]
    /// values; a missing value is NaN).
    #[cfg(test)]
    pub fn tree_value(&self, t: usize, row: &[f32]) -> f32 {
        if self.sets.is_empty() {
            self.tree_value_of::<false>(t, row)
        } else {
            self.tree_value_of::<true>(t, row)
        }
    }

    #[inline(always)]
    fn tree_value_of<const CAT: bool>(&self, t: usize, row: &[f32]) -> f32 {
        let mut n = self.nodes[self.roots[t] as usize];
        while n.feature & LEAF == 0 {
            n = self.step::<CAT>(n, row);
        }
        n.value
    }

    /// Adds every tree's value for `row` to `margins[group]`, in tree order.
    ///
    /// Trees are walked [`INTERLEAVE`] at a time, one level per step for all of them, so that the
    /// memory loads of independent walks overlap instead of waiting on each other.
    pub fn add_row(&self, row: &[f32], margins: &mut [f64]) {
        if self.sets.is_empty() {
            self.add_row_of::<false>(row, margins)
        } else {
            self.add_row_of::<true>(row, margins)
        }
    }

    fn add_row_of<const CAT: bool>(&self, row: &[f32], margins: &mut [f64]) {
        let full = self.roots.len() / INTERLEAVE * INTERLEAVE;
        for first in (0..full).step_by(INTERLEAVE) {
            let mut at: [PackedNode; INTERLEAVE] = std::array::from_fn(|j| self.nodes[self.roots[first + j] as usize]);
            loop {
                let mut active = false;
                for n in at.iter_mut() {
                    if n.feature & LEAF == 0 {
                        active = true;
                        *n = self.step::<CAT>(*n, row);
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
            margins[self.groups[t] as usize] += self.tree_value_of::<CAT>(t, row) as f64;
        }
    }

    /// Adds every tree's values for a block of rows stored column by column to `margins`
    /// (`num_groups` per row): feature `f` of row `r` is `columns[f * stride + r]`, for the
    /// [`PackedForest::num_features`] features the trees read and `rows <= stride` rows.
    ///
    /// Trees are walked one at a time so that a tree's nodes stay in cache while the block's rows
    /// walk it, many rows side by side (their walks are independent, so their loads overlap); each
    /// row's sum is still taken in tree order, so the result is the same as [`PackedForest::add_row`]'s.
    /// Walks the complete layout when [`PackedForest::for_batch`] built one for this `stride`.
    #[cfg(test)]
    pub fn add_columns(&self, columns: &[f32], stride: usize, rows: usize, margins: &mut [f64], num_groups: usize) {
        assert!(rows <= stride && columns.len() >= self.num_features * stride);
        assert!(margins.len() >= rows * num_groups);
        match &self.complete {
            Some(complete) if complete.stride() == stride => complete.add_columns(columns, rows, margins, num_groups),
            _ => self.add_columns_scalar(columns, stride, rows, margins, num_groups),
        }
    }

    /// [`PackedForest::add_columns`] without SIMD: [`ROWS_INTERLEAVED`] rows walk each tree side
    /// by side. The reference for the SIMD kernel, and the fallback.
    pub fn add_columns_scalar(
        &self,
        columns: &[f32],
        stride: usize,
        rows: usize,
        margins: &mut [f64],
        num_groups: usize,
    ) {
        if self.sets.is_empty() {
            self.add_columns_scalar_of::<false>(columns, stride, rows, margins, num_groups)
        } else {
            self.add_columns_scalar_of::<true>(columns, stride, rows, margins, num_groups)
        }
    }

    fn add_columns_scalar_of<const CAT: bool>(
        &self,
        columns: &[f32],
        stride: usize,
        rows: usize,
        margins: &mut [f64],
        num_groups: usize,
    ) {
        let full = rows / ROWS_INTERLEAVED * ROWS_INTERLEAVED;
        for t in 0..self.roots.len() {
            let g = self.groups[t] as usize;
            let root = self.nodes[self.roots[t] as usize];
            for first in (0..full).step_by(ROWS_INTERLEAVED) {
                let mut at = [root; ROWS_INTERLEAVED];
                loop {
                    let mut active = false;
                    for (j, n) in at.iter_mut().enumerate() {
                        if n.feature & LEAF == 0 {
                            active = true;
                            *n = self.step_by::<CAT>(*n, |f| columns[f * stride + first + j]);
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
            for r in full..rows {
                let mut n = root;
                while n.feature & LEAF == 0 {
                    n = self.step_by::<CAT>(n, |f| columns[f * stride + r]);
                }
                margins[r * num_groups + g] += n.value as f64;
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
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
            categories: Default::default(),
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
        let forest = PackedForest::for_batch(&[t.clone(), t.clone(), t.clone()], |i| i % 2, 16);
        // 13 rows: one interleaved group of 8 and a remainder of 5.
        let values = [-2.0, -1.0, 0.0, 0.5, 1.0, f32::NAN, 3.0];
        let rows: Vec<f32> = (0..26).map(|i| values[(i * 5 + i / 7) % values.len()]).collect();
        // Column-major, with a stride larger than the row count.
        let mut columns = vec![f32::NAN; 2 * 16];
        for (k, row) in rows.chunks_exact(2).enumerate() {
            columns[k] = row[0];
            columns[16 + k] = row[1];
        }
        let mut block = vec![0.0f64; 13 * 2];
        forest.add_columns(&columns, 16, 13, &mut block, 2);
        let mut scalar = vec![0.0f64; 13 * 2];
        forest.add_columns_scalar(&columns, 16, 13, &mut scalar, 2);
        assert_eq!(block, scalar);
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
            categories: Default::default(),
        };
        let forest = PackedForest::new(&[leaf], |_| 0);
        assert_eq!(forest.num_features(), 0);
        assert_eq!(forest.tree_value(0, &[]), 0.25);
    }

    /// A random valid tree: `splits` random splits grown at random leaves, thresholds and values
    /// from a small set (so that rows hit thresholds exactly), some missing directions left.
    pub(crate) fn random_tree(splits: usize, num_features: u32, seed: u64) -> Tree {
        let mut s = seed | 1;
        let mut next = move |m: u64| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s % m
        };
        let cuts = [-1.0f32, -0.0, 0.5, 2.0, f32::INFINITY];
        let mut t = Tree {
            left: vec![-1],
            right: vec![-1],
            feature: vec![0],
            threshold: vec![0.0],
            default_left: vec![false],
            value: vec![0.0],
            gain: vec![0.0],
            cover: vec![1.0],
            categories: Default::default(),
        };
        for _ in 0..splits {
            let leaves: Vec<usize> = (0..t.num_nodes()).filter(|&i| t.is_leaf(i)).collect();
            let at = leaves[next(leaves.len() as u64) as usize];
            let n = t.num_nodes() as i32;
            t.left[at] = n;
            t.right[at] = n + 1;
            t.feature[at] = next(num_features as u64) as u32;
            t.threshold[at] = cuts[next(cuts.len() as u64) as usize];
            t.default_left[at] = next(2) == 1;
            for _ in 0..2 {
                t.left.push(-1);
                t.right.push(-1);
                t.feature.push(0);
                t.threshold.push(0.0);
                t.default_left.push(false);
                t.value.push(next(1000) as f32 / 64.0 - 7.0);
                t.gain.push(0.0);
                t.cover.push(1.0);
            }
        }
        t
    }

    proptest::proptest! {
        /// The complete layout (shallow trees) and the packed walk (deep trees fall back to it) add
        /// exactly what the trees' own walks give, in tree order, for any block stride.
        #[test]
        fn batch_walks_match_the_tree_walk(
            splits in proptest::collection::vec(0usize..150, 1..6),
            seed in 1u64..u64::MAX,
            rows in 1usize..40,
            extra in 0usize..9,
        ) {
            let nf = 3;
            let trees: Vec<Tree> = splits.iter().enumerate().map(|(k, &n)| random_tree(n, nf, seed ^ k as u64)).collect();
            let stride = rows + extra;
            let values = [-2.0f32, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY];
            let mut columns = vec![f32::NAN; nf as usize * stride];
            for (i, c) in columns.iter_mut().enumerate() {
                *c = values[(i.wrapping_mul(7) ^ seed as usize) % values.len()];
            }
            let groups = 2;
            let forest = PackedForest::for_batch(&trees, |t| t % groups, stride);
            let mut got = vec![0.5f64; rows * groups];
            forest.add_columns(&columns, stride, rows, &mut got, groups);
            let mut scalar = vec![0.5f64; rows * groups];
            forest.add_columns_scalar(&columns, stride, rows, &mut scalar, groups);
            proptest::prop_assert_eq!(&got, &scalar);
            // Straight from dataset columns, dense and sparse, for rows `extra..extra + rows` of a
            // dataset that has `extra` rows more in front.
            let dense: Vec<Column> = (0..nf as usize)
                .map(|f| {
                    let mut v = vec![1.0f32; extra];
                    v.extend_from_slice(&columns[f * stride..f * stride + rows]);
                    Column::Dense(v)
                })
                .collect();
            let sparse: Vec<Column> = dense
                .iter()
                .map(|c| {
                    let v = c.as_dense().unwrap();
                    let present: Vec<u32> = (0..v.len() as u32).filter(|&r| !v[r as usize].is_nan()).collect();
                    let values = present.iter().map(|&r| v[r as usize]).collect();
                    Column::Sparse { rows: present, values }
                })
                .collect();
            for cols in [&dense, &sparse] {
                let mut from_rows = vec![0.5f64; rows * groups];
                forest.add_rows(cols, extra, extra + rows, &mut from_rows, groups);
                proptest::prop_assert_eq!(&from_rows, &got);
            }
            for r in 0..rows {
                let row: Vec<f32> = (0..nf as usize).map(|f| columns[f * stride + r]).collect();
                let mut want = [0.5f64; 2];
                for (t, tree) in trees.iter().enumerate() {
                    want[t % groups] += tree.predict_row(&row) as f64;
                }
                proptest::prop_assert_eq!(&got[r * groups..(r + 1) * groups], &want[..], "row {}", r);
            }
        }

        /// Trees with category-set splits: the packed walk (row by row and over blocks) adds what a
        /// naive walk of the rule gives: missing follows the default direction, a code in the set
        /// goes left, anything else (other codes, unseen ones, fractions, negatives) goes right.
        #[test]
        fn category_sets_walk_like_the_rule(
            splits in proptest::collection::vec(1usize..120, 1..5),
            seed in 1u64..u64::MAX,
            sets in proptest::collection::vec(proptest::collection::vec(0u32..70, 0..6), 1..8),
            rows in 1usize..40,
        ) {
            let nf = 3u32;
            let trees: Vec<Tree> = splits
                .iter()
                .enumerate()
                .map(|(k, &n)| {
                    let mut t = random_tree(n, nf, seed ^ k as u64);
                    let m = t.num_nodes();
                    let inner: Vec<usize> = (0..m).filter(|&i| !t.is_leaf(i) && (i + k) % 2 == 0).collect();
                    for i in inner {
                        let set = CategorySet::from_codes(sets[i % sets.len()].iter().copied());
                        t.categories.set_node(i, m, set);
                    }
                    t
                })
                .collect();
            let naive = |t: &Tree, row: &[f32]| -> f32 {
                let mut i = 0;
                while !t.is_leaf(i) {
                    let x = row[t.feature[i] as usize];
                    let left = match t.category_set(i) {
                        Some(set) => {
                            if x.is_nan() {
                                t.default_left[i]
                            } else {
                                x >= 0.0 && x.fract() == 0.0 && set.codes().any(|c| c as f32 == x)
                            }
                        }
                        None => if x.is_nan() { t.default_left[i] } else { x < t.threshold[i] },
                    };
                    i = if left { t.left[i] } else { t.right[i] } as usize;
                }
                t.value[i]
            };
            let values = [
                0.0f32, 1.0, 2.0, 3.0, 5.0, 7.0, 9.0, 2.5, -1.0, f32::NAN, 70_000.0, 31.0, 32.0, 33.0, 63.0, 64.0,
                65.0, 69.0, 96.0, 1e9, -0.0, f32::INFINITY,
            ];
            let mut columns = vec![0f32; nf as usize * rows];
            for (i, c) in columns.iter_mut().enumerate() {
                *c = values[(i.wrapping_mul(5) ^ seed as usize) % values.len()];
            }
            let forest = PackedForest::for_batch(&trees, |_| 0, rows);
            let mut block = vec![0f64; rows];
            forest.add_columns(&columns, rows, rows, &mut block, 1);
            let mut scalar = vec![0f64; rows];
            forest.add_columns_scalar(&columns, rows, rows, &mut scalar, 1);
            proptest::prop_assert_eq!(&block, &scalar);
            // Straight from sparse dataset columns (absent entries missing).
            let sparse: Vec<Column> = columns
                .chunks_exact(rows)
                .map(|v| {
                    let present: Vec<u32> = (0..rows as u32).filter(|&r| !v[r as usize].is_nan()).collect();
                    let values = present.iter().map(|&r| v[r as usize]).collect();
                    Column::Sparse { rows: present, values }
                })
                .collect();
            let mut from_sparse = vec![0f64; rows];
            forest.add_rows(&sparse, 0, rows, &mut from_sparse, 1);
            proptest::prop_assert_eq!(&from_sparse, &block);
            for r in 0..rows {
                let row: Vec<f32> = (0..nf as usize).map(|f| columns[f * rows + r]).collect();
                let want: f64 = trees.iter().map(|t| naive(t, &row) as f64).sum();
                let mut one = [0f64];
                forest.add_row(&row, &mut one);
                proptest::prop_assert_eq!(one[0], want, "row {:?}", row);
                proptest::prop_assert_eq!(block[r], want, "block row {:?}", row);
                let by_tree: f64 = trees.iter().map(|t| t.predict_row(&row) as f64).sum();
                proptest::prop_assert_eq!(by_tree, want);
            }
        }
    }
}
