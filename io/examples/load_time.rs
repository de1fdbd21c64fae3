//! Times reading a data file into a `Dataset`-ready table (for comparing with pyarrow; see
//! `parquet_load_time.py`). Usage: `cargo run --release -p sylvan-io --example load_time -- FILE [REPEATS]`.

use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(args.next().ok_or("usage: load_time FILE [REPEATS]")?);
    let repeats: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(5);
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let start = Instant::now();
        let table = sylvan_io::read_table(&path, &sylvan_io::ReadOptions::default())?;
        let secs = start.elapsed().as_secs_f64();
        best = best.min(secs);
        std::hint::black_box(&table);
        eprintln!(
            "{} rows x {} columns in {secs:.3}s",
            table.num_rows,
            table.columns.len()
        );
    }
    println!("sylvan-io best of {repeats}: {best:.3}s");
    Ok(())
}
