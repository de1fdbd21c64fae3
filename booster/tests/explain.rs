//! SHAP values of trained models through the public API: contributions (exact and Saabas) sum to
//! the margin and interaction matrices to the contributions, for every kind of model (binary with
//! missing values, multiclass, categorical, DART, a forest, several targets, quantiles, iteration
//! ranges, per-row base margins, bagging); stacking is refused; the values do not depend on the
//! thread count. The comparison with XGBoost's own values is in tests/shap_differential.rs.

mod common;

use common::{categorical_data, make_data_with_missing, signal};
use rand::RngExt;
use sylvan_booster::{
    Bagging, BaggingParams, BaseLearner, Booster, Dataset, Model, Params, PredictOptions, PredictOutput, Stacking,
    StackingParams,
};

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params {
        num_round: 12,
        max_depth: 4,
        nthread: 2,
        ..Params::default()
    };
    for (k, v) in pairs {
        p.set(k, v).unwrap();
    }
    p
}

fn predict(b: &Booster, data: &Dataset, output: PredictOutput, range: Option<(usize, usize)>) -> Vec<f32> {
    b.predict(
        data,
        PredictOptions {
            output,
            iteration_range: range,
        },
    )
    .unwrap()
    .values
}

/// Contributions (exact and Saabas) sum to the margin per row and output; interaction matrices are
/// symmetric and their rows sum to the contributions.
fn check_sums(b: &Booster, data: &Dataset, range: Option<(usize, usize)>, interactions: bool) {
    let (k, w) = (b.num_groups(), b.num_features() + 1);
    let margins = predict(b, data, PredictOutput::Margin, range);
    for output in [PredictOutput::Contributions, PredictOutput::ApproxContributions] {
        let c = predict(b, data, output, range);
        assert_eq!(c.len(), data.num_rows() * b.explanation_columns(output));
        for (i, m) in margins.iter().enumerate() {
            let sum: f64 = c[i * w..(i + 1) * w].iter().map(|v| *v as f64).sum();
            assert!(
                (sum - *m as f64).abs() < 1e-4 * (1.0 + m.abs() as f64),
                "{output:?} row {} output {}: {sum} vs margin {m}",
                i / k,
                i % k
            );
        }
    }
    if !interactions {
        return;
    }
    let c = predict(b, data, PredictOutput::Contributions, range);
    let m = predict(b, data, PredictOutput::Interactions, range);
    for (i, matrix) in m.chunks_exact(w * w).enumerate() {
        for a in 0..w {
            let line: f64 = matrix[a * w..(a + 1) * w].iter().map(|v| *v as f64).sum();
            let expect = c[i * w + a] as f64;
            assert!(
                (line - expect).abs() < 1e-4 * (1.0 + expect.abs()),
                "row sum {line} vs {expect}"
            );
            for bb in 0..w {
                assert!((matrix[a * w + bb] - matrix[bb * w + a]).abs() < 1e-5);
            }
        }
    }
}

#[test]
fn binary_with_missing_values_and_iteration_ranges() {
    let data = make_data_with_missing(3000, 6, 1, 0.2, |x, r| {
        (signal(x) + r.random_range(-0.5f32..0.5) > 0.0) as u8 as f32
    });
    let b = Booster::train(&params(&[("objective", "binary:logistic")]), &data, &[]).unwrap();
    check_sums(&b, &data, None, true);
    check_sums(&b, &data, Some((3, 9)), false);
    // A range's contributions are the sum of its rounds' (less the base margin counted once).
    let w = b.num_features() + 1;
    let whole = predict(&b, &data, PredictOutput::Contributions, Some((0, 12)));
    let first = predict(&b, &data, PredictOutput::Contributions, Some((0, 5)));
    let rest = predict(&b, &data, PredictOutput::Contributions, Some((5, 12)));
    let base = b.base_margin()[0] as f32;
    for i in 0..whole.len() {
        let corr = if i % w == w - 1 { base } else { 0.0 };
        assert!((whole[i] - (first[i] + rest[i] - corr)).abs() < 1e-4, "entry {i}");
    }
}

#[test]
fn multiclass_gives_one_block_per_class() {
    let data = make_data_with_missing(2000, 5, 2, 0.1, |x, _| {
        ((signal(x) + 3.0).clamp(0.0, 5.99) / 2.0) as u32 as f32
    });
    let b = Booster::train(
        &params(&[("objective", "multi:softprob"), ("num_class", "3")]),
        &data,
        &[],
    )
    .unwrap();
    assert_eq!(b.explanation_columns(PredictOutput::Contributions), 3 * 6);
    assert_eq!(b.explanation_columns(PredictOutput::Interactions), 3 * 36);
    check_sums(&b, &data, None, true);
}

#[test]
fn categorical_dart_forest_and_lossguide_models() {
    let data = categorical_data(3000, &[4, 40], 3, false);
    let cat = Booster::train(&params(&[("max_cat_to_onehot", "1")]), &data, &[]).unwrap();
    assert!(cat.trees().iter().any(|t| t.has_category_splits()));
    check_sums(&cat, &data, None, true);
    let dart = Booster::train(&params(&[("booster", "dart"), ("rate_drop", "0.3")]), &data, &[]).unwrap();
    assert!(dart.tree_weights().is_some());
    check_sums(&dart, &data, None, false);
    let forest = Booster::train(
        &params(&[
            ("num_parallel_tree", "4"),
            ("subsample", "0.6"),
            ("colsample_bynode", "0.7"),
            ("num_round", "2"),
        ]),
        &data,
        &[],
    )
    .unwrap();
    check_sums(&forest, &data, None, true);
    let deep = Booster::train(
        &params(&[
            ("grow_policy", "lossguide"),
            ("max_depth", "0"),
            ("max_leaves", "64"),
            ("num_round", "3"),
        ]),
        &data,
        &[],
    )
    .unwrap();
    check_sums(&deep, &data, None, true);
}

#[test]
fn several_targets_quantiles_and_row_base_margins() {
    let data = make_data_with_missing(1500, 4, 4, 0.0, |x, _| signal(x));
    let y: Vec<f32> = (0..1500).flat_map(|i| [i as f32 % 7.0, (i % 3) as f32]).collect();
    let multi = Dataset::from_columns(
        (0..4)
            .map(|j| {
                let mut v = Vec::new();
                data.rows_into(0, 1500, &mut v);
                v.chunks(4).map(|r| r[j]).collect()
            })
            .collect(),
    )
    .unwrap()
    .with_label_matrix(y, 2)
    .unwrap();
    for strategy in ["one_output_per_tree", "multi_output_tree"] {
        let b = Booster::train(&params(&[("multi_strategy", strategy)]), &multi, &[]).unwrap();
        assert_eq!(b.num_groups(), 2);
        check_sums(&b, &multi, None, true);
    }
    let q = Booster::train(
        &params(&[("objective", "reg:quantileerror"), ("quantile_alpha", "0.1,0.5,0.9")]),
        &data,
        &[],
    )
    .unwrap();
    check_sums(&q, &data, None, false);
    // A row's own base margin goes to its bias.
    let shifted = data.clone().with_base_margin(vec![2.5; 1500]).unwrap();
    let b = Booster::train(&params(&[]), &data, &[]).unwrap();
    let plain = predict(&b, &data, PredictOutput::Contributions, None);
    let moved = predict(&b, &shifted, PredictOutput::Contributions, None);
    let w = 5;
    for i in 0..1500 {
        assert!((moved[i * w + 4] - plain[i * w + 4] - (2.5 - b.base_margin()[0] as f32)).abs() < 1e-4);
        assert_eq!(moved[i * w..i * w + 4], plain[i * w..i * w + 4]);
    }
}

#[test]
fn values_do_not_depend_on_the_thread_count() {
    let data = make_data_with_missing(2000, 6, 5, 0.2, |x, _| signal(x));
    // Training does not depend on the thread count either, so the two models are the same.
    let one = Booster::train(&params(&[("nthread", "1")]), &data, &[]).unwrap();
    let many = Booster::train(&params(&[("nthread", "3")]), &data, &[]).unwrap();
    for output in [
        PredictOutput::Contributions,
        PredictOutput::Interactions,
        PredictOutput::ApproxContributions,
    ] {
        assert_eq!(
            predict(&one, &data, output, None),
            predict(&many, &data, output, None),
            "{output:?}"
        );
    }
}

#[test]
fn bagging_averages_its_members_and_stacking_is_refused() {
    let data = make_data_with_missing(1500, 4, 6, 0.1, |x, _| signal(x));
    let bag = Bagging::train(
        &BaggingParams {
            n_estimators: 3,
            ..Default::default()
        },
        &params(&[("num_round", "5")]),
        &data,
    )
    .unwrap();
    let model = Model::Bagging(bag);
    let c = model.explain(&data, PredictOutput::Contributions).unwrap();
    let p = model.predict(&data).unwrap();
    for (i, row) in c.values.chunks_exact(5).enumerate() {
        let sum: f32 = row.iter().sum();
        assert!(
            (sum - p.values[i]).abs() < 1e-3 * (1.0 + p.values[i].abs()),
            "{sum} vs {}",
            p.values[i]
        );
    }
    assert!(model.explain(&data, PredictOutput::Margin).is_err());
    let settings = StackingParams {
        k: 2,
        base: vec![BaseLearner::Booster(params(&[("num_round", "3")]))],
        ..Default::default()
    };
    let stack = Stacking::train(&settings, &data).unwrap();
    let e = Model::Stacking(stack)
        .explain(&data, PredictOutput::Contributions)
        .unwrap_err()
        .to_string();
    assert!(e.contains("stacking"), "{e}");
}

/// A crafted model with a tree deeper than explanations walk is refused with a message, not a
/// stack overflow.
#[test]
fn a_crafted_chain_tree_is_refused() {
    let depth: usize = 3000;
    let n = 2 * depth + 1;
    let mut t = sylvan_booster::Tree::default();
    for i in 0..n {
        let inner = i % 2 == 0 && i < n - 1;
        t.left.push(if inner { i as i32 + 1 } else { -1 });
        t.right.push(if inner { i as i32 + 2 } else { -1 });
        t.feature.push(0);
        t.threshold.push(i as f32);
        t.default_left.push(true);
        t.value.push(1.0);
        t.gain.push(0.0);
        t.cover.push(1.0);
    }
    let b = Booster::from_parts(Params::default(), vec![0.0], vec![t], 1, None).unwrap();
    let data = Dataset::from_columns(vec![vec![5.0, 7000.0]]).unwrap();
    let e = b
        .predict(
            &data,
            PredictOptions {
                output: PredictOutput::Contributions,
                iteration_range: None,
            },
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("levels deep"), "{e}");
}
