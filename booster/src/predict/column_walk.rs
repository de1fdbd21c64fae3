//! Batch prediction for shallow trees: every tree of depth at most [`MAX_DEPTH`] is stored as a
//! complete binary tree in heap order (node `i`'s children are `2i + 1` and `2i + 2`; a leaf above
//! the last level is repeated below itself), so that a row walks exactly `depth` steps with no
//! branch on the data: each step is one node load, one feature-value load, one comparison and one
//! index update. Several rows walk a tree side by side so that their loads overlap.
//!
//! Values and thresholds are compared as order-preserving integer keys ([`key`]): a missing value's
//! key is `u32::MAX`, above every threshold, so it goes right. A feature that some split sends
//! missing values left of is given to the walk a second time, with 0 as the missing key, below
//! every threshold ([`CompleteForest::low`]), and such splits read that column. One unsigned
//! comparison thus decides both the value and the missing-value direction.
//!
//! A category-set split reads the feature as a small code instead ([`code_key`]): every feature that
//! such splits read gets a second column in the block, of codes capped at the largest code any set
//! of the feature holds (every larger code, and any value that is not a code, goes right), with one
//! more code for missing. The split keeps, per code, the direction as one bit of a bitset, so its
//! step is one load of a bitset word in place of the comparison.
//!
//! The walk gives the leaf [`crate::model::tree::Tree::leaf_index`] would reach, so the sums are bit for bit
//! those of [`super::packed::PackedForest::add_columns_scalar`] (leaf values added as f64, in tree order).

use crate::data::column::Column;
use crate::data::feature_type::{category_code, MAX_CATEGORIES};
use crate::model::tree::Tree;
use crate::util::simd::simd_dispatch;

/// The deepest tree stored complete (2^(depth+1) - 1 entries).
pub(super) const MAX_DEPTH: usize = 12;

/// The levels of a deeper tree stored complete; rows that reach an inner node there go on through
/// linked nodes ([`CompleteForest::walk_cut`]). (Loss-guided trees of 255 leaves are typically
/// 13-28 levels deep, with half the rows in leaves at most 8 levels down and 3/4 at most 10.
/// Measured on such a model, 100 trees: 8, 10 and 12 levels predicted within 5% of each other, 8
/// the fastest, with a quarter of 10's memory; with the linked levels walked by all the block's
/// rows together, 8 and 10 within the noise, 6 levels 8% slower.)
const CUT_DEPTH: usize = 8;
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

/// [`CompleteForest::sets`]: no split reads a category set.
const NO_SETS: u8 = 0;
/// [`CompleteForest::sets`]: every category-set split's bitset fits one word (every code column's
/// cap is at most 30), kept in the split's `threshold`, its `inline_set` [`INLINE_SET`].
const INLINE_SETS: u8 = 1;
/// [`CompleteForest::sets`]: category-set splits keep their bitsets in [`CompleteForest::bits`].
const SET_WORDS: u8 = 2;
/// [`Split::inline_set`] of a category-set split whose bitset is its `threshold` ([`INLINE_SETS`]);
/// a threshold split's is 0.
const INLINE_SET: u32 = 1;

/// An inner node of a complete tree (a repeated leaf is a split whose children are the same).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C)]
struct Split {
    /// Where the column the split reads starts in a block (column index x block stride): the
    /// feature's keys, their copy with missing values low when missing values go left, or the
    /// feature's codes.
    offset: u32,
    /// [`INLINE_SET`] for a category-set split whose bitset is `threshold` ([`INLINE_SETS`]),
    /// else 0.
    inline_set: u32,
    /// The threshold's key: a row goes right when its key is at least this.
    threshold: u32,
    /// For a category-set split with [`SET_WORDS`], where its bitset of directions starts in
    /// [`CompleteForest::bits`]; else 0.
    set_base: u32,
}

impl Split {
    /// The split of a leaf repeated below itself: every row goes right, to the same leaf.
    const REPEATED_LEAF: Split = Split {
        offset: 0,
        inline_set: 0,
        threshold: 0,
        set_base: 0,
    };
}

/// A node below the complete levels of a cut tree: a split whose children are `left` and
/// `left + 1`, or, when `left` is [`Linked::LEAF`], a leaf whose value's bits are
/// `split.threshold`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Linked {
    split: Split,
    left: u32,
}

impl Linked {
    /// [`Linked::left`] of a leaf.
    const LEAF: u32 = u32::MAX;
}

/// Where a tree lies in a [`CompleteForest`].
#[derive(Debug, Clone, Copy, PartialEq)]
struct TreeLayout {
    /// Levels stored complete.
    depth: u32,
    /// Its first split in the split arrays.
    first_split: usize,
    /// Its first slot in `leaves` (and `links`).
    first_leaf: usize,
    /// The output it adds to.
    group: u32,
    /// Whether nodes lie below the complete levels (some slots link to [`Linked`] nodes).
    deeper: bool,
}

/// A feature that category-set splits read, given to the walk a second time as codes
/// ([`code_key`]).
#[derive(Debug, Clone, Copy, PartialEq)]
struct CodeColumn {
    /// The feature.
    feature: usize,
    /// One more than the largest code any of the feature's sets holds: every code at or above it
    /// goes right at every split, as a value that is not a code does.
    cap: u32,
}

/// The code of value `x` of a categorical feature whose codes are capped at `cap`: the category
/// code when it is below `cap`, `cap` for any other number (larger codes, fractions, negatives:
/// none is in a set), `cap + 1` for a missing value.
#[inline]
fn code_key(x: f32, cap: u32) -> u32 {
    if x.is_nan() {
        cap + 1
    } else {
        category_code(x).map_or(cap, |c| c.min(cap))
    }
}

/// Whether node `id` of `tree` is a threshold split that sends missing values left, and so reads
/// the keys with missing values low ([`CompleteForest::low`]).
fn reads_low_keys(tree: &Tree, id: usize) -> bool {
    !tree.is_leaf(id) && tree.default_left[id] && !tree.threshold[id].is_nan() && tree.category_set(id).is_none()
}

/// Trees of depth at most [`MAX_DEPTH`] in heap order, for [`super::packed::PackedForest::add_columns`].
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CompleteForest {
    /// Inner nodes' [`Split::offset`], `2^depth - 1` per tree, tree after tree (field by field, so
    /// that a step indexes each array directly).
    offset: Vec<u32>,
    /// Inner nodes' [`Split::inline_set`], as `offset`; empty unless `sets` is [`INLINE_SETS`].
    inline_set: Vec<u32>,
    /// Inner nodes' [`Split::threshold`], as `offset`.
    threshold: Vec<u32>,
    /// How category-set splits are stored: [`NO_SETS`], [`INLINE_SETS`] or [`SET_WORDS`] (each
    /// walked by its own compiled walk).
    sets: u8,
    /// Inner nodes' [`Split::set_base`], as `offset`; empty unless `sets` is [`SET_WORDS`].
    set_base: Vec<u32>,
    /// With [`SET_WORDS`], the bitsets of the category-set splits, one after the other: bit
    /// `c % 32` of word `set_base + c / 32` is set when code `c` (see [`code_key`]) goes right.
    /// Word 0 is a placeholder, so that no set starts at 0. Else empty.
    bits: Vec<u32>,
    /// The features category-set splits read: column `num_features + j` of a block holds the codes
    /// of `codes[j]`.
    codes: Vec<CodeColumn>,
    /// The features some threshold split sends missing values left of, ascending: column
    /// `num_features + codes.len() + j` of a block holds the keys of `low[j]` with 0 for a missing
    /// value (no number's key is 0), so that a missing value is below every threshold.
    low: Vec<usize>,
    /// Leaf values, `2^depth` per tree, tree after tree.
    leaves: Vec<f32>,
    /// Beside `leaves` when some tree is cut ([`CUT_DEPTH`]): 0 for a leaf, else one more than
    /// where the subtree below the slot starts in `linked`. Empty when no tree is cut.
    links: Vec<u32>,
    /// The parts of cut trees below their complete levels ([`Linked`]).
    linked: Vec<Linked>,
    /// Where each tree lies.
    trees: Vec<TreeLayout>,
    /// The block stride (rows per column) the offsets were computed for.
    stride: usize,
    /// One more than the largest feature index a split reads.
    num_features: usize,
}

impl CompleteForest {
    /// Lays out `trees` (tree `t` adds to group `group_of(t)`) for blocks of `stride` rows of the
    /// first `num_features` features, or `None` when the block's offsets would not fit 32 bits or
    /// no tree splits (`num_features` is 0). Trees may split by category sets (see the module's
    /// documentation); a tree deeper than [`MAX_DEPTH`] keeps its top [`CUT_DEPTH`] levels
    /// complete and the rest as linked nodes ([`Linked`]).
    pub(super) fn new(
        trees: &[Tree],
        group_of: impl Fn(usize) -> usize,
        stride: usize,
        num_features: usize,
    ) -> Option<CompleteForest> {
        // Per tree: the complete part's depth, and whether nodes lie below it.
        let depths: Vec<(usize, bool)> = trees
            .iter()
            .map(|t| match if t.left.is_empty() { 0 } else { t.depth() } {
                d if d > MAX_DEPTH => (CUT_DEPTH, true),
                d => (d, false),
            })
            .collect();
        // The code columns: every feature a category-set split reads, its cap the widest set's.
        let mut caps = std::collections::BTreeMap::new();
        for tree in trees {
            for i in (0..tree.num_nodes()).filter(|&i| !tree.is_leaf(i)) {
                if let Some(set) = tree.category_set(i) {
                    let cap = caps.entry(tree.feature[i] as usize).or_insert(0u32);
                    // Codes from MAX_CATEGORIES on are never a value's code (they go right), so no
                    // bitset need reach them, whatever a loaded model's sets hold.
                    let widest = set.codes().last().map_or(0, |c| c.saturating_add(1));
                    *cap = (*cap).max(widest.min(MAX_CATEGORIES as u32));
                }
            }
        }
        let codes: Vec<CodeColumn> = caps
            .into_iter()
            .map(|(feature, cap)| CodeColumn { feature, cap })
            .collect();
        let low: Vec<usize> = trees
            .iter()
            .flat_map(|t| {
                (0..t.num_nodes())
                    .filter(move |&i| reads_low_keys(t, i))
                    .map(move |i| t.feature[i] as usize)
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let columns = num_features + codes.len() + low.len();
        if num_features == 0 || columns.saturating_mul(stride) > u32::MAX as usize {
            return None;
        }
        let cut = depths.iter().any(|d| d.1);
        let sets = if codes.is_empty() {
            NO_SETS
        } else if codes.iter().all(|c| c.cap + 2 <= 32) {
            INLINE_SETS
        } else {
            SET_WORDS
        };
        let mut splits: Vec<Split> = Vec::with_capacity(depths.iter().map(|d| (1usize << d.0) - 1).sum());
        let mut forest = CompleteForest {
            offset: Vec::new(),
            inline_set: Vec::new(),
            threshold: Vec::new(),
            sets,
            set_base: Vec::new(),
            bits: if sets == SET_WORDS { vec![0] } else { Vec::new() },
            codes,
            low,
            leaves: Vec::with_capacity(depths.iter().map(|d| 1usize << d.0).sum()),
            links: Vec::new(),
            linked: Vec::new(),
            trees: Vec::with_capacity(trees.len()),
            stride,
            num_features,
        };
        for (t, (tree, &(depth, deeper))) in trees.iter().zip(&depths).enumerate() {
            let (first_split, first_leaf) = (splits.len(), forest.leaves.len());
            forest.trees.push(TreeLayout {
                depth: depth as u32,
                first_split,
                first_leaf,
                group: group_of(t) as u32,
                deeper,
            });
            splits.resize(first_split + (1 << depth) - 1, Split::REPEATED_LEAF);
            forest.leaves.resize(first_leaf + (1 << depth), 0.0);
            if cut {
                forest.links.resize(first_leaf + (1 << depth), 0);
            }
            if tree.left.is_empty() {
                continue;
            }
            // (original node, heap position, level)
            let mut stack = vec![(0usize, 0usize, 0usize)];
            while let Some((id, pos, level)) = stack.pop() {
                if level == depth {
                    let slot = first_leaf + pos - ((1 << depth) - 1);
                    if tree.is_leaf(id) {
                        forest.leaves[slot] = tree.value[id];
                    } else {
                        forest.links[slot] = forest.link_subtree(tree, id) + 1;
                    }
                    continue;
                }
                let (left, right) = if tree.is_leaf(id) {
                    (id, id)
                } else {
                    splits[first_split + pos] = forest.split_of(tree, id);
                    (tree.left[id] as usize, tree.right[id] as usize)
                };
                stack.push((left, 2 * pos + 1, level + 1));
                stack.push((right, 2 * pos + 2, level + 1));
            }
        }
        forest.offset = splits.iter().map(|s| s.offset).collect();
        if sets == INLINE_SETS {
            forest.inline_set = splits.iter().map(|s| s.inline_set).collect();
        }
        forest.threshold = splits.iter().map(|s| s.threshold).collect();
        if sets == SET_WORDS {
            forest.set_base = splits.iter().map(|s| s.set_base).collect();
        }
        Some(forest)
    }

    /// The [`Split`] of inner node `id` of `tree`; a category-set split's bitset is added to
    /// [`CompleteForest::bits`].
    fn split_of(&mut self, tree: &Tree, id: usize) -> Split {
        let (num_features, stride) = (self.num_features, self.stride);
        let feature = tree.feature[id] as usize;
        assert!(feature < num_features, "split feature {feature} >= {num_features}");
        if let Some(set) = tree.category_set(id) {
            let j = self
                .codes
                .iter()
                .position(|c| c.feature == feature)
                .expect("a code column");
            let cap = self.codes[j].cap;
            // Right: codes not in the set, `cap` (not a code), and missing unless it goes left.
            let mut right = vec![0u32; (cap as usize + 2).div_ceil(32)];
            for c in (0..cap).filter(|c| !set.contains(*c)).chain([cap]) {
                right[c as usize / 32] |= 1 << (c % 32);
            }
            right[(cap as usize + 1) / 32] |= (!tree.default_left[id] as u32) << ((cap + 1) % 32);
            let offset = ((num_features + j) * stride) as u32;
            if self.sets == INLINE_SETS {
                return Split {
                    offset,
                    inline_set: INLINE_SET,
                    threshold: right[0],
                    set_base: 0,
                };
            }
            let set_base = self.bits.len() as u32;
            self.bits.extend(right);
            return Split {
                offset,
                inline_set: 0,
                threshold: 0,
                set_base,
            };
        }
        // A NaN threshold sends every row right, as `!(x < NaN)` does (missing values included:
        // every key is at least 0).
        let (column, threshold) = if tree.threshold[id].is_nan() {
            (feature, 0)
        } else if reads_low_keys(tree, id) {
            let j = self.low.binary_search(&feature).expect("a low-missing column");
            (num_features + self.codes.len() + j, key(tree.threshold[id]))
        } else {
            (feature, key(tree.threshold[id]))
        };
        Split {
            offset: (column * stride) as u32,
            inline_set: 0,
            threshold,
            set_base: 0,
        }
    }

    /// Adds the subtree of `tree` under node `root` to [`CompleteForest::linked`], breadth-first
    /// (children side by side); returns where its root went.
    fn link_subtree(&mut self, tree: &Tree, root: usize) -> u32 {
        let base = self.linked.len();
        let mut queue = vec![root];
        let mut i = 0;
        while i < queue.len() {
            let id = queue[i];
            i += 1;
            let node = if tree.is_leaf(id) {
                Linked {
                    split: Split {
                        threshold: tree.value[id].to_bits(),
                        ..Split::REPEATED_LEAF
                    },
                    left: Linked::LEAF,
                }
            } else {
                let left = (base + queue.len()) as u32;
                queue.extend([tree.left[id] as usize, tree.right[id] as usize]);
                Linked {
                    split: self.split_of(tree, id),
                    left,
                }
            };
            self.linked.push(node);
        }
        base as u32
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
            self.block_keys(columns, start, end, keys);
            walk_keys(self, keys, rows, margins, num_groups);
        })
    }

    /// The columns of a block: the features' keys, the code columns, the keys with missing values
    /// low.
    fn num_columns(&self) -> usize {
        self.num_features + self.codes.len() + self.low.len()
    }

    /// Fills `keys` with the block of rows `start..end` of `columns` that [`walk_keys`] reads:
    /// [`key`]s of the first `num_features` features, then the [`code_key`]s of the code columns,
    /// then the keys of the [`CompleteForest::low`] features with 0 for missing, `stride` values
    /// per column (rows past `end - start` keep what they held).
    fn block_keys(&self, columns: &[Column], start: usize, end: usize, keys: &mut Vec<u32>) {
        let rows = end - start;
        keys.resize(self.num_columns() * self.stride, u32::MAX);
        let (values, codes) = keys.split_at_mut(self.num_features * self.stride);
        let (codes, low) = codes.split_at_mut(self.codes.len() * self.stride);
        for (&feature, out) in self.low.iter().zip(low.chunks_exact_mut(self.stride)) {
            column_keys(&columns[feature], start, end, out, 0, low_key, |v, out| {
                keys_of(v, out, 0)
            });
        }
        for (column, out) in columns[..self.num_features]
            .iter()
            .zip(values.chunks_exact_mut(self.stride))
        {
            column_keys(column, start, end, out, u32::MAX, key, |v, out| {
                keys_of(v, out, u32::MAX);
                // The next block's values of this column (the same thread usually takes it):
                // on wide data they are far apart, so ask for them while this block is walked.
                if let Column::Dense(all) = column {
                    for line in (end..(end + rows).min(all.len())).step_by(16) {
                        crate::util::prefetch::prefetch(&all[line]);
                    }
                }
            });
        }
        for (code, out) in self.codes.iter().zip(codes.chunks_exact_mut(self.stride)) {
            let cap = code.cap;
            column_keys(
                &columns[code.feature],
                start,
                end,
                out,
                cap + 1,
                |x| code_key(x, cap),
                |v, out| {
                    for (o, x) in out.iter_mut().zip(v) {
                        *o = code_key(*x, cap);
                    }
                },
            );
        }
    }

    /// Adds every tree's value for rows `0..rows` of a column-major block (feature `f` of row `r`
    /// at `columns[f * stride + r]`, `stride` as given to [`CompleteForest::new`]) to `margins`
    /// (`num_groups` per row), in tree order.
    #[cfg(test)]
    pub(super) fn add_columns(&self, values: &[f32], rows: usize, margins: &mut [f64], num_groups: usize) {
        assert!(rows <= self.stride && values.len() >= self.num_features * self.stride);
        let columns: Vec<Column> = values
            .chunks_exact(self.stride)
            .take(self.num_features)
            .map(|v| Column::Dense(v[..rows].to_vec()))
            .collect();
        self.add_rows(&columns, 0, rows, margins, num_groups);
    }

    /// The walk of [`walk_keys`], inlined into each variant. Groups of [`ROWS`] rows
    /// take the first [`TOP_LEVELS`] levels of a tree together (see [`top_levels`]), then step
    /// through the deeper levels one node at a time.
    #[inline(always)]
    fn walk(&self, columns: &[u32], rows: usize, margins: &mut [f64], num_groups: usize) {
        match self.sets {
            NO_SETS => self.walk_of::<NO_SETS>(columns, rows, margins, num_groups),
            INLINE_SETS => self.walk_of::<INLINE_SETS>(columns, rows, margins, num_groups),
            _ => self.walk_of::<SET_WORDS>(columns, rows, margins, num_groups),
        }
    }

    /// [`CompleteForest::walk`] for the forest's kind of category-set splits (`SETS`, see
    /// [`CompleteForest::sets`]).
    #[inline(always)]
    fn walk_of<const SETS: u8>(&self, columns: &[u32], rows: usize, margins: &mut [f64], num_groups: usize) {
        assert!(rows <= self.stride && columns.len() >= self.num_columns() * self.stride);
        assert_eq!(SETS, self.sets);
        assert!(margins.len() >= rows * num_groups && self.trees.iter().all(|t| (t.group as usize) < num_groups));
        let full = rows / ROWS * ROWS;
        let mut cut = CutRows::for_rows(if self.links.is_empty() { 0 } else { rows });
        for tree in &self.trees {
            let TreeLayout {
                depth,
                first_split,
                first_leaf,
                group,
                deeper,
            } = *tree;
            let range = first_split..first_split + (1 << depth) - 1;
            let splits = Splits {
                offset: &self.offset[range.clone()],
                inline_set: if SETS == INLINE_SETS {
                    &self.inline_set[range.clone()]
                } else {
                    &[]
                },
                threshold: &self.threshold[range.clone()],
                set_base: if SETS == SET_WORDS { &self.set_base[range] } else { &[] },
                bits: &self.bits,
            };
            let g = group as usize;
            if deeper {
                // SAFETY: as for the walk below, with the linked nodes' offsets as the splits'.
                unsafe { self.walk_cut::<SETS>(&splits, tree, columns, rows, &mut cut) };
                for (r, v) in cut.values[..rows].iter().enumerate() {
                    margins[r * num_groups + g] += *v as f64;
                }
                continue;
            }
            let leaves = &self.leaves[first_leaf..first_leaf + (1 << depth)];
            let levels = (depth as usize).min(TOP_LEVELS);
            for first in (0..full).step_by(ROWS) {
                let block = &columns[first..];
                let mut at = top_levels::<SETS>(&splits, block, levels).map(|i| i as usize);
                // SAFETY: after `levels` levels every `at[j]` is a node of that level, and the
                // steps stop at level `depth`; the offsets are below (columns - 1) * stride + 1
                // and `first + j < rows <= stride`, so the values lie in `block` (asserted above);
                // a category-set split's codes are at most its cap + 1, inside its bitset.
                unsafe { steps::<SETS>(&splits, &mut at, depth as usize - levels, block) };
                let values: [f64; ROWS] = at.map(|i| leaves[i + 1 - (1 << depth)] as f64);
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
                // SAFETY: as above, with row `r < rows`.
                let i = unsafe { descend::<SETS>(&splits, depth as usize, &columns[r..]) };
                margins[r * num_groups + g] += leaves[i + 1 - (1 << depth)] as f64;
            }
        }
    }

    /// Walks rows `0..rows` of a block through cut tree `tree` (whose complete levels are
    /// `splits`), leaving each row's leaf value in `cut.values`. The complete levels are walked as
    /// a shallow tree's; the rows that reach an inner node below them then go on through the linked
    /// nodes together, one level per pass, each pass over the rows still walking (kept without a
    /// branch per row): a branch per row and level on whether it has reached its leaf would be
    /// mispredicted, as the rows of a loss-guided tree end at every depth.
    ///
    /// # Safety
    /// As [`step`], for every row and level, the linked nodes' splits included.
    #[inline(always)]
    unsafe fn walk_cut<const SETS: u8>(
        &self,
        splits: &Splits,
        tree: &TreeLayout,
        columns: &[u32],
        rows: usize,
        cut: &mut CutRows,
    ) {
        let depth = tree.depth as usize;
        let CutRows { values, row, node } = cut;
        debug_assert!(values.len() >= rows && row.len() >= rows && node.len() >= rows);
        // Rows `row[..walking]` go on from linked node `node[..]`.
        let mut walking = 0;
        let mut reach = |r: usize, at: usize| {
            let slot = tree.first_leaf + (at + 1 - (1 << depth));
            values[r] = self.leaves[slot];
            let link = self.links[slot];
            row[walking] = r as u32;
            node[walking] = link.wrapping_sub(1);
            walking += (link != 0) as usize;
        };
        let full = rows / ROWS * ROWS;
        let levels = depth.min(TOP_LEVELS);
        for first in (0..full).step_by(ROWS) {
            let block = &columns[first..];
            let mut at = top_levels::<SETS>(splits, block, levels).map(|i| i as usize);
            steps::<SETS>(splits, &mut at, depth - levels, block);
            for (j, at) in at.into_iter().enumerate() {
                reach(first + j, at);
            }
        }
        for r in full..rows {
            reach(r, descend::<SETS>(splits, depth, &columns[r..]));
        }
        while walking > 0 {
            let mut kept = 0;
            for k in 0..walking {
                let r = *row.get_unchecked(k) as usize;
                let Linked { split: s, left } = *self.linked.get_unchecked(*node.get_unchecked(k) as usize);
                debug_assert!(s.offset as usize + r < columns.len());
                let value = *columns.get_unchecked(s.offset as usize + r);
                let next = left + goes_right::<SETS>(value, s.inline_set, s.threshold, s.set_base, &self.bits) as u32;
                let child = *self.linked.get_unchecked(next as usize);
                // A leaf's value; an inner node's threshold is overwritten at a later pass.
                *values.get_unchecked_mut(r) = f32::from_bits(child.split.threshold);
                *row.get_unchecked_mut(kept) = r as u32;
                *node.get_unchecked_mut(kept) = next;
                kept += (child.left != Linked::LEAF) as usize;
            }
            walking = kept;
        }
    }
}

/// The heap position, `depth` levels down a complete tree, of the row whose keys start at
/// `block[0]`.
///
/// # Safety
/// As [`step`], for every level.
#[inline(always)]
unsafe fn descend<const SETS: u8>(splits: &Splits, depth: usize, block: &[u32]) -> usize {
    let mut i = 0;
    for _ in 0..depth {
        i = step::<SETS>(splits, i, block, 0);
    }
    i
}

/// The rows of a block walking the linked nodes of a cut tree ([`CompleteForest::walk_cut`]).
struct CutRows {
    /// Each row's value: its leaf's once the walk is done.
    values: Vec<f32>,
    /// The rows still walking, first to last.
    row: Vec<u32>,
    /// The linked node each of them is at.
    node: Vec<u32>,
}

impl CutRows {
    /// Room for `rows` rows.
    fn for_rows(rows: usize) -> CutRows {
        CutRows {
            values: vec![0.0; rows],
            row: vec![0; rows],
            node: vec![0; rows],
        }
    }
}

/// Writes the keys of rows `start..end` of `column` to `out`: `dense(values, out)` converts a dense
/// column's values (as long as `out`'s first `end - start`), `one(x)` a sparse column's present
/// values; absent rows get `missing`.
#[inline(always)]
fn column_keys(
    column: &Column,
    start: usize,
    end: usize,
    out: &mut [u32],
    missing: u32,
    one: impl Fn(f32) -> u32,
    dense: impl FnOnce(&[f32], &mut [u32]),
) {
    match column {
        Column::Dense(v) => dense(&v[start..end], &mut out[..end - start]),
        Column::Sparse { rows, values } => {
            out.fill(missing);
            for (r, x) in Column::sparse_range(rows, values, start, end) {
                out[r] = one(x);
            }
        }
    }
}

/// [`key`], with 0 for a missing value, which no number has.
#[inline]
fn low_key(x: f32) -> u32 {
    if x.is_nan() {
        0
    } else {
        key(x)
    }
}

/// The order-preserving key of a value: `a < b` exactly when `key(a) < key(b)` (with -0 = +0), and
/// a missing value (NaN) has the largest key, `u32::MAX`, which no number has (nor 0).
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
    /// Writes [`key`]`(values[i])` to `keys[i]` (the slices are as long), `missing` for a missing
    /// value (`u32::MAX` as [`key`], or 0 as [`low_key`]), vectorised for the widest instruction
    /// set the processor has (AVX-512, AVX2 or the baseline).
    fn keys_of, at keys_of_at(values: &[f32], keys: &mut [u32], missing: u32) = keys_loop;
    avx512 needs ["avx512f"]
}

/// The loop of [`keys_of`], inlined into each variant: [`key`] written without a branch.
#[inline(always)]
fn keys_loop(values: &[f32], keys: &mut [u32], missing: u32) {
    assert_eq!(values.len(), keys.len());
    for (k, x) in keys.iter_mut().zip(values) {
        let bits = (*x + 0.0).to_bits();
        let flipped = bits ^ (((bits as i32) >> 31) as u32 | 1 << 31);
        *k = if x.is_nan() { missing } else { flipped };
    }
}

/// The heap positions of the [`ROWS`] rows whose keys start at `block[0..ROWS]` after the first
/// `levels` levels of the tree: level by level, every node of the level is tested on all the rows
/// at once (one contiguous load of the node feature's keys, vector comparisons), and each row keeps
/// the outcome at its own node. Level `l` costs `2^l` such tests against `ROWS` scalar steps, so
/// this pays for the top levels only.
#[inline(always)]
fn top_levels<const SETS: u8>(splits: &Splits, block: &[u32], levels: usize) -> [u32; ROWS] {
    let mut position = [0u32; ROWS];
    for level in 0..levels {
        let mut right = [0u32; ROWS];
        for n in (1 << level) - 1..(2 << level) - 1 {
            let offset = splits.offset[n] as usize;
            let keys: &[u32; ROWS] = block[offset..offset + ROWS].try_into().expect("ROWS keys");
            if SETS == INLINE_SETS && splits.inline_set[n] == INLINE_SET {
                let word = splits.threshold[n];
                for j in 0..ROWS {
                    let goes_right = word >> (keys[j] & 31) & 1;
                    right[j] |= (position[j] == n as u32) as u32 & goes_right;
                }
                continue;
            }
            if SETS == SET_WORDS && splits.set_base[n] != 0 {
                let bits = &splits.bits[splits.set_base[n] as usize..];
                for j in 0..ROWS {
                    let goes_right = bits[(keys[j] >> 5) as usize] >> (keys[j] & 31) & 1;
                    right[j] |= (position[j] == n as u32) as u32 & goes_right;
                }
                continue;
            }
            let threshold = splits.threshold[n];
            for j in 0..ROWS {
                right[j] |= (position[j] == n as u32) as u32 & (keys[j] >= threshold) as u32;
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
unsafe fn steps<const SETS: u8>(splits: &Splits, at: &mut [usize; ROWS], levels: usize, block: &[u32]) {
    for _ in 0..levels {
        for (j, i) in at.iter_mut().enumerate() {
            *i = step::<SETS>(splits, *i, block, j);
        }
    }
}

/// One step down from heap position `i` for the row whose keys start at `block[row]`: to `2i + 1`
/// when the value is below the threshold (or missing with missing values going left), else to
/// `2i + 2` (see [`goes_right`]).
///
/// # Safety
/// `i < splits.len()`, `row + offset` is inside `block` for the split's offset, and a category-set
/// split's code there is inside its bitset.
#[inline(always)]
unsafe fn step<const SETS: u8>(splits: &Splits, i: usize, block: &[u32], row: usize) -> usize {
    debug_assert!(i < splits.offset.len() && i < splits.threshold.len());
    let at = *splits.offset.get_unchecked(i) as usize + row;
    debug_assert!(at < block.len());
    let value = *block.get_unchecked(at);
    let set_base = if SETS == SET_WORDS {
        debug_assert!(i < splits.set_base.len());
        *splits.set_base.get_unchecked(i)
    } else {
        0
    };
    let inline_set = if SETS == INLINE_SETS {
        debug_assert!(i < splits.inline_set.len());
        *splits.inline_set.get_unchecked(i)
    } else {
        0
    };
    let right = goes_right::<SETS>(
        value,
        inline_set,
        *splits.threshold.get_unchecked(i),
        set_base,
        splits.bits,
    );
    2 * i + 1 + right as usize
}

/// Whether a row whose key (or code) at a split is `value` goes right: its key is at least
/// `threshold`; or, for a category-set split, its code's bit is set in the bitset, which is
/// `threshold` itself with [`INLINE_SETS`] (marked by `inline_set` = [`INLINE_SET`]), or starts
/// at word `set_base` (not 0) of `bits` with [`SET_WORDS`]. The choice is a select, not a branch
/// (with [`SET_WORDS`], a threshold split reads word 0 of `bits`).
///
/// # Safety
/// With [`SET_WORDS`] and `set_base` not 0, word `set_base + value / 32` is inside `bits`.
#[inline(always)]
unsafe fn goes_right<const SETS: u8>(value: u32, inline_set: u32, threshold: u32, set_base: u32, bits: &[u32]) -> bool {
    let by_threshold = value >= threshold;
    if SETS == NO_SETS {
        return by_threshold;
    }
    if SETS == INLINE_SETS {
        let by_set = threshold >> (value & 31) & 1 != 0;
        return if inline_set == INLINE_SET { by_set } else { by_threshold };
    }
    let base = set_base as usize;
    let word = if base != 0 { base + (value >> 5) as usize } else { 0 };
    debug_assert!(word < bits.len());
    let by_set = *bits.get_unchecked(word) >> (value & 31) & 1 != 0;
    if base != 0 {
        by_set
    } else {
        by_threshold
    }
}

/// One tree's inner nodes, field by field (see [`Split`]), and the forest's category bitsets.
struct Splits<'a> {
    offset: &'a [u32],
    /// Empty unless the forest's sets are [`INLINE_SETS`].
    inline_set: &'a [u32],
    threshold: &'a [u32],
    /// Empty unless the forest's sets are [`SET_WORDS`].
    set_base: &'a [u32],
    bits: &'a [u32],
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
            // With missing values low: every number's key is above the missing key.
            assert!(low_key(a) == key(a) && low_key(a) > low_key(f32::NAN));
        }
        assert_eq!(low_key(f32::NAN), 0);
    }

    #[test]
    fn every_compiled_walk_gives_the_same_sums() {
        let (nf, stride, rows, groups) = (4usize, 56usize, 53usize, 2usize);
        let values = [
            -2.0f32,
            -1.0,
            -0.0,
            0.0,
            0.5,
            1.0,
            2.0,
            f32::NAN,
            f32::INFINITY,
            3.0,
            40.0,
            33.0,
        ];
        let mut walked = 0;
        for seed in 1..40u64 {
            let trees: Vec<Tree> = (0..6)
                .map(|k| {
                    let mut tree = super::super::packed::tests::random_tree(5 + 7 * k, nf as u32, seed * 31 + k as u64);
                    // Odd seeds: some splits by category sets (of codes in two bitset words).
                    let m = tree.num_nodes();
                    let inner: Vec<usize> = (0..m)
                        .filter(|&i| seed % 2 == 1 && !tree.is_leaf(i) && (i + k) % 3 == 0)
                        .collect();
                    for i in inner {
                        // Seeds 1, 5, 9, ...: a code past one bitset word.
                        let wide = if seed % 4 == 1 { 33 } else { 3 };
                        let set = crate::model::categories::CategorySet::from_codes([i as u32 % 4, wide, 1 + k as u32]);
                        tree.categories.set_node(i, m, set);
                    }
                    tree
                })
                .collect();
            // (A random tree deeper than the layout takes is skipped.)
            let Some(forest) = CompleteForest::new(&trees, |t| t % groups, stride, nf) else {
                continue;
            };
            walked += 1;
            let kind = [NO_SETS, SET_WORDS, NO_SETS, INLINE_SETS][seed as usize % 4];
            assert_eq!(forest.sets, kind, "seed {seed}");
            let columns: Vec<Column> = (0..nf)
                .map(|f| {
                    Column::Dense(
                        (0..rows)
                            .map(|r| values[(r * 7 + f * 5 + seed as usize * 13) % values.len()])
                            .collect(),
                    )
                })
                .collect();
            let mut keys = Vec::new();
            forest.block_keys(&columns, 0, rows, &mut keys);
            let mut want = vec![0.25f64; rows * groups];
            for (t, tree) in trees.iter().enumerate() {
                for (r, sums) in want.chunks_exact_mut(groups).enumerate() {
                    let row: Vec<f32> = columns.iter().map(|c| c.as_dense().unwrap()[r]).collect();
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
        assert!(walked >= 30, "only {walked} forests were shallow enough");
    }

    /// A chain 30 levels deep (each split sends values below `level / 10` left to a leaf), whose
    /// rows end at every depth, above and below the cut.
    fn chain(levels: usize, nf: usize) -> Tree {
        let n = 2 * levels + 1;
        let mut t = Tree {
            left: vec![-1; n],
            right: vec![-1; n],
            feature: vec![0; n],
            threshold: vec![0.0; n],
            default_left: vec![false; n],
            value: (0..n).map(|i| i as f32 / 8.0).collect(),
            gain: vec![0.0; n],
            cover: vec![1.0; n],
            categories: Default::default(),
        };
        for l in 0..levels {
            let i = 2 * l;
            t.left[i] = (i + 1) as i32;
            t.right[i] = (i + 2) as i32;
            t.feature[i] = (l % nf) as u32;
            t.threshold[i] = l as f32 / 10.0;
            t.default_left[i] = l % 3 == 0;
        }
        t
    }

    #[test]
    fn cut_trees_go_on_through_linked_nodes() {
        let (nf, stride, rows, groups) = (3usize, 40usize, 37usize, 2usize);
        let mut trees = vec![chain(30, nf), chain(MAX_DEPTH, nf), chain(MAX_DEPTH + 1, nf)];
        trees.extend((0..4).map(|k| super::super::packed::tests::random_tree(300, nf as u32, 77 + k)));
        // With category sets on some of the linked nodes too.
        let mut with_sets = trees.clone();
        for (k, tree) in with_sets.iter_mut().enumerate() {
            let m = tree.num_nodes();
            let inner: Vec<usize> = (0..m).filter(|&i| !tree.is_leaf(i) && (i + k) % 4 == 1).collect();
            for i in inner {
                tree.categories.set_node(
                    i,
                    m,
                    crate::model::categories::CategorySet::from_codes([1, 2, i as u32 % 5]),
                );
            }
        }
        let mut wide_sets = with_sets.clone();
        let m = wide_sets[0].num_nodes();
        wide_sets[0]
            .categories
            .set_node(0, m, crate::model::categories::CategorySet::from_codes([40]));
        for trees in [trees, with_sets, wide_sets] {
            assert!(trees.iter().any(|t| t.depth() > MAX_DEPTH));
            let forest = CompleteForest::new(&trees, |t| t % groups, stride, nf).expect("a layout");
            assert!(!forest.linked.is_empty());
            assert!(forest.sets != INLINE_SETS || forest.codes.iter().all(|c| c.cap <= 30));
            let values = [-1.0f32, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 4.0, f32::NAN];
            for seed in 0..10usize {
                let columns: Vec<Column> = (0..nf)
                    .map(|f| {
                        Column::Dense(
                            (0..rows)
                                .map(|r| values[(r * 3 + f * 7 + seed * 11 + r / 5) % values.len()])
                                .collect(),
                        )
                    })
                    .collect();
                let mut want = vec![0.0f64; rows * groups];
                for (t, tree) in trees.iter().enumerate() {
                    for (r, sums) in want.chunks_exact_mut(groups).enumerate() {
                        let row: Vec<f32> = columns.iter().map(|c| c.as_dense().unwrap()[r]).collect();
                        sums[t % groups] += tree.predict_row(&row) as f64;
                    }
                }
                let mut keys = Vec::new();
                forest.block_keys(&columns, 0, rows, &mut keys);
                for isa in Isa::available(&["avx512f"]) {
                    let mut got = vec![0.0f64; rows * groups];
                    walk_keys_at(isa, &forest, &keys, rows, &mut got, groups);
                    assert_eq!(got, want, "seed {seed}, {isa:?}");
                }
            }
        }
    }

    #[test]
    fn codes_past_every_category_are_never_in_a_bitset() {
        // A loaded model's set may hold codes no value can have; the bitsets stop at MAX_CATEGORIES.
        let mut tree = chain(3, 1);
        let m = tree.num_nodes();
        let set = crate::model::categories::CategorySet::from_codes([2, 70_000, 1 << 21]);
        tree.categories.set_node(0, m, set);
        let forest = CompleteForest::new(std::slice::from_ref(&tree), |_| 0, 16, 1).expect("a layout");
        assert_eq!(forest.codes[0].cap, MAX_CATEGORIES as u32);
        assert!(forest.bits.len() <= 2 + (MAX_CATEGORIES + 2).div_ceil(32));
        let values = [2.0f32, 3.0, 65_534.0, 65_535.0, 70_000.0, 2_097_152.0, f32::NAN, -1.0];
        let columns = vec![Column::Dense(values.to_vec())];
        let mut keys = Vec::new();
        forest.block_keys(&columns, 0, values.len(), &mut keys);
        let mut got = vec![0.0f64; values.len()];
        walk_keys(&forest, &keys, values.len(), &mut got, 1);
        let want: Vec<f64> = values.iter().map(|x| tree.predict_row(&[*x]) as f64).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn category_codes_are_capped_and_missing_is_last() {
        assert_eq!(code_key(3.0, 32), 3);
        assert_eq!(code_key(32.0, 32), 32);
        assert_eq!(code_key(1e6, 32), 32);
        assert_eq!(code_key(2.5, 32), 32);
        assert_eq!(code_key(-1.0, 32), 32);
        assert_eq!(code_key(-0.0, 32), 0);
        assert_eq!(code_key(f32::INFINITY, 32), 32);
        assert_eq!(code_key(f32::NAN, 32), 33);
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
        keys_of(&values, &mut keys, u32::MAX);
        assert_eq!(keys, expected);
        let low: Vec<u32> = values.iter().map(|x| low_key(*x)).collect();
        for isa in Isa::available(&["avx512f"]) {
            keys.fill(0);
            keys_of_at(isa, &values, &mut keys, u32::MAX);
            assert_eq!(keys, expected, "{isa:?}");
            keys.fill(1);
            keys_of_at(isa, &values, &mut keys, 0);
            assert_eq!(keys, low, "{isa:?}");
        }
    }
}
