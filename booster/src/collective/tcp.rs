//! Ranks as processes connected over TCP (std only, no MPI): a full mesh of connections, one per
//! pair of ranks, with a reader and a writer thread per connection.
//!
//! Setting up: every rank binds a listener ([`TcpCollective::bind`]) and publishes its address (the
//! Python package does it through the Dask scheduler); once a rank knows every address, it
//! connects ([`TcpPending::connect`]): rank `r` dials ranks `0..r` and accepts ranks `r+1..`, and
//! each connection opens with a handshake carrying the group id and both ranks, so a stray or stale
//! connection (another run, a port scanner) is turned away instead of joining the group.
//!
//! On the wire every message is a frame: a kind byte (data or abort), an operation byte (so that
//! ranks whose calls differ fail with a message instead of misreading each other) and a 64-bit
//! little-endian length, then the payload. Reader threads move incoming frames into one inbox that
//! the calling thread waits on, so an abort from any rank is seen at once, whichever rank the call
//! is waiting for.
//!
//! Operations: [`Collective::allgather`] and [`Collective::broadcast`] send directly over the mesh;
//! `allreduce_i64` runs as a ring (reduce-scatter, then allgather) for long vectors and as an
//! allgather for short ones; `allreduce_f64` always gathers every rank's values and combines them in
//! rank order, so a sum is the same on every rank and for every run.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::collective::{encode_values, fold_in_rank_order, Collective, ReduceOp, Traffic, WireValue};
use crate::error::{Error, Result};

/// First bytes of a handshake (both directions).
const MAGIC: &[u8; 8] = b"SYLVTCP1";
/// Frame kinds.
const KIND_DATA: u8 = 1;
const KIND_ABORT: u8 = 2;
/// Bytes of a frame header: kind, operation, payload length.
const HEADER: usize = 10;
/// The longest group id a handshake carries.
const MAX_GROUP_ID: usize = 255;
/// `allreduce_i64` uses the ring when every rank's chunk holds at least this many values.
const RING_MIN_CHUNK: usize = 1024;
/// How often the accepting side polls its listener while the group forms.
const ACCEPT_POLL: Duration = Duration::from_millis(5);
/// How long a dialling rank waits between attempts while a peer's listener is not reachable.
const DIAL_RETRY: Duration = Duration::from_millis(50);

/// The operation a data frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Allgather = 1,
    Broadcast = 2,
    Reduce = 3,
    Ring = 4,
    Barrier = 5,
}

impl Op {
    fn name(code: u8) -> &'static str {
        match code {
            1 => "allgather",
            2 => "broadcast",
            3 => "allreduce",
            4 => "allreduce (ring)",
            5 => "barrier",
            _ => "an unknown operation",
        }
    }
}

/// A bound listener, waiting for the group's addresses: the first half of
/// [`TcpCollective::bind`]. Publish [`TcpPending::address`], then [`TcpPending::connect`].
#[derive(Debug)]
pub struct TcpPending {
    listener: TcpListener,
    address: SocketAddr,
}

/// One rank of a group of processes connected over TCP (see the module documentation).
///
/// ```
/// use std::time::Duration;
/// use sylvan_booster::{Collective, ReduceOp, TcpCollective};
///
/// // Two ranks as two threads; in real use each is a process on its own machine.
/// let (p0, a0) = TcpCollective::bind("127.0.0.1").unwrap();
/// let (p1, a1) = TcpCollective::bind("127.0.0.1").unwrap();
/// let addresses = [a0, a1];
/// let t = std::thread::spawn(move || p1.connect(1, &addresses, "run-1", Duration::from_secs(10)));
/// let c0 = p0.connect(0, &addresses, "run-1", Duration::from_secs(10)).unwrap();
/// let c1 = t.join().unwrap().unwrap();
/// let t = std::thread::spawn(move || {
///     let mut v = [2];
///     c1.allreduce_i64(&mut v, ReduceOp::Sum).unwrap();
///     v[0]
/// });
/// let mut v = [1];
/// c0.allreduce_i64(&mut v, ReduceOp::Sum).unwrap();
/// assert_eq!((v[0], t.join().unwrap()), (3, 3));
/// ```
#[derive(Debug)]
pub struct TcpCollective {
    rank: usize,
    size: usize,
    timeout: Duration,
    shared: Arc<Shared>,
    /// One connection per other rank (`None` at this rank's own index).
    peers: Vec<Option<Peer>>,
    sent: AtomicU64,
    received: AtomicU64,
}

/// The connection to one other rank.
#[derive(Debug)]
struct Peer {
    /// A handle on the socket, to shut it down.
    stream: TcpStream,
    /// Frames for the writer thread; `None` once the connection is closed.
    outbox: Mutex<Option<Sender<Arc<[u8]>>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

/// What the reader threads share with the calling thread.
#[derive(Debug)]
struct Shared {
    state: Mutex<Inbox>,
    changed: Condvar,
}

/// Frames received and not yet consumed, and how the group has failed.
#[derive(Debug)]
struct Inbox {
    /// Per rank: data frames (operation code, payload) in arrival order.
    frames: Vec<VecDeque<(u8, Vec<u8>)>>,
    /// Per rank: why its connection ended, once it has.
    gone: Vec<Option<String>>,
    /// The rank that aborted the group, and why.
    aborted: Option<(usize, String)>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        // A poisoned lock only means a thread panicked while holding it; the inbox stays valid.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that the connection to `peer` ended (the first reason wins).
    fn mark_gone(&self, peer: usize, reason: String) {
        let mut state = self.lock();
        if state.gone[peer].is_none() {
            state.gone[peer] = Some(reason);
        }
        self.changed.notify_all();
    }

    /// Records that `origin` aborted the group (the first abort wins) and returns the abort in force.
    fn mark_aborted(&self, origin: usize, reason: &str) -> (usize, String) {
        let mut state = self.lock();
        let first = state
            .aborted
            .get_or_insert_with(|| (origin, reason.to_string()))
            .clone();
        self.changed.notify_all();
        first
    }
}

fn fail(rank: usize, reason: impl Into<String>) -> Error {
    Error::Collective {
        rank,
        reason: reason.into(),
    }
}

/// A frame: header then payload.
fn frame(kind: u8, op: u8, payload: &[u8]) -> Arc<[u8]> {
    let mut f = Vec::with_capacity(HEADER + payload.len());
    f.push(kind);
    f.push(op);
    f.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    f.extend_from_slice(payload);
    f.into()
}

/// Reads one frame: `(kind, op, payload)`.
fn read_frame(stream: &mut impl Read) -> std::io::Result<(u8, u8, Vec<u8>)> {
    let mut header = [0u8; HEADER];
    stream.read_exact(&mut header)?;
    let mut len = [0u8; 8];
    len.copy_from_slice(&header[2..]);
    let len = usize::try_from(u64::from_le_bytes(len))
        .map_err(|_| std::io::Error::new(ErrorKind::InvalidData, "frame longer than memory"))?;
    let mut payload = Vec::new();
    payload
        .try_reserve_exact(len)
        .map_err(|_| std::io::Error::new(ErrorKind::OutOfMemory, format!("no memory for a frame of {len} bytes")))?;
    stream.take(len as u64).read_to_end(&mut payload)?;
    if payload.len() != len {
        return Err(ErrorKind::UnexpectedEof.into());
    }
    Ok((header[0], header[1], payload))
}

/// Moves frames from `peer` into the inbox until the connection ends or the peer aborts.
fn read_loop(mut stream: TcpStream, peer: usize, shared: Arc<Shared>) {
    loop {
        match read_frame(&mut stream) {
            Ok((KIND_DATA, op, payload)) => {
                let mut state = shared.lock();
                state.frames[peer].push_back((op, payload));
                shared.changed.notify_all();
            }
            Ok((KIND_ABORT, _, payload)) => {
                let (origin, reason) = decode_abort(peer, &payload);
                shared.mark_aborted(origin, &reason);
                return;
            }
            Ok((kind, _, _)) => {
                shared.mark_gone(peer, format!("rank {peer} sent a frame of unknown kind {kind}"));
                return;
            }
            Err(e) => {
                let why = match e.kind() {
                    ErrorKind::UnexpectedEof => String::new(),
                    _ => format!(" ({e})"),
                };
                shared.mark_gone(peer, format!("lost the connection to rank {peer}{why}"));
                return;
            }
        }
    }
}

/// Writes queued frames to `peer` until the queue closes or a write fails (after the socket's write
/// timeout, when the peer stops reading).
fn write_loop(mut stream: TcpStream, peer: usize, frames: mpsc::Receiver<Arc<[u8]>>, shared: Arc<Shared>) {
    for f in frames {
        if let Err(e) = stream.write_all(&f) {
            let why = match e.kind() {
                ErrorKind::WouldBlock | ErrorKind::TimedOut => "it stopped reading".to_string(),
                _ => e.to_string(),
            };
            shared.mark_gone(peer, format!("lost the connection to rank {peer}: cannot send ({why})"));
            return;
        }
    }
}

fn encode_abort(origin: usize, reason: &str) -> Vec<u8> {
    let mut b = (origin as u32).to_le_bytes().to_vec();
    b.extend_from_slice(reason.as_bytes());
    b
}

/// The origin and reason of an abort frame received from `peer` (a malformed one is blamed on it).
fn decode_abort(peer: usize, payload: &[u8]) -> (usize, String) {
    if payload.len() < 4 {
        return (peer, "aborted".into());
    }
    let mut origin = [0u8; 4];
    origin.copy_from_slice(&payload[..4]);
    (
        u32::from_le_bytes(origin) as usize,
        String::from_utf8_lossy(&payload[4..]).into_owned(),
    )
}

impl TcpCollective {
    /// Binds a listener on `host` (an IP address or a name, port chosen by the system) and returns
    /// it with the address the other ranks must dial. Bind every rank before any connects.
    pub fn bind(host: &str) -> Result<(TcpPending, SocketAddr)> {
        let listener = TcpListener::bind((host, 0)).map_err(|e| {
            Error::param(
                "host",
                format!("cannot listen on `{host}` for distributed training: {e}"),
            )
        })?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::param("host", format!("the listener on `{host}` has no address: {e}")))?;
        Ok((TcpPending { listener, address }, address))
    }

    fn fail(&self, reason: impl Into<String>) -> Error {
        fail(self.rank, reason)
    }

    fn peer(&self, rank: usize) -> Option<&Peer> {
        self.peers.get(rank).and_then(Option::as_ref)
    }

    /// Queues `f` for `to` (a closed connection is reported when this rank waits on it).
    fn send(&self, to: usize, f: &Arc<[u8]>) {
        if let Some(p) = self.peer(to) {
            let outbox = p.outbox.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(tx) = outbox.as_ref() {
                if tx.send(Arc::clone(f)).is_ok() {
                    self.sent.fetch_add(f.len() as u64, Ordering::Relaxed);
                }
            }
        }
    }

    /// Sends `payload` to every other rank.
    fn send_all(&self, op: Op, payload: &[u8]) {
        let f = frame(KIND_DATA, op as u8, payload);
        for to in (0..self.size).filter(|&r| r != self.rank) {
            self.send(to, &f);
        }
    }

    /// Takes the next data frame from each rank of `from` (in that order), waiting until all have
    /// arrived, the group is aborted, one of them is gone, or `deadline` passes (which aborts the
    /// group for everyone, naming the ranks waited for).
    fn receive(&self, from: &[usize], op: Op, deadline: Instant) -> Result<Vec<Vec<u8>>> {
        let mut state = self.shared.lock();
        loop {
            if let Some((origin, reason)) = &state.aborted {
                return Err(self.fail(format!("rank {origin} failed: {reason}")));
            }
            let missing: Vec<usize> = from.iter().copied().filter(|&p| state.frames[p].is_empty()).collect();
            if missing.is_empty() {
                let mut out = Vec::with_capacity(from.len());
                for &p in from {
                    let (code, payload) = state.frames[p].pop_front().unwrap_or_default();
                    if code != op as u8 {
                        return Err(self.fail(format!(
                            "rank {p} is in {} while this rank is in {}: the ranks' calls differ",
                            Op::name(code),
                            Op::name(op as u8)
                        )));
                    }
                    self.received
                        .fetch_add((HEADER + payload.len()) as u64, Ordering::Relaxed);
                    out.push(payload);
                }
                return Ok(out);
            }
            if let Some(why) = missing.iter().find_map(|&p| state.gone[p].clone()) {
                return Err(self.fail(why));
            }
            let now = Instant::now();
            if now >= deadline {
                let names: Vec<String> = missing.iter().map(usize::to_string).collect();
                let reason = format!(
                    "no answer from rank(s) {} within {:.1} s (collective_timeout)",
                    names.join(", "),
                    self.timeout.as_secs_f64()
                );
                drop(state);
                self.abort(&reason);
                return Err(self.fail(reason));
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Every rank's `bytes` in rank order, exchanged over the mesh under `op`.
    fn gather(&self, op: Op, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        let deadline = Instant::now() + self.timeout;
        self.send_all(op, bytes);
        let others: Vec<usize> = (0..self.size).filter(|&r| r != self.rank).collect();
        let mut theirs = self.receive(&others, op, deadline)?.into_iter();
        Ok((0..self.size)
            .map(|r| {
                if r == self.rank {
                    bytes.to_vec()
                } else {
                    theirs.next().unwrap_or_default()
                }
            })
            .collect())
    }

    /// Element-wise combination over all ranks by gathering everything and folding in rank order.
    fn reduce_gathered<T: WireValue>(&self, values: &mut [T], combine: impl Fn(T, T) -> T) -> Result<()> {
        let all = self.gather(Op::Reduce, &encode_values(values))?;
        fold_in_rank_order(values, &all, combine).map_err(|reason| self.fail(reason))
    }

    /// The ring allreduce of integers: a reduce-scatter then an allgather around the ranks, each
    /// step sending one chunk to the next rank and receiving one from the previous. Wrapping sums,
    /// maxima and minima do not depend on the order, so every rank ends with the same values.
    fn ring_i64(&self, values: &mut [i64], op: ReduceOp) -> Result<()> {
        let deadline = Instant::now() + self.timeout;
        let n = self.size;
        let (next, prev) = ((self.rank + 1) % n, (self.rank + n - 1) % n);
        let bounds: Vec<usize> = (0..=n).map(|c| values.len() * c / n).collect();
        let chunk = |c: usize| bounds[c % n]..bounds[c % n + 1];
        let send_chunk = |values: &[i64], c: usize| {
            let bytes: Vec<u8> = values[chunk(c)].iter().flat_map(|v| v.to_le_bytes()).collect();
            let mut header = (values.len() as u64).to_le_bytes().to_vec();
            header.extend_from_slice(&bytes);
            self.send(next, &frame(KIND_DATA, Op::Ring as u8, &header));
        };
        let receive_chunk = |c: usize| -> Result<Vec<i64>> {
            let payload = self.receive(&[prev], Op::Ring, deadline)?.pop().unwrap_or_default();
            let range = chunk(c);
            let mut total = [0u8; 8];
            let ok = payload.len() == 8 + range.len() * 8;
            if ok {
                total.copy_from_slice(&payload[..8]);
            }
            if !ok || u64::from_le_bytes(total) != values_len(&bounds) {
                return Err(self.fail(format!(
                    "rank {prev} reduced a different number of values than this rank ({})",
                    values_len(&bounds)
                )));
            }
            Ok(payload[8..]
                .chunks_exact(8)
                .map(|b| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    i64::from_le_bytes(a)
                })
                .collect())
        };
        // Reduce-scatter: after step s this rank holds the sum of s + 2 ranks for chunk rank - s - 1.
        for s in 0..n - 1 {
            send_chunk(values, self.rank + n - s);
            let c = self.rank + 2 * n - s - 1;
            let theirs = receive_chunk(c)?;
            for (v, t) in values[chunk(c)].iter_mut().zip(theirs) {
                *v = op.apply_i64(*v, t);
            }
        }
        // Allgather: this rank holds the full chunk rank + 1; pass the finished chunks around.
        for s in 0..n - 1 {
            send_chunk(values, self.rank + 1 + n - s);
            let c = self.rank + n - s;
            let theirs = receive_chunk(c)?;
            values[chunk(c)].copy_from_slice(&theirs);
        }
        Ok(())
    }

    /// Flushes the writers (waiting at most `wait`), then shuts every socket, which ends the reader
    /// threads.
    fn close(&self, wait: Duration) {
        for p in self.peers.iter().flatten() {
            p.outbox.lock().unwrap_or_else(|e| e.into_inner()).take();
        }
        let deadline = Instant::now() + wait;
        for p in self.peers.iter().flatten() {
            let mut writer = p.writer.lock().unwrap_or_else(|e| e.into_inner());
            while writer.as_ref().is_some_and(|h| !h.is_finished()) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            // A writer still blocked in a write ends when its socket is shut below.
            let _ = p.stream.shutdown(Shutdown::Both);
            if let Some(h) = writer.take() {
                let _ = h.join();
            }
        }
    }
}

/// The number of values `bounds` divides (its last entry).
fn values_len(bounds: &[usize]) -> u64 {
    bounds.last().copied().unwrap_or(0) as u64
}

impl TcpPending {
    /// The address the other ranks must dial (the listener's).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Joins the group as `rank`: `addresses` holds every rank's address in rank order (this rank's
    /// included), and `group` identifies the run (e.g. a random id shared by its ranks); a
    /// connection with another group id is refused. Fails, naming the ranks, when the group has not
    /// formed within `timeout`, which also bounds every later operation (`collective_timeout`).
    pub fn connect(
        self,
        rank: usize,
        addresses: &[SocketAddr],
        group: &str,
        timeout: Duration,
    ) -> Result<TcpCollective> {
        let size = addresses.len();
        if rank >= size {
            return Err(fail(rank, format!("rank {rank} is not in a group of {size} addresses")));
        }
        if group.len() > MAX_GROUP_ID {
            return Err(Error::param("group", format!("at most {MAX_GROUP_ID} bytes")));
        }
        if timeout.is_zero() {
            return Err(Error::param("collective_timeout", "must be above 0"));
        }
        let deadline = Instant::now() + timeout;
        let mut streams: Vec<Option<TcpStream>> = (0..size).map(|_| None).collect();
        let hello = handshake_hello(group, rank, size);
        for (peer, addr) in addresses.iter().enumerate().take(rank) {
            streams[peer] = Some(dial(rank, peer, *addr, &hello, deadline)?);
        }
        self.accept_higher(rank, size, group, deadline, &mut streams)?;
        let shared = Arc::new(Shared {
            state: Mutex::new(Inbox {
                frames: (0..size).map(|_| VecDeque::new()).collect(),
                gone: vec![None; size],
                aborted: None,
            }),
            changed: Condvar::new(),
        });
        let mut peers = Vec::with_capacity(size);
        for (peer, stream) in streams.into_iter().enumerate() {
            peers.push(match stream {
                Some(s) => Some(start_peer(rank, peer, s, timeout, &shared)?),
                None => None,
            });
        }
        Ok(TcpCollective {
            rank,
            size,
            timeout,
            shared,
            peers,
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
        })
    }

    /// Accepts ranks `rank + 1..size` (in any order), turning away connections whose handshake is
    /// not from this group.
    fn accept_higher(
        &self,
        rank: usize,
        size: usize,
        group: &str,
        deadline: Instant,
        streams: &mut [Option<TcpStream>],
    ) -> Result<()> {
        let missing = |streams: &[Option<TcpStream>]| -> Vec<String> {
            (rank + 1..size)
                .filter(|&r| streams[r].is_none())
                .map(|r| r.to_string())
                .collect()
        };
        self.listener
            .set_nonblocking(true)
            .map_err(|e| fail(rank, format!("cannot poll the listener: {e}")))?;
        while !missing(streams).is_empty() {
            match self.listener.accept() {
                Ok((s, _)) => {
                    if let Some((peer, s)) = greet(s, rank, size, group, deadline) {
                        if streams[peer].is_none() {
                            streams[peer] = Some(s);
                        }
                    }
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                    if Instant::now() >= deadline {
                        return Err(fail(
                            rank,
                            format!(
                                "rank(s) {} did not connect within the timeout (collective_timeout)",
                                missing(streams).join(", ")
                            ),
                        ));
                    }
                    std::thread::sleep(ACCEPT_POLL);
                }
                Err(e) => return Err(fail(rank, format!("cannot accept connections: {e}"))),
            }
        }
        Ok(())
    }
}

/// The handshake a dialling rank sends: magic, group id, its rank and the group size.
fn handshake_hello(group: &str, rank: usize, size: usize) -> Vec<u8> {
    let mut b = MAGIC.to_vec();
    b.push(group.len() as u8);
    b.extend_from_slice(group.as_bytes());
    b.extend_from_slice(&(rank as u32).to_le_bytes());
    b.extend_from_slice(&(size as u32).to_le_bytes());
    b
}

/// Reads a hello on an accepted connection; answers and returns the peer's rank when it is a
/// higher rank of this group, else `None` (the connection is dropped).
fn greet(mut s: TcpStream, rank: usize, size: usize, group: &str, deadline: Instant) -> Option<(usize, TcpStream)> {
    s.set_nonblocking(false).ok()?;
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    s.set_read_timeout(Some(left.min(Duration::from_secs(10)))).ok()?;
    let mut magic = [0u8; 9];
    s.read_exact(&mut magic).ok()?;
    if &magic[..8] != MAGIC || magic[8] as usize != group.len() {
        return None;
    }
    let mut rest = vec![0u8; group.len() + 8];
    s.read_exact(&mut rest).ok()?;
    let (theirs, numbers) = rest.split_at(group.len());
    let word = |i: usize| {
        let mut a = [0u8; 4];
        a.copy_from_slice(&numbers[i * 4..i * 4 + 4]);
        u32::from_le_bytes(a) as usize
    };
    let (peer, their_size) = (word(0), word(1));
    if theirs != group.as_bytes() || their_size != size || peer <= rank || peer >= size {
        return None;
    }
    let mut ack = MAGIC.to_vec();
    ack.extend_from_slice(&(rank as u32).to_le_bytes());
    s.write_all(&ack).ok()?;
    Some((peer, s))
}

/// Dials `peer` at `addr` (retrying until `deadline` while it is unreachable), sends the hello and
/// waits for its answer.
fn dial(rank: usize, peer: usize, addr: SocketAddr, hello: &[u8], deadline: Instant) -> Result<TcpStream> {
    let mut s = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match TcpStream::connect_timeout(&addr, left.clamp(Duration::from_millis(10), Duration::from_secs(5))) {
            Ok(s) => break s,
            Err(e) => {
                if Instant::now() + DIAL_RETRY >= deadline {
                    return Err(fail(
                        rank,
                        format!("cannot connect to rank {peer} at {addr} within the timeout (collective_timeout): {e}"),
                    ));
                }
                std::thread::sleep(DIAL_RETRY);
            }
        }
    };
    let left = deadline
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(100));
    let refused = |e: std::io::Error| {
        fail(
            rank,
            format!("rank {peer} at {addr} did not complete the handshake ({e}); is it a rank of this run?"),
        )
    };
    s.set_read_timeout(Some(left)).map_err(refused)?;
    s.write_all(hello).map_err(refused)?;
    let mut ack = [0u8; 12];
    s.read_exact(&mut ack).map_err(refused)?;
    let mut theirs = [0u8; 4];
    theirs.copy_from_slice(&ack[8..]);
    if &ack[..8] != MAGIC || u32::from_le_bytes(theirs) as usize != peer {
        return Err(refused(std::io::Error::new(
            ErrorKind::InvalidData,
            "unexpected answer",
        )));
    }
    Ok(s)
}

/// Starts the reader and writer threads of the connection to `peer`.
fn start_peer(rank: usize, peer: usize, stream: TcpStream, timeout: Duration, shared: &Arc<Shared>) -> Result<Peer> {
    let io = |e: std::io::Error| fail(rank, format!("cannot set up the connection to rank {peer}: {e}"));
    stream.set_nodelay(true).map_err(io)?;
    stream.set_read_timeout(None).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let (reader, writer) = (stream.try_clone().map_err(io)?, stream.try_clone().map_err(io)?);
    let (tx, rx) = mpsc::channel();
    let s = Arc::clone(shared);
    std::thread::Builder::new()
        .name(format!("sylvan-tcp-read-{peer}"))
        .spawn(move || read_loop(reader, peer, s))
        .map_err(io)?;
    let s = Arc::clone(shared);
    let handle = std::thread::Builder::new()
        .name(format!("sylvan-tcp-write-{peer}"))
        .spawn(move || write_loop(writer, peer, rx, s))
        .map_err(io)?;
    Ok(Peer {
        stream,
        outbox: Mutex::new(Some(tx)),
        writer: Mutex::new(Some(handle)),
    })
}

impl Collective for TcpCollective {
    fn rank(&self) -> usize {
        self.rank
    }

    fn world_size(&self) -> usize {
        self.size
    }

    fn allreduce_i64(&self, values: &mut [i64], op: ReduceOp) -> Result<()> {
        if self.size > 1 && values.len() >= self.size * RING_MIN_CHUNK {
            return self.ring_i64(values, op);
        }
        self.reduce_gathered(values, |a, b| op.apply_i64(a, b))
    }

    fn allreduce_f64(&self, values: &mut [f64], op: ReduceOp) -> Result<()> {
        self.reduce_gathered(values, |a, b| op.apply_f64(a, b))
    }

    fn broadcast(&self, bytes: &mut Vec<u8>, root: usize) -> Result<()> {
        if root >= self.size {
            return Err(self.fail(format!("broadcast from rank {root} of {}", self.size)));
        }
        if self.rank == root {
            // Fail like the others would if the group is already broken.
            if let Some((origin, reason)) = &self.shared.lock().aborted {
                return Err(self.fail(format!("rank {origin} failed: {reason}")));
            }
            self.send_all(Op::Broadcast, bytes);
            return Ok(());
        }
        let deadline = Instant::now() + self.timeout;
        *bytes = self
            .receive(&[root], Op::Broadcast, deadline)?
            .pop()
            .unwrap_or_default();
        Ok(())
    }

    fn allgather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        self.gather(Op::Allgather, bytes)
    }

    fn barrier(&self) -> Result<()> {
        self.gather(Op::Barrier, &[]).map(|_| ())
    }

    fn abort(&self, reason: &str) {
        let (origin, why) = self.shared.mark_aborted(self.rank, reason);
        // Relay the first abort (this rank's or one received), so every rank learns the cause.
        let f = frame(KIND_ABORT, 0, &encode_abort(origin, &why));
        for to in (0..self.size).filter(|&r| r != self.rank) {
            self.send(to, &f);
        }
        self.close(self.timeout.min(Duration::from_secs(5)));
    }

    fn traffic(&self) -> Traffic {
        Traffic {
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
        }
    }
}

impl Drop for TcpCollective {
    /// Sends what is still queued (the last broadcast, say), then closes every connection.
    fn drop(&mut self) {
        self.close(self.timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collective::MemoryCollective;

    const GROUP: &str = "test-group";

    /// A group of `size` ranks connected over 127.0.0.1.
    fn group(size: usize, timeout: Duration) -> Vec<TcpCollective> {
        let (pending, addresses): (Vec<_>, Vec<_>) =
            (0..size).map(|_| TcpCollective::bind("127.0.0.1").unwrap()).unzip();
        std::thread::scope(|s| {
            let handles: Vec<_> = pending
                .into_iter()
                .enumerate()
                .map(|(r, p)| {
                    let addresses = &addresses;
                    s.spawn(move || p.connect(r, addresses, GROUP, timeout).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    fn run_on<C: Collective, T: Send>(ranks: &[C], f: impl Fn(&C) -> T + Sync) -> Vec<T> {
        std::thread::scope(|s| {
            let handles: Vec<_> = ranks.iter().map(|c| s.spawn(|| f(c))).collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    /// A fixed mix of every operation, with values that differ by rank.
    #[allow(clippy::type_complexity)]
    fn workload(c: &dyn Collective) -> (Vec<Vec<i64>>, Vec<Vec<u64>>, Vec<Vec<u8>>, Vec<Vec<Vec<u8>>>) {
        let r = c.rank() as i64;
        let mut ints = Vec::new();
        // Short (gathered) and long (ring, uneven chunks) vectors, each reduction.
        for len in [1usize, 7, 5 * 1024 + 3, 13 * 1024 + 1] {
            for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
                let mut v: Vec<i64> = (0..len as i64)
                    .map(|i| (i * 7919 + r * 104_729) % 1_000_003 - 500_000 + i64::MAX / 3 * (r % 2))
                    .collect();
                c.allreduce_i64(&mut v, op).unwrap();
                ints.push(v);
            }
        }
        let mut floats = Vec::new();
        for op in [ReduceOp::Sum, ReduceOp::Max, ReduceOp::Min] {
            let mut v: Vec<f64> = (0..50)
                .map(|i| 0.1 * i as f64 + 1e16 * r as f64 - 1e-3 * r as f64)
                .collect();
            v.push(if r == 1 { f64::NAN } else { 1.0 });
            c.allreduce_f64(&mut v, op).unwrap();
            floats.push(v.iter().map(|x| x.to_bits()).collect());
        }
        let mut casts = Vec::new();
        for root in 0..c.world_size() {
            let mut b = if c.rank() == root {
                vec![root as u8; 3 + root * 1000]
            } else {
                b"overwritten".to_vec()
            };
            c.broadcast(&mut b, root).unwrap();
            casts.push(b);
        }
        let gathers = vec![
            c.allgather(&vec![c.rank() as u8; c.rank() * 3]).unwrap(),
            c.allgather(&vec![7u8; 200_000 + c.rank()]).unwrap(),
        ];
        c.barrier().unwrap();
        (ints, floats, casts, gathers)
    }

    #[test]
    fn every_operation_agrees_with_the_memory_collective() {
        for size in [2, 3, 4] {
            let tcp = group(size, Duration::from_secs(30));
            let memory = MemoryCollective::group(size, Duration::from_secs(30));
            let by_tcp = run_on(&tcp, |c| workload(c));
            let by_memory = run_on(&memory, |c| workload(c));
            assert_eq!(by_tcp, by_memory, "{size} ranks");
            for c in &tcp {
                let t = c.traffic();
                assert!(t.sent > 200_000 && t.received > 200_000, "{t:?}");
            }
        }
    }

    #[test]
    fn one_rank_is_a_group_too() {
        let one = group(1, Duration::from_secs(5));
        assert_eq!(workload(&one[0]), workload(&crate::collective::LocalCollective));
    }

    #[test]
    fn an_abort_fails_the_others_instead_of_hanging() {
        let ranks = group(3, Duration::from_secs(60));
        let out = run_on(&ranks, |c| {
            if c.rank() == 2 {
                c.abort("bad row 7");
                return None;
            }
            Some(c.barrier().unwrap_err().to_string())
        });
        for e in out.into_iter().flatten() {
            assert!(e.contains("rank 2 failed: bad row 7"), "{e}");
        }
        // Later calls fail too, on every rank.
        for c in &ranks {
            let e = c.barrier().unwrap_err().to_string();
            assert!(e.contains("rank 2 failed: bad row 7"), "{e}");
        }
    }

    #[test]
    fn a_relayed_abort_keeps_the_first_cause() {
        let ranks = group(3, Duration::from_secs(60));
        ranks[0].abort("out of memory");
        // Rank 1 fails, then aborts in turn with its own message (as training does).
        let e = ranks[1].barrier().unwrap_err().to_string();
        ranks[1].abort(&e);
        let e = ranks[2].barrier().unwrap_err().to_string();
        assert!(e.contains("rank 0 failed: out of memory"), "{e}");
    }

    #[test]
    fn a_silent_rank_times_out_and_the_group_learns_why() {
        let ranks = group(2, Duration::from_millis(300));
        let e = ranks[0].barrier().unwrap_err().to_string();
        assert!(
            e.contains("no answer from rank(s) 1") && e.contains("collective_timeout"),
            "{e}"
        );
        // The waiting rank aborted the group: the silent one fails at its next call.
        // (Its first barrier may still complete with the frame rank 0 sent before giving up.)
        let e = ranks[1]
            .barrier()
            .and_then(|_| ranks[1].barrier())
            .unwrap_err()
            .to_string();
        assert!(e.contains("rank 0 failed: no answer from rank(s) 1"), "{e}");
    }

    #[test]
    fn a_dropped_rank_gives_an_error_not_a_hang() {
        let mut ranks = group(3, Duration::from_secs(600));
        drop(ranks.pop());
        let out = run_on(&ranks, |c| c.allgather(b"x").unwrap_err().to_string());
        for e in out {
            assert!(e.contains("lost the connection to rank 2"), "{e}");
        }
    }

    #[test]
    fn a_broadcast_sent_just_before_dropping_arrives() {
        let mut ranks = group(2, Duration::from_secs(30));
        let root = ranks.remove(0);
        let mut big = vec![5u8; 4 << 20];
        root.broadcast(&mut big, 0).unwrap();
        drop(root);
        let mut got = Vec::new();
        ranks[0].broadcast(&mut got, 0).unwrap();
        assert_eq!(got.len(), 4 << 20);
        let e = ranks[0].barrier().unwrap_err().to_string();
        assert!(e.contains("lost the connection to rank 0"), "{e}");
    }

    #[test]
    fn calls_that_differ_between_ranks_are_reported() {
        let ranks = group(2, Duration::from_secs(30));
        let out = run_on(&ranks, |c| {
            if c.rank() == 0 {
                c.barrier().map_err(|e| e.to_string())
            } else {
                c.allgather(b"x").map(|_| ()).map_err(|e| e.to_string())
            }
        });
        let e = out[0].clone().unwrap_err();
        assert!(
            e.contains("rank 1 is in allgather while this rank is in barrier"),
            "{e}"
        );
        let ranks = group(2, Duration::from_secs(30));
        let out = run_on(&ranks, |c| {
            let mut mine = vec![1i64; 2 - c.rank()];
            c.allreduce_i64(&mut mine, ReduceOp::Sum).map_err(|e| e.to_string())
        });
        let e = out[0].clone().unwrap_err();
        assert!(e.contains("rank 1 reduced 1 values, this rank 2"), "{e}");
    }

    #[test]
    fn strangers_and_other_groups_are_turned_away() {
        let (p0, a0) = TcpCollective::bind("127.0.0.1").unwrap();
        let (p1, a1) = TcpCollective::bind("127.0.0.1").unwrap();
        let addresses = [a0, a1];
        // A connection that says nothing useful, and one from another run, reach rank 0 first.
        let mut junk = TcpStream::connect(a0).unwrap();
        junk.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        let mut other = TcpStream::connect(a0).unwrap();
        other.write_all(&handshake_hello("another-run", 1, 2)).unwrap();
        let t = std::thread::spawn(move || p1.connect(1, &addresses, GROUP, Duration::from_secs(20)));
        let c0 = p0.connect(0, &addresses, GROUP, Duration::from_secs(20)).unwrap();
        let c1 = t.join().unwrap().unwrap();
        let out = run_on(&[c0, c1], |c| c.allgather(&[c.rank() as u8]).unwrap());
        assert_eq!(out[0], vec![vec![0], vec![1]]);
        // The stranger from another run got no answer.
        let mut buf = [0u8; 1];
        other.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        assert!(matches!(other.read(&mut buf), Ok(0) | Err(_)));
    }

    #[test]
    fn a_group_that_does_not_form_names_the_missing_ranks() {
        let (p0, a0) = TcpCollective::bind("127.0.0.1").unwrap();
        let (_p1, a1) = TcpCollective::bind("127.0.0.1").unwrap();
        let (p2, a2) = TcpCollective::bind("127.0.0.1").unwrap();
        drop(p2);
        let e = p0
            .connect(0, &[a0, a1, a2], GROUP, Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        assert!(e.contains("rank(s) 1, 2 did not connect"), "{e}");
        // Dialling a rank whose listener is gone fails within the timeout, naming it.
        let (p3, a3) = TcpCollective::bind("127.0.0.1").unwrap();
        let e = p3
            .connect(1, &[a2, a3], GROUP, Duration::from_millis(300))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot connect to rank 0"), "{e}");
        let (p4, a4) = TcpCollective::bind("127.0.0.1").unwrap();
        assert!(p4.connect(2, &[a4], GROUP, Duration::from_secs(1)).is_err());
    }
}
