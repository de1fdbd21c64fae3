//! The checks a training run makes before it starts: every labelled set fits the model being
//! trained, and a model to continue can be continued with these parameters and data.

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::model::booster::Booster;
use crate::objective::Objective;
use crate::params::Params;

/// Checks that a labelled data set fits the model being trained.
pub(crate) fn check_labelled(name: &str, data: &Dataset, num_features: usize, objective: &dyn Objective) -> Result<()> {
    if !data.has_labels() {
        return Err(Error::data(format!("data set `{name}` has no labels")));
    }
    if data.num_features() != num_features {
        return Err(Error::ShapeMismatch {
            what: format!("number of features of `{name}` vs the training data"),
            expected: num_features,
            got: data.num_features(),
        });
    }
    objective.validate_labels(data.labels())
}

/// Checks that `init` can be trained further with `params` on `train`.
pub(crate) fn check_continuable(
    init: &Booster,
    params: &Params,
    objective: &dyn Objective,
    train: &Dataset,
) -> Result<()> {
    let bad = |reason: String| Err(Error::param("init_model", reason));
    if init.objective_name() != objective.name() {
        return bad(format!(
            "the model's objective is {}, not {}",
            init.objective_name(),
            objective.name()
        ));
    }
    if init.num_groups() != objective.num_groups() {
        return bad(format!(
            "the model has {} outputs, the objective {}",
            init.num_groups(),
            objective.num_groups()
        ));
    }
    if init.num_parallel_tree() != params.num_parallel_tree.max(1) {
        return bad(format!(
            "the model grows {} parallel trees per round, params say {}",
            init.num_parallel_tree(),
            params.num_parallel_tree
        ));
    }
    if init.num_features() != train.num_features() {
        return bad(format!(
            "the model has {} features, the data {}",
            init.num_features(),
            train.num_features()
        ));
    }
    Ok(())
}
