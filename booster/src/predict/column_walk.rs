//! Batch prediction for shallow trees: every tree of depth at most [`MAX_DEPTH`] is stored as a
//! complete binary tree in heap order (node `i`'s children are `2i + 1` and `2i + 2`; a leaf above
//! the last level is repeated below itself), so that a row walks exactly `depth` steps with no
//! branch on the data: each step is one node load, one feature-value load, one comparison and one
//! index update. Several rows walk a tree side by side so that their loads overlap.
//!
//! Values and thresholds are compared as order-preserving integer keys ([`key`]): a missing value's
//! key is `u32::MAX`, above every threshold, so it goes right; a split whose missing values go left
//! adds 1 to both sides, which wraps the missing key to 0 and leaves every other comparison as it
//! was. One unsigned comparison thus decides both the value and the missing-value direction.
//!
//! The walk gives the leaf [`crate::model::tree::Tree::leaf_index`] would reach, so the sums are bit for bit
//! those of [`super::packed::PackedForest::add_columns_scalar`] (leaf values added as f64, in tree order).

use crate::data::column::Column;
use crate::model::tree::Tree;
use crate::util::simd::simd_dispatch;

/// The deepest tree stored complete (2^(depth+1) - 1 entries).
pub(super) const MAX_DEPTH: usize = 12;
thread_local! {
    /// Per-thread key buffer of [`CompleteForest::add_rows`].
    static KEYS: std::cell::RefCell<Vec<u32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Rows walking a tree side by side. Each step of a row waits on two dependent loads (the node,
/// then the row's key); 16 rows keep enough of them in flight (measured: 8 rows were up to 10%
/// slower, 32 rows 25% slower from register spills).
const ROWS: usize = 16;

/// The top levels of a tree that a group of [`ROWS`] rows takes level by level ([`top_levels`]):
/// level `l` costs `2^l` vector tests, against `ROWS` scalar steps. Measured on 100 trees of depth
/// 8: 2 or 3 levels predict 5-8% faster than none; 4 or more are slower than 3.
const TOP_LEVELS: usize = 3;

/// An inner node of a complete tree (a repeated leaf is a split whose children are the same).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
struct Split {
    /// Where the feature's values start in a block (feature index x block stride).
    offset: u32,
    /// 1 when missing values go left, else 0: added to the value's key before the comparison.
    add: u32,
    /// The threshold's key plus `add`: a row goes right when its key plus `add` is at least this.
    threshold: u32,
}

/// Trees of depth at most [`MAX_DEPTH`] in heap order, for [`super::packed::PackedForest::add_columns`].
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CompleteForest {
    /// Inner nodes' [`Split::offset`], `2^depth - 1` per tree, tree after tree (field by field, so
    /// that a step indexes each array directly).
    offset: Vec<u32>,
    /// Inner nodes' [`Split::add`], as `offset`.
    add: Vec<u32>,
    /// Inner nodes' [`Split::threshold`], as `offset`.
    threshold: Vec<u32>,
    /// Leaf values, `2^depth` per tree, tree after tree.
    leaves: Vec<f32>,
    /// Per tree: depth, first split, first leaf, output group.
    trees: Vec<(u32, usize, usize, u32)>,
    /// The block stride (rows per column) the offsets were computed for.
    stride: usize,
    /// One more than the largest feature index a split reads.
    num_features: usize,
}

impl CompleteForest {
    /// Lays out `trees` (tree `t` adds to group `group_of(t)`) for blocks of `stride` rows of the
    /// first `num_features` features, or `None` when a tree is deeper than [`MAX_DEPTH`], the
    /// block's offsets would not fit 32 bits, or no tree splits (`num_features` is 0).
    pub(super) fn new(
        trees: &[Tree],
        group_of: impl Fn(usize) -> usize,
        stride: usize,
        num_features: usize,
    ) -> Option<CompleteForest> {
        let depths: Vec<usize> = trees
            .iter()
            .map(|t| if t.left.is_empty() { 0 } else { t.depth() })
            .collect();
        if depths.iter().any(|d| *d > MAX_DEPTH)
            || num_features == 0
            || num_features.saturating_mul(stride) > u32::MAX as usize
        {
            return None;
        }
        let mut splits: Vec<Split> = Vec::with_capacity(depths.iter().map(|d| (1usize << d) - 1).sum());
        let mut forest = CompleteForest {
            offset: Vec::new(),
            add: Vec::new(),
            threshold: Vec::new(),
            leaves: Vec::with_capacity(depths.iter().map(|d| 1usize << d).sum()),
            trees: Vec::with_capacity(trees.len()),
            stride,
            num_features,
        };
        for (t, (tree, &depth)) in trees.iter().zip(&depths).enumerate() {
            let (first_split, first_leaf) = (splits.len(), forest.leaves.len());
            forest
                .trees
                .push((depth as u32, first_split, first_leaf, group_of(t) as u32));
            splits.resize(
                first_split + (1 << depth) - 1,
                Split {
                    offset: 0,
                    add: 0,
                    threshold: 0,
                },
            );
            forest.leaves.resize(first_leaf + (1 << depth), 0.0);
            if tree.left.is_empty() {
                continue;
            }
            // (original node, heap position, level)
            let mut stack = vec![(0usize, 0usize, 0usize)];
            while let Some((id, pos, level)) = stack.pop() {
                if level == depth {
                    forest.leaves[first_leaf + pos - ((1 << depth) - 1)] = tree.value[id];
                    continue;
                }
                let (left, right) = if tree.is_leaf(id) {
                    splits[first_split + pos] = Split {
                        offset: 0,
                        add: 0,
                        threshold: 0,
                    };
                    (id, id)
                } else {
                    let add = tree.default_left[id] as u32;
                    let feature = tree.feature[id] as usize;
                    assert!(feature < num_features, "split feature {feature} >= {num_features}");
                    // A NaN threshold sends every row right, as `!(x < NaN)` does.
                    let threshold = if tree.threshold[id].is_nan() {
                        0
                    } else {
                        key(tree.threshold[id]) + add
                    };
                    splits[first_split + pos] = Split {
                        offset: (feature * stride) as u32,
                        add,
                        threshold,
                    };
                    (tree.left[id] as usize, tree.right[id] as usize)
                };
                stack.push((left, 2 * pos + 1, level + 1));
                stack.push((right, 2 * pos + 2, level + 1));
            }
        }
        forest.offset = splits.iter().map(|s| s.offset).collect();
        forest.add = splits.iter().map(|s| s.add).collect();
        forest.threshold = splits.iter().map(|s| s.threshold).collect();
        Some(forest)
    }

    /// The block stride the layout was built for.
    #[cfg(test)]
    pub(super) fn stride(&self) -> usize {
        self.stride
    }

    /// Adds every tree's value for rows `start..end` of `columns` (`end - start` at most the
    /// stride given to [`CompleteForest::new`]) to `margins` (`num_groups` per row), in tree order.
    /// The block's keys are made straight from the columns.
    pub(super) fn add_rows(
        &self,
        columns: &[Column],
        start: usize,
        end: usize,
        margins: &mut [f64],
        num_groups: usize,
    ) {
        let rows = end - start;
        assert!(rows <= self.stride && columns.len() >= self.num_features);
        // The block's keys, in a buffer each thread keeps (blocks of wide data are large enough
        // that a fresh allocation per block would be a fresh mapping, page faults included).
        KEYS.with(|keys| {
            let keys = &mut *keys.borrow_mut();
            keys.resize(self.num_features * self.stride, u32::MAX);
            for (column, out) in columns.iter().zip(keys.chunks_exact_mut(self.stride)) {
                match column {
                    Column::Dense(v) => {
                        keys_of(&v[start..end], &mut out[..rows]);
                        // The next block's values of this column (the same thread usually takes
                        // it): on wide data they are far apart, so ask for them while this block
                        // is walked.
                        for line in (end..(end + rows).min(v.len())).step_by(16) {
                            crate::util::prefetch::prefetch(&v[line]);
                        }
                    }
                    Column::Sparse { rows: ids, values } => {
                        out.fill(u32::MAX);
                        let from = ids.partition_point(|r| (*r as usize) < start);
                        for (r, x) in ids[from..].iter().zip(&values[from..]) {
                            if *r as usize >= end {
                                break;
                            }
                            out[*r as usize - start] = key(*x);
                        }
                    }
                }
            }
            walk_keys(self, keys, rows, margins, num_groups);
        })
    }

    /// Adds every tree's value for rows `0..rows` of a column-major block (feature `f` of row `r`
    /// at `columns[f * stride + r]`, `stride` as given to [`CompleteForest::new`]) to `margins`
    /// (`num_groups` per row), in tree order.
    #[cfg(test)]
    pub(super) fn add_columns(&self, values: &[f32], rows: usize, margins: &mut [f64], num_groups: usize) {
        assert!(rows <= self.stride && values.len() >= self.num_features * self.stride);
        let mut keys = vec![0; self.num_features * self.stride];
        keys_of(&values[..keys.len()], &mut keys);
        walk_keys(self, &keys, rows, margins, num_groups);
    }

    /// The walk of [`walk_keys`], inlined into each variant. Groups of [`ROWS`] rows
    /// take the first [`TOP_LEVELS`] levels of a tree together (see [`top_levels`]), then step
    /// through the deeper levels one node at a time.
    #[inline(always)]
    fn walk(&self, columns: &[u32], rows: usize, margins: &mut [f64], num_groups: usize) {
        assert!(rows <= self.stride && columns.len() >= self.num_features * self.stride);
        assert!(margins.len() >= rows * num_groups && self.trees.iter().all(|t| (t.3 as usize) < num_groups));
        let full = rows / ROWS * ROWS;
        for &(depth, first_split, first_leaf, group) in &self.trees {
            let range = first_split..first_split + (1 << depth) - 1;
            let splits = Splits {
                offset: &self.offset[range.clone()],
                add: &self.add[range.clone()],
                threshold: &self.threshold[range],
            };
            let leaves = &self.leaves[first_leaf..first_leaf + (1 << depth)];
            let g = group as usize;
            let levels = (depth as usize).min(TOP_LEVELS);
            for first in (0..full).step_by(ROWS) {
                let block = &columns[first..];
                let mut at = top_levels(&splits, block, levels).map(|i| i as usize);
                // SAFETY: after `levels` levels every `at[j]` is a node of that level, and the
                // steps stop at level `depth`; the offsets are below (num_features - 1) * stride + 1
                // and `first + j < rows <= stride`, so the values lie in `block` (asserted above).
                unsafe { steps(&splits, &mut at, depth as usize - levels, block) };
                let values = at.map(|i| leaves[i + 1 - (1 << depth)] as f64);
                if num_groups == 1 {
                    for (m, v) in margins[first..first + ROWS].iter_mut().zip(values) {
                        *m += v;
                    }
                } else {
                    for (j, v) in values.into_iter().enumerate() {
                        margins[(first + j) * num_groups + g] += v;
                    }
                }
            }
            for r in full..rows {
                let mut i = 0;
                for _ in 0..depth {
                    // SAFETY: as above, with row `r < rows`.
                    i = unsafe { step(&splits, i, &columns[r..], 0) };
                }
                margins[r * num_groups + g] += leaves[i + 1 - (1 << depth)] as f64;
            }
        }
    }
}

/// The order-preserving key of a value: `a < b` exactly when `key(a) < key(b)` (with -0 = +0), and
/// a missing value (NaN) has the largest key, `u32::MAX`, which no number has.
#[inline]
fn key(x: f32) -> u32 {
    if x.is_nan() {
        return u32::MAX;
    }
    // `+ 0.0` turns -0 into +0. Negative numbers: all bits flipped; others: the sign bit set.
    let bits = (x + 0.0).to_bits();
    if bits >> 31 == 1 {
        !bits
    } else {
        bits | 1 << 31
    }
}

simd_dispatch! {
    /// The walk of [`CompleteForest::add_columns`] over the values' keys, compiled for the widest
    /// instruction set the processor has (AVX-512, AVX2 or the baseline): the same sums whichever.
    fn walk_keys, at walk_keys_at(
        forest: &CompleteForest,
        columns: &[u32],
        rows: usize,
        margins: &mut [f64],
        num_groups: usize,
    ) = CompleteForest::walk;
    avx512 needs ["avx512f"]
}

simd_dispatch! {
    /// Writes [`key`]`(values[i])` to `keys[i]` (the slices are as long), vectorised for the widest
    /// instruction set the processor has (AVX-512, AVX2 or the baseline).
    fn keys_of, at keys_of_at(values: &[f32], keys: &mut [u32]) = keys_loop;
    avx512 needs ["avx512f"]
}

/// The loop of [`keys_of`], inlined into each variant: [`key`] written without a branch.
#[inline(always)]
fn keys_loop(values: &[f32], keys: &mut [u32]) {
    assert_eq!(values.len(), keys.len());
    for (k, x) in keys.iter_mut().zip(values) {
        let bits = (*x + 0.0).to_bits();
        let flipped = bits ^ (((bits as i32) >> 31) as u32 | 1 << 31);
        *k = if x.is_nan() { u32::MAX } else { flipped };
    }
}

/// The heap positions of the [`ROWS`] rows whose keys start at `block[0..ROWS]` after the first
/// `levels` levels of the tree: level by level, every node of the level is tested on all the rows
/// at once (one contiguous load of the node feature's keys, vector comparisons), and each row keeps
/// the outcome at its own node. Level `l` costs `2^l` such tests against `ROWS` scalar steps, so
/// this pays for the top levels only.
#[inline(always)]
fn top_levels(splits: &Splits, block: &[u32], levels: usize) -> [u32; ROWS] {
    let mut position = [0u32; ROWS];
    for level in 0..levels {
        let mut right = [0u32; ROWS];
        for n in (1 << level) - 1..(2 << level) - 1 {
            let offset = splits.offset[n] as usize;
            let keys: &[u32; ROWS] = block[offset..offset + ROWS].try_into().expect("ROWS keys");
            let (add, threshold) = (splits.add[n], splits.threshold[n]);
            for j in 0..ROWS {
                right[j] |= (position[j] == n as u32) as u32 & (keys[j].wrapping_add(add) >= threshold) as u32;
            }
        }
        for j in 0..ROWS {
            position[j] = 2 * position[j] + 1 + right[j];
        }
    }
    position
}

/// Takes each of the [`ROWS`] rows whose keys start at `block[0..ROWS]` `levels` levels down from
/// its heap position `at[j]`, one row at a time. Kept out of line so that it is compiled for the
/// baseline instruction set whatever its caller's: vectorised, the steps would be gathers, slower
/// than scalar loads on the processors measured.
///
/// # Safety
/// As [`step`], for every row and level.
#[inline(never)]
unsafe fn steps(splits: &Splits, at: &mut [usize; ROWS], levels: usize, block: &[u32]) {
    for _ in 0..levels {
        for (j, i) in at.iter_mut().enumerate() {
            *i = step(splits, *i, block, j);
        }
    }
}

/// One step down from heap position `i` for the row whose keys start at `block[row]`: to `2i + 1`
/// when the value is below the threshold (or missing with missing values going left), else to
/// `2i + 2`.
///
/// # Safety
/// `i < splits.len()`, and `row + offset` is inside `block` for the split's offset.
#[inline(always)]
unsafe fn step(splits: &Splits, i: usize, block: &[u32], row: usize) -> usize {
    debug_assert!(i < splits.offset.len() && i < splits.add.len() && i < splits.threshold.len());
    let at = *splits.offset.get_unchecked(i) as usize + row;
    debug_assert!(at < block.len());
    let right =
        block.get_unchecked(at).wrapping_add(*splits.add.get_unchecked(i)) >= *splits.threshold.get_unchecked(i);
    2 * i + 1 + right as usize
}

/// One tree's inner nodes, field by field (see [`Split`]).
struct Splits<'a> {
    offset: &'a [u32],
    add: &'a [u32],
    threshold: &'a [u32],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::simd::Isa;

    #[test]
    fn keys_order_like_floats_and_missing_is_largest() {
        let values = [
            f32::NEG_INFINITY,
            -3.4e38,
            -1.0,
            -1e-40,
            -0.0,
            0.0,
            1e-40,
            1.0,
            3.4e38,
            f32::INFINITY,
        ];
        for a in values {
            for b in values {
                assert_eq!(a < b, key(a) < key(b), "{a} < {b}");
                assert_eq!(a == b, key(a) == key(b), "{a} == {b}");
            }
            assert!(key(a) < key(f32::NAN) && key(a) < u32::MAX);
            // The default-left shift: no number's key wraps, the missing key does.
            assert!(key(a).wrapping_add(1) > 0);
        }
        assert_eq!(key(f32::NAN).wrapping_add(1), 0);
    }

    #[test]
    fn every_compiled_walk_gives_the_same_sums() {
        let (nf, stride, rows, groups) = (4usize, 56usize, 53usize, 2usize);
        let values = [-2.0f32, -1.0, -0.0, 0.0, 0.5, 1.0, 2.0, f32::NAN, f32::INFINITY];
        for seed in 1..20u64 {
            let trees: Vec<Tree> = (0..6)
                .map(|k| super::super::packed::tests::random_tree(5 + 7 * k, nf as u32, seed * 31 + k as u64))
                .collect();
            let forest = CompleteForest::new(&trees, |t| t % groups, stride, nf).expect("shallow trees");
            let mut block = vec![0f32; nf * stride];
            for (i, x) in block.iter_mut().enumerate() {
                *x = values[(i * 7 + seed as usize * 13 + i / 5) % values.len()];
            }
            let mut keys = vec![0; block.len()];
            keys_of(&block, &mut keys);
            let mut want = vec![0.25f64; rows * groups];
            for (t, tree) in trees.iter().enumerate() {
                for (r, sums) in want.chunks_exact_mut(groups).enumerate() {
                    let row: Vec<f32> = (0..nf).map(|f| block[f * stride + r]).collect();
                    sums[t % groups] += tree.predict_row(&row) as f64;
                }
            }
            let mut got = vec![0.25f64; rows * groups];
            walk_keys(&forest, &keys, rows, &mut got, groups);
            assert_eq!(got, want, "seed {seed}");
            for isa in Isa::available(&["avx512f"]) {
                got.fill(0.25);
                walk_keys_at(isa, &forest, &keys, rows, &mut got, groups);
                assert_eq!(got, want, "seed {seed}, {isa:?}");
            }
        }
    }

    #[test]
    fn vectorised_keys_are_the_keys() {
        let mut values: Vec<f32> = vec![
            f32::NAN,
            -f32::NAN,
            f32::from_bits(0x7f80_0001),
            f32::from_bits(0xffc0_1234),
            -0.0,
            0.0,
            f32::MIN_POSITIVE,
            -1e-45,
            f32::INFINITY,
            f32::NEG_INFINITY,
        ];
        let mut s: u32 = 12345;
        for _ in 0..1000 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            values.push(f32::from_bits(s));
        }
        let expected: Vec<u32> = values.iter().map(|x| key(*x)).collect();
        let mut keys = vec![0; values.len()];
        keys_of(&values, &mut keys);
        assert_eq!(keys, expected);
        for isa in Isa::available(&["avx512f"]) {
            keys.fill(0);
            keys_of_at(isa, &values, &mut keys);
            assert_eq!(keys, expected, "{isa:?}");
        }
    }
}
