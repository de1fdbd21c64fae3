//! Prediction on the device: the training-margin update after every tree (walking the tree over the
//! quantized bins), and batch prediction of a model in memory over raw features.

use std::collections::HashMap;
use std::sync::Arc;

use cudarc::driver::{CudaSlice, PushKernelArg};
use sylvan_booster::backend::objective_for;
use sylvan_booster::backend::BinMapper;
use sylvan_booster::backend::TrainNode;
use sylvan_booster::{
    Booster, CategorySet, Column, Dataset, Error as BoosterError, PredictOptions, PredictOutput, Predictions, Tree,
    MAX_CATEGORIES,
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

/// Trees in the layout of `predict_raw` (and of `predict_raw_cat` for a forest with category-set
/// splits).
#[derive(Debug, Clone, PartialEq)]
pub struct PackedTrees {
    /// 4 u32 per node (one 16-byte load in the kernel): left and right child (global node
    /// indices; [`LEAF`] as the left child of a leaf), feature | default_left << 31 (|
    /// [`CATEGORY_SET`] for a category-set split), and the threshold's bits (the value's bits for a
    /// leaf; for a category-set split, the offset of its set in [`PackedTrees::category_words`]).
    pub nodes: Vec<u32>,
    /// First node of each tree.
    pub first: Vec<u32>,
    /// Output of each tree.
    pub groups: Vec<u32>,
    /// The category sets of the category-set splits, one after the other, each as its number of
    /// bitset words `m` followed by the `m` words (bit `c % 32` of word `c / 32` set when code `c`
    /// is in the set; see `sylvan_booster::CategorySet::words`). Equal sets are stored once. Empty
    /// when no tree has a category-set split: such forests run `predict_raw`, unchanged.
    pub category_words: Vec<u32>,
}

impl PackedTrees {
    /// Whether any node splits by a category set (the forest then runs `predict_raw_cat`).
    pub fn has_category_splits(&self) -> bool {
        !self.category_words.is_empty()
    }
}

/// The left child of a leaf in [`PackedTrees::nodes`].
pub const LEAF: u32 = u32::MAX;

/// Set in a node's third word (feature | default_left << 31) for a category-set split. Features
/// of such forests must be below 2^30 (those of threshold-only forests below 2^31, as before).
pub const CATEGORY_SET: u32 = 1 << 30;

/// The feature bits of a node's third word in a forest with category-set splits.
const CATEGORY_FEATURE_MASK: u32 = CATEGORY_SET - 1;

/// Concatenates trees (tree `t` adds to output `group_of(t)`). A forest without category-set
/// splits is packed exactly as before they existed.
pub fn pack_trees(trees: &[Tree], group_of: impl Fn(usize) -> usize) -> PackedTrees {
    let mut p = PackedTrees {
        nodes: Vec::new(),
        first: Vec::new(),
        groups: Vec::new(),
        category_words: Vec::new(),
    };
    let mut offsets: HashMap<&CategorySet, u32> = HashMap::new();
    for (t, tree) in trees.iter().enumerate() {
        let base = (p.nodes.len() / 4) as u32;
        p.first.push(base);
        p.groups.push(group_of(t) as u32);
        for i in 0..tree.num_nodes() {
            if tree.is_leaf(i) {
                p.nodes.extend_from_slice(&[LEAF, LEAF, 0, tree.value[i].to_bits()]);
                continue;
            }
            let (left, right) = (base + tree.left[i] as u32, base + tree.right[i] as u32);
            let default_left = (tree.default_left[i] as u32) << 31;
            match tree.category_set(i) {
                None => p.nodes.extend_from_slice(&[
                    left,
                    right,
                    (tree.feature[i] & 0x7fff_ffff) | default_left,
                    tree.threshold[i].to_bits(),
                ]),
                Some(set) => {
                    let words = &mut p.category_words;
                    let offset = *offsets.entry(set).or_insert_with(|| {
                        let offset = words.len() as u32;
                        words.push(set.words().len() as u32);
                        words.extend_from_slice(set.words());
                        offset
                    });
                    p.nodes.extend_from_slice(&[
                        left,
                        right,
                        (tree.feature[i] & CATEGORY_FEATURE_MASK) | CATEGORY_SET | default_left,
                        offset,
                    ]);
                }
            }
        }
    }
    p
}

/// Whether `v` is a category code in the set at `offset` of `words` (`words[offset]` bitset words
/// follow), tested as `predict_raw_cat`'s `in_category_set` tests it: the range and integrality
/// test first (a category code is an integer in `0..MAX_CATEGORIES`), then the f32 -> u32
/// conversion (exact there) and the bit.
pub fn packed_set_contains(words: &[u32], offset: u32, v: f32) -> bool {
    // `!(..)` as in the kernel: NaN is no code.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    if !(v >= 0.0 && v < MAX_CATEGORIES as f32 && v == v.trunc()) {
        return false;
    }
    let c = v as u32;
    let set = &words[offset as usize..];
    let w = c >> 5;
    w < set[0] && (set[1 + w as usize] >> (c & 31)) & 1 != 0
}

/// The global index of the leaf of tree `t` that a row falls in, walked as `predict_raw` (or
/// `predict_raw_cat` when the forest has category-set splits) walks it (the kernels' reference).
pub fn packed_leaf(p: &PackedTrees, t: usize, row: &[f32]) -> usize {
    let cat = p.has_category_splits();
    let mut j = p.first[t] as usize;
    loop {
        let nd = &p.nodes[4 * j..4 * j + 4];
        if nd[0] == LEAF {
            return j;
        }
        let default_left = nd[2] >> 31 != 0;
        let left = if cat {
            let v = row[(nd[2] & CATEGORY_FEATURE_MASK) as usize];
            if v.is_nan() {
                default_left
            } else if nd[2] & CATEGORY_SET != 0 {
                packed_set_contains(&p.category_words, nd[3], v)
            } else {
                v < f32::from_bits(nd[3])
            }
        } else {
            Tree::goes_left(row[(nd[2] & 0x7fff_ffff) as usize], f32::from_bits(nd[3]), default_left)
        };
        j = if left { nd[0] } else { nd[1] } as usize;
    }
}

/// The leaf value of tree `t` for one row, walked as `predict_raw` walks it (the kernel's
/// reference; see [`packed_leaf`]).
pub fn packed_predict_row(p: &PackedTrees, t: usize, row: &[f32]) -> f32 {
    f32::from_bits(p.nodes[4 * packed_leaf(p, t, row) + 3])
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
        // DART models add each tree times its weight: the trees are packed scaled.
        let packed = pack_trees(&booster.weighted_trees()[start..end], |t| booster.tree_group(start + t));
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
        // The category sets, for predict_raw_cat (threshold-only forests upload nothing more).
        let category_words = if packed.has_category_splits() {
            Some(s.clone_htod(&packed.category_words).ctx("uploading trees")?)
        } else {
            None
        };
        let kernel = gpu.function(if category_words.is_some() {
            "predict_raw_cat"
        } else {
            "predict_raw"
        })?;
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
            {
                let mut builder = s.launch_builder(kernel);
                builder
                    .arg(&x_dev)
                    .arg(&n32)
                    .arg(&nf32)
                    .arg(&nodes)
                    .arg(&first)
                    .arg(&groups)
                    .arg(&ntrees)
                    .arg(&k32)
                    .arg(&mut m_dev)
                    .arg(&sh32);
                if let Some(words) = &category_words {
                    builder.arg(words);
                }
                // SAFETY: matches predict_raw's signature (predict_raw_cat's, with the category words,
                // when the forest has category-set splits); x_dev holds at least nf x rows values
                // (feature f of row i at f * rows + i), the shared memory nf x threads floats when
                // used; every tree's children point inside the packed nodes and end in leaves,
                // features are below nf, every set offset points at a word count followed by that many
                // words; m_dev holds at least rows x k values.
                unsafe { builder.launch(cfg) }.ctx("predict_raw")?;
            }
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
        // Threshold-only forests: the layout predict_raw has always read, no category words.
        assert!(!p.has_category_splits());
        assert_eq!(
            &p.nodes[..8],
            &[1, 2, 1 | 1 << 31, 0.5f32.to_bits(), 3, 4, 0, 2.0f32.to_bits()]
        );
        for row in [[1.0, 0.1], [2.5, 0.4], [9.0, 0.5], [0.0, f32::NAN], [f32::NAN, 0.0]] {
            for tr in 0..2 {
                assert_eq!(packed_predict_row(&p, tr, &row), t.predict_row(&row), "{row:?}");
            }
        }
    }

    /// Values around every case of the category-set rule: codes, non-codes (negative, fractional,
    /// too large, infinite, NaN) and the edges of the f32 -> u32 conversion.
    fn probes() -> Vec<f32> {
        let mut v: Vec<f32> = (0..1100).map(|c| c as f32).collect();
        v.extend([
            -0.0,
            -1.0,
            -0.5,
            0.5,
            2.5,
            31.000002,
            f32::from_bits(32.0f32.to_bits() - 1),
            65534.0,
            65535.0,
            65535.5,
            65536.0,
            1e9,
            4294967296.0,
            4294967295.0,
            -4294967296.0,
            f32::MAX,
            f32::MIN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::from_bits(1),
        ]);
        v
    }

    #[test]
    fn set_membership_is_sylvans_rule() {
        let sets = [
            CategorySet::from_codes([0]),
            CategorySet::from_codes([1, 2, 31, 32, 33]),
            CategorySet::from_codes((0..1000).filter(|c| c % 3 == 0)),
            CategorySet::from_codes([65534]),
            CategorySet::from_codes([5, 65535, 70000]),
            CategorySet::default(),
        ];
        let mut words = vec![7u32, 7]; // something before the sets: offsets are used
        let offsets: Vec<u32> = sets
            .iter()
            .map(|s| {
                let o = words.len() as u32;
                words.push(s.words().len() as u32);
                words.extend_from_slice(s.words());
                o
            })
            .collect();
        for (set, &o) in sets.iter().zip(&offsets) {
            for v in probes() {
                assert_eq!(
                    packed_set_contains(&words, o, v),
                    set.contains_value(v),
                    "{v} in {:?}",
                    set.codes().collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn kernel_uses_sylvans_category_range() {
        let src = include_str!("kernels/predict.cu");
        assert!(src.contains(&format!("#define SYLVAN_MAX_CATEGORIES {MAX_CATEGORIES}.0f")));
        assert!(src.contains(&format!("#define CATEGORY_SET 0x{CATEGORY_SET:08x}u")));
    }

    /// A hash of `(salt, code)` in [-1, 1): a per-category effect with no order in the codes.
    fn effect(salt: u64, code: u32) -> f64 {
        let mut h = salt << 32 | code as u64;
        h = (h ^ (h >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        h = (h ^ (h >> 33)).wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        ((h ^ (h >> 33)) >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }

    /// Categorical features of cardinalities 4, 40 and 300 (5 % missing) and two numeric ones.
    fn categorical_data(n: usize, seed: u64, classes: usize) -> (Vec<Vec<f32>>, Vec<f32>) {
        let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let mut uniform = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let cards = [4u32, 40, 300];
        let mut cols: Vec<Vec<f32>> = (0..5).map(|_| Vec::with_capacity(n)).collect();
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let mut t = 0.0;
            for (j, &k) in cards.iter().enumerate() {
                let u = uniform();
                let code = ((u * u * k as f64) as u32).min(k - 1);
                t += effect(j as u64, code);
                cols[j].push(if uniform() < 0.05 { f32::NAN } else { code as f32 });
            }
            let (a, b) = (uniform() * 2.0 - 1.0, uniform() * 2.0 - 1.0);
            t += 0.7 * a + 0.3 * uniform();
            cols[3].push(a as f32);
            cols[4].push(if uniform() < 0.1 { f32::NAN } else { b as f32 });
            labels.push(if classes > 1 {
                ((t + 1.5).clamp(0.0, 2.99) as usize % classes) as f32
            } else {
                (t > 0.2) as u8 as f32
            });
        }
        (cols, labels)
    }

    /// A model with category-set splits trained on the CPU, and held-out columns with every kind
    /// of value in the categorical ones (unseen codes, fractional, negative, huge and infinite
    /// values, missing values).
    fn categorical_model(objective: &str, classes: usize) -> (Booster, Vec<Vec<f32>>) {
        let (cols, labels) = categorical_data(3000, 7 + classes as u64, classes);
        let train = Dataset::from_columns(cols)
            .and_then(|d| d.with_labels(labels))
            .and_then(|d| d.with_categorical(&[0, 1, 2]))
            .unwrap();
        let mut params = sylvan_booster::Params::default();
        params.set("objective", objective).unwrap();
        params.set("num_round", "12").unwrap();
        params.set("nthread", "2").unwrap();
        params.set("min_data_per_group", "10").unwrap();
        if classes > 1 {
            params.set("num_class", &classes.to_string()).unwrap();
        }
        let booster = Booster::train(&params, &train, &[]).unwrap();
        let (mut cols, _) = categorical_data(600, 99, classes);
        for (i, (c, v)) in cols[1].iter_mut().zip(probes().iter().cycle().skip(1000)).enumerate() {
            if i % 3 == 0 {
                *c = *v;
            }
        }
        for (i, c) in cols[2].iter_mut().enumerate() {
            match i % 5 {
                0 => *c = 300.0 + (i % 50) as f32, // unseen
                1 => *c = (i % 300) as f32 + 0.5,  // fractional
                _ => {}
            }
        }
        (booster, cols)
    }

    /// The columns as a Dataset holds them (no infinities: those become missing).
    fn finite_dataset(cols: &[Vec<f32>]) -> Dataset {
        let finite: Vec<Vec<f32>> = cols
            .iter()
            .map(|c| c.iter().map(|v| if v.is_infinite() { f32::NAN } else { *v }).collect())
            .collect();
        Dataset::from_columns(finite).unwrap()
    }

    const CATEGORICAL_CASES: [(&str, usize); 2] = [("binary:logistic", 1), ("multi:softprob", 3)];

    /// The packed layout walked on the host (the kernels' reference) against `Tree::leaf_index`
    /// and `Booster::predict` for a model with category-set splits, on rows with unseen codes,
    /// non-codes and missing values.
    #[test]
    fn packed_category_sets_predict_like_the_booster() {
        for (objective, classes) in CATEGORICAL_CASES {
            let (booster, cols) = categorical_model(objective, classes);
            let trees = booster.trees();
            assert!(trees.iter().any(Tree::has_category_splits), "{objective}: set splits");
            let p = pack_trees(trees, |t| booster.tree_group(t));
            assert!(p.has_category_splits());
            // Equal sets are stored once.
            let distinct: std::collections::HashSet<&CategorySet> =
                trees.iter().flat_map(|t| t.categories.sets.iter()).collect();
            let stored: usize = distinct.iter().map(|s| 1 + s.words().len()).sum();
            assert_eq!(p.category_words.len(), stored);

            let rows = cols[0].len();
            for i in 0..rows {
                let r: Vec<f32> = cols.iter().map(|c| c[i]).collect();
                for (t, tree) in trees.iter().enumerate() {
                    assert_eq!(
                        packed_leaf(&p, t, &r),
                        p.first[t] as usize + tree.leaf_index(&r),
                        "{objective}: tree {t}, row {r:?}"
                    );
                }
            }
            // Margins as predict_raw_cat sums them (base margin, then the trees in order, f64),
            // against Booster::predict on the rows a Dataset holds.
            let data = finite_dataset(&cols);
            let options = PredictOptions {
                output: PredictOutput::Margin,
                ..Default::default()
            };
            let want = booster.predict(&data, options).unwrap();
            let k = booster.num_groups();
            let mut max_diff = 0f64;
            let mut r = vec![0f32; data.num_features()];
            for i in 0..rows {
                for (x, c) in r.iter_mut().zip(data.columns()) {
                    c.copy_rows(i, i + 1, std::slice::from_mut(x));
                }
                let mut m = booster.base_margin().to_vec();
                for t in 0..trees.len() {
                    m[p.groups[t] as usize] += packed_predict_row(&p, t, &r) as f64;
                }
                for (a, b) in m.iter().zip(&want.values[i * k..(i + 1) * k]) {
                    max_diff = max_diff.max((*a as f32 - b).abs() as f64);
                }
            }
            assert_eq!(max_diff, 0.0, "{objective}: margins of the packed layout");
        }
    }

    /// On a GPU only (skips with the reason elsewhere): `GpuPredictor` (`predict_raw_cat`) against
    /// `Booster::predict` on the categorical models, values and margins.
    #[test]
    fn gpu_predicts_category_sets_like_the_booster() {
        if let Some(reason) = crate::unavailable_reason(0) {
            eprintln!("NOT RUN (no GPU): gpu_predicts_category_sets_like_the_booster: {reason}");
            return;
        }
        let predictor = GpuPredictor::new(0).unwrap();
        for (objective, classes) in CATEGORICAL_CASES {
            let (booster, cols) = categorical_model(objective, classes);
            let data = finite_dataset(&cols);
            for output in [PredictOutput::Value, PredictOutput::Margin] {
                let options = PredictOptions {
                    output,
                    ..Default::default()
                };
                let want = booster.predict(&data, options).unwrap();
                let got = predictor.predict(&booster, &data, options).unwrap();
                assert_eq!((got.num_rows, got.num_cols), (want.num_rows, want.num_cols));
                let worst = got
                    .values
                    .iter()
                    .zip(&want.values)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0f32, f32::max);
                eprintln!("{objective} {output:?}: GPU vs CPU, max |diff| {worst:e}");
                assert!(worst <= 1e-6, "{objective} {output:?}: max |diff| {worst}");
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
