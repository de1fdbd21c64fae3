//! Saabas contributions (XGBoost's `approx_contribs`): along a row's path through a tree, each
//! split's feature is credited with the change of the expected value ([`node_means`]) from the node
//! to the child the row goes to; the bias is the tree's expected value. Fast (one walk per tree)
//! but not Shapley values: features split on near the root get more than their share.

use rayon::prelude::*;

use crate::data::dataset::Dataset;
use crate::explain::paths::node_means;
use crate::model::tree::Tree;

/// Rows per block.
const BLOCK: usize = 256;

/// The Saabas contributions of every row of `data` by `trees` (tree `t` adds to output
/// `group_of(t)`): per row and output, `num_features` values then the bias, which includes the
/// row's `base_margins` (`num_rows * num_groups`).
pub(crate) fn saabas_contributions(
    trees: &[Tree],
    group_of: impl Fn(usize) -> usize + Sync,
    num_groups: usize,
    data: &Dataset,
    base_margins: &[f64],
) -> Vec<f32> {
    let (n, nf) = (data.num_rows(), data.num_features());
    let width = nf + 1;
    let cols = num_groups * width;
    let means: Vec<Vec<f64>> = trees.par_iter().map(node_means).collect();
    let mut out = vec![0f32; n * cols];
    out.par_chunks_mut(BLOCK * cols).enumerate().for_each(|(b, out)| {
        let r0 = b * BLOCK;
        let rows = out.len() / cols;
        let mut x = Vec::new();
        data.rows_into(r0, r0 + rows, &mut x);
        let mut acc = vec![0f64; rows * cols];
        for (r, row) in x.chunks_exact(nf).enumerate() {
            for (g, a) in acc[r * cols..(r + 1) * cols].chunks_exact_mut(width).enumerate() {
                a[nf] = base_margins[(r0 + r) * num_groups + g];
            }
            for (t, (tree, mean)) in trees.iter().zip(&means).enumerate() {
                let a = &mut acc[r * cols + group_of(t) * width..][..width];
                a[nf] += mean[0];
                let mut node = 0;
                while !tree.is_leaf(node) {
                    let child = tree.child(node, row);
                    a[tree.feature[node] as usize] += mean[child] - mean[node];
                    node = child;
                }
            }
        }
        for (o, a) in out.iter_mut().zip(&acc) {
            *o = *a as f32;
        }
    });
    out
}
