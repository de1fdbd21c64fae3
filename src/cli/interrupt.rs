//! Ctrl-C (SIGINT) and SIGTERM during `sylvan train`: the run stops after the round in progress,
//! a checkpoint of the rounds done is written (never a half-written model), the command prints
//! how to resume and exits with 128 + the signal's number. A second signal ends the process at
//! once, with the same status.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use sylvan_booster::{RoundPlan, RoundReport, TrainCallback, TrainingState};

/// Whether SIGINT or SIGTERM asked training to stop, and which.
#[derive(Debug, Clone)]
pub struct StopSignal {
    /// Set by the first signal.
    stopping: Arc<AtomicBool>,
    /// The first signal's number (0 while none came).
    which: Arc<AtomicUsize>,
}

impl StopSignal {
    /// Catches SIGINT and SIGTERM from now on.
    pub fn install() -> anyhow::Result<StopSignal> {
        let stopping = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            // The handlers run in this order: a second signal finds `stopping` set and exits.
            signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, stopping.clone())?;
            signal_hook::flag::register_usize(signal, which.clone(), signal as usize)?;
            signal_hook::flag::register(signal, stopping.clone())?;
        }
        Ok(StopSignal { stopping, which })
    }

    /// The number of the signal that asked to stop, if one did.
    pub fn caught(&self) -> Option<i32> {
        if !self.stopping.load(Ordering::SeqCst) {
            return None;
        }
        Some(self.which.load(Ordering::SeqCst) as i32)
    }

    /// A signal's name, for messages.
    pub fn name(signal: i32) -> &'static str {
        match signal {
            signal_hook::consts::SIGINT => "SIGINT (Ctrl-C)",
            signal_hook::consts::SIGTERM => "SIGTERM",
            _ => "a signal",
        }
    }
}

/// A training callback that stops the run before the next round once a signal came, and
/// otherwise does what `inner` does.
pub struct StopOnSignal<'a> {
    /// The callback wrapped (progress display, distributed bookkeeping).
    pub inner: &'a mut (dyn TrainCallback + Send),
    /// The signals watched.
    pub signal: StopSignal,
}

impl TrainCallback for StopOnSignal<'_> {
    fn after_round(&mut self, report: &RoundReport) -> bool {
        self.inner.after_round(report)
    }

    fn after_round_in(&mut self, report: &RoundReport, state: &TrainingState<'_>) -> bool {
        self.inner.after_round_in(report, state)
    }

    fn before_round(&mut self, round: usize) -> RoundPlan {
        let mut plan = self.inner.before_round(round);
        plan.stop |= self.signal.caught().is_some();
        plan
    }

    fn wants_evaluation(&mut self, round: usize, num_rounds: usize) -> bool {
        self.inner.wants_evaluation(round, num_rounds)
    }
}

/// The error `sylvan train` ends with after a signal: the process exits with 128 + `signal`.
#[derive(Debug)]
pub struct Interrupted {
    /// The signal's number.
    pub signal: i32,
    /// What happened and how to resume.
    pub message: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Interrupted {}
