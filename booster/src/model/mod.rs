//! Stage 4, the fitted model: the [`booster::Booster`] and its [`tree::Tree`]s, saving and loading
//! ([`persist`], over the shared model-file helpers of [`file`]), and explanations ([`explain`]).

pub(crate) mod booster;
pub(crate) mod categories;
pub(crate) mod explain;
pub(crate) mod file;
pub(crate) mod persist;
pub(crate) mod tree;
