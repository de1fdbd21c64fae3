//! Reading LibSVM / SVMlight text: `label [qid:Q] index:value ...` per line, `#` starts a comment.
//!
//! The columns are named `label`, `qid` (when any line has one) and `f{index}` for each feature index
//! as written (so a file whose indices start at 1 has an empty `f0`, as in XGBoost). Absent entries
//! are missing values.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use crate::error::{Error, Result};
use crate::format::Format;
use crate::table::{ColumnKind, ReadOptions, Table};

/// Largest feature index accepted (guards against a typo allocating a huge matrix).
const MAX_INDEX: usize = 10_000_000;

/// Reads a LibSVM file; `options` selects among the columns named as above.
pub fn read_libsvm(path: &Path, options: &ReadOptions) -> Result<Table> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut labels: Vec<f32> = Vec::new();
    let mut qids: Vec<f32> = Vec::new();
    // Sparse features: for each index, the rows that have it and their values (no densifying).
    let mut features: Vec<(Vec<u32>, Vec<f32>)> = Vec::new();
    let mut line = String::new();
    let mut reader = BufReader::new(file);
    let mut line_no = 0usize;
    loop {
        line.clear();
        let n = reader.read_line(&mut line).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        line_no += 1;
        let content = line.split('#').next().unwrap_or("").trim();
        if content.is_empty() {
            continue;
        }
        let row = labels.len();
        let bad = |column: &str, reason: String| Error::BadValue {
            file: path.to_path_buf(),
            row,
            column: column.to_string(),
            reason: format!("line {line_no}: {reason}"),
        };
        let mut tokens = content.split_ascii_whitespace();
        let label_text = tokens.next().unwrap_or("");
        let label: f32 = label_text
            .parse()
            .map_err(|_| bad("label", format!("the label `{label_text}` is not a number")))?;
        labels.push(label);
        for token in tokens {
            let (key, value) = token
                .split_once(':')
                .ok_or_else(|| bad("?", format!("`{token}` is not of the form index:value")))?;
            if key == "qid" {
                let q: f32 = value
                    .parse()
                    .map_err(|_| bad("qid", format!("qid `{value}` is not a number")))?;
                qids.resize(row, f32::NAN);
                qids.push(q);
                continue;
            }
            let index: usize = key
                .parse()
                .map_err(|_| bad("?", format!("`{key}` is not a feature index")))?;
            if index > MAX_INDEX {
                return Err(bad(
                    &format!("f{index}"),
                    format!("feature index {index} is larger than {MAX_INDEX}"),
                ));
            }
            let v: f32 = value
                .parse()
                .map_err(|_| bad(&format!("f{index}"), format!("`{value}` is not a number")))?;
            if features.len() <= index {
                features.resize_with(index + 1, Default::default);
            }
            let (rows, values) = &mut features[index];
            if rows.last() == Some(&(row as u32)) {
                return Err(bad(
                    &format!("f{index}"),
                    format!("feature index {index} appears twice in the row"),
                ));
            }
            rows.push(row as u32);
            values.push(v);
        }
    }
    let num_rows = labels.len();
    let mut table = Table::new(path, Format::LibSvm);
    table.num_rows = num_rows;
    let add = |table: &mut Table, name: String, mut values: Vec<f32>| {
        table.file_columns.push(name.clone());
        if options.wants(&name) {
            values.resize(num_rows, f32::NAN);
            table.push(name, ColumnKind::Numeric, values, None);
        }
    };
    add(&mut table, "label".to_string(), labels);
    if !qids.is_empty() {
        add(&mut table, "qid".to_string(), qids);
    }
    for (index, (rows, values)) in features.into_iter().enumerate() {
        let name = format!("f{index}");
        table.file_columns.push(name.clone());
        if options.wants(&name) {
            table.push_sparse(name, rows, values);
        }
    }
    Ok(table)
}
