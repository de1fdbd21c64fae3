//! The split method, chosen once per training run: what each method prepares from the training data
//! before the first round, and the [`TreeBackend`] it grows each tree with — the one place where
//! `hist`, `approx`, `exact` and an accelerator differ.

use std::sync::Arc;

use crate::bins::blocks::ColumnBlocks;
use crate::bins::cuts::BinMapper;
use crate::bins::matrix::QuantizedMatrix;
use crate::bins::shared_cuts::{fit_shared, sketch_shared};
use crate::collective::ops::Cluster;
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::gradients::GradPair;
use crate::params::{Params, TreeMethod};
use crate::train::cpu_backend::HistBackend;
use crate::train::device::{DeviceSession, TreeGradients};
use crate::train::exact::ExactBackend;
use crate::train::grow::TreeBackend;
use crate::train::memory_estimate::{BinsAhead, MemoryPlan};
use crate::train::quantize::{quantize_shard, LeafGrids};
use crate::train::split::SplitParams;

/// What split finding needs about the training data, prepared once before the first round.
pub(crate) enum SplitData {
    /// Cuts and the quantized matrix (`hist`), shared with a data set that arrived binned.
    Hist(Arc<BinMapper>, Arc<QuantizedMatrix>),
    /// Pre-sorted column blocks (`exact`, and `approx`, which re-sketches them for every tree).
    Blocks(ColumnBlocks),
}

/// What one tree is grown from.
pub(crate) struct TreeInputs<'a> {
    /// The training parameters.
    pub params: &'a Params,
    /// The training data.
    pub train: &'a Dataset,
    /// The pairs the tree is fitted to (one per row).
    pub fit: &'a [GradPair],
    /// The rows sampled for the tree (ascending).
    pub rows: &'a [u32],
    /// The split regularisation.
    pub split: SplitParams,
    /// The quantization's rounding stream.
    pub seed: u64,
    /// The output the tree belongs to.
    pub group: usize,
    /// Whether a device session computed this round's pairs itself (then it fits the tree to them).
    pub pairs_on_device: bool,
    /// In distributed training, the group whose rows the tree is grown on.
    pub cluster: Option<&'a Cluster<'a>>,
}

/// The backend of one tree, with the exact pairs its node sums are to be recomputed from when it
/// grows the tree from quantized gradients.
pub(crate) type TreeBackendFor<'t> = (Box<dyn TreeBackend + 't>, Option<Renew<'t>>);

/// The exact pairs a tree grown from quantized gradients takes its node sums from, and the grids
/// they are summed on.
#[derive(Clone, Copy)]
pub(crate) struct Renew<'t> {
    /// The pairs the tree was fitted to (one per row).
    pub fit: &'t [GradPair],
    /// The fixed-point grids of the sums.
    pub grids: LeafGrids,
}

/// Buffers a tree backend may fill and borrow, kept by the trainer from tree to tree.
#[derive(Default)]
pub(crate) struct BackendScratch {
    /// Quantized gradient pairs of the current tree.
    pub packed: Vec<i64>,
    /// Per output: the root histogram of its next tree, when the round built the roots of all
    /// outputs' trees together ([`crate::train::root_histograms`]); taken up by the tree.
    pub roots: Vec<Option<Vec<i64>>>,
    /// The approximate method's per-tree sketch: its cuts and the matrix quantized with them.
    pub sketch: Option<(BinMapper, QuantizedMatrix)>,
}

impl SplitData {
    /// Prepares the training data for `params.tree_method` (in distributed training, with the cuts
    /// of all ranks' rows), once `memory` says the run fits (checked as soon as the bins are known,
    /// before the matrix or the blocks are allocated).
    pub(crate) fn prepare(
        params: &Params,
        train: &Dataset,
        cluster: Option<&Cluster<'_>>,
        memory: &MemoryPlan,
    ) -> Result<SplitData> {
        Ok(match params.tree_method {
            TreeMethod::Hist if train.is_binned() => {
                let b = train.binned().expect("a binned data set has its bins");
                if params.max_bin != b.max_bin {
                    return Err(Error::param(
                        "max_bin",
                        format!(
                            "the training data was binned with max_bin={}; train with the same (got {})",
                            b.max_bin, params.max_bin
                        ),
                    ));
                }
                memory.check(BinsAhead::Binned(&b.mapper))?;
                SplitData::Hist(b.mapper.clone(), b.matrix.clone())
            }
            TreeMethod::Hist => {
                let mapper = match cluster {
                    Some(c) => fit_shared(train, params.max_bin, c)?,
                    None => BinMapper::fit(train, params.max_bin),
                };
                memory.check(BinsAhead::Build(&mapper))?;
                let matrix = QuantizedMatrix::build(train, &mapper).bundle(&mapper);
                SplitData::Hist(Arc::new(mapper), Arc::new(matrix))
            }
            TreeMethod::Exact | TreeMethod::Approx => {
                memory.check(BinsAhead::Blocks)?;
                SplitData::Blocks(ColumnBlocks::build(train))
            }
        })
    }

    /// The backend that grows one tree: the device session's when there is one, else the CPU
    /// histogram backend (on the prepared matrix, or on a fresh sketch for `approx`), else the exact
    /// greedy one. Returns it with the pairs node sums are to be recomputed from when the tree is
    /// grown from quantized gradients.
    pub(crate) fn tree_backend<'t>(
        &'t self,
        t: &TreeInputs<'t>,
        session: Option<&'t mut (dyn DeviceSession + '_)>,
        scratch: &'t mut BackendScratch,
    ) -> Result<TreeBackendFor<'t>> {
        Ok(match (self, session) {
            (SplitData::Hist(..), Some(s)) => {
                let gradients = if t.pairs_on_device {
                    TreeGradients::Device { group: t.group }
                } else {
                    TreeGradients::Host(t.fit)
                };
                (s.tree(gradients, t.rows)?, None)
            }
            (SplitData::Hist(mapper, matrix), None) => {
                let root_hist = scratch.roots.get_mut(t.group).and_then(Option::take);
                cpu_hist_backend(t, mapper, matrix, &mut scratch.packed, root_hist)?
            }
            (SplitData::Blocks(blocks), _) if t.params.tree_method == TreeMethod::Exact => (
                Box::new(ExactBackend::new(t.train, blocks, t.fit, t.rows.to_vec(), t.split)),
                None,
            ),
            (SplitData::Blocks(blocks), _) => {
                // The previous tree's sketch goes first, so that two sketches never coexist.
                scratch.sketch = None;
                let fit = t.fit;
                let weight = |r: usize| fit[r].hess.max(0.0) as f64;
                let categorical: Vec<bool> = t.train.feature_types().iter().map(|f| f.is_categorical()).collect();
                let mapper = match t.cluster {
                    Some(c) => sketch_shared(blocks, &weight, t.params.approx_bins(), &categorical, c)?,
                    None => BinMapper::from_blocks(blocks, &weight, t.params.approx_bins(), &categorical),
                };
                let matrix = QuantizedMatrix::build(t.train, &mapper);
                let (mapper, matrix) = &*scratch.sketch.insert((mapper, matrix));
                cpu_hist_backend(t, mapper, matrix, &mut scratch.packed, None)?
            }
        })
    }
}

/// The histogram backend of one tree on the CPU: quantized gradients (packed into `packed`, a
/// buffer reused from tree to tree) when `use_quantized_grad` is on and the pairs can be packed
/// (then the pairs are returned beside it), else f64 sums. `root_hist`: the root's histogram of
/// these packed pairs, when it was built with other outputs' roots.
fn cpu_hist_backend<'a>(
    t: &TreeInputs<'a>,
    mapper: &'a BinMapper,
    matrix: &'a QuantizedMatrix,
    packed: &'a mut Vec<i64>,
    root_hist: Option<Vec<i64>>,
) -> Result<TreeBackendFor<'a>> {
    if t.params.use_quantized_grad {
        if let Some((scale, root, grids)) = quantize_shard(t.fit, t.rows, t.seed, packed, t.cluster)? {
            let packed: &'a [i64] = packed;
            let rows = t.rows.to_vec();
            let backend = match t.cluster {
                Some(c) => HistBackend::quantized_shard(matrix, mapper, packed, scale, root, rows, t.split, c),
                None => {
                    let backend = HistBackend::quantized(matrix, mapper, packed, scale, root, rows, t.split);
                    match root_hist {
                        Some(hist) => backend.with_root_histogram(hist),
                        None => backend,
                    }
                }
            };
            return Ok((Box::new(backend), Some(Renew { fit: t.fit, grids })));
        }
    }
    let backend = HistBackend::new(matrix, mapper, t.fit, t.rows.to_vec(), t.split);
    Ok((Box::new(backend), None))
}
