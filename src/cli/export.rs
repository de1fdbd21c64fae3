//! `sylvan export`: write a saved model as XGBoost JSON, LightGBM text or ONNX.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use sylvan_io::{export_model, ModelFormat};

use super::model::{check_model_path, load};
use super::{note, say};

/// Arguments of `sylvan export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model (.json or .sylvan).
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// The format to write: `xgboost-json`, `lightgbm` (text) or `onnx` (ai.onnx.ml tree ensemble).
    #[arg(long, value_name = "xgboost-json|lightgbm|onnx", value_parser = parse_format)]
    pub format: ModelFormat,
    /// Where to write the model (written atomically).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Parses a `--format`/`--from` value.
pub fn parse_format(s: &str) -> Result<ModelFormat, String> {
    s.parse::<ModelFormat>()
        .map_err(|_| format!("`{s}` is not a model format (expected xgboost-json, lightgbm or onnx)"))
}

/// Runs `sylvan export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    check_model_path(&args.model)?;
    let model = load(&args.model)?;
    let sylvan_booster::Model::Booster(b) = &model.model else {
        anyhow::bail!(
            "`{}` is a {}: only boosted models (and random forests) can be exported",
            args.model.display(),
            super::model::kind_of(&model.model)
        );
    };
    export_model(b, args.format, &args.out)?;
    if !model.categories.is_empty() {
        note(format!(
            "note: {} categorical column(s) are split by category sets, on the codes Sylvan stores with the \
             model (the i-th category name is code i; {}); see docs/categorical.md",
            model.categories.len(),
            match args.format {
                ModelFormat::Onnx => "feed those codes to the ONNX model",
                _ => "the names are written to the file too (for XGBoost, ASCII names only), for pandas input",
            }
        ));
    }
    let rounds = b.best_iteration().map_or(b.num_rounds(), |i| i + 1);
    say(format!(
        "exported {} as {} ({} rounds x {} trees) to {}",
        args.model.display(),
        args.format,
        rounds,
        b.num_groups(),
        args.out.display()
    ));
    Ok(())
}
