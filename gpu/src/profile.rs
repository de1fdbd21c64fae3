//! Opt-in training profile: with `SYLVAN_GPU_PROFILE=1` a [`CudaSession`](crate::backend::CudaSession)
//! synchronises its stream after every phase, adds the phase's wall time to a per-phase total, and
//! prints the totals to stderr when the training ends. Unset (or any other value), nothing is
//! timed and nothing is synchronised: every call below is a branch on a `bool`.

use std::cell::Cell;
use std::time::{Duration, Instant};

use crate::context::Gpu;

/// The phases of a GPU training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Quantized matrix, labels, weights and first margins to the device (once per training).
    Upload,
    /// Sampled row ids to the device (per tree, when rows are sampled) or `iota` (every row).
    Rows,
    /// Device gradients (`objective.cu`), and their download when the host needs them.
    Gradients,
    /// Host gradients to the device (objectives the device does not compute).
    HostGradientUpload,
    /// `grad_absmax` + the maxima download + `grad_quantize`.
    Quantize,
    /// Histogram building (root and per level, with the level buffers' allocation).
    Histograms,
    /// Parent - sibling subtraction and histogram copies.
    Subtraction,
    /// `split_features` + `split_reduce` + the records' download.
    SplitSearch,
    /// Row partition + the left counts' download.
    Partition,
    /// The row order's download for `node_rows` (once per tree).
    NodeRows,
    /// `update_margins_*` after each tree.
    MarginUpdate,
}

const PHASES: [(Phase, &str); 11] = [
    (Phase::Upload, "upload (matrix, labels, margins)"),
    (Phase::Rows, "row ids (upload / iota)"),
    (Phase::Gradients, "gradients (device)"),
    (Phase::HostGradientUpload, "gradients (host -> device)"),
    (Phase::Quantize, "quantize"),
    (Phase::Histograms, "histograms"),
    (Phase::Subtraction, "subtraction"),
    (Phase::SplitSearch, "split search"),
    (Phase::Partition, "partition"),
    (Phase::NodeRows, "node_rows download"),
    (Phase::MarginUpdate, "margin update"),
];

/// Whether `SYLVAN_GPU_PROFILE=1`.
pub fn enabled_by_env() -> bool {
    std::env::var("SYLVAN_GPU_PROFILE").is_ok_and(|v| v == "1")
}

/// Accumulated phase times of one training.
#[derive(Debug)]
pub struct Profile {
    enabled: bool,
    started: Instant,
    totals: [Cell<(Duration, u64)>; 11],
}

impl Profile {
    /// A profile that times when `enabled`.
    pub fn new(enabled: bool) -> Profile {
        Profile {
            enabled,
            started: Instant::now(),
            totals: Default::default(),
        }
    }

    /// Whether phases are timed.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Starts timing a phase: synchronises first (so that earlier queued work is not counted), and
    /// returns the start (`None` when disabled).
    pub fn start(&self, gpu: &Gpu) -> Option<Instant> {
        if !self.enabled {
            return None;
        }
        let _ = gpu.sync();
        Some(Instant::now())
    }

    /// Ends a phase started with [`start`](Self::start): synchronises and adds the time.
    pub fn stop(&self, gpu: &Gpu, phase: Phase, start: Option<Instant>) {
        let Some(t) = start else { return };
        let _ = gpu.sync();
        self.add(phase, t.elapsed());
    }

    fn add(&self, phase: Phase, d: Duration) {
        if let Some(i) = PHASES.iter().position(|(p, _)| *p == phase) {
            let (total, count) = self.totals[i].get();
            self.totals[i].set((total + d, count + 1));
        }
    }

    /// The report: one line per phase (total seconds, calls, share of the session's wall time),
    /// the rest of the session's time (host work between the phases: the grower, leaf values,
    /// host gradients and margins, evaluation), and the session's wall time.
    pub fn report(&self) -> String {
        let wall = self.started.elapsed().as_secs_f64();
        let mut out =
            String::from("sylvan-gpu profile (SYLVAN_GPU_PROFILE=1; stream synchronised after every phase):\n");
        let mut sum = 0.0;
        let pct = |s: f64| if wall > 0.0 { 100.0 * s / wall } else { 0.0 };
        for ((_, name), cell) in PHASES.iter().zip(&self.totals) {
            let (d, n) = cell.get();
            let s = d.as_secs_f64();
            sum += s;
            out += &format!("  {name:<34} {s:>9.3} s {n:>8} calls {:>5.1}%\n", pct(s));
        }
        let rest = (wall - sum).max(0.0);
        out += &format!(
            "  {:<34} {rest:>9.3} s {:>14} {:>5.1}%\n",
            "host, outside the phases",
            "",
            pct(rest)
        );
        out += &format!(
            "  {:<34} {wall:>9.3} s (from the session's start; binning is before it)\n",
            "session wall time"
        );
        out
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        if self.enabled {
            eprint!("{}", self.report());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lists_every_phase() {
        let p = Profile::new(false);
        p.add(Phase::Histograms, Duration::from_millis(1500));
        p.add(Phase::Histograms, Duration::from_millis(500));
        let r = p.report();
        assert!(r.contains("histograms"), "{r}");
        assert!(r.contains("2.000 s"), "{r}");
        assert_eq!(r.lines().count(), 1 + PHASES.len() + 2, "{r}");
    }
}
