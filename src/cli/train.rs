//! `sylvan train`: read the data, train, save the model atomically, print a one-line summary.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use sylvan_booster::Model;
use sylvan_booster::{Booster, TrainOptions};
use sylvan_io::{load_for_model, load_training, ColumnSelection, LoadedData, CATEGORIES_ATTRIBUTE};

use super::columns::ColumnArgs;
use super::model::{check_model_out, LABEL_ATTRIBUTE};
use super::progress::{format_evals, Progress};
use super::{note, say};

/// Arguments of `sylvan train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training data (.parquet, .arrow/.feather, .csv, .svm/.libsvm).
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Where to save the model: .json (JSON) or .sylvan (compact binary).
    #[arg(long, value_name = "MODEL")]
    pub model_out: PathBuf,
    /// A validation file, evaluated every round (repeatable; early stopping watches the last one).
    #[arg(long, value_name = "FILE")]
    pub valid: Vec<PathBuf>,
    /// A TOML file of parameters with XGBoost's names.
    #[arg(long, value_name = "PARAMS.toml")]
    pub config: Option<PathBuf>,
    /// One parameter, e.g. `--set eta=0.1` (repeatable; wins over --config, later wins over earlier).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Column choice.
    #[command(flatten)]
    pub columns: ColumnArgs,
    /// Print a progress line every N rounds when not on a terminal.
    #[arg(long, value_name = "N")]
    pub log_every: Option<usize>,
    /// No progress bar or progress lines (the summary is still printed).
    #[arg(long, short)]
    pub quiet: bool,
    /// A saved model to continue training (like XGBoost's `xgb_model`): its trees are kept and the
    /// new rounds are added after them. The data's columns are matched to its features by name.
    #[arg(long, value_name = "MODEL")]
    pub init_model: Option<PathBuf>,
    /// Evaluate nothing while training: without --valid the training set is otherwise scored every
    /// round. The summary then reports no metrics (useful for timing, like the XGBoost/LightGBM
    /// benchmarks, which evaluate nothing either).
    #[arg(long, conflicts_with = "valid")]
    pub no_eval: bool,
}

/// Runs `sylvan train` for a plain booster (an `[ensemble]` config goes to `ensemble::train`).
pub fn run(args: &TrainArgs) -> Result<()> {
    let start = Instant::now();
    check_model_out(&args.model_out)?;
    let params = super::params::build(args.config.as_deref(), &args.sets)?;
    let selection = args.columns.selection(&args.data)?;
    let init = match &args.init_model {
        Some(path) => match super::model::load(path)? {
            super::model::LoadedModel {
                model: Model::Booster(booster),
                features,
                categories,
            } => Some((booster, features, categories)),
            other => bail!(
                "--init-model `{}` is a {}: only boosted models can be trained further",
                path.display(),
                super::model::kind_of(&other.model)
            ),
        },
        None => None,
    };
    let train = match &init {
        // Continued training reads the data the way prediction does: the model's features by name.
        Some((booster, features, categories)) => {
            let train_selection = ColumnSelection {
                label: selection.label.clone(),
                extra_labels: selection.extra_labels.clone(),
                weight: selection.weight.clone(),
                base_margin: selection.base_margin.clone(),
                group: selection.group.clone(),
                label_lower: selection.label_lower.clone(),
                label_upper: selection.label_upper.clone(),
                // The model's categorical features stay categorical.
                categorical: features
                    .iter()
                    .zip(booster.feature_types())
                    .filter(|(_, t)| t.is_categorical())
                    .map(|(name, _)| name.clone())
                    .collect(),
                ..Default::default()
            };
            load_for_model(&args.data, features, categories, &train_selection)?
        }
        None => load_training(&args.data, &selection)?,
    };
    report_skipped(&args.data, &train, args.quiet);
    let names = train
        .dataset
        .feature_names()
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    // Validation files hold the same label, weight, base-margin, group and label-bound columns.
    let valid_selection = ColumnSelection {
        label: selection.label.clone(),
        extra_labels: selection.extra_labels.clone(),
        weight: selection.weight.clone(),
        base_margin: selection.base_margin.clone(),
        group: selection.group.clone(),
        label_lower: selection.label_lower.clone(),
        label_upper: selection.label_upper.clone(),
        ..Default::default()
    };
    let mut valid = Vec::with_capacity(args.valid.len());
    for (i, path) in args.valid.iter().enumerate() {
        let name = if args.valid.len() == 1 {
            "valid".to_string()
        } else {
            format!("valid_{i}")
        };
        valid.push((name, load_for_model(path, &names, &train.categories, &valid_selection)?));
    }
    let evals: Vec<(&str, &sylvan_booster::Dataset)> = if args.no_eval {
        Vec::new()
    } else if valid.is_empty() {
        vec![("train", &train.dataset)]
    } else {
        valid.iter().map(|(n, d)| (n.as_str(), &d.dataset)).collect()
    };

    let device = sylvan::device_backend(params.device)?;
    let first_round = init.as_ref().map_or(0, |(b, _, _)| b.num_rounds());
    let mut progress = Progress::new(first_round + params.num_round, args.quiet, args.log_every);
    let result = Booster::train_with(
        &params,
        &train.dataset,
        &evals,
        TrainOptions {
            callback: Some(&mut progress),
            init_model: init.as_ref().map(|(b, _, _)| b),
            // device=cuda: the CUDA backend (a clear error here when the machine has no CUDA).
            device,
            ..Default::default()
        },
    );
    progress.finish();
    let mut booster = result?;
    if !train.categories.is_empty() {
        booster.set_attribute(CATEGORIES_ATTRIBUTE, train.categories.to_json());
    }
    // Every label column, comma-separated (`sylvan eval` reads them all back).
    if let Some(labels) = super::columns::label_text(&selection) {
        booster.set_attribute(LABEL_ATTRIBUTE, labels);
    }
    booster.save(&args.model_out)?;

    let best = booster
        .best_iteration()
        .map(|b| format!(", best iteration {b}"))
        .unwrap_or_default();
    let metrics = progress
        .last
        .as_ref()
        .map(format_evals)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "no metrics".into());
    say(format!(
        "trained {} rounds{best} on {} rows x {} features in {:.2}s; {metrics}; model saved to {}",
        booster.num_rounds(),
        train.dataset.num_rows(),
        train.dataset.num_features(),
        start.elapsed().as_secs_f64(),
        args.model_out.display()
    ));
    Ok(())
}

/// Tells the user which columns were left out because of their type.
fn report_skipped(data: &Path, loaded: &LoadedData, quiet: bool) {
    if quiet || loaded.skipped.is_empty() {
        return;
    }
    let list: Vec<String> = loaded
        .skipped
        .iter()
        .map(|s| format!("{} ({})", s.name, s.data_type))
        .collect();
    note(format!(
        "note: `{}`: columns of unsupported types are not features: {}",
        data.display(),
        list.join(", ")
    ));
}
