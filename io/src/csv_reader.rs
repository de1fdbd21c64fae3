//! Reading CSV files with a header line. A first pass infers each column's type (numbers, booleans,
//! or strings = categorical) without keeping any data; a second pass converts the values straight
//! into f32 columns. Empty cells and `NA`, `N/A`, `NaN`, `null`, `None` are missing.

use std::path::Path;

use crate::categories::Encoder;
use crate::error::{Error, Result};
use crate::format::Format;
use crate::table::{ColumnKind, ReadOptions, Table};

/// Cell texts read as a missing value (compared after trimming, case-insensitively).
const MISSING: [&str; 7] = ["", "na", "n/a", "nan", "null", "none", "-nan"];

/// Whether a cell is a missing value.
fn is_missing(cell: &str) -> bool {
    cell.len() <= 4 && MISSING.iter().any(|m| cell.eq_ignore_ascii_case(m))
}

/// Parses a boolean cell.
fn parse_bool(cell: &str) -> Option<bool> {
    if cell.eq_ignore_ascii_case("true") {
        Some(true)
    } else if cell.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// What the first pass learned about one column.
#[derive(Debug, Clone, Copy)]
struct Inferred {
    numeric: bool,
    boolean: bool,
}

impl Inferred {
    fn kind(self) -> ColumnKind {
        if self.numeric {
            ColumnKind::Numeric
        } else if self.boolean {
            ColumnKind::Boolean
        } else {
            ColumnKind::Categorical
        }
    }
}

fn reader(path: &Path) -> Result<csv::Reader<std::fs::File>> {
    let delimiter = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv")) {
        b'\t'
    } else {
        b','
    };
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| csv_error(path, e))
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(source) => Error::io(path, source),
        csv::ErrorKind::UnequalLengths { pos, expected_len, len } => Error::unreadable(
            path,
            format!(
                "line {} has {len} fields but the header has {expected_len}",
                pos.map_or_else(|| "?".to_string(), |p| p.line().to_string())
            ),
        ),
        csv::ErrorKind::Utf8 { pos, .. } => Error::unreadable(
            path,
            format!(
                "line {} is not valid UTF-8",
                pos.map_or_else(|| "?".to_string(), |p| p.line().to_string())
            ),
        ),
        other => Error::unreadable(path, format!("{other:?}")),
    }
}

/// Reads the selected columns of a CSV file.
pub fn read_csv(path: &Path, options: &ReadOptions) -> Result<Table> {
    let mut rdr = reader(path)?;
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_error(path, e))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.is_empty() || header.iter().all(String::is_empty) {
        return Err(Error::unreadable(
            path,
            "no header line (the first line must name the columns)",
        ));
    }
    let selected: Vec<usize> = (0..header.len()).filter(|i| options.wants(&header[*i])).collect();

    // Pass 1: infer the type of each selected column.
    let mut inferred = vec![
        Inferred {
            numeric: true,
            boolean: true
        };
        header.len()
    ];
    let mut record = csv::StringRecord::new();
    let mut num_rows = 0usize;
    while rdr.read_record(&mut record).map_err(|e| csv_error(path, e))? {
        num_rows += 1;
        for &j in &selected {
            let cell = record.get(j).unwrap_or("");
            let inf = &mut inferred[j];
            if (inf.numeric || inf.boolean) && !is_missing(cell) {
                inf.numeric &= cell.parse::<f32>().is_ok();
                inf.boolean &= parse_bool(cell).is_some();
            }
        }
    }

    let mut table = Table::new(path, Format::Csv);
    table.num_rows = num_rows;
    table.file_columns = header.clone();
    if num_rows == 0 {
        return Ok(table);
    }
    let kinds: Vec<ColumnKind> = selected
        .iter()
        .map(|&j| {
            if options.categories.get(&header[j]).is_some() {
                ColumnKind::Categorical
            } else {
                inferred[j].kind()
            }
        })
        .collect();
    let mut columns: Vec<Vec<f32>> = selected.iter().map(|_| Vec::with_capacity(num_rows)).collect();
    let mut encoders: Vec<Option<Encoder>> = selected
        .iter()
        .zip(&kinds)
        .map(|(&j, k)| match (k, options.categories.get(&header[j])) {
            (ColumnKind::Categorical, Some(values)) => Some(Encoder::fixed(values)),
            (ColumnKind::Categorical, None) => Some(Encoder::learning()),
            _ => None,
        })
        .collect();

    // Pass 2: convert.
    let mut rdr = reader(path)?;
    let mut row = 0usize;
    while rdr.read_record(&mut record).map_err(|e| csv_error(path, e))? {
        if row >= num_rows {
            return Err(Error::unreadable(path, "the file grew while it was being read"));
        }
        for (k, &j) in selected.iter().enumerate() {
            let cell = record.get(j).unwrap_or("");
            let v = if is_missing(cell) {
                f32::NAN
            } else {
                match kinds[k] {
                    ColumnKind::Numeric => cell.parse::<f32>().map_err(|_| Error::BadValue {
                        file: path.to_path_buf(),
                        row,
                        column: header[j].clone(),
                        reason: format!("`{cell}` is not a number (the file changed while it was being read?)"),
                    })?,
                    ColumnKind::Boolean => parse_bool(cell).map_or(f32::NAN, |b| b as u8 as f32),
                    ColumnKind::Categorical => encoders[k].as_mut().map_or(f32::NAN, |e| e.code(cell)),
                }
            };
            columns[k].push(v);
        }
        row += 1;
    }
    if row != num_rows {
        return Err(Error::unreadable(path, "the file changed while it was being read"));
    }
    for ((&j, kind), (mut values, encoder)) in selected.iter().zip(kinds).zip(columns.into_iter().zip(encoders)) {
        let categories = encoder.map(|e| e.finish(&mut values));
        table.push(header[j].clone(), kind, values, categories);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tokens() {
        for m in ["", "NA", "na", "N/A", "NaN", "nan", "NULL", "None"] {
            assert!(is_missing(m), "{m}");
        }
        assert!(!is_missing("0") && !is_missing("Nancy"));
    }
}
