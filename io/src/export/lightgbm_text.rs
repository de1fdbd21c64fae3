//! LightGBM's text model format (`Booster.save_model("m.txt")`, version v4).
//!
//! Export: the header (`num_class`, `num_tree_per_iteration`, `max_feature_idx`, `objective`,
//! `feature_names`, `feature_infos`; no `tree_sizes`, whose wrong value would crash the loader), one
//! `Tree=` block per tree and `end of trees`, then a short `parameters:` block. LightGBM has no base
//! score: as LightGBM itself does with `boost_from_average`, the base margin of each output is added to
//! the leaves of that output's first tree (in f64, so that LightGBM's f64 sums equal Sylvan's).
//! Internal nodes and leaves are numbered separately as LightGBM requires (a negative child is
//! `~leaf`). Thresholds become `prev_f32(t)` (see [`super`]: `x < t` ⇔ `x <= prev_f32(t)` for f32
//! inputs), every split has missing type NaN with Sylvan's default direction in bit 1. Leaf and
//! internal counts are not known to Sylvan: `*_count` holds the hessian sums rounded (only LightGBM's
//! SHAP values read them). Feature names with whitespace get `_` in its place (LightGBM splits the
//! line on spaces). Objectives: `reg:squarederror` → `regression`, `reg:absoluteerror` →
//! `regression_l1`, `reg:quantileerror` → `quantile`, `count:poisson` → `poisson`, `reg:gamma` →
//! `gamma`, `reg:tweedie` → `tweedie`, `binary:logistic` → `binary sigmoid:1`, `multi:softprob` →
//! `multiclass`. The others (`binary:logitraw`, `multi:softmax`, pseudo-Huber, squared log error)
//! would predict differently in LightGBM and are errors. A DART model's trees are written with
//! their values multiplied by their tree weights ([`sylvan_booster::Booster::weighted_trees`]:
//! LightGBM's text format has no tree weights), so the file predicts as the model does but imports
//! back as a gbtree model.
//!
//! Import: the reverse. A threshold `thr` becomes the smallest f32 above it (exact for f32 inputs);
//! missing type NaN keeps the default direction; missing type None sends NaN where 0.0 goes, as
//! LightGBM does; zero-as-missing (on numerical splits), linear trees and averaged (random forest)
//! outputs are errors. `binary sigmoid:s` with `s != 1` is imported by scaling leaves by `s`. The
//! first tree of each output gives up the midpoint of its leaf values to the base margin (kept in
//! f64), which keeps the f32 leaves small and the imported predictions within f32 rounding of
//! LightGBM's. LightGBM treats inputs with `|x| <= 1e-35` as 0; that only matters for thresholds
//! strictly inside (-1e-35, 1e-35), which LightGBM does not produce.
//!
//! ## Categorical splits
//!
//! LightGBM (checked against 4.7) writes a categorical split as decision type bit 0, its threshold
//! the index `k` of the node's bitset: words `cat_boundaries[k]..cat_boundaries[k + 1]` of
//! `cat_threshold` (bit `c % 32` of word `c / 32` for category `c`, the layout of
//! [`CategorySet::words`]); `num_cat` counts the tree's bitsets. At prediction LightGBM truncates the
//! value to an integer and sends it left when the bitset holds it; NaN, negative values and codes
//! past the bitset go right — NaN whatever the missing type and default-direction bits say, so a
//! LightGBM categorical split can never send missing values left. Sylvan's rule for a set node
//! (NaN to the default side, a code in the set left, anything else right) is therefore LightGBM's
//! when the node's missing values go right, for every value apart from fractional ones (LightGBM
//! reads 2.7 and -0.5 as codes 2 and 0; Sylvan sends them right).
//!
//! - Export, a set whose missing values go right: one LightGBM categorical split with the same set
//!   (missing type NaN, default right).
//! - Export, a set whose missing values go LEFT: a NaN test takes the node's place — a numerical
//!   split on the same feature with threshold `inf` and missing type NaN, default right, so every
//!   value but NaN goes left — whose left child is the categorical split with the node's set and
//!   children, and whose right child is a copy of the node's left subtree specialised to the
//!   feature being missing (nodes on that feature replaced by their missing-value child; set nodes
//!   inside the copy are exported the same way). This predicts exactly what Sylvan predicts for
//!   every input: known and unseen categories, missing values and negative values (fractional
//!   values aside, as above; infinities and values past `i32::MAX`, which LightGBM casts to `int`
//!   in a way C++ leaves undefined, go right as in Sylvan on x86-64, where the cast gives a
//!   negative number). Measured on models of 40 trees of depth 6 or 48 leaves: 12-24 % more
//!   leaves. LightGBM's split counts count the added nodes (they carry gain 0, so gain
//!   importances are Sylvan's).
//! - If the copies would take a tree past `max(4 x its nodes, 4096)` nodes (deep trees with many
//!   such nodes nested), that tree's default-left set nodes are written instead with their
//!   children swapped and the complement of the set over every Sylvan category code
//!   `0..MAX_CATEGORIES` (a 2048-word bitset): still exact for every category code and for missing
//!   values, but negative values, codes of 65 535 and more and infinities then go with the missing
//!   values instead of with the categories outside the set.
//! - `feature_infos` of a categorical feature lists its categories (`0:1:5`): every code a split
//!   uses, plus `0..n` when the model holds `n` category names; `none` when there are none. The
//!   names ([`CATEGORIES_ATTRIBUTE`], which the command line stores for string columns) become the
//!   `pandas_categorical` line, one list per named categorical feature in feature order, so that
//!   LightGBM's Python package maps the categories of pandas `category` columns to Sylvan's codes
//!   (an unseen category becomes missing there, as it does in Sylvan's command line). Numerical
//!   models are written exactly as before.
//! - Import: a categorical split becomes a Sylvan set node with LightGBM's bitset and missing
//!   values going right, whatever its missing type (LightGBM's own behaviour). A bitset holding a
//!   code past `MAX_CATEGORIES - 1` is an error. The features whose `feature_infos` list categories,
//!   and those that categorical splits use, are declared categorical. The `pandas_categorical`
//!   lists are read back into [`CATEGORIES_ATTRIBUTE`] (by feature name) when there are as many as
//!   categorical features, they hold strings and they name every code the trees use; otherwise
//!   they are left out. A NaN test written by the export comes back as a threshold split at
//!   `+inf`, which sends `+inf` itself the other way (Sylvan's splits are `x < t`); every other
//!   input predicts as before the round trip.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sylvan_booster::{Booster, CategorySet, FeatureType, ObjectiveKind, Params, Tree, MAX_CATEGORIES};

use super::{
    check_leaves, conversion, finite, join, predicting_trees, prev_f32, round_layout, smallest_f32_above, ModelFormat,
};
use crate::categories::{CategoryMap, CATEGORIES_ATTRIBUTE};
use crate::error::Result;

const FORMAT: ModelFormat = ModelFormat::LightgbmText;

/// Decision type bit: categorical split.
const CATEGORICAL_MASK: u32 = 1;
/// Decision type bit: missing values go left.
const DEFAULT_LEFT_MASK: u32 = 2;
/// Missing type (bits 2-3): none (NaN is read as 0.0).
const MISSING_NONE: u32 = 0;
/// Missing type: zero (and NaN) is missing.
const MISSING_ZERO: u32 = 1;
/// Missing type: NaN is missing.
const MISSING_NAN: u32 = 2;

// ------------------------------------------------------------------------------------------------
// Export

/// The LightGBM objective line of an objective, or why there is none.
fn objective_line(params: &Params, k: usize) -> Result<String> {
    use ObjectiveKind::*;
    if k > 1 && !params.objective.is_multiclass() {
        return Err(conversion(
            FORMAT,
            format!(
                "{} with {k} outputs (several targets or quantile levels) cannot be exported: LightGBM \
                 models have one output unless multiclass (export to XGBoost JSON instead)",
                params.objective.name()
            ),
        ));
    }
    let line = match params.objective {
        ExpectileError => {
            return Err(conversion(
                FORMAT,
                "reg:expectileerror cannot be exported: LightGBM has no expectile objective \
                 (export to XGBoost JSON instead)",
            ))
        }
        SquaredError => "regression".to_string(),
        AbsoluteError => "regression_l1".to_string(),
        QuantileError => "quantile".to_string(),
        Poisson => "poisson".to_string(),
        Gamma => "gamma".to_string(),
        Tweedie => "tweedie".to_string(),
        BinaryLogistic => "binary sigmoid:1".to_string(),
        MultiSoftprob => format!("multiclass num_class:{k}"),
        RankNdcg => "lambdarank".to_string(),
        RankPairwise | RankMap => {
            return Err(conversion(
                FORMAT,
                format!(
                    "objective {} cannot be exported: LightGBM's only pairwise ranking objective is                      lambdarank (rank:ndcg); export to XGBoost JSON instead",
                    params.objective.name()
                ),
            ))
        }
        BinaryLogitRaw => {
            return Err(conversion(
                FORMAT,
                "binary:logitraw predicts margins, LightGBM's binary objective probabilities \
                 (export binary:logistic, or use raw_score=True in LightGBM)",
            ))
        }
        MultiSoftmax => {
            return Err(conversion(
                FORMAT,
                "multi:softmax predicts class indices, LightGBM's multiclass objective probabilities \
                 (export multi:softprob)",
            ))
        }
        SurvivalCox | SurvivalAft => {
            return Err(conversion(
                FORMAT,
                format!(
                    "objective {} cannot be exported: LightGBM has no survival objective \
                     (export to XGBoost JSON instead)",
                    params.objective.name()
                ),
            ))
        }
        other => {
            return Err(conversion(
                FORMAT,
                format!("objective {} has no LightGBM equivalent", other.name()),
            ))
        }
    };
    Ok(line)
}

/// An f64 as LightGBM reads it back exactly.
fn f64_text(v: f64) -> String {
    format!("{v:?}")
}

/// How a node of an exported tree decides.
#[derive(Debug, Clone, PartialEq)]
enum Split {
    /// A leaf.
    Leaf,
    /// Left when `x <= threshold` (the f64 the file holds); missing values (NaN) to the default
    /// side (missing type NaN).
    Threshold { threshold: f64, default_left: bool },
    /// Left when the value's category is in the bitset (LightGBM's `cat_threshold` words);
    /// everything else, missing values included, right.
    Categorical { words: Vec<u32> },
}

/// One node of a tree as LightGBM will hold it.
#[derive(Debug, Clone)]
struct Node {
    split: Split,
    /// The Sylvan node whose feature, value and cover this node carries.
    src: usize,
    /// The split gain written (0 for the nodes the export adds).
    gain: f32,
    left: usize,
    right: usize,
}

/// The largest exported tree (in nodes) that copies of subtrees may grow a tree of `n` nodes to,
/// before its default-left category-set nodes are written with complement bitsets instead.
fn expansion_limit(n: usize) -> usize {
    (4 * n).max(4096)
}

/// The bitset words of the codes `0..MAX_CATEGORIES` that are not in `set`.
fn complement_words(set: &CategorySet) -> Vec<u32> {
    let num_words = MAX_CATEGORIES.div_ceil(32);
    (0..num_words)
        .map(|w| {
            let top = MAX_CATEGORIES - 32 * w; // codes left from this word on
            let full = if top >= 32 { u32::MAX } else { (1u32 << top) - 1 };
            full & !set.words().get(w).copied().unwrap_or(0)
        })
        .collect()
}

/// Node `i` of `t` as written when it needs no rewriting, children still Sylvan's: a leaf, a
/// threshold split (`prev_f32` of the threshold), or a category-set split whose missing values go
/// right (LightGBM's own rule). A default-left set node comes out like a default-right one here;
/// the callers rewrite it.
fn plain_node(t: &Tree, i: usize, gain: f32) -> Node {
    let split = if t.is_leaf(i) {
        Split::Leaf
    } else if let Some(set) = t.category_set(i) {
        Split::Categorical {
            words: set.words().to_vec(),
        }
    } else {
        let p = prev_f32(t.threshold[i]);
        // x < -f32::MAX only for -inf, and x <= -f64::MAX only for -inf too.
        let threshold = if p == f32::NEG_INFINITY { -f64::MAX } else { p as f64 };
        Split::Threshold {
            threshold,
            default_left: t.default_left[i],
        }
    };
    let (left, right) = if t.is_leaf(i) {
        (0, 0)
    } else {
        (t.left[i] as usize, t.right[i] as usize)
    };
    Node {
        split,
        src: i,
        gain,
        left,
        right,
    }
}

/// Whether node `i` is a category-set split whose missing values go left (which a LightGBM
/// categorical split cannot do).
fn is_default_left_set(t: &Tree, i: usize) -> bool {
    !t.is_leaf(i) && t.default_left[i] && t.category_set(i).is_some()
}

/// The NaN test put in place of a default-left set node: every value but NaN goes left (`x <= inf`
/// holds for every other f64), NaN right.
fn nan_test(src: usize, left: usize, right: usize) -> Node {
    Node {
        split: Split::Threshold {
            threshold: f64::INFINITY,
            default_left: false,
        },
        src,
        gain: 0.0,
        left,
        right,
    }
}

/// Appends to `out` a copy of the subtree of `t` under node `i`, for rows whose features
/// `missing` are all missing: nodes on those features are replaced by the child missing values
/// take. Returns the copy's root, or `None` once `out` holds `limit` nodes.
fn copy_for_missing(t: &Tree, i: usize, missing: &mut Vec<u32>, out: &mut Vec<Node>, limit: usize) -> Option<usize> {
    if out.len() >= limit {
        return None;
    }
    if !t.is_leaf(i) && missing.contains(&t.feature[i]) {
        let next = if t.default_left[i] { t.left[i] } else { t.right[i] };
        return copy_for_missing(t, next as usize, missing, out, limit);
    }
    let me = out.len();
    out.push(plain_node(t, i, 0.0));
    if t.is_leaf(i) {
        return Some(me);
    }
    let (l, r) = (t.left[i] as usize, t.right[i] as usize);
    if is_default_left_set(t, i) {
        let set_node = out.len();
        out.push(plain_node(t, i, 0.0));
        out[set_node].left = copy_for_missing(t, l, missing, out, limit)?;
        out[set_node].right = copy_for_missing(t, r, missing, out, limit)?;
        missing.push(t.feature[i]);
        let nan = copy_for_missing(t, l, missing, out, limit);
        missing.pop();
        out[me] = nan_test(i, set_node, nan?);
    } else {
        out[me].left = copy_for_missing(t, l, missing, out, limit)?;
        out[me].right = copy_for_missing(t, r, missing, out, limit)?;
    }
    Some(me)
}

/// The nodes of `t` as LightGBM will hold them (node 0 the root; see the module documentation).
/// Nodes `0..n` are Sylvan's nodes in order, so a tree without default-left set nodes is written
/// exactly as it is; each default-left set node `i` becomes a NaN test (in place of `i`) whose
/// non-missing values go on to a LightGBM categorical split with `i`'s set (appended), and whose
/// missing values go to a copy of `i`'s left subtree specialised to that feature being missing
/// (appended). When the copies would pass `limit` nodes, such nodes are instead written with the
/// children swapped and the complement of the set over every category code.
fn lightgbm_nodes(t: &Tree, limit: usize) -> Vec<Node> {
    let n = t.num_nodes();
    let mut out: Vec<Node> = (0..n).map(|i| plain_node(t, i, t.gain[i])).collect();
    let mut expanded = true;
    for i in (0..n).filter(|&i| is_default_left_set(t, i)) {
        let set_node = out.len();
        out.push(plain_node(t, i, t.gain[i]));
        let mut missing = vec![t.feature[i]];
        match copy_for_missing(t, t.left[i] as usize, &mut missing, &mut out, limit) {
            Some(nan) => out[i] = nan_test(i, set_node, nan),
            None => {
                expanded = false;
                break;
            }
        }
    }
    if expanded {
        return out;
    }
    let mut out: Vec<Node> = (0..n).map(|i| plain_node(t, i, t.gain[i])).collect();
    for (i, node) in out.iter_mut().enumerate() {
        if let (true, Some(set)) = (is_default_left_set(t, i), t.category_set(i)) {
            node.split = Split::Categorical {
                words: complement_words(set),
            };
            std::mem::swap(&mut node.left, &mut node.right);
        }
    }
    out
}

/// Writes one tree; `base` is added to every leaf (the base margin, for first-round trees), and
/// `limit` bounds the nodes copies of subtrees may add (see [`lightgbm_nodes`]).
fn write_tree(out: &mut String, index: usize, t: &Tree, base: f64, limit: usize) {
    let nodes = lightgbm_nodes(t, limit);
    // LightGBM numbers internal nodes and leaves separately, each in the order of `nodes` (so the
    // root is internal node 0).
    let mut id = vec![0i64; nodes.len()];
    let (mut internal, mut leaves) = (Vec::new(), Vec::new());
    for (k, node) in nodes.iter().enumerate() {
        if node.split == Split::Leaf {
            id[k] = !(leaves.len() as i64);
            leaves.push(node);
        } else {
            id[k] = internal.len() as i64;
            internal.push(node);
        }
    }
    // Categorical splits, in internal-node order: their bitsets, one per node.
    let mut cat_index = vec![0usize; internal.len()];
    let mut boundaries = vec![0usize];
    let mut words: Vec<u32> = Vec::new();
    for (k, node) in internal.iter().enumerate() {
        if let Split::Categorical { words: w } = &node.split {
            cat_index[k] = boundaries.len() - 1;
            if w.is_empty() {
                words.push(0); // an empty set: one zero word rather than none
            } else {
                words.extend_from_slice(w);
            }
            boundaries.push(words.len());
        }
    }
    let num_cat = boundaries.len() - 1;
    let count = |c: f32| (c.max(0.0).round() as u64).max(1);
    let _ = writeln!(out, "Tree={index}");
    let _ = writeln!(out, "num_leaves={}", leaves.len());
    let _ = writeln!(out, "num_cat={num_cat}");
    let _ = writeln!(
        out,
        "split_feature={}",
        join(internal.iter().map(|n| t.feature[n.src]), " ")
    );
    let _ = writeln!(out, "split_gain={}", join(internal.iter().map(|n| finite(n.gain)), " "));
    let thresholds = internal.iter().zip(&cat_index).map(|(n, c)| match n.split {
        Split::Threshold { threshold, .. } => f64_text(threshold),
        _ => c.to_string(),
    });
    let _ = writeln!(out, "threshold={}", join(thresholds, " "));
    let decision = internal.iter().map(|n| match n.split {
        Split::Threshold { default_left, .. } => (MISSING_NAN << 2) | if default_left { DEFAULT_LEFT_MASK } else { 0 },
        _ => (MISSING_NAN << 2) | CATEGORICAL_MASK,
    });
    let _ = writeln!(out, "decision_type={}", join(decision, " "));
    let _ = writeln!(out, "left_child={}", join(internal.iter().map(|n| id[n.left]), " "));
    let _ = writeln!(out, "right_child={}", join(internal.iter().map(|n| id[n.right]), " "));
    let values = leaves.iter().map(|n| f64_text(t.value[n.src] as f64 + base));
    let _ = writeln!(out, "leaf_value={}", join(values, " "));
    let _ = writeln!(
        out,
        "leaf_weight={}",
        join(leaves.iter().map(|n| finite(t.cover[n.src])), " ")
    );
    let _ = writeln!(
        out,
        "leaf_count={}",
        join(leaves.iter().map(|n| count(t.cover[n.src])), " ")
    );
    let _ = writeln!(
        out,
        "internal_value={}",
        join(internal.iter().map(|n| finite(t.value[n.src])), " ")
    );
    let _ = writeln!(
        out,
        "internal_weight={}",
        join(internal.iter().map(|n| finite(t.cover[n.src])), " ")
    );
    let _ = writeln!(
        out,
        "internal_count={}",
        join(internal.iter().map(|n| count(t.cover[n.src])), " ")
    );
    if num_cat > 0 {
        let _ = writeln!(out, "cat_boundaries={}", join(&boundaries, " "));
        let _ = writeln!(out, "cat_threshold={}", join(&words, " "));
    }
    let _ = writeln!(out, "is_linear=0");
    let _ = writeln!(out, "shrinkage=1");
    let _ = writeln!(out);
    let _ = writeln!(out);
}

/// The model as LightGBM text, loadable by `lightgbm.Booster(model_file=...)`.
///
/// Category-set splits become LightGBM categorical splits; one whose missing values go left is
/// preceded by a NaN test (see the module documentation), so LightGBM predicts what Sylvan predicts
/// for category codes, unseen codes and missing values alike. Category names stored with the model
/// become the `pandas_categorical` line. Fails for objectives whose LightGBM counterpart would
/// predict something else (see the module documentation) and for custom objectives.
pub fn to_lightgbm_text(booster: &Booster) -> Result<String> {
    let kind = ObjectiveKind::from_name(booster.objective_name()).ok_or_else(|| {
        conversion(
            FORMAT,
            format!(
                "objective `{}` (a custom objective) has no LightGBM equivalent",
                booster.objective_name()
            ),
        )
    })?;
    let mut params = booster.params().clone();
    params.objective = kind;
    let k = booster.num_groups();
    let nf = booster.num_features();
    let objective = objective_line(&params, k)?;
    // DART: the format has no tree weights, so every tree is written with its leaf values
    // multiplied by its weight (the f32 products Sylvan adds when it predicts).
    let weighted = booster.weighted_trees();
    let trees = &weighted[..predicting_trees(booster).len()];
    check_leaves(FORMAT, trees)?;

    let names: Vec<String> = match booster.feature_names() {
        Some(names) => names
            .iter()
            .map(|n| {
                let n: String = n.chars().map(|c| if c.is_whitespace() { '_' } else { c }).collect();
                if n.is_empty() {
                    "_".to_string()
                } else {
                    n
                }
            })
            .collect(),
        None => (0..nf).map(|i| format!("Column_{i}")).collect(),
    };
    let types = booster.feature_types();
    let category_names = category_names(booster, &types);
    let mut range = vec![(f64::INFINITY, f64::NEG_INFINITY); nf];
    let mut codes = vec![std::collections::BTreeSet::new(); nf];
    for t in trees {
        for i in 0..t.num_nodes() {
            if t.is_leaf(i) {
                continue;
            }
            let f = t.feature[i] as usize;
            match t.category_set(i) {
                Some(set) => codes[f].extend(set.codes()),
                None => {
                    let r = &mut range[f];
                    r.0 = r.0.min(t.threshold[i] as f64);
                    r.1 = r.1.max(t.threshold[i] as f64);
                }
            }
        }
    }
    let infos = (0..nf).map(|f| {
        let (lo, hi) = range[f];
        if types[f].is_categorical() {
            // LightGBM lists a categorical feature's categories: the named ones and every code
            // a split uses.
            let named = category_names[f].as_ref().map_or(0, |n| n.len() as u32);
            codes[f].extend(0..named);
            if codes[f].is_empty() {
                "none".to_string()
            } else {
                join(&codes[f], ":")
            }
        } else if lo.is_finite() && hi.is_finite() {
            format!("[{}:{}]", f64_text(lo), f64_text(hi))
        } else {
            "none".to_string()
        }
    });

    let mut out = String::new();
    let _ = writeln!(out, "tree");
    let _ = writeln!(out, "version=v4");
    let _ = writeln!(out, "num_class={k}");
    let _ = writeln!(out, "num_tree_per_iteration={k}");
    let _ = writeln!(out, "label_index=0");
    let _ = writeln!(out, "max_feature_idx={}", nf - 1);
    let _ = writeln!(out, "objective={objective}");
    let _ = writeln!(out, "feature_names={}", names.join(" "));
    let _ = writeln!(out, "feature_infos={}", join(infos, " "));
    let _ = writeln!(out);
    // LightGBM's tree i belongs to output i % k: a Sylvan round with several parallel trees per
    // output becomes that many LightGBM iterations (the sum is the same).
    let (per_round, parallel) = round_layout(booster);
    let order = (0..trees.len() / per_round)
        .flat_map(|r| (0..parallel).flat_map(move |p| (0..k).map(move |c| r * per_round + c * parallel + p)));
    let base = booster.base_margin();
    for (i, t) in order.enumerate() {
        let tree = &trees[t];
        let limit = expansion_limit(tree.num_nodes());
        write_tree(&mut out, i, tree, if i < k { base[i] } else { 0.0 }, limit);
    }
    let _ = writeln!(out, "end of trees");
    let _ = writeln!(out);
    let _ = writeln!(out, "parameters:");
    let _ = writeln!(out, "[boosting: gbdt]");
    let _ = writeln!(out, "[objective: {}]", objective.split(' ').next().unwrap_or_default());
    let _ = writeln!(out, "[learning_rate: {}]", params.eta);
    let _ = writeln!(out, "[num_class: {}]", if kind.is_multiclass() { k } else { 1 });
    let _ = writeln!(out, "[alpha: {}]", params.quantile_alpha);
    let _ = writeln!(out, "[tweedie_variance_power: {}]", params.tweedie_variance_power);
    let _ = writeln!(out, "[sigmoid: 1]");
    let _ = writeln!(out, "end of parameters");
    let _ = writeln!(out);
    // LightGBM's Python package maps the categories of pandas `category` columns to codes with this
    // line (the last of the file): one list per such column, in column order.
    let named: Vec<&Vec<String>> = category_names.iter().flatten().collect();
    if !named.is_empty() {
        let json = serde_json::to_string(&named).unwrap_or_else(|_| "null".to_string());
        let _ = writeln!(out, "pandas_categorical:{json}");
    }
    Ok(out)
}

/// For each feature, the names of its categories in code order, when it is categorical and the
/// model holds them (the [`CATEGORIES_ATTRIBUTE`] the command line stores for string columns).
fn category_names(booster: &Booster, types: &[FeatureType]) -> Vec<Option<Vec<String>>> {
    let map = booster
        .attributes()
        .get(CATEGORIES_ATTRIBUTE)
        .and_then(|json| CategoryMap::from_json(json).ok())
        .unwrap_or_default();
    let names = booster.feature_names();
    (0..types.len())
        .map(|f| {
            let name = names.and_then(|n| n.get(f))?;
            if !types[f].is_categorical() {
                return None;
            }
            map.get(name).map(<[String]>::to_vec)
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Import

/// One `key=value` block (the header or a tree).
struct Block {
    values: BTreeMap<String, String>,
    flags: Vec<String>,
}

impl Block {
    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn require(&self, key: &str, what: &str) -> Result<&str> {
        self.get(key)
            .ok_or_else(|| conversion(FORMAT, format!("{what}: no `{key}=` line")))
    }

    fn array<T: std::str::FromStr>(&self, key: &str, len: usize, what: &str) -> Result<Vec<T>> {
        let text = self.require(key, what)?;
        let values = text
            .split_whitespace()
            .map(|s| {
                s.parse::<T>()
                    .map_err(|_| conversion(FORMAT, format!("{what}: `{key}` holds `{s}`, not a number")))
            })
            .collect::<Result<Vec<T>>>()?;
        if values.len() != len {
            return Err(conversion(
                FORMAT,
                format!("{what}: `{key}` has {} values, expected {len}", values.len()),
            ));
        }
        Ok(values)
    }

    /// Like [`Block::array`], but an absent or malformed line gives `None`.
    fn optional<T: std::str::FromStr>(&self, key: &str, len: usize) -> Option<Vec<T>> {
        let v: Vec<T> = self
            .get(key)?
            .split_whitespace()
            .map(|s| s.parse::<T>().ok())
            .collect::<Option<Vec<T>>>()?;
        (v.len() == len).then_some(v)
    }
}

fn parse_block<'a>(
    lines: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
    stop: impl Fn(&str) -> bool,
) -> Block {
    let mut block = Block {
        values: BTreeMap::new(),
        flags: Vec::new(),
    };
    while let Some(line) = lines.peek() {
        let line = line.trim();
        if stop(line) {
            break;
        }
        lines.next();
        if line.is_empty() {
            continue;
        }
        match line.split_once('=') {
            Some((k, v)) => {
                block.values.insert(k.trim().to_string(), v.trim().to_string());
            }
            None => block.flags.push(line.to_string()),
        }
    }
    block
}

/// The Sylvan objective of a LightGBM objective line, and the factor that turns LightGBM's raw
/// score into Sylvan's margin (the sigmoid parameter for `binary`).
fn import_objective(line: &str, num_class: usize) -> Result<(ObjectiveKind, f64)> {
    let mut tokens = line.split_whitespace();
    let name = tokens.next().unwrap_or_default();
    let options: BTreeMap<&str, &str> = tokens.filter_map(|t| t.split_once(':')).collect();
    let plain: Vec<&str> = line.split_whitespace().skip(1).filter(|t| !t.contains(':')).collect();
    if plain.contains(&"sqrt") {
        return Err(conversion(
            FORMAT,
            format!("objective `{line}` (reg_sqrt) is not supported"),
        ));
    }
    let kind = match name {
        "regression"
        | "regression_l2"
        | "l2"
        | "mean_squared_error"
        | "mse"
        | "l2_root"
        | "root_mean_squared_error"
        | "rmse" => ObjectiveKind::SquaredError,
        "regression_l1" | "l1" | "mean_absolute_error" | "mae" => ObjectiveKind::AbsoluteError,
        "quantile" => ObjectiveKind::QuantileError,
        "poisson" => ObjectiveKind::Poisson,
        "gamma" => ObjectiveKind::Gamma,
        "tweedie" => ObjectiveKind::Tweedie,
        "binary" | "cross_entropy" | "xentropy" => ObjectiveKind::BinaryLogistic,
        "lambdarank" => ObjectiveKind::RankNdcg,
        "multiclass" | "softmax" => {
            if num_class < 2 {
                return Err(conversion(FORMAT, format!("multiclass with num_class {num_class}")));
            }
            ObjectiveKind::MultiSoftprob
        }
        "" => return Err(conversion(FORMAT, "the model has no objective (a custom objective?)")),
        other => {
            return Err(conversion(
                FORMAT,
                format!("objective `{other}` is not supported by Sylvan"),
            ))
        }
    };
    let scale = match options.get("sigmoid") {
        Some(s) if name == "binary" => s
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0)
            .ok_or_else(|| conversion(FORMAT, format!("objective `{line}`: bad sigmoid `{s}`")))?,
        _ => 1.0,
    };
    Ok((kind, scale))
}

/// One LightGBM tree as a Sylvan tree (nodes in depth-first order) with f64 leaf values scaled
/// by `scale`; the caller rounds the leaves to f32.
fn import_tree(block: &Block, index: usize, num_features: usize, scale: f64) -> Result<(Tree, Vec<f64>)> {
    let what = format!("tree {index}");
    let err = |reason: String| conversion(FORMAT, format!("{what}: {reason}"));
    let num_leaves: usize = block
        .require("num_leaves", &what)?
        .parse()
        .map_err(|_| err("num_leaves is not a count".into()))?;
    if num_leaves == 0 {
        return Err(err("num_leaves is 0".into()));
    }
    if block.get("is_linear").is_some_and(|c| c.trim() != "0") {
        return Err(err("linear trees are not supported".into()));
    }
    let leaf_value: Vec<f64> = block.array("leaf_value", num_leaves, &what)?;
    if let Some(v) = leaf_value.iter().find(|v| !v.is_finite()) {
        return Err(err(format!("leaf value {v}")));
    }
    let leaf_weight: Option<Vec<f64>> = block.optional("leaf_weight", num_leaves);
    if num_leaves == 1 {
        let tree = Tree {
            left: vec![-1],
            right: vec![-1],
            feature: vec![0],
            threshold: vec![0.0],
            default_left: vec![false],
            value: vec![0.0],
            gain: vec![0.0],
            cover: vec![leaf_weight.map_or(0.0, |w| w[0] as f32)],
            categories: Default::default(),
        };
        return Ok((tree, vec![leaf_value[0] * scale]));
    }
    let m = num_leaves - 1;
    let split_feature: Vec<i64> = block.array("split_feature", m, &what)?;
    let threshold: Vec<f64> = block.array("threshold", m, &what)?;
    let decision: Vec<u32> = match block.get("decision_type") {
        Some(_) => block.array("decision_type", m, &what)?,
        None => vec![0; m],
    };
    let left: Vec<i64> = block.array("left_child", m, &what)?;
    let right: Vec<i64> = block.array("right_child", m, &what)?;
    let gain: Option<Vec<f64>> = block.optional("split_gain", m);
    let internal_value: Option<Vec<f64>> = block.optional("internal_value", m);
    let internal_weight: Option<Vec<f64>> = block.optional("internal_weight", m);
    let sets = category_sets(block, &what)?;
    let mut set_nodes: Vec<(usize, CategorySet)> = Vec::new();

    // Depth-first from internal node 0: a node is internal `i >= 0` or leaf `~i`.
    let mut t = Tree::default();
    let mut leaf_values = Vec::with_capacity(2 * m + 1);
    let mut seen_internal = vec![false; m];
    let mut seen_leaf = vec![false; num_leaves];
    // (LightGBM node, index of the Sylvan parent slot to patch: (parent, is_left))
    let mut stack: Vec<(i64, Option<(usize, bool)>)> = vec![(0, None)];
    while let Some((node, slot)) = stack.pop() {
        let me = t.left.len();
        if let Some((p, is_left)) = slot {
            if is_left {
                t.left[p] = me as i32;
            } else {
                t.right[p] = me as i32;
            }
        }
        if node >= 0 {
            let i = node as usize;
            if i >= m {
                return Err(err(format!("child {i} is outside 0..{m}")));
            }
            if std::mem::replace(&mut seen_internal[i], true) {
                return Err(err(format!("internal node {i} is reached twice")));
            }
            let d = decision[i];
            let f = usize::try_from(split_feature[i])
                .ok()
                .filter(|f| *f < num_features)
                .ok_or_else(|| err(format!("node {i} splits on feature {}", split_feature[i])))?;
            let thr = threshold[i];
            if thr.is_nan() {
                return Err(err(format!("node {i} has a NaN threshold")));
            }
            if d & CATEGORICAL_MASK != 0 {
                // The threshold is the index of the node's bitset. LightGBM sends the codes in it
                // left and everything else right, missing values too whatever the missing type
                // and default direction say: Sylvan's rule for a set whose missing values go right.
                let set = usize::try_from(thr as i64)
                    .ok()
                    .filter(|k| *k as f64 == thr)
                    .and_then(|k| sets.get(k))
                    .ok_or_else(|| {
                        err(format!(
                            "categorical node {i} refers to bitset {thr}, but the tree has {}",
                            sets.len()
                        ))
                    })?;
                set_nodes.push((me, set.clone()));
                t.left.push(-1);
                t.right.push(-1);
                t.feature.push(f as u32);
                t.threshold.push(0.0);
                t.default_left.push(false);
                t.value
                    .push(internal_value.as_ref().map_or(0.0, |v| (v[i] * scale) as f32));
                t.gain.push(gain.as_ref().map_or(0.0, |g| g[i] as f32));
                t.cover.push(internal_weight.as_ref().map_or(0.0, |w| w[i] as f32));
                leaf_values.push(0.0);
                stack.push((right[i], Some((me, false))));
                stack.push((left[i], Some((me, true))));
                continue;
            }
            let default_left = match (d >> 2) & 3 {
                MISSING_NAN => d & DEFAULT_LEFT_MASK != 0,
                // NaN is read as 0.0 and compared like any value.
                MISSING_NONE => 0.0 <= thr,
                MISSING_ZERO => {
                    return Err(err(format!(
                        "node {i} treats zero as missing (zero_as_missing), which Sylvan does not support"
                    )))
                }
                other => return Err(err(format!("node {i} has missing type {other}"))),
            };
            t.left.push(-1);
            t.right.push(-1);
            t.feature.push(f as u32);
            t.threshold.push(smallest_f32_above(thr));
            t.default_left.push(default_left);
            t.value
                .push(internal_value.as_ref().map_or(0.0, |v| (v[i] * scale) as f32));
            t.gain.push(gain.as_ref().map_or(0.0, |g| g[i] as f32));
            t.cover.push(internal_weight.as_ref().map_or(0.0, |w| w[i] as f32));
            leaf_values.push(0.0);
            stack.push((right[i], Some((me, false))));
            stack.push((left[i], Some((me, true))));
        } else {
            let j = !node as usize;
            if j >= num_leaves {
                return Err(err(format!("leaf {j} is outside 0..{num_leaves}")));
            }
            if std::mem::replace(&mut seen_leaf[j], true) {
                return Err(err(format!("leaf {j} is reached twice")));
            }
            t.left.push(-1);
            t.right.push(-1);
            t.feature.push(0);
            t.threshold.push(0.0);
            t.default_left.push(false);
            t.value.push(0.0);
            t.gain.push(0.0);
            t.cover.push(leaf_weight.as_ref().map_or(0.0, |w| w[j] as f32));
            leaf_values.push(leaf_value[j] * scale);
        }
    }
    let n = t.num_nodes();
    for (node, set) in set_nodes {
        t.categories.set_node(node, n, set);
    }
    Ok((t, leaf_values))
}

/// The category sets of a tree's categorical splits (`cat_boundaries`, `cat_threshold`), in bitset
/// order; empty when `num_cat` is 0.
fn category_sets(block: &Block, what: &str) -> Result<Vec<CategorySet>> {
    let err = |reason: String| conversion(FORMAT, format!("{what}: {reason}"));
    let num_cat: usize = match block.get("num_cat") {
        None => 0,
        Some(c) => c
            .trim()
            .parse()
            .map_err(|_| err(format!("num_cat `{c}` is not a count")))?,
    };
    if num_cat == 0 {
        return Ok(Vec::new());
    }
    let boundaries: Vec<usize> = block.array("cat_boundaries", num_cat + 1, what)?;
    let num_words = block.require("cat_threshold", what)?.split_whitespace().count();
    let words: Vec<u32> = block.array("cat_threshold", num_words, what)?;
    if boundaries[0] != 0 || boundaries.windows(2).any(|w| w[0] > w[1]) || boundaries[num_cat] != words.len() {
        return Err(err(format!(
            "cat_boundaries {boundaries:?} do not divide the {} cat_threshold words",
            words.len()
        )));
    }
    boundaries
        .windows(2)
        .enumerate()
        .map(|(k, w)| {
            let set = CategorySet::from_words(words[w[0]..w[1]].to_vec());
            if set.end() as usize > MAX_CATEGORIES {
                return Err(err(format!(
                    "bitset {k} holds category {}, beyond Sylvan's largest code {}",
                    set.end() - 1,
                    MAX_CATEGORIES - 1
                )));
            }
            Ok(set)
        })
        .collect()
}

/// Reads a LightGBM text model into a Sylvan booster that predicts the same.
///
/// Categorical splits become category-set nodes whose missing values go right (as LightGBM sends
/// them); the features `feature_infos` lists categories for are declared categorical, and the
/// `pandas_categorical` names, when they can be matched to those features, are stored under
/// [`CATEGORIES_ATTRIBUTE`]. Fractional values at categorical splits are the one input that predicts
/// differently: LightGBM truncates them to a code, Sylvan sends them right.
pub fn from_lightgbm_text(text: &str) -> Result<Booster> {
    let mut lines = text.lines().peekable();
    while lines.peek().is_some_and(|l| l.trim().is_empty()) {
        lines.next();
    }
    if lines.next().map(str::trim) != Some("tree") {
        return Err(conversion(
            FORMAT,
            "the first line is not `tree` (not a LightGBM text model)",
        ));
    }
    let header = parse_block(&mut lines, |l| l.starts_with("Tree=") || l == "end of trees");
    if header.flags.iter().any(|f| f == "average_output") {
        return Err(conversion(FORMAT, "averaged outputs (boosting=rf) are not supported"));
    }
    let count = |key: &str| -> Result<usize> {
        header
            .require(key, "header")?
            .parse::<usize>()
            .map_err(|_| conversion(FORMAT, format!("header: `{key}` is not a count")))
    };
    let num_class = count("num_class")?;
    let k = count("num_tree_per_iteration")?;
    let num_features = count("max_feature_idx")? + 1;
    let (kind, scale) = import_objective(header.get("objective").unwrap_or_default(), num_class)?;
    let expected_k = if kind.is_multiclass() { num_class } else { 1 };
    if k != expected_k {
        return Err(conversion(
            FORMAT,
            format!(
                "num_tree_per_iteration {k} with objective `{}`",
                header.get("objective").unwrap_or_default()
            ),
        ));
    }

    let mut trees = Vec::new();
    let mut leaves: Vec<Vec<f64>> = Vec::new();
    let mut ended = false;
    while let Some(line) = lines.next() {
        let line = line.trim();
        if line == "end of trees" {
            ended = true;
            break;
        }
        let Some(id) = line.strip_prefix("Tree=") else {
            if line.is_empty() {
                continue;
            }
            return Err(conversion(FORMAT, format!("unexpected line `{line}` between trees")));
        };
        let block = parse_block(&mut lines, |l| l.starts_with("Tree=") || l == "end of trees");
        let index = trees.len();
        if id.trim().parse::<usize>().ok() != Some(index) {
            return Err(conversion(FORMAT, format!("tree {index} is labelled `Tree={id}`")));
        }
        let (t, v) = import_tree(&block, index, num_features, scale)?;
        trees.push(t);
        leaves.push(v);
    }
    if !ended {
        return Err(conversion(FORMAT, "no `end of trees` line (a truncated file?)"));
    }
    if trees.is_empty() {
        return Err(conversion(FORMAT, "the model has no trees"));
    }
    if trees.len() % k != 0 {
        return Err(conversion(
            FORMAT,
            format!("{} trees is not a whole number of rounds of {k}", trees.len()),
        ));
    }
    // Leaf values to f32; the first tree of each output gives the midpoint of its leaves to the
    // base margin (f64).
    let mut base_margin = vec![0.0f64; k];
    for (i, (t, values)) in trees.iter_mut().zip(&leaves).enumerate() {
        let offset = if i < k {
            let (lo, hi) = (0..t.num_nodes())
                .filter(|n| t.is_leaf(*n))
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), n| {
                    (lo.min(values[n]), hi.max(values[n]))
                });
            base_margin[i] = lo + (hi - lo) / 2.0;
            base_margin[i]
        } else {
            0.0
        };
        for (n, v) in values.iter().enumerate() {
            if t.is_leaf(n) {
                t.value[n] = (v - offset) as f32;
                if !t.value[n].is_finite() {
                    return Err(conversion(FORMAT, format!("tree {i}: leaf value {v} overflows f32")));
                }
            }
        }
    }

    // The parameters block, if any: `[name: value]` lines.
    let mut loaded = BTreeMap::new();
    for line in lines {
        let line = line.trim();
        if let Some(inner) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if let Some((k, v)) = inner.split_once(':') {
                loaded.insert(k.trim().to_string(), v.trim().to_string());
            }
        }
    }
    let mut params = Params {
        objective: kind,
        ..Params::default()
    };
    if kind.is_multiclass() {
        params.num_class = num_class;
    }
    let get = |name: &str| loaded.get(name).and_then(|v| v.parse::<f64>().ok());
    if kind == ObjectiveKind::QuantileError {
        // LightGBM's default alpha is 0.9.
        params.quantile_alpha =
            sylvan_booster::Alphas::one(get("alpha").filter(|a| *a > 0.0 && *a < 1.0).unwrap_or(0.9));
    }
    if kind == ObjectiveKind::Tweedie {
        params.tweedie_variance_power = get("tweedie_variance_power")
            .filter(|p| (1.0..2.0).contains(p))
            .unwrap_or(1.5);
    }
    if let Some(eta) = get("learning_rate").filter(|e| *e > 0.0 && *e <= 1.0) {
        params.eta = eta;
    }

    let names: Vec<String> = header
        .get("feature_names")
        .map(|n| n.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let names = (names.len() == num_features).then_some(names);
    let pandas = pandas_categorical(text);
    let mut types = vec![FeatureType::Numerical; num_features];
    let infos: Vec<&str> = header
        .get("feature_infos")
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    if infos.len() == num_features {
        // A categorical feature's info lists its categories (`c1:c2:...`), a numerical one's its
        // range (`[lo:hi]`) or `none`.
        for (ty, info) in types.iter_mut().zip(&infos) {
            if *info != "none" && !info.starts_with('[') {
                *ty = FeatureType::Categorical;
            }
        }
    }
    for t in &trees {
        for i in (0..t.num_nodes()).filter(|&i| t.category_set(i).is_some()) {
            types[t.feature[i] as usize] = FeatureType::Categorical;
        }
    }
    let categories = match (&names, pandas) {
        (Some(names), Some(lists)) => category_map(names, &types, &lists, &trees),
        _ => None,
    };
    let mut booster = Booster::from_parts(params, base_margin, trees, num_features, names)
        .map_err(|e| conversion(FORMAT, e.to_string()))?;
    if types.iter().any(|t| t.is_categorical()) {
        booster
            .set_feature_types(types)
            .map_err(|e| conversion(FORMAT, e.to_string()))?;
    }
    if let Some(map) = categories {
        booster.set_attribute(CATEGORIES_ATTRIBUTE, map.to_json());
    }
    Ok(booster)
}

/// The lists of the file's `pandas_categorical:` line (LightGBM's Python package writes it last),
/// when it holds some.
fn pandas_categorical(text: &str) -> Option<Vec<Vec<serde_json::Value>>> {
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())?
        .strip_prefix("pandas_categorical:")?;
    serde_json::from_str::<Option<Vec<Vec<serde_json::Value>>>>(line).ok()?
}

/// The category names of `pandas_categorical`, as Sylvan's [`CATEGORIES_ATTRIBUTE`] mapping, when
/// they can be matched to features: LightGBM lists the pandas `category` columns in order, which are
/// the model's categorical features when there are as many of both (a `categorical_feature` that
/// also names integer columns makes more, and then the lists are not taken). Only lists of strings
/// are kept, and only when every code the trees use has a name.
fn category_map(
    names: &[String],
    types: &[FeatureType],
    lists: &[Vec<serde_json::Value>],
    trees: &[Tree],
) -> Option<CategoryMap> {
    let categorical: Vec<usize> = (0..types.len()).filter(|&f| types[f].is_categorical()).collect();
    if categorical.len() != lists.len() || lists.is_empty() {
        return None;
    }
    let mut end = vec![0u32; types.len()];
    for t in trees {
        for i in 0..t.num_nodes() {
            if let Some(set) = t.category_set(i) {
                let e = &mut end[t.feature[i] as usize];
                *e = (*e).max(set.end());
            }
        }
    }
    let mut map = CategoryMap::new();
    for (&f, list) in categorical.iter().zip(lists) {
        let strings: Option<Vec<String>> = list.iter().map(|v| v.as_str().map(str::to_string)).collect();
        if let Some(strings) = strings.filter(|s| s.len() >= end[f] as usize) {
            map.insert(names[f].clone(), strings);
        }
    }
    // A mapping that lists a category twice is not one.
    CategoryMap::from_json(&map.to_json()).ok().filter(|m| !m.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STUMPS: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
max_feature_idx=1\nobjective=regression\nfeature_names=a b\nfeature_infos=none none\n\n\
Tree=0\nnum_leaves=3\nnum_cat=0\nsplit_feature=0 1\nsplit_gain=1 1\nthreshold=0.5 -1\n\
decision_type=10 0\nleft_child=-1 -2\nright_child=1 -3\nleaf_value=1 2 3\nis_linear=0\nshrinkage=1\n\n\n\
Tree=1\nnum_leaves=1\nnum_cat=0\nsplit_feature=\nsplit_gain=\nthreshold=\ndecision_type=\n\
left_child=\nright_child=\nleaf_value=0.25\nis_linear=0\nshrinkage=1\n\n\nend of trees\n";

    #[test]
    fn reads_a_small_model() {
        let b = from_lightgbm_text(STUMPS).unwrap();
        assert_eq!(b.num_trees(), 2);
        assert_eq!(b.feature_names().unwrap(), &["a".to_string(), "b".to_string()]);
        let t = &b.trees()[0];
        let predict =
            |row: &[f32]| b.base_margin()[0] + t.predict_row(row) as f64 + b.trees()[1].predict_row(row) as f64;
        assert_eq!(predict(&[0.5, 0.0]), 1.25); // 0.5 <= 0.5: left
        assert_eq!(predict(&[f32::NAN, 0.0]), 1.25); // NaN, default left
        assert_eq!(predict(&[0.6, -1.0]), 2.25); // -1 <= -1: left
        assert_eq!(predict(&[0.6, -0.99]), 3.25);
        assert_eq!(predict(&[0.6, f32::NAN]), 3.25); // missing type none: NaN is 0.0 > -1
    }

    #[test]
    fn bad_models_are_errors() {
        assert!(from_lightgbm_text("").is_err());
        assert!(from_lightgbm_text("tree\nnum_class=1\n").is_err());
        let zero = STUMPS.replace("decision_type=10 0", "decision_type=4 0");
        assert!(from_lightgbm_text(&zero).unwrap_err().to_string().contains("zero"));
        let cat = STUMPS.replace("decision_type=10 0", "decision_type=1 0");
        assert!(from_lightgbm_text(&cat).is_err());
        let cycle = STUMPS.replace("right_child=1 -3", "right_child=1 0");
        assert!(from_lightgbm_text(&cycle).is_err());
        let short = STUMPS.replace("leaf_value=1 2 3", "leaf_value=1 2");
        assert!(from_lightgbm_text(&short).is_err());
        let far = STUMPS.replace("split_feature=0 1", "split_feature=0 7");
        assert!(from_lightgbm_text(&far).is_err());
        let obj = STUMPS.replace("objective=regression", "objective=rank_xendcg");
        assert!(from_lightgbm_text(&obj).is_err());
        let cat = CAT_STUMP.replace("DT", "9");
        let far_set = cat.replace("threshold=0\n", "threshold=3\n");
        assert!(from_lightgbm_text(&far_set).unwrap_err().to_string().contains("bitset"));
        let huge = cat.replace("cat_boundaries=0 2", "cat_boundaries=0 2049").replace(
            "cat_threshold=5 2",
            &format!("cat_threshold=5 2{}", " 0".repeat(2046) + " 1"),
        );
        assert!(from_lightgbm_text(&huge)
            .unwrap_err()
            .to_string()
            .contains("largest code"));
        let torn = cat.replace("cat_boundaries=0 2", "cat_boundaries=0 3");
        assert!(from_lightgbm_text(&torn).is_err());
    }

    // --------------------------------------------------------------------------------------------
    // Categorical splits

    /// One categorical split on feature `a`: bitset {0, 2, 33}; `DT` is its decision type and `PANDAS`
    /// the JSON of its `pandas_categorical` line.
    const CAT_STUMP: &str = "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n\
max_feature_idx=1\nobjective=regression\nfeature_names=a b\nfeature_infos=0:1:2:33 none\n\n\
Tree=0\nnum_leaves=2\nnum_cat=1\nsplit_feature=0\nsplit_gain=1\nthreshold=0\ndecision_type=DT\n\
left_child=-1\nright_child=-2\nleaf_value=1 2\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\n\
internal_weight=1\ninternal_count=1\ncat_boundaries=0 2\ncat_threshold=5 2\nis_linear=0\nshrinkage=1\n\n\n\
end of trees\n\npandas_categorical:PANDAS\n";

    /// LightGBM 4.7's prediction (raw score) of a text model for one row, as probed with the
    /// library: numerical splits `x <= threshold` with NaN to the default side (missing type NaN)
    /// or read as 0 (missing type None); categorical splits truncate the value to an integer and
    /// send it left when the bitset holds it, NaN and negative values right.
    fn lightgbm_score(text: &str, row: &[f64]) -> f64 {
        let mut lines = text.lines().peekable();
        let mut total = 0.0;
        while let Some(line) = lines.next() {
            if !line.starts_with("Tree=") {
                continue;
            }
            let b = parse_block(&mut lines, |l| l.starts_with("Tree=") || l == "end of trees");
            let leaves: usize = b.get("num_leaves").unwrap().parse().unwrap();
            let leaf_value: Vec<f64> = b.array("leaf_value", leaves, "").unwrap();
            if leaves == 1 {
                total += leaf_value[0];
                continue;
            }
            let m = leaves - 1;
            let feature: Vec<usize> = b.array("split_feature", m, "").unwrap();
            let threshold: Vec<f64> = b.array("threshold", m, "").unwrap();
            let decision: Vec<u32> = b.array("decision_type", m, "").unwrap();
            let left: Vec<i64> = b.array("left_child", m, "").unwrap();
            let right: Vec<i64> = b.array("right_child", m, "").unwrap();
            let sets = category_sets(&b, "").unwrap();
            let mut node = 0i64;
            while node >= 0 {
                let i = node as usize;
                let x = row[feature[i]];
                let d = decision[i];
                let goes_left = if d & CATEGORICAL_MASK != 0 {
                    !x.is_nan() && (x as i64) >= 0 && sets[threshold[i] as usize].contains(x as i64 as u32)
                } else {
                    let missing = (d >> 2) & 3;
                    match (x.is_nan(), missing) {
                        (true, MISSING_NAN) => d & DEFAULT_LEFT_MASK != 0,
                        (true, _) => 0.0 <= threshold[i],
                        (false, _) => x <= threshold[i],
                    }
                };
                node = if goes_left { left[i] } else { right[i] };
            }
            total += leaf_value[!node as usize];
        }
        total
    }

    #[test]
    fn imported_categorical_splits_route_like_lightgbm() {
        let probes = [0.0, 1.0, 2.0, 33.0, 64.0, 1000.0, -1.0, f64::NAN, f64::INFINITY, -0.0];
        // Every missing type and default direction: LightGBM sends NaN right regardless (checked).
        let names: Vec<String> = (0..34).map(|c| format!("c{c}")).collect();
        let pandas = serde_json::to_string(&[&names]).unwrap();
        for dt in [1, 3, 5, 7, 9, 11] {
            let text = CAT_STUMP.replace("DT", &dt.to_string()).replace("PANDAS", &pandas);
            let b = from_lightgbm_text(&text).unwrap();
            let t = &b.trees()[0];
            assert_eq!(t.category_set(0).unwrap().codes().collect::<Vec<_>>(), vec![0, 2, 33]);
            assert!(!t.default_left[0]);
            for x in probes {
                let sylvan = b.base_margin()[0] + t.predict_row(&[x as f32, 0.0]) as f64;
                assert_eq!(sylvan, lightgbm_score(&text, &[x, 0.0]), "decision type {dt}, x = {x}");
            }
            assert_eq!(
                b.feature_types(),
                vec![FeatureType::Categorical, FeatureType::Numerical]
            );
            // The pandas category names come back as Sylvan's mapping.
            let map = CategoryMap::from_json(&b.attributes()[CATEGORIES_ATTRIBUTE]).unwrap();
            assert_eq!(map.get("a").unwrap(), names.as_slice());
        }
        // Only strings, as many lists as categorical features, a name for every code used.
        for bad in [
            "[[1, 2, 3]]",
            "[[\"x\"], [\"y\"]]",
            "[[\"x\", \"y\", \"z\"]]",
            "null",
            "[[\"x",
        ] {
            let text = CAT_STUMP.replace("DT", "9").replace("PANDAS", bad);
            let b = from_lightgbm_text(&text).unwrap();
            assert!(!b.attributes().contains_key(CATEGORIES_ATTRIBUTE), "{bad}");
        }
    }

    #[test]
    fn complement_covers_every_other_code() {
        let set = CategorySet::from_codes([0, 5, 31, 32, 1000, 65_534]);
        let words = complement_words(&set);
        assert_eq!(words.len(), 2048);
        assert_eq!(words[2047], 0x3fff_ffff); // codes 65 504..=65 533; 65 534 is in the set
        let complement = CategorySet::from_words(words);
        for c in 0..MAX_CATEGORIES as u32 + 40 {
            let expected = (c as usize) < MAX_CATEGORIES && !set.contains(c);
            assert_eq!(complement.contains(c), expected, "code {c}");
        }
        assert_eq!(complement.len() + set.len(), MAX_CATEGORIES);
        // An empty set's complement is every code.
        assert_eq!(
            CategorySet::from_words(complement_words(&CategorySet::default())).len(),
            MAX_CATEGORIES
        );
    }

    /// A tree with nested default-left set nodes (on two features, one inside the other's left
    /// subtree), a default-right set node and a threshold node; leaf `i` has value `i`.
    fn categorical_tree() -> Tree {
        // node: (left, right, feature, threshold, default_left)
        let shape: [(i32, i32, u32, f32, bool); 13] = [
            (1, 2, 0, 0.0, true),    // 0: f0 in {1, 3, 40}, missing left
            (3, 4, 1, 0.0, true),    // 1: f1 in {0, 2}, missing left
            (5, 6, 2, 0.5, true),    // 2: f2 < 0.5, missing left
            (7, 8, 0, 0.0, false),   // 3: f0 in {3}, missing right
            (-1, -1, 0, 0.0, false), // 4
            (9, 10, 0, 0.0, true),   // 5: f0 in {2, 40}, missing left
            (11, 12, 1, 0.0, false), // 6: f1 in {5}, missing right
            (-1, -1, 0, 0.0, false),
            (-1, -1, 0, 0.0, false),
            (-1, -1, 0, 0.0, false),
            (-1, -1, 0, 0.0, false),
            (-1, -1, 0, 0.0, false),
            (-1, -1, 0, 0.0, false),
        ];
        let n = shape.len();
        let mut t = Tree {
            left: shape.iter().map(|s| s.0).collect(),
            right: shape.iter().map(|s| s.1).collect(),
            feature: shape.iter().map(|s| s.2).collect(),
            threshold: shape.iter().map(|s| s.3).collect(),
            default_left: shape.iter().map(|s| s.4).collect(),
            value: (0..n).map(|i| i as f32).collect(),
            gain: vec![1.0; n],
            cover: vec![10.0; n],
            categories: Default::default(),
        };
        for (i, codes) in [
            (0, vec![1, 3, 40]),
            (1, vec![0, 2]),
            (3, vec![3]),
            (5, vec![2, 40]),
            (6, vec![5]),
        ] {
            t.categories.set_node(i, n, CategorySet::from_codes(codes));
        }
        t
    }

    fn probe_rows() -> Vec<[f32; 3]> {
        let f0 = [
            0.0, 1.0, 2.0, 3.0, 39.0, 40.0, 41.0, 63.0, 64.0, 100.0, 65_534.0, 70_000.0, -1.0,
        ];
        let f1 = [0.0, 1.0, 2.0, 5.0, 6.0, 40.0, -3.0];
        let f2 = [0.0, 0.5, 1.0, f32::NEG_INFINITY];
        let with_nan = |v: &[f32]| v.iter().copied().chain([f32::NAN, f32::INFINITY]).collect::<Vec<_>>();
        let mut rows = Vec::new();
        for a in with_nan(&f0) {
            for b in with_nan(&f1) {
                for c in with_nan(&f2) {
                    rows.push([a, b, c]);
                }
            }
        }
        rows
    }

    fn tree_text(t: &Tree, limit: usize) -> String {
        let mut text = String::new();
        write_tree(&mut text, 0, t, 0.0, limit);
        text.push_str("end of trees\n");
        text
    }

    #[test]
    fn default_left_sets_export_exactly_through_a_nan_test() {
        let t = categorical_tree();
        let text = tree_text(&t, expansion_limit(t.num_nodes()));
        // Three default-left set nodes at the top level, one more inside the copy made for node 0.
        assert!(text.contains("threshold=inf "), "{text}");
        assert!(!text.contains("4294967295"), "no complement bitsets: {text}");
        let lgb_leaves: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("num_leaves="))
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            lgb_leaves > t.num_leaves() && lgb_leaves <= 4 * t.num_leaves(),
            "{lgb_leaves}"
        );
        for row in probe_rows() {
            let x: Vec<f64> = row.iter().map(|v| *v as f64).collect();
            assert_eq!(lightgbm_score(&text, &x), t.predict_row(&row) as f64, "row {row:?}");
        }
        // Back into Sylvan: identical except +inf at the NaN tests (Sylvan's `x < inf`).
        let model = format!(
            "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=2\n\
objective=regression\nfeature_names=a b c\nfeature_infos=none none none\n\n{text}"
        );
        let back = from_lightgbm_text(&model).unwrap();
        for row in probe_rows().into_iter().filter(|r| !r.contains(&f32::INFINITY)) {
            let got = back.base_margin()[0] + back.trees()[0].predict_row(&row) as f64;
            assert_eq!(got, t.predict_row(&row) as f64, "row {row:?}");
        }
    }

    #[test]
    fn large_copies_fall_back_to_complement_bitsets() {
        let t = categorical_tree();
        let text = tree_text(&t, t.num_nodes() + 2);
        assert!(!text.contains("threshold=inf"), "{text}");
        assert_eq!(text.matches("4294967295").count() / 2000, 3, "three complement bitsets");
        let lgb_leaves = text.lines().find_map(|l| l.strip_prefix("num_leaves=")).unwrap();
        assert_eq!(lgb_leaves, t.num_leaves().to_string());
        for row in probe_rows() {
            let x: Vec<f64> = row.iter().map(|v| *v as f64).collect();
            let sylvan = t.predict_row(&row) as f64;
            let lightgbm = lightgbm_score(&text, &x);
            // Exact for codes and missing values; a non-code (negative, too large, infinite) at a
            // default-left set node goes with the missing values.
            let codes_only = row.iter().all(|v| v.is_nan() || (*v >= 0.0 && *v < 65_535.0));
            if codes_only {
                assert_eq!(lightgbm, sylvan, "row {row:?}");
            }
        }
        // -1 at the root: Sylvan sends it right, with the categories outside the set; the
        // complement sends it with the missing values.
        let (negative, missing) = ([-1.0f32, 0.0, 0.0], [f32::NAN, 0.0, 0.0]);
        assert_ne!(t.predict_row(&negative), t.predict_row(&missing));
        assert_eq!(
            lightgbm_score(&text, &negative.map(|v| v as f64)),
            t.predict_row(&missing) as f64
        );
    }

    #[test]
    fn numerical_trees_are_written_as_before() {
        // (Checked byte for byte against the writer that predates categorical splits.)
        let b = from_lightgbm_text(STUMPS).unwrap();
        let text = to_lightgbm_text(&b).unwrap();
        let tree0 = "Tree=0\nnum_leaves=3\nnum_cat=0\nsplit_feature=0 1\nsplit_gain=1 1\n\
threshold=0.5 -1.0\ndecision_type=10 8\nleft_child=-1 -2\nright_child=1 -3\n";
        assert!(text.contains(tree0), "{text}");
        assert!(
            text.contains(
                "feature_infos=[0.5000000596046448:0.5000000596046448] [-0.9999999403953552:-0.9999999403953552]\n"
            ),
            "{text}"
        );
        assert!(!text.contains("cat_boundaries") && !text.contains("pandas_categorical"));
        assert!(text.ends_with("end of parameters\n\n"));
    }
}
