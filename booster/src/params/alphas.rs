//! One level or several: the `quantile_alpha` and `expectile_alpha` settings, which take a number
//! (one output) or a list (one output per level, XGBoost's multi-quantile model).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One or more levels in (0, 1) (quantiles or expectiles). Written back as a number when there
/// is one, so a single-level model serialises as it did before lists were accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Alphas(Vec<f64>);

impl Alphas {
    /// One level.
    pub fn one(alpha: f64) -> Alphas {
        Alphas(vec![alpha])
    }

    /// Several levels (one output each), in the order given.
    pub fn many(alphas: Vec<f64>) -> Alphas {
        Alphas(alphas)
    }

    /// The levels, one per output.
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }

    /// Number of levels (outputs).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no level is given (never valid; [`crate::Params::validate`] refuses it).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first level (the only one unless a list was given).
    pub fn first(&self) -> f64 {
        self.0.first().copied().unwrap_or(0.5)
    }

    /// The output order that sorts the levels ascending (ties keep their order): output
    /// `order[i]` holds the `i`-th smallest level.
    pub fn ascending_order(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.0.len()).collect();
        order.sort_by(|&a, &b| self.0[a].total_cmp(&self.0[b]));
        order
    }
}

impl Default for Alphas {
    fn default() -> Self {
        Alphas::one(0.5)
    }
}

impl PartialEq<f64> for Alphas {
    fn eq(&self, other: &f64) -> bool {
        self.0.len() == 1 && self.0[0] == *other
    }
}

impl std::fmt::Display for Alphas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.as_slice() {
            [a] => write!(f, "{a}"),
            many => {
                let parts: Vec<String> = many.iter().map(|a| a.to_string()).collect();
                write!(f, "[{}]", parts.join(","))
            }
        }
    }
}

impl Serialize for Alphas {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self.0.as_slice() {
            [a] => s.serialize_f64(*a),
            many => many.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Alphas {
    /// Accepts a number, a list of numbers, or text: `"0.9"`, `"0.1,0.5,0.9"`, `"[0.1, 0.5]"`.
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            One(f64),
            List(Vec<f64>),
            Text(String),
        }
        let levels = match Form::deserialize(d)? {
            Form::One(a) => vec![a],
            Form::List(v) => v,
            Form::Text(t) => t
                .trim()
                .trim_matches(|c| c == '[' || c == ']' || c == '(' || c == ')')
                .split(',')
                .filter(|e| !e.trim().is_empty())
                .map(|e| {
                    e.trim()
                        .parse::<f64>()
                        .map_err(|_| serde::de::Error::custom(format!("`{}` is not a number", e.trim())))
                })
                .collect::<std::result::Result<Vec<f64>, D::Error>>()?,
        };
        Ok(Alphas(levels))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_reads_and_one_level_writes_as_a_number() {
        let read = |v: serde_json::Value| serde_json::from_value::<Alphas>(v).unwrap();
        assert_eq!(read(serde_json::json!(0.9)), Alphas::one(0.9));
        assert_eq!(read(serde_json::json!([0.1, 0.9])), Alphas::many(vec![0.1, 0.9]));
        assert_eq!(read(serde_json::json!("0.1,0.5")), Alphas::many(vec![0.1, 0.5]));
        assert_eq!(read(serde_json::json!("[0.2, 0.8]")), Alphas::many(vec![0.2, 0.8]));
        assert!(serde_json::from_value::<Alphas>(serde_json::json!("0.1,x")).is_err());
        assert_eq!(serde_json::to_string(&Alphas::one(0.3)).unwrap(), "0.3");
        assert_eq!(
            serde_json::to_string(&Alphas::many(vec![0.1, 0.9])).unwrap(),
            "[0.1,0.9]"
        );
        assert_eq!(Alphas::many(vec![0.9, 0.1, 0.5]).ascending_order(), vec![1, 2, 0]);
        assert_eq!(Alphas::many(vec![0.1, 0.9]).to_string(), "[0.1,0.9]");
    }
}
