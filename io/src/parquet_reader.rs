//! Reading Parquet files: each selected column is decoded on its own (in parallel) straight into an
//! f32 column, one record batch at a time, so the only extra memory is one batch of one column per
//! thread.

use std::fs::File;
use std::path::Path;

use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ProjectionMask;
use rayon::prelude::*;

use crate::arrow_column::{plan_columns, ColumnBuilder, PlannedColumn};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::table::{ReadOptions, Table};

/// Rows decoded per batch.
const BATCH_ROWS: usize = 64 * 1024;

/// Reads the selected columns of a Parquet file.
pub fn read_parquet(path: &Path, options: &ReadOptions) -> Result<Table> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata =
        ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| Error::unreadable(path, e))?;
    let num_rows = usize::try_from(metadata.metadata().file_metadata().num_rows())
        .map_err(|_| Error::unreadable(path, "negative row count in the footer"))?;
    let (planned, skipped, all) = plan_columns(metadata.schema(), options);
    let mut table = Table::new(path, Format::Parquet);
    table.num_rows = num_rows;
    table.file_columns = all;
    table.skipped = skipped;
    if num_rows == 0 {
        return Ok(table);
    }
    let columns: Vec<(Vec<f32>, Option<Vec<String>>)> = planned
        .par_iter()
        .map(|c| read_column(path, &metadata, c, num_rows, options))
        .collect::<Result<_>>()?;
    for (c, (values, categories)) in planned.into_iter().zip(columns) {
        table.push(c.name, c.kind, values, categories);
    }
    Ok(table)
}

/// Decodes one column with its own reader (its own file handle: handles are not shared between threads).
fn read_column(
    path: &Path,
    metadata: &ArrowReaderMetadata,
    column: &PlannedColumn,
    num_rows: usize,
    options: &ReadOptions,
) -> Result<(Vec<f32>, Option<Vec<String>>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mask = ProjectionMask::roots(metadata.metadata().file_metadata().schema_descr(), [column.index]);
    let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone())
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| Error::unreadable(path, e))?;
    let mut builder = ColumnBuilder::new(column.kind, num_rows, options.categories.get(&column.name));
    for batch in reader {
        let batch = batch.map_err(|e| Error::unreadable(path, format!("column `{}`: {e}", column.name)))?;
        let array = batch
            .columns()
            .first()
            .ok_or_else(|| Error::unreadable(path, "a batch without columns"))?;
        builder
            .append(array.as_ref())
            .map_err(|reason| Error::bad_column(path, &column.name, reason))?;
    }
    if builder.values.len() != num_rows {
        return Err(Error::unreadable(
            path,
            format!(
                "column `{}` has {} values but the footer says {num_rows} rows",
                column.name,
                builder.values.len()
            ),
        ));
    }
    Ok(builder.finish())
}
