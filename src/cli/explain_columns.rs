//! Explanations on the command line: the column names of `sylvan predict --contribs`,
//! `--approx-contribs` and `--interactions`, and mean |SHAP| importance for `sylvan inspect`.

use anyhow::{bail, Result};
use sylvan_booster::{PredictOutput, Predictions};

/// The name of the bias column: `bias`, or `bias_`, `bias__`, ... when a feature holds that name.
fn bias_name(features: &[String]) -> String {
    let mut name = "bias".to_string();
    while features.contains(&name) {
        name.push('_');
    }
    name
}

/// The column names of an explanation with `num_cols` values per row, in the core's layout (see
/// [`PredictOutput`]): for contributions `<feature>` for every feature and then `bias`; for
/// interactions `<row>:<column>` over the features and the bias (`x0:x1`, `x0:bias`, ...,
/// `bias:bias`). With several outputs every output's block is prefixed with its name from
/// `output_names` (e.g. `class_0_x0`, ..., `class_0_bias`, `class_1_x0`, ...). An error when
/// `num_cols` is not a whole number of such blocks.
pub fn explanation_names(
    output: PredictOutput,
    features: &[String],
    num_cols: usize,
    output_names: impl FnOnce(usize) -> Vec<String>,
) -> Result<Vec<String>> {
    let mut terms: Vec<String> = features.to_vec();
    terms.push(bias_name(features));
    let block: Vec<String> = match output {
        PredictOutput::Interactions => terms
            .iter()
            .flat_map(|a| terms.iter().map(move |b| format!("{a}:{b}")))
            .collect(),
        _ => terms,
    };
    if num_cols == 0 || !num_cols.is_multiple_of(block.len()) {
        bail!(
            "the model's explanation has {num_cols} values per row, not a multiple of {} ({} features)",
            block.len(),
            features.len()
        );
    }
    let k = num_cols / block.len();
    if k == 1 {
        return Ok(block);
    }
    let prefixes = output_names(k);
    Ok(prefixes
        .iter()
        .flat_map(|p| block.iter().map(move |c| format!("{p}_{c}")))
        .collect())
}

/// Mean |SHAP| of every feature over the rows of `contributions` (a `Contributions` output of a
/// model with `num_features` features), summed over the outputs; the bias is left out.
pub fn mean_abs_shap(contributions: &Predictions, num_features: usize) -> Result<Vec<f64>> {
    let c = num_features + 1;
    if contributions.num_cols == 0 || !contributions.num_cols.is_multiple_of(c) {
        bail!(
            "contributions have {} values per row, not a multiple of {c} ({num_features} features)",
            contributions.num_cols
        );
    }
    let mut sums = vec![0f64; num_features];
    for row in contributions.values.chunks_exact(contributions.num_cols) {
        for output in row.chunks_exact(c) {
            for (s, v) in sums.iter_mut().zip(output) {
                *s += f64::from(v.abs());
            }
        }
    }
    let rows = contributions.num_rows.max(1) as f64;
    Ok(sums.into_iter().map(|s| s / rows).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn contributions_of_one_output_are_features_then_bias() {
        let got = explanation_names(PredictOutput::Contributions, &names(&["a", "b"]), 3, |_| unreachable!()).unwrap();
        assert_eq!(got, names(&["a", "b", "bias"]));
    }

    #[test]
    fn several_outputs_get_their_prefix() {
        let got = explanation_names(PredictOutput::ApproxContributions, &names(&["a"]), 4, |k| {
            (0..k).map(|i| format!("class_{i}")).collect()
        })
        .unwrap();
        assert_eq!(got, names(&["class_0_a", "class_0_bias", "class_1_a", "class_1_bias"]));
    }

    #[test]
    fn interactions_name_row_and_column() {
        let got = explanation_names(PredictOutput::Interactions, &names(&["a", "b"]), 9, |_| unreachable!()).unwrap();
        assert_eq!(got[0], "a:a");
        assert_eq!(got[1], "a:b");
        assert_eq!(got[2], "a:bias");
        assert_eq!(got[8], "bias:bias");
    }

    #[test]
    fn a_feature_called_bias_keeps_the_columns_distinct() {
        let got = explanation_names(PredictOutput::Contributions, &names(&["bias"]), 2, |_| unreachable!()).unwrap();
        assert_eq!(got, names(&["bias", "bias_"]));
    }

    #[test]
    fn a_width_that_does_not_fit_is_an_error() {
        let e = explanation_names(PredictOutput::Contributions, &names(&["a", "b"]), 4, |_| unreachable!());
        assert!(e.unwrap_err().to_string().contains("not a multiple of 3"));
    }

    #[test]
    fn mean_abs_shap_sums_outputs_and_skips_the_bias() {
        // 2 rows, 2 outputs, 1 feature: [f, bias, f, bias] per row.
        let p = Predictions {
            values: vec![1.0, 9.0, -2.0, 9.0, -3.0, 9.0, 0.0, 9.0],
            num_rows: 2,
            num_cols: 4,
        };
        assert_eq!(mean_abs_shap(&p, 1).unwrap(), vec![3.0]);
    }
}
