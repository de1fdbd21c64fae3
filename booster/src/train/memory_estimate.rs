//! The memory a training run will allocate, estimated before it allocates the largest part (the
//! binned matrix, then margins, gradients and histograms), and the check that refuses a run that
//! cannot fit what the process may still use ([`available_memory`]) with an error naming the
//! estimate, instead of an abort or the OOM killer halfway through.
//!
//! The estimate counts what grows with the data — per-row buffers (margins of every set, gradient
//! pairs, row lists), the binned matrix or pre-sorted blocks, and the histograms that live at once
//! (the widest level of a depthwise tree or the open leaves of a lossguide one, each
//! `total bins x cell`, plus one per thread while they are built) — not the input data, which is
//! already allocated, nor the trees, which are small.

use std::fmt;

use crate::bins::cuts::BinMapper;
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::objective::objective_for;
use crate::params::{GrowPolicy, Params, TreeMethod};
use crate::train::checks::{with_categorical_param, with_data_targets};
use crate::util::available_memory::{available_memory, format_bytes, AvailableMemory};

/// The environment variable that turns the memory check off (`1`): the run then goes ahead
/// whatever the estimate says.
pub const NO_MEMORY_CHECK_ENV: &str = "SYLVAN_NO_MEMORY_CHECK";

/// Open leaves assumed for a tree limited neither by depth nor by leaves.
const UNBOUNDED_LEAVES: usize = 1024;

/// The memory a training run is estimated to allocate, part by part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryEstimate {
    parts: Vec<(&'static str, u64)>,
}

impl MemoryEstimate {
    /// The estimate in bytes.
    pub fn total(&self) -> u64 {
        self.parts.iter().map(|(_, b)| b).sum()
    }

    /// The parts, by name ("binned matrix", "margins", "gradient pairs", "histograms", "row lists",
    /// "sorted blocks"), in bytes.
    pub fn parts(&self) -> &[(&'static str, u64)] {
        &self.parts
    }

    /// Refuses the run with [`Error::OutOfMemory`] when the estimate exceeds `available`.
    pub fn check_fits(&self, available: &AvailableMemory) -> Result<()> {
        if self.total() <= available.bytes {
            return Ok(());
        }
        Err(Error::OutOfMemory {
            needed: self.total(),
            available: available.bytes,
            reason: format!(
                "training needs an estimated {self} but only {available}; use fewer rows, features, outputs or \
                 bins (max_bin), shallower trees, or set {NO_MEMORY_CHECK_ENV}=1 to try anyway"
            ),
        })
    }
}

impl fmt::Display for MemoryEstimate {
    /// "1.63 GB (margins 800.0 MB, gradient pairs 800.0 MB, ...)": the parts that are not empty.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .parts
            .iter()
            .filter(|(_, b)| *b > 0)
            .map(|(name, b)| format!("{name} {}", format_bytes(*b)))
            .collect();
        write!(f, "{} ({})", format_bytes(self.total()), parts.join(", "))
    }
}

/// Estimates the memory that training with `params` on `train`, evaluating `evals`, will allocate
/// (the same estimate the run checks before it allocates). For the `hist` method it fits the cuts
/// first, as training does, to know the bins.
pub fn estimate_training_memory(
    params: &Params,
    train: &Dataset,
    evals: &[(&str, &Dataset)],
) -> Result<MemoryEstimate> {
    params.validate()?;
    let with_targets = with_data_targets(params, train)?;
    let params = with_targets.as_ref().unwrap_or(params);
    let typed = with_categorical_param(params, train)?;
    let train = typed.as_ref().unwrap_or(train);
    let k = objective_for(params).num_groups();
    let threads = match params.nthread {
        0 => rayon::current_num_threads(),
        n => n,
    };
    let plan = MemoryPlan::new(params, train, evals, k, threads);
    Ok(match (params.tree_method, train.bin_cuts()) {
        (TreeMethod::Hist, Some((mapper, _))) => plan.estimate(BinsAhead::Binned(mapper)),
        (TreeMethod::Hist, None) => plan.estimate(BinsAhead::Build(&BinMapper::fit(train, params.max_bin))),
        _ => plan.estimate(BinsAhead::Blocks),
    })
}

/// What the split method is about to allocate for the training data.
pub(crate) enum BinsAhead<'m> {
    /// The `hist` method will quantize the data with these cuts.
    Build(&'m BinMapper),
    /// The data arrived binned with these cuts (its matrix is already allocated).
    Binned(&'m BinMapper),
    /// The `exact` or `approx` method will sort the columns into blocks.
    Blocks,
}

/// The sizes a run's estimate is made of, taken from the settings and the data before anything is
/// allocated; the bins are known only once the cuts are ([`MemoryPlan::estimate`]).
pub(crate) struct MemoryPlan {
    /// Margins of the training data and of every other evaluation set, and their scores.
    margins: u64,
    /// Gradient pairs of a round, the one-output copy, quantized pairs.
    gradient_pairs: u64,
    /// Row index lists: the tree's rows, the partition, the sample.
    row_lists: u64,
    rows: u64,
    features: u64,
    present: u64,
    /// Histograms alive at once (the widest tree level or the open leaves), plus one per thread.
    histograms_at_once: u64,
    /// Bytes per histogram bin: a cell, times the outputs of a vector leaf.
    cell_bytes: u64,
    /// Extra histograms of a round whose outputs' roots are built together.
    root_histograms: u64,
    /// Bins per feature of the `approx` method's sketches.
    approx_bins: u64,
    tree_method: TreeMethod,
}

impl MemoryPlan {
    /// The per-row and per-tree sizes of a run on `train` with `k` outputs and `threads` threads.
    pub(crate) fn new(
        params: &Params,
        train: &Dataset,
        evals: &[(&str, &Dataset)],
        k: usize,
        threads: usize,
    ) -> MemoryPlan {
        let n = train.num_rows() as u64;
        let k64 = k as u64;
        let eval_rows: u64 = evals
            .iter()
            .filter(|(_, d)| !std::ptr::eq(*d, train))
            .map(|(_, d)| d.num_rows() as u64)
            .sum();
        // f64 margins of every set and their f32 scores; with several outputs, each row's leaf slot
        // per output until the round's end ([`crate::train::round_margins`]).
        let margins = n * k64 * 8 + if k > 1 { n * k64 } else { 0 } + eval_rows * k64 * 12;
        let quantized = params.use_quantized_grad && params.tree_method != TreeMethod::Exact;
        let gradient_pairs = n * k64 * 8 + n * 8 + if quantized { n * 8 } else { 0 };
        let vector = params.vector_leaves();
        let cell = if quantized { 8 } else { 16 };
        let cell_bytes = cell * if vector { k64 } else { 1 };
        let leaves = open_leaves(params, train.num_rows());
        MemoryPlan {
            margins,
            gradient_pairs,
            row_lists: n * 4 * 3,
            rows: n,
            features: train.num_features() as u64,
            // Only the pre-sorted blocks hold present values, and counting them reads every value.
            present: match params.tree_method {
                TreeMethod::Hist => 0,
                TreeMethod::Exact | TreeMethod::Approx => train.num_present() as u64,
            },
            histograms_at_once: (leaves + threads.max(1)) as u64,
            cell_bytes,
            root_histograms: if k > 1 && !vector { k64 - 1 } else { 0 },
            approx_bins: params.approx_bins() as u64 + 1,
            tree_method: params.tree_method,
        }
    }

    /// The estimate once the split method's bins are known.
    pub(crate) fn estimate(&self, bins: BinsAhead<'_>) -> MemoryEstimate {
        let (n, nf) = (self.rows, self.features);
        let histograms =
            |total_bins: u64| (self.histograms_at_once + self.root_histograms) * total_bins * self.cell_bytes;
        let mut parts = vec![
            ("margins", self.margins),
            ("gradient pairs", self.gradient_pairs),
            ("row lists", self.row_lists),
        ];
        match bins {
            BinsAhead::Build(mapper) => {
                parts.push(("binned matrix", matrix_bytes(mapper, self.rows)));
                parts.push(("histograms", histograms(mapper.total_bins() as u64)));
            }
            BinsAhead::Binned(mapper) => parts.push(("histograms", histograms(mapper.total_bins() as u64))),
            BinsAhead::Blocks => {
                // A value and a row index per present entry.
                parts.push(("sorted blocks", self.present * 8));
                if self.tree_method == TreeMethod::Approx {
                    // Each tree's sketch quantizes the data again (both layouts).
                    let width = if self.approx_bins > 256 { 2 } else { 1 };
                    parts.push(("binned matrix", 2 * n * nf * width));
                    parts.push(("histograms", histograms(nf * self.approx_bins)));
                }
            }
        }
        MemoryEstimate { parts }
    }

    /// Refuses the run when the estimate for `bins` cannot fit the memory this process may still
    /// use (unless [`NO_MEMORY_CHECK_ENV`] is set).
    pub(crate) fn check(&self, bins: BinsAhead<'_>) -> Result<()> {
        check_available(&self.estimate(bins))
    }
}

/// Refuses to allocate the binned matrix of `rows` rows with `mapper`'s cuts (a data set binned
/// chunk by chunk) when it cannot fit the memory this process may still use.
pub(crate) fn check_matrix_fits(mapper: &BinMapper, rows: usize) -> Result<()> {
    check_available(&MemoryEstimate {
        parts: vec![("binned matrix", matrix_bytes(mapper, rows as u64))],
    })
}

/// Refuses `estimate` when it exceeds what this process may still allocate, unless
/// [`NO_MEMORY_CHECK_ENV`] is set or nothing is known about the memory.
fn check_available(estimate: &MemoryEstimate) -> Result<()> {
    if std::env::var_os(NO_MEMORY_CHECK_ENV).is_some_and(|v| v != "0" && !v.is_empty()) {
        return Ok(());
    }
    match available_memory() {
        Some(available) => estimate.check_fits(&available),
        None => Ok(()),
    }
}

/// The quantized matrix of `rows` rows with `mapper`'s cuts: the row-major store (one width for
/// all features) and one column per feature (each as narrow as its bins allow).
fn matrix_bytes(mapper: &BinMapper, rows: u64) -> u64 {
    let width = |max_bin: usize| if max_bin <= u8::MAX as usize { 1 } else { 2 };
    let store = rows * mapper.num_features() as u64 * width(mapper.max_stored_bin());
    let columns: u64 = (0..mapper.num_features())
        .map(|f| (rows + 4) * width(mapper.feature(f).max_stored_bin()))
        .sum();
    store + columns
}

/// The most nodes whose histograms a tree keeps at once: the widest level a depthwise tree splits
/// (half its leaves) or a lossguide tree's open leaves; never more than half the rows.
fn open_leaves(params: &Params, rows: usize) -> usize {
    let by_depth = |d: usize| 1usize << d.min(24);
    let leaves = match params.grow_policy {
        GrowPolicy::Depthwise if params.max_depth > 0 => by_depth(params.max_depth) / 2,
        GrowPolicy::Lossguide if params.max_leaves > 0 => params.max_leaves,
        GrowPolicy::Lossguide if params.max_depth > 0 => by_depth(params.max_depth),
        _ => UNBOUNDED_LEAVES,
    };
    leaves.min(rows.div_ceil(2)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(rows: usize, features: usize) -> Dataset {
        let columns = (0..features)
            .map(|f| (0..rows).map(|i| ((i * (f + 3)) % 97) as f32).collect())
            .collect();
        Dataset::from_columns(columns)
            .unwrap()
            .with_labels((0..rows).map(|i| (i % 5) as f32).collect())
            .unwrap()
    }

    fn params(text: &[(&str, &str)]) -> Params {
        let mut p = Params::default();
        for (k, v) in text {
            p.set(k, v).unwrap();
        }
        p
    }

    fn part(e: &MemoryEstimate, name: &str) -> u64 {
        e.parts().iter().find(|(n, _)| *n == name).map_or(0, |(_, b)| *b)
    }

    #[test]
    fn margins_and_gradients_grow_with_rows_times_outputs() {
        let d = data(1000, 3);
        let one = estimate_training_memory(&params(&[("objective", "reg:squarederror")]), &d, &[]).unwrap();
        let five =
            estimate_training_memory(&params(&[("objective", "multi:softprob"), ("num_class", "5")]), &d, &[]).unwrap();
        assert_eq!(part(&one, "margins"), 1000 * 8);
        assert_eq!(part(&five, "margins"), 1000 * 5 * 9);
        assert_eq!(part(&one, "gradient pairs"), 1000 * 8 * 3);
        assert_eq!(part(&five, "gradient pairs"), 1000 * 5 * 8 + 2 * 1000 * 8);
        // 97 distinct values per feature: one byte per bin in both layouts.
        assert_eq!(part(&one, "binned matrix"), 1000 * 3 + 3 * 1004);
        assert!(five.total() > one.total());
    }

    #[test]
    fn evaluation_sets_other_than_the_training_data_add_their_margins() {
        let d = data(1000, 3);
        let v = data(300, 3);
        let p = params(&[]);
        let alone = estimate_training_memory(&p, &d, &[("train", &d)]).unwrap();
        let with_valid = estimate_training_memory(&p, &d, &[("train", &d), ("valid", &v)]).unwrap();
        assert_eq!(part(&with_valid, "margins") - part(&alone, "margins"), 300 * 12);
    }

    #[test]
    fn histograms_follow_the_tree_shape_and_the_cell() {
        let d = data(100_000, 4);
        let hist = |p: &[(&str, &str)]| part(&estimate_training_memory(&params(p), &d, &[]).unwrap(), "histograms");
        let depth6 = hist(&[("nthread", "1")]);
        let depth8 = hist(&[("nthread", "1"), ("max_depth", "8")]);
        assert_eq!(depth6 * (128 + 1), depth8 * (32 + 1));
        let f64_cells = hist(&[("nthread", "1"), ("use_quantized_grad", "false")]);
        assert_eq!(f64_cells, 2 * depth6);
        let leaves = hist(&[("nthread", "1"), ("grow_policy", "lossguide"), ("max_leaves", "255")]);
        assert_eq!(leaves * 33, depth6 * 256);
        let by_depth = hist(&[
            ("nthread", "1"),
            ("grow_policy", "lossguide"),
            ("max_leaves", "0"),
            ("max_depth", "8"),
        ]);
        assert_eq!(by_depth * 256, leaves * 257);
    }

    #[test]
    fn exact_counts_sorted_blocks_and_no_matrix() {
        let d = data(1000, 3);
        let e = estimate_training_memory(&params(&[("tree_method", "exact")]), &d, &[]).unwrap();
        assert_eq!(part(&e, "sorted blocks"), 3000 * 8);
        assert_eq!(part(&e, "binned matrix"), 0);
        assert_eq!(part(&e, "histograms"), 0);
    }

    #[test]
    fn a_run_that_cannot_fit_is_refused_naming_the_estimate_and_the_limit() {
        let d = data(1000, 3);
        let e = estimate_training_memory(&params(&[]), &d, &[]).unwrap();
        let room = |bytes| AvailableMemory {
            bytes,
            bound: "the address-space limit (ulimit -v) of 1.00 MB".into(),
        };
        assert!(e.check_fits(&room(e.total())).is_ok());
        let err = e.check_fits(&room(e.total() - 1)).unwrap_err().to_string();
        assert!(err.contains("not enough memory"), "{err}");
        assert!(err.contains(&format_bytes(e.total())), "{err}");
        assert!(err.contains("ulimit -v") && err.contains(NO_MEMORY_CHECK_ENV), "{err}");
    }
}
