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

/// The number of rows in each row group of a Parquet file, in file order (read from the footer
/// only), e.g. to split one file into contiguous ranges of row groups between ranks.
pub fn row_group_rows(path: &Path) -> Result<Vec<usize>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata =
        ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| Error::unreadable(path, e))?;
    groups_rows(path, &metadata)
}

fn groups_rows(path: &Path, metadata: &ArrowReaderMetadata) -> Result<Vec<usize>> {
    metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|g| usize::try_from(g.num_rows()).map_err(|_| Error::unreadable(path, "negative row count in the footer")))
        .collect()
}

/// Reads the selected columns of a Parquet file (only the row groups of `options.row_groups`
/// when it is set).
pub fn read_parquet(path: &Path, options: &ReadOptions) -> Result<Table> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let metadata =
        ArrowReaderMetadata::load(&file, ArrowReaderOptions::new()).map_err(|e| Error::unreadable(path, e))?;
    let num_rows = match &options.row_groups {
        Some(range) => {
            let rows = groups_rows(path, &metadata)?;
            if range.start > range.end || range.end > rows.len() {
                return Err(Error::unreadable(
                    path,
                    format!(
                        "row groups {}..{} asked for, but the file has {} row groups",
                        range.start,
                        range.end,
                        rows.len()
                    ),
                ));
            }
            rows[range.clone()].iter().sum()
        }
        None => usize::try_from(metadata.metadata().file_metadata().num_rows())
            .map_err(|_| Error::unreadable(path, "negative row count in the footer"))?,
    };
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
    let mut reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, metadata.clone())
        .with_projection(mask)
        .with_batch_size(BATCH_ROWS);
    if let Some(range) = &options.row_groups {
        reader = reader.with_row_groups(range.clone().collect());
    }
    let reader = reader.build().map_err(|e| Error::unreadable(path, e))?;
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
