//! `sylvan predict`: one output row per input row, columns `prediction`, `class_0..`, `leaf_0..`,
//! one per target (`prediction_<label>`) or one per level (`quantile_0.1`, `expectile_0.9`);
//! explanations (`--contribs`, `--approx-contribs`, `--interactions`) one per feature and the bias
//! (see [`super::explain_columns`]).

use std::path::PathBuf;

use anyhow::{anyhow, bail, Result};
use clap::Args;
use sylvan_booster::{Device, PredictOptions, PredictOutput};
use sylvan_booster::{Model, ObjectiveKind};
use sylvan_gpu::GpuPredictor;
use sylvan_io::{load_for_model, output_format, write_table, ColumnSelection, OutputTable};

use super::columns::label_columns;
use super::explain_columns::explanation_names;
use super::model::{check_model_path, kind_of, load, trained_label};
use super::say;

/// Arguments of `sylvan predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model (.json or .sylvan).
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// The data; the model's features are matched by column name, other columns are ignored.
    #[arg(long, value_name = "FILE")]
    pub data: PathBuf,
    /// Where to write predictions (.csv, .parquet or .arrow).
    #[arg(long, value_name = "PRED.csv|PRED.parquet")]
    pub out: PathBuf,
    /// Write raw margins (before the link function) instead of probabilities or values.
    #[arg(long, conflicts_with = "leaf")]
    pub margin: bool,
    /// Write exact SHAP values (TreeSHAP, XGBoost's `pred_contribs`) in margin space: a column per
    /// feature (named after it) and `bias`, summing to the row's margin; with several outputs
    /// (classes, targets, levels) one such block per output, prefixed with the output's column
    /// name (`class_0_x0`, ..., `class_0_bias`, `class_1_x0`, ...). Computed on the CPU.
    #[arg(long, conflicts_with_all = ["margin", "leaf", "approx_contribs", "interactions"])]
    pub contribs: bool,
    /// Write Saabas contributions (XGBoost's `approx_contribs`): the columns of --contribs, each
    /// feature credited with the change of the expected value at the splits on it.
    #[arg(long, conflicts_with_all = ["margin", "leaf", "interactions"])]
    pub approx_contribs: bool,
    /// Write SHAP interaction values (XGBoost's `pred_interactions`): columns `<a>:<b>` for every
    /// pair of features and the bias (`x0:x0`, `x0:x1`, ..., `x0:bias`, ..., `bias:bias`), a
    /// symmetric matrix per row whose rows sum to the --contribs values; per output prefixed as
    /// there. Computed on the CPU.
    #[arg(long, conflicts_with_all = ["margin", "leaf"])]
    pub interactions: bool,
    /// Write the leaf index of every tree (`leaf_0`, `leaf_1`, ...).
    #[arg(long)]
    pub leaf: bool,
    /// Where to sum the trees of a boosted model: `cpu` (default), `cuda` or `cuda:N` (leaf indices
    /// and ensembles are always computed on the CPU; explanations only run on the CPU).
    #[arg(long, value_name = "cpu|cuda|cuda:N", default_value = "cpu")]
    pub device: String,
    /// Columns of starting margins (XGBoost's `base_margin`: one, or one per class in class order):
    /// each row's margins replace the model's base margin.
    #[arg(long, value_name = "COL[,COL..]", value_delimiter = ',')]
    pub base_margin: Vec<String>,
    /// Use boosting rounds `BEGIN..END` only (zero-based, END exclusive), as XGBoost's
    /// `iteration_range`; default: every round, or up to the best one when early stopping chose it.
    #[arg(long, value_name = "BEGIN:END")]
    pub iteration_range: Option<String>,
}

/// `BEGIN:END` as a pair of round numbers.
fn parse_range(text: &str) -> Result<(usize, usize), String> {
    let (begin, end) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not BEGIN:END (e.g. 0:50)"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<usize>()
            .map_err(|_| format!("`{s}` in `{text}` is not a round number"))
    };
    let (begin, end) = (number(begin)?, number(end)?);
    if begin >= end {
        return Err(format!("`{text}`: BEGIN must be less than END"));
    }
    Ok((begin, end))
}

/// The names of a model's `num_cols` prediction columns (not leaf indices): `prediction` for one;
/// for several targets `prediction_<label>` with the label columns recorded at training
/// (`target_0..` when they are not known); for several quantile or expectile levels
/// `quantile_<level>` / `expectile_<level>`, in the order of the levels; else (multiclass)
/// `class_0..`.
fn output_names(model: &Model, num_cols: usize) -> Vec<String> {
    if num_cols == 1 {
        return vec!["prediction".to_string()];
    }
    let indexed = |prefix: &str| (0..num_cols).map(|i| format!("{prefix}_{i}")).collect();
    let Model::Booster(b) = model else {
        return indexed("class");
    };
    let params = b.params();
    if params.objective.is_multiclass() {
        return indexed("class");
    }
    if let Some(levels) = params.levels().filter(|l| l.len() == num_cols) {
        let prefix = match params.objective {
            ObjectiveKind::ExpectileError => "expectile",
            _ => "quantile",
        };
        let mut names: Vec<String> = Vec::with_capacity(num_cols);
        for (i, a) in levels.as_slice().iter().enumerate() {
            let name = format!("{prefix}_{a}");
            // A level given twice gets its output's index too, so that column names stay distinct.
            names.push(if names.contains(&name) {
                format!("{name}_{i}")
            } else {
                name
            });
        }
        return names;
    }
    let labels = trained_label(model)
        .and_then(|l| label_columns(l).ok())
        .unwrap_or_default();
    if labels.len() == num_cols {
        labels.iter().map(|l| format!("prediction_{l}")).collect()
    } else {
        indexed("target")
    }
}

impl PredictArgs {
    /// The explanation asked for, with its flag: `None` without --contribs, --approx-contribs or
    /// --interactions.
    fn explanation(&self) -> Option<(PredictOutput, &'static str)> {
        if self.contribs {
            Some((PredictOutput::Contributions, "--contribs"))
        } else if self.approx_contribs {
            Some((PredictOutput::ApproxContributions, "--approx-contribs"))
        } else if self.interactions {
            Some((PredictOutput::Interactions, "--interactions"))
        } else {
            None
        }
    }
}

/// Runs `sylvan predict`.
pub fn run(args: &PredictArgs) -> Result<()> {
    check_model_path(&args.model)?;
    output_format(&args.out)?;
    let device: Device = args.device.parse()?;
    let explanation = args.explanation();
    if let (Some((_, flag)), Device::Cuda(_)) = (explanation, &device) {
        bail!(
            "{flag} is computed on the CPU only; drop --device {} (or use --device cpu)",
            args.device
        );
    }
    let model = load(&args.model)?;
    let data = load_for_model(
        &args.data,
        &model.features,
        &model.categories,
        &ColumnSelection {
            base_margin: args.base_margin.clone(),
            ..Default::default()
        },
    )?;
    let output = if let Some((explanation, _)) = explanation {
        explanation
    } else if args.leaf {
        PredictOutput::LeafIndex
    } else if args.margin {
        PredictOutput::Margin
    } else {
        PredictOutput::Value
    };
    let iteration_range = match args.iteration_range.as_deref() {
        Some(text) => Some(parse_range(text).map_err(|e| anyhow!("--iteration-range {e}"))?),
        None => None,
    };
    let options = PredictOptions {
        output,
        iteration_range,
    };
    let gpu = match device {
        Device::Cuda(ordinal) if output != PredictOutput::LeafIndex => Some(ordinal),
        _ => None,
    };
    let p = match (&model.model, gpu) {
        (Model::Booster(b), Some(ordinal)) => GpuPredictor::new(ordinal)?.predict(b, &data.dataset, options)?,
        (Model::Booster(b), None) => b.predict(&data.dataset, options)?,
        (other, _)
            if matches!(output, PredictOutput::Margin | PredictOutput::LeafIndex)
                || !args.base_margin.is_empty()
                || args.iteration_range.is_some() =>
        {
            bail!(
                "--margin, --leaf, --base-margin and --iteration-range need a boosted model; `{}` is a {}",
                args.model.display(),
                kind_of(other)
            )
        }
        (other, _) if output.is_explanation() => other.explain(&data.dataset, output)?,
        (other, _) => other.predict(&data.dataset)?,
    };
    let names = if args.leaf {
        (0..p.num_cols).map(|i| format!("leaf_{i}")).collect()
    } else if output.is_explanation() {
        explanation_names(output, &model.features, p.num_cols, |k| output_names(&model.model, k))?
    } else {
        output_names(&model.model, p.num_cols)
    };
    write_table(
        &args.out,
        &OutputTable {
            names,
            values: &p.values,
            integer: args.leaf,
        },
    )?;
    say(format!(
        "wrote {} rows x {} columns to {}",
        p.num_rows,
        p.num_cols,
        args.out.display()
    ));
    Ok(())
}
