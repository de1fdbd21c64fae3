//! `sylvan train`: read the data, train, save the model atomically, print a one-line summary. Under
//! MPI (feature `mpi`, several ranks) each rank runs the same steps on its shard
//! ([`super::distributed`]); only rank 0 prints and writes the model.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args;
use sylvan_booster::profile::{self, Phase};
use sylvan_booster::Model;
use sylvan_booster::{latest_checkpoint, Booster, Checkpoints, Collective, LocalCollective, TrainOptions};
use sylvan_io::{load_for_model, load_training, ColumnSelection, LoadedData, CATEGORIES_ATTRIBUTE};

use super::columns::ColumnArgs;
use super::distributed::{traffic_line, RankCallback, RankPlan};
use super::interrupt::{Interrupted, StopOnSignal, StopSignal};
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
    /// Print, before training, the memory training is estimated to need (part by part) and what
    /// this process may still allocate. Training checks the estimate in any case: a run that
    /// cannot fit stops with an error naming both, before the large allocations.
    #[arg(long, short)]
    pub verbose: bool,
    /// A saved model to continue training (like XGBoost's `xgb_model`): its trees are kept and the
    /// new rounds are added after them. The data's columns are matched to its features by name.
    #[arg(long, value_name = "MODEL")]
    pub init_model: Option<PathBuf>,
    /// Evaluate nothing while training: without --valid the training set is otherwise scored every
    /// round. The summary then reports no metrics (useful for timing, like the XGBoost/LightGBM
    /// benchmarks, which evaluate nothing either).
    #[arg(long, conflicts_with = "valid")]
    pub no_eval: bool,
    /// Print at the end (rank 0 only when distributed) the time and the bytes exchanged per tree
    /// after the first round, for benchmarks (see docs/distributed.md).
    #[arg(long)]
    pub print_traffic: bool,
    /// Print at the end where the time went, phase by phase (load, binning, gradients,
    /// quantization, histograms, split search, partition, leaf values, margins, evaluation, save).
    /// The environment variable `SYLVAN_PROFILE=1` does the same.
    #[arg(long)]
    pub profile: bool,
    /// Write the model so far every N rounds into the checkpoint folder (atomically, keeping the
    /// newest --checkpoint-keep), so that a killed run can go on with --resume.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_every: Option<u64>,
    /// The checkpoint folder (default: `<MODEL>.checkpoints` beside --model-out).
    #[arg(long, value_name = "DIR")]
    pub checkpoint_dir: Option<PathBuf>,
    /// How many of the newest checkpoints the folder keeps.
    #[arg(long, value_name = "K", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_keep: u64,
    /// Go on from the newest checkpoint in the checkpoint folder (same command otherwise): the run
    /// ends with the model the uninterrupted run would have saved, bit for bit.
    #[arg(long, conflicts_with = "init_model")]
    pub resume: bool,
}

impl TrainArgs {
    /// The checkpoint folder: --checkpoint-dir, or `<MODEL>.checkpoints` beside the model.
    pub fn checkpoint_dir(&self) -> PathBuf {
        self.checkpoint_dir.clone().unwrap_or_else(|| {
            let mut name = self.model_out.file_name().unwrap_or_default().to_os_string();
            name.push(".checkpoints");
            self.model_out.with_file_name(name)
        })
    }
}

/// Runs `sylvan train` for a plain booster (an `[ensemble]` config goes to `ensemble::train`); as
/// one rank of a distributed run when started by MPI with several ranks.
pub fn run(args: &TrainArgs) -> Result<()> {
    match super::distributed::run_if_launched(args) {
        Some(result) => result,
        None => run_on(args, None),
    }
}

/// Trains on this process's data: every row of `--data`, or with a `plan` this rank's shard (then
/// rank 0 alone prints and writes the model, after every rank has finished training).
pub fn run_on(args: &TrainArgs, plan: Option<&RankPlan>) -> Result<()> {
    let start = Instant::now();
    let profiling = args.profile || std::env::var_os("SYLVAN_PROFILE").is_some_and(|v| v != "0" && !v.is_empty());
    profile::enable(profiling);
    check_model_out(&args.model_out)?;
    let params = super::params::build(args.config.as_deref(), &args.sets)?;
    let data = plan.map_or(args.data.as_path(), |p| p.data.path.as_path());
    let lead = plan.is_none_or(|p| p.collective.rank() == 0);
    let quiet = args.quiet || !lead;
    let mut selection = args.columns.selection(&args.data)?;
    selection.row_groups = plan.and_then(|p| p.data.row_groups.clone());
    let checkpoint_dir = args.checkpoint_dir();
    let resume_from = match args.resume {
        true => match latest_checkpoint(&checkpoint_dir)? {
            Some(path) => Some(path),
            None => bail!(
                "--resume: no checkpoint in `{}` (checkpoints are written by --checkpoint-every N and when a run \
                 is interrupted)",
                checkpoint_dir.display()
            ),
        },
        false => None,
    };
    let init = match resume_from.as_ref().or(args.init_model.as_ref()) {
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
    let load_phase = profile::enter(Phase::Load);
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
            load_for_model(
                data,
                features,
                categories,
                &ColumnSelection {
                    row_groups: selection.row_groups.clone(),
                    ..train_selection
                },
            )?
        }
        None => load_training(data, &selection)?,
    };
    let train = match plan {
        // Without a model to continue, the ranks agree on the category codes of the whole data.
        Some(plan) if init.is_none() => plan.agree_on_categories(data, &selection, train)?,
        _ => train,
    };
    // The summary counts every rank's rows.
    let total_rows = match plan {
        Some(plan) => plan.check_same_columns(data, &train.dataset)?,
        None => train.dataset.num_rows(),
    };
    report_skipped(data, &train, quiet);
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
        let (path, row_groups) = match plan {
            Some(plan) => (plan.valid[i].path.as_path(), plan.valid[i].row_groups.clone()),
            None => (path.as_path(), None),
        };
        let selection = ColumnSelection {
            row_groups,
            ..valid_selection.clone()
        };
        valid.push((name, load_for_model(path, &names, &train.categories, &selection)?));
    }
    drop(load_phase);
    let evals: Vec<(&str, &sylvan_booster::Dataset)> = if args.no_eval {
        Vec::new()
    } else if valid.is_empty() {
        vec![("train", &train.dataset)]
    } else {
        valid.iter().map(|(n, d)| (n.as_str(), &d.dataset)).collect()
    };

    if args.verbose && lead {
        let estimate = sylvan_booster::estimate_training_memory(&params, &train.dataset, &evals)?;
        let available = sylvan_booster::available_memory().map_or_else(
            || "the memory available is not known here".to_string(),
            |a| a.to_string(),
        );
        note(format!("memory: training needs an estimated {estimate}; {available}"));
    }
    let device = sylvan::device_backend(params.device)?;
    let first_round = init.as_ref().map_or(0, |(b, _, _)| b.num_rounds());
    if let Some(path) = &resume_from {
        if !quiet {
            note(format!(
                "resuming from `{}` ({first_round} rounds done)",
                path.display()
            ));
        }
    }
    let total_rounds = if args.resume {
        params.num_round.max(first_round)
    } else {
        first_round + params.num_round
    };
    // What the saved model carries besides the trees: the category codes of string columns and
    // the label columns (checkpoints carry them too, so that --resume reads the data alike).
    let mut attributes = Vec::new();
    if !train.categories.is_empty() {
        attributes.push((CATEGORIES_ATTRIBUTE.to_string(), train.categories.to_json()));
    }
    // Every label column, comma-separated (`sylvan eval` reads them all back).
    if let Some(labels) = super::columns::label_text(&selection) {
        attributes.push((LABEL_ATTRIBUTE.to_string(), labels));
    }
    let checkpoints = |every: u64| Checkpoints {
        attributes: attributes.clone(),
        ..Checkpoints::new(&checkpoint_dir, every as usize, args.checkpoint_keep as usize)
    };
    // One process stops after the round when Ctrl-C or SIGTERM comes (a distributed run's ranks
    // are ended by their launcher).
    let stop_signal = match plan {
        None => Some(StopSignal::install()?),
        Some(_) => None,
    };
    // The implicit training set is scored only on the rounds that are shown (and the last one);
    // `--valid` sets are evaluated every round.
    let shown_rounds_only = valid.is_empty();
    let mut progress = Progress::new(total_rounds, quiet, args.log_every, shown_rounds_only);
    // One process times its rounds too when asked (`--print-traffic` with 0 bytes).
    let collective: &dyn Collective = plan.map_or(&LocalCollective, |p| p.collective);
    let mut rank_callback = None;
    let callback: &mut (dyn sylvan_booster::TrainCallback + Send) = if plan.is_some() || args.print_traffic {
        rank_callback.insert(RankCallback::new(
            collective,
            plan.map(|p| p.counted),
            plan.and_then(|p| p.fault),
            &mut progress,
        ))
    } else {
        &mut progress
    };
    let mut on_signal;
    let callback: &mut (dyn sylvan_booster::TrainCallback + Send) = match &stop_signal {
        Some(signal) => {
            on_signal = StopOnSignal {
                inner: callback,
                signal: signal.clone(),
            };
            &mut on_signal
        }
        None => callback,
    };
    let result = Booster::train_with(
        &params,
        &train.dataset,
        &evals,
        TrainOptions {
            callback: Some(callback),
            init_model: init.as_ref().map(|(b, _, _)| b),
            // device=cuda: the CUDA backend (a clear error here when the machine has no CUDA).
            device,
            distributed: plan.map(RankPlan::distributed),
            checkpoints: args.checkpoint_every.map(checkpoints),
            resume: args.resume,
            ..Default::default()
        },
    );
    let rounds = rank_callback.map(RankCallback::finish).transpose()?;
    progress.finish();
    let mut booster = result?;
    if let Some(plan) = plan {
        // Every rank has trained: only now may rank 0 write the model.
        plan.collective.barrier()?;
        if !lead {
            // Wait until rank 0 has written the model, so that an error there fails every rank.
            plan.collective.barrier()?;
            return Ok(());
        }
    }
    if let Some(signal) = stop_signal.as_ref().and_then(StopSignal::caught) {
        // Never a half-written model: the rounds done go to a checkpoint, not to --model-out.
        let rounds = booster.num_rounds();
        let path = checkpoints(1).write(booster)?;
        return Err(Interrupted {
            signal,
            message: format!(
                "interrupted by {}: checkpoint of {} rounds saved to `{}` (--model-out not written); run the \
                 same command with --resume to go on",
                StopSignal::name(signal),
                rounds,
                path.display()
            ),
        }
        .into());
    }
    for (key, value) in &attributes {
        booster.set_attribute(key.as_str(), value.as_str());
    }
    {
        let _phase = profile::enter(Phase::Save);
        booster.save(&args.model_out)?;
    }
    if let Some(plan) = plan {
        plan.collective.barrier()?;
    }
    if let (true, Some(rounds)) = (args.print_traffic, &rounds) {
        say(traffic_line(collective.world_size(), rounds, booster.trees_per_round()));
    }

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
        total_rows,
        train.dataset.num_features(),
        start.elapsed().as_secs_f64(),
        args.model_out.display()
    ));
    if profiling {
        note(format!(
            "profile (wall time per phase, this process):\n{}",
            profile::take().table(start.elapsed())
        ));
    }
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
