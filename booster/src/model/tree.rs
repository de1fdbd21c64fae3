//! The inference tree: a flat structure of arrays, separate from the training-time nodes.
//!
//! Node `i` is a leaf when `left[i] == -1`. An internal node sends a row left when
//! `x[feature[i]] < threshold[i]`, right otherwise, and missing values (NaN) to `default_left[i]`.
//! A node with a category set (see [`TreeCategories`]) sends a row left when its category is in
//! the set instead. Leaf values already include the learning rate.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::categories::{CategorySet, TreeCategories};

/// A regression tree laid out as parallel arrays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Tree {
    /// Left child of each node; -1 for leaves.
    pub left: Vec<i32>,
    /// Right child of each node; -1 for leaves.
    pub right: Vec<i32>,
    /// Split feature of each internal node (0 for leaves).
    pub feature: Vec<u32>,
    /// Split threshold: go left when `x < threshold`. May be infinite (an imported LightGBM
    /// model's `x <= f64::MAX`, say, is `x < inf`); JSON writes an infinity as `"inf"`/`"-inf"`.
    #[serde(with = "thresholds")]
    pub threshold: Vec<f32>,
    /// Whether missing values go left.
    pub default_left: Vec<bool>,
    /// Leaf value (leaves) or the weight the node would have as a leaf (internal nodes).
    pub value: Vec<f32>,
    /// Loss change of each split (0 for leaves).
    pub gain: Vec<f32>,
    /// Sum of hessians of the training rows in each node.
    pub cover: Vec<f32>,
    /// The nodes that split by a category set, and their sets (empty for a tree of threshold
    /// splits only; the threshold of a category-set node is unused and 0). In JSON the field is
    /// left out when empty; the binary format carries it in its own section.
    #[serde(
        default,
        skip_serializing_if = "TreeCategories::is_empty",
        with = "crate::model::persist::text_only"
    )]
    pub categories: TreeCategories,
}

impl Tree {
    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.left.len()
    }

    /// Whether node `i` is a leaf.
    #[inline]
    pub fn is_leaf(&self, i: usize) -> bool {
        self.left[i] < 0
    }

    /// Number of leaves.
    pub fn num_leaves(&self) -> usize {
        self.left.iter().filter(|l| **l < 0).count()
    }

    /// The split-routing rule every walk of a tree follows (training partitions, every prediction
    /// layout, exports): a missing value (NaN) goes to the default direction, any other value goes
    /// left when it is below the threshold.
    #[inline(always)]
    pub fn goes_left(x: f32, threshold: f32, default_left: bool) -> bool {
        if x.is_nan() {
            default_left
        } else {
            x < threshold
        }
    }

    /// The routing rule of a category-set split: a missing value (NaN) goes to the default
    /// direction, a category in `set` goes left, anything else (another category, one unseen in
    /// training, a value that is no category code) goes right.
    #[inline(always)]
    pub fn goes_left_categorical(x: f32, set: &CategorySet, default_left: bool) -> bool {
        if x.is_nan() {
            default_left
        } else {
            set.contains_value(x)
        }
    }

    /// Whether inner node `i` sends a row whose split feature has the value `x` left.
    #[inline]
    pub fn node_goes_left(&self, i: usize, x: f32) -> bool {
        match self.categories.set_of(i) {
            Some(set) => Tree::goes_left_categorical(x, set, self.default_left[i]),
            None => Tree::goes_left(x, self.threshold[i], self.default_left[i]),
        }
    }

    /// The category set of node `i`, when it splits by one.
    #[inline]
    pub fn category_set(&self, i: usize) -> Option<&CategorySet> {
        self.categories.set_of(i)
    }

    /// Whether any node of the tree splits by a category set.
    pub fn has_category_splits(&self) -> bool {
        !self.categories.is_empty()
    }

    /// The child of inner node `i` that a row whose feature `f` has the value `value(f)` goes to
    /// (see [`Tree::goes_left`] and [`Tree::goes_left_categorical`]).
    #[inline]
    pub fn child_by(&self, i: usize, value: impl Fn(usize) -> f32) -> usize {
        let x = value(self.feature[i] as usize);
        let left = self.node_goes_left(i, x);
        (if left { self.left[i] } else { self.right[i] }) as usize
    }

    /// The child of inner node `i` that a row (all features, indexed by feature id) goes to.
    #[inline]
    pub fn child(&self, i: usize, row: &[f32]) -> usize {
        self.child_by(i, |f| row[f])
    }

    /// The leaf a row whose feature `f` has the value `value(f)` falls in.
    #[inline]
    pub fn leaf_by(&self, value: impl Fn(usize) -> f32) -> usize {
        let mut i = 0usize;
        while self.left[i] >= 0 {
            i = self.child_by(i, &value);
        }
        i
    }

    /// The leaf a row (all features, indexed by feature id) falls in.
    #[inline]
    pub fn leaf_index(&self, row: &[f32]) -> usize {
        self.leaf_by(|f| row[f])
    }

    /// The tree with every node value multiplied by `weight` (a DART tree weight): the f32
    /// products prediction adds, so that a weighted model predicts as its scaled trees do.
    pub fn scaled(&self, weight: f32) -> Tree {
        let mut t = self.clone();
        for v in t.value.iter_mut() {
            *v *= weight;
        }
        t
    }

    /// The value of the leaf a row falls in.
    #[inline]
    pub fn predict_row(&self, row: &[f32]) -> f32 {
        self.value[self.leaf_index(row)]
    }

    /// The root's split as `(feature, threshold)`, or `None` for a single-leaf tree.
    pub fn root_split(&self) -> Option<(usize, f32)> {
        (!self.is_leaf(0)).then(|| (self.feature[0] as usize, self.threshold[0]))
    }

    /// Depth of the deepest leaf (a single leaf has depth 0).
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.num_nodes()];
        let mut max = 0;
        for i in 0..self.num_nodes() {
            if !self.is_leaf(i) {
                for c in [self.left[i], self.right[i]] {
                    depth[c as usize] = depth[i] + 1;
                    max = max.max(depth[i] + 1);
                }
            }
        }
        max
    }

    /// Checks that the arrays agree in length, children come after their parent (so there are no
    /// cycles), every non-root node has exactly one parent, split features are below
    /// `num_features`, no threshold is NaN, and every value, gain and cover is finite. Loading a model runs this so that prediction can never index out of bounds.
    pub fn validate(&self, num_features: usize) -> Result<()> {
        let n = self.left.len();
        if n == 0 {
            return Err(Error::model("a tree has no nodes"));
        }
        let lens = [
            self.right.len(),
            self.feature.len(),
            self.threshold.len(),
            self.default_left.len(),
            self.value.len(),
            self.gain.len(),
            self.cover.len(),
        ];
        if lens.iter().any(|l| *l != n) {
            return Err(Error::model(format!("tree arrays differ in length (left has {n})")));
        }
        let mut parents = vec![0u32; n];
        for i in 0..n {
            let (l, r) = (self.left[i], self.right[i]);
            if (l < 0) != (r < 0) {
                return Err(Error::model(format!("node {i} has exactly one child")));
            }
            if l < 0 {
                continue;
            }
            for c in [l, r] {
                if c as usize <= i || c as usize >= n {
                    return Err(Error::model(format!("node {i} has child {c}, outside {}..{n}", i + 1)));
                }
                parents[c as usize] += 1;
            }
            if self.feature[i] as usize >= num_features {
                return Err(Error::model(format!(
                    "node {i} splits on feature {} but the model has {num_features}",
                    self.feature[i]
                )));
            }
        }
        // Every other number finite: a model that loads must also save (JSON has no NaN or
        // infinity) and predict numbers. Thresholds may be infinite (see `thresholds`).
        if let Some(i) = self.threshold.iter().position(|v| v.is_nan()) {
            return Err(Error::model(format!("node {i} has a NaN threshold")));
        }
        let numbers = [("value", &self.value), ("gain", &self.gain), ("cover", &self.cover)];
        for (what, values) in numbers {
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(Error::model(format!(
                    "node {i} has a non-finite {what} ({})",
                    values[i]
                )));
            }
        }
        if let Some(i) = (1..n).find(|&i| parents[i] != 1) {
            return Err(Error::model(format!("node {i} has {} parents", parents[i])));
        }
        self.categories.validate(n, |i| self.is_leaf(i))
    }
}

/// Serde helpers for thresholds: JSON, which has no infinity, writes an infinite one as the
/// string `"inf"` or `"-inf"` (and NaN, which no valid tree has, as `"nan"`); binary formats write
/// the numbers as they are.
mod thresholds {
    use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};

    /// One threshold in JSON: a number, or the name of a non-finite one.
    #[derive(Serialize, Deserialize)]
    #[serde(untagged)]
    enum Text {
        Number(f32),
        Name(String),
    }

    /// Writes `values`, with non-finite ones named, in human-readable formats.
    pub fn serialize<S: Serializer>(values: &[f32], serializer: S) -> Result<S::Ok, S::Error> {
        if !serializer.is_human_readable() {
            return values.serialize(serializer);
        }
        let text: Vec<Text> = values
            .iter()
            .map(|v| match *v {
                v if v.is_finite() => Text::Number(v),
                v if v.is_nan() => Text::Name("nan".into()),
                v if v > 0.0 => Text::Name("inf".into()),
                _ => Text::Name("-inf".into()),
            })
            .collect();
        text.serialize(serializer)
    }

    /// Reads thresholds, accepting the names `"inf"`, `"-inf"` and `"nan"` in human-readable formats.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f32>, D::Error> {
        if !deserializer.is_human_readable() {
            return Vec::deserialize(deserializer);
        }
        Vec::<Text>::deserialize(deserializer)?
            .into_iter()
            .map(|t| match t {
                Text::Number(v) => Ok(v),
                Text::Name(name) => match name.as_str() {
                    "inf" => Ok(f32::INFINITY),
                    "-inf" => Ok(f32::NEG_INFINITY),
                    "nan" => Ok(f32::NAN),
                    other => Err(D::Error::custom(format!(
                        "threshold `{other}` is not a number, \"inf\", \"-inf\" or \"nan\""
                    ))),
                },
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stump() -> Tree {
        Tree {
            left: vec![1, -1, -1],
            right: vec![2, -1, -1],
            feature: vec![1, 0, 0],
            threshold: vec![0.5, 0.0, 0.0],
            default_left: vec![true, false, false],
            value: vec![0.0, -1.0, 2.0],
            gain: vec![3.0, 0.0, 0.0],
            cover: vec![10.0, 4.0, 6.0],
            categories: TreeCategories::default(),
        }
    }

    #[test]
    fn routes_rows() {
        let t = stump();
        assert_eq!(t.predict_row(&[9.0, 0.4]), -1.0);
        assert_eq!(t.predict_row(&[9.0, 0.5]), 2.0);
        assert_eq!(t.predict_row(&[9.0, f32::NAN]), -1.0);
        assert_eq!(t.root_split(), Some((1, 0.5)));
        assert_eq!(t.depth(), 1);
        t.validate(2).unwrap();
    }

    #[test]
    fn routes_rows_by_category_set() {
        let mut t = stump();
        t.categories.set_node(0, 3, CategorySet::from_codes([2, 5]));
        t.validate(2).unwrap();
        assert_eq!(t.predict_row(&[0.0, 2.0]), -1.0);
        assert_eq!(t.predict_row(&[0.0, 5.0]), -1.0);
        assert_eq!(t.predict_row(&[0.0, 3.0]), 2.0, "a category outside the set goes right");
        assert_eq!(t.predict_row(&[0.0, 900.0]), 2.0, "an unseen category goes right");
        assert_eq!(t.predict_row(&[0.0, 2.5]), 2.0, "a non-code goes right");
        assert_eq!(t.predict_row(&[0.0, f32::NAN]), -1.0, "missing follows default_left");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Tree>(&json).unwrap(), t);
        let plain = serde_json::to_string(&stump()).unwrap();
        assert!(!plain.contains("categories"), "{plain}");
    }

    /// Found by the `model_json` fuzz target: a cover of 1e79 read as an f32 infinity, so the model
    /// loaded but could not be saved and loaded again.
    #[test]
    fn rejects_non_finite_numbers() {
        for (field, node) in [("value", 2), ("gain", 0), ("cover", 1)] {
            for bad in [f32::INFINITY, f32::NEG_INFINITY, f32::NAN] {
                let mut t = stump();
                match field {
                    "value" => t.value[node] = bad,
                    "gain" => t.gain[node] = bad,
                    _ => t.cover[node] = bad,
                }
                let e = t.validate(2).unwrap_err().to_string();
                assert!(e.contains(&format!("node {node} has a non-finite {field}")), "{e}");
            }
        }
    }

    /// Found by the replay of the fuzz corpus: an infinite threshold (imported from LightGBM) was
    /// written to JSON as `null`, which did not load back.
    #[test]
    fn infinite_thresholds_survive_json() {
        let mut t = stump();
        t.threshold = vec![f32::INFINITY, f32::NEG_INFINITY, 0.25];
        t.validate(2).unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert!(json.contains(r#""threshold":["inf","-inf",0.25]"#), "{json}");
        assert_eq!(serde_json::from_str::<Tree>(&json).unwrap(), t);
        t.threshold[0] = f32::NAN;
        assert!(t.validate(2).unwrap_err().to_string().contains("NaN threshold"));
        let bad = json.replace(r#""inf""#, r#""big""#);
        assert!(serde_json::from_str::<Tree>(&bad).is_err());
    }

    #[test]
    fn rejects_broken_trees() {
        let mut t = stump();
        assert!(t.validate(1).is_err());
        t.left[0] = 0;
        assert!(t.validate(2).is_err());
        let mut t = stump();
        t.value.pop();
        assert!(t.validate(2).is_err());
        let mut t = stump();
        t.right[0] = 1;
        assert!(t.validate(2).is_err());
    }
}
