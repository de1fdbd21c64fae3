//! Feature types: numerical (split by threshold) or categorical (split by category sets), and the
//! rule that says which f32 values are category codes.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the trees split a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureType {
    /// Ordered values, split by a threshold (`x < t` goes left).
    #[default]
    Numerical,
    /// Category codes `0, 1, 2, ...` with no order, split by a set of categories (a code in the
    /// set goes left). `NaN` is missing.
    Categorical,
}

impl FeatureType {
    /// Whether this is [`FeatureType::Categorical`].
    pub fn is_categorical(self) -> bool {
        self == FeatureType::Categorical
    }

    /// XGBoost's letter for the type (`q` quantitative, `c` categorical).
    pub fn xgboost_letter(self) -> &'static str {
        match self {
            FeatureType::Numerical => "q",
            FeatureType::Categorical => "c",
        }
    }
}

/// The largest number of categories a categorical feature may have: codes run `0..MAX_CATEGORIES`
/// (one histogram bin per category, and the quantized matrix stores bins in 16 bits).
pub const MAX_CATEGORIES: usize = 65_535;

/// The category code of a value: `Some(code)` for a non-negative integer below
/// [`MAX_CATEGORIES`], `None` for anything else (missing, negative, fractional or too large).
#[inline]
pub fn category_code(x: f32) -> Option<u32> {
    if x >= 0.0 && x < MAX_CATEGORIES as f32 && x == x.trunc() {
        Some(x as u32)
    } else {
        None
    }
}

/// Checks that a training value of categorical feature `feature` (named `name` in errors) is a
/// valid code or missing.
pub(crate) fn check_code(x: f32, feature: usize, name: &str, row: usize) -> Result<()> {
    if x.is_nan() || category_code(x).is_some() {
        return Ok(());
    }
    Err(Error::data(format!(
        "categorical feature {feature} (`{name}`) has the value {x} at row {row}; category codes must be \
         integers in 0..{MAX_CATEGORIES} (NaN for missing)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(category_code(0.0), Some(0));
        assert_eq!(category_code(17.0), Some(17));
        assert_eq!(category_code(-0.0), Some(0));
        for bad in [-1.0, 0.5, f32::NAN, 65_535.0, 1e9, f32::INFINITY] {
            assert_eq!(category_code(bad), None, "{bad}");
        }
        assert!(check_code(2.5, 3, "city", 7).unwrap_err().to_string().contains("row 7"));
    }
}
