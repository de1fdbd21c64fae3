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
        check_blocks(path, &mut file)?;
        let reader = FileReader::try_new_buffered(file, None).map_err(bad)?;
        read_batches(path, reader, options)
    } else {
        let reader = StreamReader::try_new(BufReader::new(file), None).map_err(bad)?;
        read_batches(path, reader, options)
    }
}

/// Checks that every record batch and dictionary the footer of an IPC file lists lies inside the
/// file: the reader allocates a block's declared size before reading it, so a tiny corrupt file
/// could otherwise ask for gigabytes. A footer that cannot be parsed is left to the reader, which
/// reports it; the file is left at its start.
fn check_blocks(path: &Path, file: &mut File) -> Result<()> {
    let io = |e| Error::io(path, e);
    let len = file.seek(SeekFrom::End(0)).map_err(io)?;
    let footer = (|| -> std::io::Result<Option<Vec<u8>>> {
        // The file ends with the footer, its length (i32) and the magic "ARROW1".
        if len < 10 + 8 {
            return Ok(None);
        }
        let mut tail = [0u8; 10];
        file.seek(SeekFrom::Start(len - 10))?;
        file.read_exact(&mut tail)?;
        let footer_len = i32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        let Ok(footer_len) = u64::try_from(footer_len) else {
            return Ok(None);
        };
        if &tail[4..] != FILE_MAGIC || footer_len > len - 10 {
            return Ok(None);
        }
        let mut footer = vec![0u8; footer_len as usize];
        file.seek(SeekFrom::Start(len - 10 - footer_len))?;
        file.read_exact(&mut footer)?;
        Ok(Some(footer))
    })()
    .map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let Some(footer) = footer else {
        return Ok(());
    };
    let Ok(footer) = arrow_ipc::root_as_footer(&footer) else {
        return Ok(());
    };
    let lists = [
        ("record batch", footer.recordBatches()),
        ("dictionary", footer.dictionaries()),
    ];
    for (what, blocks) in lists {
        for (i, block) in blocks.iter().flatten().enumerate() {
            let end = u64::try_from(block.offset())
                .ok()
                .zip(u64::try_from(block.metaDataLength()).ok())
                .zip(u64::try_from(block.bodyLength()).ok())
                .and_then(|((offset, meta), body)| offset.checked_add(meta)?.checked_add(body));
            if end.is_none_or(|end| end > len) {
                return Err(Error::unreadable(
                    path,
                    format!(
                        "{what} {i} is declared at offset {} with {} + {} bytes, past the end of the file ({len}                          bytes): the file is truncated or corrupt",
                        block.offset(),
                        block.metaDataLength(),
                        block.bodyLength()
                    ),
                ));
            }
        }
    }
    Ok(())
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
