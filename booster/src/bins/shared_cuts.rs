//! Cut points agreed by the ranks of distributed training. Each rank draws its part of the
//! one-process cut sample (the sample is a rule on global row ids), the parts are gathered in rank
//! order — which is the global row order — and every rank then computes the cuts one process
//! would compute on all the rows.

use rayon::prelude::*;

use crate::bins::blocks::ColumnBlocks;
use crate::bins::cuts::{
    cuts_from_distinct, cuts_from_pairs, distinct_weighted, sampled_pairs, sketch_pairs, BinMapper, CutSample,
    FeatureCuts,
};
use crate::collective::ops::{Cluster, Reader, Writer};
use crate::data::dataset::Dataset;
use crate::error::Result;

/// Features whose samples are gathered in one exchange (bounds the memory of one exchange).
const FEATURES_PER_EXCHANGE: usize = 8;

/// What one feature contributes to the cuts the ranks agree on.
struct FeatureExtent {
    /// Whether some row of this rank misses the feature.
    missing: bool,
    /// For a categorical feature, one more than the largest code on this rank (`None`: numeric).
    categories: Option<usize>,
}

/// A sample pair that can travel in a message.
trait SamplePair: Copy + Send + Sync {
    /// Bytes per pair.
    const WIDTH: usize;
    fn put(self, w: &mut Writer);
    fn get(r: &mut Reader<'_>) -> Result<Self>;
}

impl SamplePair for (f32, f32) {
    const WIDTH: usize = 8;
    fn put(self, w: &mut Writer) {
        w.f32(self.0);
        w.f32(self.1);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self> {
        Ok((r.f32()?, r.f32()?))
    }
}

impl SamplePair for (f32, f64) {
    const WIDTH: usize = 12;
    fn put(self, w: &mut Writer) {
        w.f32(self.0);
        w.f64(self.1);
    }
    fn get(r: &mut Reader<'_>) -> Result<Self> {
        Ok((r.f32()?, r.f64()?))
    }
}

/// The mapper every rank agrees on: missing flags and category ranges reduced over ranks, and each
/// numeric feature's sample pairs (`local(j)` on this rank) gathered in rank order, a few features
/// per exchange, and turned into cuts by `cuts(pairs, has_missing)`.
fn agree<P: SamplePair>(
    extents: Vec<FeatureExtent>,
    cluster: &Cluster<'_>,
    local: impl Fn(usize) -> Vec<P> + Sync,
    cuts: impl Fn(Vec<P>, bool) -> FeatureCuts + Sync,
) -> Result<BinMapper> {
    let nf = extents.len();
    let mut reduced: Vec<i64> = extents
        .iter()
        .flat_map(|e| [e.missing as i64, e.categories.unwrap_or(0) as i64])
        .collect();
    cluster.max_i64(&mut reduced)?;
    let missing = |j: usize| reduced[2 * j] != 0;
    let numeric: Vec<usize> = (0..nf).filter(|&j| extents[j].categories.is_none()).collect();
    let mut features: Vec<Option<FeatureCuts>> = vec![None; nf];
    for chunk in numeric.chunks(FEATURES_PER_EXCHANGE) {
        let mine: Vec<Vec<P>> = chunk.par_iter().map(|&j| local(j)).collect();
        let mut w = Writer::default();
        for pairs in &mine {
            w.u64(pairs.len() as u64);
            pairs.iter().for_each(|p| p.put(&mut w));
        }
        drop(mine);
        let all = cluster.comm.allgather(&w.0)?;
        let mut gathered: Vec<Vec<P>> = vec![Vec::new(); chunk.len()];
        for (rank, bytes) in all.iter().enumerate() {
            let mut r = Reader::new(cluster.comm, rank, bytes);
            for pairs in gathered.iter_mut() {
                for _ in 0..r.count(P::WIDTH)? {
                    pairs.push(P::get(&mut r)?);
                }
            }
        }
        drop(all);
        let done: Vec<FeatureCuts> = chunk
            .par_iter()
            .zip(gathered)
            .map(|(&j, pairs)| cuts(pairs, missing(j)))
            .collect();
        for (&j, c) in chunk.iter().zip(done) {
            features[j] = Some(c);
        }
    }
    let features = (0..nf)
        .map(|j| {
            features[j]
                .take()
                .unwrap_or_else(|| FeatureCuts::categorical(reduced[2 * j + 1] as usize, missing(j)))
        })
        .collect();
    Ok(BinMapper::from_cuts(features))
}

/// [`BinMapper::fit`] over the shards of all ranks: the same mapper on every rank, equal to the
/// one-process mapper of the concatenated data.
pub(crate) fn fit_shared(data: &Dataset, max_bin: usize, cluster: &Cluster<'_>) -> Result<BinMapper> {
    let n = data.num_rows();
    let extents = (0..data.num_features())
        .map(|j| {
            let column = data.column(j);
            let categories = data.feature_type(j).is_categorical().then(|| {
                let mut end = 0usize;
                column.for_each_present(|_, x| end = end.max(x as usize + 1));
                end
            });
            FeatureExtent {
                missing: column.num_present() < n,
                categories,
            }
        })
        .collect();
    let keep = CutSample::new(cluster.total_rows);
    agree(
        extents,
        cluster,
        |j| sampled_pairs(data.column(j), data.weights(), &keep, cluster.row_offset),
        |pairs: Vec<(f32, f32)>, missing| cuts_from_pairs(pairs, missing, max_bin),
    )
}

/// [`BinMapper::from_blocks`] (the approximate method's per-tree sketch) over the shards of all
/// ranks: every rank's weighted sample is gathered in rank order and merged by value (ties in
/// global row order, as one process's blocks hold them).
pub(crate) fn sketch_shared(
    blocks: &ColumnBlocks,
    row_weight: &(dyn Fn(usize) -> f64 + Sync),
    max_bin: usize,
    categorical: &[bool],
    cluster: &Cluster<'_>,
) -> Result<BinMapper> {
    let extents = (0..blocks.num_features())
        .map(|j| FeatureExtent {
            missing: !blocks.is_dense(j),
            categories: categorical
                .get(j)
                .copied()
                .unwrap_or(false)
                .then(|| blocks.feature(j).values.last().map_or(0, |x| *x as usize + 1)),
        })
        .collect();
    let keep = CutSample::new(cluster.total_rows);
    agree(
        extents,
        cluster,
        |j| sketch_pairs(blocks, j, row_weight, &keep, cluster.row_offset),
        |mut pairs: Vec<(f32, f64)>, missing| {
            // A stable sort keeps ties in rank order, so in global row order.
            pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
            let (values, wsum) = distinct_weighted(pairs.into_iter());
            FeatureCuts {
                cuts: cuts_from_distinct(&values, &wsum, max_bin),
                has_missing: missing,
                categorical: false,
            }
        },
    )
}
