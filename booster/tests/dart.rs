//! DART (`booster=dart`): training with nothing dropped is gbtree bit for bit; runs are
//! deterministic and independent of the thread count; the evaluation of the last round is the
//! metric of `predict`; tree weights travel through both model files and continued training; every
//! prediction path (batch, iteration ranges, early stopping's best iteration, single rows) adds
//! each tree times its weight.

mod common;

use common::{make_data_with_missing, signal};
use rand::RngExt;
use sylvan_booster::*;

fn regression(n: usize, seed: u64) -> Dataset {
    make_data_with_missing(n, 6, seed, 0.1, |x, r| signal(x) + r.random_range(-0.5f32..0.5))
}

fn binary(n: usize, seed: u64) -> Dataset {
    make_data_with_missing(n, 6, seed, 0.1, |x, r| {
        (signal(x) + r.random_range(-1.0f32..1.0) > 0.0) as u8 as f32
    })
}

fn multiclass(n: usize, seed: u64) -> Dataset {
    make_data_with_missing(n, 6, seed, 0.1, |x, r| {
        ((signal(x) + r.random_range(-1.0f32..1.0) + 6.0) / 4.0)
            .clamp(0.0, 2.0)
            .floor()
    })
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    for (k, v) in [
        ("max_depth", "4"),
        ("num_round", "15"),
        ("seed", "11"),
        ("max_bin", "64"),
    ]
    .iter()
    .chain(pairs)
    {
        p.set(k, v).unwrap();
    }
    p
}

fn dart(pairs: &[(&str, &str)]) -> Params {
    let mut p = params(&[("booster", "dart"), ("rate_drop", "0.3")]);
    for (k, v) in pairs {
        p.set(k, v).unwrap();
    }
    p
}

fn margins(b: &Booster, d: &Dataset) -> Vec<f32> {
    b.predict(
        d,
        PredictOptions {
            output: PredictOutput::Margin,
            ..Default::default()
        },
    )
    .unwrap()
    .values
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// The margins of every row summed by hand: base margin plus each tree's leaf value times its
/// weight (the f32 product), in tree order, over rounds `0..rounds`.
fn by_hand(b: &Booster, d: &Dataset, rounds: usize) -> Vec<f32> {
    let k = b.num_groups();
    let w = b.tree_weights().unwrap();
    let mut out = Vec::new();
    let mut row = Vec::new();
    for i in 0..d.num_rows() {
        d.rows_into(i, i + 1, &mut row);
        let mut m: Vec<f64> = b.base_margin().to_vec();
        for t in 0..rounds * b.trees_per_round() {
            m[b.tree_group(t)] += (b.trees()[t].predict_row(&row) * w[t]) as f64;
        }
        out.extend(m.iter().take(k).map(|v| *v as f32));
    }
    out
}

#[test]
fn nothing_dropped_is_gbtree_bit_for_bit() {
    for (data, extra) in [
        (regression(3000, 1), vec![("subsample", "0.8")]),
        (binary(3000, 2), vec![("objective", "binary:logistic")]),
        (
            multiclass(3000, 3),
            vec![
                ("objective", "multi:softprob"),
                ("num_class", "3"),
                ("num_parallel_tree", "2"),
            ],
        ),
    ] {
        let gbtree = Booster::train(&params(&extra), &data, &[]).unwrap();
        let mut p = params(&extra);
        p.set("booster", "dart").unwrap();
        let d = Booster::train(&p, &data, &[]).unwrap();
        assert_eq!(d.trees(), gbtree.trees());
        assert!(d.tree_weights().unwrap().iter().all(|w| *w == 1.0));
        assert_eq!(d.tree_weights().unwrap().len(), d.num_trees());
        assert_eq!(bits(&margins(&d, &data)), bits(&margins(&gbtree, &data)));
        assert!(gbtree.tree_weights().is_none());
    }
}

#[test]
fn weights_follow_the_drops_and_predictions_use_them() {
    let data = regression(2000, 4);
    let b = Booster::train(&dart(&[("one_drop", "true")]), &data, &[]).unwrap();
    let w = b.tree_weights().unwrap();
    assert_eq!(w.len(), 15);
    // Tree 0 is dropped in round 1 at the latest (one_drop), so it weighs less than 1 from then on;
    // every later tree was new in a round that dropped something: 1 / (k + eta) <= 1 / (1 + eta).
    assert!(w.iter().all(|w| *w > 0.0 && *w < 1.0), "{w:?}");
    assert!(w[1..].iter().all(|w| *w <= (1.0f64 / 1.3) as f32), "{w:?}");
    assert_eq!(bits(&margins(&b, &data)), bits(&by_hand(&b, &data, 15)));
    // Iteration ranges and single rows add the same weighted values.
    let first = b
        .predict(
            &data,
            PredictOptions {
                output: PredictOutput::Margin,
                iteration_range: Some((0, 6)),
            },
        )
        .unwrap()
        .values;
    assert_eq!(bits(&first), bits(&by_hand(&b, &data, 6)));
    let all = b.predict(&data, PredictOptions::default()).unwrap().values;
    let mut row = Vec::new();
    let mut out = [0f32];
    for i in (0..data.num_rows()).step_by(97) {
        data.rows_into(i, i + 1, &mut row);
        b.predict_row(&row, &mut out).unwrap();
        assert_eq!(out[0].to_bits(), all[i].to_bits());
    }
    // The trees themselves stay unscaled; weighted_trees scales them.
    let weighted = b.weighted_trees();
    assert_eq!(weighted[3].value[0], b.trees()[3].value[0] * w[3]);
    // Feature importance reads the trees, not the weights.
    let gain = b.feature_importance(ImportanceType::TotalGain);
    let by_trees: f64 = b.trees().iter().flat_map(|t| t.gain.iter()).map(|g| *g as f64).sum();
    assert!((gain.iter().sum::<f64>() - by_trees).abs() <= 1e-6 * by_trees);
}

#[test]
fn normalize_and_sample_types_give_their_weights() {
    let data = regression(1500, 5);
    // rate_drop=1: every earlier tree is dropped in every round, so after round r (r >= 1) the new
    // tree weighs 1 / (r + eta) (tree) or 1 / (1 + eta) (forest).
    let tree = Booster::train(&dart(&[("rate_drop", "1"), ("num_round", "4")]), &data, &[]).unwrap();
    let w = tree.tree_weights().unwrap();
    let eta = 0.3f32 as f64;
    assert_eq!(w[3], (1.0 / (3.0 + eta)) as f32);
    let forest = Booster::train(
        &dart(&[("rate_drop", "1"), ("num_round", "4"), ("normalize_type", "forest")]),
        &data,
        &[],
    )
    .unwrap();
    let w = forest.tree_weights().unwrap();
    let f = (1.0 / (1.0 + eta)) as f32;
    assert_eq!(w[3], f);
    // Tree 0 was scaled by f in each of rounds 1, 2 and 3.
    assert_eq!(w[0], f * f * f);
    // skip_drop=1 drops nothing: gbtree.
    let skipped = Booster::train(&dart(&[("skip_drop", "1"), ("num_round", "4")]), &data, &[]).unwrap();
    assert!(skipped.tree_weights().unwrap().iter().all(|w| *w == 1.0));
    let weighted = Booster::train(&dart(&[("sample_type", "weighted")]), &data, &[]).unwrap();
    assert!(weighted.tree_weights().unwrap().iter().any(|w| *w < 1.0));
}

#[test]
fn deterministic_and_independent_of_threads() {
    let cases: Vec<(Dataset, Vec<(&str, &str)>)> = vec![
        (
            regression(20_000, 6),
            vec![
                ("subsample", "0.8"),
                ("colsample_bynode", "0.7"),
                ("sample_type", "weighted"),
            ],
        ),
        (
            binary(20_000, 7),
            vec![("objective", "binary:logistic"), ("one_drop", "true")],
        ),
        (
            multiclass(20_000, 8),
            vec![
                ("objective", "multi:softprob"),
                ("num_class", "3"),
                ("num_round", "6"),
                ("normalize_type", "forest"),
            ],
        ),
    ];
    for (data, extra) in cases {
        let mut runs = Vec::new();
        for nthread in ["1", "4", "4"] {
            let mut p = dart(&extra);
            p.set("nthread", nthread).unwrap();
            let b = Booster::train(&p, &data, &[("train", &data)]).unwrap();
            runs.push((
                b.trees().to_vec(),
                bits(b.tree_weights().unwrap()),
                bits(&margins(&b, &data)),
                b.eval_history().to_vec(),
            ));
        }
        assert!(runs[0].1.iter().any(|w| *w != 1f32.to_bits()), "nothing was dropped");
        assert!(runs[1] == runs[0], "{extra:?}: 4 threads differ from 1");
        assert!(runs[2] == runs[1], "{extra:?}: two runs differ");
    }
}

#[test]
fn last_evaluation_is_the_metric_of_predict() {
    for (train, valid, extra) in [
        (regression(4000, 9), regression(1500, 10), vec![("subsample", "0.7")]),
        (
            binary(4000, 11),
            binary(1500, 12),
            vec![
                ("objective", "binary:logistic"),
                ("eval_metric", "auc"),
                ("one_drop", "true"),
            ],
        ),
        (
            multiclass(4000, 13),
            multiclass(1500, 14),
            vec![
                ("objective", "multi:softprob"),
                ("num_class", "3"),
                ("num_parallel_tree", "2"),
            ],
        ),
    ] {
        let b = Booster::train(&dart(&extra), &train, &[("train", &train), ("valid", &valid)]).unwrap();
        let last = &b.eval_history().last().unwrap().evals;
        for (name, set) in [("train", &train), ("valid", &valid)] {
            let (_, metric, reported) = last.iter().find(|(n, _, _)| n == name).unwrap();
            let m: Metric = metric.parse().unwrap();
            let got = b.evaluate(set, &[m]).unwrap()[0].1;
            assert!(
                (got - reported).abs() <= 1e-9 * reported.abs().max(1.0),
                "{extra:?} {name}: reported {reported}, predict gives {got}"
            );
        }
    }
}

#[test]
fn early_stopping_predicts_up_to_the_best_round_with_the_final_weights() {
    let (train, valid) = (regression(3000, 15), regression(300, 16));
    let b = Booster::train(
        &dart(&[("num_round", "200"), ("early_stopping_rounds", "3"), ("eta", "0.6")]),
        &train,
        &[("valid", &valid)],
    )
    .unwrap();
    let best = b.best_iteration().expect("early stopping ran");
    assert!(best + 1 < b.num_rounds());
    assert_eq!(bits(&margins(&b, &valid)), bits(&by_hand(&b, &valid, best + 1)));
}

#[test]
fn files_keep_weights_and_predictions() {
    let data = multiclass(2000, 17);
    let b = Booster::train(
        &dart(&[
            ("objective", "multi:softprob"),
            ("num_class", "3"),
            ("one_drop", "true"),
        ]),
        &data,
        &[],
    )
    .unwrap();
    let want = margins(&b, &data);
    let json = b.to_json_string().unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["version"], 3);
    assert_eq!(v["tree_weights"].as_array().unwrap().len(), b.num_trees());
    for back in [
        Booster::from_json_str(&json).unwrap(),
        Booster::from_bytes(&b.to_bytes().unwrap()).unwrap(),
    ] {
        assert_eq!(back.trees(), b.trees());
        assert_eq!(bits(back.tree_weights().unwrap()), bits(b.tree_weights().unwrap()));
        assert_eq!(bits(&margins(&back, &data)), bits(&want));
    }
    // A gbtree model is written without weights, as version 1.
    let g = Booster::train(&params(&[("num_round", "2")]), &data, &[]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&g.to_json_string().unwrap()).unwrap();
    assert_eq!(v["version"], 1);
    assert!(v.get("tree_weights").is_none());
    assert!(Booster::from_bytes(&g.to_bytes().unwrap())
        .unwrap()
        .tree_weights()
        .is_none());
}

#[test]
fn bad_weights_are_load_errors() {
    let data = regression(500, 18);
    let b = Booster::train(&dart(&[("num_round", "3")]), &data, &[]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&b.to_json_string().unwrap()).unwrap();
    for (weights, says) in [
        (serde_json::json!([1.0, 1.0]), "2 tree weights for 3 trees"),
        (serde_json::json!([1.0, 1.0, 1.0, 1.0]), "4 tree weights for 3 trees"),
        (serde_json::json!([1.0, "x", 1.0]), "tree_weights"),
    ] {
        let mut bad = v.clone();
        bad["tree_weights"] = weights;
        let e = Booster::from_json_str(&bad.to_string()).unwrap_err().to_string();
        assert!(e.contains(says) || e.contains("invalid type"), "{e}");
    }
    // Non-finite weights cannot be written as JSON numbers; the binary form can hold them.
    let mut bytes = b.to_bytes().unwrap();
    let n = bytes.len();
    // The last 4 bytes are the last weight (postcard writes f32 little-endian).
    bytes[n - 4..].copy_from_slice(&f32::NAN.to_le_bytes());
    let e = Booster::from_bytes(&bytes).unwrap_err().to_string();
    assert!(e.contains("tree weight 2 is not finite"), "{e}");
    bytes.truncate(n - 1);
    assert!(Booster::from_bytes(&bytes).is_err());
    // An importer's weights are checked the same way.
    let mut m = Booster::from_bytes(&b.to_bytes().unwrap()).unwrap();
    assert!(m.set_tree_weights(vec![1.0; 2]).is_err());
    assert!(m.set_tree_weights(vec![1.0, f32::INFINITY, 1.0]).is_err());
    m.set_tree_weights(vec![0.5; 3]).unwrap();
    assert_eq!(m.tree_weights().unwrap(), &[0.5; 3]);
}

#[test]
fn continued_training_keeps_the_weights() {
    let data = binary(3000, 19);
    let p = dart(&[
        ("objective", "binary:logistic"),
        ("num_round", "8"),
        ("one_drop", "true"),
    ]);
    let first = Booster::train(&p, &data, &[]).unwrap();
    // Continuing with gbtree keeps the weights (the new trees weigh 1) and the old trees' sum.
    let mut g = p.clone();
    g.set("booster", "gbtree").unwrap();
    let more = Booster::train_with(
        &g,
        &data,
        &[],
        TrainOptions {
            init_model: Some(&first),
            ..Default::default()
        },
    )
    .unwrap();
    let w = more.tree_weights().unwrap();
    assert_eq!(&w[..8], first.tree_weights().unwrap());
    assert!(w[8..].iter().all(|w| *w == 1.0));
    let head = more
        .predict(
            &data,
            PredictOptions {
                output: PredictOutput::Margin,
                iteration_range: Some((0, 8)),
            },
        )
        .unwrap()
        .values;
    assert_eq!(bits(&head), bits(&margins(&first, &data)));
    assert_eq!(bits(&margins(&more, &data)), bits(&by_hand(&more, &data, 16)));
    // Continuing with DART goes on dropping, the old trees too; a run in two parts is a run in one
    // up to the rounding of the margins carried over (the first part's sums are recomputed).
    let mut both = p.clone();
    both.set("num_round", "16").unwrap();
    let whole = Booster::train(&both, &data, &[]).unwrap();
    let cont = Booster::train_with(
        &p,
        &data,
        &[],
        TrainOptions {
            init_model: Some(&first),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(cont.num_trees(), 16);
    assert_eq!(cont.tree_weights().unwrap().len(), 16);
    assert_eq!(bits(&margins(&cont, &data)), bits(&by_hand(&cont, &data, 16)));
    let (a, b) = (margins(&cont, &data), margins(&whole, &data));
    let worst = a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-3, "continued vs whole run: {worst}");
}
