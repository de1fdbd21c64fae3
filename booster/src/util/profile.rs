//! A per-phase profile of training: wall time spent in each stage of the algorithm (binning,
//! gradients, quantization, histograms, split search, partition, leaf values, margins,
//! evaluation, ...), for `sylvan train --profile` and anyone tuning a data set.
//!
//! The profile is off by default and then costs one relaxed atomic load per timed step. When on,
//! [`enter`] charges time to a phase until its guard drops. Phases nest: a phase entered inside
//! another pauses the outer one, so every instant is charged to exactly one phase and the
//! phases add up to the time measured. Timers sit only in the sequential orchestration code (the
//! training thread), around the parallel kernels, so the times are wall times of the run.
//! The totals are process-wide: two trainings profiled at once in one process share them.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A stage of training that the profile times apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Reading the data (the CLI's file load).
    Load,
    /// Fitting the cut points and building the quantized (binned) matrix, or the exact method's
    /// sorted blocks.
    Binning,
    /// The objective's gradients and hessians at the current margins.
    Gradients,
    /// Row sampling (bagging, GOSS) and per-tree setup: the gradients' integer quantization and the
    /// root's statistics.
    Quantization,
    /// Building and subtracting node histograms.
    Histograms,
    /// Scanning histograms (or sorted blocks) for the best split of each node.
    SplitSearch,
    /// Moving rows to their child nodes.
    Partition,
    /// Leaf values (sums over the leaf's rows, line searches).
    LeafValues,
    /// Adding the new trees to the training and evaluation margins.
    Margins,
    /// Metrics on the evaluation sets.
    Evaluation,
    /// Writing the model file.
    Save,
}

impl Phase {
    /// Every phase, in the order of a round.
    pub const ALL: [Phase; 11] = [
        Phase::Load,
        Phase::Binning,
        Phase::Gradients,
        Phase::Quantization,
        Phase::Histograms,
        Phase::SplitSearch,
        Phase::Partition,
        Phase::LeafValues,
        Phase::Margins,
        Phase::Evaluation,
        Phase::Save,
    ];

    /// The phase's name in the printed profile.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Load => "load",
            Phase::Binning => "binning",
            Phase::Gradients => "gradients",
            Phase::Quantization => "sampling + quantization",
            Phase::Histograms => "histograms",
            Phase::SplitSearch => "split search",
            Phase::Partition => "partition",
            Phase::LeafValues => "leaf values",
            Phase::Margins => "margins",
            Phase::Evaluation => "evaluation",
            Phase::Save => "save",
        }
    }
}

static ENABLED: AtomicBool = AtomicBool::new(false);
static NANOS: [AtomicU64; Phase::ALL.len()] = [const { AtomicU64::new(0) }; Phase::ALL.len()];

thread_local! {
    /// The phases entered on this thread and not yet left, innermost last, and when the innermost
    /// one's clock last started.
    static STACK: RefCell<(Vec<Phase>, Option<Instant>)> = const { RefCell::new((Vec::new(), None)) };
    /// Whether this thread's phases are not charged ([`muted`]).
    static MUTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `work` with the phases it enters on this thread not charged: for work running beside
/// work that is charged (two trees growing at once), so that the profile stays a split of the
/// wall time.
pub fn muted<T>(work: impl FnOnce() -> T) -> T {
    let before = MUTED.with(|m| m.replace(true));
    let out = work();
    MUTED.with(|m| m.set(before));
    out
}

/// Turns the profile on or off (the totals are kept; [`take`] reads and clears them).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// Whether the profile is on.
pub fn is_enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

fn charge(phase: Phase, since: Instant, now: Instant) {
    let nanos = now.duration_since(since).as_nanos() as u64;
    NANOS[phase as usize].fetch_add(nanos, Ordering::Relaxed);
}

/// Charges time to `phase` until the returned guard drops (nothing when the profile is off).
#[must_use = "the phase ends when the guard drops"]
pub fn enter(phase: Phase) -> PhaseGuard {
    if !is_enabled() || MUTED.with(std::cell::Cell::get) {
        return PhaseGuard { active: false };
    }
    let now = Instant::now();
    STACK.with(|s| {
        let (stack, started) = &mut *s.borrow_mut();
        if let (Some(&outer), Some(t)) = (stack.last(), *started) {
            charge(outer, t, now);
        }
        stack.push(phase);
        *started = Some(now);
    });
    PhaseGuard { active: true }
}

/// Ends its phase when dropped and restarts the clock of the phase it interrupted.
pub struct PhaseGuard {
    active: bool,
}

impl Drop for PhaseGuard {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        let now = Instant::now();
        STACK.with(|s| {
            let (stack, started) = &mut *s.borrow_mut();
            if let (Some(phase), Some(t)) = (stack.pop(), *started) {
                charge(phase, t, now);
            }
            *started = if stack.is_empty() { None } else { Some(now) };
        });
    }
}

/// The time charged to each phase since the last [`take`].
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseTimes {
    /// Every phase with its time, in [`Phase::ALL`] order.
    pub phases: Vec<(Phase, Duration)>,
}

impl PhaseTimes {
    /// The sum over the phases.
    pub fn total(&self) -> Duration {
        self.phases.iter().map(|p| p.1).sum()
    }
}

/// Reads the totals and sets them back to zero.
pub fn take() -> PhaseTimes {
    PhaseTimes {
        phases: Phase::ALL
            .iter()
            .map(|&p| (p, Duration::from_nanos(NANOS[p as usize].swap(0, Ordering::Relaxed))))
            .collect(),
    }
}

impl PhaseTimes {
    /// The profile as a table: one line per phase with time and share of `whole` (the run's wall
    /// time; what no phase covers is printed as `other`).
    pub fn table(&self, whole: Duration) -> String {
        let whole_s = whole.as_secs_f64().max(1e-9);
        let mut out = String::from("phase                      seconds   share\n");
        let mut line = |name: &str, d: Duration| {
            out.push_str(&format!(
                "{name:<24} {:>9.3} {:>6.1}%\n",
                d.as_secs_f64(),
                100.0 * d.as_secs_f64() / whole_s
            ));
        };
        for &(p, d) in &self.phases {
            line(p.name(), d);
        }
        line("other", whole.saturating_sub(self.total()));
        line("total", whole);
        out
    }
}

impl fmt::Display for PhaseTimes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table(self.total()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_phases_are_charged_exclusively_and_add_up() {
        enable(true);
        let _ = take();
        let start = Instant::now();
        {
            let _outer = enter(Phase::SplitSearch);
            std::thread::sleep(Duration::from_millis(20));
            {
                let _inner = enter(Phase::Histograms);
                std::thread::sleep(Duration::from_millis(30));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let whole = start.elapsed();
        enable(false);
        let times = take();
        let of = |p: Phase| times.phases.iter().find(|t| t.0 == p).unwrap().1;
        // Other tests may train (and be timed) while this one has the profile on: only lower
        // bounds hold for the totals.
        assert!(of(Phase::Histograms) >= Duration::from_millis(30), "{times}");
        assert!(of(Phase::SplitSearch) >= Duration::from_millis(30), "{times}");
        assert!(whole >= Duration::from_millis(60));
        let table = times.table(whole);
        assert!(table.contains("histograms") && table.contains("other"), "{table}");
        // Off: a guard is inert.
        assert!(!enter(Phase::Gradients).active);
    }
}
