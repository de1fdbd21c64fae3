//! `sylvan eval`: metrics of a saved model on a labelled file.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use sylvan_booster::Metric;
use sylvan_io::{load_for_model, ColumnSelection};

use super::columns::{label_or_bound, with_labels};
use super::model::{check_model_path, load, trained_label};
use super::say;

/// Arguments of `sylvan eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model (.json or .sylvan).
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// Labelled data; the model's features are matched by column name.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// The label column, or several comma-separated for a model with several targets (default:
    /// the one(s) the model was trained with).
    #[arg(long, value_name = "COL[,COL..]")]
    pub label: Option<String>,
    /// A column of sample weights.
    #[arg(long, value_name = "COL")]
    pub weight: Option<String>,
    /// Columns of starting margins (XGBoost's `base_margin`), as for `sylvan predict`.
    #[arg(long, value_name = "COL[,COL..]", value_delimiter = ',')]
    pub base_margin: Vec<String>,
    /// A query id column (ranking metrics such as ndcg and map; for LibSVM files `qid`): integers
    /// or strings, the rows of a query anywhere in the file.
    #[arg(long, visible_alias = "qid", value_name = "COL")]
    pub group: Option<String>,
    /// The column of label lower bounds (survival:aft metrics; XGBoost's `label_lower_bound`).
    #[arg(long, value_name = "COL", requires = "label_upper")]
    pub label_lower: Option<String>,
    /// The column of label upper bounds; an empty or NaN cell is +inf (right-censored).
    #[arg(long, value_name = "COL", requires = "label_lower")]
    pub label_upper: Option<String>,
    /// A metric, e.g. auc, logloss, rmse, error@0.7 (repeatable; default: the model's eval_metric,
    /// else the objective's own metric).
    #[arg(long, value_name = "NAME")]
    pub metric: Vec<String>,
}

/// Runs `sylvan eval`.
pub fn run(args: &EvalArgs) -> Result<()> {
    check_model_path(&args.model)?;
    let metrics: Vec<Metric> = args
        .metric
        .iter()
        .map(|m| m.parse::<Metric>())
        .collect::<Result<_, _>>()?;
    let model = load(&args.model)?;
    let label = label_or_bound(
        args.label.as_deref(),
        args.label_lower.as_deref(),
        &args.data,
        trained_label(&model.model),
    )?;
    let selection = ColumnSelection {
        weight: args.weight.clone(),
        base_margin: args.base_margin.clone(),
        group: args.group.clone(),
        label_lower: args.label_lower.clone(),
        label_upper: args.label_upper.clone(),
        ..Default::default()
    };
    let selection = with_labels(selection, &label)?;
    if let sylvan_booster::Model::Booster(b) = &model.model {
        let (expected, given) = (b.params().num_target.max(1), selection.label_columns().len());
        if given != expected {
            bail!(
                "--label `{label}` names {given} label column(s), but `{}` was trained on {expected} target(s){}",
                args.model.display(),
                trained_label(&model.model).map_or_else(String::new, |l| format!(" (`{l}`)"))
            );
        }
    }
    let data = load_for_model(&args.data, &model.features, &model.categories, &selection)?;
    let metrics = match (&model.model, metrics.is_empty()) {
        (sylvan_booster::Model::Booster(b), true) => b.params().eval_metric.clone(),
        _ => metrics,
    };
    for (name, value) in model.model.evaluate(&data.dataset, &metrics)? {
        say(format!("{name}: {value:.6}"));
    }
    Ok(())
}
