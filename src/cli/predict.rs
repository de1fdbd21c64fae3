//! `sylvan predict`: one output row per input row, columns `prediction`, `class_0..`, or `leaf_0..`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;
use sylvan_booster::ensemble::Model;
use sylvan_booster::{Device, PredictOptions, PredictOutput};
use sylvan_gpu::GpuPredictor;
use sylvan_io::{load_for_model, output_format, write_table, ColumnSelection, OutputTable};

use super::model::{check_model_path, kind_of, load};
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
    /// Write the leaf index of every tree (`leaf_0`, `leaf_1`, ...).
    #[arg(long)]
    pub leaf: bool,
    /// Where to sum the trees of a boosted model: `cpu` (default), `cuda` or `cuda:N` (leaf indices
    /// and ensembles are always computed on the CPU).
    #[arg(long, value_name = "cpu|cuda|cuda:N", default_value = "cpu")]
    pub device: String,
}

/// Runs `sylvan predict`.
pub fn run(args: &PredictArgs) -> Result<()> {
    check_model_path(&args.model)?;
    output_format(&args.out)?;
    let device: Device = args.device.parse()?;
    let model = load(&args.model)?;
    let data = load_for_model(
        &args.data,
        &model.features,
        &model.categories,
        &ColumnSelection::default(),
    )?;
    let output = if args.leaf {
        PredictOutput::LeafIndex
    } else if args.margin {
        PredictOutput::Margin
    } else {
        PredictOutput::Value
    };
    let gpu = match device {
        Device::Cuda(ordinal) if output != PredictOutput::LeafIndex => Some(ordinal),
        _ => None,
    };
    let p = match (&model.model, gpu) {
        (Model::Booster(b), Some(ordinal)) => GpuPredictor::new(ordinal)?.predict(
            b,
            &data.dataset,
            PredictOptions {
                output,
                ..Default::default()
            },
        )?,
        (Model::Booster(b), None) => b.predict(
            &data.dataset,
            PredictOptions {
                output,
                ..Default::default()
            },
        )?,
        (other, _) if output != PredictOutput::Value => bail!(
            "--margin and --leaf need a boosted model; `{}` is a {}",
            args.model.display(),
            kind_of(other)
        ),
        (other, _) => other.predict(&data.dataset)?,
    };
    let names: Vec<String> = if args.leaf {
        (0..p.num_cols).map(|i| format!("leaf_{i}")).collect()
    } else if p.num_cols == 1 {
        vec!["prediction".to_string()]
    } else {
        (0..p.num_cols).map(|i| format!("class_{i}")).collect()
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
