//! XGBoost's JSON model format (`Booster.save_model("m.json")`), written in the 3.x schema and read
//! in the 3.x and 2.x schemas.
//!
//! Export: one tree per output per round (`tree_info` gives the class, `iteration_indptr` the
//! rounds), nodes in Sylvan's order with `parents`, `split_conditions` holding thresholds (internal
//! nodes) and leaf values (leaves), `default_left` as 0/1, and `base_score` as a vector string after
//! the inverse link (a probability for `binary:logistic`, `exp(margin)` for the log-link objectives,
//! the margins themselves otherwise — also for `binary:logitraw`, whose base score XGBoost adds to the
//! margin unchanged, and for `multi:*`, whose vector holds one margin per class). XGBoost sends a row left when `x < split_condition`, as Sylvan does,
//! so thresholds are copied unchanged. The exact f64 base margins, the Sylvan parameters and the
//! model's `sylvan.*` attributes travel in `learner.attributes` (`sylvan.base_margin`,
//! `sylvan.params`), so that a round trip gives back the same model bit for bit; XGBoost ignores them.
//!
//! Import: numeric splits with their default directions; `base_score` as a 3.x vector string
//! (`"[4.4E-1]"`, one value or one per class) or a 2.x scalar (`"5E-1"`); multiclass models through
//! `tree_info`; random forests (`num_parallel_tree > 1`) kept as forests when this Sylvan has
//! `num_parallel_tree`, else as extra rounds (the sum is the same); `dart` boosters as DART models
//! whose tree weights are `weight_drop` (XGBoost 3.2 writes it beside the nested `gbtree`; 3.4 may
//! write it inside `gradient_booster.model`, possibly shorter than the trees, the rest weighing 1).
//! Multi-target trees, `gblinear` and objectives Sylvan lacks (e.g. hinge) are errors. `survival:aft`
//! carries `aft_loss_param` (`aft_loss_distribution`, `aft_loss_distribution_scale`) in its
//! objective block, as XGBoost 3.2 writes it; `survival:cox` none.
//!
//! DART: a model with tree weights ([`Booster::tree_weights`]) is written as XGBoost 3.2 writes a
//! `dart` booster: `gradient_booster` `{"name": "dart", "gbtree": {"name": "gbtree", "model":
//! {...}}, "weight_drop": [...]}`, the trees unscaled and one f32 weight per tree; XGBoost then
//! adds each tree's leaf value times its weight, as Sylvan does.
//!
//! ## Categorical splits
//!
//! XGBoost marks a categorical node with `split_type` 1 and lists its categories in the tree's
//! `categories` array (node `categories_nodes[k]` owns `categories_sizes[k]` codes from
//! `categories_segments[k]`, ascending); a row whose category is listed goes RIGHT, any other
//! value (another category, a code past every listed one, a negative value) goes left, and a
//! missing value follows `default_left`. Sylvan's category-set node sends its set LEFT and
//! everything else right, so a set node is written as a categorical node with the same codes,
//! its children swapped (XGBoost's left child is Sylvan's right one) and `default_left` negated;
//! the import does the reverse. The threshold of such a node is unused (written as 0). XGBoost
//! cannot store an empty category list, so a set node with an empty set (which training never
//! makes) is an export error.
//!
//! The two libraries route every missing value and every integer the same way (negative values,
//! unseen codes and codes past the largest listed one, or past XGBoost's 2^24 limit, are "not in
//! the set" for both). They differ only on fractions: XGBoost truncates a non-negative fraction to
//! an integer (2.5 is category 2) where Sylvan treats it as no category, so such a value goes the
//! other way when its truncated code is in the set. Codes at or above Sylvan's
//! [`sylvan_booster::MAX_CATEGORIES`] cannot be in a Sylvan set, so an XGBoost model listing one
//! is an import error.
//!
//! Feature types travel in `learner.feature_types` (`"c"` categorical, `"q"` numerical; written
//! only for models with categorical features, so numerical exports are unchanged). Category names:
//! XGBoost 3.x keeps the categories a model was trained on in `gradient_booster.model.cats`
//! (`enc`: per feature either string categories as UTF-8 bytes with `offsets`, or numbers with a
//! dtype `type`; `feature_segments`; `sorted_idx`, each feature's categories in sorted order) and
//! re-encodes a pandas input by name with it (an unknown name is an error there). The export fills
//! it from the [`CATEGORIES_ATTRIBUTE`] mapping that Sylvan's command line stores, when the model
//! has feature names and the mapping names every categorical feature with ASCII strings (XGBoost
//! 3.2 compares and decodes non-ASCII category bytes inconsistently, so such names are left out
//! and the file holds codes only, like a model XGBoost trained on a NumPy array); the import turns
//! string categories back into that attribute (unless the file already carries it). Numeric
//! categories are not stored: Sylvan reads the codes (positions in XGBoost's category list), as
//! XGBoost does for NumPy input.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use sylvan_booster::{Booster, CategorySet, FeatureType, ObjectiveKind, Params, Tree, TreeCategories, MAX_CATEGORIES};

use super::{
    conversion, depth_first_order, finite, is_log_link, is_logistic, predicting_trees, round_layout, ModelFormat,
};
use crate::categories::{CategoryMap, CATEGORIES_ATTRIBUTE};
use crate::error::Result;

const FORMAT: ModelFormat = ModelFormat::XgboostJson;

/// The `version` written into exported models.
pub const XGBOOST_VERSION: [u32; 3] = [3, 2, 0];
/// The attribute holding the exact base margins (f64, as a JSON list) of an exported model.
pub const BASE_MARGIN_ATTRIBUTE: &str = "sylvan.base_margin";
/// The attribute holding the Sylvan parameters (JSON) of an exported model.
pub const PARAMS_ATTRIBUTE: &str = "sylvan.params";
/// The parent XGBoost records for the root.
const ROOT_PARENT: i64 = 2147483647;
/// XGBoost's `split_type` of a threshold split.
const NUMERICAL_SPLIT: i64 = 0;
/// XGBoost's `split_type` of a categorical split (the listed categories go right).
const CATEGORICAL_SPLIT: i64 = 1;

/// A 0/1 flag that also reads `true`/`false` (older files).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Flag(bool);

impl Serialize for Flag {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_u8(self.0 as u8)
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Flag, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Bool(bool),
            Int(i64),
        }
        Ok(Flag(match Repr::deserialize(d)? {
            Repr::Bool(b) => b,
            Repr::Int(i) => i != 0,
        }))
    }
}

/// One tree as XGBoost writes it.
#[derive(Debug, Serialize, Deserialize)]
struct XgbTree {
    #[serde(default)]
    base_weights: Vec<f32>,
    #[serde(default)]
    categories: Vec<i64>,
    #[serde(default)]
    categories_nodes: Vec<i64>,
    #[serde(default)]
    categories_segments: Vec<i64>,
    #[serde(default)]
    categories_sizes: Vec<i64>,
    default_left: Vec<Flag>,
    #[serde(default)]
    id: i64,
    left_children: Vec<i32>,
    /// Vector-leaf trees (`size_leaf_vector` > 1): each leaf's values, leaf after leaf; a leaf's
    /// `right_children` entry is its index here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    leaf_weights: Vec<f32>,
    #[serde(default)]
    loss_changes: Vec<f32>,
    #[serde(default)]
    parents: Vec<i64>,
    right_children: Vec<i32>,
    split_conditions: Vec<f32>,
    split_indices: Vec<i64>,
    #[serde(default)]
    split_type: Vec<i64>,
    #[serde(default)]
    sum_hessian: Vec<f32>,
    #[serde(default)]
    tree_param: BTreeMap<String, Value>,
}

// ------------------------------------------------------------------------------------------------
// Export

/// The XGBoost objective configuration of `params.objective`.
fn objective_json(params: &Params) -> Value {
    use ObjectiveKind::*;
    let name = params.objective.name();
    let num = |v: f64| Value::String(format!("{v}"));
    match params.objective {
        SquaredError | Gamma | BinaryLogistic | BinaryLogitRaw => {
            json!({"name": name, "reg_loss_param": {"scale_pos_weight": num(params.scale_pos_weight)}})
        }
        AbsoluteError | SquaredLogError => json!({ "name": name }),
        PseudoHuberError => json!({"name": name, "pseudo_huber_param": {"huber_slope": num(params.huber_slope)}}),
        QuantileError => json!({
            "name": name,
            "quantile_loss_param": {"quantile_alpha": alpha_list(&params.quantile_alpha)}
        }),
        ExpectileError => json!({
            "name": name,
            "expectile_loss_param": {"expectile_alpha": alpha_list(&params.expectile_alpha)}
        }),
        Poisson => json!({
            "name": name,
            "poisson_regression_param": {"max_delta_step": num(params.effective_max_delta_step())}
        }),
        Tweedie => json!({
            "name": name,
            "tweedie_regression_param": {"tweedie_variance_power": num(params.tweedie_variance_power)}
        }),
        MultiSoftmax | MultiSoftprob => {
            json!({"name": name, "softmax_multiclass_param": {"num_class": params.num_class.to_string()}})
        }
        SurvivalCox => json!({ "name": name }),
        RankPairwise | RankNdcg | RankMap => lambdarank_json(params),
        SurvivalAft => json!({
            "name": name,
            "aft_loss_param": {
                "aft_loss_distribution": params.aft_loss_distribution.name(),
                "aft_loss_distribution_scale": num(params.aft_loss_distribution_scale)
            }
        }),
    }
}

/// Levels as XGBoost writes a `ParamArray<float>`: `"[0.1,0.5,0.9]"`.
fn alpha_list(alphas: &sylvan_booster::Alphas) -> String {
    let parts: Vec<String> = alphas.as_slice().iter().map(|a| a.to_string()).collect();
    format!("[{}]", parts.join(","))
}

/// XGBoost's stored `base_score` of one output: the margin after the link function.
fn margin_to_base_score(kind: ObjectiveKind, margin: f64) -> Result<f32> {
    let score = if is_logistic(kind) {
        1.0 / (1.0 + (-margin).exp())
    } else if is_log_link(kind) {
        margin.exp()
    } else {
        margin
    } as f32;
    let ok = score.is_finite()
        && (!is_logistic(kind) || (score > 0.0 && score < 1.0))
        && (!is_log_link(kind) || score > 0.0);
    if !ok {
        return Err(conversion(
            FORMAT,
            format!(
                "base margin {margin} cannot be stored as an XGBoost base_score for {}",
                kind.name()
            ),
        ));
    }
    Ok(score)
}

/// The margin of a stored XGBoost `base_score`.
fn base_score_to_margin(kind: ObjectiveKind, score: f64) -> Result<f64> {
    let margin = if is_logistic(kind) {
        if !(score > 0.0 && score < 1.0) {
            return Err(conversion(
                FORMAT,
                format!("base_score {score} is not in (0, 1) for {}", kind.name()),
            ));
        }
        (score / (1.0 - score)).ln()
    } else if is_log_link(kind) {
        if score <= 0.0 {
            return Err(conversion(
                FORMAT,
                format!("base_score {score} is not > 0 for {}", kind.name()),
            ));
        }
        score.ln()
    } else {
        score
    };
    if !margin.is_finite() {
        return Err(conversion(FORMAT, format!("base_score {score} is not finite")));
    }
    Ok(margin)
}

/// The category lists of a tree's set nodes in XGBoost's layout: `(categories, categories_nodes,
/// categories_segments, categories_sizes)`.
type CategoryArrays = (Vec<i64>, Vec<i64>, Vec<i64>, Vec<i64>);

/// XGBoost's category arrays of tree `id` (node order, codes ascending). An empty set is an error:
/// XGBoost refuses a categorical node without categories.
fn export_categories(t: &Tree, id: usize) -> Result<CategoryArrays> {
    let mut arrays = CategoryArrays::default();
    let (categories, nodes, segments, sizes) = &mut arrays;
    for i in (0..t.num_nodes()).filter(|&i| !t.is_leaf(i)) {
        let Some(set) = t.category_set(i) else { continue };
        if set.is_empty() {
            return Err(conversion(
                FORMAT,
                format!("tree {id}: node {i} splits by an empty category set, which XGBoost cannot store"),
            ));
        }
        nodes.push(i as i64);
        segments.push(categories.len() as i64);
        sizes.push(set.len() as i64);
        categories.extend(set.codes().map(i64::from));
    }
    Ok(arrays)
}

/// The tree with its nodes renumbered: new node `k` is old node `order[k]`, and `new_id[old]` is
/// the new id of an old node (only reachable nodes need one; a child id outside the tree stays as
/// it is, for `Tree::validate` to report).
fn permute(t: &Tree, order: &[usize], new_id: &[usize]) -> Tree {
    let map = |c: i32| match usize::try_from(c).ok().and_then(|c| new_id.get(c)) {
        Some(&k) => k as i32,
        None => c.max(-1),
    };
    Tree {
        left: order.iter().map(|&o| map(t.left[o])).collect(),
        right: order.iter().map(|&o| map(t.right[o])).collect(),
        feature: order.iter().map(|&o| t.feature[o]).collect(),
        threshold: order.iter().map(|&o| t.threshold[o]).collect(),
        default_left: order.iter().map(|&o| t.default_left[o]).collect(),
        value: order.iter().map(|&o| t.value[o]).collect(),
        gain: order.iter().map(|&o| t.gain[o]).collect(),
        cover: order.iter().map(|&o| t.cover[o]).collect(),
        categories: TreeCategories {
            node_set: if t.categories.is_empty() {
                Vec::new()
            } else {
                order.iter().map(|&o| t.categories.node_set[o]).collect()
            },
            sets: t.categories.sets.clone(),
        },
    }
}

/// Swaps the two children of every set node whose children are adjacent, `right == left + 1`
/// when `ascending` (how Sylvan numbers siblings) or `left == right + 1` otherwise (how a set
/// node of an XGBoost file reads once its children have traded places), so that afterwards the
/// other relation holds. The two child nodes trade ids, their subtrees stay where they are.
fn swap_set_children(t: &Tree, ascending: bool) -> Tree {
    let n = t.num_nodes();
    let mut new_id: Vec<usize> = (0..n).collect();
    for i in (0..n).filter(|&i| !t.is_leaf(i) && t.category_set(i).is_some()) {
        let (l, r) = (t.left[i] as usize, t.right[i] as usize);
        let (a, b) = if ascending { (l, r) } else { (r, l) };
        if b == a + 1 && b < n {
            new_id.swap(a, b);
        }
    }
    // The swaps are transpositions, so `new_id` is its own inverse: the order is the same map.
    permute(t, &new_id, &new_id)
}

/// The children of inner node `i` in XGBoost's orientation: (XGBoost's left, XGBoost's right).
/// A set node's set goes left in Sylvan and right in XGBoost, so its children trade places.
fn xgboost_children(t: &Tree, i: usize) -> (usize, usize) {
    let (l, r) = (t.left[i] as usize, t.right[i] as usize);
    if t.category_set(i).is_some() {
        (r, l)
    } else {
        (l, r)
    }
}

/// The tree numbered as XGBoost needs it: below the levels its predictor unrolls, XGBoost finds a
/// node's right child at `left + 1`, so every pair of siblings must have adjacent ids, XGBoost's
/// left child first. A Sylvan-trained tree numbers siblings that way already: unchanged when it
/// has no set node; otherwise the children of each set node trade ids (which the import undoes,
/// so a round trip gives back the same tree). Any other tree (imported and renumbered depth-first,
/// say) is renumbered breadth-first.
fn xgboost_layout(t: &Tree) -> Cow<'_, Tree> {
    let fits = |t: &Tree| {
        (0..t.num_nodes()).all(|i| {
            t.is_leaf(i) || {
                let (a, b) = xgboost_children(t, i);
                b == a + 1
            }
        })
    };
    if fits(t) {
        return Cow::Borrowed(t);
    }
    if t.has_category_splits() {
        let swapped = swap_set_children(t, true);
        if fits(&swapped) {
            return Cow::Owned(swapped);
        }
    }
    let n = t.num_nodes();
    let mut new_id = vec![usize::MAX; n];
    let mut order = Vec::with_capacity(n);
    new_id[0] = 0;
    order.push(0);
    let mut k = 0;
    while k < order.len() {
        let i = order[k];
        k += 1;
        if !t.is_leaf(i) {
            let (a, b) = xgboost_children(t, i);
            for c in [a, b] {
                new_id[c] = order.len();
                order.push(c);
            }
        }
    }
    Cow::Owned(permute(t, &order, &new_id))
}

fn export_tree(t: &Tree, id: usize, num_features: usize) -> Result<XgbTree> {
    let n = t.num_nodes();
    if let Some(i) = (0..n).find(|&i| t.is_leaf(i) && !t.value[i].is_finite()) {
        return Err(conversion(
            FORMAT,
            format!("tree {id}: leaf {i} has value {}", t.value[i]),
        ));
    }
    let layout = xgboost_layout(t);
    let t: &Tree = &layout;
    let mut parents = vec![ROOT_PARENT; n];
    for i in 0..n {
        if !t.is_leaf(i) {
            parents[t.left[i] as usize] = i as i64;
            parents[t.right[i] as usize] = i as i64;
        }
    }
    let leaf = |i: usize| t.is_leaf(i);
    // A set node's set goes left in Sylvan and right in XGBoost: its children trade places and its
    // missing values keep their child, so the default direction flips.
    let is_set = |i: usize| !leaf(i) && t.category_set(i).is_some();
    let (categories, categories_nodes, categories_segments, categories_sizes) = export_categories(t, id)?;
    Ok(XgbTree {
        base_weights: t.value.iter().map(|v| finite(*v)).collect(),
        categories,
        categories_nodes,
        categories_segments,
        categories_sizes,
        default_left: (0..n)
            .map(|i| Flag(!leaf(i) && t.default_left[i] != is_set(i)))
            .collect(),
        id: id as i64,
        left_children: (0..n)
            .map(|i| match (leaf(i), is_set(i)) {
                (true, _) => -1,
                (false, false) => t.left[i],
                (false, true) => t.right[i],
            })
            .collect(),
        leaf_weights: Vec::new(),
        loss_changes: (0..n).map(|i| if leaf(i) { 0.0 } else { finite(t.gain[i]) }).collect(),
        parents,
        right_children: (0..n)
            .map(|i| match (leaf(i), is_set(i)) {
                (true, _) => -1,
                (false, false) => t.right[i],
                (false, true) => t.left[i],
            })
            .collect(),
        // JSON has no infinities: +-inf thresholds become +-f32::MAX (the same split for every input
        // but x = +-f32::MAX itself). A set node's threshold is unused: 0.
        split_conditions: (0..n)
            .map(|i| {
                if leaf(i) {
                    t.value[i]
                } else if is_set(i) {
                    0.0
                } else {
                    t.threshold[i].clamp(-f32::MAX, f32::MAX)
                }
            })
            .collect(),
        split_indices: (0..n).map(|i| if leaf(i) { 0 } else { t.feature[i] as i64 }).collect(),
        split_type: (0..n)
            .map(|i| if is_set(i) { CATEGORICAL_SPLIT } else { NUMERICAL_SPLIT })
            .collect(),
        sum_hessian: t.cover.iter().map(|v| finite(*v)).collect(),
        tree_param: [
            ("num_deleted", "0".to_string()),
            ("num_feature", num_features.to_string()),
            ("num_nodes", n.to_string()),
            ("size_leaf_vector", "1".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::String(v)))
        .collect(),
    })
}

/// The `cats` entry XGBoost 3.x keeps beside the trees: the category names of each feature, when
/// the model carries them for every categorical feature (see the module docs); else the empty
/// entry of a model trained on codes.
fn export_cats(booster: &Booster, types: &[FeatureType]) -> Value {
    let empty = json!({"enc": [], "feature_segments": [], "sorted_idx": []});
    let named = booster
        .feature_names()
        .filter(|_| types.iter().any(|t| t.is_categorical()))
        .zip(
            booster
                .attributes()
                .get(CATEGORIES_ATTRIBUTE)
                .and_then(|text| CategoryMap::from_json(text).ok()),
        );
    let Some((names, map)) = named else {
        return empty;
    };
    let mut enc = Vec::with_capacity(types.len());
    let mut segments = vec![0usize];
    let mut sorted_idx = Vec::new();
    for (name, ty) in names.iter().zip(types) {
        let mut count = 0;
        if !ty.is_categorical() {
            enc.push(json!({"offsets": [], "values": []}));
        } else {
            let values = match map.get(name) {
                Some(v) if !v.is_empty() && v.iter().all(|s| s.is_ascii()) => v,
                _ => return empty,
            };
            let mut offsets = vec![0usize];
            let mut bytes: Vec<u8> = Vec::new();
            for v in values {
                bytes.extend_from_slice(v.as_bytes());
                offsets.push(bytes.len());
            }
            enc.push(json!({"offsets": offsets, "values": bytes}));
            let mut order: Vec<usize> = (0..values.len()).collect();
            order.sort_by(|a, b| values[*a].as_bytes().cmp(values[*b].as_bytes()));
            sorted_idx.extend(order);
            count = values.len();
        }
        segments.push(segments[segments.len() - 1] + count);
    }
    json!({"enc": enc, "feature_segments": segments, "sorted_idx": sorted_idx})
}

/// The model as XGBoost JSON text (3.x schema), loadable by `xgboost.Booster(model_file=...)`.
/// Category-set splits become XGBoost categorical splits, with `feature_types` and, when the model
/// carries category names, the `cats` entry (see the module docs).
///
/// Fails for a custom objective (XGBoost would not know its link) and for a base margin that the
/// objective's `base_score` cannot hold.
pub fn to_xgboost_json(booster: &Booster) -> Result<String> {
    let kind = ObjectiveKind::from_name(booster.objective_name()).ok_or_else(|| {
        conversion(
            FORMAT,
            format!(
                "objective `{}` (a custom objective) has no XGBoost equivalent",
                booster.objective_name()
            ),
        )
    })?;
    let params = booster.params();
    let k = booster.num_groups();
    let nf = booster.num_features();
    let trees = predicting_trees(booster);
    let (per_round, parallel) = round_layout(booster);
    let scores = if kind == ObjectiveKind::ExpectileError && k > 1 {
        // Several expectiles: XGBoost stores them in output space and maps them back to
        // margins through their increasing parametrisation when it loads the model.
        booster.base_scores().iter().map(|s| format!("{s:E}")).collect()
    } else {
        booster
            .base_margin()
            .iter()
            .map(|m| margin_to_base_score(kind, *m).map(|s| format!("{s:E}")))
            .collect::<Result<Vec<_>>>()?
    };
    let xgb_trees = trees
        .iter()
        .enumerate()
        .map(|(i, t)| export_tree(t, i, nf))
        .collect::<Result<Vec<XgbTree>>>()?;
    let tree_info: Vec<usize> = (0..trees.len()).map(|i| (i / parallel) % k).collect();
    let indptr: Vec<usize> = (0..=trees.len() / per_round).map(|r| r * per_round).collect();

    let mut attributes = serde_json::Map::new();
    for (key, value) in booster.attributes() {
        if key.starts_with("sylvan.") {
            attributes.insert(key.clone(), Value::String(value.clone()));
        }
    }
    let margins = serde_json::to_string(booster.base_margin()).map_err(|e| conversion(FORMAT, e.to_string()))?;
    attributes.insert(BASE_MARGIN_ATTRIBUTE.into(), Value::String(margins));
    let params_json = serde_json::to_string(params).map_err(|e| conversion(FORMAT, e.to_string()))?;
    attributes.insert(PARAMS_ATTRIBUTE.into(), Value::String(params_json));

    let feature_types = booster.feature_types();
    let names: Vec<String> = booster.feature_names().map(<[String]>::to_vec).unwrap_or_default();
    // Numerical models keep the types they always had ("float" with names, none without).
    let types: Vec<&str> = if feature_types.iter().any(|t| t.is_categorical()) {
        feature_types.iter().map(|t| t.xgboost_letter()).collect()
    } else {
        vec!["float"; names.len()]
    };
    let num_class = if kind.is_multiclass() { k } else { 0 };
    let gbtree = json!({
        "model": {
            "cats": export_cats(booster, &feature_types),
            "gbtree_model_param": {
                "num_parallel_tree": parallel.to_string(),
                "num_trees": trees.len().to_string(),
            },
            "iteration_indptr": indptr,
            "tree_info": tree_info,
            "trees": serde_json::to_value(&xgb_trees).map_err(|e| conversion(FORMAT, e.to_string()))?,
        },
        "name": "gbtree",
    });
    let gradient_booster = match booster.tree_weights() {
        None => gbtree,
        Some(w) => json!({"gbtree": gbtree, "name": "dart", "weight_drop": &w[..trees.len()]}),
    };
    let model = json!({
        "learner": {
            "attributes": attributes,
            "feature_names": names,
            "feature_types": types,
            "gradient_booster": gradient_booster,
            "learner_model_param": {
                "base_score": format!("[{}]", scores.join(",")),
                "boost_from_average": "1",
                "num_class": num_class.to_string(),
                "num_feature": nf.to_string(),
                "num_target": if kind.is_multiclass() { 1 } else { k }.to_string(),
            },
            "objective": objective_json(params),
        },
        "version": XGBOOST_VERSION,
    });
    serde_json::to_string(&model).map_err(|e| conversion(FORMAT, e.to_string()))
}

// ------------------------------------------------------------------------------------------------
// Import

/// A number XGBoost stores as a string (or, in some files, as a number).
fn number(v: Option<&Value>, what: &str) -> Result<Option<f64>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map(Some)
            .map_err(|_| conversion(FORMAT, format!("{what} `{s}` is not a number"))),
        Some(other) => Err(conversion(FORMAT, format!("{what} is {other}, not a number"))),
    }
}

fn count(v: Option<&Value>, what: &str) -> Result<Option<usize>> {
    match number(v, what)? {
        None => Ok(None),
        Some(x) if x >= 0.0 && x.fract() == 0.0 && x < 1e15 => Ok(Some(x as usize)),
        Some(x) => Err(conversion(FORMAT, format!("{what} {x} is not a count"))),
    }
}

/// `base_score`: a 3.x vector string `"[a,b]"` or a 2.x scalar `"5E-1"`.
fn parse_base_score(v: Option<&Value>) -> Result<Vec<f64>> {
    let text = match v {
        None | Some(Value::Null) => return Ok(vec![0.5]),
        Some(Value::Number(n)) => return Ok(vec![n.as_f64().unwrap_or(0.5)]),
        Some(Value::String(s)) => s.trim(),
        Some(other) => return Err(conversion(FORMAT, format!("base_score is {other}"))),
    };
    let inner = match text.strip_prefix('[') {
        Some(rest) => rest
            .strip_suffix(']')
            .ok_or_else(|| conversion(FORMAT, format!("base_score `{text}` has no closing `]`")))?,
        None => text,
    };
    inner
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<f64>()
                .map_err(|_| conversion(FORMAT, format!("base_score `{text}` is not a list of numbers")))
        })
        .collect()
}

/// The Sylvan objective of an XGBoost objective name.
fn objective_kind(name: &str) -> Result<ObjectiveKind> {
    if let Some(kind) = ObjectiveKind::from_name(name) {
        return Ok(kind);
    }
    match name {
        "reg:linear" => Ok(ObjectiveKind::SquaredError),
        // Same link (sigmoid) and prediction as binary:logistic.
        "reg:logistic" => Ok(ObjectiveKind::BinaryLogistic),
        other => Err(conversion(
            FORMAT,
            format!("objective `{other}` is not supported by Sylvan"),
        )),
    }
}

/// Parameters of the imported model: the objective and its settings.
fn import_params(learner: &Value, kind: ObjectiveKind, num_class: usize) -> Result<Params> {
    let mut p = Params {
        objective: kind,
        ..Params::default()
    };
    if kind.is_multiclass() {
        p.num_class = num_class;
    }
    let obj = &learner["objective"];
    let param = |section: &str, name: &str| number(obj.get(section).and_then(|s| s.get(name)), name);
    if let Some(v) = param("reg_loss_param", "scale_pos_weight")? {
        p.scale_pos_weight = v;
    }
    if let Some(v) = param("pseudo_huber_param", "huber_slope")? {
        p.huber_slope = v;
    }
    if let Some(v) = param("tweedie_regression_param", "tweedie_variance_power")? {
        p.tweedie_variance_power = v;
    }
    if let Some(v) = param("aft_loss_param", "aft_loss_distribution_scale")? {
        p.aft_loss_distribution_scale = v;
    }
    if let Some(v) = obj.get("aft_loss_param").and_then(|s| s.get("aft_loss_distribution")) {
        p.aft_loss_distribution = match v.as_str() {
            Some("normal") => sylvan_booster::AftDistribution::Normal,
            Some("logistic") => sylvan_booster::AftDistribution::Logistic,
            Some("extreme") => sylvan_booster::AftDistribution::Extreme,
            _ => {
                return Err(conversion(
                    FORMAT,
                    format!("aft_loss_distribution {v} is not normal, logistic or extreme"),
                ))
            }
        };
    }
    import_lambdarank(obj, &mut p)?;
    if let Some(v) = obj.get("quantile_loss_param").and_then(|s| s.get("quantile_alpha")) {
        p.quantile_alpha = sylvan_booster::Alphas::many(parse_base_score(Some(v))?);
    }
    if let Some(v) = obj.get("expectile_loss_param").and_then(|s| s.get("expectile_alpha")) {
        p.expectile_alpha = sylvan_booster::Alphas::many(parse_base_score(Some(v))?);
    }
    Ok(p)
}

/// XGBoost's vector-leaf trees (`multi_strategy=multi_output_tree`: `size_leaf_vector` K > 1,
/// leaf values in `leaf_weights`) split into K scalar trees of the same shape, one per output,
/// each with its output's leaf and node values; returns the trees with their outputs
/// (`tree_info`), and whether any tree had vector leaves. Scalar trees pass through.
fn expand_vector_trees(trees: Vec<XgbTree>, tree_info: Vec<i64>) -> Result<(Vec<XgbTree>, Vec<i64>, bool)> {
    let mut out_trees = Vec::with_capacity(trees.len());
    let mut out_info = Vec::with_capacity(tree_info.len());
    let mut any = false;
    for (index, (x, info)) in trees.into_iter().zip(tree_info).enumerate() {
        let k = count(x.tree_param.get("size_leaf_vector"), "size_leaf_vector")?.unwrap_or(1);
        if k <= 1 {
            out_trees.push(x);
            out_info.push(info);
            continue;
        }
        any = true;
        let what = |reason: String| conversion(FORMAT, format!("tree {index}: {reason}"));
        let n = x.left_children.len();
        if x.right_children.len() != n || x.split_indices.len() != n || x.split_conditions.len() != n {
            return Err(what("node arrays of different lengths".into()));
        }
        if x.base_weights.len() != n * k && !x.base_weights.is_empty() {
            return Err(what(format!(
                "base_weights has {} entries for {n} nodes x {k}",
                x.base_weights.len()
            )));
        }
        let leaves = x.left_children.iter().filter(|l| **l < 0).count();
        if x.leaf_weights.len() != leaves * k {
            return Err(what(format!(
                "leaf_weights has {} entries for {leaves} leaves x {k}",
                x.leaf_weights.len()
            )));
        }
        for o in 0..k {
            let mut conditions = x.split_conditions.clone();
            let mut right = x.right_children.clone();
            for i in 0..n {
                if x.left_children[i] < 0 {
                    let leaf = usize::try_from(x.right_children[i])
                        .ok()
                        .filter(|l| *l < leaves)
                        .ok_or_else(|| what(format!("leaf {i} points at leaf value {}", x.right_children[i])))?;
                    conditions[i] = x.leaf_weights[leaf * k + o];
                    right[i] = -1;
                }
            }
            let mut tree_param = x.tree_param.clone();
            tree_param.insert("size_leaf_vector".into(), Value::String("1".into()));
            out_trees.push(XgbTree {
                base_weights: x.base_weights.iter().skip(o).step_by(k).copied().collect(),
                categories: x.categories.clone(),
                categories_nodes: x.categories_nodes.clone(),
                categories_segments: x.categories_segments.clone(),
                categories_sizes: x.categories_sizes.clone(),
                default_left: x.default_left.iter().map(|f| Flag(f.0)).collect(),
                id: x.id,
                left_children: x.left_children.clone(),
                leaf_weights: Vec::new(),
                loss_changes: x.loss_changes.clone(),
                parents: x.parents.clone(),
                right_children: right,
                split_conditions: conditions,
                split_indices: x.split_indices.clone(),
                split_type: x.split_type.clone(),
                sum_hessian: x.sum_hessian.clone(),
                tree_param,
            });
            out_info.push(o as i64);
        }
    }
    Ok((out_trees, out_info, any))
}

/// One XGBoost tree as a Sylvan tree (nodes renumbered depth-first when needed).
fn import_tree(x: &XgbTree, index: usize) -> Result<Tree> {
    let what = |reason: String| conversion(FORMAT, format!("tree {index}: {reason}"));
    let n = x.left_children.len();
    if let Some(slv) = count(x.tree_param.get("size_leaf_vector"), "size_leaf_vector")? {
        if slv > 1 {
            return Err(what(format!(
                "vector leaves (size_leaf_vector {slv}) must be split into one tree per output first"
            )));
        }
    }
    if let Some(nodes) = count(x.tree_param.get("num_nodes"), "num_nodes")? {
        if nodes != n {
            return Err(what(format!("num_nodes is {nodes} but there are {n} nodes")));
        }
    }
    if n == 0 {
        return Err(what("no nodes".into()));
    }
    let lens = [
        ("right_children", x.right_children.len()),
        ("split_conditions", x.split_conditions.len()),
        ("split_indices", x.split_indices.len()),
        ("default_left", x.default_left.len()),
    ];
    for (name, len) in lens {
        if len != n {
            return Err(what(format!("{name} has {len} entries for {n} nodes")));
        }
    }
    let optional = [
        ("base_weights", x.base_weights.len()),
        ("loss_changes", x.loss_changes.len()),
        ("sum_hessian", x.sum_hessian.len()),
        ("split_type", x.split_type.len()),
    ];
    for (name, len) in optional {
        if len != 0 && len != n {
            return Err(what(format!("{name} has {len} entries for {n} nodes")));
        }
    }
    if let Some(i) = x
        .split_type
        .iter()
        .position(|t| *t != NUMERICAL_SPLIT && *t != CATEGORICAL_SPLIT)
    {
        return Err(what(format!("node {i} has split_type {}", x.split_type[i])));
    }
    let node_categories = import_categories(x, n).map_err(what)?;
    let mut t = Tree {
        left: Vec::with_capacity(n),
        right: Vec::with_capacity(n),
        feature: Vec::with_capacity(n),
        threshold: Vec::with_capacity(n),
        default_left: Vec::with_capacity(n),
        value: Vec::with_capacity(n),
        gain: Vec::with_capacity(n),
        cover: Vec::with_capacity(n),
        categories: Default::default(),
    };
    for (i, listed) in node_categories.iter().enumerate() {
        let (l, r) = (x.left_children[i], x.right_children[i]);
        let leaf = l < 0 && r < 0;
        if (l < 0) != (r < 0) {
            return Err(what(format!("node {i} has exactly one child")));
        }
        let feature = if leaf {
            0
        } else {
            u32::try_from(x.split_indices[i])
                .map_err(|_| what(format!("node {i} splits on feature {}", x.split_indices[i])))?
        };
        let cond = x.split_conditions[i];
        if !cond.is_finite() && leaf {
            return Err(what(format!("leaf {i} has value {cond}")));
        }
        // XGBoost sends the listed categories right, Sylvan sends its set left: the children trade
        // places and the default direction flips (module docs).
        let categorical = !leaf && x.split_type.get(i) == Some(&CATEGORICAL_SPLIT);
        if categorical {
            let codes = listed.ok_or_else(|| what(format!("node {i} is a categorical split without categories")))?;
            t.categories
                .set_node(i, n, CategorySet::from_codes(codes.iter().map(|c| *c as u32)));
        }
        let (l, r) = if categorical { (r, l) } else { (l, r) };
        t.left.push(if leaf { -1 } else { l });
        t.right.push(if leaf { -1 } else { r });
        t.feature.push(feature);
        t.threshold.push(if leaf || categorical { 0.0 } else { cond });
        t.default_left.push(!leaf && x.default_left[i].0 != categorical);
        t.value.push(if leaf {
            cond
        } else {
            x.base_weights.get(i).copied().unwrap_or(0.0)
        });
        t.gain.push(if leaf {
            0.0
        } else {
            x.loss_changes.get(i).copied().unwrap_or(0.0)
        });
        t.cover.push(x.sum_hessian.get(i).copied().unwrap_or(0.0));
    }
    // XGBoost numbers siblings left, right; a set node's children have traded places above, so
    // they trade ids too, which numbers them as Sylvan does (and undoes the export's swap).
    if t.has_category_splits() {
        t = swap_set_children(&t, false);
    }
    if t.validate(usize::MAX).is_ok() {
        return Ok(t);
    }
    let (order, new_id) = depth_first_order(n, |i| {
        (t.left[i] >= 0).then(|| (t.left[i] as usize, t.right[i] as usize))
    })
    .map_err(what)?;
    Ok(permute(&t, &order, &new_id))
}

/// The category codes of each node of an XGBoost tree of `n` nodes (`None` for nodes the arrays do
/// not list), checked: the four arrays agree, every list lies inside `categories`, is not empty
/// and holds codes in Sylvan's range.
fn import_categories(x: &XgbTree, n: usize) -> std::result::Result<Vec<Option<&[i64]>>, String> {
    let k = x.categories_nodes.len();
    if x.categories_segments.len() != k || x.categories_sizes.len() != k {
        return Err(format!(
            "categories_nodes, categories_segments and categories_sizes have {k}, {} and {} entries",
            x.categories_segments.len(),
            x.categories_sizes.len()
        ));
    }
    let mut lists = vec![None; n];
    for j in 0..k {
        let (node, start, size) = (x.categories_nodes[j], x.categories_segments[j], x.categories_sizes[j]);
        let node = usize::try_from(node)
            .ok()
            .filter(|i| *i < n)
            .ok_or_else(|| format!("categories_nodes lists node {node} of {n}"))?;
        let range = usize::try_from(start)
            .ok()
            .zip(usize::try_from(size).ok())
            .map(|(s, len)| s..s.saturating_add(len))
            .filter(|r| r.end <= x.categories.len() && !r.is_empty())
            .ok_or_else(|| {
                format!(
                    "node {node} has categories {start}..{start}+{size} of {}",
                    x.categories.len()
                )
            })?;
        let codes = &x.categories[range];
        if let Some(c) = codes.iter().find(|c| !(0..MAX_CATEGORIES as i64).contains(*c)) {
            return Err(format!(
                "node {node} lists category {c}, outside the codes 0..{MAX_CATEGORIES} Sylvan supports"
            ));
        }
        lists[node] = Some(codes);
    }
    Ok(lists)
}

/// Reads an XGBoost JSON model (3.x or 2.x schema) into a Sylvan booster that predicts the same.
/// Categorical splits become category-set splits; `feature_types` and the string categories of
/// `cats` are kept (see the module docs).
pub fn from_xgboost_json(text: &str) -> Result<Booster> {
    let root: Value = serde_json::from_str(text).map_err(|e| conversion(FORMAT, format!("not JSON: {e}")))?;
    let learner = root
        .get("learner")
        .filter(|l| l.is_object())
        .ok_or_else(|| conversion(FORMAT, "no `learner` object (not an XGBoost JSON model)"))?;
    let lmp = &learner["learner_model_param"];
    let num_feature = count(lmp.get("num_feature"), "num_feature")?
        .filter(|n| *n > 0)
        .ok_or_else(|| conversion(FORMAT, "learner_model_param.num_feature is missing or 0"))?;
    let num_class = count(lmp.get("num_class"), "num_class")?.unwrap_or(0);
    let num_target = count(lmp.get("num_target"), "num_target")?.unwrap_or(1).max(1);
    let obj_name = learner["objective"]["name"]
        .as_str()
        .ok_or_else(|| conversion(FORMAT, "learner.objective.name is missing"))?;
    let kind = objective_kind(obj_name)?;
    let k = if kind.is_multiclass() {
        if num_class < 2 {
            return Err(conversion(FORMAT, format!("{obj_name} with num_class {num_class}")));
        }
        num_class
    } else {
        // Outputs: one per quantile/expectile level, or one per label column (XGBoost's
        // `num_target` counts either).
        num_target
    };

    let gb = &learner["gradient_booster"];
    // DART keeps its trees in a nested gbtree and weighs tree i by weight_drop[i] at prediction
    // (3.2: beside the nested gbtree; 3.4: inside the model, also for a gbtree).
    let weight_drop = |v: &Value| -> Result<Option<Vec<f32>>> {
        match v {
            Value::Null => Ok(None),
            v => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| conversion(FORMAT, format!("weight_drop: {e}"))),
        }
    };
    let (model, weights, is_dart) = match gb["name"].as_str() {
        Some("gbtree") => (&gb["model"], weight_drop(&gb["model"]["weight_drop"])?, false),
        Some("dart") => {
            let model = &gb["gbtree"]["model"];
            let w = match weight_drop(&gb["weight_drop"])? {
                Some(w) => Some(w),
                None => weight_drop(&model["weight_drop"])?,
            };
            (model, Some(w.unwrap_or_default()), true)
        }
        Some(other) => {
            return Err(conversion(
                FORMAT,
                format!("booster `{other}` is not supported (only gbtree and dart)"),
            ))
        }
        None => return Err(conversion(FORMAT, "learner.gradient_booster.name is missing")),
    };
    let xgb_trees: Vec<XgbTree> = serde_json::from_value(model["trees"].clone())
        .map_err(|e| conversion(FORMAT, format!("gradient_booster.model.trees: {e}")))?;
    let tree_info: Vec<i64> = match model.get("tree_info") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| conversion(FORMAT, format!("tree_info: {e}")))?,
        None => vec![0; xgb_trees.len()],
    };
    if tree_info.len() != xgb_trees.len() {
        return Err(conversion(
            FORMAT,
            format!(
                "tree_info has {} entries for {} trees",
                tree_info.len(),
                xgb_trees.len()
            ),
        ));
    }
    let (xgb_trees, tree_info, vector_leaves) = expand_vector_trees(xgb_trees, tree_info)?;

    if k > xgb_trees.len().max(1) {
        return Err(conversion(
            FORMAT,
            format!("num_class {k} but only {} trees", xgb_trees.len()),
        ));
    }
    // Trees past the end of weight_drop weigh 1 (XGBoost 3.4 tracks weights from the first drop).
    let weights = match weights {
        Some(w) if w.len() > xgb_trees.len() => {
            return Err(conversion(
                FORMAT,
                format!("dart weight_drop has {} entries for {} trees", w.len(), xgb_trees.len()),
            ))
        }
        Some(mut w) => {
            if let Some(i) = w.iter().position(|v| !v.is_finite()) {
                return Err(conversion(FORMAT, format!("weight_drop[{i}] is not finite")));
            }
            w.resize(xgb_trees.len(), 1.0);
            Some(w)
        }
        None => None,
    };
    // Each tree with its weight (1 without weights), so that reordering keeps them together.
    let imported = xgb_trees
        .iter()
        .enumerate()
        .map(|(i, x)| Ok((import_tree(x, i)?, weights.as_ref().map_or(1.0, |w| w[i]))))
        .collect::<Result<Vec<(Tree, f32)>>>()?;
    let classes = tree_info
        .iter()
        .enumerate()
        .map(|(i, c)| {
            usize::try_from(*c)
                .ok()
                .filter(|c| *c < k)
                .ok_or_else(|| conversion(FORMAT, format!("tree {i} belongs to class {c}, outside 0..{k}")))
        })
        .collect::<Result<Vec<usize>>>()?;
    let parallel = count(
        model["gbtree_model_param"].get("num_parallel_tree"),
        "num_parallel_tree",
    )?
    .unwrap_or(1)
    .max(1);
    let mut params = import_params(learner, kind, num_class)?;
    if !kind.is_multiclass() && params.num_groups() != k {
        if params.num_levels() > 1 {
            return Err(conversion(
                FORMAT,
                format!("num_target {k} but {} quantile/expectile levels", params.num_levels()),
            ));
        }
        params.num_target = k;
        if let Err(e) = params.validate() {
            return Err(conversion(FORMAT, format!("num_target {k}: {e}")));
        }
    }
    let attributes: BTreeMap<String, String> = learner
        .get("attributes")
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or_default();
    if let Some(p) = attributes.get(PARAMS_ATTRIBUTE).and_then(|s| Params::from_json(s).ok()) {
        if p.objective == params.objective && p.num_class == params.num_class && p.num_groups() == params.num_groups() {
            params = p;
        }
    }
    // A forest in XGBoost's order (each class's parallel trees together) is kept as it is when this
    // Sylvan has `num_parallel_tree`; otherwise every tree of a class becomes a round of its own
    // (the sum, and so every prediction, is the same).
    let per_round = k * parallel;
    let keeps_forest = parallel > 1
        && imported.len() % per_round == 0
        && classes.iter().enumerate().all(|(i, c)| *c == (i / parallel) % k)
        && params.set("num_parallel_tree", &parallel.to_string()).is_ok();
    let trees = if keeps_forest {
        imported
    } else {
        // Absent in Sylvan versions without forests: then there is nothing to reset.
        let _ = params.set("num_parallel_tree", "1");
        let mut per_class: Vec<Vec<(Tree, f32)>> = vec![Vec::new(); k];
        for (t, c) in imported.into_iter().zip(&classes) {
            per_class[*c].push(t);
        }
        let rounds = per_class[0].len();
        if let Some(c) = per_class.iter().position(|t| t.len() != rounds) {
            return Err(conversion(
                FORMAT,
                format!("class {c} has {} trees but class 0 has {rounds}", per_class[c].len()),
            ));
        }
        let mut iters: Vec<_> = per_class.into_iter().map(|v| v.into_iter()).collect();
        let mut trees = Vec::with_capacity(rounds * k);
        for _ in 0..rounds {
            for it in iters.iter_mut() {
                trees.extend(it.next());
            }
        }
        trees
    };
    let (trees, tree_weights): (Vec<Tree>, Vec<f32>) = trees.into_iter().unzip();
    if is_dart {
        params.booster = sylvan_booster::BoosterKind::Dart;
    }
    if vector_leaves {
        params.multi_strategy = sylvan_booster::MultiStrategy::MultiOutputTree;
    }
    if trees.is_empty() {
        // Sylvan needs at least a whole round; a tree-less model predicts its base score.
        return Err(conversion(FORMAT, "the model has no trees"));
    }

    let scores = parse_base_score(lmp.get("base_score"))?;
    let scores = match scores.len() {
        1 => vec![scores[0]; k],
        n if n == k => scores,
        n => return Err(conversion(FORMAT, format!("base_score has {n} values for {k} outputs"))),
    };
    let mut base_margin = if kind == ObjectiveKind::ExpectileError && k > 1 {
        sylvan_booster::margins_of_expectiles(&scores)
    } else {
        scores
            .iter()
            .map(|s| base_score_to_margin(kind, *s))
            .collect::<Result<Vec<_>>>()?
    };

    // The exact margins of a Sylvan export, when they agree with base_score.
    if let Some(exact) = attributes
        .get(BASE_MARGIN_ATTRIBUTE)
        .and_then(|s| serde_json::from_str::<Vec<f64>>(s).ok())
    {
        let agrees = exact.len() == k
            && exact
                .iter()
                .zip(&base_margin)
                .all(|(e, m)| e.is_finite() && (e - m).abs() <= 1e-5 * m.abs().max(1.0));
        if agrees {
            base_margin = exact;
        }
    }
    let names: Vec<String> = match learner.get("feature_names") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| conversion(FORMAT, format!("feature_names: {e}")))?,
        None => Vec::new(),
    };
    let names = match names.len() {
        0 => None,
        n if n == num_feature => Some(names),
        n => {
            return Err(conversion(
                FORMAT,
                format!("{n} feature names for num_feature {num_feature}"),
            ))
        }
    };
    let types = import_feature_types(learner, num_feature)?;
    let category_names = match (&names, attributes.contains_key(CATEGORIES_ATTRIBUTE)) {
        (Some(names), false) => import_category_names(&model["cats"], names, &types),
        _ => None,
    };
    let mut booster = Booster::from_parts(params, base_margin, trees, num_feature, names)
        .map_err(|e| conversion(FORMAT, e.to_string()))?;
    if let Some(types) = types {
        booster
            .set_feature_types(types)
            .map_err(|e| conversion(FORMAT, e.to_string()))?;
    }
    if weights.is_some() {
        booster
            .set_tree_weights(tree_weights)
            .map_err(|e| conversion(FORMAT, e.to_string()))?;
    }
    for (key, value) in attributes {
        if key.starts_with("sylvan.") && key != BASE_MARGIN_ATTRIBUTE && key != PARAMS_ATTRIBUTE {
            booster.set_attribute(key, value);
        }
    }
    if let Some(map) = category_names {
        booster.set_attribute(CATEGORIES_ATTRIBUTE, map.to_json());
    }
    Ok(booster)
}

/// The feature types `learner.feature_types` lists, when it marks a feature categorical (`"c"`;
/// every other type is numerical). `None` when it marks none, so that the trees decide.
fn import_feature_types(learner: &Value, num_feature: usize) -> Result<Option<Vec<FeatureType>>> {
    let types: Vec<String> = match learner.get("feature_types") {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| conversion(FORMAT, format!("feature_types: {e}")))?,
    };
    if !types.iter().any(|t| t == "c") {
        return Ok(None);
    }
    if types.len() != num_feature {
        return Err(conversion(
            FORMAT,
            format!("{} feature types for num_feature {num_feature}", types.len()),
        ));
    }
    Ok(Some(
        types
            .iter()
            .map(|t| {
                if t == "c" {
                    FeatureType::Categorical
                } else {
                    FeatureType::Numerical
                }
            })
            .collect(),
    ))
}

/// The string categories of XGBoost's `cats` entry as Sylvan's category mapping (feature name ->
/// names in code order), for the categorical features that have them. `None` when there are none
/// or the entry is not in the expected shape (the names are a convenience: the trees do not need
/// them, so a malformed entry is skipped rather than refused).
fn import_category_names(cats: &Value, names: &[String], types: &Option<Vec<FeatureType>>) -> Option<CategoryMap> {
    let enc = cats.get("enc")?.as_array()?;
    if enc.len() != names.len() {
        return None;
    }
    let mut map = CategoryMap::new();
    for (j, (e, name)) in enc.iter().zip(names).enumerate() {
        if !types.as_ref().is_some_and(|t| t[j].is_categorical()) {
            continue;
        }
        // String categories: UTF-8 bytes (XGBoost writes them as signed 8-bit numbers) cut by offsets.
        let Some(offsets) = e.get("offsets").and_then(Value::as_array).filter(|o| !o.is_empty()) else {
            continue;
        };
        let offsets: Vec<usize> = offsets
            .iter()
            .map(|o| o.as_u64().map(|o| o as usize))
            .collect::<Option<_>>()?;
        let bytes: Vec<u8> = e
            .get("values")?
            .as_array()?
            .iter()
            .map(|b| b.as_i64().filter(|b| (-128..=255).contains(b)).map(|b| b as u8))
            .collect::<Option<_>>()?;
        if offsets[0] != 0 || offsets.last() != Some(&bytes.len()) {
            return None;
        }
        let mut values = Vec::with_capacity(offsets.len() - 1);
        let mut seen = std::collections::HashSet::new();
        for w in offsets.windows(2) {
            let value = String::from_utf8(bytes.get(w[0]..w[1])?.to_vec()).ok()?;
            // A name listed twice would make the mapping unusable.
            if !seen.insert(value.clone()) {
                return None;
            }
            values.push(value);
        }
        map.insert(name.clone(), values);
    }
    (!map.is_empty()).then_some(map)
}

// ------------------------------------------------------------------------------------------------
// Ranking objectives (`rank:*`): XGBoost 3.2 writes their settings as strings in
// `objective.lambdarank_param`; `lambdarank_num_pair_per_sample` 4294967295 means "not set".

const LAMBDARANK_NOT_SET: &str = "4294967295";

/// The objective block of a ranking objective, as XGBoost 3.2 writes it.
fn lambdarank_json(params: &Params) -> Value {
    let flag = |b: bool| if b { "1" } else { "0" };
    json!({
        "name": params.objective.name(),
        "lambdarank_param": {
            "lambdarank_bias_norm": format!("{}", params.lambdarank_bias_norm),
            "lambdarank_normalization": flag(params.lambdarank_normalization),
            "lambdarank_num_pair_per_sample": params
                .lambdarank_num_pair_per_sample
                .map_or(LAMBDARANK_NOT_SET.to_string(), |n| n.to_string()),
            "lambdarank_pair_method": match params.lambdarank_pair_method {
                sylvan_booster::LambdarankPairMethod::Topk => "topk",
                sylvan_booster::LambdarankPairMethod::Mean => "mean",
            },
            "lambdarank_score_normalization": flag(params.lambdarank_score_normalization),
            "lambdarank_unbiased": flag(params.lambdarank_unbiased),
            "ndcg_exp_gain": flag(params.ndcg_exp_gain),
        }
    })
}

/// Reads `objective.lambdarank_param` (when present) into `p`.
fn import_lambdarank(obj: &Value, p: &mut Params) -> Result<()> {
    let Some(lr) = obj.get("lambdarank_param") else {
        return Ok(());
    };
    let flag = |name: &str| -> Result<Option<bool>> {
        match lr.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match v.as_str().map(str::trim) {
                Some("1") | Some("true") => Ok(Some(true)),
                Some("0") | Some("false") => Ok(Some(false)),
                _ => Err(conversion(FORMAT, format!("{name} `{v}` is not 0 or 1"))),
            },
        }
    };
    if let Some(b) = flag("lambdarank_normalization")? {
        p.lambdarank_normalization = b;
    }
    if let Some(b) = flag("lambdarank_score_normalization")? {
        p.lambdarank_score_normalization = b;
    }
    if let Some(b) = flag("lambdarank_unbiased")? {
        // The position bias only shapes training; the trees predict without it.
        p.lambdarank_unbiased = b;
    }
    if let Some(b) = flag("ndcg_exp_gain")? {
        p.ndcg_exp_gain = b;
    }
    if let Some(v) = number(lr.get("lambdarank_bias_norm"), "lambdarank_bias_norm")? {
        p.lambdarank_bias_norm = v;
    }
    match lr
        .get("lambdarank_num_pair_per_sample")
        .and_then(Value::as_str)
        .map(str::trim)
    {
        None | Some(LAMBDARANK_NOT_SET) => {}
        Some(text) => {
            p.lambdarank_num_pair_per_sample = Some(text.parse::<usize>().map_err(|_| {
                conversion(
                    FORMAT,
                    format!("lambdarank_num_pair_per_sample `{text}` is not a count"),
                )
            })?)
        }
    }
    match lr.get("lambdarank_pair_method").and_then(Value::as_str) {
        None => {}
        Some("topk") => p.lambdarank_pair_method = sylvan_booster::LambdarankPairMethod::Topk,
        Some("mean") => p.lambdarank_pair_method = sylvan_booster::LambdarankPairMethod::Mean,
        Some(other) => {
            return Err(conversion(
                FORMAT,
                format!("lambdarank_pair_method `{other}` is not topk or mean"),
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_score_forms() {
        assert_eq!(parse_base_score(Some(&json!("[4.4E-1]"))).unwrap(), vec![0.44]);
        assert_eq!(parse_base_score(Some(&json!("5E-1"))).unwrap(), vec![0.5]);
        assert_eq!(parse_base_score(Some(&json!("[1E0,-2E0]"))).unwrap(), vec![1.0, -2.0]);
        assert!(parse_base_score(Some(&json!("[1E0"))).is_err());
        assert!(parse_base_score(Some(&json!("abc"))).is_err());
        let m = base_score_to_margin(ObjectiveKind::BinaryLogistic, 0.5).unwrap();
        assert_eq!(m, 0.0);
        assert!(base_score_to_margin(ObjectiveKind::BinaryLogistic, 1.0).is_err());
        assert!(base_score_to_margin(ObjectiveKind::Poisson, 0.0).is_err());
        let s = margin_to_base_score(ObjectiveKind::Gamma, 0.0).unwrap();
        assert_eq!(s, 1.0);
    }

    #[test]
    fn bad_models_are_errors() {
        for text in [
            "",
            "[]",
            "{}",
            r#"{"learner": {}}"#,
            r#"{"learner": {"learner_model_param": {"num_feature": "2", "num_class": "1000000000000"},
                "objective": {"name": "multi:softprob"},
                "gradient_booster": {"name": "gbtree", "model": {"trees": [], "tree_info": []}}}}"#,
            r#"{"learner": {"learner_model_param": {"num_feature": "2"}, "objective": {"name": "rank:pairwise"}}}"#,
            r#"{"learner": {"learner_model_param": {"num_feature": "2"}, "objective": {"name": "reg:squarederror"},
                "gradient_booster": {"name": "gblinear"}}}"#,
            r#"{"learner": {"learner_model_param": {"num_feature": "2"}, "objective": {"name": "reg:squarederror"},
                "gradient_booster": {"name": "gbtree", "model": {"trees": [{"left_children": [1], "right_children": [2],
                "split_conditions": [0.5], "split_indices": [0], "default_left": [0]}], "tree_info": [0]}}}}"#,
        ] {
            assert!(from_xgboost_json(text).is_err(), "{text}");
        }
    }

    #[test]
    fn renumbers_trees_whose_children_come_first() {
        // Root is node 0, its children are 2 (leaf) and 1 (leaf): already fine. Make node 1 the
        // parent of node 2 instead, listed after it: 0 -> (2, 3), 2 -> (1, 4).
        let x = XgbTree {
            leaf_weights: vec![],
            base_weights: vec![],
            categories: vec![],
            categories_nodes: vec![],
            categories_segments: vec![],
            categories_sizes: vec![],
            default_left: vec![Flag(true), Flag(false), Flag(false), Flag(false), Flag(false)],
            id: 0,
            left_children: vec![2, -1, 1, -1, -1],
            loss_changes: vec![],
            parents: vec![],
            right_children: vec![3, -1, 4, -1, -1],
            split_conditions: vec![0.5, 1.0, 0.25, 3.0, 2.0],
            split_indices: vec![0, 0, 1, 0, 0],
            split_type: vec![],
            sum_hessian: vec![],
            tree_param: BTreeMap::new(),
        };
        let t = import_tree(&x, 0).unwrap();
        t.validate(2).unwrap();
        assert_eq!(t.predict_row(&[0.1, 0.1]), 1.0);
        assert_eq!(t.predict_row(&[0.1, 0.9]), 2.0);
        assert_eq!(t.predict_row(&[0.9, 0.1]), 3.0);
        assert_eq!(t.predict_row(&[f32::NAN, f32::NAN]), 2.0);
    }

    /// A stump on feature `f`: the root splits by `set` (left when in it), leaves 1 (left) and 2.
    fn set_stump(f: u32, set: CategorySet, default_left: bool) -> Tree {
        let mut t = Tree {
            left: vec![1, -1, -1],
            right: vec![2, -1, -1],
            feature: vec![f, 0, 0],
            threshold: vec![0.0; 3],
            default_left: vec![default_left, false, false],
            value: vec![1.5, 1.0, 2.0],
            gain: vec![3.0, 0.0, 0.0],
            cover: vec![10.0, 4.0, 6.0],
            categories: Default::default(),
        };
        t.categories.set_node(0, 3, set);
        t
    }

    fn booster_of(trees: Vec<Tree>, num_features: usize, names: Option<Vec<String>>) -> Booster {
        Booster::from_parts(Params::default(), vec![0.0], trees, num_features, names).unwrap()
    }

    #[test]
    fn set_nodes_swap_children_and_flip_default() {
        for default_left in [true, false] {
            let t = set_stump(1, CategorySet::from_codes([1, 3, 40]), default_left);
            let x = export_tree(&t, 0, 2).unwrap();
            assert_eq!(x.split_type, vec![1, 0, 0]);
            // XGBoost's right child (the listed categories) is Sylvan's left one; siblings keep
            // adjacent ids (XGBoost finds the right child at left + 1), so the leaves trade ids.
            assert_eq!(x.left_children, vec![1, -1, -1]);
            assert_eq!(x.right_children, vec![2, -1, -1]);
            assert_eq!(x.parents, vec![ROOT_PARENT, 0, 0]);
            assert_eq!(x.default_left[0], Flag(!default_left));
            assert_eq!(x.split_indices[0], 1);
            assert_eq!(x.split_conditions, vec![0.0, 2.0, 1.0]);
            assert_eq!(x.categories, vec![1, 3, 40]);
            assert_eq!(x.categories_nodes, vec![0]);
            assert_eq!(x.categories_segments, vec![0]);
            assert_eq!(x.categories_sizes, vec![3]);
            let back = import_tree(&x, 0).unwrap();
            assert_eq!(back, t);
            let missing = if default_left { 1.0 } else { 2.0 };
            for (code, want) in [
                (1.0, 1.0),
                (40.0, 1.0),
                (0.0, 2.0),
                (41.0, 2.0),
                (1e6, 2.0),
                (f32::NAN, missing),
            ] {
                assert_eq!(back.predict_row(&[0.0, code]), want, "code {code}");
            }
        }
    }

    /// The leaf value XGBoost's predictor reaches: the listed categories go right, other values
    /// (and codes past 2^24) left, missing values to `default_left`, and — as XGBoost does below
    /// the levels it unrolls — the right child is found at `left + 1`.
    fn xgboost_predict(x: &XgbTree, row: &[f32]) -> f32 {
        let mut i = 0usize;
        while x.left_children[i] >= 0 {
            let v = row[x.split_indices[i] as usize];
            let go_left = if v.is_nan() {
                x.default_left[i].0
            } else if x.split_type[i] == CATEGORICAL_SPLIT {
                let k = x.categories_nodes.iter().position(|n| *n == i as i64).unwrap();
                let (s, len) = (x.categories_segments[k] as usize, x.categories_sizes[k] as usize);
                !((0.0..16_777_216.0).contains(&v) && x.categories[s..s + len].contains(&(v as i64)))
            } else {
                v < x.split_conditions[i]
            };
            assert_eq!(
                x.right_children[i],
                x.left_children[i] + 1,
                "node {i}: siblings not adjacent"
            );
            i = (x.left_children[i] + !go_left as i32) as usize;
        }
        x.split_conditions[i]
    }

    /// A tree of 2 set nodes and 2 threshold nodes on features 0 (categorical) and 1, numbered
    /// as Sylvan numbers trees (siblings adjacent, left first).
    fn mixed_tree() -> Tree {
        // 0: set {1, 5} -> (1, 2); 1: x1 < 0.5 -> (3, 4); 2: set {2} -> (5, 6); 4: x1 < 0.8 -> (7, 8)
        let mut t = Tree {
            left: vec![1, 3, 5, -1, 7, -1, -1, -1, -1],
            right: vec![2, 4, 6, -1, 8, -1, -1, -1, -1],
            feature: vec![0, 1, 0, 0, 1, 0, 0, 0, 0],
            threshold: vec![0.0, 0.5, 0.0, 0.0, 0.8, 0.0, 0.0, 0.0, 0.0],
            default_left: vec![true, false, false, false, true, false, false, false, false],
            value: vec![0.0, 0.0, 0.0, 10.0, 0.0, 20.0, 30.0, 40.0, 50.0],
            gain: vec![1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
            cover: vec![1.0; 9],
            categories: Default::default(),
        };
        t.categories.set_node(0, 9, CategorySet::from_codes([1, 5]));
        t.categories.set_node(2, 9, CategorySet::from_codes([2]));
        t.validate(2).unwrap();
        t
    }

    fn probe_rows() -> Vec<[f32; 2]> {
        let mut rows = Vec::new();
        for c in [0.0, 1.0, 2.0, 5.0, 6.0, 1e5, f32::NAN] {
            for x in [0.1, 0.6, 0.9, f32::NAN] {
                rows.push([c, x]);
            }
        }
        rows
    }

    #[test]
    fn exported_trees_route_as_xgboost_routes() {
        let t = mixed_tree();
        // Sylvan's numbering, and the same tree numbered depth-first (as some imports leave it).
        let (order, new_id) = depth_first_order(9, |i| {
            (t.left[i] >= 0).then(|| (t.left[i] as usize, t.right[i] as usize))
        })
        .unwrap();
        let depth_first = permute(&t, &order, &new_id);
        assert_ne!(depth_first, t);
        depth_first.validate(2).unwrap();
        let numeric = Tree {
            categories: Default::default(),
            ..depth_first.clone()
        };
        for tree in [&t, &depth_first, &numeric] {
            let x = export_tree(tree, 0, 2).unwrap();
            for row in probe_rows() {
                assert_eq!(xgboost_predict(&x, &row), tree.predict_row(&row), "{row:?}");
            }
            let back = import_tree(&x, 0).unwrap();
            for row in probe_rows() {
                assert_eq!(back.predict_row(&row), tree.predict_row(&row), "{row:?}");
            }
        }
        // Sylvan's own numbering survives the round trip.
        assert_eq!(import_tree(&export_tree(&t, 0, 2).unwrap(), 0).unwrap(), t);
    }

    #[test]
    fn categorical_trees_out_of_order_are_renumbered_with_their_sets() {
        // 0 -> (2, 3) by categories {4} (XGBoost: 4 goes right to 3); 2 -> (1, 4) numeric.
        let x = XgbTree {
            leaf_weights: vec![],
            base_weights: vec![],
            categories: vec![4],
            categories_nodes: vec![0],
            categories_segments: vec![0],
            categories_sizes: vec![1],
            default_left: vec![Flag(true), Flag(false), Flag(false), Flag(false), Flag(false)],
            id: 0,
            left_children: vec![2, -1, 1, -1, -1],
            loss_changes: vec![],
            parents: vec![],
            right_children: vec![3, -1, 4, -1, -1],
            split_conditions: vec![0.0, 1.0, 0.25, 3.0, 2.0],
            split_indices: vec![0, 0, 1, 0, 0],
            split_type: vec![1, 0, 0, 0, 0],
            sum_hessian: vec![],
            tree_param: BTreeMap::new(),
        };
        let t = import_tree(&x, 0).unwrap();
        t.validate(2).unwrap();
        assert_eq!(t.predict_row(&[4.0, 0.1]), 3.0);
        assert_eq!(t.predict_row(&[0.0, 0.1]), 1.0);
        assert_eq!(t.predict_row(&[7.0, 0.9]), 2.0);
        // Missing: XGBoost's default left (node 2), then 0.1 < 0.25 -> node 1.
        assert_eq!(t.predict_row(&[f32::NAN, 0.1]), 1.0);
        assert!(t.category_set(0).is_some_and(|s| s.codes().eq([4])));
    }

    #[test]
    fn bad_categorical_trees_are_errors() {
        let good = || export_tree(&set_stump(0, CategorySet::from_codes([2]), true), 0, 1).unwrap();
        import_tree(&good(), 0).unwrap();
        type Spoil = Box<dyn Fn(&mut XgbTree)>;
        let cases: Vec<(&str, Spoil)> = vec![
            ("split_type 2", Box::new(|x| x.split_type[0] = 2)),
            ("without categories", Box::new(|x| x.categories_nodes[0] = 1)),
            ("entries", Box::new(|x| x.categories_sizes.push(1))),
            ("node 9", Box::new(|x| x.categories_nodes[0] = 9)),
            ("categories 0..0+0", Box::new(|x| x.categories_sizes[0] = 0)),
            ("0+2 of 1", Box::new(|x| x.categories_sizes[0] = 2)),
            ("category -1", Box::new(|x| x.categories[0] = -1)),
            ("category 65535", Box::new(|x| x.categories[0] = MAX_CATEGORIES as i64)),
        ];
        for (message, spoil) in cases {
            let mut x = good();
            spoil(&mut x);
            let e = import_tree(&x, 0).unwrap_err().to_string();
            assert!(e.contains(message), "{message}: {e}");
        }
        // Children outside the tree are an error, not a panic, also under a categorical node.
        let mut x = good();
        x.left_children[0] = 7;
        x.right_children[0] = 8;
        assert!(import_tree(&x, 0).is_err());
        let mut x = good();
        x.right_children[0] = -5;
        assert!(import_tree(&x, 0).is_err());
        let empty = set_stump(0, CategorySet::default(), true);
        assert!(export_tree(&empty, 3, 1)
            .unwrap_err()
            .to_string()
            .contains("empty category set"));
    }

    #[test]
    fn feature_types_and_category_names_travel() {
        let names = vec!["color".to_string(), "x".to_string(), "size".to_string()];
        let trees = vec![
            set_stump(0, CategorySet::from_codes([0, 2]), true),
            set_stump(2, CategorySet::from_codes([1]), false),
        ];
        let mut b = booster_of(trees, 3, Some(names));
        let mut map = CategoryMap::new();
        map.insert("color", vec!["red".into(), "blue".into(), "green".into()]);
        map.insert("size", vec!["S".into(), "M".into()]);
        b.set_attribute(CATEGORIES_ATTRIBUTE, map.to_json());
        let text = to_xgboost_json(&b).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["learner"]["feature_types"], json!(["c", "q", "c"]));
        let cats = &v["learner"]["gradient_booster"]["model"]["cats"];
        assert_eq!(cats["feature_segments"], json!([0, 3, 3, 5]));
        assert_eq!(cats["sorted_idx"], json!([1, 2, 0, 1, 0]));
        assert_eq!(cats["enc"][0]["offsets"], json!([0, 3, 7, 12]));
        assert_eq!(cats["enc"][0]["values"][0], json!(b'r'));
        assert_eq!(cats["enc"][1], json!({"offsets": [], "values": []}));

        let back = from_xgboost_json(&text).unwrap();
        assert_eq!(back.feature_types(), b.feature_types());
        assert_eq!(back.attributes().get(CATEGORIES_ATTRIBUTE), Some(&map.to_json()));
        // Without Sylvan's attribute (a model XGBoost wrote), the names come from `cats`.
        let mut v2 = v.clone();
        v2["learner"]["attributes"]
            .as_object_mut()
            .unwrap()
            .remove(CATEGORIES_ATTRIBUTE);
        let back = from_xgboost_json(&v2.to_string()).unwrap();
        assert_eq!(back.attributes().get(CATEGORIES_ATTRIBUTE), Some(&map.to_json()));
        // Signed bytes (as XGBoost writes them) decode as UTF-8.
        let mut v3 = v2.clone();
        v3["learner"]["gradient_booster"]["model"]["cats"]["enc"][2] =
            json!({"offsets": [0, 2, 3], "values": [-61, -87, 77]});
        let back = from_xgboost_json(&v3.to_string()).unwrap();
        let got = CategoryMap::from_json(back.attributes().get(CATEGORIES_ATTRIBUTE).unwrap()).unwrap();
        assert_eq!(got.get("size").unwrap(), ["é".to_string(), "M".to_string()]);

        // Non-ASCII names are left out of `cats` (XGBoost 3.2 mishandles them); the trees still go.
        map.insert("size", vec!["é".into(), "M".into()]);
        b.set_attribute(CATEGORIES_ATTRIBUTE, map.to_json());
        let v: Value = serde_json::from_str(&to_xgboost_json(&b).unwrap()).unwrap();
        assert_eq!(v["learner"]["gradient_booster"]["model"]["cats"]["enc"], json!([]));

        // A file whose types mark a set-split feature numerical is refused.
        let mut v4 = v2;
        v4["learner"]["feature_types"] = json!(["q", "q", "c"]);
        assert!(from_xgboost_json(&v4.to_string()).is_err());
    }

    #[test]
    fn numerical_models_keep_their_feature_types() {
        let t = Tree {
            left: vec![1, -1, -1],
            right: vec![2, -1, -1],
            feature: vec![0, 0, 0],
            threshold: vec![0.5, 0.0, 0.0],
            default_left: vec![true, false, false],
            value: vec![0.0, 1.0, 2.0],
            gain: vec![1.0, 0.0, 0.0],
            cover: vec![2.0, 1.0, 1.0],
            categories: Default::default(),
        };
        let named = booster_of(vec![t.clone()], 1, Some(vec!["a".into()]));
        let v: Value = serde_json::from_str(&to_xgboost_json(&named).unwrap()).unwrap();
        assert_eq!(v["learner"]["feature_types"], json!(["float"]));
        let x = &v["learner"]["gradient_booster"]["model"]["trees"][0];
        assert_eq!(x["split_type"], json!([0, 0, 0]));
        assert_eq!(x["categories"], json!([]));
        let unnamed = booster_of(vec![t], 1, None);
        let v: Value = serde_json::from_str(&to_xgboost_json(&unnamed).unwrap()).unwrap();
        assert_eq!(v["learner"]["feature_types"], json!([]));
        assert!(!from_xgboost_json(&v.to_string()).unwrap().has_categorical());
    }
}
