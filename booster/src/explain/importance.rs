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
