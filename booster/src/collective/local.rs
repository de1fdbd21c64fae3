//! The collective of a single process: every operation leaves its buffers as they are.

use crate::collective::{Collective, ReduceOp};
use crate::error::Result;

/// A group of one rank; training with it is training without distribution.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalCollective;

impl Collective for LocalCollective {
    fn rank(&self) -> usize {
        0
    }

    fn world_size(&self) -> usize {
        1
    }

    fn allreduce_i64(&self, _values: &mut [i64], _op: ReduceOp) -> Result<()> {
        Ok(())
    }

    fn allreduce_f64(&self, _values: &mut [f64], _op: ReduceOp) -> Result<()> {
        Ok(())
    }

    fn broadcast(&self, _bytes: &mut Vec<u8>, _root: usize) -> Result<()> {
        Ok(())
    }

    fn allgather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(vec![bytes.to_vec()])
    }

    fn barrier(&self) -> Result<()> {
        Ok(())
    }

    fn abort(&self, _reason: &str) {}
}
