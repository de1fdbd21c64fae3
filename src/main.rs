//! The `sylvan` command line: `train`, `predict`, `eval` and `inspect` on Parquet, Arrow, CSV and
//! LibSVM files. Every failure is one line on stderr and a non-zero exit status.

mod cli;
mod report;

use std::io::Write;
use std::process::ExitCode;

/// The allocator of the command line (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (the position of `mi_option_purge_delay` in
/// `mi_option_e`, mimalloc.h; the `libmimalloc-sys` crate names no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the memory training frees mapped for its next use. By default mimalloc hands freed
/// pages back to the kernel a second later, and every round's gradients, partition and
/// histograms (megabytes) then came back as page faults that zero them again: 17,000 faults and
/// 10 % of the CPU time of 40 rounds of `higgs` on one machine (10,000 without purging). The
/// peak resident memory is the same: purging only lowers it between peaks.
fn keep_freed_memory() {
    // SAFETY: sets one of mimalloc's global options (a plain store), before any thread starts.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
}

/// Leaves the kernel's transparent huge pages (2 MB) off for this process, unless the environment
/// sets `MIMALLOC_ALLOW_THP` (`1`: mimalloc asks for them, as it does by default). A huge page is
/// zeroed whole on first touch, and on a virtual machine that hands freed memory back to its host
/// (free page reporting) every fresh 2 MB page is also a fresh host allocation: after a few
/// seconds idle, one training run paid about 1.6 ms per megabyte it touched, most of a short
/// run's time. With 4 KB pages the same cold runs took 0.7-1.0x the time (`sparse` 1.9 s against
/// 2.6 s, `diamonds` 0.22 s against 0.30 s), while warm runs of the compute-bound workloads were
/// within 5 % either way (docs/performance.md, seventeenth pass).
fn use_small_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // SAFETY: `prctl(PR_SET_THP_DISABLE)` takes integers and only sets this process's page
        // policy (inherited by its children); a kernel without it returns an error, ignored.
        unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    }
}

fn main() -> ExitCode {
    keep_freed_memory();
    use_small_pages();
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_string());
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = writeln!(
            std::io::stderr(),
            "error: internal error{place}: {}",
            message.replace('\n', " ")
        );
    }));
    // A corrupt data file that makes a decoder panic is reported once, as an error naming it.
    sylvan_io::quiet_decoder_panics();
    match std::panic::catch_unwind(cli::main) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => match e.downcast_ref::<cli::interrupt::Interrupted>() {
            // Stopped by a signal: the shell's status for it (128 + its number).
            Some(stop) => {
                let _ = writeln!(std::io::stderr(), "{}", stop.message);
                ExitCode::from((128 + stop.signal).clamp(1, 255) as u8)
            }
            None => {
                let _ = writeln!(std::io::stderr(), "error: {}", cli::one_line(&e));
                ExitCode::FAILURE
            }
        },
        Err(_) => ExitCode::from(101),
    }
}
