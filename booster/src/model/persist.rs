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
use crate::util::atomic_file::write_atomically;

#[derive(Serialize, Deserialize)]
struct JsonModel {
    format: String,
    version: u32,
    params: Params,
    #[serde(flatten)]
    core: ModelCore,
}

#[derive(Serialize, Deserialize)]
struct BinaryModel {
    version: u32,
    /// Parameters as JSON text (their serde form needs a self-describing format).
    params_json: String,
    core: ModelCore,
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
    /// The model as JSON text.
    pub fn to_json_string(&self) -> Result<String> {
        let m = JsonModel {
            format: FORMAT_NAME.into(),
            version: self.core.format_version(),
            params: self.params.clone(),
            core: self.core.clone(),
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
        Booster::assemble(m.version, m.params, m.core)
    }

    /// The model in the compact binary form.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let params_json = serde_json::to_string(&self.params).map_err(|e| Error::model(e.to_string()))?;
        let version = self.core.format_version();
        let m = BinaryModel {
            version,
            params_json,
            core: self.core.clone(),
        };
        let cannot = |e: postcard::Error| Error::model(format!("cannot serialise: {e}"));
        let mut out = BINARY_MAGIC.to_vec();
        out.extend_from_slice(&postcard::to_stdvec(&m).map_err(cannot)?);
        if version >= 2 {
            let section = CategoricalSection {
                feature_types: self.core.feature_types.clone(),
                trees: self.core.trees.iter().map(|t| t.categories.clone()).collect(),
            };
            out.extend_from_slice(&postcard::to_stdvec(&section).map_err(cannot)?);
        }
        if version >= 3 {
            let section = WeightSection {
                tree_weights: self.core.tree_weights.clone(),
            };
            out.extend_from_slice(&postcard::to_stdvec(&section).map_err(cannot)?);
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
        if m.version >= 2 {
            let (section, after): (CategoricalSection, &[u8]) = postcard::take_from_bytes(rest).map_err(corrupt)?;
            if m.version >= 3 {
                let weights: WeightSection = postcard::from_bytes(after).map_err(corrupt)?;
                m.core.tree_weights = weights.tree_weights;
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
        Booster::assemble(m.version, params, m.core)
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
