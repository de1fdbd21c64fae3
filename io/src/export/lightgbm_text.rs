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
//! would predict differently in LightGBM and are errors.
//!
//! Import: the reverse. A threshold `thr` becomes the smallest f32 above it (exact for f32 inputs);
//! missing type NaN keeps the default direction; missing type None sends NaN where 0.0 goes, as
//! LightGBM does; zero-as-missing, categorical splits, linear trees and averaged (random forest)
//! outputs are errors. `binary sigmoid:s` with `s != 1` is imported by scaling leaves by `s`. The
//! first tree of each output gives up the midpoint of its leaf values to the base margin (kept in
//! f64), which keeps the f32 leaves small and the imported predictions within f32 rounding of
//! LightGBM's. LightGBM treats inputs with `|x| <= 1e-35` as 0; that only matters for thresholds
//! strictly inside (-1e-35, 1e-35), which LightGBM does not produce.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sylvan_booster::{Booster, ObjectiveKind, Params, Tree};

use super::{
    check_leaves, conversion, finite, join, predicting_trees, prev_f32, round_layout, smallest_f32_above, ModelFormat,
};
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
    let line = match params.objective {
        SquaredError => "regression".to_string(),
        AbsoluteError => "regression_l1".to_string(),
        QuantileError => "quantile".to_string(),
        Poisson => "poisson".to_string(),
        Gamma => "gamma".to_string(),
        Tweedie => "tweedie".to_string(),
        BinaryLogistic => "binary sigmoid:1".to_string(),
        MultiSoftprob => format!("multiclass num_class:{k}"),
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

/// Writes one tree; `base` is added to every leaf (the base margin, for first-round trees).
fn write_tree(out: &mut String, index: usize, t: &Tree, base: f64) {
    let n = t.num_nodes();
    // LightGBM numbers internal nodes and leaves separately, each in Sylvan's node order (so the
    // root is internal node 0).
    let mut id = vec![0i64; n];
    let (mut internal, mut leaves) = (Vec::new(), Vec::new());
    for (i, slot) in id.iter_mut().enumerate() {
        if t.is_leaf(i) {
            *slot = !(leaves.len() as i64);
            leaves.push(i);
        } else {
            *slot = internal.len() as i64;
            internal.push(i);
        }
    }
    let count = |c: f32| (c.max(0.0).round() as u64).max(1);
    let _ = writeln!(out, "Tree={index}");
    let _ = writeln!(out, "num_leaves={}", leaves.len());
    let _ = writeln!(out, "num_cat=0");
    let _ = writeln!(
        out,
        "split_feature={}",
        join(internal.iter().map(|&i| t.feature[i]), " ")
    );
    let _ = writeln!(
        out,
        "split_gain={}",
        join(internal.iter().map(|&i| finite(t.gain[i])), " ")
    );
    let thresholds = internal.iter().map(|&i| {
        let p = prev_f32(t.threshold[i]);
        // x < -f32::MAX only for -inf, and x <= -f64::MAX only for -inf too.
        f64_text(if p == f32::NEG_INFINITY { -f64::MAX } else { p as f64 })
    });
    let _ = writeln!(out, "threshold={}", join(thresholds, " "));
    let decision = internal
        .iter()
        .map(|&i| (MISSING_NAN << 2) | if t.default_left[i] { DEFAULT_LEFT_MASK } else { 0 });
    let _ = writeln!(out, "decision_type={}", join(decision, " "));
    let _ = writeln!(
        out,
        "left_child={}",
        join(internal.iter().map(|&i| id[t.left[i] as usize]), " ")
    );
    let _ = writeln!(
        out,
        "right_child={}",
        join(internal.iter().map(|&i| id[t.right[i] as usize]), " ")
    );
    let values = leaves.iter().map(|&i| f64_text(t.value[i] as f64 + base));
    let _ = writeln!(out, "leaf_value={}", join(values, " "));
    let _ = writeln!(
        out,
        "leaf_weight={}",
        join(leaves.iter().map(|&i| finite(t.cover[i])), " ")
    );
    let _ = writeln!(
        out,
        "leaf_count={}",
        join(leaves.iter().map(|&i| count(t.cover[i])), " ")
    );
    let _ = writeln!(
        out,
        "internal_value={}",
        join(internal.iter().map(|&i| finite(t.value[i])), " ")
    );
    let _ = writeln!(
        out,
        "internal_weight={}",
        join(internal.iter().map(|&i| finite(t.cover[i])), " ")
    );
    let _ = writeln!(
        out,
        "internal_count={}",
        join(internal.iter().map(|&i| count(t.cover[i])), " ")
    );
    let _ = writeln!(out, "is_linear=0");
    let _ = writeln!(out, "shrinkage=1");
    let _ = writeln!(out);
    let _ = writeln!(out);
}

/// The model as LightGBM text, loadable by `lightgbm.Booster(model_file=...)`.
///
/// Fails for objectives whose LightGBM counterpart would predict something else (see the module
/// documentation) and for custom objectives.
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
    let trees = predicting_trees(booster);
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
    let mut range = vec![(f64::INFINITY, f64::NEG_INFINITY); nf];
    for t in trees {
        for i in 0..t.num_nodes() {
            if !t.is_leaf(i) {
                let r = &mut range[t.feature[i] as usize];
                r.0 = r.0.min(t.threshold[i] as f64);
                r.1 = r.1.max(t.threshold[i] as f64);
            }
        }
    }
    let infos = range.iter().map(|(lo, hi)| {
        if lo.is_finite() && hi.is_finite() {
            format!("[{}:{}]", f64_text(*lo), f64_text(*hi))
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
        write_tree(&mut out, i, &trees[t], if i < k { base[i] } else { 0.0 });
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
    Ok(out)
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
    if block.get("num_cat").is_some_and(|c| c.trim() != "0") {
        return Err(err("categorical splits are not supported".into()));
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
            if d & CATEGORICAL_MASK != 0 {
                return Err(err(format!(
                    "node {i} is a categorical split, which Sylvan does not support"
                )));
            }
            let f = usize::try_from(split_feature[i])
                .ok()
                .filter(|f| *f < num_features)
                .ok_or_else(|| err(format!("node {i} splits on feature {}", split_feature[i])))?;
            let thr = threshold[i];
            if thr.is_nan() {
                return Err(err(format!("node {i} has a NaN threshold")));
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
    Ok((t, leaf_values))
}

/// Reads a LightGBM text model into a Sylvan booster that predicts the same.
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
        params.quantile_alpha = get("alpha").filter(|a| *a > 0.0 && *a < 1.0).unwrap_or(0.9);
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
    Booster::from_parts(params, base_margin, trees, num_features, names).map_err(|e| conversion(FORMAT, e.to_string()))
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
        let obj = STUMPS.replace("objective=regression", "objective=lambdarank");
        assert!(from_lightgbm_text(&obj).is_err());
    }
}
