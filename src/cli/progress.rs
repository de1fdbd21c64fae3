//! Training progress: an indicatif bar on a terminal, plain per-round lines otherwise, nothing with
//! `--quiet`. When the metrics are only shown (the training set scored without `--valid`), rounds
//! that are neither printed nor the last are not evaluated at all.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};
use sylvan_booster::{RoundReport, TrainCallback};

/// How progress is shown. `every`: metrics are printed (and, when only shown, evaluated) on the
/// first round, every `every` rounds and the last one.
enum Mode {
    Quiet,
    Bar { bar: ProgressBar, every: usize },
    Lines { every: usize },
}

/// A [`TrainCallback`] that shows progress and remembers the last round's report.
pub struct Progress {
    mode: Mode,
    /// Only the rounds whose metrics are shown are evaluated (else every round).
    shown_rounds_only: bool,
    /// The last report received that holds metrics.
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
    /// With `shown_rounds_only`, training evaluates only the rounds whose metrics are printed (as a
    /// line or in the bar: about 20 rounds, or every `every`) and the last one; which rounds
    /// depends on nothing else, so the saved evaluation history is the same run after run.
    pub fn new(num_rounds: usize, quiet: bool, every: Option<usize>, shown_rounds_only: bool) -> Progress {
        let every = every.unwrap_or_else(|| num_rounds.div_ceil(20)).max(1);
        let mode = if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(num_rounds as u64);
            if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} rounds {msg}") {
                bar.set_style(style.progress_chars("=> "));
            }
            Mode::Bar { bar, every }
        } else {
            Mode::Lines { every }
        };
        Progress {
            mode,
            shown_rounds_only,
            last: None,
        }
    }

    /// Removes the bar (if any) before the summary is printed.
    pub fn finish(&self) {
        if let Mode::Bar { bar, .. } = &self.mode {
            bar.finish_and_clear();
        }
    }
}

/// Whether the line mode prints round `round` of `num_rounds`.
fn line_printed(round: usize, num_rounds: usize, every: usize) -> bool {
    let done = round + 1;
    round == 0 || done.is_multiple_of(every) || done == num_rounds
}

impl TrainCallback for Progress {
    fn after_round(&mut self, report: &RoundReport) -> bool {
        match &self.mode {
            Mode::Quiet => {}
            Mode::Bar { bar, .. } => {
                bar.set_position(report.round as u64 + 1);
                if !report.evals.is_empty() {
                    bar.set_message(format_evals(report));
                }
            }
            Mode::Lines { every } => {
                if line_printed(report.round, report.num_rounds, *every) {
                    super::note(format!("[{}]\t{}", report.round, format_evals(report)));
                }
            }
        }
        if !report.evals.is_empty() || self.last.is_none() {
            self.last = Some(report.clone());
        }
        true
    }

    fn wants_evaluation(&mut self, round: usize, num_rounds: usize) -> bool {
        if !self.shown_rounds_only {
            return true;
        }
        match &self.mode {
            Mode::Quiet => false,
            Mode::Lines { every } | Mode::Bar { every, .. } => line_printed(round, num_rounds, *every),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_rounds_only_evaluates_the_printed_rounds() {
        let mut lines = Progress::new(100, false, Some(10), true);
        lines.mode = Mode::Lines { every: 10 };
        let wanted: Vec<usize> = (0..100).filter(|&r| lines.wants_evaluation(r, 100)).collect();
        assert_eq!(wanted, [0, 9, 19, 29, 39, 49, 59, 69, 79, 89, 99]);
        let mut quiet = Progress::new(100, true, None, true);
        assert!((0..100).all(|r| !quiet.wants_evaluation(r, 100)));
        let mut every = Progress::new(100, true, None, false);
        assert!((0..100).all(|r| every.wants_evaluation(r, 100)));
    }
}
