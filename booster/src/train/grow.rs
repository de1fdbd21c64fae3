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
        let limits = *self.limits;
        let mut heap = BinaryHeap::new();
        if let Some(Some(split)) = self.find(&[0])?.first() {
            heap.push(Candidate {
                gain: split.gain,
                node: 0,
                split: split.clone(),
            });
        }
        let mut num_leaves = 1;
        while let Some(c) = heap.pop() {
            if limits.max_leaves > 0 && num_leaves >= limits.max_leaves {
                break;
            }
            let task = self.add_children(c.node, c.split);
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
            for (node, s) in [left, right].into_iter().zip(self.find(&[left, right])?) {
                if let Some(s) = s {
                    heap.push(Candidate {
                        gain: s.gain,
                        node,
                        split: s,
                    });
                }
            }
        }
        Ok(())
    }
}

/// A leaf waiting to be split, ordered by gain (ties: the older node first).
struct Candidate {
    gain: f64,
    node: usize,
    split: SplitInfo,
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
