//! Model explanation: feature importance from the trees.

use crate::model::booster::Booster;

/// How feature importance is measured (XGBoost's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImportanceType {
    /// Number of splits on the feature.
    Weight,
    /// Average loss change of the feature's splits.
    #[default]
    Gain,
    /// Total loss change of the feature's splits.
    TotalGain,
    /// Average hessian sum of the feature's split nodes.
    Cover,
    /// Total hessian sum of the feature's split nodes.
    TotalCover,
}

impl ImportanceType {
    /// Every type, in XGBoost's order of names.
    pub const ALL: [ImportanceType; 5] = [
        ImportanceType::Weight,
        ImportanceType::Gain,
        ImportanceType::Cover,
        ImportanceType::TotalGain,
        ImportanceType::TotalCover,
    ];

    /// XGBoost's name of the type (`weight`, `gain`, `cover`, `total_gain`, `total_cover`).
    pub fn name(self) -> &'static str {
        match self {
            ImportanceType::Weight => "weight",
            ImportanceType::Gain => "gain",
            ImportanceType::Cover => "cover",
            ImportanceType::TotalGain => "total_gain",
            ImportanceType::TotalCover => "total_cover",
        }
    }
}

impl std::str::FromStr for ImportanceType {
    type Err = crate::error::Error;

    /// Parses XGBoost's name of a type; an unknown name is an error naming `importance_type`.
    fn from_str(name: &str) -> crate::error::Result<ImportanceType> {
        ImportanceType::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                crate::error::Error::param(
                    "importance_type",
                    format!("unknown type `{name}` (expected weight, gain, cover, total_gain or total_cover)"),
                )
            })
    }
}

impl Booster {
    /// Importance of every feature (one value per feature, 0 for unused ones).
    pub fn feature_importance(&self, kind: ImportanceType) -> Vec<f64> {
        let nf = self.num_features();
        let (mut count, mut gain, mut cover) = (vec![0f64; nf], vec![0f64; nf], vec![0f64; nf]);
        for t in self.trees() {
            for i in 0..t.num_nodes() {
                if !t.is_leaf(i) {
                    let f = t.feature[i] as usize;
                    count[f] += 1.0;
                    gain[f] += t.gain[i] as f64;
                    cover[f] += t.cover[i] as f64;
                }
            }
        }
        let avg = |s: &[f64]| {
            s.iter()
                .zip(&count)
                .map(|(s, c)| if *c > 0.0 { s / c } else { 0.0 })
                .collect()
        };
        match kind {
            ImportanceType::Weight => count,
            ImportanceType::Gain => avg(&gain),
            ImportanceType::TotalGain => gain,
            ImportanceType::Cover => avg(&cover),
            ImportanceType::TotalCover => cover,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_ones_are_refused() {
        for t in ImportanceType::ALL {
            assert_eq!(t.name().parse::<ImportanceType>().unwrap(), t);
        }
        let e = "gains".parse::<ImportanceType>().unwrap_err().to_string();
        assert!(e.contains("importance_type") && e.contains("gains"), "{e}");
    }
}
