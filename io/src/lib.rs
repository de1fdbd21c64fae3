//! # sylvan-io
//!
//! Data input for Sylvan: Parquet, Arrow IPC (`.arrow`/`.feather`), CSV and LibSVM files into a
//! [`sylvan_booster::Dataset`], prediction tables out, and models to and from XGBoost JSON and LightGBM
//! text ([`export`]).
//!
//! - Every integer, float (including f16), boolean and decimal column becomes an f32 feature column;
//!   nulls become missing (`NaN`).
//! - String and dictionary-encoded string columns become categorical codes. The mapping
//!   ([`CategoryMap`]) is learned on the training file (codes in sorted order of the strings), stored in
//!   the model under [`CATEGORIES_ATTRIBUTE`], and reused for every later file; an unseen category is
//!   missing. Dictionary codes that differ between Parquet row groups are remapped through the strings.
//! - Columns are chosen by name ([`ColumnSelection`]); a trained model's features are matched BY NAME
//!   ([`load_for_model`]), so column order and extra columns do not matter.
//! - Memory: columns are decoded batch by batch straight into their final f32 vectors, which are then
//!   moved (not copied) into the data set.
//!
//! ## Example
//!
//! ```
//! use sylvan_io::{load_training, ColumnSelection};
//!
//! let dir = std::env::temp_dir().join(format!("sylvan-io-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let path = dir.join("train.csv");
//! std::fs::write(&path, "x,color,y\n1.5,red,1\nNA,blue,0\n2.5,red,1\n")?;
//!
//! let selection = ColumnSelection { label: Some("y".into()), ..Default::default() };
//! let loaded = load_training(&path, &selection)?;
//! assert_eq!(loaded.dataset.num_rows(), 3);
//! assert_eq!(loaded.dataset.feature_names().unwrap(), &["x".to_string(), "color".to_string()]);
//! assert!(loaded.dataset.column(0).get(1).is_nan());
//! assert_eq!(loaded.categories.get("color").unwrap(), &["blue".to_string(), "red".to_string()]);
//! assert_eq!(loaded.dataset.column(1).as_dense(), Some(&[1.0, 0.0, 1.0][..]));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod arrow_column;
pub mod categories;
pub mod csv_reader;
pub mod error;
pub mod export;
pub mod format;
pub mod ipc_reader;
pub mod libsvm_reader;
pub mod parquet_reader;
pub mod select;
pub mod table;
pub mod write;

use std::path::Path;

pub use categories::{CategoryMap, Encoder, CATEGORIES_ATTRIBUTE};
pub use error::{Error, Result};
pub use export::{export_model, import_model, ModelFormat};
pub use format::Format;
pub use select::{load_for_model, load_training, ColumnSelection, LoadedData};
pub use sylvan_booster::Dataset;
pub use table::{ColumnKind, ReadOptions, SkippedColumn, Table};
pub use write::{output_format, write_table, OutputTable};

/// Reads the columns of a file chosen by `options`, in the format given by its extension.
/// A missing file is an [`Error::Io`] naming it.
pub fn read_table(path: &Path, options: &ReadOptions) -> Result<Table> {
    let format = Format::from_path(path)?;
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    if options.row_groups.is_some() && format != Format::Parquet {
        return Err(Error::unreadable(
            path,
            "a row-group range can only be read from a Parquet file",
        ));
    }
    let table = match format {
        Format::Parquet => decode_guarded(path, "Parquet", || parquet_reader::read_parquet(path, options)),
        Format::ArrowIpc => decode_guarded(path, "Arrow IPC", || ipc_reader::read_ipc(path, options)),
        Format::Csv => csv_reader::read_csv(path, options),
        Format::LibSvm => libsvm_reader::read_libsvm(path, options),
    }?;
    table.check_unique_names()?;
    Ok(table)
}

thread_local! {
    /// Whether this thread is inside [`decode_guarded`], whose panics are reported as errors.
    static DECODING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Installs (once per program) a panic hook in front of the current one that stays silent about the
/// panics of the arrow/parquet decoders on a corrupt file, which the readers catch and report as an
/// error naming the file; every other panic goes to the previous hook as before. Programs that
/// read data files and print their own errors (the `sylvan` CLI) call it after setting their hook,
/// so that a corrupt file gives one error message and no panic report.
pub fn quiet_decoder_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !DECODING.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs a reader built on the arrow/parquet decoders, which can panic on a corrupt file (an IPC
/// buffer offset past the end of the body, found by the `arrow_ipc` fuzz target) rather than return
/// an error: such a panic becomes an [`Error::Unreadable`] naming the file (and says nothing on
/// stderr where [`quiet_decoder_panics`] was called).
fn decode_guarded<T>(path: &Path, format: &str, read: impl FnOnce() -> Result<T>) -> Result<T> {
    let outer = DECODING.with(|d| d.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(read));
    DECODING.with(|d| d.set(outer));
    result.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("no message");
        Err(Error::unreadable(
            path,
            format!("corrupt {format} file: the decoder failed ({message})"),
        ))
    })
}
