//! Prediction on the device: the training-margin update after every tree (walking the tree over the
//! quantized bins), and batch prediction of a model in memory over raw features.

use std::sync::Arc;

use cudarc::driver::{CudaSlice, PushKernelArg};
use sylvan_booster::backend::objective_for;
use sylvan_booster::backend::BinMapper;
use sylvan_booster::backend::TrainNode;
use sylvan_booster::{
    Booster, Column, Dataset, Error as BoosterError, PredictOptions, PredictOutput, Predictions, Tree,
};

use crate::context::Gpu;
use crate::error::{Ctx, Result};
use crate::hist::DeviceBins;
use crate::launch::{self, BinKernel};

/// A grown tree in the layout of `update_margins_*`: 6 i32 per node (left, right, feature, split
/// bin, default_left, the feature's missing bin; -1 children for leaves) and the node values.
pub fn pack_training_tree(nodes: &[TrainNode], tree: &Tree, mapper: &BinMapper) -> (Vec<i32>, Vec<f32>) {
    let mut out = Vec::with_capacity(nodes.len() * 6);
    for n in nodes {
        match &n.split {
            Some(s) => out.extend_from_slice(&[
                n.left as i32,
                n.right as i32,
                s.feature as i32,
                s.bin as i32,
                s.default_left as i32,
                mapper.feature(s.feature).missing_bin() as i32,
            ]),
            None => out.extend_from_slice(&[-1, -1, 0, 0, 0, 0]),
        }
    }
    (out, tree.value.clone())
}

/// Adds a tree's leaf values to the device's training margins of output `group`.
#[allow(clippy::too_many_arguments)]
pub fn update_margins(
    gpu: &Gpu,
    bins: &DeviceBins,
    nf: usize,
    n: usize,
    nodes: &[i32],
    values: &[f32],
    margins: &mut CudaSlice<f64>,
    k: usize,
    group: usize,
) -> Result<()> {
    if n == 0 {
        return Ok(());
    }
    let nodes_dev = gpu.stream.clone_htod(nodes).ctx("uploading a tree")?;
    let values_dev = gpu.stream.clone_htod(values).ctx("uploading a tree")?;
    let (nf32, n32, k32, g32) = (nf as u32, n as u32, k as u32, group as u32);
    let cfg = launch::grid_stride(n);
    let (mut args, _) = launch::with_bins(gpu, BinKernel::UPDATE_MARGINS, bins)?;
    args.arg(&nf32)
        .arg(&n32)
        .arg(&nodes_dev)
        .arg(&values_dev)
        .arg(margins)
        .arg(&k32)
        .arg(&g32);
    // SAFETY: the argument list (bins pushed by `with_bins`, then the rest) matches
    // update_margins_*'s signature; the tree's children point inside it and end in leaves, features
    // are below nf, margins hold n x k values.
    unsafe { args.launch(cfg) }.ctx("update_margins")?;
    Ok(())
}

/// Trees in the layout of `predict_raw`.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedTrees {
    /// 4 u32 per node (one 16-byte load in the kernel): left and right child (global node
    /// indices; [`LEAF`] as the left child of a leaf), feature | default_left << 31, and the
    /// threshold's bits (the value's bits for a leaf).
    pub nodes: Vec<u32>,
    /// First node of each tree.
    pub first: Vec<u32>,
    /// Output of each tree.
    pub groups: Vec<u32>,
}

/// The left child of a leaf in [`PackedTrees::nodes`].
pub const LEAF: u32 = u32::MAX;

/// Concatenates trees (tree `t` adds to output `group_of(t)`).
pub fn pack_trees(trees: &[Tree], group_of: impl Fn(usize) -> usize) -> PackedTrees {
    let mut p = PackedTrees {
        nodes: Vec::new(),
        first: Vec::new(),
        groups: Vec::new(),
    };
    for (t, tree) in trees.iter().enumerate() {
        let base = (p.nodes.len() / 4) as u32;
        p.first.push(base);
        p.groups.push(group_of(t) as u32);
        for i in 0..tree.num_nodes() {
            if tree.is_leaf(i) {
                p.nodes.extend_from_slice(&[LEAF, LEAF, 0, tree.value[i].to_bits()]);
            } else {
                p.nodes.extend_from_slice(&[
                    base + tree.left[i] as u32,
                    base + tree.right[i] as u32,
                    (tree.feature[i] & 0x7fff_ffff) | ((tree.default_left[i] as u32) << 31),
                    tree.threshold[i].to_bits(),
                ]);
            }
        }
    }
    p
}

/// The leaf value of tree `t` for one row, walked as `predict_raw` walks it (the kernel's
/// reference).
pub fn packed_predict_row(p: &PackedTrees, t: usize, row: &[f32]) -> f32 {
    let mut nd = &p.nodes[4 * p.first[t] as usize..][..4];
    while nd[0] != LEAF {
        let v = row[(nd[2] & 0x7fff_ffff) as usize];
        let left = Tree::goes_left(v, f32::from_bits(nd[3]), nd[2] >> 31 != 0);
        let j = if left { nd[0] } else { nd[1] } as usize;
        nd = &p.nodes[4 * j..4 * j + 4];
    }
    f32::from_bits(nd[3])
}

/// Bytes of raw features on the device per batch (bigger data is predicted in batches of rows).
const PREDICT_BATCH_BYTES: usize = 1 << 30;

/// Dynamic shared memory `predict_raw` may use per block (the default limit of every device).
const PREDICT_SHARED_BYTES: usize = 48 << 10;

/// Threads per block of `predict_raw` and whether the block's features fit in shared memory: the
/// largest of 256, 128, 64, 32 threads whose `nf` x threads floats fit; otherwise 256 threads
/// reading global memory.
pub fn predict_block(nf: usize) -> (u32, bool) {
    for threads in [256usize, 128, 64, 32] {
        if nf.max(1) * threads * 4 <= PREDICT_SHARED_BYTES {
            return (threads as u32, true);
        }
    }
    (256, false)
}

/// Batch prediction of in-memory models on one GPU.
#[derive(Debug, Clone)]
pub struct GpuPredictor {
    gpu: Arc<Gpu>,
}

impl GpuPredictor {
    /// A predictor on GPU `ordinal` (clear errors when there is no driver or device).
    pub fn new(ordinal: usize) -> Result<GpuPredictor> {
        Ok(GpuPredictor {
            gpu: Arc::new(Gpu::open(ordinal)?),
        })
    }

    /// A predictor sharing an opened GPU.
    pub fn with_gpu(gpu: Arc<Gpu>) -> GpuPredictor {
        GpuPredictor { gpu }
    }

    /// Predicts like [`Booster::predict`], summing the trees on the GPU. Leaf indices, and models
    /// with custom objectives, are predicted on the CPU.
    pub fn predict(&self, booster: &Booster, data: &Dataset, options: PredictOptions) -> Result<Predictions> {
        let builtin = booster.objective_name() == booster.params().objective.name();
        if options.output == PredictOutput::LeafIndex || !builtin {
            return Ok(booster.predict(data, options)?);
        }
        if data.num_features() != booster.num_features() {
            return Err(BoosterError::ShapeMismatch {
                what: "number of features of the data vs the model".into(),
                expected: booster.num_features(),
                got: data.num_features(),
            }
            .into());
        }
        let per_round = booster.trees_per_round();
        let rounds = booster.num_rounds();
        let (a, b) = match options.iteration_range {
            Some((a, b)) if a < b && b <= rounds => (a, b),
            Some((a, b)) => {
                return Err(BoosterError::param(
                    "iteration_range",
                    format!("({a}, {b}) must satisfy start < end <= {rounds}"),
                )
                .into())
            }
            None => (0, booster.best_iteration().map_or(rounds, |b| b + 1)),
        };
        let (start, end) = (a * per_round, b * per_round);
        let k = booster.num_groups();
        let packed = pack_trees(&booster.trees()[start..end], |t| booster.tree_group(start + t));
        let margins = self.margins(&packed, booster.base_margin(), data, k)?;
        if options.output == PredictOutput::Margin {
            return Ok(Predictions {
                values: margins.iter().map(|v| *v as f32).collect(),
                num_rows: data.num_rows(),
                num_cols: k,
            });
        }
        let objective = objective_for(booster.params());
        let cols = objective.prediction_columns();
        let mut values = vec![0f32; data.num_rows() * cols];
        let mut row = vec![0f32; k];
        for (o, m) in values.chunks_exact_mut(cols).zip(margins.chunks_exact(k)) {
            for (r, v) in row.iter_mut().zip(m) {
                *r = *v as f32;
            }
            objective.predict_row(&row, o);
        }
        Ok(Predictions {
            values,
            num_rows: data.num_rows(),
            num_cols: cols,
        })
    }

    /// Margins (rows x k, f64) of the packed trees over `data`, starting from the data's base
    /// margins or `base`.
    pub fn margins(&self, packed: &PackedTrees, base: &[f64], data: &Dataset, k: usize) -> Result<Vec<f64>> {
        let n = data.num_rows();
        let nf = data.num_features();
        let mut margins: Vec<f64> = match data.base_margin() {
            Some(m) if m.len() == n * k => m.iter().map(|v| *v as f64).collect(),
            Some(m) => {
                return Err(BoosterError::ShapeMismatch {
                    what: "base_margin (rows x outputs)".into(),
                    expected: n * k,
                    got: m.len(),
                }
                .into())
            }
            None => (0..n * k).map(|i| base[i % k]).collect(),
        };
        if n == 0 || packed.first.is_empty() {
            return Ok(margins);
        }
        let gpu = &self.gpu;
        gpu.ctx.bind_to_thread().ctx("binding the CUDA context")?;
        let s = &gpu.stream;
        // Trees once, whatever the number of batches.
        let nodes = s.clone_htod(&packed.nodes).ctx("uploading trees")?;
        let first = s.clone_htod(&packed.first).ctx("uploading trees")?;
        let groups = s.clone_htod(&packed.groups).ctx("uploading trees")?;
        let ntrees = packed.first.len() as u32;
        let batch = (PREDICT_BATCH_BYTES / (4 * nf.max(1))).clamp(1, n);
        // Device buffers for the largest batch, reused by every batch.
        let mut x_dev = s.alloc_zeros::<f32>(batch * nf.max(1)).ctx("allocating features")?;
        let mut m_dev = s.alloc_zeros::<f64>(batch * k).ctx("allocating margins")?;
        let (threads, shared) = predict_block(nf);
        let mut sparse = Vec::new();
        for (b, out) in margins.chunks_mut(batch * k).enumerate() {
            let start = b * batch;
            let rows = out.len() / k;
            // Column-major, as the dataset holds it: a dense column's rows are uploaded straight
            // from it (no host copy), feature f's at f x rows; a sparse column is expanded first.
            for (f, column) in data.columns().iter().enumerate() {
                let mut dst = x_dev.slice_mut(f * rows..(f + 1) * rows);
                match column {
                    Column::Dense(v) => s.memcpy_htod(&v[start..start + rows], &mut dst),
                    Column::Sparse { .. } => {
                        sparse.clear();
                        sparse.resize(rows, f32::NAN);
                        column.copy_rows(start, start + rows, &mut sparse);
                        s.memcpy_htod(&sparse, &mut dst)
                    }
                }
                .ctx("uploading features")?;
            }
            s.memcpy_htod(&*out, &mut m_dev.slice_mut(0..rows * k))
                .ctx("uploading margins")?;
            let (n32, nf32, k32, sh32) = (rows as u32, nf as u32, k as u32, shared as u32);
            let cfg = launch::grid_stride_with(
                rows,
                threads,
                launch::shared_bytes::<f32>(shared, nf * threads as usize),
            );
            // SAFETY: matches predict_raw's signature; x_dev holds at least nf x rows values
            // (feature f of row i at f * rows + i), the shared memory nf x threads floats when
            // used; every tree's children point inside the packed nodes and end in leaves,
            // features are below nf; m_dev holds at least rows x k values.
            unsafe {
                s.launch_builder(gpu.function("predict_raw")?)
                    .arg(&x_dev)
                    .arg(&n32)
                    .arg(&nf32)
                    .arg(&nodes)
                    .arg(&first)
                    .arg(&groups)
                    .arg(&ntrees)
                    .arg(&k32)
                    .arg(&mut m_dev)
                    .arg(&sh32)
                    .launch(cfg)
            }
            .ctx("predict_raw")?;
            s.memcpy_dtoh(&m_dev.slice(0..rows * k), out)
                .ctx("downloading margins")?;
            gpu.sync()?;
        }
        Ok(margins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_trees_predict_like_trees() {
        // x1 < 0.5 (missing left) ? (x0 < 2 ? -1 : 3) : 2
        let t = Tree {
            left: vec![1, 3, -1, -1, -1],
            right: vec![2, 4, -1, -1, -1],
            feature: vec![1, 0, 0, 0, 0],
            threshold: vec![0.5, 2.0, 0.0, 0.0, 0.0],
            default_left: vec![true, false, false, false, false],
            value: vec![0.0, 0.0, 2.0, -1.0, 3.0],
            gain: vec![0.0; 5],
            cover: vec![0.0; 5],
            categories: Default::default(),
        };
        let p = pack_trees(&[t.clone(), t.clone()], |i| i % 2);
        assert_eq!(p.nodes.len(), 4 * 10);
        assert_eq!(p.first, vec![0, 5]);
        assert_eq!(p.groups, vec![0, 1]);
        for row in [[1.0, 0.1], [2.5, 0.4], [9.0, 0.5], [0.0, f32::NAN], [f32::NAN, 0.0]] {
            for tr in 0..2 {
                assert_eq!(packed_predict_row(&p, tr, &row), t.predict_row(&row), "{row:?}");
            }
        }
    }

    #[test]
    fn prediction_blocks_fit_shared_memory() {
        assert_eq!(predict_block(28), (256, true));
        assert_eq!(predict_block(48), (256, true));
        assert_eq!(predict_block(49), (128, true));
        assert_eq!(predict_block(384), (32, true));
        assert_eq!(predict_block(385), (256, false));
        assert_eq!(predict_block(0), (256, true));
    }
}
