//! Tree growers — depth-wise (level by level) and loss-guided (best-first) — written against the
//! [`TreeBackend`] trait, the one seam between the growth algorithm and the hardware or split
//! method that computes statistics.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::error::Result;
use crate::gradients::GradStats;
use crate::params::GrowPolicy;
use crate::train::sampling::ColumnSampler;
use crate::train::split::SplitInfo;

/// A node whose best split is wanted: its id, its sums, and the features it may split on.
#[derive(Debug, Clone)]
pub struct SplitRequest {
    /// Node id.
    pub node: usize,
    /// Sum of the node's gradient pairs.
    pub stats: GradStats,
    /// Features the node may split on (ascending).
    pub features: Vec<usize>,
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
}

impl TrainNode {
    fn leaf(depth: usize, stats: GradStats) -> TrainNode {
        TrainNode {
            depth,
            stats,
            split: None,
            left: 0,
            right: 0,
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

/// Grows one tree. Node 0 is the root; children always get larger ids than their parent.
pub fn grow_tree(
    backend: &mut dyn TreeBackend,
    limits: &GrowLimits,
    columns: &ColumnSampler,
) -> Result<Vec<TrainNode>> {
    let mut nodes = vec![TrainNode::leaf(0, backend.root_stats())];
    if !limits.depth_allows_split(0) {
        return Ok(nodes);
    }
    match limits.policy {
        GrowPolicy::Depthwise => grow_depthwise(backend, limits, columns, &mut nodes)?,
        GrowPolicy::Lossguide => grow_lossguide(backend, limits, columns, &mut nodes)?,
    }
    Ok(nodes)
}

fn request(nodes: &[TrainNode], id: usize, columns: &ColumnSampler) -> SplitRequest {
    SplitRequest {
        node: id,
        stats: nodes[id].stats,
        features: columns.features(nodes[id].depth, id),
    }
}

/// Adds the two children of `node` and returns the task that creates them.
fn add_children(nodes: &mut Vec<TrainNode>, node: usize, split: SplitInfo) -> SplitTask {
    let depth = nodes[node].depth + 1;
    let left = nodes.len();
    nodes.push(TrainNode::leaf(depth, split.left));
    nodes.push(TrainNode::leaf(depth, split.right));
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

fn grow_depthwise(
    backend: &mut dyn TreeBackend,
    limits: &GrowLimits,
    columns: &ColumnSampler,
    nodes: &mut Vec<TrainNode>,
) -> Result<()> {
    let mut frontier = vec![0usize];
    let mut splits = backend.find_splits(&[request(nodes, 0, columns)])?;
    let mut num_leaves = 1;
    loop {
        let mut tasks = Vec::new();
        for (&id, split) in frontier.iter().zip(&splits) {
            let Some(split) = split else { continue };
            if limits.max_leaves > 0 && num_leaves >= limits.max_leaves {
                break;
            }
            tasks.push(add_children(nodes, id, split.clone()));
            num_leaves += 1;
        }
        if tasks.is_empty() {
            return Ok(());
        }
        backend.apply_splits(&tasks)?;
        frontier = tasks.iter().flat_map(|t| [t.left, t.right]).collect();
        let depth = nodes[frontier[0]].depth;
        if !limits.depth_allows_split(depth) || (limits.max_leaves > 0 && num_leaves >= limits.max_leaves) {
            return Ok(());
        }
        let requests: Vec<SplitRequest> = frontier.iter().map(|&id| request(nodes, id, columns)).collect();
        splits = backend.find_splits(&requests)?;
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

fn grow_lossguide(
    backend: &mut dyn TreeBackend,
    limits: &GrowLimits,
    columns: &ColumnSampler,
    nodes: &mut Vec<TrainNode>,
) -> Result<()> {
    let mut heap = BinaryHeap::new();
    if let Some(Some(split)) = backend.find_splits(&[request(nodes, 0, columns)])?.first() {
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
        let task = add_children(nodes, c.node, c.split);
        num_leaves += 1;
        let (left, right) = (task.left, task.right);
        backend.apply_splits(&[task])?;
        if !limits.depth_allows_split(nodes[left].depth) {
            continue;
        }
        let requests = [request(nodes, left, columns), request(nodes, right, columns)];
        for (r, s) in requests.iter().zip(backend.find_splits(&requests)?) {
            if let Some(s) = s {
                heap.push(Candidate {
                    gain: s.gain,
                    node: r.node,
                    split: s,
                });
            }
        }
    }
    Ok(())
}
