//! Distributed `sylvan train`: when the binary is built with the `mpi` feature and started by
//! mpirun/srun with several ranks, each rank trains on its shard of the data and the model is the
//! one-process model on all the rows in rank order (docs/distributed.md).
//!
//! Shards (`--data` and each `--valid`): a path with `{rank}` (one file per rank), a comma-separated
//! list of one file per rank, or one Parquet file, split into contiguous row-group ranges balanced
//! by rows (training data only: a single validation file is read whole by every rank). Any error on
//! any rank aborts the whole job, which exits non-zero; only rank 0 prints and writes the model.
//!
//! For tests only: `SYLVAN_FAULT=fail:RANK:ROUND` makes that rank fail after that (0-based) round,
//! `SYLVAN_FAULT=stall:RANK:ROUND` makes it sleep for an hour there.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use sylvan::booster::{Collective, Dataset, Distributed, ReduceOp, RoundReport, Traffic, TrainCallback};
use sylvan::io::{load_for_model, parquet_reader::row_group_rows, ColumnSelection, Format, LoadedData};

use super::progress::Progress;
use super::train::TrainArgs;

/// One rank's file, or part of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// The file this rank reads.
    pub path: PathBuf,
    /// The row groups of a Parquet file shared by every rank (`None`: the whole file).
    pub row_groups: Option<Range<usize>>,
}

/// What one rank trains on, and with whom.
pub struct RankPlan<'a> {
    /// The group of ranks.
    pub collective: &'a dyn Collective,
    /// The same group, counting its calls.
    pub counted: &'a Counted<'a>,
    /// This rank's training rows.
    pub data: Shard,
    /// This rank's part of each `--valid` set (or the whole set), in order.
    pub valid: Vec<Shard>,
    /// Whether the validation sets are split over the ranks (else every rank holds them whole).
    pub sharded_evals: bool,
    /// A fault to inject (tests only).
    pub fault: Option<Fault>,
}

/// A fault injected for tests through `SYLVAN_FAULT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Fail (an error) or stall (sleep for an hour).
    pub stall: bool,
    /// The rank that misbehaves.
    pub rank: usize,
    /// After which round (0-based).
    pub round: usize,
}

/// The number of ranks of the MPI job this process belongs to, from the launcher's environment
/// (Open MPI, or a PMI-based launcher such as MPICH's or Slurm's); `None` outside a job.
fn env_world_size() -> Option<usize> {
    ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE"]
        .iter()
        .find_map(|v| std::env::var(v).ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Refuses what cannot run on several ranks before anything is read: an ensemble config.
pub fn refuse_ensemble() -> Result<()> {
    match env_world_size() {
        Some(n) if n > 1 => bail!(
            "ensembles ([ensemble] in --config) cannot be trained on several MPI ranks ({n} here): \
             run `sylvan train` with an ensemble as one process"
        ),
        _ => Ok(()),
    }
}

/// Runs `sylvan train` as one rank of an MPI job when this process is one (`None` otherwise, and
/// for a job of one rank). Without the `mpi` feature, a job of several ranks is refused: each rank
/// would train alone on the whole data.
pub fn run_if_launched(args: &TrainArgs) -> Option<Result<()>> {
    #[cfg(feature = "mpi")]
    {
        sylvan::collective::launched_by_mpi().then(|| mpi_run(args))
    }
    #[cfg(not(feature = "mpi"))]
    {
        let _ = args;
        match env_world_size() {
            Some(n) if n > 1 => Some(Err(anyhow!(
                "this sylvan was built without MPI but runs as one of {n} MPI ranks: build it with \
                 `cargo build --release --features mpi` for distributed training"
            ))),
            _ => None,
        }
    }
}

/// Initialises MPI, trains as this rank and aborts the job on any error (or panic) here.
#[cfg(feature = "mpi")]
fn mpi_run(args: &TrainArgs) -> Result<()> {
    use std::sync::Arc;
    use sylvan::collective::MpiCollective;

    let params = super::params::build(args.config.as_deref(), &args.sets)?;
    let mpi = Arc::new(MpiCollective::initialize(Duration::from_secs_f64(
        params.collective_timeout,
    ))?);
    if mpi.world_size() == 1 {
        drop(mpi);
        return super::train::run_on(args, None);
    }
    abort_on_panic::arm(Arc::clone(&mpi) as Arc<dyn Collective>);
    let counted = Counted::new(mpi.as_ref());
    let result = plan(args, &counted).and_then(|plan| super::train::run_on(args, Some(&plan)));
    if let Err(e) = &result {
        mpi.abort(&super::one_line(e));
    }
    abort_on_panic::disarm();
    result
}

/// A panic hook for distributed runs: after the usual one-line message, the panicking rank aborts
/// the job (so the other ranks do not wait for it until the timeout).
#[cfg(feature = "mpi")]
mod abort_on_panic {
    use std::sync::{Arc, Mutex, Once};

    use sylvan::booster::Collective;

    static TARGET: Mutex<Option<Arc<dyn Collective>>> = Mutex::new(None);
    static INSTALL: Once = Once::new();

    /// Makes a panic from now on abort `collective`'s job.
    pub fn arm(collective: Arc<dyn Collective>) {
        if let Ok(mut t) = TARGET.lock() {
            *t = Some(collective);
        }
        INSTALL.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                previous(info);
                let target = TARGET.try_lock().ok().and_then(|t| t.clone());
                if let Some(c) = target {
                    c.abort(&format!("internal error (panic): {info}"));
                }
            }));
        });
    }

    /// Drops the collective (so MPI can be finalised); panics no longer abort.
    pub fn disarm() {
        if let Ok(mut t) = TARGET.lock() {
            *t = None;
        }
    }
}

/// A collective that counts its calls (for `--print-traffic`: latency costs per call).
pub struct Counted<'a> {
    inner: &'a dyn Collective,
    calls: std::sync::atomic::AtomicU64,
}

impl<'a> Counted<'a> {
    /// Counts the calls made to `inner`.
    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub fn new(inner: &'a dyn Collective) -> Counted<'a> {
        Counted {
            inner,
            calls: Default::default(),
        }
    }

    fn count(&self) {
        self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.calls.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Collective for Counted<'_> {
    fn rank(&self) -> usize {
        self.inner.rank()
    }
    fn world_size(&self) -> usize {
        self.inner.world_size()
    }
    fn allreduce_i64(&self, values: &mut [i64], op: ReduceOp) -> sylvan::booster::Result<()> {
        self.count();
        self.inner.allreduce_i64(values, op)
    }
    fn allreduce_f64(&self, values: &mut [f64], op: ReduceOp) -> sylvan::booster::Result<()> {
        self.count();
        self.inner.allreduce_f64(values, op)
    }
    fn broadcast(&self, bytes: &mut Vec<u8>, root: usize) -> sylvan::booster::Result<()> {
        self.count();
        self.inner.broadcast(bytes, root)
    }
    fn allgather(&self, bytes: &[u8]) -> sylvan::booster::Result<Vec<Vec<u8>>> {
        self.count();
        self.inner.allgather(bytes)
    }
    fn barrier(&self) -> sylvan::booster::Result<()> {
        self.count();
        self.inner.barrier()
    }
    fn abort(&self, reason: &str) {
        self.inner.abort(reason)
    }
    fn traffic(&self) -> Traffic {
        self.inner.traffic()
    }
}

/// Works out this rank's shards from the command line and reads `SYLVAN_FAULT`.
// Used by the MPI entry point only (the rest of a rank's run is plain `sylvan train`).
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
pub fn plan<'a>(args: &TrainArgs, counted: &'a Counted<'a>) -> Result<RankPlan<'a>> {
    let collective: &dyn Collective = counted;
    let rank = collective.rank();
    let world = collective.world_size();
    let (data, sharded) = shard_of(&args.data, rank, world, true)?;
    if !sharded {
        bail!(
            "--data `{}`: with {world} ranks, give one file per rank (a path with `{{rank}}`, or {world} \
             comma-separated files) or one Parquet file (split by row groups); a single CSV, LibSVM or \
             Arrow file cannot be split",
            args.data.display()
        );
    }
    let mut valid = Vec::with_capacity(args.valid.len());
    let mut kinds = Vec::with_capacity(args.valid.len());
    for v in &args.valid {
        let (shard, sharded) = shard_of(v, rank, world, false)?;
        valid.push(shard);
        kinds.push(sharded);
    }
    if kinds.iter().any(|k| *k) && kinds.iter().any(|k| !*k) {
        bail!(
            "--valid: either every validation set is split over the ranks (`{{rank}}` or one file per \
             rank) or every one is a single file read whole by each rank, not a mix"
        );
    }
    Ok(RankPlan {
        collective,
        counted,
        data,
        valid,
        // Without validation sets the training set is evaluated, and it is sharded.
        sharded_evals: kinds.first().copied().unwrap_or(true),
        fault: fault_from_env()?,
    })
}

/// This rank's shard of `spec` and whether it is a shard (`false`: the whole file, read by every
/// rank). A single Parquet file is split by row groups when `split_single` is set.
fn shard_of(spec: &Path, rank: usize, world: usize, split_single: bool) -> Result<(Shard, bool)> {
    let text = spec.to_string_lossy();
    let shard = |path: PathBuf, row_groups| Shard { path, row_groups };
    if text.contains("{rank}") {
        return Ok((
            shard(PathBuf::from(text.replace("{rank}", &rank.to_string())), None),
            true,
        ));
    }
    if text.contains(',') {
        let files: Vec<&str> = text.split(',').map(str::trim).collect();
        if files.len() != world {
            bail!(
                "`{text}` lists {} files for {world} ranks: give exactly one file per rank",
                files.len()
            );
        }
        return Ok((shard(PathBuf::from(files[rank]), None), true));
    }
    if split_single && Format::from_path(spec).is_ok_and(|f| f == Format::Parquet) {
        let rows = row_group_rows(spec)?;
        let ranges = sylvan::collective::row_group_ranges(&rows, world)
            .map_err(|reason| anyhow!("`{}`: {reason}", spec.display()))?;
        return Ok((shard(spec.to_path_buf(), Some(ranges[rank].clone())), true));
    }
    Ok((shard(spec.to_path_buf(), None), false))
}

/// `SYLVAN_FAULT=fail:RANK:ROUND` or `stall:RANK:ROUND` (tests only); unset or empty: none.
#[cfg_attr(not(feature = "mpi"), allow(dead_code))]
fn fault_from_env() -> Result<Option<Fault>> {
    let Ok(text) = std::env::var("SYLVAN_FAULT") else {
        return Ok(None);
    };
    if text.is_empty() {
        return Ok(None);
    }
    parse_fault(&text).map(Some)
}

fn parse_fault(text: &str) -> Result<Fault> {
    let bad = || anyhow!("SYLVAN_FAULT=`{text}`: expected `fail:RANK:ROUND` or `stall:RANK:ROUND`");
    let parts: Vec<&str> = text.split(':').collect();
    let [kind, rank, round] = parts.as_slice() else {
        return Err(bad());
    };
    let stall = match *kind {
        "fail" => false,
        "stall" => true,
        _ => return Err(bad()),
    };
    Ok(Fault {
        stall,
        rank: rank.parse().map_err(|_| bad())?,
        round: round.parse().map_err(|_| bad())?,
    })
}

impl<'a> RankPlan<'a> {
    /// The booster's view of the plan.
    pub fn distributed(&self) -> Distributed<'a> {
        Distributed {
            collective: self.collective,
            sharded_evals: self.sharded_evals,
        }
    }

    /// Gives `loaded` (this rank's shard, read with codes learned on the shard) the category codes
    /// one process would learn on all the rows: the union of every rank's categories in sorted
    /// order. The shard is read again with those codes when it lacks some category.
    pub fn agree_on_categories(
        &self,
        path: &Path,
        selection: &ColumnSelection,
        loaded: LoadedData,
    ) -> Result<LoadedData> {
        let union = sylvan::collective::union_categories(self.collective, &loaded.categories)?;
        if union == loaded.categories {
            return Ok(loaded);
        }
        let names = loaded
            .dataset
            .feature_names()
            .map(<[String]>::to_vec)
            .unwrap_or_default();
        let again = load_for_model(path, &names, &union, selection).with_context(|| {
            format!(
                "rank {}: reading the shard again with every rank's categories",
                self.collective.rank()
            )
        })?;
        Ok(LoadedData {
            categories: union,
            skipped: loaded.skipped,
            ..again
        })
    }

    /// Checks that every rank has the same feature columns (names, types, targets, weights), naming
    /// the first rank that differs from rank 0; returns the number of rows over all ranks.
    pub fn check_same_columns(&self, path: &Path, dataset: &Dataset) -> Result<usize> {
        let describe = |d: &Dataset| {
            let names = d.feature_names().map(<[String]>::to_vec).unwrap_or_default();
            let types: Vec<&str> = d.feature_types().iter().map(|t| t.xgboost_letter()).collect();
            format!(
                "features [{}], types [{}], {} target(s), weights: {}, base margin: {}",
                names.join(", "),
                types.join(""),
                d.num_targets(),
                d.weights().is_some(),
                d.base_margin().is_some()
            )
        };
        let mine = describe(dataset);
        let all = self.collective.allgather(mine.as_bytes())?;
        let first = String::from_utf8_lossy(&all[0]).into_owned();
        if let Some(r) = all.iter().position(|d| d.as_slice() != first.as_bytes()) {
            bail!(
                "the ranks' shards differ: rank 0 has {first}; rank {r} has {}{}",
                String::from_utf8_lossy(&all[r]),
                if r == self.collective.rank() {
                    format!(" (`{}`)", path.display())
                } else {
                    String::new()
                }
            );
        }
        let mut rows = [dataset.num_rows() as i64];
        self.collective
            .allreduce_i64(&mut rows, sylvan::booster::ReduceOp::Sum)?;
        Ok(rows[0] as usize)
    }
}

/// `traffic: ranks=.. s_per_tree=.. bytes_sent_per_tree=..`: time and bytes per tree after the first
/// round (whose figures include the setup: cut points, base score), from the rounds recorded by
/// [`RankCallback`] on a group of `world` ranks.
pub fn traffic_line(world: usize, rounds: &[Round], trees_per_round: usize) -> String {
    let Some(&(first_time, first, first_calls)) = rounds.first() else {
        return format!("traffic: ranks={world} rounds=0");
    };
    let (last_time, last, last_calls) = rounds[rounds.len() - 1];
    let trees = ((rounds.len() - 1) * trees_per_round.max(1)).max(1) as f64;
    format!(
        "traffic: ranks={world} rounds={} first_round_s={:.4} first_round_bytes_sent={} \
         s_per_tree={:.6} bytes_sent_per_tree={:.0} bytes_received_per_tree={:.0} calls_per_tree={:.1}",
        rounds.len(),
        first_time.as_secs_f64(),
        first.sent,
        (last_time - first_time).as_secs_f64() / trees,
        (last.sent - first.sent) as f64 / trees,
        (last.received - first.received) as f64 / trees,
        (last_calls - first_calls) as f64 / trees,
    )
}

/// What [`RankCallback`] records at the end of a round: the time since training started, the
/// bytes exchanged so far and the collective calls made so far.
pub type Round = (Duration, Traffic, u64);

/// The training callback of a rank: shows progress (rank 0), records time and traffic after every
/// round, and injects the test fault.
pub struct RankCallback<'p, 'a> {
    progress: &'p mut Progress,
    collective: &'a dyn Collective,
    fault: Option<Fault>,
    start: Instant,
    counted: Option<&'a Counted<'a>>,
    rounds: Vec<Round>,
    failed: Option<String>,
}

impl<'p, 'a> RankCallback<'p, 'a> {
    /// A callback for `collective`'s rank around `progress`, injecting `fault` if it is this rank's.
    pub fn new(
        collective: &'a dyn Collective,
        counted: Option<&'a Counted<'a>>,
        fault: Option<Fault>,
        progress: &'p mut Progress,
    ) -> RankCallback<'p, 'a> {
        RankCallback {
            progress,
            collective,
            counted,
            fault,
            start: Instant::now(),
            rounds: Vec::new(),
            failed: None,
        }
    }

    /// After training: what was recorded at the end of every round, or the injected failure.
    pub fn finish(self) -> Result<Vec<Round>> {
        match self.failed {
            Some(reason) => Err(anyhow!(reason)),
            None => Ok(self.rounds),
        }
    }
}

impl TrainCallback for RankCallback<'_, '_> {
    fn after_round(&mut self, report: &RoundReport) -> bool {
        let calls = self.counted.map_or(0, Counted::calls);
        self.rounds
            .push((self.start.elapsed(), self.collective.traffic(), calls));
        let go_on = self.progress.after_round(report);
        let rank = self.collective.rank();
        match self.fault {
            Some(f) if f.rank == rank && f.round == report.round && f.stall => {
                std::thread::sleep(Duration::from_secs(3600));
            }
            Some(f) if f.rank == rank && f.round == report.round => {
                self.failed = Some(format!(
                    "injected fault (SYLVAN_FAULT, for tests) on rank {rank} after round {}",
                    report.round
                ));
                return false;
            }
            _ => {}
        }
        go_on
    }

    fn wants_evaluation(&mut self, round: usize, num_rounds: usize) -> bool {
        self.progress.wants_evaluation(round, num_rounds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_from_placeholders_lists_and_single_files() {
        let (s, sharded) = shard_of(Path::new("d/train-{rank}.parquet"), 2, 4, true).unwrap();
        assert_eq!(s.path, Path::new("d/train-2.parquet"));
        assert!(sharded && s.row_groups.is_none());
        let (s, sharded) = shard_of(Path::new("a.csv, b.csv"), 1, 2, true).unwrap();
        assert_eq!(s.path, Path::new("b.csv"));
        assert!(sharded);
        let e = shard_of(Path::new("a.csv,b.csv"), 0, 3, true).unwrap_err().to_string();
        assert!(e.contains("lists 2 files for 3 ranks"), "{e}");
        let (s, sharded) = shard_of(Path::new("valid.csv"), 1, 2, false).unwrap();
        assert_eq!(s.path, Path::new("valid.csv"));
        assert!(!sharded);
        // A single CSV training file is not a shard (refused by `plan`).
        assert!(!shard_of(Path::new("train.csv"), 0, 2, true).unwrap().1);
        let e = shard_of(Path::new("/nonexistent/train.parquet"), 0, 2, true)
            .unwrap_err()
            .to_string();
        assert!(e.contains("train.parquet"), "{e}");
    }

    #[test]
    fn calls_are_counted_and_traffic_is_reported_per_tree() {
        let local = sylvan::booster::LocalCollective;
        let counted = Counted::new(&local);
        counted.barrier().unwrap();
        counted.allreduce_i64(&mut [1, 2], ReduceOp::Sum).unwrap();
        assert_eq!(counted.allgather(b"x").unwrap(), vec![b"x".to_vec()]);
        assert_eq!(counted.calls(), 3);
        let t = |sent| Traffic { sent, received: sent };
        let rounds = [
            (Duration::from_secs(1), t(1000), 10),
            (Duration::from_secs(2), t(1400), 16),
            (Duration::from_secs(3), t(1800), 22),
        ];
        // Two rounds after the first, 3 trees each: 6 trees.
        let line = traffic_line(4, &rounds, 3);
        assert!(line.contains("ranks=4 rounds=3"), "{line}");
        assert!(line.contains("s_per_tree=0.333333"), "{line}");
        assert!(line.contains("bytes_sent_per_tree=133 "), "{line}");
        assert!(line.contains("calls_per_tree=2.0"), "{line}");
    }

    #[test]
    fn faults_parse_or_name_the_variable() {
        assert_eq!(
            parse_fault("fail:1:3").unwrap(),
            Fault {
                stall: false,
                rank: 1,
                round: 3
            }
        );
        assert!(parse_fault("stall:0:0").unwrap().stall);
        for bad in ["fail:1", "crash:1:2", "fail:x:2", "fail:1:2:3"] {
            assert!(
                parse_fault(bad).unwrap_err().to_string().contains("SYLVAN_FAULT"),
                "{bad}"
            );
        }
    }
}
