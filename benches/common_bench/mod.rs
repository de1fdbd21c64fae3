//! Small helpers shared by the benchmarks in benches/: environment settings, the load-average
//! warning, and running a Python anchor script that prints its result as JSON.
//!
//! Include it with `#[path = "common_bench/mod.rs"] mod common_bench;`. It lives in a folder so that
//! Cargo does not take it for a benchmark target of its own.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// The value of the environment variable `name` as a count (`_` separators allowed), else `default`.
/// Panics with the variable's name when it is set but not a number.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// Whether the XGBoost/LightGBM anchors should run: yes unless `SYLVAN_BENCH_ANCHORS=0`.
pub fn anchors_enabled() -> bool {
    std::env::var("SYLVAN_BENCH_ANCHORS").map_or(true, |v| v != "0")
}

/// Timings mean little while other processes compete for the cores (XGBoost's and LightGBM's
/// OpenMP threads suffer most): say so when the load average shows them.
pub fn warn_if_busy() {
    let Ok(text) = std::fs::read_to_string("/proc/loadavg") else {
        return;
    };
    let Some(load) = text.split_whitespace().next().and_then(|v| v.parse::<f64>().ok()) else {
        return;
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if load > 0.5 {
        println!(
            "warning: 1-minute load average {load:.2} on {cores} cores before the benchmark: other processes are \
             running, and the times below (OpenMP-based XGBoost and LightGBM above all) may be inflated"
        );
    }
}

/// Runs `python script args...` and parses the last line of its stdout as JSON. The error is a
/// sentence to print after "anchors ": why the script did not run or gave no result.
pub fn run_json_script(python: &Path, script: &Path, args: &[&std::ffi::OsStr]) -> Result<serde_json::Value, String> {
    let out = match Command::new(python).arg(script).args(args).output() {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            return Err(format!(
                "failed:\n{}\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ))
        }
        Err(e) => return Err(format!("skipped: could not run {}: {e}", python.display())),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .last()
        .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .ok_or_else(|| format!("printed no result:\n{stdout}"))
}

/// A child process that ran to the end: how it exited, its wall-clock time and its peak memory.
#[derive(Debug, Clone)]
pub struct Measured {
    /// The exit code (`None` when a signal ended it).
    pub code: Option<i32>,
    /// Wall-clock seconds from spawn to exit.
    pub seconds: f64,
    /// Peak resident set size (the kernel's `ru_maxrss` for the child), in MB (10^6 bytes).
    pub peak_rss_mb: f64,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Measured {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `cmd` to the end and measures it: wall-clock time from spawn to exit, and its peak RSS
/// from `wait4`'s resource usage (the child alone, not this process). Its output goes to
/// `<dir>/<tag>.stdout` and `.stderr` (files, so that a chatty child cannot block on a full pipe)
/// and is read back.
pub fn run_measured(cmd: &mut Command, dir: &Path, tag: &str) -> std::io::Result<Measured> {
    use std::process::Stdio;
    let (out_path, err_path) = (dir.join(format!("{tag}.stdout")), dir.join(format!("{tag}.stderr")));
    cmd.stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?);
    let start = std::time::Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a plain C struct of integers, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // The peak RSS is read from /proc/PID/status (VmHWM, the high-water mark of the process's own
    // memory since exec), polled until the child exits: wait4's ru_maxrss cannot be used, because
    // Linux carries the parent's high-water mark over the fork into the child's maximum (this
    // process holds the generated data, so every child would look at least as large).
    let status_path = format!("/proc/{pid}/status");
    let mut hwm_kib: u64 = 0;
    loop {
        if let Some(kib) = std::fs::read_to_string(&status_path)
            .ok()
            .as_deref()
            .and_then(vm_hwm_kib)
        {
            hwm_kib = hwm_kib.max(kib);
        }
        // SAFETY: `pid` is our own child, not yet reaped (std's `Child` is never waited on: dropping
        // it does not wait), and both pointers are to live locals of the right types.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r == 0 {
            std::thread::sleep(std::time::Duration::from_millis(2));
            continue;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(child);
    let code = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else {
        None
    };
    Ok(Measured {
        code,
        seconds,
        // VmHWM is in KiB; a child that exited before the first poll falls back to ru_maxrss (KiB).
        peak_rss_mb: if hwm_kib > 0 { hwm_kib } else { usage.ru_maxrss as u64 } as f64 * 1024.0 / 1e6,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).unwrap_or_default(),
    })
}

/// The `VmHWM:` value (KiB) of a /proc/PID/status text.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Writes feature columns `f0..f{m-1}` (float32, `NaN` kept as a value, not a null; the first
/// `string_columns` as strings instead, see [`category_name`], `NaN` as null) and a float32 label
/// column `label` as a Snappy-compressed Parquet file, in record batches of 64 Ki rows (the
/// writer's default row-group size, 1 Mi rows).
pub fn write_parquet(
    path: &Path,
    columns: &[Vec<f32>],
    labels: &[f32],
    label: &str,
    string_columns: usize,
) -> std::io::Result<()> {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Float32Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::Compression;
    use parquet::file::properties::WriterProperties;

    let to_io = |e: &dyn std::fmt::Display| std::io::Error::other(format!("{}: {e}", path.display()));
    let mut fields: Vec<Field> = (0..columns.len())
        .map(|j| {
            if j < string_columns {
                Field::new(format!("f{j}"), DataType::Utf8, true)
            } else {
                Field::new(format!("f{j}"), DataType::Float32, false)
            }
        })
        .collect();
    fields.push(Field::new(label, DataType::Float32, false));
    let schema = Arc::new(Schema::new(fields));
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let file = std::fs::File::create(path)?;
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| to_io(&e))?;
    let n = labels.len();
    let step = 64 * 1024;
    for start in (0..n.max(1)).step_by(step) {
        let end = (start + step).min(n);
        let mut arrays: Vec<ArrayRef> = columns
            .iter()
            .enumerate()
            .map(|(j, c)| {
                if j < string_columns {
                    Arc::new(StringArray::from_iter(c[start..end].iter().map(|v| category_name(*v)))) as ArrayRef
                } else {
                    Arc::new(Float32Array::from(c[start..end].to_vec())) as ArrayRef
                }
            })
            .collect();
        arrays.push(Arc::new(Float32Array::from(labels[start..end].to_vec())));
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| to_io(&e))?;
        writer.write(&batch).map_err(|e| to_io(&e))?;
    }
    writer.close().map_err(|e| to_io(&e))?;
    Ok(())
}

/// The string a category code is written as in a string column (`c00017`; `None` for a missing
/// value). Zero-padded, so that sorting the names sorts the codes.
pub fn category_name(code: f32) -> Option<String> {
    (!code.is_nan()).then(|| format!("c{:05}", code as u32))
}

/// The current UTC time as `YYYYMMDDTHHMMSSZ` (for result file names) and as RFC 3339.
pub fn utc_now() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (proleptic Gregorian; eras of 400 years).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    (
        format!("{year:04}{month:02}{day:02}T{h:02}{mi:02}{s:02}Z"),
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{mi:02}:{s:02}Z"),
    )
}

/// The 1-minute load average, when /proc/loadavg says.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
