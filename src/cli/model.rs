//! Model files: the extension check, and what the CLI stores beside the trees (categories, label).

use std::path::Path;

use anyhow::{bail, Result};
use sylvan_booster::Model;
use sylvan_io::{CategoryMap, CATEGORIES_ATTRIBUTE};

/// The booster attribute holding the label column the model was trained on.
pub const LABEL_ATTRIBUTE: &str = "sylvan.label";

/// Checks that a model path ends in `.json` (native JSON) or `.sylvan` (compact binary).
pub fn check_model_path(path: &Path) -> Result<()> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext != "json" && ext != "sylvan" {
        bail!(
            "model file `{}` must end in .json (JSON) or .sylvan (compact binary)",
            path.display()
        );
    }
    Ok(())
}

/// Checks, before training, that a model can be written to `path`: a model extension and an
/// existing directory.
pub fn check_model_out(path: &Path) -> Result<()> {
    check_model_path(path)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !dir.is_dir() {
        bail!(
            "cannot write model `{}`: directory `{}` does not exist",
            path.display(),
            dir.display()
        );
    }
    Ok(())
}

/// A loaded model (a booster or an ensemble) with the column facts needed to read data for it.
pub struct LoadedModel {
    /// The model.
    pub model: Model,
    /// Its feature names (`f0`, `f1`, ... when it has none).
    pub features: Vec<String>,
    /// The category mapping of its categorical features.
    pub categories: CategoryMap,
}

/// Loads a model file of any kind (a booster in JSON or binary form, or an ensemble).
pub fn load(path: &Path) -> Result<LoadedModel> {
    let model = Model::load(path)?;
    let features = match model.feature_names() {
        Some(names) => names.to_vec(),
        None => (0..model.num_features()).map(|i| format!("f{i}")).collect(),
    };
    let categories = match model.attributes().get(CATEGORIES_ATTRIBUTE) {
        Some(json) => CategoryMap::from_json(json)?,
        None => CategoryMap::new(),
    };
    Ok(LoadedModel {
        model,
        features,
        categories,
    })
}

/// The label column recorded at training, if any.
pub fn trained_label(model: &Model) -> Option<&str> {
    model.attributes().get(LABEL_ATTRIBUTE).map(String::as_str)
}

/// What kind of model this is, in words.
pub fn kind_of(model: &Model) -> &'static str {
    match model {
        Model::Booster(_) => "booster",
        Model::Bagging(_) => "bagging ensemble",
        Model::Stacking(_) => "stacking ensemble",
    }
}
