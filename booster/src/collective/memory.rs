//! Ranks as threads of one process: a [`Collective`] over shared memory, so tests (and anyone
//! simulating a cluster on one machine) can train with several ranks without MPI or sockets.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::collective::{encode_values, fold_in_rank_order, Collective, ReduceOp, Traffic, WireValue};
use crate::error::{Error, Result};

/// One rank of a group of threads created together by [`MemoryCollective::group`]. Every operation
/// is one exchange: each rank deposits its bytes, and once all have, every rank reads them all.
#[derive(Debug)]
pub struct MemoryCollective {
    rank: usize,
    shared: Arc<Shared>,
    timeout: Duration,
    traffic: Mutex<Traffic>,
}

#[derive(Debug)]
struct Shared {
    size: usize,
    state: Mutex<Exchange>,
    changed: Condvar,
}

/// The exchange in progress.
#[derive(Debug, Default)]
struct Exchange {
    /// Completed exchanges so far.
    generation: u64,
    /// Each rank's bytes for the exchange being filled.
    slots: Vec<Option<Vec<u8>>>,
    /// The last completed exchange, until every rank has read it.
    results: Option<Arc<Vec<Vec<u8>>>>,
    /// Ranks that have still to read `results`.
    readers_left: usize,
    /// The rank that aborted the group, and why.
    aborted: Option<(usize, String)>,
}

impl MemoryCollective {
    /// A group of `size` ranks (give one to each thread) whose operations fail after waiting
    /// `timeout` for the others.
    pub fn group(size: usize, timeout: Duration) -> Vec<MemoryCollective> {
        let shared = Arc::new(Shared {
            size,
            state: Mutex::new(Exchange {
                slots: vec![None; size],
                ..Exchange::default()
            }),
            changed: Condvar::new(),
        });
        (0..size)
            .map(|rank| MemoryCollective {
                rank,
                shared: Arc::clone(&shared),
                timeout,
                traffic: Mutex::new(Traffic::default()),
            })
            .collect()
    }

    fn fail(&self, reason: String) -> Error {
        Error::Collective {
            rank: self.rank,
            reason,
        }
    }

    fn lock(&self) -> Result<MutexGuard<'_, Exchange>> {
        self.shared
            .state
            .lock()
            .map_err(|_| self.fail("a rank panicked during an exchange".into()))
    }

    /// Waits on the condition variable until `done` holds, the group is aborted or the deadline
    /// passes (which aborts the group for everyone).
    fn wait_until<'g>(
        &self,
        mut state: MutexGuard<'g, Exchange>,
        deadline: Instant,
        done: impl Fn(&Exchange) -> bool,
    ) -> Result<MutexGuard<'g, Exchange>> {
        loop {
            if let Some((rank, reason)) = &state.aborted {
                return Err(self.fail(format!("rank {rank} failed: {reason}")));
            }
            if done(&state) {
                return Ok(state);
            }
            let now = Instant::now();
            if now >= deadline {
                let missing: Vec<String> = (0..self.shared.size)
                    .filter(|&r| state.slots[r].is_none())
                    .map(|r| r.to_string())
                    .collect();
                let reason = format!(
                    "no answer from rank(s) {} within {:.1} s (collective_timeout)",
                    missing.join(", "),
                    self.timeout.as_secs_f64()
                );
                state.aborted = Some((self.rank, reason.clone()));
                self.shared.changed.notify_all();
                return Err(self.fail(reason));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .map_err(|_| self.fail("a rank panicked during an exchange".into()))?
                .0;
        }
    }

    /// Deposits `bytes` and returns every rank's, in rank order.
    fn exchange(&self, bytes: Vec<u8>) -> Result<Arc<Vec<Vec<u8>>>> {
        let deadline = Instant::now() + self.timeout;
        let sent = bytes.len() as u64;
        let state = self.lock()?;
        // The previous exchange must be read by everyone before its slots are reused.
        let mut state = self.wait_until(state, deadline, |s| s.results.is_none())?;
        let generation = state.generation;
        state.slots[self.rank] = Some(bytes);
        if state.slots.iter().all(Option::is_some) {
            let all: Vec<Vec<u8>> = state.slots.iter_mut().map(|s| s.take().unwrap_or_default()).collect();
            state.results = Some(Arc::new(all));
            state.readers_left = self.shared.size;
            state.generation += 1;
            self.shared.changed.notify_all();
        }
        let mut state = self.wait_until(state, deadline, |s| s.generation > generation)?;
        let results = state
            .results
            .clone()
            .ok_or_else(|| self.fail("an exchange lost its results".into()))?;
        state.readers_left -= 1;
        if state.readers_left == 0 {
            state.results = None;
            self.shared.changed.notify_all();
        }
        drop(state);
        if let Ok(mut t) = self.traffic.lock() {
            t.sent += sent * (self.shared.size as u64 - 1);
            t.received += results.iter().map(|b| b.len() as u64).sum::<u64>() - sent;
        }
        Ok(results)
    }

    fn allreduce<T: WireValue>(&self, values: &mut [T], combine: impl Fn(T, T) -> T) -> Result<()> {
        let all = self.exchange(encode_values(values))?;
        fold_in_rank_order(values, &all, combine).map_err(|reason| self.fail(reason))
    }
}

impl Collective for MemoryCollective {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.shared.size
    }

    fn allreduce_i64(&self, values: &mut [i64], op: ReduceOp) -> Result<()> {
        self.allreduce(values, |a, b| op.apply_i64(a, b))
    }

    fn allreduce_f64(&self, values: &mut [f64], op: ReduceOp) -> Result<()> {
        self.allreduce(values, |a, b| op.apply_f64(a, b))
    }

    fn broadcast(&self, bytes: &mut Vec<u8>, root: usize) -> Result<()> {
        if root >= self.shared.size {
            return Err(self.fail(format!("broadcast from rank {root} of {}", self.shared.size)));
        }
        let mine = if self.rank == root {
            std::mem::take(bytes)
        } else {
            Vec::new()
        };
        let all = self.exchange(mine)?;
        *bytes = all[root].clone();
        Ok(())
    }

    fn allgather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        Ok(self.exchange(bytes.to_vec())?.as_ref().clone())
    }

    fn barrier(&self) -> Result<()> {
        self.exchange(Vec::new()).map(|_| ())
    }

    fn abort(&self, reason: &str) {
        if let Ok(mut state) = self.shared.state.lock() {
            if state.aborted.is_none() {
                state.aborted = Some((self.rank, reason.to_string()));
            }
            self.shared.changed.notify_all();
        }
    }

    fn traffic(&self) -> Traffic {
        self.traffic.lock().map(|t| *t).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<T: Send>(size: usize, f: impl Fn(&MemoryCollective) -> T + Sync) -> Vec<T> {
        let group = MemoryCollective::group(size, Duration::from_secs(10));
        std::thread::scope(|s| {
            let handles: Vec<_> = group.iter().map(|c| s.spawn(|| f(c))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn reductions_broadcasts_and_gathers_agree_on_every_rank() {
        let out = run(3, |c| {
            let r = c.rank() as i64;
            let mut sums = [r, 10 * r, -r];
            c.allreduce_i64(&mut sums, ReduceOp::Sum).unwrap();
            let mut max = [r as f64 * 0.5];
            c.allreduce_f64(&mut max, ReduceOp::Max).unwrap();
            let mut min = [r];
            c.allreduce_i64(&mut min, ReduceOp::Min).unwrap();
            let mut b = if c.rank() == 1 {
                b"from one".to_vec()
            } else {
                Vec::new()
            };
            c.broadcast(&mut b, 1).unwrap();
            let g = c.allgather(&vec![c.rank() as u8; c.rank()]).unwrap();
            c.barrier().unwrap();
            (sums, max[0], min[0], b, g)
        });
        for (sums, max, min, b, g) in out {
            assert_eq!(sums, [3, 30, -3]);
            assert_eq!(max, 1.0);
            assert_eq!(min, 0);
            assert_eq!(b, b"from one");
            assert_eq!(g, vec![vec![], vec![1], vec![2, 2]]);
        }
    }

    #[test]
    fn an_abort_fails_the_others_instead_of_hanging() {
        let out = run(3, |c| {
            if c.rank() == 2 {
                c.abort("bad row 7");
                return None;
            }
            Some(c.barrier().unwrap_err().to_string())
        });
        for e in out.into_iter().flatten() {
            assert!(e.contains("rank 2 failed: bad row 7"), "{e}");
        }
    }

    #[test]
    fn a_silent_rank_times_out() {
        let group = MemoryCollective::group(2, Duration::from_millis(200));
        let e = group[0].barrier().unwrap_err().to_string();
        assert!(e.contains("no answer from rank(s) 1"), "{e}");
        // The group is unusable afterwards for the other rank too.
        assert!(group[1].barrier().is_err());
    }
}
