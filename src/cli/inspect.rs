//! `sylvan inspect`: what a model file holds.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use sylvan_booster::{Bagging, Booster, BoosterKind, Model, SampleStrategy, Stacking};
use sylvan_booster::{ImportanceType, ObjectiveKind, Params, PredictOutput};
use sylvan_io::{load_for_model, ColumnSelection};

use super::explain_columns::mean_abs_shap;
use super::model::{check_model_path, load, trained_label, LoadedModel};
use super::say;

/// Arguments of `sylvan inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model (.json or .sylvan).
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// How many features to list by importance.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,
    /// How to rank the features: XGBoost's `weight` (number of splits), `gain` (average loss
    /// change, the default), `cover` (average hessian sum), `total_gain`, `total_cover`, or `shap`
    /// (mean |SHAP value| over the rows of --data, summed over the outputs; also for ensembles).
    #[arg(long, value_enum, value_name = "TYPE", default_value = "gain")]
    pub importance: Importance,
    /// The data that `--importance shap` measures on (the model's features matched by name).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Also print the first N trees, node by node (category-set splits with their category
    /// names).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub trees: usize,
}

/// A feature importance type of `sylvan inspect --importance`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Importance {
    /// Number of splits on the feature.
    #[value(name = "weight")]
    Weight,
    /// Average loss change of the feature's splits.
    #[value(name = "gain")]
    Gain,
    /// Average hessian sum of the feature's split nodes.
    #[value(name = "cover")]
    Cover,
    /// Total loss change of the feature's splits.
    #[value(name = "total_gain")]
    TotalGain,
    /// Total hessian sum of the feature's split nodes.
    #[value(name = "total_cover")]
    TotalCover,
    /// Mean |SHAP value| on data (`--data`).
    #[value(name = "shap")]
    Shap,
}

impl Importance {
    /// The tree statistic behind this type (`None` for `shap`, which is measured on data).
    fn tree_type(self) -> Option<ImportanceType> {
        Some(match self {
            Importance::Weight => ImportanceType::Weight,
            Importance::Gain => ImportanceType::Gain,
            Importance::Cover => ImportanceType::Cover,
            Importance::TotalGain => ImportanceType::TotalGain,
            Importance::TotalCover => ImportanceType::TotalCover,
            Importance::Shap => return None,
        })
    }

    /// The type's name, as `--importance` takes it.
    fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_string())
    }
}

/// Runs `sylvan inspect`.
pub fn run(args: &InspectArgs) -> Result<()> {
    check_model_path(&args.model)?;
    match (args.importance, &args.data) {
        (Importance::Shap, None) => bail!("--importance shap needs --data FILE: mean |SHAP| is measured on data"),
        (other, Some(_)) if other != Importance::Shap => bail!(
            "--data is only read by --importance shap (not `{}`, which the trees give)",
            other.name()
        ),
        _ => {}
    }
    let model = load(&args.model)?;
    say(format!("model:       {}", args.model.display()));
    let b = match &model.model {
        Model::Booster(b) => b,
        Model::Bagging(bag) => {
            inspect_bagging(bag)?;
            return shap_importance(args, &model);
        }
        Model::Stacking(stack) => {
            inspect_stacking(stack)?;
            return shap_importance(args, &model);
        }
    };
    say(format!("objective:   {}", b.objective_name()));
    let best = b
        .best_iteration()
        .map(|i| format!(" (best iteration {i})"))
        .unwrap_or_default();
    say(format!("rounds:      {}{best}", b.num_rounds()));
    say(format!("trees:       {}", b.num_trees()));
    if let Some(label) = trained_label(&model.model) {
        say(format!("label:       {label}"));
    }
    if let Some(line) = outputs_line(b.params()) {
        say(format!("outputs:     {line}"));
    }
    let types = b.feature_types();
    let categorical: Vec<&String> = model
        .features
        .iter()
        .zip(&types)
        .filter(|(_, t)| t.is_categorical())
        .map(|(n, _)| n)
        .collect();
    say(format!(
        "features:    {} ({} categorical)",
        model.features.len(),
        categorical.len().max(model.categories.len())
    ));
    for name in categorical.iter().filter(|n| model.categories.get(n).is_none()) {
        say(format!("  {name}: categorical (integer codes)"));
    }
    for (column, values) in model.categories.iter() {
        let shown: Vec<&str> = values.iter().take(5).map(String::as_str).collect();
        let more = if values.len() > 5 { ", ..." } else { "" };
        say(format!(
            "  {column}: {} categories ({}{more})",
            values.len(),
            shown.join(", ")
        ));
    }
    say("parameters (those not at their default):");
    for (name, value) in changed_params(b.params()) {
        say(format!("  {name} = {value}"));
    }
    let controls = training_controls(b, &model.features);
    if !controls.is_empty() {
        say("training controls:");
        for line in controls {
            say(format!("  {line}"));
        }
    }
    match args.importance.tree_type() {
        Some(kind) => {
            let values = b.feature_importance(kind);
            print_top(&args.importance.name(), &values, &model.features, args.top);
        }
        None => shap_importance(args, &model)?,
    }
    for (t, tree) in b.trees().iter().take(args.trees).enumerate() {
        say(format!("tree {t} (output {}):", b.tree_group(t)));
        for line in super::tree_text::tree_lines(tree, &model.features, &model.categories) {
            say(line);
        }
    }
    Ok(())
}

/// Prints the features with a non-zero importance, highest first (ties by feature order), at most
/// `top` of them.
fn print_top(what: &str, values: &[f64], features: &[String], top: usize) {
    let mut order: Vec<usize> = (0..values.len()).filter(|i| values[*i] > 0.0).collect();
    order.sort_by(|a, c| values[*c].total_cmp(&values[*a]).then(a.cmp(c)));
    say(format!("top features by {what} ({} used):", order.len()));
    for (rank, i) in order.iter().take(top).enumerate() {
        let name = features.get(*i).map_or("?", String::as_str);
        say(format!("  {:>3}. {name:<24} {:.4}", rank + 1, values[*i]));
    }
}

/// With `--importance shap`: reads `--data` for the model and prints the features by mean |SHAP|
/// (any model [`Model::explain`] explains); nothing otherwise.
fn shap_importance(args: &InspectArgs, model: &LoadedModel) -> Result<()> {
    let Some(path) = args.data.as_ref().filter(|_| args.importance == Importance::Shap) else {
        return Ok(());
    };
    let data = load_for_model(path, &model.features, &model.categories, &ColumnSelection::default())?;
    let contributions = model.model.explain(&data.dataset, PredictOutput::Contributions)?;
    let values = mean_abs_shap(&contributions, model.features.len())?;
    let what = format!("mean |SHAP| on {} ({} rows)", path.display(), contributions.num_rows);
    print_top(&what, &values, &model.features, args.top);
    Ok(())
}

/// The active training controls, one readable line each (nothing when none is set): monotone
/// constraints and feature weights per feature by name, interaction groups by name, DART with its
/// settings and tree weights, GOSS with its rates.
fn training_controls(b: &Booster, features: &[String]) -> Vec<String> {
    let p = b.params();
    let n = features.len();
    let name = |j: usize| features.get(j).cloned().unwrap_or_else(|| format!("f{j}"));
    let mut lines = Vec::new();
    if !p.monotone_constraints.is_unset() {
        let line = match p
            .monotone_constraints
            .resolve("monotone_constraints", n, Some(features), 0)
        {
            Ok(m) => {
                let set: Vec<String> = m
                    .iter()
                    .enumerate()
                    .filter(|(_, &c)| c != 0)
                    .map(|(j, &c)| format!("{} {}", name(j), if c > 0 { "+1" } else { "-1" }))
                    .collect();
                if set.is_empty() {
                    "none (every feature 0)".to_string()
                } else {
                    set.join(", ")
                }
            }
            Err(e) => format!("{} ({e})", value_text(&serde_json::json!(p.monotone_constraints))),
        };
        lines.push(format!("monotone: {line}"));
    }
    if !p.interaction_constraints.is_empty() {
        let groups: Vec<String> = p
            .interaction_constraints
            .iter()
            .map(|g| {
                let members: Vec<String> = g
                    .iter()
                    .map(|e| match features.iter().position(|f| f == e) {
                        Some(_) => e.clone(),
                        None => e
                            .parse::<usize>()
                            .ok()
                            .filter(|&j| j < n)
                            .map_or_else(|| e.clone(), name),
                    })
                    .collect();
                format!("[{}]", members.join(", "))
            })
            .collect();
        lines.push(format!("interaction groups: {}", groups.join(", ")));
    }
    if !p.feature_weights.is_unset() {
        let line = match p.feature_weights.resolve("feature_weights", n, Some(features), 1.0) {
            Ok(w) => {
                let listed: Vec<String> = w
                    .iter()
                    .enumerate()
                    .filter(|(_, &x)| x != 1.0)
                    .map(|(j, &x)| format!("{} {x}", name(j)))
                    .collect();
                if listed.is_empty() {
                    "all 1".to_string()
                } else {
                    format!("{} (others 1)", listed.join(", "))
                }
            }
            Err(e) => format!("{} ({e})", value_text(&serde_json::json!(p.feature_weights))),
        };
        lines.push(format!("feature weights: {line}"));
    }
    if p.booster == BoosterKind::Dart {
        let mut line = format!(
            "booster: dart (rate_drop {}, skip_drop {}, one_drop {}, sample_type {}, normalize_type {})",
            p.rate_drop,
            p.skip_drop,
            p.one_drop,
            value_text(&serde_json::json!(p.sample_type)),
            value_text(&serde_json::json!(p.normalize_type)),
        );
        match b.tree_weights() {
            Some(w) => {
                let below = w.iter().filter(|&&x| x != 1.0).count();
                let (lo, hi) = w.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                });
                line.push_str(&format!(
                    "; {} weighted trees ({below} with a weight other than 1, weights {lo}..{hi})",
                    w.len()
                ));
            }
            None => line.push_str("; no tree weights (every tree counts fully)"),
        }
        lines.push(line);
    }
    if p.data_sample_strategy == SampleStrategy::Goss {
        let factor = format!("{:.3}", (1.0 - p.top_rate) / p.other_rate);
        lines.push(format!(
            "row sampling: goss (top_rate {}, other_rate {}; the drawn rows' gradients scaled by about {})",
            p.top_rate,
            p.other_rate,
            factor.trim_end_matches('0').trim_end_matches('.')
        ));
    }
    lines
}

/// What a model with several outputs (not multiclass) predicts per row: the number of targets
/// and how their trees grow (`multi_strategy`), or the quantile/expectile levels; `None` for one
/// output or classes.
fn outputs_line(p: &Params) -> Option<String> {
    if p.num_groups() <= 1 || p.objective.is_multiclass() {
        return None;
    }
    let strategy = value_text(&serde_json::json!(p.multi_strategy));
    if p.num_target > 1 {
        return Some(format!(
            "{} (num_target {}, one per label column; multi_strategy {strategy})",
            p.num_groups(),
            p.num_target
        ));
    }
    let levels = p.levels()?;
    let what = match p.objective {
        ObjectiveKind::ExpectileError => "expectile_alpha",
        _ => "quantile_alpha",
    };
    let shown: Vec<String> = levels.as_slice().iter().map(f64::to_string).collect();
    Some(format!(
        "{} ({what} {}; multi_strategy {strategy})",
        p.num_groups(),
        shown.join(", ")
    ))
}

/// A JSON value as text: strings without quotes.
fn value_text(v: &serde_json::Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

/// The parameters that differ from their defaults, as `(name, value)`.
pub fn changed_params(params: &Params) -> Vec<(String, String)> {
    let (Ok(serde_json::Value::Object(now)), Ok(serde_json::Value::Object(default))) =
        (serde_json::to_value(params), serde_json::to_value(Params::default()))
    else {
        return Vec::new();
    };
    now.into_iter()
        .filter(|(k, v)| default.get(k) != Some(v))
        .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect()
}

/// Describes a bagging ensemble: its members and out-of-bag scores.
fn inspect_bagging(bag: &Bagging) -> Result<()> {
    say("kind:        bagging ensemble");
    say(format!("objective:   {}", bag.base_params().objective.name()));
    say(format!("members:     {}", bag.members().len()));
    say(format!("features:    {}", bag.num_features()));
    for (i, m) in bag.members().iter().enumerate() {
        let used = bag.member_features(i).map_or(bag.num_features(), <[usize]>::len);
        say(format!("  member {i}: {} trees, {used} features", m.num_trees()));
    }
    match bag.oob_rows() {
        Some(rows) => {
            say(format!("out-of-bag scores ({rows} rows):"));
            for (name, value) in bag.oob_metrics() {
                say(format!("  {name}: {value:.6}"));
            }
        }
        None => say("out-of-bag scores: none (no row was left out of every member)"),
    }
    Ok(())
}

/// Describes a stacking ensemble: its base learners and their out-of-fold scores.
fn inspect_stacking(stack: &Stacking) -> Result<()> {
    say("kind:        stacking ensemble");
    say(format!("features:    {}", stack.num_features()));
    let scores = stack.fold_scores();
    say(format!("base learners: {}", scores.len()));
    for (i, s) in scores.iter().enumerate() {
        let shown: Vec<String> = s.iter().map(|(n, v)| format!("{n} {v:.6}")).collect();
        say(format!("  base {i}: out-of-fold {}", shown.join(", ")));
    }
    Ok(())
}
