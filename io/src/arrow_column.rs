//! Converting Arrow arrays (from Parquet or Arrow IPC) into f32 feature columns.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowPrimitiveType, Decimal128Type, Decimal256Type, Decimal32Type, Decimal64Type, Float16Type, Float32Type,
    Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::Array;
use arrow_schema::{DataType, Schema};

use crate::categories::Encoder;
use crate::table::{ColumnKind, ReadOptions, SkippedColumn};

/// How a column of an Arrow type is converted, or `None` when it cannot be a feature.
pub(crate) fn kind_of(data_type: &DataType) -> Option<ColumnKind> {
    use DataType::*;
    match data_type {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Float16 | Float32 | Float64 | Null => {
            Some(ColumnKind::Numeric)
        }
        Decimal32(..) | Decimal64(..) | Decimal128(..) | Decimal256(..) => Some(ColumnKind::Numeric),
        Boolean => Some(ColumnKind::Boolean),
        Utf8 | LargeUtf8 | Utf8View => Some(ColumnKind::Categorical),
        // A dictionary column is categorical whatever its values: numbers are categories named by
        // their text.
        Dictionary(key, value) if key.is_dictionary_key_type() => kind_of(value).map(|_| ColumnKind::Categorical),
        _ => None,
    }
}

/// A column to read: its position in the file's schema, name and kind.
#[derive(Debug, Clone)]
pub(crate) struct PlannedColumn {
    /// Position among the schema's top-level fields.
    pub index: usize,
    /// The column's name.
    pub name: String,
    /// How it is converted.
    pub kind: ColumnKind,
}

/// Chooses the columns of `schema` to read under `options`; returns them, the columns skipped for
/// their type, and the names of all columns.
pub(crate) fn plan_columns(
    schema: &Schema,
    options: &ReadOptions,
) -> (Vec<PlannedColumn>, Vec<SkippedColumn>, Vec<String>) {
    let mut planned = Vec::new();
    let mut skipped = Vec::new();
    let mut all = Vec::new();
    for (index, field) in schema.fields().iter().enumerate() {
        let name = field.name().clone();
        all.push(name.clone());
        if !options.wants(&name) {
            continue;
        }
        match kind_of(field.data_type()) {
            Some(kind) => planned.push(PlannedColumn { index, name, kind }),
            None => skipped.push(SkippedColumn {
                name,
                data_type: field.data_type().to_string(),
            }),
        }
    }
    (planned, skipped, all)
}

/// Accumulates one column across record batches.
pub(crate) struct ColumnBuilder {
    /// The values so far.
    pub values: Vec<f32>,
    encoder: Option<Encoder>,
}

impl ColumnBuilder {
    /// A builder for a column of `kind`, with room for `capacity` rows; `fixed` is the stored
    /// category mapping of the column, if any.
    pub fn new(kind: ColumnKind, capacity: usize, fixed: Option<&[String]>) -> ColumnBuilder {
        let encoder = match (kind, fixed) {
            (ColumnKind::Categorical, Some(values)) => Some(Encoder::fixed(values)),
            (ColumnKind::Categorical, None) => Some(Encoder::learning()),
            _ => None,
        };
        ColumnBuilder {
            values: Vec::with_capacity(capacity),
            encoder,
        }
    }

    /// Appends the values of one array (nulls become `NaN`).
    pub fn append(&mut self, array: &dyn Array) -> Result<(), String> {
        append(array, &mut self.values, &mut self.encoder)
    }

    /// The finished column and, for a categorical column, its categories in code order.
    pub fn finish(self) -> (Vec<f32>, Option<Vec<String>>) {
        let mut values = self.values;
        let categories = self.encoder.map(|e| e.finish(&mut values));
        (values, categories)
    }
}

fn primitive<T: ArrowPrimitiveType>(array: &dyn Array, out: &mut Vec<f32>, f: impl Fn(T::Native) -> f32) {
    let a = array.as_primitive::<T>();
    let values = a.values();
    match a.nulls() {
        None => out.extend(values.iter().map(|v| f(*v))),
        Some(nulls) => out.extend(
            values
                .iter()
                .zip(nulls.iter())
                .map(|(v, ok)| if ok { f(*v) } else { f32::NAN }),
        ),
    }
}

fn strings<'a>(
    values: impl Iterator<Item = Option<&'a str>>,
    out: &mut Vec<f32>,
    encoder: &mut Option<Encoder>,
) -> Result<(), String> {
    let enc = encoder
        .as_mut()
        .ok_or("internal error: a string column without an encoder")?;
    out.extend(values.map(|s| match s {
        Some(s) if !s.is_empty() => enc.code(s),
        _ => f32::NAN,
    }));
    Ok(())
}

/// Appends an array of any supported type to `out`.
fn append(array: &dyn Array, out: &mut Vec<f32>, encoder: &mut Option<Encoder>) -> Result<(), String> {
    use DataType::*;
    match array.data_type() {
        Int8 => primitive::<Int8Type>(array, out, |v| v as f32),
        Int16 => primitive::<Int16Type>(array, out, |v| v as f32),
        Int32 => primitive::<Int32Type>(array, out, |v| v as f32),
        Int64 => primitive::<Int64Type>(array, out, |v| v as f32),
        UInt8 => primitive::<UInt8Type>(array, out, |v| v as f32),
        UInt16 => primitive::<UInt16Type>(array, out, |v| v as f32),
        UInt32 => primitive::<UInt32Type>(array, out, |v| v as f32),
        UInt64 => primitive::<UInt64Type>(array, out, |v| v as f32),
        Float16 => primitive::<Float16Type>(array, out, |v| v.to_f32()),
        Float32 => primitive::<Float32Type>(array, out, |v| v),
        Float64 => primitive::<Float64Type>(array, out, |v| v as f32),
        Decimal32(_, s) => {
            let d = 10f64.powi(*s as i32);
            primitive::<Decimal32Type>(array, out, |v| (v as f64 / d) as f32)
        }
        Decimal64(_, s) => {
            let d = 10f64.powi(*s as i32);
            primitive::<Decimal64Type>(array, out, |v| (v as f64 / d) as f32)
        }
        Decimal128(_, s) => {
            let d = 10f64.powi(*s as i32);
            primitive::<Decimal128Type>(array, out, |v| (v as f64 / d) as f32)
        }
        Decimal256(_, s) => {
            let d = 10f64.powi(*s as i32);
            primitive::<Decimal256Type>(array, out, |v| {
                let (low, high) = v.to_parts();
                ((high as f64 * 2f64.powi(128) + low as f64) / d) as f32
            })
        }
        Boolean => {
            let a = array.as_boolean();
            out.extend(a.iter().map(|v| v.map_or(f32::NAN, |b| b as u8 as f32)));
        }
        Null => out.extend(std::iter::repeat_n(f32::NAN, array.len())),
        Utf8 => strings(array.as_string::<i32>().iter(), out, encoder)?,
        LargeUtf8 => strings(array.as_string::<i64>().iter(), out, encoder)?,
        Utf8View => strings(array.as_string_view().iter(), out, encoder)?,
        Dictionary(..) => dictionary(array, out, encoder)?,
        other => return Err(format!("type {other} cannot be a feature")),
    }
    Ok(())
}

/// Appends a dictionary-encoded array: a categorical column. String values go through the column's
/// encoder (so codes agree across row groups whose dictionaries differ), each used entry once per
/// batch; other values (numbers, booleans) are named by their text first.
fn dictionary(array: &dyn Array, out: &mut Vec<f32>, encoder: &mut Option<Encoder>) -> Result<(), String> {
    let dict = array
        .as_any_dictionary_opt()
        .ok_or("internal error: not a dictionary array")?;
    let keys = dict.normalized_keys();
    let key_array = dict.keys();
    let values = dict.values();
    let named: Vec<Option<String>>;
    let strs: Vec<Option<&str>> = match values.data_type() {
        DataType::Utf8 => values.as_string::<i32>().iter().collect(),
        DataType::LargeUtf8 => values.as_string::<i64>().iter().collect(),
        DataType::Utf8View => values.as_string_view().iter().collect(),
        _ => {
            let mut numbers = Vec::with_capacity(values.len());
            append(values.as_ref(), &mut numbers, &mut None)?;
            named = numbers.iter().map(|v| (!v.is_nan()).then(|| v.to_string())).collect();
            named.iter().map(Option::as_deref).collect()
        }
    };
    out.reserve(keys.len());
    let enc = encoder
        .as_mut()
        .ok_or("internal error: a categorical column without an encoder")?;
    let mut cache: Vec<Option<f32>> = vec![None; strs.len()];
    for (i, k) in keys.iter().enumerate() {
        let v = match cache.get(*k) {
            _ if !key_array.is_valid(i) => f32::NAN,
            Some(Some(code)) => *code,
            Some(None) => {
                let code = match strs[*k] {
                    Some(s) if !s.is_empty() => enc.code(s),
                    _ => f32::NAN,
                };
                cache[*k] = Some(code);
                code
            }
            None => f32::NAN,
        };
        out.push(v);
    }
    Ok(())
}
