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
            version: FORMAT_VERSION,
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
        let m = BinaryModel {
            version: FORMAT_VERSION,
            params_json,
            core: self.core.clone(),
        };
        let mut out = BINARY_MAGIC.to_vec();
        let body = postcard::to_stdvec(&m).map_err(|e| Error::model(format!("cannot serialise: {e}")))?;
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Reads a model from the compact binary form.
    pub fn from_bytes(bytes: &[u8]) -> Result<Booster> {
        let body = bytes
            .strip_prefix(BINARY_MAGIC.as_slice())
            .ok_or_else(|| Error::model("not a Sylvan binary model (bad magic bytes)"))?;
        let m: BinaryModel =
            postcard::from_bytes(body).map_err(|e| Error::model(format!("corrupt binary model: {e}")))?;
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
            trees,
            best_iteration: None,
            best_score: None,
            attributes: Default::default(),
        };
        Booster::assemble(FORMAT_VERSION, params, core)
    }

    /// Checks a deserialised model completely and attaches its objective and thread pool.
    fn assemble(version: u32, params: Params, core: ModelCore) -> Result<Booster> {
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
