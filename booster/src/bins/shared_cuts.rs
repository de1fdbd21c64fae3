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

/// [`BinMapper::fit`] over the shards of all ranks: the same mapper on every rank, equal to the
/// one-process mapper of the concatenated data.
pub(crate) fn fit_shared(data: &Dataset, max_bin: usize, cluster: &Cluster<'_>) -> Result<BinMapper> {
    let nf = data.num_features();
    let n = data.num_rows();
    // Per feature: whether a row misses it, and for categorical features the code range.
    let mut extents: Vec<i64> = Vec::with_capacity(2 * nf);
    for j in 0..nf {
        let column = data.column(j);
        extents.push((column.num_present() < n) as i64);
        let mut end = 0i64;
        if data.feature_type(j).is_categorical() {
            column.for_each_present(|_, x| end = end.max(x as i64 + 1));
        }
        extents.push(end);
    }
    cluster.max_i64(&mut extents)?;
    let keep = CutSample::new(cluster.total_rows);
    let numeric: Vec<usize> = (0..nf).filter(|&j| !data.feature_type(j).is_categorical()).collect();
    let mut features: Vec<Option<FeatureCuts>> = vec![None; nf];
    for chunk in numeric.chunks(FEATURES_PER_EXCHANGE) {
        let local: Vec<Vec<(f32, f32)>> = chunk
            .par_iter()
            .map(|&j| sampled_pairs(data.column(j), data.weights(), &keep, cluster.row_offset))
            .collect();
        let mut w = Writer::default();
        for pairs in &local {
            w.u64(pairs.len() as u64);
            for &(x, weight) in pairs {
                w.f32(x);
                w.f32(weight);
            }
        }
        drop(local);
        let all = cluster.comm.allgather(&w.0)?;
        let mut gathered: Vec<Vec<(f32, f32)>> = vec![Vec::new(); chunk.len()];
        for (rank, bytes) in all.iter().enumerate() {
            let mut r = Reader::new(cluster.comm, rank, bytes);
            for pairs in gathered.iter_mut() {
                for _ in 0..r.count(8)? {
                    pairs.push((r.f32()?, r.f32()?));
                }
            }
        }
        drop(all);
        let cuts: Vec<FeatureCuts> = chunk
            .par_iter()
            .zip(gathered)
            .map(|(&j, pairs)| cuts_from_pairs(pairs, extents[2 * j] != 0, max_bin))
            .collect();
        for (&j, c) in chunk.iter().zip(cuts) {
            features[j] = Some(c);
        }
    }
    let features = (0..nf)
        .map(|j| {
            features[j]
                .take()
                .unwrap_or_else(|| FeatureCuts::categorical(extents[2 * j + 1] as usize, extents[2 * j] != 0))
        })
        .collect();
    Ok(BinMapper::from_cuts(features))
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
    let nf = blocks.num_features();
    let is_categorical = |j: usize| categorical.get(j).copied().unwrap_or(false);
    let mut extents: Vec<i64> = Vec::with_capacity(2 * nf);
    for j in 0..nf {
        extents.push(!blocks.is_dense(j) as i64);
        let end = match is_categorical(j) {
            true => blocks.feature(j).values.last().map_or(0, |x| *x as i64 + 1),
            false => 0,
        };
        extents.push(end);
    }
    cluster.max_i64(&mut extents)?;
    let keep = CutSample::new(cluster.total_rows);
    let numeric: Vec<usize> = (0..nf).filter(|&j| !is_categorical(j)).collect();
    let mut features: Vec<Option<FeatureCuts>> = vec![None; nf];
    for chunk in numeric.chunks(FEATURES_PER_EXCHANGE) {
        let local: Vec<Vec<(f32, f64)>> = chunk
            .par_iter()
            .map(|&j| sketch_pairs(blocks, j, row_weight, &keep, cluster.row_offset))
            .collect();
        let mut w = Writer::default();
        for pairs in &local {
            w.u64(pairs.len() as u64);
            for &(x, weight) in pairs {
                w.f32(x);
                w.f64(weight);
            }
        }
        drop(local);
        let all = cluster.comm.allgather(&w.0)?;
        let mut gathered: Vec<Vec<(f32, f64)>> = vec![Vec::new(); chunk.len()];
        for (rank, bytes) in all.iter().enumerate() {
            let mut r = Reader::new(cluster.comm, rank, bytes);
            for pairs in gathered.iter_mut() {
                for _ in 0..r.count(12)? {
                    pairs.push((r.f32()?, r.f64()?));
                }
            }
        }
        drop(all);
        let cuts: Vec<FeatureCuts> = chunk
            .par_iter()
            .zip(gathered)
            .map(|(&j, mut pairs)| {
                // A stable sort keeps ties in rank order, so in global row order.
                pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
                let (values, wsum) = distinct_weighted(pairs.into_iter());
                FeatureCuts {
                    cuts: cuts_from_distinct(&values, &wsum, max_bin),
                    has_missing: extents[2 * j] != 0,
                    categorical: false,
                }
            })
            .collect();
        for (&j, c) in chunk.iter().zip(cuts) {
            features[j] = Some(c);
        }
    }
    let features = (0..nf)
        .map(|j| {
            features[j]
                .take()
                .unwrap_or_else(|| FeatureCuts::categorical(extents[2 * j + 1] as usize, extents[2 * j] != 0))
        })
        .collect();
    Ok(BinMapper::from_cuts(features))
}
