//! The `sylvan` command line: `train`, `predict`, `eval` and `inspect` on Parquet, Arrow, CSV and
//! LibSVM files. Every failure is one line on stderr and a non-zero exit status.

mod cli;
mod report;

use std::io::Write;
use std::process::ExitCode;

/// The allocator of the command line (see Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
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
    match std::panic::catch_unwind(cli::main) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            let _ = writeln!(std::io::stderr(), "error: {}", cli::one_line(&e));
            ExitCode::FAILURE
        }
        Err(_) => ExitCode::from(101),
    }
}
