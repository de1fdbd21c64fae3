//! Collective communication for distributed (data-parallel) training: the [`Collective`] trait that
//! every transport implements (MPI and TCP live outside this crate; [`LocalCollective`] is the
//! one-process no-op and [`MemoryCollective`] runs ranks as threads of one process), and the
//! exchanges training builds on them ([`ops`]).
//!
//! Every rank holds a contiguous shard of the training rows, in rank order: rank 0 the first rows,
//! then rank 1, and so on. Training calls the collective wherever it needs a value over all rows —
//! cut points, the base score, the gradient scale, histograms, leaf sums, metrics — and each of
//! those exchanges is exact (integer sums, maxima, or data gathered in rank order), so the model is
//! the one-process model bit for bit whatever the number of ranks.

mod local;
mod memory;
pub(crate) mod ops;
mod tcp;

pub use local::LocalCollective;
pub use memory::MemoryCollective;
pub use tcp::{TcpCollective, TcpPending};

use crate::error::Result;

/// How [`Collective::allreduce_i64`] and [`Collective::allreduce_f64`] combine the ranks' values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    /// The sum (wrapping for integers; in rank order for floats).
    Sum,
    /// The largest value.
    Max,
    /// The smallest value.
    Min,
}

impl ReduceOp {
    /// Combines two integers.
    pub fn apply_i64(self, a: i64, b: i64) -> i64 {
        match self {
            ReduceOp::Sum => a.wrapping_add(b),
            ReduceOp::Max => a.max(b),
            ReduceOp::Min => a.min(b),
        }
    }

    /// Combines two floats (a NaN on either side gives NaN for max and min, as a sum would).
    pub fn apply_f64(self, a: f64, b: f64) -> f64 {
        match self {
            ReduceOp::Sum => a + b,
            _ if a.is_nan() || b.is_nan() => f64::NAN,
            ReduceOp::Max => a.max(b),
            ReduceOp::Min => a.min(b),
        }
    }
}

/// A value a reduction carries: its fixed-size little-endian encoding.
pub(crate) trait WireValue: Copy {
    /// Bytes per value.
    const WIDTH: usize;
    /// Appends the value's bytes.
    fn put(self, out: &mut Vec<u8>);
    /// The value of `WIDTH` bytes.
    fn get(bytes: &[u8]) -> Self;
}

impl WireValue for i64 {
    const WIDTH: usize = 8;
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(bytes: &[u8]) -> Self {
        i64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]))
    }
}

impl WireValue for f64 {
    const WIDTH: usize = 8;
    fn put(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
    fn get(bytes: &[u8]) -> Self {
        f64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]))
    }
}

/// The encoding of `values` for a reduction.
pub(crate) fn encode_values<T: WireValue>(values: &[T]) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() * T::WIDTH);
    values.iter().for_each(|v| v.put(&mut out));
    out
}

/// Replaces `values` by the element-wise combination of every rank's encoded values (`all`, in
/// rank order), folded in rank order so that float sums are the same on every rank. Returns why
/// when some rank sent another number of values.
pub(crate) fn fold_in_rank_order<T: WireValue>(
    values: &mut [T],
    all: &[Vec<u8>],
    combine: impl Fn(T, T) -> T,
) -> std::result::Result<(), String> {
    let n = T::WIDTH;
    if let Some(r) = all.iter().position(|b| b.len() != values.len() * n) {
        return Err(format!(
            "rank {r} reduced {} values, this rank {}",
            all[r].len() / n,
            values.len()
        ));
    }
    for (i, v) in values.iter_mut().enumerate() {
        let at = |r: usize| T::get(&all[r][i * n..(i + 1) * n]);
        *v = (1..all.len()).fold(at(0), |acc, r| combine(acc, at(r)));
    }
    Ok(())
}

/// Bytes a rank has exchanged so far (for benchmarks and logs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    /// Bytes this rank sent.
    pub sent: u64,
    /// Bytes this rank received.
    pub received: u64,
}

/// The communication primitives distributed training needs, over a fixed group of `world_size`
/// ranks numbered from 0.
///
/// Every rank must make the same calls in the same order with buffers of the same length (except
/// [`Collective::allgather`] and [`Collective::broadcast`], whose sizes may differ). A call returns
/// an error — never hangs — when another rank has aborted or failed, or when the others do not
/// answer within the implementation's timeout; after an error the group is unusable.
///
/// Implementations: [`LocalCollective`] (one process), [`MemoryCollective`] (ranks as threads of one
/// process, for tests), MPI in the `sylvan` crate (feature `mpi`) and [`TcpCollective`] (TCP, used by the Python binding).
pub trait Collective: Send + Sync {
    /// This process's rank, in `0..world_size()`.
    fn rank(&self) -> usize;

    /// The number of ranks.
    fn world_size(&self) -> usize;

    /// Replaces `values` on every rank by their element-wise combination over all ranks. Integer
    /// sums wrap, so any order of reduction gives the same result.
    fn allreduce_i64(&self, values: &mut [i64], op: ReduceOp) -> Result<()>;

    /// Replaces `values` on every rank by their element-wise combination over all ranks; sums are
    /// taken in rank order (deterministic for a given world size; training uses them only where
    /// the value does not enter the model).
    fn allreduce_f64(&self, values: &mut [f64], op: ReduceOp) -> Result<()>;

    /// Replaces `bytes` on every rank by `root`'s `bytes`.
    fn broadcast(&self, bytes: &mut Vec<u8>, root: usize) -> Result<()>;

    /// Every rank's `bytes`, in rank order, on every rank.
    fn allgather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>>;

    /// Returns once every rank has called it.
    fn barrier(&self) -> Result<()>;

    /// Ends the whole group because this rank failed with `reason`: the other ranks' pending and
    /// later calls fail (or, under MPI, every process exits) instead of waiting for this one.
    fn abort(&self, reason: &str);

    /// Bytes exchanged so far by this rank.
    fn traffic(&self) -> Traffic {
        Traffic::default()
    }
}

/// How a training run is spread over ranks: the group, and whether the evaluation sets are shards
/// (each rank holds its own rows of every set) or whole (every rank holds every row).
#[derive(Clone, Copy)]
pub struct Distributed<'a> {
    /// The group of ranks; each holds its own shard of the training rows, in rank order.
    pub collective: &'a dyn Collective,
    /// `true` when every evaluation set is split over the ranks like the training data (metrics are
    /// then computed on the rows gathered in rank order); `false` when every rank holds each set
    /// whole.
    pub sharded_evals: bool,
}

impl std::fmt::Debug for Distributed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Distributed")
            .field("rank", &self.collective.rank())
            .field("world_size", &self.collective.world_size())
            .field("sharded_evals", &self.sharded_evals)
            .finish()
    }
}
