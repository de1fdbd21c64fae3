//! Tree growers — depth-wise (level by level) and loss-guided (best-first) — written against the
//! [`TreeBackend`] trait, the one seam between the growth algorithm and the hardware or split
//! method that computes statistics.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::error::Result;
use crate::gradients::GradStats;
use crate::params::GrowPolicy;
use crate::train::constraints::interaction::{allowed_features, extend_path, PathFeatures};
use crate::train::constraints::monotone::{bounded_weight, Bounds, Monotone};
use crate::train::constraints::TreeConstraints;
use crate::train::sampling::ColumnSampler;
use crate::train::split::SplitInfo;
use crate::util::profile::{self, Phase};

/// A node whose best split is wanted: its id, its sums, the features it may split on, and the
/// monotone constraints its split must obey.
#[derive(Debug, Clone)]
pub struct SplitRequest<'c> {
    /// Node id.
    pub node: usize,
    /// Sum of the node's gradient pairs.
    pub stats: GradStats,
    /// Features the node may split on (ascending).
    pub features: Vec<usize>,
    /// The features' monotone constraints and the node's bounds ([`Monotone::NONE`] when no
    /// feature is constrained).
    pub monotone: Monotone<'c>,
}

/// A split to carry out: node `node` becomes the parent of `left` and `right`.
#[derive(Debug, Clone)]
pub struct SplitTask {
    /// The node being split.
    pub node: usize,
    /// The split.
    pub split: SplitInfo,
    /// Id of the new left child.
    pub left: usize,
    /// Id of the new right child.
    pub right: usize,
}

/// What a grower needs from whoever holds the data: sums, best splits, and row partitioning.
/// The CPU histogram method implements it (`train/cpu_backend.rs`), so does the exact method
/// (`train/exact.rs`) and the GPU backend of `sylvan-gpu`. The methods that reach an accelerator can fail
/// (a driver error), so they return [`Result`].
pub trait TreeBackend {
    /// Sum of the gradient pairs of the root (all rows of this tree).
    fn root_stats(&self) -> GradStats;
    /// The best split of each requested node (`None` where no split improves the loss).
    fn find_splits(&mut self, requests: &[SplitRequest]) -> Result<Vec<Option<SplitInfo>>>;
    /// Carries out splits, moving each node's rows to its two children.
    fn apply_splits(&mut self, tasks: &[SplitTask]) -> Result<()>;
    /// The rows of a node (after the splits applied so far).
    fn node_rows(&self, node: usize) -> Result<&[u32]>;
    /// Whether the backend can take splits back ([`TreeBackend::undo_split`]) and rename nodes
    /// ([`TreeBackend::renumber`]), so that loss-guided growth may expand several leaves at once
    /// and keep only those best-first growth would have expanded.
    fn can_speculate(&self) -> bool {
        false
    }
    /// Makes `node`, split by [`TreeBackend::apply_splits`], one node again: its rows back in the
    /// order they had before it was split (its descendants are forgotten).
    fn undo_split(&mut self, _node: usize) -> Result<()> {
        Err(crate::error::Error::data("this split method cannot take splits back"))
    }
    /// Renames the nodes: node `i` becomes `new_ids[i]` (`None`: dropped).
    fn renumber(&mut self, _new_ids: &[Option<usize>]) -> Result<()> {
        Err(crate::error::Error::data("this split method cannot rename nodes"))
    }
    /// Adds each `(node, value)`'s value to `out[r * stride + offset]` for every row `r` of the node
    /// (the nodes are leaves of the tree just grown, so no row appears twice).
    fn add_to_rows(&self, nodes: &[(usize, f64)], out: &mut [f64], stride: usize, offset: usize) -> Result<()> {
        for &(node, v) in nodes {
            for &r in self.node_rows(node)? {
                out[r as usize * stride + offset] += v;
            }
        }
        Ok(())
    }
    /// Sets `out[r] = slot` for every row `r` of each `(node, slot)` (the leaves of the tree just
    /// grown, so no row is written twice).
    fn mark_rows(&self, nodes: &[(usize, u8)], out: &mut [u8]) -> Result<()> {
        for &(node, slot) in nodes {
            for &r in self.node_rows(node)? {
                out[r as usize] = slot;
            }
        }
        Ok(())
    }
}

/// A node of a tree during training.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainNode {
    /// Depth (root = 0).
    pub depth: usize,
    /// Sum of the node's gradient pairs.
    pub stats: GradStats,
    /// The split, for internal nodes.
    pub split: Option<SplitInfo>,
    /// Left child id (internal nodes).
    pub left: usize,
    /// Right child id (internal nodes).
    pub right: usize,
    /// Bounds on the node's (unshrunk) weight under monotone constraints; unbounded otherwise.
    pub bounds: Bounds,
}

impl TrainNode {
    fn leaf(depth: usize, stats: GradStats, bounds: Bounds) -> TrainNode {
        TrainNode {
            depth,
            stats,
            split: None,
            left: 0,
            right: 0,
            bounds,
        }
    }

    /// Whether the node is a leaf.
    pub fn is_leaf(&self) -> bool {
        self.split.is_none()
    }
}

/// Limits on the shape of a tree.
#[derive(Debug, Clone, Copy)]
pub struct GrowLimits {
    /// Expansion order.
    pub policy: GrowPolicy,
    /// Maximum depth; 0 = none.
    pub max_depth: usize,
    /// Maximum leaves; 0 = none.
    pub max_leaves: usize,
}

impl GrowLimits {
    /// Whether every tree grown within these limits has at most `leaves` leaves.
    pub(crate) fn at_most_leaves(&self, leaves: usize) -> bool {
        let by_leaves = self.max_leaves > 0 && self.max_leaves <= leaves;
        let by_depth =
            self.max_depth > 0 && self.max_depth < usize::BITS as usize && 1usize << self.max_depth <= leaves;
        by_leaves || by_depth
    }

    fn depth_allows_split(&self, depth: usize) -> bool {
        self.max_depth == 0 || depth < self.max_depth
    }
}

/// Grows one tree under `constraints`. Node 0 is the root; children always get larger ids than
/// their parent.
pub fn grow_tree(
    backend: &mut dyn TreeBackend,
    limits: &GrowLimits,
    columns: &ColumnSampler,
    constraints: &TreeConstraints<'_>,
) -> Result<Vec<TrainNode>> {
    let root = TrainNode::leaf(0, backend.root_stats(), Bounds::UNBOUNDED);
    let mut g = Grower {
        backend,
        limits,
        columns,
        cons: *constraints,
        paths: if constraints.interaction.is_empty() {
            Vec::new()
        } else {
            vec![PathFeatures::new()]
        },
        nodes: vec![root],
    };
    if limits.depth_allows_split(0) {
        match limits.policy {
            GrowPolicy::Depthwise => g.grow_depthwise()?,
            GrowPolicy::Lossguide => g.grow_lossguide()?,
        }
    }
    Ok(g.nodes)
}

/// One tree being grown: the backend, the limits and constraints, and the nodes so far.
struct Grower<'g, 'c> {
    backend: &'g mut dyn TreeBackend,
    limits: &'g GrowLimits,
    columns: &'g ColumnSampler,
    cons: TreeConstraints<'c>,
    nodes: Vec<TrainNode>,
    /// Per node: the features used on its path (kept only under interaction constraints).
    paths: Vec<PathFeatures>,
}

impl<'c> Grower<'_, 'c> {
    fn request(&self, id: usize) -> SplitRequest<'c> {
        let node = &self.nodes[id];
        let mut features = self.columns.features(node.depth, id);
        if !self.cons.interaction.is_empty() {
            features = allowed_features(self.cons.interaction, &self.paths[id], features);
        }
        let monotone = if self.cons.monotone.is_empty() {
            Monotone::NONE
        } else {
            Monotone {
                constraints: self.cons.monotone,
                bounds: node.bounds,
            }
        };
        SplitRequest {
            node: id,
            stats: node.stats,
            features,
            monotone,
        }
    }

    /// The best split of each of `ids`. Under interaction constraints a node left with no feature
    /// to split on is not asked about (and gets `None`).
    fn find(&mut self, ids: &[usize]) -> Result<Vec<Option<SplitInfo>>> {
        let _phase = profile::enter(Phase::SplitSearch);
        let requests: Vec<SplitRequest> = ids.iter().map(|&id| self.request(id)).collect();
        if self.cons.interaction.is_empty() || requests.iter().all(|r| !r.features.is_empty()) {
            return self.backend.find_splits(&requests);
        }
        let (asked, empty): (Vec<SplitRequest>, Vec<SplitRequest>) =
            requests.into_iter().partition(|r| !r.features.is_empty());
        let mut found = if asked.is_empty() {
            Vec::new()
        } else {
            self.backend.find_splits(&asked)?
        }
        .into_iter();
        let mut out = Vec::with_capacity(ids.len());
        let skipped: Vec<usize> = empty.iter().map(|r| r.node).collect();
        for id in ids {
            out.push(if skipped.contains(id) {
                None
            } else {
                found.next().flatten()
            });
        }
        Ok(out)
    }

    /// Adds the two children of `node` (with their bounds and paths) and returns the task that
    /// creates them.
    fn add_children(&mut self, node: usize, split: SplitInfo) -> SplitTask {
        let parent = &self.nodes[node];
        let depth = parent.depth + 1;
        let (lb, rb) = if self.cons.monotone.is_empty() {
            (parent.bounds, parent.bounds)
        } else {
            let sp = self.cons.split;
            let wl = bounded_weight(split.left, sp, parent.bounds);
            let wr = bounded_weight(split.right, sp, parent.bounds);
            let c = self.cons.monotone.get(split.feature).copied().unwrap_or(0);
            parent.bounds.children(c, wl, wr)
        };
        if !self.paths.is_empty() {
            let path = extend_path(&self.paths[node], split.feature);
            self.paths.push(path.clone());
            self.paths.push(path);
        }
        let nodes = &mut self.nodes;
        let left = nodes.len();
        nodes.push(TrainNode::leaf(depth, split.left, lb));
        nodes.push(TrainNode::leaf(depth, split.right, rb));
        nodes[node].split = Some(split.clone());
        nodes[node].left = left;
        nodes[node].right = left + 1;
        SplitTask {
            node,
            split,
            left,
            right: left + 1,
        }
    }

    fn grow_depthwise(&mut self) -> Result<()> {
        let limits = *self.limits;
        let mut frontier = vec![0usize];
        let mut splits = self.find(&frontier)?;
        let mut num_leaves = 1;
        loop {
            let mut tasks = Vec::new();
            for (&id, split) in frontier.iter().zip(&splits) {
                let Some(split) = split else { continue };
                if limits.max_leaves > 0 && num_leaves >= limits.max_leaves {
                    break;
                }
                tasks.push(self.add_children(id, split.clone()));
                num_leaves += 1;
            }
            if tasks.is_empty() {
                return Ok(());
            }
            {
                let _phase = profile::enter(Phase::Partition);
                self.backend.apply_splits(&tasks)?;
            }
            frontier = tasks.iter().flat_map(|t| [t.left, t.right]).collect();
            let depth = self.nodes[frontier[0]].depth;
            if !limits.depth_allows_split(depth) || (limits.max_leaves > 0 && num_leaves >= limits.max_leaves) {
                return Ok(());
            }
            splits = self.find(&frontier)?;
        }
    }

    fn grow_lossguide(&mut self) -> Result<()> {
        // Node ids seed the by-node column draws, so only growth that numbers nodes in the
        // sequential order may draw them.
        if self.backend.can_speculate() && !self.columns.draws_by_node() && self.limits.max_leaves != 1 {
            return self.grow_lossguide_speculative();
        }
        let limits = *self.limits;
        let mut heap = BinaryHeap::new();
        // Per node: its best split, once found.
        let mut best: Vec<Option<SplitInfo>> = self.find(&[0])?;
        if let Some(Some(split)) = best.first() {
            heap.push(Candidate {
                gain: split.gain,
                node: 0,
                at: 0,
            });
        }
        let mut num_leaves = 1;
        while let Some(c) = heap.pop() {
            if limits.max_leaves > 0 && num_leaves >= limits.max_leaves {
                break;
            }
            let split = best[c.node].take().expect("a candidate has a split");
            let task = self.add_children(c.node, split);
            num_leaves += 1;
            let (left, right) = (task.left, task.right);
            {
                let _phase = profile::enter(Phase::Partition);
                self.backend.apply_splits(&[task])?;
            }
            if limits.max_leaves > 0 && num_leaves >= limits.max_leaves {
                // No further split may be made: the children's best splits are not wanted.
                break;
            }
            if !limits.depth_allows_split(self.nodes[left].depth) {
                continue;
            }
            best.resize(self.nodes.len(), None);
            for (node, s) in [left, right].into_iter().zip(self.find(&[left, right])?) {
                if let Some(s) = &s {
                    heap.push(Candidate {
                        gain: s.gain,
                        node,
                        at: node,
                    });
                }
                best[node] = s;
            }
        }
        Ok(())
    }
}

/// Leaves expanded together by speculative loss-guided growth: the one best-first growth expands
/// next and the next best leaves it already knows of. Two keep both threads of a 2-core machine
/// busy, on leaves best-first growth nearly always expands later.
const SPECULATION_WIDTH: usize = 2;

/// Best-first growth replayed over the splits speculative growth has found so far, with the ids
/// and tie-breaks it gives the nodes. Expansions only add nodes below those the replay has passed,
/// so it resumes where it stopped.
struct Replay {
    heap: BinaryHeap<Candidate>,
    /// The nodes expanded in best-first order so far.
    order: Vec<usize>,
    num_leaves: usize,
    /// The leaf it waits for (expanded next).
    pending: Option<Candidate>,
}

/// What the replay needs next.
enum Next {
    /// Nothing: `Replay::order` is best-first growth's.
    Done,
    /// The first of these leaves expanded (the others are the next best it knows of).
    Expand(Vec<usize>),
}

impl Replay {
    fn new(root: &Option<SplitInfo>) -> Replay {
        let mut heap = BinaryHeap::new();
        if let Some(s) = root {
            heap.push(Candidate {
                gain: s.gain,
                node: 0,
                at: 0,
            });
        }
        Replay {
            heap,
            order: Vec::new(),
            num_leaves: 1,
            pending: None,
        }
    }

    /// Goes on until best-first growth is complete or needs a leaf not yet expanded.
    fn advance(&mut self, nodes: &[TrainNode], best: &[Option<SplitInfo>], limits: &GrowLimits) -> Next {
        let full = |leaves: usize| limits.max_leaves > 0 && leaves >= limits.max_leaves;
        while let Some(c) = self.pending.take().or_else(|| self.heap.pop()) {
            if full(self.num_leaves) {
                return Next::Done;
            }
            let node = &nodes[c.at];
            if node.is_leaf() {
                // The next best leaf is expanded with it, when one more leaf could still grow.
                let mut batch = vec![c.at];
                if SPECULATION_WIDTH > 1 && !full(self.num_leaves + 1) {
                    if let Some(next) = self.heap.peek().filter(|n| nodes[n.at].is_leaf()) {
                        batch.push(next.at);
                    }
                }
                self.pending = Some(c);
                return Next::Expand(batch);
            }
            let sequential = 2 * self.order.len();
            self.order.push(c.at);
            self.num_leaves += 1;
            if full(self.num_leaves) {
                return Next::Done;
            }
            if !limits.depth_allows_split(node.depth + 1) {
                continue;
            }
            for (child, id) in [(node.left, sequential + 1), (node.right, sequential + 2)] {
                if let Some(s) = &best[child] {
                    self.heap.push(Candidate {
                        gain: s.gain,
                        node: id,
                        at: child,
                    });
                }
            }
        }
        Next::Done
    }
}

impl<'c> Grower<'_, 'c> {
    /// Loss-guided growth that expands up to [`SPECULATION_WIDTH`] leaves at a time (one
    /// partition and one histogram step for all of them, in parallel) and keeps exactly the tree
    /// [`Grower::grow_lossguide`] grows: best-first growth is replayed over the splits found so far
    /// ([`Replay`]); when it is complete, expansions it does not reach are taken back and the nodes
    /// are renumbered in its order.
    fn grow_lossguide_speculative(&mut self) -> Result<()> {
        // Per node: its best split, once asked for.
        let mut best: Vec<Option<SplitInfo>> = vec![self.find(&[0])?.into_iter().next().flatten()];
        let mut replay = Replay::new(&best[0]);
        while let Next::Expand(batch) = replay.advance(&self.nodes, &best, self.limits) {
            let tasks: Vec<SplitTask> = batch
                .iter()
                .map(|&id| {
                    let split = best[id].clone().expect("a leaf to expand has a split");
                    self.add_children(id, split)
                })
                .collect();
            {
                let _phase = profile::enter(Phase::Partition);
                self.backend.apply_splits(&tasks)?;
            }
            best.resize(self.nodes.len(), None);
            let children: Vec<usize> = tasks
                .iter()
                .filter(|t| self.limits.depth_allows_split(self.nodes[t.left].depth))
                .flat_map(|t| [t.left, t.right])
                .collect();
            if !children.is_empty() {
                for (node, split) in children.iter().zip(self.find(&children)?) {
                    best[*node] = split;
                }
            }
        }
        self.keep_expansions(&replay.order)
    }

    /// Keeps the expansions of `order` (best-first growth's, in its order): takes back the
    /// others and renumbers the nodes as best-first growth numbers them.
    fn keep_expansions(&mut self, order: &[usize]) -> Result<()> {
        let mut new_ids: Vec<Option<usize>> = vec![None; self.nodes.len()];
        new_ids[0] = Some(0);
        for (i, &node) in order.iter().enumerate() {
            new_ids[self.nodes[node].left] = Some(2 * i + 1);
            new_ids[self.nodes[node].right] = Some(2 * i + 2);
        }
        let kept: std::collections::HashSet<usize> = order.iter().copied().collect();
        // Expanded nodes that stay leaves (their descendants go with them).
        for (id, new) in new_ids.iter().enumerate() {
            if new.is_some() && !self.nodes[id].is_leaf() && !kept.contains(&id) {
                self.backend.undo_split(id)?;
                let node = &mut self.nodes[id];
                node.split = None;
                (node.left, node.right) = (0, 0);
            }
        }
        self.backend.renumber(&new_ids)?;
        let mut nodes = vec![None; 2 * order.len() + 1];
        for (id, node) in std::mem::take(&mut self.nodes).into_iter().enumerate() {
            if let Some(new) = new_ids[id] {
                let mut node = node;
                if !node.is_leaf() {
                    node.left = new_ids[node.left].expect("a kept node's children are kept");
                    node.right = new_ids[node.right].expect("a kept node's children are kept");
                }
                nodes[new] = Some(node);
            }
        }
        self.nodes = nodes
            .into_iter()
            .map(|n| n.expect("best-first ids are consecutive"))
            .collect();
        Ok(())
    }
}

/// A leaf waiting to be split, ordered by gain (ties: the older node first).
struct Candidate {
    gain: f64,
    /// The node's id in best-first order (the tie-break).
    node: usize,
    /// Where the node is in the grower's nodes (its id, but in speculative growth).
    at: usize,
}

impl PartialEq for Candidate {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Candidate {}
impl PartialOrd for Candidate {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Candidate {
    fn cmp(&self, o: &Self) -> Ordering {
        self.gain.total_cmp(&o.gain).then_with(|| o.node.cmp(&self.node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bins::cuts::BinMapper;
    use crate::bins::matrix::QuantizedMatrix;
    use crate::data::dataset::Dataset;
    use crate::gradients::GradPair;
    use crate::train::cpu_backend::HistBackend;
    use crate::train::split::SplitParams;
    use proptest::prelude::*;

    /// A backend that hides its ability to speculate: loss-guided growth then expands one leaf at
    /// a time.
    struct OneAtATime<'b>(&'b mut dyn TreeBackend);

    impl TreeBackend for OneAtATime<'_> {
        fn root_stats(&self) -> GradStats {
            self.0.root_stats()
        }
        fn find_splits(&mut self, requests: &[SplitRequest]) -> Result<Vec<Option<SplitInfo>>> {
            self.0.find_splits(requests)
        }
        fn apply_splits(&mut self, tasks: &[SplitTask]) -> Result<()> {
            self.0.apply_splits(tasks)
        }
        fn node_rows(&self, node: usize) -> Result<&[u32]> {
            self.0.node_rows(node)
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(40))]

        /// Speculative loss-guided growth grows the tree one-at-a-time growth grows: the same
        /// nodes under the same ids, and every leaf with the same rows in the same order, for any
        /// leaf budget and depth limit (the budget ends in the middle of speculation too), with
        /// and without row sampling.
        #[test]
        fn speculative_growth_is_best_first_growth(
            values in proptest::collection::vec((0u8..40, 0u8..12, -30i32..30, 0u8..4), 50..400),
            max_leaves in 0usize..40,
            max_depth in 0usize..7,
            every_other_row in any::<bool>(),
        ) {
            let cols = vec![
                values.iter().map(|v| v.0 as f32).collect::<Vec<f32>>(),
                values.iter().map(|v| v.1 as f32).collect(),
                values.iter().map(|v| v.3 as f32).collect(),
            ];
            let data = Dataset::from_columns(cols).unwrap();
            let mapper = BinMapper::fit(&data, 16);
            let matrix = QuantizedMatrix::build(&data, &mapper);
            let pairs: Vec<GradPair> = values
                .iter()
                .map(|v| GradPair::new(v.2 as f32 / 10.0, 1.0 + v.3 as f32 / 4.0))
                .collect();
            let rows: Vec<u32> = (0..values.len() as u32).filter(|r| !every_other_row || r % 2 == 0).collect();
            let split = SplitParams::from_params(&crate::params::Params::default());
            let limits = GrowLimits { policy: GrowPolicy::Lossguide, max_depth, max_leaves };
            let columns = ColumnSampler::new(3, 1.0, 1.0, 1.0, max_depth, 1, 0, 0);
            let constraints = TreeConstraints { monotone: &[], interaction: &[], split: &split };
            let mut speculative = HistBackend::new(&matrix, &mapper, &pairs, rows.clone(), split);
            prop_assert!(speculative.can_speculate());
            let mut plain = HistBackend::new(&matrix, &mapper, &pairs, rows, split);
            let want = grow_tree(&mut OneAtATime(&mut plain), &limits, &columns, &constraints).unwrap();
            let got = grow_tree(&mut speculative, &limits, &columns, &constraints).unwrap();
            prop_assert_eq!(&got, &want);
            for (id, node) in want.iter().enumerate() {
                if node.is_leaf() {
                    prop_assert_eq!(speculative.node_rows(id).unwrap(), plain.node_rows(id).unwrap());
                }
            }
        }
    }
}
