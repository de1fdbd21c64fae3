//! Row partitioning: the rows of each node are a contiguous range of one index array; splitting a
//! node reorders its range stably so that the left child's rows come first.

use rayon::prelude::*;

use crate::bins::cuts::BinMapper;
use crate::bins::matrix::{BinIndex, ColumnBins, QuantizedMatrix};
use crate::data::column::Column;
use crate::data::dataset::Dataset;
use crate::model::tree::Tree;
use crate::train::grow::SplitTask;
use crate::train::partition_kernel::{partition_by_test, partition_scalar, RowTest, SetWords, ThresholdTest};
use crate::util::prefetch::{prefetch, PREFETCH_DISTANCE};

/// Ranges at least this long are partitioned with parallel chunks.
const PARALLEL_MIN: usize = 1 << 16;
/// Rows a scatter over a tree's leaves ([`RowPartition::add_to_rows`]) must have in all before it
/// runs in parallel: each write is a cache miss, which a second core hardly speeds up, and waking
/// it cost more than the whole scatter of a small data set (43,000 rows: 0.15 ms against 0.05 ms
/// on one thread).
pub(crate) const PARALLEL_SCATTER_ROWS: usize = 1 << 17;
/// Rows per chunk of a parallel partition (fixed: the result never depends on the thread count).
const PARTITION_CHUNK: usize = 1 << 14;

/// Stably reorders `rows` so that those for which `goes_left` holds come first; returns how many do.
/// `scratch` must be at least as long as `rows`. `touch(r)` is called a few rows ahead of
/// `goes_left(r)` so that it can prefetch what `goes_left` will read.
pub fn stable_partition(
    rows: &mut [u32],
    scratch: &mut [u32],
    goes_left: &(impl Fn(u32) -> bool + Sync),
    touch: &(impl Fn(u32) + Sync),
) -> usize {
    stable_partition_by(rows, scratch, &|rows, scratch| {
        partition_in_place(rows, scratch, goes_left, touch)
    })
}

/// [`stable_partition`] with `kernel` partitioning each piece (a range, or a chunk of a long one)
/// stably in place and returning how many of its rows go left; `kernel` may use all of the
/// scratch it is given, which is as long as the piece.
fn stable_partition_by(
    rows: &mut [u32],
    scratch: &mut [u32],
    kernel: &(impl Fn(&mut [u32], &mut [u32]) -> usize + Sync),
) -> usize {
    let n = rows.len();
    let scratch = &mut scratch[..n];
    if n < PARALLEL_MIN {
        return kernel(rows, scratch);
    }
    // Partition every chunk in place (in parallel, branch-free), then gather the chunks' left
    // pieces and right pieces into their final places in `scratch`, then copy back.
    let counts: Vec<usize> = rows
        .par_chunks_mut(PARTITION_CHUNK)
        .zip(scratch.par_chunks_mut(PARTITION_CHUNK))
        .map(|(chunk, s)| kernel(chunk, s))
        .collect();
    let total_left: usize = counts.iter().sum();
    let (left_out, right_out) = scratch.split_at_mut(total_left);
    let mut lefts: Vec<&mut [u32]> = Vec::with_capacity(counts.len());
    let mut rights: Vec<&mut [u32]> = Vec::with_capacity(counts.len());
    let (mut lrest, mut rrest) = (left_out, right_out);
    for (c, &nl) in counts.iter().enumerate() {
        let len = PARTITION_CHUNK.min(n - c * PARTITION_CHUNK);
        let (a, b) = std::mem::take(&mut lrest).split_at_mut(nl);
        lefts.push(a);
        lrest = b;
        let (a, b) = std::mem::take(&mut rrest).split_at_mut(len - nl);
        rights.push(a);
        rrest = b;
    }
    rows.par_chunks(PARTITION_CHUNK)
        .zip(lefts.into_par_iter().zip(rights.into_par_iter()))
        .for_each(|(chunk, (l, r))| {
            let (from_left, from_right) = chunk.split_at(l.len());
            l.copy_from_slice(from_left);
            r.copy_from_slice(from_right);
        });
    rows.par_chunks_mut(PARTITION_CHUNK)
        .zip(scratch.par_chunks(PARTITION_CHUNK))
        .for_each(|(d, s)| d.copy_from_slice(s));
    total_left
}

/// The sequential partition: one branch-free pass that moves left rows forward in place and right
/// rows to `scratch`, then appends the right rows.
fn partition_in_place(
    rows: &mut [u32],
    scratch: &mut [u32],
    goes_left: &impl Fn(u32) -> bool,
    touch: &impl Fn(u32),
) -> usize {
    let n = rows.len();
    assert!(scratch.len() >= n, "the partition's scratch is shorter than its rows");
    let (mut l, mut r) = (0usize, 0usize);
    // Moves row `i`: left rows forward in place, right rows to `scratch`.
    let mut step = |rows: &mut [u32], i: usize| {
        // SAFETY: `i < n`, and `l <= i`, `r <= i` (each counts a subset of the rows before `i`),
        // so every index is below `n <= scratch.len()`; the writes stay within the part of `rows`
        // already read.
        unsafe {
            let row = *rows.get_unchecked(i);
            let left = goes_left(row);
            *rows.get_unchecked_mut(l) = row;
            *scratch.get_unchecked_mut(r) = row;
            l += left as usize;
            r += !left as usize;
        }
    };
    // The rows that have a row `PREFETCH_DISTANCE` ahead of them, then the last few: no test in
    // the loop.
    let ahead_end = n.saturating_sub(PREFETCH_DISTANCE);
    for i in 0..ahead_end {
        touch(rows[i + PREFETCH_DISTANCE]);
        step(rows, i);
    }
    for i in ahead_end..n {
        step(rows, i);
    }
    rows[l..].copy_from_slice(&scratch[..r]);
    l
}

/// A pointer to the output of [`RowPartition::scatter`], shared by tasks that write disjoint
/// elements.
struct SharedOut<U>(*mut U);
// SAFETY: only used by `scatter`, whose tasks write disjoint elements of a live slice (of `Send`
// elements).
unsafe impl<U: Send> Sync for SharedOut<U> {}

/// The rows of every node of one tree: node `i` owns `rows[ranges[i].0..ranges[i].1]`.
#[derive(Debug, Clone)]
pub struct RowPartition {
    /// The largest row, when the root's rows were strictly ascending (so distinct); `None` when
    /// they were not (or there are none).
    largest: Option<usize>,
    rows: Vec<u32>,
    scratch: Vec<u32>,
    ranges: Vec<(usize, usize)>,
}

impl RowPartition {
    /// The root (node 0) owns `rows`.
    pub fn new(rows: Vec<u32>) -> RowPartition {
        let n = rows.len();
        let ascending = rows.windows(2).all(|w| w[0] < w[1]);
        RowPartition {
            largest: if ascending {
                rows.last().map(|r| *r as usize)
            } else {
                None
            },
            scratch: vec![0; n],
            rows,
            ranges: vec![(0, n)],
        }
    }

    /// Adds each `(node, value)`'s value to `out[r * stride + offset]` for every row `r` of the
    /// node. Nodes whose ranges do not overlap (the leaves of a tree) are done in parallel when the
    /// partition's rows are distinct; otherwise one after another.
    pub fn add_to_rows(&self, nodes: &[(usize, f64)], out: &mut [f64], stride: usize, offset: usize) {
        self.scatter(nodes, out, stride, offset, |o, v| *o += v);
    }

    /// Sets `out[r] = slot` for every row `r` of each `(node, slot)` (the leaves of the tree just
    /// grown, so no row is written twice).
    pub fn mark_rows(&self, nodes: &[(usize, u8)], out: &mut [u8]) {
        self.scatter(nodes, out, 1, 0, |o, slot| *o = slot);
    }

    /// Applies `apply(&mut out[r * stride + offset], value)` for every row `r` of each
    /// `(node, value)`; in parallel over the nodes when their ranges are disjoint, the rows
    /// distinct and in bounds, and at least [`PARALLEL_SCATTER_ROWS`] in all.
    fn scatter<T: Copy + Send + Sync, U: Send>(
        &self,
        nodes: &[(usize, T)],
        out: &mut [U],
        stride: usize,
        offset: usize,
        apply: impl Fn(&mut U, T) + Sync,
    ) {
        let mut ranges: Vec<((usize, usize), T)> = nodes
            .iter()
            .map(|&(node, v)| (self.ranges.get(node).copied().unwrap_or((0, 0)), v))
            .collect();
        ranges.sort_by_key(|(r, _)| r.0);
        let disjoint = ranges.windows(2).all(|w| w[0].0 .1 <= w[1].0 .0);
        let in_bounds = self.largest.is_some_and(|r| {
            r.checked_mul(stride)
                .and_then(|i| i.checked_add(offset))
                .is_some_and(|i| i < out.len())
        });
        let total: usize = ranges.iter().map(|((b, e), _)| e.saturating_sub(*b)).sum();
        if !(disjoint && in_bounds) || total < PARALLEL_SCATTER_ROWS {
            for ((b, e), v) in ranges {
                for &r in &self.rows[b..e] {
                    apply(&mut out[r as usize * stride + offset], v);
                }
            }
            return;
        }
        let target = SharedOut(out.as_mut_ptr());
        ranges.par_iter().for_each(|&((b, e), v)| {
            let target = &target;
            for &r in &self.rows[b..e] {
                // SAFETY: the partition's rows are distinct (the root's rows were strictly
                // ascending, and splitting only permutes them within node ranges), the ranges are
                // disjoint (checked above), so every index is written by exactly one task; and
                // every `r * stride + offset` is below `out.len()` (checked above for the largest r).
                apply(unsafe { &mut *target.0.add(r as usize * stride + offset) }, v);
            }
        });
    }

    /// The rows of a node (empty for a node never created).
    pub fn node_rows(&self, node: usize) -> &[u32] {
        let (b, e) = self.ranges.get(node).copied().unwrap_or((0, 0));
        &self.rows[b..e]
    }

    /// Whether the root's rows were strictly ascending, so that every node's rows are (splits
    /// keep their order) and a split can be taken back ([`RowPartition::merge_children`]).
    pub fn ascending(&self) -> bool {
        self.largest.is_some() || self.rows.is_empty()
    }

    /// Puts the rows of a split node back in the order they had before the split: ascending, when
    /// [`RowPartition::ascending`] (its children's ranges are then stale). Each child's rows are
    /// ascending runs (a split keeps the order), which the stable sort finds and merges in linear
    /// time, where an unstable sort would sort them anew.
    pub fn merge_children(&mut self, node: usize) {
        if let Some(&(b, e)) = self.ranges.get(node) {
            self.rows[b..e].sort();
        }
    }

    /// Renames the nodes: node `i` becomes `new_ids[i]` (`None`: dropped).
    pub fn renumber(&mut self, new_ids: &[Option<usize>]) {
        let end = new_ids.iter().flatten().max().map_or(0, |m| m + 1);
        let mut ranges = vec![(0, 0); end];
        for (old, new) in new_ids.iter().enumerate() {
            if let Some(new) = new {
                ranges[*new] = self.ranges.get(old).copied().unwrap_or((0, 0));
            }
        }
        self.ranges = ranges;
    }

    /// Number of rows of a node.
    pub fn len(&self, node: usize) -> usize {
        self.node_rows(node).len()
    }

    /// Splits nodes: each task's rows go to its left child when `x < threshold` on the raw feature
    /// value (missing values follow `default_left`), keeping row order. Nodes are partitioned in
    /// parallel, large ones in parallel chunks.
    pub fn apply(&mut self, data: &Dataset, tasks: &[SplitTask]) {
        self.apply_by(tasks, |rows, scratch, t| split_by_value(data, rows, scratch, t));
    }

    /// Like [`RowPartition::apply`], for splits found on `matrix` (binned with `mapper`): reads the
    /// matrix's columns of bins (a value is below cut `b` exactly when its bin is at most `b`, so
    /// both tests agree).
    pub fn apply_binned(&mut self, matrix: &QuantizedMatrix, mapper: &BinMapper, tasks: &[SplitTask]) {
        let largest = self.largest;
        self.apply_by(tasks, |rows, scratch, t| {
            let missing = mapper.feature(t.split.feature).missing_bin();
            match matrix.column(t.split.feature) {
                ColumnBins::U8(col) => split_by_bin(col, missing, rows, scratch, t, largest),
                ColumnBins::U16(col) => split_by_bin(col, missing, rows, scratch, t, largest),
            }
        });
    }

    /// Cuts the row array into the disjoint ranges of the nodes being split, partitions them in
    /// parallel with `split` (which returns how many rows go left) and records the children.
    fn apply_by(&mut self, tasks: &[SplitTask], split: impl Fn(&mut [u32], &mut [u32], &SplitTask) -> usize + Sync) {
        let need = tasks.iter().map(|t| t.left.max(t.right) + 1).max().unwrap_or(0);
        if self.ranges.len() < need {
            self.ranges.resize(need, (0, 0));
        }
        let mut order: Vec<&SplitTask> = tasks.iter().collect();
        order.sort_by_key(|t| self.ranges[t.node].0);
        let mut pieces = Vec::with_capacity(order.len());
        let (mut rows_rest, mut scratch_rest): (&mut [u32], &mut [u32]) = (&mut self.rows, &mut self.scratch);
        let mut consumed = 0;
        for t in &order {
            let (b, e) = self.ranges[t.node];
            let (_, r) = std::mem::take(&mut rows_rest).split_at_mut(b - consumed);
            let (piece, r) = r.split_at_mut(e - b);
            rows_rest = r;
            let (_, s) = std::mem::take(&mut scratch_rest).split_at_mut(b - consumed);
            let (spiece, s) = s.split_at_mut(e - b);
            scratch_rest = s;
            consumed = e;
            pieces.push((piece, spiece, *t));
        }
        let lefts: Vec<usize> = pieces
            .into_par_iter()
            .map(|(rows, scratch, t)| split(rows, scratch, t))
            .collect();
        for (t, nl) in order.iter().zip(lefts) {
            let (b, e) = self.ranges[t.node];
            self.ranges[t.left] = (b, b + nl);
            self.ranges[t.right] = (b + nl, e);
        }
    }
}

/// Partitions one node's rows by the bins `col` of the split feature (`missing` is its missing
/// bin). `largest`: the largest row of the partition, when known (the vector kernel, which reads
/// bins without bounds checks, then runs).
fn split_by_bin<T: BinIndex>(
    col: &[T],
    missing: usize,
    rows: &mut [u32],
    scratch: &mut [u32],
    t: &SplitTask,
    largest: Option<usize>,
) -> usize {
    let default_left = t.split.default_left;
    let words = t
        .split
        .categories
        .as_ref()
        .map(|set| SetWords::new(missing, |b| set.contains(b as u32)));
    let test = match &words {
        Some(words) => words.test(missing, default_left),
        None => RowTest::Threshold(ThresholdTest {
            last: t.split.bin,
            missing,
            default_left,
        }),
    };
    match largest {
        Some(largest) => stable_partition_by(rows, scratch, &|rows, scratch| {
            partition_by_test(rows, scratch, col, test, largest)
        }),
        None => stable_partition_by(rows, scratch, &|rows, scratch| {
            partition_scalar(rows, scratch, col, test)
        }),
    }
}

/// Partitions one node's rows by the raw value of the split feature (read in ascending row order).
fn split_by_value(data: &Dataset, rows: &mut [u32], scratch: &mut [u32], t: &SplitTask) -> usize {
    let col = data.column(t.split.feature);
    if let Some(set) = &t.split.categories {
        let dl = t.split.default_left;
        let goes_left = |x: f32| Tree::goes_left_categorical(x, set, dl);
        return match col {
            Column::Dense(v) => stable_partition(rows, scratch, &|r| goes_left(v[r as usize]), &|_| {}),
            Column::Sparse { .. } => stable_partition(rows, scratch, &|r| goes_left(col.get(r as usize)), &|_| {}),
        };
    }
    let (thr, dl) = (t.split.threshold, t.split.default_left);
    let goes_left = |x: f32| Tree::goes_left(x, thr, dl);
    match col {
        Column::Dense(v) => stable_partition(rows, scratch, &|r| goes_left(v[r as usize]), &|r| {
            prefetch(v.as_ptr().wrapping_add(r as usize))
        }),
        Column::Sparse { .. } => stable_partition(rows, scratch, &|r| goes_left(col.get(r as usize)), &|_| {}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(rows: &[u32], f: impl Fn(u32) -> bool) -> (Vec<u32>, usize) {
        let mut l: Vec<u32> = rows.iter().copied().filter(|r| f(*r)).collect();
        let n = l.len();
        l.extend(rows.iter().copied().filter(|r| !f(*r)));
        (l, n)
    }

    /// Node `node` split on feature 0 at `thr` into `left` and `left + 1`.
    fn split(node: usize, left: usize, thr: f32) -> SplitTask {
        SplitTask {
            node,
            split: crate::train::split::SplitInfo {
                feature: 0,
                bin: 0,
                threshold: thr,
                default_left: false,
                gain: 1.0,
                left: Default::default(),
                right: Default::default(),
                categories: None,
            },
            left,
            right: left + 1,
        }
    }

    /// One feature of `n` rows cycling through 1,000 values.
    fn cycling(n: usize) -> Dataset {
        Dataset::from_columns(vec![(0..n).map(|i| ((i * 7919) % 1000) as f32).collect()]).unwrap()
    }

    #[test]
    fn merging_split_nodes_back_gives_their_ascending_rows() {
        // Above and below the parallel partition's threshold; a child split again, so the node
        // holds three ascending runs.
        for n in [1_000usize, 200_000] {
            let data = cycling(n);
            let all: Vec<u32> = (0..n as u32).filter(|r| r % 3 != 1).collect();
            let mut p = RowPartition::new(all.clone());
            p.apply(&data, &[split(0, 1, 500.0)]);
            p.apply(&data, &[split(1, 3, 100.0)]);
            let node1: Vec<u32> = all
                .iter()
                .copied()
                .filter(|&r| ((r as usize * 7919) % 1000) < 500)
                .collect();
            p.merge_children(1);
            assert_eq!(p.node_rows(1), &node1[..]);
            p.merge_children(0);
            assert_eq!(p.node_rows(0), &all[..]);
        }
    }

    #[test]
    fn adding_leaf_values_matches_one_row_at_a_time() {
        // Above and below PARALLEL_SCATTER_ROWS; ascending rows (the parallel scatter, when long
        // enough) and descending ones (always one row at a time).
        for (n, rows) in [300_000usize, 3_000].into_iter().flat_map(|n| {
            [
                (n, (0..n as u32).collect::<Vec<u32>>()),
                (n, (0..n as u32).rev().collect()),
            ]
        }) {
            let data = cycling(n);
            let mut p = RowPartition::new(rows);
            p.apply(&data, &[split(0, 1, 500.0)]);
            p.apply(&data, &[split(1, 3, 100.0), split(2, 5, 900.0)]);
            let leaves = [(3usize, 1.0), (4, 2.0), (5, 4.0), (6, 8.0)];
            let mut fast = vec![0.5f64; n * 2];
            p.add_to_rows(&leaves, &mut fast, 2, 1);
            let mut slow = vec![0.5f64; n * 2];
            for &(node, v) in &leaves {
                for &r in p.node_rows(node) {
                    slow[r as usize * 2 + 1] += v;
                }
            }
            assert_eq!(fast, slow);
        }
    }

    #[test]
    fn small_and_large_partitions_match_naive() {
        for n in [10usize, 200_000] {
            let mut rows: Vec<u32> = (0..n as u32)
                .map(|i| i.wrapping_mul(2_654_435_761) % (n as u32 * 3))
                .collect();
            let pred = |r: u32| r % 3 == 1 || r.is_multiple_of(7);
            let (want, wl) = naive(&rows, pred);
            let mut scratch = vec![0; n];
            let l = stable_partition(&mut rows, &mut scratch, &pred, &|_| {});
            assert_eq!(l, wl);
            assert_eq!(rows, want);
        }
    }
}
