//! Trees with a value per output in each leaf (`multi_strategy = multi_output_tree`): one tree
//! structure per round for all outputs, its splits chosen by the gain summed over the outputs
//! ([`crate::train::split::multi`]), and each output's leaf values from that output's own sums.
//!
//! The model stores such a tree as one [`Tree`] per output with the same splits, so every
//! prediction path, export and explanation reads it as it reads one tree per output.

use crate::bins::cuts::BinMapper;
use crate::bins::matrix::QuantizedMatrix;
use crate::error::Result;
use crate::gradients::{GradPair, GradStats};
use crate::model::tree::Tree;
use crate::train::cpu_backend::HistBackend;
use crate::train::grow::{SplitRequest, SplitTask, TrainNode, TreeBackend};
use crate::train::split::multi::best_vector_split;
use crate::train::split::{leaf_weight, SplitInfo, SplitParams};

/// Histogram split finding over several outputs at once: one histogram backend per output (the
/// same rows, each output's pairs), split searches over all of their histograms.
pub(crate) struct VectorBackend<'a> {
    outputs: Vec<HistBackend<'a, GradStats>>,
    mapper: &'a BinMapper,
    params: SplitParams,
}

impl<'a> VectorBackend<'a> {
    /// A backend over `rows` whose output `o` is fitted to `pairs[o]` (one pair per row of the
    /// data).
    pub(crate) fn new(
        matrix: &'a QuantizedMatrix,
        mapper: &'a BinMapper,
        pairs: &'a [Vec<GradPair>],
        rows: &[u32],
        params: SplitParams,
    ) -> Self {
        let outputs = pairs
            .iter()
            .map(|p| HistBackend::new(matrix, mapper, p, rows.to_vec(), params))
            .collect();
        VectorBackend {
            outputs,
            mapper,
            params,
        }
    }
}

impl TreeBackend for VectorBackend<'_> {
    /// The root's sums over every output (the grower only carries them along).
    fn root_stats(&self) -> GradStats {
        self.outputs
            .iter()
            .fold(GradStats::default(), |a, o| a + o.root_stats())
    }

    fn find_splits(&mut self, requests: &[SplitRequest]) -> Result<Vec<Option<SplitInfo>>> {
        let per_output: Vec<Vec<Option<&[GradStats]>>> = self
            .outputs
            .iter_mut()
            .map(|o| o.histograms(requests))
            .collect::<Result<_>>()?;
        Ok(requests
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let hists: Option<Vec<&[GradStats]>> = per_output.iter().map(|h| h[i]).collect();
                hists.and_then(|h| best_vector_split(&h, self.mapper, &r.features, &self.params))
            })
            .collect())
    }

    fn apply_splits(&mut self, tasks: &[SplitTask]) -> Result<()> {
        for o in self.outputs.iter_mut() {
            o.apply_splits(tasks)?;
        }
        Ok(())
    }

    fn node_rows(&self, node: usize) -> Result<&[u32]> {
        self.outputs[0].node_rows(node)
    }

    fn add_to_rows(&self, nodes: &[(usize, f64)], out: &mut [f64], stride: usize, offset: usize) -> Result<()> {
        self.outputs[0].add_to_rows(nodes, out, stride, offset)
    }
}

/// Output `output`'s tree of a grown structure: the shared splits, and every node's value (times
/// `eta`) and cover from that output's sums over the node's rows.
pub(crate) fn output_tree(
    nodes: &[TrainNode],
    backend: &dyn TreeBackend,
    pairs: &[GradPair],
    eta: f64,
    sp: &SplitParams,
) -> Result<Tree> {
    let m = nodes.len();
    let mut t = Tree {
        left: vec![-1; m],
        right: vec![-1; m],
        feature: vec![0; m],
        threshold: vec![0.0; m],
        default_left: vec![false; m],
        value: vec![0.0; m],
        gain: vec![0.0; m],
        cover: vec![0.0; m],
        categories: Default::default(),
    };
    // Sums bottom-up: a leaf's from its rows, an internal node's from its children.
    let mut sums = vec![GradStats::default(); m];
    for i in (0..m).rev() {
        sums[i] = match &nodes[i].split {
            Some(_) => sums[nodes[i].left] + sums[nodes[i].right],
            None => {
                let mut s = GradStats::default();
                for &r in backend.node_rows(i)? {
                    s.add_pair(pairs[r as usize]);
                }
                s
            }
        };
    }
    for (i, node) in nodes.iter().enumerate() {
        t.cover[i] = sums[i].hess as f32;
        t.value[i] = (leaf_weight(sums[i], sp) * eta) as f32;
        if let Some(s) = &node.split {
            t.left[i] = node.left as i32;
            t.right[i] = node.right as i32;
            t.feature[i] = s.feature as u32;
            t.threshold[i] = s.threshold;
            t.default_left[i] = s.default_left;
            t.gain[i] = s.gain as f32;
        }
    }
    Ok(t)
}
