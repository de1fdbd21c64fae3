//! The seam to accelerator backends (the CUDA backend lives in `sylvan-gpu`; this crate depends on no
//! GPU library).
//!
//! A [`DeviceBackend`] is handed to training through [`crate::TrainOptions::device`]. When
//! `params.device` is `cuda`, the boosting loop starts one [`DeviceSession`] per training (which
//! uploads the quantized matrix once), asks it for gradients every round (it may decline, and the
//! host computes them), takes a [`TreeBackend`] from it for every tree — the same seam the CPU
//! histogram method implements — and tells it about every finished tree so that it can update its
//! copy of the predictions.

use crate::bins::cuts::BinMapper;
use crate::bins::matrix::QuantizedMatrix;
use crate::data::dataset::Dataset;
use crate::error::Result;
use crate::gradients::GradPair;
use crate::model::tree::Tree;
use crate::params::Params;
use crate::train::grow::{TrainNode, TreeBackend};
use crate::train::split::SplitParams;

/// Everything a device session may need about one training run.
pub struct DeviceSetup<'a> {
    /// The training parameters (`params.device` says which device).
    pub params: &'a Params,
    /// The training data (labels, weights).
    pub train: &'a Dataset,
    /// The cuts of every feature.
    pub mapper: &'a BinMapper,
    /// The training data quantized with `mapper`.
    pub matrix: &'a QuantizedMatrix,
    /// The split regularisation.
    pub split: SplitParams,
    /// Outputs per round (trees per round = `num_groups * num_parallel_tree`).
    pub num_groups: usize,
    /// Whether the objective is the built-in `params.objective` (not a custom one), so that the
    /// device may compute its gradients itself.
    pub builtin_objective: bool,
}

/// The gradient pairs a tree is fitted to.
#[derive(Debug, Clone, Copy)]
pub enum TreeGradients<'g> {
    /// Pairs computed on the host, one per training row.
    Host(&'g [GradPair]),
    /// The pairs of output `group` that the session computed in its last
    /// [`DeviceSession::gradients`] call (row `i`'s pair is at `i * num_groups + group`).
    Device {
        /// The output.
        group: usize,
    },
}

/// A hardware backend that can grow trees (e.g. `sylvan_gpu::CudaBackend`).
pub trait DeviceBackend: Send + Sync {
    /// A short description of the device (for messages).
    fn describe(&self) -> String;
    /// Starts a training session: uploads what stays on the device for the whole training.
    fn start<'a>(&self, setup: DeviceSetup<'a>) -> Result<Box<dyn DeviceSession + 'a>>;
}

/// One training run on a device.
pub trait DeviceSession {
    /// Computes this round's gradient pairs on the device from the session's own copy of the
    /// training margins (taken from `margins` on the first call, then kept up to date by
    /// [`DeviceSession::after_tree`]). Returns `Ok(false)` when the device does not support the
    /// objective (the host then computes them). When `need_host` is true, `out` (rows x outputs)
    /// must be filled with the pairs; otherwise it may be left as it is.
    fn gradients(&mut self, margins: &[f64], out: &mut [GradPair], need_host: bool) -> Result<bool>;

    /// A tree backend over `rows` (this tree's sampled rows, ascending) fitted to `gradients`.
    /// Errors that happen inside the [`TreeBackend`] calls (which cannot fail) are kept and returned
    /// by the next [`DeviceSession::after_tree`].
    fn tree(&mut self, gradients: TreeGradients<'_>, rows: &[u32]) -> Result<Box<dyn TreeBackend + '_>>;

    /// Called after every tree, once its backend is dropped: `nodes` as grown, `tree` with its leaf
    /// values, for output `group`. Updates the device's training margins and reports any error kept
    /// since the last call.
    fn after_tree(&mut self, nodes: &[TrainNode], tree: &Tree, group: usize) -> Result<()>;
}
