//! Writing prediction tables (CSV, Parquet or Arrow IPC, chosen by extension), atomically.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Int32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use sylvan_booster::write_atomically;

use crate::error::{Error, Result};
use crate::format::Format;

/// A row-major table of f32 values with named columns (e.g. predictions).
#[derive(Debug, Clone, PartialEq)]
pub struct OutputTable<'a> {
    /// Column names.
    pub names: Vec<String>,
    /// `num_rows * names.len()` values, row by row.
    pub values: &'a [f32],
    /// Write the values as 32-bit integers (e.g. leaf indices) rather than floats.
    pub integer: bool,
}

/// The extensions accepted for output tables, for error messages.
pub const OUTPUT_EXTENSIONS: &str = ".csv, .parquet, .arrow/.feather";

/// Checks, before any work is done, that `path` names a format tables can be written in.
pub fn output_format(path: &Path) -> Result<Format> {
    match Format::from_path(path) {
        Ok(f @ (Format::Csv | Format::Parquet | Format::ArrowIpc)) => Ok(f),
        _ => Err(Error::UnknownFormat {
            file: path.to_path_buf(),
            extension: path
                .extension()
                .map(|e| e.to_string_lossy().into_owned())
                .unwrap_or_default(),
            expected: OUTPUT_EXTENSIONS.to_string(),
        }),
    }
}

/// Writes `table` to `path` in the format of its extension. The file appears whole or not at all.
pub fn write_table(path: &Path, table: &OutputTable<'_>) -> Result<()> {
    let k = table.names.len();
    if k == 0 || !table.values.len().is_multiple_of(k) {
        return Err(Error::bad_column(
            path,
            "(output)",
            format!("{} values do not fill {k} columns", table.values.len()),
        ));
    }
    let bytes = match output_format(path)? {
        Format::Csv => to_csv(table),
        Format::Parquet => to_parquet(path, table)?,
        _ => to_ipc(path, table)?,
    };
    write_atomically(path, &bytes).map_err(|e| match e {
        sylvan_booster::Error::Io { path, source } => Error::io(path, source),
        other => Error::Booster(other),
    })
}

fn to_csv(table: &OutputTable<'_>) -> Vec<u8> {
    use std::fmt::Write;
    let k = table.names.len();
    let mut s = String::with_capacity(table.values.len() * 12 + 64);
    s.push_str(&table.names.join(","));
    s.push('\n');
    for row in table.values.chunks_exact(k) {
        for (j, v) in row.iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            if table.integer {
                let _ = write!(s, "{}", *v as i64);
            } else {
                let _ = write!(s, "{v}");
            }
        }
        s.push('\n');
    }
    s.into_bytes()
}

fn batch(path: &Path, table: &OutputTable<'_>) -> Result<RecordBatch> {
    let k = table.names.len();
    let n = table.values.len() / k;
    let data_type = if table.integer {
        DataType::Int32
    } else {
        DataType::Float32
    };
    let fields: Vec<Field> = table
        .names
        .iter()
        .map(|name| Field::new(name, data_type.clone(), false))
        .collect();
    let columns: Vec<ArrayRef> = (0..k)
        .map(|j| {
            let column = (0..n).map(|i| table.values[i * k + j]);
            if table.integer {
                Arc::new(Int32Array::from_iter_values(column.map(|v| v as i32))) as ArrayRef
            } else {
                Arc::new(Float32Array::from_iter_values(column)) as ArrayRef
            }
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| Error::Unwritable {
        file: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// The error for a file that could not be written, with the writer's reason.
fn unwritable(path: &Path) -> impl Fn(&dyn std::fmt::Display) -> Error + '_ {
    move |e| Error::Unwritable {
        file: path.to_path_buf(),
        reason: e.to_string(),
    }
}

fn to_parquet(path: &Path, table: &OutputTable<'_>) -> Result<Vec<u8>> {
    let batch = batch(path, table)?;
    let fail = unwritable(path);
    let mut out = Vec::new();
    let mut writer = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).map_err(|e| fail(&e))?;
    writer.write(&batch).map_err(|e| fail(&e))?;
    writer.close().map_err(|e| fail(&e))?;
    Ok(out)
}

fn to_ipc(path: &Path, table: &OutputTable<'_>) -> Result<Vec<u8>> {
    let batch = batch(path, table)?;
    let fail = unwritable(path);
    let mut out = Vec::new();
    {
        let mut writer = arrow_ipc::writer::FileWriter::try_new(&mut out, &batch.schema()).map_err(|e| fail(&e))?;
        writer.write(&batch).map_err(|e| fail(&e))?;
        writer.finish().map_err(|e| fail(&e))?;
    }
    Ok(out)
}
