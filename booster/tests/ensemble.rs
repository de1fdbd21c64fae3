//! Ensembles: XGBoost-style random forests (`num_parallel_tree`), bagging with out-of-bag scores,
//! and stacking with a linear meta-learner — on generated data where each should help, with the
//! numbers printed (`cargo test -- --nocapture`) and tolerances stated in each assertion.

mod common;

use common::signal;
use rand::rngs::StdRng;
use rand::RngExt;
use sylvan_booster::*;
use sylvan_booster::{BaseLearner, MetaLearner};

/// `n` rows of `nf` uniform features (5% missing in feature 1) and a label from `label(x)`.
fn make_data(n: usize, nf: usize, seed: u64, label: impl Fn(&[f32], &mut StdRng) -> f32) -> Dataset {
    common::make_data_with_missing(n, nf, seed, 0.05, label)
}

/// A noisy regression task: the signal plus uniform noise of standard deviation ~0.87.
fn noisy(seed: u64, n: usize) -> Dataset {
    make_data(n, 6, seed, |x, r| signal(x) + r.random_range(-1.5f32..1.5))
}

/// A binary task with a linear and a non-linear part and label noise.
fn binary(seed: u64, n: usize) -> Dataset {
    make_data(n, 6, seed, |x, r| {
        let s = 1.5 * x[0] - x[4] + 2.0 * x[1] * x[2] + (3.0 * x[3]).sin() + r.random_range(-1.0f32..1.0);
        (s > 0.0) as u8 as f32
    })
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    p.set("nthread", "2").unwrap();
    for (k, v) in pairs {
        p.set(k, v).unwrap();
    }
    p
}

/// One deep, unregularised tree: the high-variance learner bagging is for.
fn deep_tree() -> Params {
    params(&[
        ("num_round", "1"),
        ("eta", "1"),
        ("max_depth", "12"),
        ("lambda", "0"),
        ("min_child_weight", "1"),
    ])
}

fn rmse(model_eval: Vec<(String, f64)>) -> f64 {
    assert_eq!(model_eval[0].0, "rmse");
    model_eval[0].1
}

#[test]
fn random_forest_mode_grows_and_averages_parallel_trees() {
    let train = noisy(1, 4000);
    let test = noisy(2, 4000);
    let mut p = deep_tree();
    p.set("num_parallel_tree", "8").unwrap();
    p.set("subsample", "0.63").unwrap();
    p.set("colsample_bynode", "0.8").unwrap();
    let rf = Booster::train(&p, &train, &[]).unwrap();
    assert_eq!(rf.num_trees(), 8);
    assert_eq!(rf.num_rounds(), 1);
    assert_eq!(rf.num_parallel_tree(), 8);
    assert!(
        rf.trees().windows(2).all(|w| w[0] != w[1]),
        "parallel trees must differ"
    );
    // The round adds the average of its trees: each leaf is scaled by eta / num_parallel_tree, so
    // the margin is the base plus the sum of the (already divided) leaf values.
    let margins = rf
        .predict(
            &test,
            PredictOptions {
                output: PredictOutput::Margin,
                ..Default::default()
            },
        )
        .unwrap();
    let mut buf = Vec::new();
    test.rows_into(0, 1, &mut buf);
    let by_hand = rf.base_margin()[0] + rf.trees().iter().map(|t| t.predict_row(&buf) as f64).sum::<f64>();
    assert!((margins.values[0] as f64 - by_hand).abs() < 1e-4);
    // The forest's prediction is the mean of its trees' (each tree's own prediction is the base
    // plus 8 times its divided leaf value), so by convexity of the squared error its held-out MSE
    // is at most the trees' mean MSE, and strictly less since the trees differ.
    let e_rf = rmse(rf.evaluate(&test, &[]).unwrap());
    let labels = test.labels();
    let mut rows = Vec::new();
    let mut tree_mse = [0f64; 8];
    let mut forest_mse = 0f64;
    #[allow(clippy::needless_range_loop)] // row i of the data set and its label
    for i in 0..test.num_rows() {
        test.rows_into(i, i + 1, &mut rows);
        let own: Vec<f64> = rf
            .trees()
            .iter()
            .map(|t| rf.base_margin()[0] + 8.0 * t.predict_row(&rows) as f64)
            .collect();
        let mean = own.iter().sum::<f64>() / 8.0;
        forest_mse += (mean - labels[i] as f64).powi(2);
        for (m, p) in tree_mse.iter_mut().zip(&own) {
            *m += (p - labels[i] as f64).powi(2);
        }
    }
    let n = test.num_rows() as f64;
    let mean_tree_mse = tree_mse.iter().sum::<f64>() / 8.0 / n;
    println!(
        "held-out rmse: random forest of 8 trees {e_rf:.4}, its trees alone {:.4} on average",
        mean_tree_mse.sqrt()
    );
    assert!(
        (forest_mse / n).sqrt() - e_rf < 1e-5,
        "the forest predicts the mean of its trees"
    );
    assert!(
        e_rf * e_rf < mean_tree_mse,
        "forest {e_rf} vs its trees' mean MSE {mean_tree_mse}"
    );

    // Deterministic, thread-count independent, and saved/loaded identically (JSON and binary).
    p.set("nthread", "1").unwrap();
    let one = Booster::train(&p, &train, &[]).unwrap();
    assert_eq!(one.trees(), rf.trees());
    let want = rf.predict(&test, PredictOptions::default()).unwrap();
    let json = Booster::from_json_str(&rf.to_json_string().unwrap()).unwrap();
    assert_eq!(json.predict(&test, PredictOptions::default()).unwrap(), want);
    let bin = Booster::from_bytes(&rf.to_bytes().unwrap()).unwrap();
    assert_eq!(bin.predict(&test, PredictOptions::default()).unwrap(), want);
    assert_eq!(bin.num_parallel_tree(), 8);
}

#[test]
fn random_forest_mode_with_classes_rounds_and_old_files() {
    let train = make_data(1500, 4, 3, |x, _| {
        if x[0] > 0.3 {
            2.0
        } else if x[1] > 0.0 {
            1.0
        } else {
            0.0
        }
    });
    let p = params(&[
        ("objective", "multi:softprob"),
        ("num_class", "3"),
        ("num_round", "3"),
        ("num_parallel_tree", "2"),
        ("subsample", "0.7"),
    ]);
    let b = Booster::train(&p, &train, &[("train", &train)]).unwrap();
    assert_eq!(b.num_trees(), 3 * 3 * 2);
    assert_eq!(b.num_rounds(), 3);
    assert_eq!(b.trees_per_round(), 6);
    // Within a round: class 0's two trees, then class 1's, then class 2's (XGBoost's order).
    let groups: Vec<usize> = (0..6).map(|i| b.tree_group(i)).collect();
    assert_eq!(groups, vec![0, 0, 1, 1, 2, 2]);
    assert_eq!(b.tree_group(7), 0);
    let first = b
        .predict(
            &train,
            PredictOptions {
                iteration_range: Some((0, 1)),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(first.num_cols, 3);
    let merror = b.evaluate(&train, &["merror".parse().unwrap()]).unwrap()[0].1;
    assert!(merror < 0.1, "merror {merror}");
    // A file of a model with the wrong number of trees for its layout is refused.
    let mut trees = b.trees().to_vec();
    trees.pop();
    assert!(Booster::from_parts(b.params().clone(), b.base_margin().to_vec(), trees, 4, None).is_err());
    // A file written before num_parallel_tree existed loads as one tree per output per round.
    let plain = Booster::train(&params(&[("num_round", "3")]), &train, &[]).unwrap();
    let json = plain.to_json_string().unwrap().replace("\"num_parallel_tree\":1,", "");
    assert!(!json.contains("num_parallel_tree"));
    let old = Booster::from_json_str(&json).unwrap();
    assert_eq!(old.num_parallel_tree(), 1);
    assert_eq!(
        old.predict(&train, PredictOptions::default()).unwrap(),
        plain.predict(&train, PredictOptions::default()).unwrap()
    );
    assert!(params(&[]).set("num_parallel_tree", "0").is_ok());
    let mut bad = params(&[]);
    bad.set("num_parallel_tree", "0").unwrap();
    let e = Booster::train(&bad, &train, &[]).unwrap_err().to_string();
    assert!(e.contains("num_parallel_tree"), "{e}");
}

#[test]
fn bagging_deep_trees_lowers_test_error_and_oob_tracks_held_out() {
    let train = noisy(11, 3000);
    let test = noisy(12, 6000);
    let settings = BaggingParams {
        n_estimators: 30,
        ..Default::default()
    };
    let bag = Bagging::train(&settings, &deep_tree(), &train).unwrap();
    assert_eq!(bag.members().len(), 30);
    let e_bag = rmse(bag.evaluate(&test, &[]).unwrap());
    let oob = bag.oob().expect("bootstrap samples leave rows out");
    let e_oob = oob.metrics[0].1;
    println!(
        "held-out rmse: bagging of 30 deep trees {e_bag:.4}; out-of-bag rmse {e_oob:.4} over {} of 3000 rows",
        oob.rows
    );
    // The ensemble predicts the mean of its members, so by convexity of the squared error its
    // held-out MSE is below the members' mean MSE.
    let member_preds: Vec<Vec<f32>> = bag
        .members()
        .iter()
        .map(|m| m.predict(&test, PredictOptions::default()).unwrap().values)
        .collect();
    let bagged = bag.predict(&test).unwrap().values;
    let mse = |p: &[f32]| {
        p.iter()
            .zip(test.labels())
            .map(|(p, y)| ((p - y) as f64).powi(2))
            .sum::<f64>()
            / 6000.0
    };
    for (i, b) in bagged.iter().enumerate() {
        let mean = member_preds.iter().map(|p| p[i] as f64).sum::<f64>() / 30.0;
        assert!(
            (*b as f64 - mean).abs() < 1e-5,
            "row {i}: {b} is not the members' mean {mean}"
        );
    }
    let mean_member_mse = member_preds.iter().map(|p| mse(p)).sum::<f64>() / 30.0;
    assert!(
        e_bag * e_bag < mean_member_mse,
        "bagging {e_bag} vs members' mean MSE {mean_member_mse}"
    );
    assert_oob_is_the_mean_of_the_members_that_did_not_see_the_row(&bag, &train);
    assert_eq!(bag.oob_metrics(), &oob.metrics[..]);
}

/// Each member is a booster trained on the training rows weighted by how often its sample drew
/// them (its unused features emptied); each row's out-of-bag score is the mean of the members
/// whose sample left it out, and the out-of-bag metric is the metric of those scores.
fn assert_oob_is_the_mean_of_the_members_that_did_not_see_the_row(bag: &Bagging, train: &Dataset) {
    let n = train.num_rows();
    let k = bag.num_groups();
    let oob = bag.oob().unwrap();
    let counts: Vec<Vec<u32>> = (0..bag.members().len())
        .map(|e| bag.member_sample_counts(e, n).unwrap())
        .collect();
    assert!(bag.member_sample_counts(bag.members().len(), n).is_none());
    assert!(
        bag.member_sample_counts(0, 0).is_none(),
        "no rows: nothing drawn, no panic"
    );
    // Member 0 retrained from its sample (as weights) and its features alone grows the same trees.
    let member = &bag.members()[0];
    let features = bag.member_features(0).unwrap();
    let columns: Vec<Vec<f32>> = (0..train.num_features())
        .map(|j| {
            let mut v = vec![f32::NAN; n];
            if features.contains(&j) {
                train.column(j).copy_rows(0, n, &mut v);
            }
            v
        })
        .collect();
    let weights: Vec<f32> = counts[0].iter().map(|c| *c as f32).collect();
    let sample = Dataset::from_columns(columns)
        .unwrap()
        .with_labels(train.labels().to_vec())
        .unwrap()
        .with_weights(weights)
        .unwrap();
    let again = Booster::train(member.params(), &sample, &[]).unwrap();
    assert!(again.trees() == member.trees(), "member 0 is not its sample's booster");

    let preds: Vec<Vec<f32>> = bag
        .members()
        .iter()
        .map(|m| {
            let p = m.predict(train, PredictOptions::default()).unwrap();
            assert_eq!(p.num_cols, k);
            p.values
        })
        .collect();
    let mut covered = 0;
    for i in 0..n {
        let out: Vec<usize> = (0..counts.len()).filter(|&e| counts[e][i] == 0).collect();
        for c in 0..k {
            let got = oob.scores.values[i * k + c];
            if out.is_empty() {
                assert!(got.is_nan(), "row {i} was in every bag but has an out-of-bag score");
                continue;
            }
            let mean = out.iter().map(|&e| preds[e][i * k + c] as f64).sum::<f64>() / out.len() as f64;
            assert!((got as f64 - mean).abs() < 1e-5, "row {i}: out-of-bag {got} vs {mean}");
        }
        covered += !out.is_empty() as usize;
    }
    assert_eq!(oob.rows, covered);
}

#[test]
fn bagging_classifies_averages_probabilities_and_reports_every_oob_metric() {
    let train = binary(21, 3000);
    let test = binary(22, 3000);
    let mut base = params(&[
        ("objective", "binary:logistic"),
        ("num_round", "20"),
        ("max_depth", "4"),
        ("colsample_bynode", "0.8"),
    ]);
    base.set("eval_metric", "auc,logloss,error").unwrap();
    // Each row is out of bag for ~30% of the members: enough of them that its OOB average is close
    // to the full ensemble's.
    let settings = BaggingParams {
        n_estimators: 24,
        bootstrap: false,
        max_samples: 0.7,
        max_features: 0.7,
        seed: 5,
        oob_score: true,
    };
    let bag = Bagging::train(&settings, &base, &train).unwrap();
    for i in 0..24 {
        assert_eq!(bag.member_features(i).unwrap().len(), 4);
    }
    let p = bag.predict(&test).unwrap();
    assert!(p.values.iter().all(|v| (0.0..=1.0).contains(v)));
    // The average of the members' probabilities.
    let by_hand: f64 = bag
        .members()
        .iter()
        .map(|m| m.predict(&test, PredictOptions::default()).unwrap().values[0] as f64)
        .sum::<f64>()
        / 24.0;
    assert!((p.values[0] as f64 - by_hand).abs() < 1e-5);
    let oob = bag.oob().unwrap();
    let names: Vec<&str> = oob.metrics.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(names, vec!["auc", "logloss", "error"]);
    let held = bag.evaluate(&test, &[]).unwrap();
    println!("binary bagging: OOB {:?}, held-out {:?}", oob.metrics, held);
    assert_oob_is_the_mean_of_the_members_that_did_not_see_the_row(&bag, &train);
    // Averaging probabilities: the log loss is convex in the probability, so the ensemble's
    // held-out log loss is below its members' mean.
    let logloss = ["logloss".parse().unwrap()];
    let members_mean = bag
        .members()
        .iter()
        .map(|m| m.evaluate(&test, &logloss).unwrap()[0].1)
        .sum::<f64>()
        / 24.0;
    assert!(
        held[1].1 < members_mean,
        "bagged logloss {} vs members' mean {members_mean}",
        held[1].1
    );
    // Without replacement and every row drawn there is nothing out of bag.
    let all = BaggingParams {
        n_estimators: 2,
        bootstrap: false,
        ..Default::default()
    };
    let b = Bagging::train(&all, &base, &train).unwrap();
    assert!(b.oob().is_none() && b.oob_metrics().is_empty());
}

#[test]
fn bagging_is_deterministic_and_round_trips() {
    let train = noisy(31, 1500);
    let mut base = deep_tree();
    base.set("max_depth", "6").unwrap();
    let settings = BaggingParams {
        n_estimators: 6,
        max_features: 0.5,
        seed: 9,
        ..Default::default()
    };
    let a = Bagging::train(&settings, &base, &train).unwrap();
    base.set("nthread", "1").unwrap();
    let b = Bagging::train(&settings, &base, &train).unwrap();
    let pa = a.predict(&train).unwrap();
    assert_eq!(pa, b.predict(&train).unwrap(), "1 and 2 threads differ");
    let bits = |b: &Bagging| -> Vec<u32> { b.oob().unwrap().scores.values.iter().map(|v| v.to_bits()).collect() };
    assert_eq!(
        bits(&a),
        bits(&b),
        "out-of-bag scores differ (NaN marks rows with none)"
    );
    assert_eq!(a.oob_metrics(), b.oob_metrics());
    let mut other = settings.clone();
    other.seed = 10;
    assert_ne!(
        Bagging::train(&other, &base, &train).unwrap().predict(&train).unwrap(),
        pa
    );

    let dir = std::env::temp_dir().join(format!("sylvan-bagging-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bag.json");
    a.save(&path).unwrap();
    let loaded = Bagging::load(&path).unwrap();
    assert_eq!(loaded.predict(&train).unwrap(), pa);
    assert_eq!(loaded.oob_metrics(), a.oob_metrics());
    assert_eq!(loaded.settings(), a.settings());
    match Model::load(&path).unwrap() {
        Model::Bagging(m) => assert_eq!(m.predict(&train).unwrap(), pa),
        other => panic!("loaded as {other:?}"),
    }
    // Damaged files are errors that name the file.
    std::fs::write(
        &path,
        "{\"format\":\"sylvan-ensemble\",\"version\":1,\"kind\":\"bagging\"}",
    )
    .unwrap();
    let e = Bagging::load(&path).unwrap_err().to_string();
    assert!(e.contains("bag.json"), "{e}");
    let text = a
        .to_json_string()
        .unwrap()
        .replace("\"n_estimators\":6", "\"n_estimators\":7");
    assert!(Bagging::from_json_str(&text).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_configurations_fail_before_training() {
    let train = noisy(41, 200);
    let zero = BaggingParams {
        n_estimators: 0,
        ..Default::default()
    };
    let e = Bagging::train(&zero, &deep_tree(), &train).unwrap_err().to_string();
    assert!(e.contains("n_estimators"), "{e}");
    let e = Bagging::train(
        &BaggingParams {
            max_samples: 0.0,
            ..Default::default()
        },
        &deep_tree(),
        &train,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("max_samples"), "{e}");
    let mut s = BaggingParams::default();
    assert!(s.set("n_estimators", "25").is_ok() && s.n_estimators == 25);
    assert!(s.set("colsample", "0.5").is_ok() && s.max_features == 0.5);
    assert!(s.set("bogus", "1").unwrap_err().to_string().contains("bogus"));
    let e = Bagging::train(
        &BaggingParams::default(),
        &Params::default(),
        &Dataset::from_columns(vec![vec![1.0]]).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("labels"), "{e}");

    let booster = BaseLearner::Booster(params(&[]));
    let stack = |k: usize, base: Vec<BaseLearner>, meta: MetaLearner| StackingParams {
        k,
        base,
        meta,
        ..Default::default()
    };
    let e = Stacking::train(&stack(1, vec![booster.clone()], MetaLearner::default()), &train)
        .unwrap_err()
        .to_string();
    assert!(e.contains("`k`"), "{e}");
    let e = Stacking::train(&stack(5, vec![], MetaLearner::default()), &train)
        .unwrap_err()
        .to_string();
    assert!(e.contains("base"), "{e}");
    let logistic = params(&[("objective", "binary:logistic")]);
    let e = Stacking::train(
        &stack(5, vec![booster.clone()], MetaLearner::Booster(logistic.clone())),
        &train,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("meta") && e.contains("binary:logistic"), "{e}");
    let e = Stacking::train(
        &stack(5, vec![booster, BaseLearner::Booster(logistic)], MetaLearner::default()),
        &train,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("base[1]"), "{e}");
}

#[test]
fn stacking_three_diverse_learners_matches_or_beats_the_best_one() {
    let train = binary(51, 4000);
    let test = binary(52, 8000);
    let cfg = r#"
        objective = "binary:logistic"
        k = 5
        seed = 3
        nthread = 2
        eval_metric = ["logloss", "auc"]

        [[base]]
        kind = "booster"
        objective = "binary:logistic"
        num_round = 60
        max_depth = 3
        eta = 0.1

        [[base]]
        kind = "booster"
        objective = "binary:logistic"
        num_round = 1
        eta = 1
        max_depth = 10
        num_parallel_tree = 30
        subsample = 0.63
        colsample_bynode = 0.6
        min_child_weight = 2

        [[base]]
        kind = "linear"
        lambda = 1.0

        [meta]
        kind = "linear"
        lambda = 0.1
    "#;
    let settings: StackingParams = toml::from_str(cfg).unwrap();
    assert_eq!(settings.base.len(), 3);
    let stack = Stacking::train(&settings, &train).unwrap();
    let metrics = ["logloss".parse().unwrap(), "auc".parse().unwrap()];
    let stacked = stack.evaluate(&test, &metrics).unwrap();
    let mut best_logloss = f64::INFINITY;
    for (i, b) in settings.base.iter().enumerate() {
        // Each base learner alone, refit on all rows — what the stack's members are.
        let alone = match b {
            BaseLearner::Booster(p) => Booster::train(p, &train, &[])
                .unwrap()
                .evaluate(&test, &metrics)
                .unwrap(),
            BaseLearner::Linear(p) => {
                let m = LinearModel::fit(p, LinearTask::Logistic, 0, &train).unwrap();
                let s = m.predict_scores(&test).unwrap();
                let ctx = MetricContext::default();
                metrics
                    .iter()
                    .map(|m| (m.to_string(), m.evaluate(&s, 1, test.labels(), None, &ctx).unwrap()))
                    .collect()
            }
            BaseLearner::Bagging { .. } => unreachable!(),
        };
        println!("base[{i}] held-out {alone:?}; out-of-fold {:?}", stack.fold_scores()[i]);
        best_logloss = best_logloss.min(alone[0].1);
    }
    println!("stacking held-out {stacked:?}; best base logloss {best_logloss:.4}");
    // At least as good as the best base learner, with 1% slack for sampling noise.
    assert!(
        stacked[0].1 <= best_logloss * 1.01,
        "{} vs {best_logloss}",
        stacked[0].1
    );

    // Deterministic and saved/loaded identically.
    let again = Stacking::train(&settings, &train).unwrap();
    let want = stack.predict(&test).unwrap();
    assert_eq!(again.predict(&test).unwrap(), want);
    let loaded = Stacking::from_json_str(&stack.to_json_string().unwrap()).unwrap();
    assert_eq!(loaded.predict(&test).unwrap(), want);
    assert_eq!(loaded.fold_scores(), stack.fold_scores());
}

#[test]
fn stacking_regression_with_passthrough_bagging_and_a_booster_meta() {
    let train = noisy(61, 1500);
    let test = noisy(62, 1500);
    let settings = StackingParams {
        k: 3,
        passthrough: true,
        nthread: 2,
        base: vec![
            BaseLearner::Booster(params(&[("num_round", "30"), ("max_depth", "3")])),
            BaseLearner::Bagging {
                bagging: BaggingParams {
                    n_estimators: 5,
                    ..Default::default()
                },
                params: deep_tree(),
            },
        ],
        meta: MetaLearner::Booster(params(&[("num_round", "20"), ("max_depth", "2"), ("eta", "0.2")])),
        ..Default::default()
    };
    let stack = Stacking::train(&settings, &train).unwrap();
    let one_thread = StackingParams {
        nthread: 1,
        ..settings.clone()
    };
    assert_eq!(
        Stacking::train(&one_thread, &train).unwrap().predict(&test).unwrap(),
        stack.predict(&test).unwrap(),
        "1 and 2 threads differ"
    );
    let e = rmse(stack.evaluate(&test, &[]).unwrap());
    // Independent references from the generator: the label noise is uniform on [-1.5, 1.5)
    // (standard deviation sqrt(3)/2 = 0.866), which no model can beat on held-out rows (5% slack
    // for 1500 rows' sampling of the noise), and a model that learned something beats predicting
    // the mean (the labels' standard deviation).
    let y = test.labels();
    let mean = y.iter().map(|v| *v as f64).sum::<f64>() / y.len() as f64;
    let sd = (y.iter().map(|v| (*v as f64 - mean).powi(2)).sum::<f64>() / y.len() as f64).sqrt();
    let noise = 3f64.sqrt() / 2.0;
    println!("regression stacking held-out rmse {e:.4}; noise floor {noise:.4}, constant predictor {sd:.4}");
    assert!(
        e > 0.95 * noise && e < sd,
        "rmse {e}: noise floor {noise}, constant {sd}"
    );
    let dir = std::env::temp_dir().join(format!("sylvan-stacking-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stack.json");
    Model::Stacking(stack).save(&path).unwrap();
    let m = Model::load(&path).unwrap();
    assert!(matches!(m, Model::Stacking(_)));
    assert_eq!(m.num_features(), 6);
    assert!((rmse(m.evaluate(&test, &[]).unwrap()) - e).abs() < 1e-12);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn stacking_and_bagging_multiclass_with_stratified_folds() {
    let three = |seed| {
        make_data(1200, 4, seed, |x, r| {
            let s = x[0] + 0.5 * x[1] + r.random_range(-0.3f32..0.3);
            if s > 0.4 {
                2.0
            } else if s > -0.4 {
                1.0
            } else {
                0.0
            }
        })
    };
    let (train, test) = (three(71), three(72));
    let softprob = params(&[
        ("objective", "multi:softprob"),
        ("num_class", "3"),
        ("num_round", "20"),
        ("max_depth", "3"),
    ]);
    let cfg = format!(
        "objective = \"multi:softmax\"\nnum_class = 3\nk = 3\neval_metric = \"merror\"\n\
         [[base]]\n{}\n[[base]]\nkind = \"linear\"\n",
        toml::to_string(&softprob).unwrap()
    );
    let settings: StackingParams = toml::from_str(&cfg).unwrap();
    let stack = Stacking::train(&settings, &train).unwrap();
    let p = stack.predict(&test).unwrap();
    assert_eq!(p.num_cols, 1);
    assert!(p.values.iter().all(|c| [0.0, 1.0, 2.0].contains(c)));
    let scores = stack.predict_scores(&test).unwrap();
    assert_eq!(scores.num_cols, 3);
    let merror = stack.evaluate(&test, &[]).unwrap()[0].1;
    println!(
        "multiclass stacking held-out merror {merror:.4}; fold scores {:?}",
        stack.fold_scores()
    );
    // The reference: the Bayes classifier of the generator (class from x0 + 0.5 x1 plus uniform
    // noise on [-0.3, 0.3), x1 integrated out where it is missing) on the same rows. The stack may
    // not beat it by more than sampling noise (1200 rows: standard error of an error rate ~1.1
    // points, so 3 points), and must come within 5 points of it (that, plus the model error of
    // 1200 training rows).
    let bayes = bayes_error_of_three_classes(&test);
    println!("Bayes classifier's error on the same rows {bayes:.4}");
    assert!(
        merror > bayes - 0.03 && merror < bayes + 0.05,
        "merror {merror} vs the Bayes error {bayes}"
    );
    let bag = Bagging::train(
        &BaggingParams {
            n_estimators: 4,
            ..Default::default()
        },
        &softprob,
        &train,
    )
    .unwrap();
    let probs = bag.predict(&test).unwrap();
    assert_eq!(probs.num_cols, 3);
    assert!(probs
        .values
        .chunks_exact(3)
        .all(|r| (r.iter().sum::<f32>() - 1.0).abs() < 1e-4));
}

/// The error rate on `test` of the Bayes classifier of `stacking_and_bagging_multiclass_…`'s
/// generator: class 2 when `s > 0.4`, 1 when `s > -0.4`, else 0, for `s = x0 + 0.5 x1 + u`, `u`
/// uniform on [-0.3, 0.3); a missing x1 (uniform on [-1, 1)) is integrated out on a 400-point grid.
fn bayes_error_of_three_classes(test: &Dataset) -> f64 {
    let above = |t: f64, s0: f64| ((0.3 - (t - s0)) / 0.6).clamp(0.0, 1.0);
    let probabilities = |s0: f64| {
        let (p2, p12) = (above(0.4, s0), above(-0.4, s0));
        [1.0 - p12, p12 - p2, p2]
    };
    let mut wrong = 0;
    for i in 0..test.num_rows() {
        let (x0, x1) = (test.column(0).get(i) as f64, test.column(1).get(i) as f64);
        let p = if x1.is_nan() {
            let mut p = [0.0; 3];
            for g in 0..400 {
                let q = probabilities(x0 + 0.5 * (-1.0 + (g as f64 + 0.5) / 200.0));
                for c in 0..3 {
                    p[c] += q[c] / 400.0;
                }
            }
            p
        } else {
            probabilities(x0 + 0.5 * x1)
        };
        let best = (0..3).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap();
        wrong += (best as f32 != test.labels()[i]) as usize;
    }
    wrong as f64 / test.num_rows() as f64
}
