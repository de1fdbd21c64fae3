//! What TreeSHAP reads of a tree: every node's expected value (the cover-weighted mean of the leaves
//! below it) and every leaf's root-to-leaf path with repeated features merged.
//!
//! A path's *zero fraction* for a feature is the share of the training cover that follows the path
//! through all of the feature's splits on it (the product of `cover[child] / cover[node]` over
//! those splits); a row's *one fraction* is 1 when the row itself follows the path through all of
//! them, else 0. Both are XGBoost's definitions (`RegTree::CalculateContributions`).

use crate::model::tree::Tree;

/// The share of node `node`'s cover that goes to its child `child` (one half when the node has no
/// cover, so that shares still sum to one).
pub(crate) fn cover_share(tree: &Tree, node: usize, child: usize) -> f64 {
    let parent = tree.cover[node] as f64;
    if parent > 0.0 {
        tree.cover[child] as f64 / parent
    } else {
        0.5
    }
}

/// Every node's expected value: a leaf's value, or the cover-weighted mean of the children's
/// expected values (XGBoost's `FillNodeMeanValues`). Entry 0 is the tree's expected value.
pub(crate) fn node_means(tree: &Tree) -> Vec<f64> {
    let mut mean = vec![0f64; tree.num_nodes()];
    // Children have larger indices than their parents in every tree Sylvan builds or imports, but
    // the walk does not rely on it: an explicit post-order stack.
    let mut stack = vec![(0usize, false)];
    while let Some((i, children_done)) = stack.pop() {
        if tree.is_leaf(i) {
            mean[i] = tree.value[i] as f64;
        } else if children_done {
            let (l, r) = (tree.left[i] as usize, tree.right[i] as usize);
            mean[i] = cover_share(tree, i, l) * mean[l] + cover_share(tree, i, r) * mean[r];
        } else {
            stack.push((i, true));
            stack.push((tree.left[i] as usize, false));
            stack.push((tree.right[i] as usize, false));
        }
    }
    mean
}

/// One split on a leaf's path: the node, whether the path goes left there, and the index of the
/// node's feature among the path's distinct features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PathStep {
    /// The internal node.
    pub node: u32,
    /// Whether the path leaves the node by its left child.
    pub goes_left: bool,
    /// Index into [`LeafPath::features`].
    pub unique: u16,
}

/// A leaf and the splits on its path from the root, with repeated features merged.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LeafPath {
    /// The leaf's value.
    pub value: f64,
    /// The distinct features split on along the path, in order of first appearance.
    pub features: Vec<u32>,
    /// For each distinct feature, its zero fraction (see the module comment).
    pub zero: Vec<f64>,
    /// The splits, root first.
    pub steps: Vec<PathStep>,
}

impl LeafPath {
    /// Number of distinct features on the path.
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// The row's one fractions (`value(f)` = its value of feature `f`): entry `u` is true when the
    /// row follows the path through every split on distinct feature `u`.
    #[cfg(test)]
    pub fn ones_into(&self, tree: &Tree, value: impl Fn(usize) -> f32, ones: &mut Vec<bool>) {
        ones.clear();
        ones.resize(self.len(), true);
        for s in &self.steps {
            let n = s.node as usize;
            if tree.node_goes_left(n, value(tree.feature[n] as usize)) != s.goes_left {
                ones[s.unique as usize] = false;
            }
        }
    }
}

/// The paths of every leaf of `tree`, in depth-first order (left before right). A tree that is a
/// single leaf has one path without steps.
pub(crate) fn leaf_paths(tree: &Tree) -> Vec<LeafPath> {
    let mut out = Vec::with_capacity(tree.num_leaves());
    let mut path = LeafPath {
        value: 0.0,
        features: Vec::new(),
        zero: Vec::new(),
        steps: Vec::new(),
    };
    collect(tree, 0, &mut path, &mut out);
    out
}

fn collect(tree: &Tree, node: usize, path: &mut LeafPath, out: &mut Vec<LeafPath>) {
    if tree.is_leaf(node) {
        let mut leaf = path.clone();
        leaf.value = tree.value[node] as f64;
        out.push(leaf);
        return;
    }
    let f = tree.feature[node];
    for (child, goes_left) in [(tree.left[node] as usize, true), (tree.right[node] as usize, false)] {
        let share = cover_share(tree, node, child);
        let (features, zero, steps) = (path.features.len(), path.zero.clone(), path.steps.len());
        let unique = match path.features.iter().position(|g| *g == f) {
            Some(u) => {
                path.zero[u] *= share;
                u
            }
            None => {
                path.features.push(f);
                path.zero.push(share);
                path.features.len() - 1
            }
        };
        path.steps.push(PathStep {
            node: node as u32,
            goes_left,
            unique: unique as u16,
        });
        collect(tree, child, path, out);
        path.features.truncate(features);
        path.zero = zero;
        path.steps.truncate(steps);
    }
}
