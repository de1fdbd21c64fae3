//! Stage 4, the fitted model: the [`booster::Booster`] and its [`tree::Tree`]s, saving and loading
//! ([`persist`], over the shared model-file helpers of [`file`]).
//! Explanations (importance, SHAP values) are the next stage, `crate::explain`.

pub(crate) mod booster;
pub(crate) mod categories;
pub(crate) mod file;
pub(crate) mod persist;
pub(crate) mod tree;
