//! Reading Arrow IPC files (`.arrow`, `.feather` v2) and streams, batch by batch.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use arrow_array::RecordBatchReader;
use arrow_ipc::reader::{FileReader, StreamReader};

use crate::arrow_column::{plan_columns, ColumnBuilder};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::table::{ReadOptions, Table};

/// The first bytes of an Arrow IPC file (a stream has none).
const FILE_MAGIC: &[u8] = b"ARROW1";

/// Reads the selected columns of an Arrow IPC file or stream.
pub fn read_ipc(path: &Path, options: &ReadOptions) -> Result<Table> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = [0u8; 6];
    let n = read_prefix(&mut file, &mut magic).map_err(|e| Error::io(path, e))?;
    file.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, e))?;
    if n == 0 {
        return Err(Error::unreadable(path, "the file is empty"));
    }
    let bad = |e: arrow_schema::ArrowError| Error::unreadable(path, e);
    if &magic[..n] == FILE_MAGIC {
        let reader = FileReader::try_new_buffered(file, None).map_err(bad)?;
        read_batches(path, reader, options)
    } else {
        let reader = StreamReader::try_new(BufReader::new(file), None).map_err(bad)?;
        read_batches(path, reader, options)
    }
}

/// Fills `buf` as far as the file allows; returns the number of bytes read.
fn read_prefix(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Appends every batch of `reader` to column builders.
fn read_batches(path: &Path, reader: impl RecordBatchReader, options: &ReadOptions) -> Result<Table> {
    let schema = reader.schema();
    let (planned, skipped, all) = plan_columns(&schema, options);
    let mut builders: Vec<ColumnBuilder> = planned
        .iter()
        .map(|c| ColumnBuilder::new(c.kind, 0, options.categories.get(&c.name)))
        .collect();
    let mut num_rows = 0;
    for batch in reader {
        let batch = batch.map_err(|e| Error::unreadable(path, e))?;
        num_rows += batch.num_rows();
        for (c, b) in planned.iter().zip(builders.iter_mut()) {
            let array = batch.column(c.index);
            b.append(array.as_ref())
                .map_err(|reason| Error::bad_column(path, &c.name, reason))?;
        }
    }
    let mut table = Table::new(path, Format::ArrowIpc);
    table.num_rows = num_rows;
    table.file_columns = all;
    table.skipped = skipped;
    for (c, b) in planned.into_iter().zip(builders) {
        let (values, categories) = b.finish();
        table.push(c.name, c.kind, values, categories);
    }
    Ok(table)
}
