//! Distributed training gives the one-process model bit for bit: ranks run as threads over a
//! `MemoryCollective`, each training on a contiguous shard of the rows, and the model bytes and
//! predictions are compared with one process trained on all rows. Tolerance: none.
//!
//! The matrix: 2, 3 (uneven shards) and 4 ranks x hist and approx x binary:logistic,
//! reg:squarederror and multi:softprob, with missing values, a categorical feature, weights, row
//! and column subsampling, lossguide growth and DART; data over 200,000 rows exercises the cut
//! sample; evaluation sets sharded and whole with early stopping. Plus the refusals and faults.

mod common;

use std::time::Duration;

use common::{category_effect, columns_with_missing, signal};
use rand::RngExt;
use sylvan_booster::*;

/// `n` rows: 5 numeric features (feature 1 with 10 % missing), then a categorical one of 12
/// categories; weights in [0.5, 1.5).
fn data(n: usize, objective: &str, seed: u64) -> Dataset {
    let (mut cols, y) = columns_with_missing(
        n,
        6,
        seed,
        0.1,
        |r| r.random_range(-1.0f32..1.0),
        |x, r| {
            let code = ((x[5] + 1.0) * 6.0).floor().min(11.0);
            let t = signal(x) + category_effect(0, code as u32) + r.random_range(-1.0f32..1.0);
            match objective {
                "binary:logistic" => (t > 0.0) as u8 as f32,
                "multi:softprob" => ((t + 6.0) / 4.0).clamp(0.0, 2.0).floor(),
                _ => t,
            }
        },
    );
    cols[5] = cols[5].iter().map(|x| ((x + 1.0) * 6.0).floor().min(11.0)).collect();
    let w: Vec<f32> = (0..n).map(|i| 0.5 + (i * 7919 % 1000) as f32 / 1000.0).collect();
    Dataset::from_columns(cols)
        .unwrap()
        .with_labels(y)
        .unwrap()
        .with_weights(w)
        .unwrap()
        .with_categorical(&[5])
        .unwrap()
}

/// Rows `range` of `d`.
fn rows_of(d: &Dataset, range: std::ops::Range<usize>) -> Dataset {
    let cols: Vec<Vec<f32>> = d
        .columns()
        .iter()
        .map(|c| range.clone().map(|r| c.get(r)).collect())
        .collect();
    let mut out = Dataset::from_columns(cols)
        .unwrap()
        .with_labels(d.labels()[range.clone()].to_vec())
        .unwrap();
    if let Some(w) = d.weights() {
        out = out.with_weights(w[range].to_vec()).unwrap();
    }
    out.with_feature_types(d.feature_types()).unwrap()
}

/// Contiguous shards of `d` for `world` ranks (uneven when `world` does not divide the rows).
fn shards(d: &Dataset, world: usize) -> Vec<Dataset> {
    let n = d.num_rows();
    (0..world)
        .map(|r| rows_of(d, r * n / world..(r + 1) * n / world))
        .collect()
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    for (k, v) in [("max_depth", "4"), ("num_round", "4"), ("max_bin", "64"), ("seed", "5")]
        .iter()
        .chain(pairs)
    {
        p.set(k, v).unwrap();
    }
    p
}

/// Trains on `world` ranks (threads) and returns every rank's result.
fn train_ranks(
    p: &Params,
    train: &[Dataset],
    evals: &[Vec<(String, Dataset)>],
    sharded_evals: bool,
) -> Vec<Result<Booster>> {
    let group = MemoryCollective::group(train.len(), Duration::from_secs(60));
    std::thread::scope(|s| {
        let handles: Vec<_> = group
            .iter()
            .enumerate()
            .map(|(rank, comm)| {
                s.spawn(move || {
                    let ev: Vec<(&str, &Dataset)> = evals
                        .get(rank)
                        .map(|e| e.iter().map(|(n, d)| (n.as_str(), d)).collect())
                        .unwrap_or_default();
                    let options = TrainOptions {
                        distributed: Some(Distributed {
                            collective: comm,
                            sharded_evals,
                        }),
                        ..Default::default()
                    };
                    Booster::train_with(p, &train[rank], &ev, options)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

/// Trains on one process and on `world` ranks; every rank's model has the one-process bytes.
fn assert_same_model(p: &Params, d: &Dataset, world: usize) {
    let one = Booster::train(p, d, &[]).unwrap();
    let parts = shards(d, world);
    for (rank, b) in train_ranks(p, &parts, &[], false).into_iter().enumerate() {
        let b = b.unwrap_or_else(|e| panic!("rank {rank} of {world}: {e}"));
        assert!(
            b.to_bytes().unwrap() == one.to_bytes().unwrap(),
            "rank {rank} of {world}: the model differs from one process's ({p:?})"
        );
    }
    let pred = one.predict(d, PredictOptions::default()).unwrap();
    let n = d.num_rows();
    let b0 = train_ranks(p, &parts, &[], false).remove(0).unwrap();
    assert_eq!(pred.values, b0.predict(d, PredictOptions::default()).unwrap().values);
    assert_eq!(n, d.num_rows());
}

#[test]
fn hist_models_match_one_process_for_every_objective_and_rank_count() {
    for (objective, extra) in [
        (
            "binary:logistic",
            vec![("subsample", "0.8"), ("colsample_bynode", "0.7")],
        ),
        (
            "reg:squarederror",
            vec![("grow_policy", "lossguide"), ("max_leaves", "11")],
        ),
        ("multi:softprob", vec![("num_class", "3"), ("colsample_bytree", "0.8")]),
    ] {
        let d = data(6_001, objective, 1);
        let mut pairs = vec![("objective", objective), ("tree_method", "hist")];
        pairs.extend(extra);
        let p = params(&pairs);
        for world in [2, 3, 4] {
            assert_same_model(&p, &d, world);
        }
    }
}

#[test]
fn approx_models_match_one_process() {
    for objective in ["binary:logistic", "reg:squarederror"] {
        let d = data(5_003, objective, 2);
        let p = params(&[
            ("objective", objective),
            ("tree_method", "approx"),
            ("subsample", "0.9"),
        ]);
        for world in [2, 3] {
            assert_same_model(&p, &d, world);
        }
    }
}

#[test]
fn dart_and_parallel_trees_match_one_process() {
    let d = data(4_000, "binary:logistic", 3);
    let p = params(&[
        ("objective", "binary:logistic"),
        ("booster", "dart"),
        ("rate_drop", "0.3"),
        ("num_round", "5"),
    ]);
    assert_same_model(&p, &d, 3);
    let p = params(&[
        ("objective", "reg:squarederror"),
        ("num_parallel_tree", "3"),
        ("subsample", "0.7"),
    ]);
    assert_same_model(&p, &data(4_000, "reg:squarederror", 3), 2);
}

#[test]
fn cut_sampling_over_200k_rows_matches_one_process() {
    let d = data(210_017, "binary:logistic", 4);
    for method in ["hist", "approx"] {
        let p = params(&[
            ("objective", "binary:logistic"),
            ("tree_method", method),
            ("num_round", "2"),
            ("max_depth", "3"),
        ]);
        assert_same_model(&p, &d, 3);
    }
}

#[test]
fn sharded_and_whole_evaluation_sets_give_the_one_process_metrics_and_early_stop() {
    let d = data(6_000, "binary:logistic", 6);
    let v = data(2_001, "binary:logistic", 7);
    let p = params(&[
        ("objective", "binary:logistic"),
        ("eval_metric", "auc"),
        ("num_round", "30"),
        ("eta", "0.5"),
        ("max_depth", "6"),
        ("early_stopping_rounds", "2"),
    ]);
    let one = Booster::train(&p, &d, &[("valid", &v)]).unwrap();
    let world = 3;
    let train = shards(&d, world);
    let sharded: Vec<Vec<(String, Dataset)>> = shards(&v, world)
        .into_iter()
        .map(|s| vec![("valid".into(), s)])
        .collect();
    let whole: Vec<Vec<(String, Dataset)>> = (0..world).map(|_| vec![("valid".into(), v.clone())]).collect();
    for (evals, is_sharded) in [(sharded, true), (whole, false)] {
        for b in train_ranks(&p, &train, &evals, is_sharded) {
            let b = b.unwrap();
            assert_eq!(
                b.to_bytes().unwrap(),
                one.to_bytes().unwrap(),
                "sharded evals: {is_sharded}"
            );
            assert_eq!(b.eval_history(), one.eval_history());
        }
    }
    assert!(one.num_rounds() < 30, "early stopping did not trigger");
}

#[test]
fn unsupported_settings_are_refused_on_every_rank() {
    let d = data(1_000, "reg:squarederror", 8);
    for (key, value) in [
        ("tree_method", "exact"),
        ("data_sample_strategy", "goss"),
        ("boosting", "gradient"),
        ("use_quantized_grad", "false"),
        ("objective", "reg:absoluteerror"),
    ] {
        let p = params(&[(key, value)]);
        for r in train_ranks(&p, &shards(&d, 2), &[], false) {
            let e = r.unwrap_err().to_string();
            assert!(e.contains(key) && e.contains("distributed"), "{key}: {e}");
        }
    }
}

#[test]
fn ranks_with_other_settings_or_a_bad_shard_fail_every_rank() {
    let d = data(2_000, "binary:logistic", 9);
    let mut parts = shards(&d, 3);
    // Rank 2 holds a label the objective refuses: every rank fails, none hangs.
    let mut labels = parts[2].labels().to_vec();
    labels[5] = 3.0;
    parts[2] = parts[2].clone().with_labels(labels).unwrap();
    let p = params(&[("objective", "binary:logistic")]);
    let results = train_ranks(&p, &parts, &[], false);
    assert!(results[2].as_ref().unwrap_err().to_string().contains("label"));
    for r in &results[..2] {
        let e = r.as_ref().unwrap_err().to_string();
        assert!(e.contains("rank 2 failed"), "{e}");
    }
    // Different parameters on one rank are named.
    let group = MemoryCollective::group(2, Duration::from_secs(30));
    let parts = shards(&d, 2);
    let results: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = group
            .iter()
            .enumerate()
            .map(|(rank, comm)| {
                let parts = &parts;
                s.spawn(move || {
                    let eta = if rank == 0 { "0.3" } else { "0.2" };
                    let p = params(&[("objective", "binary:logistic"), ("eta", eta)]);
                    let options = TrainOptions {
                        distributed: Some(Distributed {
                            collective: comm,
                            sharded_evals: false,
                        }),
                        ..Default::default()
                    };
                    Booster::train_with(&p, &parts[rank], &[], options)
                        .unwrap_err()
                        .to_string()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        results.iter().any(|e| e.contains("rank 1 trains with other settings")),
        "{results:?}"
    );
}
