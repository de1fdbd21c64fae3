//! `sylvan import`: read a model trained by XGBoost (JSON) or LightGBM (text) and save it as a
//! Sylvan model.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use sylvan_io::{import_model, ModelFormat};

use super::export::parse_format;
use super::model::check_model_out;
use super::say;

/// Arguments of `sylvan import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The format of the file: `xgboost-json` or `lightgbm` (text).
    #[arg(long, value_name = "xgboost-json|lightgbm", value_parser = parse_format)]
    pub from: ModelFormat,
    /// The foreign model file.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Where to save the Sylvan model: .json (JSON) or .sylvan (compact binary).
    #[arg(long, value_name = "MODEL")]
    pub model_out: PathBuf,
}

/// Runs `sylvan import`.
pub fn run(args: &ImportArgs) -> Result<()> {
    check_model_out(&args.model_out)?;
    let booster = import_model(&args.model, args.from)?;
    booster.save(&args.model_out)?;
    say(format!(
        "imported {} ({}, {}, {} rounds x {} trees, {} features) into {}",
        args.model.display(),
        args.from,
        booster.objective_name(),
        booster.num_rounds(),
        booster.num_groups(),
        booster.num_features(),
        args.model_out.display()
    ));
    Ok(())
}
