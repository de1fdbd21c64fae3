//! The exchanges training makes over a [`Collective`]: the shard layout ([`Cluster`]), typed
//! reductions, gathers in rank order and the encoding of what is sent.

use crate::collective::{Collective, Distributed, ReduceOp};
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};

/// This rank's place in a distributed run: the group, and where its rows sit among all rows.
pub(crate) struct Cluster<'a> {
    /// The group.
    pub comm: &'a dyn Collective,
    /// Global id of this rank's first row (the rows of the lower ranks come first).
    pub row_offset: usize,
    /// Rows over all ranks.
    pub total_rows: usize,
    /// Whether evaluation sets are shards (gathered for metrics) or whole on every rank.
    pub sharded_evals: bool,
}

impl<'a> Cluster<'a> {
    /// Joins the group with `local_rows` training rows: learns the row offset and the total.
    pub(crate) fn join(d: Distributed<'a>, local_rows: usize) -> Result<Cluster<'a>> {
        let counts = gather_u64(d.collective, &[local_rows as u64])?;
        let rank = d.collective.rank();
        let row_offset = counts[..rank].iter().sum::<u64>() as usize;
        let total_rows = counts.iter().sum::<u64>() as usize;
        if total_rows > u32::MAX as usize {
            return Err(Error::data(format!(
                "{total_rows} training rows over all ranks; at most {} are supported",
                u32::MAX
            )));
        }
        Ok(Cluster {
            comm: d.collective,
            row_offset,
            total_rows,
            sharded_evals: d.sharded_evals,
        })
    }

    /// Sums integers over ranks.
    pub(crate) fn sum_i64(&self, values: &mut [i64]) -> Result<()> {
        self.comm.allreduce_i64(values, ReduceOp::Sum)
    }

    /// The largest of each value over ranks.
    pub(crate) fn max_f64(&self, values: &mut [f64]) -> Result<()> {
        self.comm.allreduce_f64(values, ReduceOp::Max)
    }

    /// The largest of each value over ranks.
    pub(crate) fn max_i64(&self, values: &mut [i64]) -> Result<()> {
        self.comm.allreduce_i64(values, ReduceOp::Max)
    }

    /// Every rank's values concatenated in rank order.
    pub(crate) fn gather_f32(&self, local: &[f32]) -> Result<Vec<f32>> {
        let bytes: Vec<u8> = local.iter().flat_map(|v| v.to_le_bytes()).collect();
        let all = self.comm.allgather(&bytes)?;
        let mut out = Vec::with_capacity(all.iter().map(Vec::len).sum::<usize>() / 4);
        for (rank, b) in all.iter().enumerate() {
            out.extend(f32s_of(self.comm, rank, b)?);
        }
        Ok(out)
    }

    /// Rank 0's `values` on every rank (one broadcast).
    pub(crate) fn rank0_flags<const N: usize>(&self, values: [bool; N]) -> Result<[bool; N]> {
        let mut bytes: Vec<u8> = values.iter().map(|&v| v as u8).collect();
        self.comm.broadcast(&mut bytes, 0)?;
        Ok(std::array::from_fn(|i| bytes.get(i).copied().unwrap_or(0) != 0))
    }

    /// An error of this rank about the group.
    pub(crate) fn error(&self, reason: impl Into<String>) -> Error {
        Error::Collective {
            rank: self.comm.rank(),
            reason: reason.into(),
        }
    }
}

/// Every rank's integers concatenated in rank order.
pub(crate) fn gather_u64(comm: &dyn Collective, local: &[u64]) -> Result<Vec<u64>> {
    let bytes: Vec<u8> = local.iter().flat_map(|v| v.to_le_bytes()).collect();
    let all = comm.allgather(&bytes)?;
    let mut out = Vec::new();
    for (rank, b) in all.iter().enumerate() {
        if !b.len().is_multiple_of(8) {
            return Err(malformed(comm, rank));
        }
        out.extend(
            b.chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().unwrap_or_default())),
        );
    }
    Ok(out)
}

/// The `f32` values encoded in `bytes`, sent by `rank`.
pub(crate) fn f32s_of<'b>(
    comm: &dyn Collective,
    rank: usize,
    bytes: &'b [u8],
) -> Result<impl Iterator<Item = f32> + 'b> {
    if !bytes.len().is_multiple_of(4) {
        return Err(malformed(comm, rank));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default())))
}

/// The error for a message of the wrong size.
pub(crate) fn malformed(comm: &dyn Collective, rank: usize) -> Error {
    Error::Collective {
        rank: comm.rank(),
        reason: format!("a malformed message from rank {rank} (do all ranks run the same Sylvan build?)"),
    }
}

/// A little-endian writer of the values a message carries.
#[derive(Default)]
pub(crate) struct Writer(pub Vec<u8>);

impl Writer {
    /// Appends an integer.
    pub(crate) fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a float.
    pub(crate) fn f32(&mut self, v: f32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    /// Appends a float.
    pub(crate) fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
}

/// A reader of what a [`Writer`] wrote; every read fails cleanly on a short message.
pub(crate) struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
    from: usize,
    comm: &'b dyn Collective,
}

impl<'b> Reader<'b> {
    /// Reads `bytes`, sent by rank `from`.
    pub(crate) fn new(comm: &'b dyn Collective, from: usize, bytes: &'b [u8]) -> Reader<'b> {
        Reader {
            bytes,
            at: 0,
            from,
            comm,
        }
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let b = self
            .bytes
            .get(self.at..self.at + N)
            .ok_or_else(|| malformed(self.comm, self.from))?;
        self.at += N;
        Ok(b.try_into().unwrap_or([0; N]))
    }

    /// Reads an integer.
    pub(crate) fn u64(&mut self) -> Result<u64> {
        self.take::<8>().map(u64::from_le_bytes)
    }
    /// Reads a float.
    pub(crate) fn f32(&mut self) -> Result<f32> {
        self.take::<4>().map(f32::from_le_bytes)
    }
    /// Reads a float.
    pub(crate) fn f64(&mut self) -> Result<f64> {
        self.take::<8>().map(f64::from_le_bytes)
    }
    /// Reads a count that must fit in the rest of the message at `unit` bytes per item.
    pub(crate) fn count(&mut self, unit: usize) -> Result<usize> {
        let n = self.u64()? as usize;
        if n.saturating_mul(unit) > self.bytes.len() - self.at {
            return Err(malformed(self.comm, self.from));
        }
        Ok(n)
    }
}

/// The labels and weights of all rows of a data set sharded over the ranks, in rank order.
pub(crate) struct GatheredTargets {
    /// Every row's labels (several per row for several targets).
    pub labels: Vec<f32>,
    /// Every row's weight, when some rank's rows have weights (1 for the rows of ranks without).
    pub weights: Option<Vec<f32>>,
}

impl GatheredTargets {
    /// The targets of the training set's shards.
    pub(crate) fn of(data: &Dataset, cluster: &Cluster<'_>) -> Result<GatheredTargets> {
        let labels = cluster.gather_f32(data.labels())?;
        let mut weighted = [data.weights().is_some() as i64];
        cluster.max_i64(&mut weighted)?;
        let weights = if weighted[0] != 0 {
            let ones;
            let local = match data.weights() {
                Some(w) => w,
                None => {
                    ones = vec![1.0f32; data.num_rows()];
                    &ones
                }
            };
            Some(cluster.gather_f32(local)?)
        } else {
            None
        };
        Ok(GatheredTargets { labels, weights })
    }

    /// The targets of an evaluation set `name` sharded over the ranks (metrics over query groups or
    /// label bounds would need those gathered too, and are refused).
    pub(crate) fn of_eval_set(name: &str, data: &Dataset, cluster: &Cluster<'_>) -> Result<GatheredTargets> {
        if data.groups().is_some() || data.label_bounds().is_some() {
            return Err(Error::data(format!(
                "evaluation set `{name}` has query groups or label bounds; distributed training evaluates such \
                 sets only when every rank holds them whole"
            )));
        }
        GatheredTargets::of(data, cluster)
    }
}
