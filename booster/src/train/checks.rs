//! The checks a training run makes before it starts: every labelled set fits the model being
//! trained, a model to continue can be continued with these parameters and data, and the features
//! `categorical_features` names exist (and hold category codes).

use std::sync::Arc;

use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::model::booster::Booster;
use crate::objective::Objective;
use crate::params::{feature_index, Params, TreeMethod};

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
    objective.check_targets(&data.targets())
}

/// Refuses what a data set that arrived binned ([`Dataset::from_binned`], no float values) cannot
/// train with: anything but `tree_method=hist`, a model to continue whose splits are not at its
/// cut points, `device=cuda`, distributed training, `categorical_features` (declare them when
/// binning), and evaluation sets binned with other cuts than the training set's (rows walk trees
/// by bin, which is exact only for splits at their own cut points). Row sampling, GOSS and DART
/// walk the training rows by bin.
pub(crate) fn check_binned(
    params: &Params,
    train: &Dataset,
    evals: &[(&str, &Dataset)],
    init_model: Option<&Booster>,
    distributed: bool,
) -> Result<()> {
    let same_cuts = |d: &Dataset| match (d.binned(), train.binned()) {
        (Some(a), Some(b)) => Arc::ptr_eq(&a.mapper, &b.mapper) || a.mapper == b.mapper,
        _ => false,
    };
    for (name, d) in evals {
        if d.is_binned() && !same_cuts(d) {
            return Err(Error::data(format!(
                "evaluation set `{name}` arrived binned (read in chunks) with other cut points than the training \
                 data: bin it with the training data's cuts (Python: `ref=`), or give its feature values"
            )));
        }
    }
    if !train.is_binned() {
        return Ok(());
    }
    let why = |param: &str, what: &str| {
        Err(Error::param(
            param,
            format!("the training data arrived binned (read in chunks) and holds no feature values: {what}"),
        ))
    };
    if params.tree_method != TreeMethod::Hist {
        return why("tree_method", "it trains with tree_method=hist only");
    }
    if params.device.is_cuda() {
        return why("device", "it trains on the CPU");
    }
    if !params.categorical_features.is_empty() {
        return why(
            "categorical_features",
            "declare categorical features when the data is binned",
        );
    }
    if let Some(init) = init_model {
        if let Err(e) = train.check_splits_on_bins(init.trees()) {
            return why(
                "xgb_model",
                &format!("the model to continue cannot be walked on its bins ({e})"),
            );
        }
    }
    if distributed {
        return why("distributed", "it cannot be a rank's shard");
    }
    Ok(())
}

/// `params` with `num_target` set from the training data's label columns, or `None` when it
/// already matches; an error when the two disagree.
pub(crate) fn with_data_targets(params: &Params, train: &Dataset) -> Result<Option<Params>> {
    let t = train.num_targets();
    if params.num_target.max(1) == t {
        return Ok(None);
    }
    if params.num_target > 1 {
        return Err(Error::param(
            "num_target",
            format!(
                "is {}, but the training data has {t} label column(s)",
                params.num_target
            ),
        ));
    }
    let mut p = params.clone();
    p.num_target = t;
    p.validate()?;
    Ok(Some(p))
}

/// Checks that an evaluation set has as many label columns as the training data.
pub(crate) fn check_targets_match(name: &str, data: &Dataset, train: &Dataset) -> Result<()> {
    if data.num_targets() != train.num_targets() {
        return Err(Error::ShapeMismatch {
            what: format!("label columns of `{name}` vs the training data"),
            expected: train.num_targets(),
            got: data.num_targets(),
        });
    }
    Ok(())
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
    if init.has_categorical() && init.feature_types() != train.feature_types() {
        return bad("the model's categorical features differ from the data's".to_string());
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

/// The training data with the features `params.categorical_features` lists declared
/// categorical, or `None` when it lists none (the data is used as it is). An entry is a feature
/// name when the data has a feature of that name, else a 0-based index; anything else is an error
/// naming the parameter. Declaring the types on the [`Dataset`] instead avoids this copy.
pub(crate) fn with_categorical_param(params: &Params, train: &Dataset) -> Result<Option<Dataset>> {
    if params.categorical_features.is_empty() {
        return Ok(None);
    }
    let indices = params
        .categorical_features
        .iter()
        .map(|entry| {
            feature_index(
                "categorical_features",
                entry,
                train.num_features(),
                train.feature_names(),
            )
        })
        .collect::<Result<Vec<usize>>>()?;
    if indices.iter().all(|&j| train.feature_type(j).is_categorical()) {
        return Ok(None);
    }
    train.clone().with_categorical(&indices).map(Some)
}
