//! Categorical columns: the mapping from strings to codes, learned on training data and stored
//! with the model so that prediction on another file uses the same codes.

use std::collections::{BTreeMap, HashMap};

use crate::error::{Error, Result};

/// The booster attribute under which the category mapping is stored (a JSON object
/// `{"column": ["first category", "second", ...]}`; a category's code is its index).
pub const CATEGORIES_ATTRIBUTE: &str = "sylvan.categories";

/// For each categorical column, its categories in code order (code `i` is `values[i]`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryMap {
    columns: BTreeMap<String, Vec<String>>,
}

impl CategoryMap {
    /// An empty mapping.
    pub fn new() -> CategoryMap {
        CategoryMap::default()
    }

    /// Records the categories of one column, in code order.
    pub fn insert(&mut self, column: impl Into<String>, values: Vec<String>) {
        self.columns.insert(column.into(), values);
    }

    /// The categories of a column, if it is categorical.
    pub fn get(&self, column: &str) -> Option<&[String]> {
        self.columns.get(column).map(Vec::as_slice)
    }

    /// Whether no column is categorical.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Number of categorical columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// The categorical columns and their categories, by column name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.columns.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Keeps only the columns for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.columns.retain(|k, _| keep(k));
    }

    /// The mapping as a JSON object, for [`CATEGORIES_ATTRIBUTE`].
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.columns).unwrap_or_else(|_| "{}".to_string())
    }

    /// Reads a mapping written by [`CategoryMap::to_json`]; a category listed twice is an error.
    pub fn from_json(text: &str) -> Result<CategoryMap> {
        let columns: BTreeMap<String, Vec<String>> =
            serde_json::from_str(text).map_err(|e| Error::BadCategories { reason: e.to_string() })?;
        for (column, values) in &columns {
            let mut seen = std::collections::HashSet::new();
            if let Some(dup) = values.iter().find(|v| !seen.insert(v.as_str())) {
                return Err(Error::BadCategories {
                    reason: format!("column `{column}` lists `{dup}` twice"),
                });
            }
        }
        Ok(CategoryMap { columns })
    }
}

/// Turns the strings of one column into f32 codes.
///
/// A *learning* encoder gives each new string the next code and, at [`Encoder::finish`], renumbers the
/// categories in sorted order (so the codes do not depend on row order). A *fixed* encoder uses a
/// stored mapping and turns an unseen string into a missing value (`NaN`).
#[derive(Debug, Clone)]
pub struct Encoder {
    codes: HashMap<String, u32>,
    values: Vec<String>,
    fixed: bool,
}

impl Encoder {
    /// An encoder that learns the categories from the data.
    pub fn learning() -> Encoder {
        Encoder {
            codes: HashMap::new(),
            values: Vec::new(),
            fixed: false,
        }
    }

    /// An encoder bound to a stored mapping (code `i` is `values[i]`).
    pub fn fixed(values: &[String]) -> Encoder {
        let codes = values.iter().enumerate().map(|(i, v)| (v.clone(), i as u32)).collect();
        Encoder {
            codes,
            values: values.to_vec(),
            fixed: true,
        }
    }

    /// Whether the encoder uses a stored mapping.
    pub fn is_fixed(&self) -> bool {
        self.fixed
    }

    /// The code of `value`: a new code for a new string when learning, `NaN` when fixed and unseen.
    #[inline]
    pub fn code(&mut self, value: &str) -> f32 {
        if let Some(c) = self.codes.get(value) {
            return *c as f32;
        }
        if self.fixed {
            return f32::NAN;
        }
        let c = self.values.len() as u32;
        self.codes.insert(value.to_string(), c);
        self.values.push(value.to_string());
        c as f32
    }

    /// Finishes a column: a learning encoder renumbers its categories in sorted order and rewrites
    /// `column` accordingly. Returns the categories in code order.
    pub fn finish(self, column: &mut [f32]) -> Vec<String> {
        if self.fixed {
            return self.values;
        }
        let mut order: Vec<u32> = (0..self.values.len() as u32).collect();
        order.sort_by(|a, b| self.values[*a as usize].cmp(&self.values[*b as usize]));
        let mut new_code = vec![0f32; order.len()];
        for (new, old) in order.iter().enumerate() {
            new_code[*old as usize] = new as f32;
        }
        for v in column.iter_mut() {
            if !v.is_nan() {
                *v = new_code[*v as usize];
            }
        }
        let mut values = self.values;
        let mut sorted = Vec::with_capacity(values.len());
        for old in order {
            sorted.push(std::mem::take(&mut values[old as usize]));
        }
        sorted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_encoder_sorts_codes() {
        let mut e = Encoder::learning();
        let mut col: Vec<f32> = ["b", "a", "c", "b"].iter().map(|s| e.code(s)).collect();
        col.push(f32::NAN);
        let values = e.finish(&mut col);
        assert_eq!(values, vec!["a", "b", "c"]);
        assert_eq!(&col[..4], &[1.0, 0.0, 2.0, 1.0]);
        assert!(col[4].is_nan());
    }

    #[test]
    fn fixed_encoder_maps_unseen_to_missing() {
        let values = vec!["x".to_string(), "y".to_string()];
        let mut e = Encoder::fixed(&values);
        assert_eq!(e.code("y"), 1.0);
        assert!(e.code("z").is_nan());
        assert_eq!(e.finish(&mut []), values);
    }

    #[test]
    fn map_round_trips_through_json() {
        let mut m = CategoryMap::new();
        m.insert("color", vec!["blue".into(), "red".into()]);
        let back = CategoryMap::from_json(&m.to_json()).unwrap();
        assert_eq!(back, m);
        assert!(CategoryMap::from_json("[1,2]").is_err());
        assert!(CategoryMap::from_json(r#"{"c":["a","a"]}"#).is_err());
    }
}
