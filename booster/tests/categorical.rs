//! Categorical features end to end in the booster: category-set splits learn what thresholds on
//! arbitrary codes cannot, every prediction path routes them alike, models round-trip exactly, and
//! the methods that cannot split categories say so.

mod common;

use common::categorical_data;
use sylvan_booster::{
    Bagging, BaggingParams, Booster, Column, Dataset, FeatureType, Params, PredictOptions, PredictOutput,
};

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    p.apply([("num_round", "30"), ("eta", "0.2"), ("nthread", "2")])
        .unwrap();
    p.apply(pairs.iter().copied()).unwrap();
    p
}

/// The same data with every feature numerical (the categorical codes taken as ordered numbers).
fn ordinal(d: &Dataset) -> Dataset {
    let cols = d
        .columns()
        .iter()
        .map(|c| match c {
            Column::Dense(v) => v.clone(),
            Column::Sparse { .. } => unreachable!(),
        })
        .collect();
    Dataset::from_columns(cols)
        .unwrap()
        .with_labels(d.labels().to_vec())
        .unwrap()
}

fn rmse(b: &Booster, d: &Dataset) -> f64 {
    let p = b.predict(d, PredictOptions::default()).unwrap();
    let s: f64 = p
        .values
        .iter()
        .zip(d.labels())
        .map(|(a, y)| ((a - y) as f64).powi(2))
        .sum();
    (s / d.num_rows() as f64).sqrt()
}

#[test]
fn set_splits_beat_ordinal_codes_on_high_cardinality() {
    let train = categorical_data(20_000, &[1000, 300, 5], 1, false);
    let test = categorical_data(5_000, &[1000, 300, 5], 2, false);
    let p = params(&[("max_depth", "6")]);
    let native = Booster::train(&p, &train, &[]).unwrap();
    let codes = Booster::train(&p, &ordinal(&train), &[]).unwrap();
    let (a, b) = (rmse(&native, &test), rmse(&codes, &test));
    println!("test RMSE: category sets {a:.4}, ordinal codes {b:.4}");
    assert!(a < b * 0.97, "category sets {a} vs ordinal codes {b}");
    assert!(native.trees().iter().any(|t| t.has_category_splits()));
    // Importance counts the set splits: the number of splits on feature 0 is the weight.
    let set_splits: usize = native
        .trees()
        .iter()
        .map(|t| {
            (0..t.num_nodes())
                .filter(|&i| t.category_set(i).is_some() && t.feature[i] == 0)
                .count()
        })
        .sum();
    let weight = native.feature_importance(sylvan_booster::ImportanceType::Weight);
    assert_eq!(weight[0] as usize, set_splits);
    assert!(native.feature_importance(sylvan_booster::ImportanceType::Gain)[0] > 0.0);
    assert_eq!(native.feature_types()[0], FeatureType::Categorical);
    assert_eq!(native.feature_types()[3], FeatureType::Numerical);
}

#[test]
fn every_prediction_path_routes_sets_alike() {
    let train = categorical_data(6_000, &[40, 3, 200], 3, true);
    for method in ["hist", "approx"] {
        let p = params(&[
            ("objective", "binary:logistic"),
            ("tree_method", method),
            ("max_cat_to_onehot", "4"),
            ("min_data_per_group", "20"),
        ]);
        let b = Booster::train(&p, &train, &[]).unwrap();
        assert!(b.trees().iter().any(|t| t.has_category_splits()), "{method}");
        let margin = b
            .predict(
                &train,
                PredictOptions {
                    output: PredictOutput::Margin,
                    ..Default::default()
                },
            )
            .unwrap();
        let leaves = b
            .predict(
                &train,
                PredictOptions {
                    output: PredictOutput::LeafIndex,
                    ..Default::default()
                },
            )
            .unwrap();
        let nf = train.num_features();
        let mut row = vec![0f32; nf];
        let mut out = [0f32];
        for i in (0..train.num_rows()).step_by(7) {
            for (j, x) in row.iter_mut().enumerate() {
                *x = train.column(j).get(i);
            }
            // The naive walk: Tree::leaf_index, summed in tree order.
            let mut want = b.base_margin()[0];
            for (t, tree) in b.trees().iter().enumerate() {
                let leaf = tree.leaf_index(&row);
                assert_eq!(leaves.values[i * b.num_trees() + t], leaf as f32);
                want += tree.value[leaf] as f64;
            }
            assert_eq!(margin.values[i], want as f32, "{method} row {i}");
            b.predict_row(&row, &mut out).unwrap();
            let p = 1.0 / (1.0 + (-want).exp());
            assert!((out[0] as f64 - p).abs() < 1e-6, "{method} row {i}");
        }
        // A category never seen in training goes right at every set split, as documented.
        row[0] = 50_000.0;
        let mut want = b.base_margin()[0];
        for tree in b.trees() {
            let mut i = 0;
            while !tree.is_leaf(i) {
                let f = tree.feature[i] as usize;
                i = if f == 0 {
                    tree.right[i] as usize
                } else if tree.node_goes_left(i, row[f]) {
                    tree.left[i] as usize
                } else {
                    tree.right[i] as usize
                };
            }
            want += tree.value[i] as f64;
        }
        let unseen = Dataset::from_rows(&row, nf).unwrap();
        let got = b
            .predict(
                &unseen,
                PredictOptions {
                    output: PredictOutput::Margin,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(got.values[0], want as f32);
    }
}

#[test]
fn models_round_trip_exactly_and_old_versions_stay() {
    let train = categorical_data(3_000, &[30, 500], 5, false);
    let b = Booster::train(&params(&[("min_data_per_group", "10")]), &train, &[]).unwrap();
    let bytes = b.to_bytes().unwrap();
    let back = Booster::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes().unwrap(), bytes);
    assert_eq!(back.trees(), b.trees());
    assert_eq!(back.feature_types(), b.feature_types());
    let json = b.to_json_string().unwrap();
    assert!(json.contains("\"version\":2") && json.contains("categorical"));
    let again = Booster::from_json_str(&json).unwrap();
    assert_eq!(again.to_json_string().unwrap(), json);
    assert_eq!(again.to_bytes().unwrap(), bytes);
    let p1 = b.predict(&train, PredictOptions::default()).unwrap();
    let p2 = again.predict(&train, PredictOptions::default()).unwrap();
    assert_eq!(p1.values, p2.values);
    // A numerical model is still written as version 1.
    let plain = Booster::train(&params(&[]), &ordinal(&train), &[]).unwrap();
    assert!(plain.to_json_string().unwrap().contains("\"version\":1"));
    assert!(!plain.to_json_string().unwrap().contains("categor"));
}

#[test]
fn training_is_independent_of_the_thread_count() {
    let train = categorical_data(4_000, &[100, 7], 9, true);
    let trees: Vec<Vec<sylvan_booster::Tree>> = ["1", "2"]
        .iter()
        .map(|n| {
            Booster::train(
                &params(&[("objective", "binary:logistic"), ("nthread", n)]),
                &train,
                &[],
            )
            .unwrap()
            .trees()
            .to_vec()
        })
        .collect();
    assert!(trees[0] == trees[1], "the trees differ between 1 and 2 threads");
}

#[test]
fn categorical_features_param_declares_features() {
    let train = categorical_data(3_000, &[50], 4, false);
    let plain = ordinal(&train)
        .with_feature_names(vec!["city".into(), "x0".into(), "x1".into()])
        .unwrap();
    let by_name = Booster::train(&params(&[("categorical_features", "city")]), &plain, &[]).unwrap();
    let by_index = Booster::train(&params(&[("categorical_feature", "0")]), &plain, &[]).unwrap();
    let typed = Booster::train(&params(&[]), &train, &[]).unwrap();
    assert_eq!(by_name.trees(), typed.trees());
    assert_eq!(by_index.trees(), typed.trees());
    let e = Booster::train(&params(&[("categorical_features", "town")]), &plain, &[]).unwrap_err();
    assert!(
        e.to_string().contains("categorical_features") && e.to_string().contains("town"),
        "{e}"
    );
    // x0 holds fractions: not category codes.
    let e = Booster::train(&params(&[("categorical_features", "x0")]), &plain, &[]).unwrap_err();
    assert!(e.to_string().contains("x0") && e.to_string().contains("row"), "{e}");
}

#[test]
fn exact_splits_sets_as_hist_does_and_cuda_refuses() {
    // Categorical features only: exact and hist (f64 sums) see the same category sums, so they
    // choose the same root set split.
    let data = categorical_data(4_000, &[30, 300], 12, false);
    let cols: Vec<Vec<f32>> = (0..2)
        .map(|j| (0..data.num_rows()).map(|i| data.column(j).get(i)).collect())
        .collect();
    let cats_only = Dataset::from_columns(cols)
        .unwrap()
        .with_labels(data.labels().to_vec())
        .unwrap()
        .with_categorical(&[0, 1])
        .unwrap();
    let p = |method| {
        params(&[
            ("tree_method", method),
            ("use_quantized_grad", "false"),
            ("min_data_per_group", "20"),
        ])
    };
    let exact = Booster::train(&p("exact"), &cats_only, &[]).unwrap();
    let hist = Booster::train(&p("hist"), &cats_only, &[]).unwrap();
    let (e, h) = (&exact.trees()[0], &hist.trees()[0]);
    assert!(e.category_set(0).is_some());
    assert_eq!(
        (e.feature[0], e.category_set(0), e.default_left[0]),
        (h.feature[0], h.category_set(0), h.default_left[0])
    );
    assert!((rmse(&exact, &cats_only) - rmse(&hist, &cats_only)).abs() < 0.01);
    // Mixed data trains too, and predicts like its own trees.
    let mixed = Booster::train(&p("exact"), &data, &[]).unwrap();
    assert!(mixed.trees().iter().any(|t| t.has_category_splits()));
    // The CUDA backend grows threshold splits only: refused before any device is needed.
    let e = Booster::train(&params(&[("device", "cuda")]), &data, &[]).unwrap_err();
    assert!(e.to_string().contains("cuda") && e.to_string().contains("f0"), "{e}");
}

#[test]
fn categorical_parameters_parse_and_check() {
    let p = Params::from_json(r#"{"categorical_features": ["city", 3], "cat_smooth": 2.5, "max_cat_threshold": 8}"#)
        .unwrap();
    assert_eq!(p.categorical_features, vec!["city".to_string(), "3".to_string()]);
    assert_eq!((p.cat_smooth, p.max_cat_threshold), (2.5, 8));
    let mut q = Params::default();
    q.apply([
        ("categorical_feature", "a, b,2"),
        ("min_data_per_group", "5"),
        ("cat_l2", "0"),
    ])
    .unwrap();
    assert_eq!(q.categorical_features, vec!["a", "b", "2"]);
    assert_eq!((q.min_data_per_group, q.cat_l2), (5, 0.0));
    for (name, bad) in [("cat_smooth", "-1"), ("cat_l2", "nan"), ("max_cat_threshold", "0")] {
        let e = Params::default().apply([(name, bad)]).unwrap_err().to_string();
        assert!(e.contains(name), "{e}");
    }
    // Defaults are left out of a saved model, so models without categorical features keep their bytes.
    let json = serde_json::to_string(&Params::default()).unwrap();
    assert!(!json.contains("cat_") && !json.contains("categorical"), "{json}");
}

#[test]
fn ensembles_keep_categorical_features() {
    let train = categorical_data(3_000, &[200, 4], 6, false);
    let bag = Bagging::train(
        &BaggingParams {
            n_estimators: 3,
            ..Default::default()
        },
        &params(&[("min_data_per_group", "20")]),
        &train,
    )
    .unwrap();
    assert!(bag
        .members()
        .iter()
        .all(|m| m.trees().iter().any(|t| t.has_category_splits())));
    let rf = Booster::train(
        &params(&[
            ("num_parallel_tree", "5"),
            ("subsample", "0.6"),
            ("colsample_bynode", "0.8"),
            ("num_round", "1"),
            ("eta", "1"),
        ]),
        &train,
        &[],
    )
    .unwrap();
    assert!(rf.trees().iter().any(|t| t.has_category_splits()));
}
