//! Training progress: an indicatif bar on a terminal, plain per-round lines otherwise, nothing with
//! `--quiet`.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use sylvan_booster::{RoundReport, TrainCallback};

/// How progress is shown.
enum Mode {
    Quiet,
    Bar(ProgressBar),
    Lines { every: usize },
}

/// A [`TrainCallback`] that shows progress and remembers the last round's report.
pub struct Progress {
    mode: Mode,
    /// The last report received.
    pub last: Option<RoundReport>,
}

/// `valid-auc:0.98765 valid-logloss:0.12` (XGBoost's style).
pub fn format_evals(report: &RoundReport) -> String {
    report
        .evals
        .iter()
        .map(|(set, metric, v)| format!("{set}-{metric}:{v:.5}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl Progress {
    /// Progress for `num_rounds` rounds; `every` overrides the line interval (default: about 20 lines).
    pub fn new(num_rounds: usize, quiet: bool, every: Option<usize>) -> Progress {
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(num_rounds as u64);
            if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} rounds {msg}") {
                bar.set_style(style.progress_chars("=> "));
            }
            Mode::Bar(bar)
        } else {
            Mode::Lines {
                every: every.unwrap_or_else(|| num_rounds.div_ceil(20)).max(1),
            }
        };
        Progress { mode, last: None }
    }

    /// Removes the bar (if any) before the summary is printed.
    pub fn finish(&self) {
        if let Mode::Bar(bar) = &self.mode {
            bar.finish_and_clear();
        }
    }
}

impl TrainCallback for Progress {
    fn after_round(&mut self, report: &RoundReport) -> bool {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar(bar) => {
                bar.set_position(report.round as u64 + 1);
                bar.set_message(format_evals(report));
            }
            Mode::Lines { every } => {
                let done = report.round + 1;
                if report.round == 0 || done.is_multiple_of(*every) || done == report.num_rounds {
                    super::note(format!("[{}]\t{}", report.round, format_evals(report)));
                }
            }
        }
        self.last = Some(report.clone());
        true
    }
}
