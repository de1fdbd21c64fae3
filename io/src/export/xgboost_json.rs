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
//! `num_parallel_tree`, else as extra rounds (the sum is the same); `dart` boosters with each tree's
//! leaves multiplied by its `weight_drop` (what XGBoost predicts with). Categorical splits,
//! multi-target trees, `gblinear` and objectives Sylvan lacks (ranking, survival, hinge) are errors.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use sylvan_booster::{Booster, ObjectiveKind, Params, Tree};

use super::{
    conversion, depth_first_order, finite, is_log_link, is_logistic, predicting_trees, round_layout, ModelFormat,
};
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
            "quantile_loss_param": {"quantile_alpha": format!("[{}]", params.quantile_alpha)}
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
    }
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

fn export_tree(t: &Tree, id: usize, num_features: usize) -> Result<XgbTree> {
    let n = t.num_nodes();
    if let Some(i) = (0..n).find(|&i| t.is_leaf(i) && !t.value[i].is_finite()) {
        return Err(conversion(
            FORMAT,
            format!("tree {id}: leaf {i} has value {}", t.value[i]),
        ));
    }
    let mut parents = vec![ROOT_PARENT; n];
    for i in 0..n {
        if !t.is_leaf(i) {
            parents[t.left[i] as usize] = i as i64;
            parents[t.right[i] as usize] = i as i64;
        }
    }
    let leaf = |i: usize| t.is_leaf(i);
    Ok(XgbTree {
        base_weights: t.value.iter().map(|v| finite(*v)).collect(),
        categories: Vec::new(),
        categories_nodes: Vec::new(),
        categories_segments: Vec::new(),
        categories_sizes: Vec::new(),
        default_left: (0..n).map(|i| Flag(!leaf(i) && t.default_left[i])).collect(),
        id: id as i64,
        left_children: (0..n).map(|i| if leaf(i) { -1 } else { t.left[i] }).collect(),
        loss_changes: (0..n).map(|i| if leaf(i) { 0.0 } else { finite(t.gain[i]) }).collect(),
        parents,
        right_children: (0..n).map(|i| if leaf(i) { -1 } else { t.right[i] }).collect(),
        // JSON has no infinities: +-inf thresholds become +-f32::MAX (the same split for every input
        // but x = +-f32::MAX itself).
        split_conditions: (0..n)
            .map(|i| {
                if leaf(i) {
                    t.value[i]
                } else {
                    t.threshold[i].clamp(-f32::MAX, f32::MAX)
                }
            })
            .collect(),
        split_indices: (0..n).map(|i| if leaf(i) { 0 } else { t.feature[i] as i64 }).collect(),
        split_type: vec![0; n],
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

/// The model as XGBoost JSON text (3.x schema), loadable by `xgboost.Booster(model_file=...)`.
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
    let scores = booster
        .base_margin()
        .iter()
        .map(|m| margin_to_base_score(kind, *m).map(|s| format!("{s:E}")))
        .collect::<Result<Vec<_>>>()?;
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

    let (names, types): (Vec<String>, Vec<String>) = match booster.feature_names() {
        Some(names) => (names.to_vec(), vec!["float".to_string(); names.len()]),
        None => (Vec::new(), Vec::new()),
    };
    let num_class = if kind.is_multiclass() { k } else { 0 };
    let model = json!({
        "learner": {
            "attributes": attributes,
            "feature_names": names,
            "feature_types": types,
            "gradient_booster": {
                "model": {
                    "cats": {"enc": [], "feature_segments": [], "sorted_idx": []},
                    "gbtree_model_param": {
                        "num_parallel_tree": parallel.to_string(),
                        "num_trees": trees.len().to_string(),
                    },
                    "iteration_indptr": indptr,
                    "tree_info": tree_info,
                    "trees": serde_json::to_value(&xgb_trees).map_err(|e| conversion(FORMAT, e.to_string()))?,
                },
                "name": "gbtree",
            },
            "learner_model_param": {
                "base_score": format!("[{}]", scores.join(",")),
                "boost_from_average": "1",
                "num_class": num_class.to_string(),
                "num_feature": nf.to_string(),
                "num_target": "1",
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
    if let Some(v) = obj.get("quantile_loss_param").and_then(|s| s.get("quantile_alpha")) {
        let alphas = parse_base_score(Some(v))?;
        match alphas.as_slice() {
            [a] => p.quantile_alpha = *a,
            _ => {
                return Err(conversion(
                    FORMAT,
                    format!("{} quantiles (a multi-target model) are not supported", alphas.len()),
                ))
            }
        }
    }
    Ok(p)
}

/// One XGBoost tree as a Sylvan tree (nodes renumbered depth-first when needed).
fn import_tree(x: &XgbTree, index: usize) -> Result<Tree> {
    let what = |reason: String| conversion(FORMAT, format!("tree {index}: {reason}"));
    let n = x.left_children.len();
    if let Some(slv) = count(x.tree_param.get("size_leaf_vector"), "size_leaf_vector")? {
        if slv > 1 {
            return Err(what(format!(
                "vector leaves (size_leaf_vector {slv}, a multi-target model) are not supported"
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
    if let Some(i) = x.split_type.iter().position(|t| *t != 0) {
        return Err(what(format!(
            "node {i} is a categorical split, which Sylvan does not support"
        )));
    }
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
    for i in 0..n {
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
        t.left.push(if leaf { -1 } else { l });
        t.right.push(if leaf { -1 } else { r });
        t.feature.push(feature);
        t.threshold.push(if leaf { 0.0 } else { cond });
        t.default_left.push(!leaf && x.default_left[i].0);
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
    if t.validate(usize::MAX).is_ok() {
        return Ok(t);
    }
    let (order, new_id) = depth_first_order(n, |i| {
        (t.left[i] >= 0).then(|| (t.left[i] as usize, t.right[i] as usize))
    })
    .map_err(what)?;
    let map = |c: i32| if c < 0 { -1 } else { new_id[c as usize] as i32 };
    Ok(Tree {
        left: order.iter().map(|&o| map(t.left[o])).collect(),
        right: order.iter().map(|&o| map(t.right[o])).collect(),
        feature: order.iter().map(|&o| t.feature[o]).collect(),
        threshold: order.iter().map(|&o| t.threshold[o]).collect(),
        default_left: order.iter().map(|&o| t.default_left[o]).collect(),
        value: order.iter().map(|&o| t.value[o]).collect(),
        gain: order.iter().map(|&o| t.gain[o]).collect(),
        cover: order.iter().map(|&o| t.cover[o]).collect(),
        categories: Default::default(),
    })
}

/// Reads an XGBoost JSON model (3.x or 2.x schema) into a Sylvan booster that predicts the same.
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
    if let Some(t) = count(lmp.get("num_target"), "num_target")? {
        if t > 1 {
            return Err(conversion(
                FORMAT,
                format!("num_target {t} (a multi-target model) is not supported"),
            ));
        }
    }
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
        1
    };

    let gb = &learner["gradient_booster"];
    // DART keeps its trees in a nested gbtree and weighs tree i by weight_drop[i] at prediction.
    let (model, weights) = match gb["name"].as_str() {
        Some("gbtree") => (&gb["model"], None),
        Some("dart") => {
            let w: Vec<f32> = serde_json::from_value(gb["weight_drop"].clone())
                .map_err(|e| conversion(FORMAT, format!("dart weight_drop: {e}")))?;
            (&gb["gbtree"]["model"], Some(w))
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

    if k > xgb_trees.len().max(1) {
        return Err(conversion(
            FORMAT,
            format!("num_class {k} but only {} trees", xgb_trees.len()),
        ));
    }
    if let Some(w) = &weights {
        if w.len() != xgb_trees.len() {
            return Err(conversion(
                FORMAT,
                format!("dart weight_drop has {} entries for {} trees", w.len(), xgb_trees.len()),
            ));
        }
    }
    let imported = xgb_trees
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let mut t = import_tree(x, i)?;
            if let Some(w) = &weights {
                // The same f32 product XGBoost forms when it predicts.
                for n in 0..t.num_nodes() {
                    if t.is_leaf(n) {
                        t.value[n] *= w[i];
                    }
                }
            }
            Ok(t)
        })
        .collect::<Result<Vec<_>>>()?;
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
    let attributes: BTreeMap<String, String> = learner
        .get("attributes")
        .and_then(|a| serde_json::from_value(a.clone()).ok())
        .unwrap_or_default();
    if let Some(p) = attributes.get(PARAMS_ATTRIBUTE).and_then(|s| Params::from_json(s).ok()) {
        if p.objective == params.objective && p.num_class == params.num_class {
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
        let mut per_class: Vec<Vec<Tree>> = vec![Vec::new(); k];
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
    let mut base_margin = scores
        .iter()
        .map(|s| base_score_to_margin(kind, *s))
        .collect::<Result<Vec<_>>>()?;

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
    let mut booster = Booster::from_parts(params, base_margin, trees, num_feature, names)
        .map_err(|e| conversion(FORMAT, e.to_string()))?;
    for (key, value) in attributes {
        if key.starts_with("sylvan.") && key != BASE_MARGIN_ATTRIBUTE && key != PARAMS_ATTRIBUTE {
            booster.set_attribute(key, value);
        }
    }
    Ok(booster)
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
}
