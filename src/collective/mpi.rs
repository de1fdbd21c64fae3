//! [`MpiCollective`]: the [`Collective`] of distributed training over MPI (rsmpi), for processes
//! started by `mpirun`/`mpiexec` or Slurm's `srun`.
//!
//! Every operation is a non-blocking MPI collective (`MPI_Iallreduce`, `MPI_Iallgatherv`, ...)
//! polled with `MPI_Test` until it completes or `collective_timeout` passes, so a rank that stops
//! answering gives the others an error instead of a hang. On a timeout the waiting rank pings every
//! other rank (point-to-point, on a communicator of its own) and names those that do not answer
//! within a short grace period. The communicator is unusable after an error: the caller aborts the
//! job ([`Collective::abort`] ends every rank with `MPI_Abort`).
//!
//! Floating-point sums are computed from the gathered values in rank order (MPI's own reductions
//! may combine in any order), integer sums and maxima by MPI itself.
//!
//! Traffic is counted as the bytes a bandwidth-optimal algorithm moves per rank: `2 (p-1)/p · n`
//! each way for an allreduce of `n` bytes (ring or Rabenseifner, what Open MPI uses for large
//! messages), everyone else's bytes received and `(p-1)/p` of the total sent for an allgather, the
//! message each way for a broadcast. It is what the network must carry, whatever MPI picks.

use std::os::raw::c_int;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mpi::environment::{Threading, Universe};
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::Communicator;
use sylvan_booster::{Collective, Error, ReduceOp, Result, Traffic};

/// Tag of a "are you there?" message sent when a collective times out.
const TAG_PING: c_int = 1;
/// Tag of the answer to a ping.
const TAG_PONG: c_int = 2;
/// Elements per `MPI_Iallreduce` call (MPI counts are `int`).
const CHUNK: usize = 1 << 26;

/// An MPI communicator handle that may move between threads.
#[derive(Clone, Copy)]
struct Comm(ffi::MPI_Comm);

/// The MPI transport of distributed training: one per process, over `MPI_COMM_WORLD`.
///
/// MPI is initialised with `MPI_THREAD_SERIALIZED`: training calls the collective from one thread
/// at a time (not always the main thread), and every call here holds a mutex while it is in MPI.
pub struct MpiCollective {
    rank: usize,
    size: usize,
    timeout: Duration,
    /// `MPI_COMM_WORLD`, for `MPI_Abort` (which takes no lock: it may be called while a collective
    /// is in flight, e.g. from the panic hook).
    world: Comm,
    state: Mutex<State>,
    traffic: Mutex<Traffic>,
    /// Finalises MPI when dropped (after the last collective call).
    _universe: Universe,
}

/// What the mutex guards: the communicators and the call counter.
struct State {
    /// A duplicate of the world for the collectives.
    comm: Comm,
    /// A duplicate of the world for the timeout diagnosis (pings and their answers).
    diag: Comm,
    /// Collective calls made so far (named in errors).
    calls: u64,
    /// Why the group is unusable, after a failed call.
    broken: Option<String>,
}

// SAFETY: the MPI handles in `State` and `world` are plain handles that stay valid from
// initialisation to finalisation (when `_universe` drops, with `self`). MPI is initialised with
// MPI_THREAD_SERIALIZED and every call that uses `State` holds its mutex, so no two threads are in
// MPI at once through this type; the one exception, `abort`, calls MPI_Abort, which ends the job.
unsafe impl Send for MpiCollective {}
// SAFETY: see `Send`: shared access goes through the mutex.
unsafe impl Sync for MpiCollective {}

impl std::fmt::Debug for MpiCollective {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MpiCollective")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Whether this process looks like one rank of an MPI job (started by mpirun/mpiexec, or by srun
/// with PMI/PMIx), judged from the environment before MPI is initialised, so a plain run of a
/// binary built with MPI never starts MPI.
pub fn launched_by_mpi() -> bool {
    [
        "OMPI_COMM_WORLD_SIZE",
        "PMI_SIZE",
        "PMIX_RANK",
        "PMI_RANK",
        "MPI_LOCALNRANKS",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some())
}

impl MpiCollective {
    /// Initialises MPI (thread level `MPI_THREAD_SERIALIZED`) and returns this process's rank of
    /// `MPI_COMM_WORLD`, whose collective calls fail after waiting `timeout` for the others.
    /// Errors when MPI was already initialised or gives a lower thread level.
    pub fn initialize(timeout: Duration) -> Result<MpiCollective> {
        let fail = |reason: &str| Error::Collective {
            rank: 0,
            reason: reason.to_string(),
        };
        let (universe, level) = mpi::initialize_with_threading(Threading::Serialized)
            .ok_or_else(|| fail("MPI was already initialised in this process"))?;
        if level < Threading::Serialized {
            return Err(fail(&format!(
                "the MPI library gives thread level {level:?}; training needs Serialized"
            )));
        }
        let world = universe.world();
        let rank = usize::try_from(world.rank()).map_err(|_| fail("negative MPI rank"))?;
        let size = usize::try_from(world.size()).map_err(|_| fail("negative MPI world size"))?;
        let raw_world = world.as_raw();
        let mut comm = std::mem::MaybeUninit::uninit();
        let mut diag = std::mem::MaybeUninit::uninit();
        // SAFETY: MPI is initialised and `raw_world` is MPI_COMM_WORLD; MPI_Comm_dup writes a new
        // handle into each out-pointer (with the default fatal error handler a failure ends the job).
        let (comm, diag) = unsafe {
            ffi::MPI_Comm_dup(raw_world, comm.as_mut_ptr());
            ffi::MPI_Comm_dup(raw_world, diag.as_mut_ptr());
            (comm.assume_init(), diag.assume_init())
        };
        Ok(MpiCollective {
            rank,
            size,
            timeout,
            world: Comm(raw_world),
            state: Mutex::new(State {
                comm: Comm(comm),
                diag: Comm(diag),
                calls: 0,
                broken: None,
            }),
            traffic: Mutex::new(Traffic::default()),
            _universe: universe,
        })
    }

    /// How long a collective call waits for the other ranks before it fails.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        Error::Collective {
            rank: self.rank,
            reason: reason.into(),
        }
    }

    /// Locks the state for one call, refusing when an earlier call failed.
    fn begin(&self, what: &str) -> Result<std::sync::MutexGuard<'_, State>> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| self.fail(format!("{what}: an earlier call panicked")))?;
        if let Some(reason) = &state.broken {
            return Err(self.fail(format!(
                "{what}: the group is unusable after an earlier failure: {reason}"
            )));
        }
        state.calls += 1;
        Ok(state)
    }

    fn count(&self, n: usize, what: &str) -> Result<c_int> {
        c_int::try_from(n).map_err(|_| self.fail(format!("{what}: {n} elements are too many for one MPI call")))
    }

    fn add_traffic(&self, sent: u64, received: u64) {
        if let Ok(mut t) = self.traffic.lock() {
            t.sent += sent;
            t.received += received;
        }
    }

    /// Polls `request` until it completes, or fails at the timeout naming the ranks that do not
    /// answer. While waiting, answers the pings of ranks that have timed out themselves.
    fn wait(&self, state: &mut State, mut request: ffi::MPI_Request, what: &str) -> Result<()> {
        let start = Instant::now();
        let deadline = start + self.timeout;
        let mut polls = 0u64;
        loop {
            let mut done: c_int = 0;
            // SAFETY: `request` is an active request started by this type; MPI_Test completes it
            // (and sets it to MPI_REQUEST_NULL) when `done` is set.
            unsafe { ffi::MPI_Test(&mut request, &mut done, ffi::RSMPI_STATUS_IGNORE) };
            if done != 0 {
                return Ok(());
            }
            polls += 1;
            let waited = start.elapsed();
            if waited > Duration::from_millis(10) {
                self.answer_pings(state);
            }
            if Instant::now() >= deadline {
                let silent = self.silent_ranks(state);
                let reason = if silent.is_empty() {
                    format!(
                        "{what} (collective call {}) did not complete within {:.1} s (collective_timeout), \
                         although every rank answers: the ranks are not making the same calls",
                        state.calls,
                        self.timeout.as_secs_f64()
                    )
                } else {
                    let list: Vec<String> = silent.iter().map(usize::to_string).collect();
                    format!(
                        "{what} (collective call {}): no answer from rank(s) {} within {:.1} s (collective_timeout)",
                        state.calls,
                        list.join(", "),
                        self.timeout.as_secs_f64()
                    )
                };
                state.broken = Some(reason.clone());
                return Err(self.fail(reason));
            }
            pause(polls, waited);
        }
    }

    /// Answers every pending ping with this rank's call count.
    fn answer_pings(&self, state: &State) {
        while let Some(from) = probe(state.diag, TAG_PING) {
            receive_probed(state.diag, from, TAG_PING);
            send_leaked(state.diag, from, TAG_PONG, state.calls);
        }
    }

    /// Pings every other rank and returns those that neither answer nor ping this rank within a
    /// grace period (half the timeout, between 0.5 and 5 seconds).
    fn silent_ranks(&self, state: &State) -> Vec<usize> {
        let mut heard = vec![false; self.size];
        heard[self.rank] = true;
        for r in 0..self.size {
            if r != self.rank {
                send_leaked(state.diag, r as c_int, TAG_PING, state.calls);
            }
        }
        let grace = (self.timeout / 2).clamp(Duration::from_millis(500), Duration::from_secs(5));
        let start = Instant::now();
        let mut polls = 0u64;
        while start.elapsed() < grace && heard.iter().any(|h| !h) {
            for tag in [TAG_PING, TAG_PONG] {
                while let Some(from) = probe(state.diag, tag) {
                    receive_probed(state.diag, from, tag);
                    if tag == TAG_PING {
                        send_leaked(state.diag, from, TAG_PONG, state.calls);
                    }
                    if let Some(h) = usize::try_from(from).ok().and_then(|r| heard.get_mut(r)) {
                        *h = true;
                    }
                }
            }
            polls += 1;
            pause(polls, start.elapsed());
        }
        (0..self.size).filter(|&r| !heard[r]).collect()
    }

    /// The element-wise reduction of `values` over every rank by MPI (integers: any order of
    /// combination gives the same result).
    fn reduce_i64(&self, values: &mut [i64], op: ReduceOp) -> Result<()> {
        let what = "allreduce_i64";
        let mut state = self.begin(what)?;
        if self.size == 1 {
            return Ok(());
        }
        let mpi_op = match op {
            // SAFETY (all three): reading MPI's predefined operation handles.
            ReduceOp::Sum => unsafe { ffi::RSMPI_SUM },
            ReduceOp::Max => unsafe { ffi::RSMPI_MAX },
            ReduceOp::Min => unsafe { ffi::RSMPI_MIN },
        };
        for chunk in values.chunks_mut(CHUNK) {
            let n = self.count(chunk.len(), what)?;
            let send = chunk.to_vec();
            let mut recv = vec![0i64; chunk.len()];
            let mut request = std::mem::MaybeUninit::uninit();
            // SAFETY: `send` and `recv` hold `n` i64 each and live until the request completes
            // (or are leaked below when it does not).
            unsafe {
                ffi::MPI_Iallreduce(
                    send.as_ptr().cast(),
                    recv.as_mut_ptr().cast(),
                    n,
                    ffi::RSMPI_INT64_T,
                    mpi_op,
                    state.comm.0,
                    request.as_mut_ptr(),
                );
            }
            // SAFETY: MPI_Iallreduce wrote the request handle.
            let request = unsafe { request.assume_init() };
            if let Err(e) = self.wait(&mut state, request, what) {
                // MPI may still write into the buffers: never free them.
                std::mem::forget(send);
                std::mem::forget(recv);
                return Err(e);
            }
            chunk.copy_from_slice(&recv);
            let bytes = (chunk.len() * 8) as u64;
            let moved = 2 * bytes * (self.size as u64 - 1) / self.size as u64;
            self.add_traffic(moved, moved);
        }
        Ok(())
    }

    /// Every rank's bytes in rank order: the lengths first (allgather), then the bytes
    /// (allgatherv).
    fn gather(&self, state: &mut State, bytes: &[u8], what: &str) -> Result<Vec<Vec<u8>>> {
        if self.size == 1 {
            return Ok(vec![bytes.to_vec()]);
        }
        let mine = vec![bytes.len() as u64];
        let mut lengths = vec![0u64; self.size];
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: `mine` holds 1 u64 and `lengths` `size` of them; both outlive the request or are
        // leaked when it fails.
        unsafe {
            ffi::MPI_Iallgather(
                mine.as_ptr().cast(),
                1,
                ffi::RSMPI_UINT64_T,
                lengths.as_mut_ptr().cast(),
                1,
                ffi::RSMPI_UINT64_T,
                state.comm.0,
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Iallgather wrote the request handle.
        if let Err(e) = self.wait(state, unsafe { request.assume_init() }, what) {
            std::mem::forget((mine, lengths));
            return Err(e);
        }
        let mut counts = Vec::with_capacity(self.size);
        let mut displacements = Vec::with_capacity(self.size);
        let mut total = 0usize;
        for &len in &lengths {
            let len = usize::try_from(len).map_err(|_| self.fail(format!("{what}: a length does not fit")))?;
            counts.push(self.count(len, what)?);
            displacements.push(self.count(total, what)?);
            total += len;
        }
        self.count(total, what)?;
        let send = bytes.to_vec();
        let mut recv = vec![0u8; total];
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: `send` holds counts[rank] bytes, `recv` the sum of `counts` with each rank's
        // block at its displacement; all outlive the request or are leaked when it fails.
        unsafe {
            ffi::MPI_Iallgatherv(
                send.as_ptr().cast(),
                counts[self.rank],
                ffi::RSMPI_UINT8_T,
                recv.as_mut_ptr().cast(),
                counts.as_ptr(),
                displacements.as_ptr(),
                ffi::RSMPI_UINT8_T,
                state.comm.0,
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Iallgatherv wrote the request handle.
        if let Err(e) = self.wait(state, unsafe { request.assume_init() }, what) {
            std::mem::forget((send, recv, counts, displacements));
            return Err(e);
        }
        let last = lengths[(self.rank + 1) % self.size] as u64;
        self.add_traffic((total as u64).saturating_sub(last), (total - bytes.len()) as u64);
        let mut out = Vec::with_capacity(self.size);
        let mut at = 0usize;
        for &len in &lengths {
            out.push(recv[at..at + len as usize].to_vec());
            at += len as usize;
        }
        Ok(out)
    }
}

impl Collective for MpiCollective {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.size
    }

    fn allreduce_i64(&self, values: &mut [i64], op: ReduceOp) -> Result<()> {
        self.reduce_i64(values, op)
    }

    fn allreduce_f64(&self, values: &mut [f64], op: ReduceOp) -> Result<()> {
        let what = "allreduce_f64";
        let mut state = self.begin(what)?;
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let all = self.gather(&mut state, &bytes, what)?;
        combine_in_rank_order(values, &all, op).map_err(|reason| self.fail(format!("{what}: {reason}")))
    }

    fn broadcast(&self, bytes: &mut Vec<u8>, root: usize) -> Result<()> {
        let what = "broadcast";
        let mut state = self.begin(what)?;
        if root >= self.size {
            return Err(self.fail(format!("{what} from rank {root} of {}", self.size)));
        }
        if self.size == 1 {
            return Ok(());
        }
        // The length first, then the bytes.
        // On the heap: MPI writes into it, and it is leaked if the call times out.
        let mut len = Box::new([bytes.len() as u64]);
        let root_c = root as c_int;
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: `len` holds one u64 and lives until the request completes or is leaked.
        unsafe {
            ffi::MPI_Ibcast(
                len.as_mut_ptr().cast(),
                1,
                ffi::RSMPI_UINT64_T,
                root_c,
                state.comm.0,
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Ibcast wrote the request handle.
        if let Err(e) = self.wait(&mut state, unsafe { request.assume_init() }, what) {
            std::mem::forget(len);
            return Err(e);
        }
        let n = usize::try_from(len[0]).map_err(|_| self.fail(format!("{what}: a length does not fit")))?;
        let count = self.count(n, what)?;
        let mut buffer = if self.rank == root {
            std::mem::take(bytes)
        } else {
            vec![0u8; n]
        };
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: `buffer` holds `n` bytes on every rank and lives until the request completes or
        // is leaked.
        unsafe {
            ffi::MPI_Ibcast(
                buffer.as_mut_ptr().cast(),
                count,
                ffi::RSMPI_UINT8_T,
                root_c,
                state.comm.0,
                request.as_mut_ptr(),
            );
        }
        // SAFETY: MPI_Ibcast wrote the request handle.
        if let Err(e) = self.wait(&mut state, unsafe { request.assume_init() }, what) {
            std::mem::forget(buffer);
            return Err(e);
        }
        if self.rank == root {
            self.add_traffic(n as u64, 0);
        } else {
            self.add_traffic(0, n as u64);
        }
        *bytes = buffer;
        Ok(())
    }

    fn allgather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        let what = "allgather";
        let mut state = self.begin(what)?;
        self.gather(&mut state, bytes, what)
    }

    fn barrier(&self) -> Result<()> {
        let what = "barrier";
        let mut state = self.begin(what)?;
        if self.size == 1 {
            return Ok(());
        }
        let mut request = std::mem::MaybeUninit::uninit();
        // SAFETY: a barrier has no buffers.
        unsafe { ffi::MPI_Ibarrier(state.comm.0, request.as_mut_ptr()) };
        // SAFETY: MPI_Ibarrier wrote the request handle.
        self.wait(&mut state, unsafe { request.assume_init() }, what)
    }

    /// Prints `sylvan: rank R: <reason>` on stderr and ends every rank of the job with
    /// `MPI_Abort(MPI_COMM_WORLD, 1)`; never returns.
    fn abort(&self, reason: &str) {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "sylvan: rank {}: {}",
            self.rank,
            reason.replace('\n', " ")
        );
        let _ = std::io::stderr().flush();
        // SAFETY: `world` is MPI_COMM_WORLD of the initialised MPI; MPI_Abort ends the job.
        unsafe { ffi::MPI_Abort(self.world.0, 1) };
        std::process::exit(1);
    }

    fn traffic(&self) -> Traffic {
        self.traffic.lock().map(|t| *t).unwrap_or_default()
    }
}

/// Replaces `values` by their combination over `all` (every rank's values as little-endian f64
/// bytes), folding in rank order; an error names a rank whose length differs.
pub(crate) fn combine_in_rank_order(
    values: &mut [f64],
    all: &[Vec<u8>],
    op: ReduceOp,
) -> std::result::Result<(), String> {
    for (r, theirs) in all.iter().enumerate() {
        if theirs.len() != values.len() * 8 {
            return Err(format!(
                "rank {r} reduced {} values, this rank {}",
                theirs.len() / 8,
                values.len()
            ));
        }
    }
    let at = |r: usize, i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&all[r][i * 8..(i + 1) * 8]);
        f64::from_le_bytes(b)
    };
    for (i, v) in values.iter_mut().enumerate() {
        *v = (1..all.len()).fold(at(0, i), |acc, r| op.apply_f64(acc, at(r, i)));
    }
    Ok(())
}

/// The source of a pending message with `tag` on `comm`, if any.
fn probe(comm: Comm, tag: c_int) -> Option<c_int> {
    let mut flag: c_int = 0;
    let mut status = std::mem::MaybeUninit::<ffi::MPI_Status>::uninit();
    // SAFETY: MPI_Iprobe writes `flag` and, when set, `status`.
    unsafe {
        ffi::MPI_Iprobe(ffi::RSMPI_ANY_SOURCE, tag, comm.0, &mut flag, status.as_mut_ptr());
        (flag != 0).then(|| status.assume_init().MPI_SOURCE)
    }
}

/// Receives the one-u64 message from `from` with `tag` that [`probe`] found pending.
fn receive_probed(comm: Comm, from: c_int, tag: c_int) -> u64 {
    let mut value = 0u64;
    // SAFETY: a message of one u64 from `from` with `tag` is pending (probed by the caller), so
    // the receive completes at once into `value`.
    unsafe {
        ffi::MPI_Recv(
            (&mut value as *mut u64).cast(),
            1,
            ffi::RSMPI_UINT64_T,
            from,
            tag,
            comm.0,
            ffi::RSMPI_STATUS_IGNORE,
        );
    }
    value
}

/// Sends one u64 without waiting; the buffer and request are leaked on purpose (this happens only
/// on the way to aborting the job, and a send that never completes must not free its buffer).
fn send_leaked(comm: Comm, to: c_int, tag: c_int, value: u64) {
    let buffer: &'static mut u64 = Box::leak(Box::new(value));
    let mut request = std::mem::MaybeUninit::uninit();
    // SAFETY: the buffer is leaked, so it outlives the send; the request is never waited on.
    unsafe {
        ffi::MPI_Isend(
            (buffer as *mut u64).cast(),
            1,
            ffi::RSMPI_UINT64_T,
            to,
            tag,
            comm.0,
            request.as_mut_ptr(),
        );
    }
}

/// Between two polls: spin at first (a collective usually completes in microseconds), then yield,
/// then sleep a little longer the longer the wait (other ranks still computing), so waiting ranks
/// leave the cores to the ones that work.
fn pause(polls: u64, waited: Duration) {
    if polls < 200 {
        std::hint::spin_loop();
    } else if waited < Duration::from_millis(1) {
        std::thread::yield_now();
    } else if waited < Duration::from_millis(100) {
        std::thread::sleep(Duration::from_micros(50));
    } else {
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_sums_fold_in_rank_order() {
        let all: Vec<Vec<u8>> = [[1e16, 1.0], [1.0, 2.0], [-1e16, f64::NAN]]
            .iter()
            .map(|r| r.iter().flat_map(|v: &f64| v.to_le_bytes()).collect())
            .collect();
        let mut v = [0.0, 0.0];
        combine_in_rank_order(&mut v, &all, ReduceOp::Sum).unwrap();
        // ((1e16 + 1) - 1e16) in that order: the 1.0 is lost, as it is on one process.
        assert_eq!(v[0], ((1e16f64 + 1.0) + -1e16));
        assert!(v[1].is_nan());
        let mut m = [0.0, 0.0];
        combine_in_rank_order(&mut m, &all, ReduceOp::Max).unwrap();
        assert_eq!(m[0], 1e16);
        let e = combine_in_rank_order(&mut [0.0], &all, ReduceOp::Min).unwrap_err();
        assert!(e.contains("rank 0"), "{e}");
    }
}
