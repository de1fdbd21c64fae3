//! Distributed `sylvan train` under `mpirun`: the model trained on 2 and 4 ranks (one file per rank,
//! or row-group ranges of one Parquet file) is byte-identical to the one-process model on all the
//! rows, for binary, regression and multiclass objectives with `hist` and `approx`, with sharded
//! and whole validation sets and early stopping; a failing or stalled rank ends every rank with a
//! non-zero status and no model.
//!
//! Needs the binary built with `--features mpi` and `mpirun` (Open MPI) on the PATH; otherwise the
//! tests say why and pass, unless `SYLVAN_REQUIRE_MPI=1` (set by `.ci/run`) makes that a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Float32Array, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;

mod cli_support;
use cli_support::Lcg;

/// Training rows: over 200,000, so that cut points come from a sample.
const ROWS: usize = 240_000;
/// Rows per row group of `whole.parquet` (24 groups).
const GROUP_ROWS: usize = 10_000;
/// Validation rows.
const VALID_ROWS: usize = 40_000;
/// A run that takes longer than this is a hang.
const HANG: Duration = Duration::from_secs(300);

/// One test at a time: every run already uses several processes on a small machine.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the MPI tests can run; says why not (or fails under `SYLVAN_REQUIRE_MPI=1`).
fn mpi_ready() -> bool {
    let why = if !cfg!(feature = "mpi") {
        Some("the sylvan binary is built without the `mpi` feature (cargo test --features mpi)")
    } else if Command::new("mpirun")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_or(true, |s| !s.success())
    {
        Some("`mpirun` is not on the PATH (apt-get install openmpi-bin libopenmpi-dev)")
    } else {
        None
    };
    match why {
        None => true,
        Some(why) if std::env::var("SYLVAN_REQUIRE_MPI").as_deref() == Ok("1") => {
            panic!("SYLVAN_REQUIRE_MPI=1 but {why}")
        }
        Some(why) => {
            // Straight to stderr: the harness would capture `eprintln!` and hide the reason.
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "skipping the MPI tests: {why}");
            false
        }
    }
}

/// `rows` rows: features f0..f4 (about 5% missing each), `cat` (strings a..e, some null, and
/// `rare` only in the last 500 rows, so only the last rank's shard has it) and three labels:
/// `y_bin` (0/1), `y_reg` and `y_cls` (0, 1, 2).
fn batch(rows: usize, seed: u64, rare_tail: bool) -> RecordBatch {
    let mut r = Lcg(seed);
    let mut f: Vec<Vec<Option<f64>>> = (0..5).map(|_| Vec::with_capacity(rows)).collect();
    let mut cat = Vec::with_capacity(rows);
    let (mut y_bin, mut y_reg, mut y_cls) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..rows {
        let x: Vec<f64> = (0..5).map(|_| r.next() * 4.0 - 2.0).collect();
        let c = if rare_tail && i >= rows - 500 {
            "rare"
        } else {
            ["a", "b", "c", "d", "e"][(r.next() * 5.0) as usize % 5]
        };
        let bump = match c {
            "b" => 1.0,
            "d" => -1.0,
            "rare" => 2.0,
            _ => 0.0,
        };
        let score = x[0] + 0.5 * x[1] * x[2] - x[3].abs() + bump + (r.next() - 0.5);
        y_bin.push(if score > 0.0 { 1.0f32 } else { 0.0 });
        y_reg.push((score + 0.3 * x[4]) as f32);
        y_cls.push(if score < -0.7 {
            0.0f32
        } else if score < 0.7 {
            1.0
        } else {
            2.0
        });
        for (j, col) in f.iter_mut().enumerate() {
            col.push(if r.next() < 0.05 { None } else { Some(x[j]) });
        }
        cat.push(if i % 29 == 0 { None } else { Some(c) });
    }
    let mut fields: Vec<Field> = (0..5)
        .map(|j| Field::new(format!("f{j}"), DataType::Float64, true))
        .collect();
    fields.push(Field::new("cat", DataType::Utf8, true));
    for y in ["y_bin", "y_reg", "y_cls"] {
        fields.push(Field::new(y, DataType::Float32, false));
    }
    let mut columns: Vec<ArrayRef> = f
        .into_iter()
        .map(|c| Arc::new(Float64Array::from(c)) as ArrayRef)
        .collect();
    columns.push(Arc::new(StringArray::from(cat)));
    for y in [y_bin, y_reg, y_cls] {
        columns.push(Arc::new(Float32Array::from(y)));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).unwrap()
}

fn write_parquet(path: &Path, batch: &RecordBatch, group_rows: usize) {
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(group_rows))
        .build();
    let mut w = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), Some(props)).unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

/// The data files, written once: `whole.parquet` (24 row groups), `part2-{rank}` and
/// `part4-{rank}` (its rows in 2 and 4 consecutive files), `valid.parquet` and `valid2-{rank}`.
fn fixture() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("sylvan-mpi-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let whole = batch(ROWS, 7, true);
        write_parquet(&dir.join("whole.parquet"), &whole, GROUP_ROWS);
        for ranks in [2, 4] {
            let per = ROWS / ranks;
            for r in 0..ranks {
                let part = whole.slice(r * per, per);
                write_parquet(&dir.join(format!("part{ranks}-{r}.parquet")), &part, 1 << 20);
            }
        }
        let valid = batch(VALID_ROWS, 11, false);
        write_parquet(&dir.join("valid.parquet"), &valid, 1 << 20);
        for r in 0..2 {
            let part = valid.slice(r * VALID_ROWS / 2, VALID_ROWS / 2);
            write_parquet(&dir.join(format!("valid2-{r}.parquet")), &part, 1 << 20);
        }
        dir
    })
}

/// Runs a command, failing the test if it has not ended within `limit`.
fn run(mut command: Command, limit: Duration) -> (Output, Duration) {
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the command");
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "still running after {limit:?}: {command:?}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), start.elapsed())
}

fn sylvan() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sylvan"))
}

/// `mpirun -np ranks sylvan ARGS...`, with `env` set on every rank.
fn mpirun(ranks: usize, args: &[String], env: &[(&str, &str)]) -> (Output, Duration) {
    let mut c = Command::new("mpirun");
    c.args(["--allow-run-as-root", "--oversubscribe", "-np", &ranks.to_string()]);
    for (k, v) in env {
        c.args(["-x", &format!("{k}={v}")]);
    }
    c.arg(env!("CARGO_BIN_EXE_sylvan")).args(args);
    run(c, HANG)
}

fn succeeded(what: &str, out: &Output) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {stdout}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `train` arguments: data, model, label (the other labels dropped), parameters.
fn train_args(data: &str, model: &Path, label: &str, params: &[&str], extra: &[String]) -> Vec<String> {
    let dir = fixture();
    let drop: Vec<&str> = ["y_bin", "y_reg", "y_cls"]
        .into_iter()
        .filter(|l| *l != label)
        .collect();
    let mut a = vec![
        "train".to_string(),
        "--data".into(),
        dir.join(data).to_string_lossy().into_owned(),
        "--model-out".into(),
        model.to_string_lossy().into_owned(),
        "--label".into(),
        label.into(),
        "--drop".into(),
        drop.join(","),
        "--quiet".into(),
    ];
    for p in params {
        a.push("--set".into());
        a.push((*p).into());
    }
    a.extend(extra.iter().cloned());
    a
}

fn one_process(args: &[String]) -> String {
    let mut c = sylvan();
    c.args(args);
    succeeded("one-process sylvan train", &run(c, HANG).0)
}

/// Trains on one process (all rows), on 2 ranks (one file each) and on 4 ranks (row groups of
/// the one file); the three model files must be the same bytes. Returns the one-process model.
fn assert_identical(name: &str, label: &str, params: &[&str]) -> PathBuf {
    let dir = fixture();
    let one = dir.join(format!("{name}-1.json"));
    one_process(&train_args("whole.parquet", &one, label, params, &[]));
    let expected = std::fs::read(&one).unwrap();
    for (ranks, data) in [(2, "part2-{rank}.parquet"), (4, "whole.parquet")] {
        let model = dir.join(format!("{name}-{ranks}.json"));
        let (out, _) = mpirun(ranks, &train_args(data, &model, label, params, &[]), &[]);
        let stdout = succeeded(&format!("{name} on {ranks} ranks"), &out);
        // Only rank 0 prints the summary.
        assert_eq!(stdout.matches("trained ").count(), 1, "{stdout}");
        assert!(stdout.contains(&format!("on {ROWS} rows")), "{stdout}");
        let got = std::fs::read(&model).unwrap();
        assert!(
            got == expected,
            "{name}: the model trained on {ranks} ranks ({data}) differs from the one-process model"
        );
    }
    one
}

const COMMON: &[&str] = &["num_round=6", "max_depth=5", "nthread=1"];

fn params(objective: &str, method: &str, more: &[&'static str]) -> Vec<String> {
    let mut p: Vec<String> = COMMON.iter().map(|s| s.to_string()).collect();
    p.push(format!("objective={objective}"));
    p.push(format!("tree_method={method}"));
    p.extend(more.iter().map(|s| s.to_string()));
    p
}

fn identity(objective: &str, method: &str, label: &str, more: &[&'static str]) -> Option<PathBuf> {
    let _g = serial();
    if !mpi_ready() {
        return None;
    }
    let p = params(objective, method, more);
    let p: Vec<&str> = p.iter().map(String::as_str).collect();
    let name = format!("{}-{method}", objective.replace(':', "_"));
    Some(assert_identical(&name, label, &p))
}

#[test]
fn binary_logistic_hist_is_identical_and_predicts_identically() {
    let Some(one) = identity("binary:logistic", "hist", "y_bin", &[]) else {
        return;
    };
    let _g = serial();
    let dir = fixture();
    let four = dir.join("binary_logistic-hist-4.json");
    let mut preds = Vec::new();
    for (model, out) in [(&one, "pred-1.csv"), (&four, "pred-4.csv")] {
        let mut c = sylvan();
        c.args(["predict", "--model"])
            .arg(model)
            .arg("--data")
            .arg(dir.join("whole.parquet"))
            .arg("--out")
            .arg(dir.join(out));
        succeeded("sylvan predict", &run(c, HANG).0);
        preds.push(std::fs::read(dir.join(out)).unwrap());
    }
    assert!(preds[0] == preds[1], "predictions differ");
}

#[test]
fn binary_logistic_approx_is_identical() {
    identity("binary:logistic", "approx", "y_bin", &[]);
}

#[test]
fn squared_error_hist_is_identical() {
    identity("reg:squarederror", "hist", "y_reg", &[]);
}

#[test]
fn squared_error_approx_is_identical() {
    identity("reg:squarederror", "approx", "y_reg", &[]);
}

#[test]
fn softprob_hist_is_identical() {
    identity("multi:softprob", "hist", "y_cls", &["num_class=3"]);
}

#[test]
fn softprob_approx_is_identical() {
    identity("multi:softprob", "approx", "y_cls", &["num_class=3"]);
}

#[test]
fn validation_sets_sharded_and_whole_with_early_stopping() {
    let _g = serial();
    if !mpi_ready() {
        return;
    }
    let dir = fixture();
    let p = params(
        "reg:squarederror",
        "hist",
        &["eta=1.0", "max_depth=8", "num_round=40", "early_stopping_rounds=2"],
    );
    let p: Vec<&str> = p.iter().map(String::as_str).collect();
    let whole_valid = vec![
        "--valid".to_string(),
        dir.join("valid.parquet").to_string_lossy().into_owned(),
    ];
    let one = dir.join("valid-1.json");
    let summary = one_process(&train_args("whole.parquet", &one, "y_reg", &p, &whole_valid));
    assert!(
        summary.contains("best iteration"),
        "early stopping did not stop: {summary}"
    );
    let expected = std::fs::read(&one).unwrap();
    let sharded_valid = vec![
        "--valid".to_string(),
        dir.join("valid2-{rank}.parquet").to_string_lossy().into_owned(),
    ];
    for (what, data, valid) in [
        ("sharded", "part2-{rank}.parquet", &sharded_valid),
        ("whole", "whole.parquet", &whole_valid),
    ] {
        let model = dir.join(format!("valid-{what}.json"));
        let (out, _) = mpirun(2, &train_args(data, &model, "y_reg", &p, valid), &[]);
        let stdout = succeeded(&format!("2 ranks with a {what} validation set"), &out);
        assert_eq!(without_time(&stdout), without_time(&summary), "the summaries differ");
        assert!(
            std::fs::read(&model).unwrap() == expected,
            "with a {what} validation set the model differs from the one-process model"
        );
    }
}

#[test]
fn continued_training_from_an_init_model_is_identical() {
    let _g = serial();
    if !mpi_ready() {
        return;
    }
    let dir = fixture();
    let p = params("binary:logistic", "hist", &["num_round=3"]);
    let p: Vec<&str> = p.iter().map(String::as_str).collect();
    let init = dir.join("init.json");
    one_process(&train_args("whole.parquet", &init, "y_bin", &p, &[]));
    // Every rank reads the model (and its categories); rank 0 alone writes the result.
    let extra = vec!["--init-model".to_string(), init.to_string_lossy().into_owned()];
    let one = dir.join("continued-1.json");
    one_process(&train_args("whole.parquet", &one, "y_bin", &p, &extra));
    let two = dir.join("continued-2.json");
    let (out, _) = mpirun(2, &train_args("part2-{rank}.parquet", &two, "y_bin", &p, &extra), &[]);
    succeeded("continued training on 2 ranks", &out);
    assert!(
        std::fs::read(&two).unwrap() == std::fs::read(&one).unwrap(),
        "continued training on 2 ranks differs from one process"
    );
}

/// A summary line without its time and model path: rounds, best iteration, rows and metrics.
fn without_time(summary: &str) -> String {
    let line = summary.split("; model").next().unwrap_or_default();
    match (line.find(" in "), line.find("s; ")) {
        (Some(a), Some(b)) if a < b => format!("{}{}", &line[..a], &line[b + 1..]),
        _ => line.to_string(),
    }
}

#[test]
fn a_failing_rank_ends_every_rank_and_writes_no_model() {
    let _g = serial();
    if !mpi_ready() {
        return;
    }
    let dir = fixture();
    let model = dir.join("failed.json");
    std::fs::write(&model, "the old model").unwrap();
    let p = params("binary:logistic", "hist", &[]);
    let p: Vec<&str> = p.iter().map(String::as_str).collect();
    for ranks in [2, 4] {
        let (out, took) = mpirun(
            ranks,
            &train_args("whole.parquet", &model, "y_bin", &p, &[]),
            &[("SYLVAN_FAULT", "fail:1:2")],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "mpirun succeeded despite the fault");
        assert!(stderr.contains("sylvan: rank 1: injected fault"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&model).unwrap(), "the old model");
        assert!(took < Duration::from_secs(120), "took {took:?}");
    }
}

#[test]
fn a_stalled_rank_times_out_naming_it() {
    let _g = serial();
    if !mpi_ready() {
        return;
    }
    let dir = fixture();
    let model = dir.join("stalled.json");
    let _ = std::fs::remove_file(&model);
    let p = params("binary:logistic", "hist", &["collective_timeout=5"]);
    let p: Vec<&str> = p.iter().map(String::as_str).collect();
    let (out, took) = mpirun(
        3,
        &train_args("whole.parquet", &model, "y_bin", &p, &[]),
        &[("SYLVAN_FAULT", "stall:1:1")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "mpirun succeeded despite the stall");
    assert!(stderr.contains("no answer from rank(s) 1 within 5.0 s"), "{stderr}");
    assert!(!model.exists());
    assert!(took < Duration::from_secs(60), "took {took:?}");
}

#[test]
fn unsplittable_inputs_are_refused_on_every_rank() {
    let _g = serial();
    if !mpi_ready() {
        return;
    }
    let dir = fixture();
    std::fs::write(dir.join("one.csv"), "a,y_bin\n1,0\n2,1\n").unwrap();
    let model = dir.join("refused.json");
    let cases = [
        (2, "one.csv", "a single CSV, LibSVM or Arrow file cannot be split"),
        (3, "part2-{rank}.parquet", "part2-2.parquet"),
        (
            2,
            "part4-0.parquet,part4-1.parquet,part4-2.parquet",
            "lists 3 files for 2 ranks",
        ),
    ];
    for (ranks, data, message) in cases {
        let data: Vec<String> = data
            .split(',')
            .map(|d| dir.join(d).to_string_lossy().into_owned())
            .collect();
        let args = vec![
            "train".to_string(),
            "--data".into(),
            data.join(","),
            "--model-out".into(),
            model.to_string_lossy().into_owned(),
            "--label".into(),
            "y_bin".into(),
        ];
        let (out, _) = mpirun(ranks, &args, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{data:?} on {ranks} ranks was accepted");
        assert!(stderr.contains(message), "{data:?}: {stderr}");
        assert!(!model.exists());
    }
}
