//! The splits every rank of a distributed run applies: rank 0's, sent to all. Every rank searches
//! the same reduced histograms and would find the same splits; sending rank 0's makes that hold
//! even across machines whose floating-point code paths differ (e.g. SIMD width).

use crate::collective::ops::{Cluster, Reader, Writer};
use crate::error::Result;
use crate::gradients::GradStats;
use crate::model::categories::CategorySet;
use crate::train::split::SplitInfo;

/// Replaces `splits` on every rank by rank 0's.
pub(crate) fn agree_on_splits(splits: &mut Vec<Option<SplitInfo>>, cluster: &Cluster<'_>) -> Result<()> {
    let mut bytes = if cluster.comm.rank() == 0 {
        encode(splits)
    } else {
        Vec::new()
    };
    cluster.comm.broadcast(&mut bytes, 0)?;
    if cluster.comm.rank() != 0 {
        *splits = decode(&bytes, cluster)?;
    }
    Ok(())
}

fn encode(splits: &[Option<SplitInfo>]) -> Vec<u8> {
    let mut w = Writer::default();
    w.u64(splits.len() as u64);
    for s in splits {
        let Some(s) = s else {
            w.u64(0);
            continue;
        };
        w.u64(1);
        w.u64(s.feature as u64);
        w.u64(s.bin as u64);
        w.f32(s.threshold);
        w.u64(s.default_left as u64);
        for v in [s.gain, s.left.grad, s.left.hess, s.right.grad, s.right.hess] {
            w.f64(v);
        }
        let words = s.categories.as_ref().map_or(&[][..], |c| c.words());
        w.u64(s.categories.is_some() as u64);
        w.u64(words.len() as u64);
        for &word in words {
            w.u64(word as u64);
        }
    }
    w.0
}

fn decode(bytes: &[u8], cluster: &Cluster<'_>) -> Result<Vec<Option<SplitInfo>>> {
    let mut r = Reader::new(cluster.comm, 0, bytes);
    let n = r.count(8)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        if r.u64()? == 0 {
            out.push(None);
            continue;
        }
        let (feature, bin, threshold, default_left) = (r.u64()? as usize, r.u64()? as usize, r.f32()?, r.u64()? != 0);
        let (gain, lg, lh, rg, rh) = (r.f64()?, r.f64()?, r.f64()?, r.f64()?, r.f64()?);
        let is_set = r.u64()? != 0;
        let words: Vec<u32> = (0..r.count(8)?)
            .map(|_| r.u64().map(|w| w as u32))
            .collect::<Result<_>>()?;
        let categories = is_set.then(|| CategorySet::from_words(words));
        out.push(Some(SplitInfo {
            feature,
            bin,
            threshold,
            default_left,
            gain,
            left: GradStats::new(lg, lh),
            right: GradStats::new(rg, rh),
            categories,
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collective::{Collective, LocalCollective};

    #[test]
    fn splits_survive_the_wire() {
        let comm = LocalCollective;
        let cluster = Cluster {
            comm: &comm,
            row_offset: 0,
            total_rows: 1,
            sharded_evals: false,
        };
        let splits = vec![
            None,
            Some(SplitInfo {
                feature: 3,
                bin: 17,
                threshold: 0.25,
                default_left: true,
                gain: 1.5e-3,
                left: GradStats::new(-1.0, 2.0),
                right: GradStats::new(0.5, 7.25),
                categories: None,
            }),
            Some(SplitInfo {
                feature: 1,
                bin: 0,
                threshold: 0.0,
                default_left: false,
                gain: 9.0,
                left: GradStats::new(1.0, 1.0),
                right: GradStats::new(-1.0, 3.0),
                categories: Some(CategorySet::from_codes([0, 5, 40])),
            }),
        ];
        assert_eq!(decode(&encode(&splits), &cluster).unwrap(), splits);
        assert!(decode(&encode(&splits)[..20], &cluster).is_err());
        assert_eq!(comm.world_size(), 1);
    }
}
