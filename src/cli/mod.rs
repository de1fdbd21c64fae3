//! Command-line parsing (clap) and dispatch to one module per subcommand.

mod columns;
mod distributed;
mod ensemble;
mod eval;
mod explain_columns;
mod export;
mod import;
mod inspect;
pub mod interrupt;
mod model;
mod params;
mod predict;
mod progress;
mod report;
mod train;
mod tree_text;

use clap::{Parser, Subcommand};

/// Gradient boosting from the command line, with XGBoost's parameter names.
#[derive(Debug, Parser)]
#[command(name = "sylvan", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a model on a data file and save it (.json or .sylvan).
    Train(Box<train::TrainArgs>),
    /// Predict with a saved model; writes one row per input row (.csv, .parquet or .arrow).
    Predict(predict::PredictArgs),
    /// Evaluate a saved model on a labelled data file.
    Eval(eval::EvalArgs),
    /// Describe a saved model: objective, parameters, trees, features, top features by gain.
    Inspect(inspect::InspectArgs),
    /// Write a saved model as XGBoost JSON or LightGBM text.
    Export(export::ExportArgs),
    /// Read a model trained by XGBoost (JSON) or LightGBM (text) into a Sylvan model.
    Import(import::ImportArgs),
    /// Write a visual report of a model: one self-contained HTML file (or one SVG plot).
    Report(report::ReportArgs),
}

/// Parses the command line and runs the subcommand. Help and usage errors exit through clap.
pub fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        // The config file says whether an ensemble or a plain booster is trained.
        Command::Train(args) => match ensemble::config_of(args.config.as_deref(), &args.sets)? {
            Some(config) => {
                distributed::refuse_ensemble()?;
                ensemble::train(&args, config)
            }
            None => train::run(&args),
        },
        Command::Predict(args) => predict::run(&args),
        Command::Eval(args) => eval::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Import(args) => import::run(&args),
        Command::Report(args) => report::run(&args),
    }
}

/// An error and its causes on one line, without repeating a cause its parent already quotes.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut message = e.to_string();
    for cause in e.chain().skip(1) {
        let c = cause.to_string();
        if !message.contains(&c) {
            message.push_str(": ");
            message.push_str(&c);
        }
    }
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Prints one line on stdout; a closed pipe (`sylvan inspect | head`) is not an error.
pub fn say(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

/// Prints one line on stderr (notes and progress).
pub fn note(line: impl std::fmt::Display) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{line}");
}
