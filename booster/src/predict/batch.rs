//! Batch prediction over blocks of rows: each block's values of the features the trees read are
//! taken column by column into a small buffer (as order-preserving keys, see
//! [`crate::predict::packed::PackedForest::add_rows`]; row by row for leaf indices), then every tree is
//! walked for every row of the block. Blocks run in parallel; each row's sum is taken in tree order,
//! so results never depend on the thread count.

use rayon::prelude::*;

use crate::data::dataset::Dataset;
use crate::model::tree::Tree;
use crate::predict::packed::PackedForest;

/// Rows per prediction block.
const BLOCK: usize = 256;

/// The most bytes of feature values one block of [`add_trees`] holds: blocks of wide data (more than
/// 256 features read) have fewer rows, so that the block's keys and the trees' nodes both stay in
/// the core's L2 cache (on the 40,000 x 1,000 benchmark, 64-row blocks predicted 3% faster than
/// 128-row ones, 32-row ones 20% slower). Counted in features read: the second copies of the
/// features that category-set splits, or splits sending missing values left, read (see
/// [`crate::predict::column_walk`]) can make a block up to three times as large.
const BLOCK_BYTES: usize = 256 * 1024;

/// Runs `f(rows, out)` over blocks of rows in parallel: `rows` holds the block's rows row-major
/// (`num_features` values each), `out` the block's `width` outputs per row.
fn for_each_block<T: Send>(data: &Dataset, out: &mut [T], width: usize, f: impl Fn(&[f32], &mut [T]) + Sync) {
    let n = data.num_rows();
    out.par_chunks_mut(BLOCK * width.max(1))
        .enumerate()
        .for_each(|(b, out)| {
            let start = b * BLOCK;
            let mut buf = Vec::new();
            data.rows_into(start, (start + BLOCK).min(n), &mut buf);
            f(&buf, out);
        });
}

/// Trees laid out for batch prediction ([`PackedForest::for_batch`]) with the rows of a block.
#[derive(Debug, Clone)]
pub struct BatchForest {
    /// The layout.
    forest: PackedForest,
    /// Rows per block: [`BLOCK`], or fewer (a multiple of 8) when that many rows of the features
    /// read would not fit [`BLOCK_BYTES`].
    rows: usize,
}

impl BatchForest {
    /// Lays out `trees` (tree `t` adds to output `group_of(t)`) for [`BatchForest::add`]; worth
    /// keeping when the same trees predict again (a [`crate::Booster`] keeps its own).
    pub fn new(trees: &[Tree], group_of: impl Fn(usize) -> usize) -> BatchForest {
        let nf = trees
            .iter()
            .flat_map(|t| {
                (0..t.num_nodes())
                    .filter(|&i| !t.is_leaf(i))
                    .map(|i| t.feature[i] as usize + 1)
            })
            .max()
            .unwrap_or(0);
        let rows = (BLOCK_BYTES / 4 / nf.max(1)).clamp(8, BLOCK) / 8 * 8;
        let forest = PackedForest::for_batch(trees, group_of, rows);
        debug_assert_eq!(forest.num_features(), nf);
        BatchForest { forest, rows }
    }

    /// Adds every tree's leaf value to `margins` (`num_rows * num_groups`, row-major), blocks of
    /// rows in parallel, each row's sum in tree order.
    pub fn add(&self, data: &Dataset, num_groups: usize, margins: &mut [f64]) {
        let (n, rows) = (data.num_rows(), self.rows);
        margins
            .par_chunks_mut(rows * num_groups.max(1))
            .enumerate()
            .for_each(|(b, out)| {
                let (start, end) = (b * rows, ((b + 1) * rows).min(n));
                match data.bin_value_columns(start, end) {
                    Some(columns) => self.forest.add_rows(&columns, 0, end - start, out, num_groups),
                    None => self.forest.add_rows(data.columns(), start, end, out, num_groups),
                }
            });
    }
}

/// Adds every tree's leaf value to `margins` (`num_rows * num_groups`, row-major). Tree `t` of the
/// slice belongs to output `group_of(t)`. The same as [`BatchForest::new`] then
/// [`BatchForest::add`].
pub fn add_trees(
    trees: &[Tree],
    group_of: impl Fn(usize) -> usize + Sync,
    data: &Dataset,
    num_groups: usize,
    margins: &mut [f64],
) {
    BatchForest::new(trees, group_of).add(data, num_groups, margins);
}

/// The leaf index of every row in every tree (`num_rows * trees.len()`, row-major).
pub fn leaf_indices(trees: &[Tree], data: &Dataset) -> Vec<f32> {
    let nt = trees.len();
    let nf = data.num_features();
    let mut out = vec![0f32; data.num_rows() * nt];
    if nt == 0 {
        return out;
    }
    for_each_block(data, &mut out, nt, |rows, out| {
        for (t, tree) in trees.iter().enumerate() {
            for (k, row) in rows.chunks_exact(nf).enumerate() {
                out[k * nt + t] = tree.leaf_index(row) as f32;
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_prediction_matches_row_by_row() {
        let tree = Tree {
            left: vec![1, -1, -1],
            right: vec![2, -1, -1],
            feature: vec![0, 0, 0],
            threshold: vec![0.0, 0.0, 0.0],
            default_left: vec![false, false, false],
            value: vec![0.0, -1.0, 1.0],
            gain: vec![1.0, 0.0, 0.0],
            cover: vec![1.0; 3],
            categories: Default::default(),
        };
        let col: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 7.0).collect();
        let data = Dataset::from_columns(vec![col.clone()]).unwrap();
        let mut m = vec![0.5f64; 1000];
        add_trees(std::slice::from_ref(&tree), |_| 0, &data, 1, &mut m);
        for (i, x) in col.iter().enumerate() {
            assert_eq!(m[i], 0.5 + tree.predict_row(&[*x]) as f64);
        }
        // A layout kept from one call predicts other data as a fresh one does.
        let kept = BatchForest::new(std::slice::from_ref(&tree), |_| 0);
        let other = Dataset::from_columns(vec![col.iter().rev().step_by(3).copied().collect()]).unwrap();
        let (mut again, mut fresh) = (vec![0.5f64; 1000], vec![0.5f64; other.num_rows()]);
        kept.add(&data, 1, &mut again);
        assert_eq!(again, m);
        kept.add(&other, 1, &mut fresh);
        let mut want = vec![0.5f64; other.num_rows()];
        add_trees(std::slice::from_ref(&tree), |_| 0, &other, 1, &mut want);
        assert_eq!(fresh, want);
        let leaves = leaf_indices(&[tree.clone(), tree], &data);
        assert_eq!(leaves[0], 1.0);
        assert_eq!(leaves[1999], 2.0);
    }
}
