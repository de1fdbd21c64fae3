//! Per-feature settings given as XGBoost takes them: a list by position (`"(1,0,-1)"`, `[1, 0, -1]`)
//! or a map by feature name (`{"debt": 1}`), resolved against the training data's features once
//! training starts; and feature groups (`interaction_constraints`), lists of names or indices.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A value per feature, by position or by feature name (see the module docs). Empty by default.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum PerFeature<T> {
    /// Not given: every feature takes the default.
    #[default]
    Unset,
    /// One value per feature, in feature order (features past the end take the default).
    ByPosition(Vec<T>),
    /// Values by feature name (unnamed features take the default). A key that is not a feature
    /// name but a number is taken as a 0-based feature index.
    ByName(BTreeMap<String, T>),
}

impl<T: Copy + PartialEq> PerFeature<T> {
    /// Whether nothing was given.
    pub fn is_unset(&self) -> bool {
        match self {
            PerFeature::Unset => true,
            PerFeature::ByPosition(v) => v.is_empty(),
            PerFeature::ByName(m) => m.is_empty(),
        }
    }

    /// One value per feature of data with `num_features` features named `names`; unlisted
    /// features get `default`. An error names `param` when the list is longer than the number of
    /// features or a name is neither a feature name nor an index below it.
    pub fn resolve(&self, param: &str, num_features: usize, names: Option<&[String]>, default: T) -> Result<Vec<T>> {
        let mut out = vec![default; num_features];
        match self {
            PerFeature::Unset => {}
            PerFeature::ByPosition(v) => {
                if v.len() > num_features {
                    return Err(Error::param(
                        param,
                        format!("gives {} values but the data has {num_features} features", v.len()),
                    ));
                }
                out[..v.len()].copy_from_slice(v);
            }
            PerFeature::ByName(m) => {
                for (name, &value) in m {
                    out[feature_index(param, name, num_features, names)?] = value;
                }
            }
        }
        Ok(out)
    }
}

/// The index of the feature `entry` names: a feature name when the data has a feature of that
/// name, else a 0-based index below `num_features`; anything else is an error naming `param`.
pub fn feature_index(param: &str, entry: &str, num_features: usize, names: Option<&[String]>) -> Result<usize> {
    if let Some(j) = names.and_then(|n| n.iter().position(|x| x == entry)) {
        return Ok(j);
    }
    match entry.trim().parse::<usize>() {
        Ok(j) if j < num_features => Ok(j),
        _ => Err(Error::param(
            param,
            format!("`{entry}` is neither a feature name nor a feature index below {num_features}"),
        )),
    }
}

impl<T: Serialize + Copy + PartialEq> Serialize for PerFeature<T> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            PerFeature::Unset => Vec::<T>::new().serialize(s),
            PerFeature::ByPosition(v) => v.serialize(s),
            PerFeature::ByName(m) => m.serialize(s),
        }
    }
}

/// Values a [`PerFeature`] can hold, parsed from text.
pub trait FeatureValue: Copy + PartialEq + for<'de> Deserialize<'de> {
    /// Checks one value; the error says what is allowed.
    fn check(self) -> std::result::Result<Self, String>;
}

impl FeatureValue for i8 {
    fn check(self) -> std::result::Result<i8, String> {
        if (-1..=1).contains(&self) {
            Ok(self)
        } else {
            Err(format!("a monotone constraint must be -1, 0 or 1, got {self}"))
        }
    }
}

impl FeatureValue for f64 {
    fn check(self) -> std::result::Result<f64, String> {
        if self.is_finite() && self >= 0.0 {
            Ok(self)
        } else {
            Err(format!("a feature weight must be a finite number >= 0, got {self}"))
        }
    }
}

impl<'de, T: FeatureValue> Deserialize<'de> for PerFeature<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        per_feature_from_json(value).map_err(serde::de::Error::custom)
    }
}

/// Reads a [`PerFeature`] from JSON: a list, a map, or a string holding either (XGBoost's
/// `"(1,0,-1)"` tuple text included).
fn per_feature_from_json<T: FeatureValue>(value: serde_json::Value) -> std::result::Result<PerFeature<T>, String> {
    use serde_json::Value;
    let value = match value {
        Value::String(text) => {
            let t = text.trim();
            if t.is_empty() {
                return Ok(PerFeature::Unset);
            }
            let t = match t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
                Some(inner) => format!("[{inner}]"),
                None if t.starts_with('[') || t.starts_with('{') => t.to_string(),
                None => format!("[{t}]"),
            };
            serde_json::from_str(&t).map_err(|e| format!("cannot read `{text}`: {e}"))?
        }
        Value::Null => return Ok(PerFeature::Unset),
        other => other,
    };
    let one = |v: Value| -> std::result::Result<T, String> {
        let v = match v {
            Value::String(s) => serde_json::from_str(s.trim()).map_err(|_| format!("`{s}` is not a number"))?,
            v => v,
        };
        T::deserialize(v.clone())
            .map_err(|_| format!("`{v}` is not an allowed value"))?
            .check()
    };
    match value {
        Value::Array(items) => Ok(PerFeature::ByPosition(
            items.into_iter().map(one).collect::<std::result::Result<_, _>>()?,
        )),
        Value::Object(map) => Ok(PerFeature::ByName(
            map.into_iter()
                .map(|(k, v)| Ok((k, one(v)?)))
                .collect::<std::result::Result<_, String>>()?,
        )),
        Value::Number(_) => Ok(PerFeature::ByPosition(vec![one(value)?])),
        other => Err(format!("expected a list or a map by feature name, got `{other}`")),
    }
}

/// Reads feature groups: a list of lists of names or indices, or a string holding one
/// (`"[[0, 1], [2, 3]]"`, `"[['a', 'b'], ['c']]"`).
pub(crate) fn feature_groups<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<Vec<String>>, D::Error> {
    use serde_json::Value;
    let value = Value::deserialize(d)?;
    let value = match value {
        Value::String(text) => {
            let t = text.trim();
            if t.is_empty() {
                return Ok(Vec::new());
            }
            // Python's repr quotes names with single quotes.
            serde_json::from_str(&t.replace('\'', "\""))
                .map_err(|e| serde::de::Error::custom(format!("cannot read `{text}`: {e}")))?
        }
        Value::Null => return Ok(Vec::new()),
        other => other,
    };
    let bad = |v: &Value| serde::de::Error::custom(format!("expected a list of feature lists, got `{v}`"));
    let Value::Array(groups) = &value else {
        return Err(bad(&value));
    };
    groups
        .iter()
        .map(|g| match g {
            Value::Array(items) => items
                .iter()
                .map(|e| match e {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) if n.as_u64().is_some() => Ok(n.to_string()),
                    other => Err(bad(other)),
                })
                .collect(),
            other => Err(bad(other)),
        })
        .collect()
}

/// The groups of `interaction_constraints` as feature indices (ascending within a group, as
/// given across groups).
pub fn resolve_groups(
    groups: &[Vec<String>],
    num_features: usize,
    names: Option<&[String]>,
) -> Result<Vec<Vec<usize>>> {
    groups
        .iter()
        .map(|g| {
            let mut idx = g
                .iter()
                .map(|e| feature_index("interaction_constraints", e, num_features, names))
                .collect::<Result<Vec<usize>>>()?;
            idx.sort_unstable();
            idx.dedup();
            Ok(idx)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_form() {
        let p: PerFeature<i8> = serde_json::from_str(r#""(1,0,-1)""#).unwrap();
        assert_eq!(p, PerFeature::ByPosition(vec![1, 0, -1]));
        let p: PerFeature<i8> = serde_json::from_str("[1, -1]").unwrap();
        assert_eq!(p.resolve("m", 3, None, 0).unwrap(), vec![1, -1, 0]);
        let p: PerFeature<i8> = serde_json::from_str(r#"{"b": -1, "2": 1}"#).unwrap();
        let names = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(p.resolve("m", 3, Some(&names), 0).unwrap(), vec![0, -1, 1]);
        let p: PerFeature<i8> = serde_json::from_str(r#""{\"a\": 1}""#).unwrap();
        assert_eq!(p.resolve("m", 3, Some(&names), 0).unwrap(), vec![1, 0, 0]);
        assert!(serde_json::from_str::<PerFeature<i8>>("[2]").is_err());
        let e = PerFeature::<i8>::ByPosition(vec![1, 1, 1, 1]).resolve("monotone_constraints", 3, None, 0);
        assert!(e.unwrap_err().to_string().contains("monotone_constraints"));
        let e = PerFeature::<i8>::ByName([("zz".to_string(), 1)].into()).resolve("m", 3, Some(&names), 0);
        assert!(e.unwrap_err().to_string().contains("zz"));
        let w: PerFeature<f64> = serde_json::from_str(r#""0.5, 0, 2""#).unwrap();
        assert_eq!(w, PerFeature::ByPosition(vec![0.5, 0.0, 2.0]));
        assert!(serde_json::from_str::<PerFeature<f64>>("[-1]").is_err());
    }

    #[test]
    fn reads_groups() {
        #[derive(Deserialize)]
        struct G {
            #[serde(deserialize_with = "feature_groups")]
            g: Vec<Vec<String>>,
        }
        let g: G = serde_json::from_str(r#"{"g": "[[0, 1], ['x', 'y']]"}"#).unwrap();
        assert_eq!(g.g, vec![vec!["0", "1"], vec!["x", "y"]]);
        let g: G = serde_json::from_str(r#"{"g": [[2, 0]]}"#).unwrap();
        assert_eq!(resolve_groups(&g.g, 3, None).unwrap(), vec![vec![0, 2]]);
        assert!(serde_json::from_str::<G>(r#"{"g": [1, 2]}"#).is_err());
    }
}
