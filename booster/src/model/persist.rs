//! Saving and loading a whole booster: JSON (readable, via serde) and a compact binary form
//! (postcard behind a magic header). Files are written atomically; loading anything that is not a
//! valid Sylvan model is an error, never a panic.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::gradients::GradPair;
use crate::model::booster::{thread_pool, Booster, ModelCore};
use crate::model::file::{
    is_json_path, read_file, with_path, BINARY_MAGIC, ENSEMBLE_FORMAT, FORMAT_NAME, FORMAT_VERSION,
};
use crate::model::tree::Tree;
use crate::objective::{objective_for, Objective};
use crate::params::{ObjectiveKind, Params};
use crate::train::trainer::RoundReport;
use crate::util::atomic_file::write_atomically;

#[derive(Serialize, Deserialize)]
struct JsonModel {
    format: String,
    version: u32,
    params: Params,
    #[serde(flatten)]
    core: ModelCore,
    /// The evaluation history (version 4; left out when the model has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    eval_history: Option<EvalHistory>,
}

#[derive(Serialize, Deserialize)]
struct BinaryModel {
    version: u32,
    /// Parameters as JSON text (their serde form needs a self-describing format).
    params_json: String,
    core: ModelCore,
}

/// [`BinaryModel`] as it is written: the same fields, borrowed (serde writes a reference as the
/// value it points to, so the bytes are the same), so that saving copies no tree.
#[derive(Serialize)]
struct BinaryModelRef<'m> {
    version: u32,
    params_json: &'m str,
    core: &'m ModelCore,
}

/// [`CategoricalSection`] as it is written, borrowed.
#[derive(Serialize)]
struct CategoricalSectionRef<'m> {
    feature_types: &'m [crate::data::FeatureType],
    trees: Vec<&'m crate::model::categories::TreeCategories>,
}

/// [`WeightSection`] as it is written, borrowed.
#[derive(Serialize)]
struct WeightSectionRef<'m> {
    tree_weights: &'m [f32],
}

/// What version 2 of the binary form adds after [`BinaryModel`]: the feature types and each tree's
/// category sets (the fields that [`text_only`] leaves out of the binary core, so that a model
/// without categorical features is written exactly as version 1 wrote it).
#[derive(Serialize, Deserialize)]
struct CategoricalSection {
    feature_types: Vec<crate::data::FeatureType>,
    trees: Vec<crate::model::categories::TreeCategories>,
}

/// What version 3 of the binary form adds after the [`CategoricalSection`] (which version 3 always
/// writes, empty for a model without categorical features): the DART tree weights, one per tree.
#[derive(Serialize, Deserialize)]
struct WeightSection {
    tree_weights: Vec<f32>,
}

/// What version 4 adds (to either form; in the binary form after the [`WeightSection`], which
/// version 4 always writes): the evaluation history of training, one series of values per
/// (evaluation set, metric), one value per round from `first_round` on. Models trained without
/// evaluation sets have none and are written as before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EvalHistory {
    /// The round of the first value (after an initial model's rounds for continued training).
    first_round: usize,
    /// The rounds training was asked for ([`RoundReport::num_rounds`]).
    num_rounds: usize,
    /// One series per (evaluation set, metric), in the order training reported them.
    series: Vec<EvalSeries>,
}

/// The values of one metric on one evaluation set, round by round.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct EvalSeries {
    /// The evaluation set's name.
    set: String,
    /// The metric's name.
    metric: String,
    /// One value per round; in JSON a value that is not finite is written as `null` (read back
    /// as NaN).
    #[serde(with = "finite_or_null")]
    values: Vec<f64>,
}

impl EvalHistory {
    /// The compact form of `reports`, or `None` when they hold no evaluation (no evaluation sets).
    /// A (set, metric) missing from a round reads as NaN there.
    fn of_reports(reports: &[RoundReport]) -> Option<EvalHistory> {
        let first = reports.first()?;
        if reports.iter().all(|r| r.evals.is_empty()) {
            return None;
        }
        let mut series: Vec<EvalSeries> = Vec::new();
        for (i, r) in reports.iter().enumerate() {
            for (set, metric, value) in &r.evals {
                let k = match series.iter().position(|s| &s.set == set && &s.metric == metric) {
                    Some(k) => k,
                    None => {
                        series.push(EvalSeries {
                            set: set.clone(),
                            metric: metric.clone(),
                            values: Vec::with_capacity(reports.len()),
                        });
                        series.len() - 1
                    }
                };
                let values = &mut series[k].values;
                values.resize(i, f64::NAN);
                values.push(*value);
            }
        }
        for s in &mut series {
            s.values.resize(reports.len(), f64::NAN);
        }
        Some(EvalHistory {
            first_round: first.round,
            num_rounds: first.num_rounds,
            series,
        })
    }

    /// The round reports again; an error when the series differ in length.
    fn into_reports(self) -> Result<Vec<RoundReport>> {
        let len = self.series.first().map_or(0, |s| s.values.len());
        if let Some(s) = self.series.iter().find(|s| s.values.len() != len) {
            return Err(Error::model(format!(
                "eval history: `{}` on `{}` has {} values, but the first series has {len}",
                s.metric,
                s.set,
                s.values.len()
            )));
        }
        Ok((0..len)
            .map(|i| RoundReport {
                round: self.first_round + i,
                num_rounds: self.num_rounds,
                evals: self
                    .series
                    .iter()
                    .map(|s| (s.set.clone(), s.metric.clone(), s.values[i]))
                    .collect(),
            })
            .collect())
    }
}

/// Serde helpers for metric values: in human-readable formats (JSON, which has no NaN or
/// infinity) each value is an optional number, `null` for one that is not finite (read back as
/// NaN); binary formats write the numbers as they are.
mod finite_or_null {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes `values`, `null` for each non-finite one in human-readable formats.
    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let v: Vec<Option<f64>> = values.iter().map(|v| v.is_finite().then_some(*v)).collect();
            v.serialize(serializer)
        } else {
            values.serialize(serializer)
        }
    }

    /// Reads the values, NaN for each `null` in human-readable formats.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        if deserializer.is_human_readable() {
            let v: Vec<Option<f64>> = Vec::deserialize(deserializer)?;
            Ok(v.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
        } else {
            Vec::deserialize(deserializer)
        }
    }
}

/// Checks the DART tree weights: none, or one finite weight per tree.
fn check_tree_weights(core: &ModelCore) -> Result<()> {
    let w = &core.tree_weights;
    if !w.is_empty() && w.len() != core.trees.len() {
        return Err(Error::model(format!(
            "{} tree weights for {} trees",
            w.len(),
            core.trees.len()
        )));
    }
    if let Some(i) = w.iter().position(|v| !v.is_finite()) {
        return Err(Error::model(format!("tree weight {i} is not finite ({})", w[i])));
    }
    Ok(())
}

/// Serde helpers for fields that only the JSON form carries inline: in a binary (not
/// human-readable) format they are written as nothing and read back as their default, and
/// [`CategoricalSection`] carries them instead.
pub(crate) mod text_only {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Writes `value` in human-readable formats, nothing otherwise.
    pub fn serialize<T: Serialize, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            value.serialize(serializer)
        } else {
            serializer.serialize_unit()
        }
    }

    /// Reads `T` in human-readable formats, `T::default()` (consuming nothing) otherwise.
    pub fn deserialize<'de, T: Deserialize<'de> + Default, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        if deserializer.is_human_readable() {
            T::deserialize(deserializer)
        } else {
            <()>::deserialize(deserializer)?;
            Ok(T::default())
        }
    }
}

/// Checks the feature types against the trees: one type per feature (or none), and every
/// category-set split on a categorical feature. A model without types whose trees split by
/// category sets (an import) gets those features marked categorical.
fn check_feature_types(core: &mut ModelCore) -> Result<()> {
    use crate::data::FeatureType;
    let n = core.num_features;
    if core.feature_types.is_empty() && core.trees.iter().any(|t| t.has_category_splits()) {
        core.feature_types = vec![FeatureType::Numerical; n];
        for t in &core.trees {
            for i in 0..t.num_nodes() {
                if t.category_set(i).is_some() {
                    core.feature_types[t.feature[i] as usize] = FeatureType::Categorical;
                }
            }
        }
    }
    if core.feature_types.is_empty() {
        return Ok(());
    }
    if core.feature_types.len() != n {
        return Err(Error::model(format!(
            "{} feature types for {n} features",
            core.feature_types.len()
        )));
    }
    for (k, t) in core.trees.iter().enumerate() {
        for i in 0..t.num_nodes() {
            let f = t.feature[i] as usize;
            if t.category_set(i).is_some() && !core.feature_types[f].is_categorical() {
                return Err(Error::model(format!(
                    "tree {k}: node {i} splits feature {f} by a category set, but the feature is numerical"
                )));
            }
        }
    }
    if core.feature_types.iter().all(|t| !t.is_categorical()) {
        core.feature_types.clear();
    }
    Ok(())
}

impl ModelCore {
    /// The file version the model is written as: 3 when it has tree weights (DART), else 2 when it
    /// has categorical features or category sets, else 1 (readable by builds that predate
    /// categorical features).
    fn format_version(&self) -> u32 {
        if !self.tree_weights.is_empty() {
            3
        } else if self.feature_types.is_empty() && self.trees.iter().all(|t| t.categories.is_empty()) {
            1
        } else {
            2
        }
    }
}

/// Stands in for a custom objective when a model trained with one is loaded: predictions are the
/// raw margins.
#[derive(Debug)]
struct MarginOnly {
    name: String,
    groups: usize,
}

impl Objective for MarginOnly {
    fn name(&self) -> &str {
        &self.name
    }
    fn num_groups(&self) -> usize {
        self.groups
    }
    fn gradients(&self, _: &[f32], _: Option<&[f32]>, _: &[f64], out: &mut [GradPair]) {
        out.fill(GradPair::default());
    }
}

impl Booster {
    /// The evaluation history in its saved form (`None` when training evaluated nothing).
    fn saved_history(&self) -> Option<EvalHistory> {
        EvalHistory::of_reports(&self.history)
    }

    /// The file version of the model: 4 with an evaluation history, else that of its core.
    fn format_version(&self, history: &Option<EvalHistory>) -> u32 {
        if history.is_some() {
            4
        } else {
            self.core.format_version()
        }
    }

    /// The model as JSON text.
    pub fn to_json_string(&self) -> Result<String> {
        let eval_history = self.saved_history();
        let m = JsonModel {
            format: FORMAT_NAME.into(),
            version: self.format_version(&eval_history),
            params: self.params.clone(),
            core: self.core.clone(),
            eval_history,
        };
        serde_json::to_string(&m).map_err(|e| Error::model(format!("cannot serialise: {e}")))
    }

    /// Reads a model from JSON text.
    pub fn from_json_str(text: &str) -> Result<Booster> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| Error::model(format!("not JSON: {e}")))?;
        if value.get("format").and_then(|f| f.as_str()) == Some(ENSEMBLE_FORMAT) {
            return Err(Error::model(
                "this is an ensemble (bagging or stacking), not a single booster; load it with Model::load",
            ));
        }
        if value.get("format").and_then(|f| f.as_str()) != Some(FORMAT_NAME) {
            return Err(Error::model("not a Sylvan model (no \"format\": \"sylvan\")"));
        }
        let m: JsonModel = serde_json::from_value(value).map_err(|e| Error::model(e.to_string()))?;
        let history = match m.eval_history {
            Some(h) if m.version >= 4 => h.into_reports()?,
            Some(_) => return Err(Error::model("eval_history needs format version 4")),
            None => Vec::new(),
        };
        let mut booster = Booster::assemble(m.version, m.params, m.core)?;
        booster.history = history;
        Ok(booster)
    }

    /// The model in the compact binary form.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let params_json = serde_json::to_string(&self.params).map_err(|e| Error::model(e.to_string()))?;
        let history = self.saved_history();
        let version = self.format_version(&history);
        let m = BinaryModelRef {
            version,
            params_json: &params_json,
            core: &self.core,
        };
        let cannot = |e: postcard::Error| Error::model(format!("cannot serialise: {e}"));
        // Each part is serialised straight onto the end of the one buffer.
        let mut out = BINARY_MAGIC.to_vec();
        out = postcard::to_extend(&m, out).map_err(cannot)?;
        if version >= 2 {
            let section = CategoricalSectionRef {
                feature_types: &self.core.feature_types,
                trees: self.core.trees.iter().map(|t| &t.categories).collect(),
            };
            out = postcard::to_extend(&section, out).map_err(cannot)?;
        }
        if version >= 3 {
            let section = WeightSectionRef {
                tree_weights: &self.core.tree_weights,
            };
            out = postcard::to_extend(&section, out).map_err(cannot)?;
        }
        if let Some(h) = history {
            out = postcard::to_extend(&h, out).map_err(cannot)?;
        }
        Ok(out)
    }

    /// Reads a model from the compact binary form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Booster> {
        let body = bytes
            .strip_prefix(BINARY_MAGIC.as_slice())
            .ok_or_else(|| Error::model("not a Sylvan binary model (bad magic bytes)"))?;
        let corrupt = |e: postcard::Error| Error::model(format!("corrupt binary model: {e}"));
        let (mut m, rest): (BinaryModel, &[u8]) = postcard::take_from_bytes(body).map_err(corrupt)?;
        let mut history = Vec::new();
        if m.version >= 2 {
            let (section, after): (CategoricalSection, &[u8]) = postcard::take_from_bytes(rest).map_err(corrupt)?;
            if m.version >= 3 {
                let (weights, after): (WeightSection, &[u8]) = postcard::take_from_bytes(after).map_err(corrupt)?;
                m.core.tree_weights = weights.tree_weights;
                if m.version >= 4 {
                    let saved: EvalHistory = postcard::from_bytes(after).map_err(corrupt)?;
                    history = saved.into_reports()?;
                }
            }
            if section.trees.len() != m.core.trees.len() {
                return Err(Error::model(format!(
                    "corrupt binary model: category sets for {} trees, but {} trees",
                    section.trees.len(),
                    m.core.trees.len()
                )));
            }
            m.core.feature_types = section.feature_types;
            for (t, c) in m.core.trees.iter_mut().zip(section.trees) {
                t.categories = c;
            }
        }
        let params: Params =
            serde_json::from_str(&m.params_json).map_err(|e| Error::model(format!("bad params: {e}")))?;
        let mut booster = Booster::assemble(m.version, params, m.core)?;
        booster.history = history;
        Ok(booster)
    }

    /// Saves the model: JSON when the path ends in `.json`, the binary form otherwise. The file is
    /// written to a temporary file beside it and renamed into place, so a failure never leaves a
    /// truncated model behind nor harms an existing one.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = if is_json_path(path) {
            self.to_json_string()?.into_bytes()
        } else {
            self.to_bytes()?
        };
        write_atomically(path, &bytes)
    }

    /// Loads a model saved by [`Booster::save`] (JSON or binary, detected from the content).
    pub fn load(path: impl AsRef<Path>) -> Result<Booster> {
        let path = path.as_ref();
        Booster::from_file_bytes(&read_file(path)?, path)
    }

    /// A booster from the bytes of the model file `path` (binary or JSON, detected from the
    /// content); errors name the file.
    pub(crate) fn from_file_bytes(bytes: &[u8], path: &Path) -> Result<Booster> {
        let with_path = with_path(path);
        if bytes.starts_with(BINARY_MAGIC) {
            Booster::from_bytes(bytes).map_err(with_path)
        } else {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| with_path(Error::model("neither a binary model nor UTF-8 JSON")))?;
            Booster::from_json_str(text).map_err(with_path)
        }
    }

    /// Builds a model from its parts — for importers of other libraries' formats. `trees` are
    /// round by round, output by output, and `params.num_parallel_tree` trees per output (tree `i`
    /// belongs to output `(i / num_parallel_tree) % base_margin.len()`, XGBoost's order);
    /// `params.objective` (and `num_class`) must agree with the number of outputs. Checked like a
    /// loaded file.
    pub fn from_parts(
        params: Params,
        base_margin: Vec<f64>,
        trees: Vec<Tree>,
        num_features: usize,
        feature_names: Option<Vec<String>>,
    ) -> Result<Booster> {
        let core = ModelCore {
            objective: params.objective.name().to_string(),
            num_groups: base_margin.len(),
            base_margin,
            num_features,
            feature_names,
            feature_types: Vec::new(),
            trees,
            tree_weights: Vec::new(),
            best_iteration: None,
            best_score: None,
            attributes: Default::default(),
        };
        Booster::assemble(FORMAT_VERSION, params, core)
    }

    /// Declares the feature types of a model built by [`Booster::from_parts`] (an importer that
    /// knows them; otherwise the features that category-set splits use are categorical).
    pub fn set_feature_types(&mut self, types: Vec<crate::data::FeatureType>) -> Result<()> {
        let mut core = self.core.clone();
        core.feature_types = types;
        check_feature_types(&mut core)?;
        self.core = core;
        Ok(())
    }

    /// Gives the trees of a model built by [`Booster::from_parts`] DART weights (one finite weight
    /// per tree; prediction adds each tree's leaf value times its weight) — for importers of DART
    /// models. An empty `weights` removes them.
    pub fn set_tree_weights(&mut self, weights: Vec<f32>) -> Result<()> {
        let mut core = self.core.clone();
        core.tree_weights = weights;
        check_tree_weights(&core)?;
        self.core = core;
        self.packed = Default::default();
        self.batch = Default::default();
        Ok(())
    }

    /// Checks a deserialised model completely and attaches its objective and thread pool.
    fn assemble(version: u32, params: Params, mut core: ModelCore) -> Result<Booster> {
        if version == 0 || version > FORMAT_VERSION {
            return Err(Error::model(format!(
                "format version {version} is not supported (this build reads 1..={FORMAT_VERSION})"
            )));
        }
        params
            .validate()
            .map_err(|e| Error::model(format!("bad params: {e}")))?;
        let k = core.num_groups;
        if k == 0 || core.base_margin.len() != k {
            return Err(Error::model(format!(
                "{} base margins for {k} outputs",
                core.base_margin.len()
            )));
        }
        if core.base_margin.iter().any(|v| !v.is_finite()) {
            return Err(Error::model("base margin is not finite"));
        }
        // Margins are summed into f32 scores: one past f32's range is an infinity there, and
        // softmax of infinities is NaN (found by the `model_binary` fuzz target).
        if let Some(v) = core.base_margin.iter().find(|v| v.abs() > f32::MAX as f64) {
            return Err(Error::model(format!("base margin {v} is outside the range of f32")));
        }
        if core.num_features == 0 {
            return Err(Error::model("the model has no features"));
        }
        // Trees per round: every output grows `num_parallel_tree` trees (1 in files that predate it).
        let per_round = k * params.num_parallel_tree;
        if !core.trees.len().is_multiple_of(per_round) {
            return Err(Error::model(format!(
                "{} trees is not a whole number of rounds of {per_round} ({k} outputs x {} parallel trees)",
                core.trees.len(),
                params.num_parallel_tree
            )));
        }
        if let Some(names) = &core.feature_names {
            if names.len() != core.num_features {
                return Err(Error::model(format!(
                    "{} feature names for {} features",
                    names.len(),
                    core.num_features
                )));
            }
            // Data is matched to the model by name (found by the `lightgbm_text` fuzz target).
            let mut seen = std::collections::HashSet::new();
            if let Some(dup) = names.iter().find(|n| !seen.insert(n.as_str())) {
                return Err(Error::model(format!("feature name `{dup}` appears twice")));
            }
        }
        for (i, t) in core.trees.iter().enumerate() {
            t.validate(core.num_features)
                .map_err(|e| Error::model(format!("tree {i}: {e}")))?;
        }
        check_feature_types(&mut core)?;
        check_tree_weights(&core)?;
        if let Some(b) = core.best_iteration {
            if b >= core.trees.len() / per_round {
                return Err(Error::model(format!("best_iteration {b} is beyond the last round")));
            }
        }
        let objective: Arc<dyn Objective> = match ObjectiveKind::from_name(&core.objective) {
            Some(kind) if kind == params.objective => {
                let o = objective_for(&params);
                if o.num_groups() != k {
                    return Err(Error::model(format!(
                        "{} outputs but num_class gives {}",
                        k,
                        o.num_groups()
                    )));
                }
                o
            }
            Some(kind) => {
                return Err(Error::model(format!(
                    "objective {} disagrees with params.objective {}",
                    kind.name(),
                    params.objective.name()
                )));
            }
            None => Arc::new(MarginOnly {
                name: core.objective.clone(),
                groups: k,
            }),
        };
        let pool = thread_pool(params.nthread)?;
        Ok(Booster {
            params,
            core,
            objective,
            pool,
            history: Vec::new(),
            packed: Default::default(),
            batch: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::Dataset;

    /// A small binary model; with an evaluation set (two metrics) when `watch`.
    fn model(watch: bool) -> Booster {
        let x: Vec<f32> = (0..200).map(|i| ((i * 37) % 101) as f32).collect();
        let y: Vec<f32> = x.iter().map(|v| if *v > 50.0 { 1.0 } else { 0.0 }).collect();
        let data = Dataset::from_columns(vec![x]).unwrap().with_labels(y).unwrap();
        let mut params = Params::default();
        for (k, v) in [
            ("objective", "binary:logistic"),
            ("num_round", "5"),
            ("eval_metric", "logloss,auc"),
        ] {
            params.set(k, v).unwrap();
        }
        let evals: &[(&str, &Dataset)] = if watch { &[("valid", &data)] } else { &[] };
        Booster::train(&params, &data, evals).unwrap()
    }

    /// Found by the `lightgbm_text` fuzz target: a model whose feature names repeat loaded, but
    /// data cannot be matched to it by name.
    #[test]
    fn repeated_feature_names_are_refused() {
        let json = model(false).to_json_string().unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["num_features"] = 2.into();
        value["feature_names"] = serde_json::json!(["a", "b"]);
        Booster::from_json_str(&value.to_string()).unwrap();
        value["feature_names"] = serde_json::json!(["a", "a"]);
        let e = Booster::from_json_str(&value.to_string()).unwrap_err().to_string();
        assert!(e.contains("feature name `a` appears twice"), "{e}");
    }

    #[test]
    fn base_margins_past_f32_are_refused() {
        let json = model(false).to_json_string().unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        value["base_margin"] = serde_json::json!([6e197]);
        let e = Booster::from_json_str(&value.to_string()).unwrap_err().to_string();
        assert!(e.contains("outside the range of f32"), "{e}");
    }

    #[test]
    fn eval_history_round_trips_in_both_forms() {
        let b = model(true);
        let history = b.eval_history().to_vec();
        assert_eq!(history.len(), 5);
        assert_eq!(history[0].evals.len(), 2);
        let json = b.to_json_string().unwrap();
        assert!(json.contains("\"eval_history\""), "{json}");
        let from_json = Booster::from_json_str(&json).unwrap();
        assert_eq!(from_json.eval_history(), history.as_slice());
        let bytes = b.to_bytes().unwrap();
        let from_bytes = Booster::from_bytes(&bytes).unwrap();
        assert_eq!(from_bytes.eval_history(), history.as_slice());
        // Saving the loaded model again gives the same bytes.
        assert_eq!(from_bytes.to_bytes().unwrap(), bytes);
        assert_eq!(b.format_version(&b.saved_history()), 4);
    }

    #[test]
    fn models_without_evaluation_keep_their_old_files() {
        let watched = model(true);
        let b = model(false);
        assert!(b.eval_history().iter().all(|r| r.evals.is_empty()));
        let json = b.to_json_string().unwrap();
        assert!(!json.contains("eval_history"));
        assert!(json.contains("\"version\":1"), "{json}");
        // The same trees without the history: the binary file is the version 1 file.
        let mut plain = Booster::from_bytes(&watched.to_bytes().unwrap()).unwrap();
        plain.history.clear();
        let old = plain.to_bytes().unwrap();
        let loaded = Booster::from_bytes(&old).unwrap();
        assert!(loaded.eval_history().is_empty());
        assert_eq!(loaded.to_bytes().unwrap(), old);
        assert!(watched.to_bytes().unwrap().starts_with(&old[..BINARY_MAGIC.len()]));
    }

    #[test]
    fn non_finite_values_survive_json_as_nan() {
        let mut b = model(true);
        b.history[1].evals[0].2 = f64::NAN;
        b.history[2].evals[1].2 = f64::INFINITY;
        let json = b.to_json_string().unwrap();
        let loaded = Booster::from_json_str(&json).unwrap();
        assert!(loaded.eval_history()[1].evals[0].2.is_nan());
        assert!(loaded.eval_history()[2].evals[1].2.is_nan());
        let bytes = Booster::from_bytes(&b.to_bytes().unwrap()).unwrap();
        assert_eq!(bytes.eval_history()[2].evals[1].2, f64::INFINITY);
    }

    #[test]
    fn a_bad_history_is_an_error() {
        let b = model(true);
        let mut v: serde_json::Value = serde_json::from_str(&b.to_json_string().unwrap()).unwrap();
        v["eval_history"]["series"][0]["values"] = serde_json::json!([0.5]);
        let e = Booster::from_json_str(&v.to_string()).unwrap_err().to_string();
        assert!(e.contains("eval history"), "{e}");
        v["version"] = serde_json::json!(3);
        let e = Booster::from_json_str(&v.to_string()).unwrap_err().to_string();
        assert!(e.contains("version 4"), "{e}");
        // A truncated history section is a corrupt file, not a panic.
        let bytes = b.to_bytes().unwrap();
        assert!(Booster::from_bytes(&bytes[..bytes.len() - 3]).is_err());
    }
}
