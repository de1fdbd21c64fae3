//! A data set read in chunks and binned as it is read (`ChunkedCuts`, `ChunkedMatrix`,
//! `Dataset::from_binned`) trains the model the in-memory data set trains, bit for bit (row
//! sampling, GOSS, DART, continuing and evaluation sets binned with the same cuts included), and
//! predicts what the values predict; what it cannot do (no float values) is refused, naming the
//! parameter.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sylvan_booster::backend::{ChunkedCuts, ChunkedMatrix};
use sylvan_booster::*;

/// `n` rows of `nf` features (ties, 10 % missing; feature 0 categorical codes when asked) in
/// chunks of `chunk` rows, and labels for `objective`.
fn chunks(
    n: usize,
    nf: usize,
    chunk: usize,
    seed: u64,
    categorical: bool,
    classes: usize,
) -> (Vec<Vec<Vec<f32>>>, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut columns: Vec<Vec<f32>> = (0..nf)
        .map(|_| {
            (0..n)
                .map(|_| {
                    if rng.random::<f32>() < 0.1 {
                        f32::NAN
                    } else {
                        (rng.random::<f32>() * 40.0).round() / 4.0
                    }
                })
                .collect()
        })
        .collect();
    if categorical {
        columns[0] = (0..n).map(|_| (rng.random::<u32>() % 12) as f32).collect();
    }
    let labels: Vec<f32> = (0..n)
        .map(|i| {
            let s = columns[1][i].max(0.0) + if categorical { columns[0][i] % 3.0 } else { 0.0 } + rng.random::<f32>();
            if classes == 0 {
                s
            } else {
                ((s / 4.0) as usize % classes) as f32
            }
        })
        .collect();
    let parts = (0..n.div_ceil(chunk))
        .map(|c| {
            columns
                .iter()
                .map(|col| col[c * chunk..((c + 1) * chunk).min(n)].to_vec())
                .collect()
        })
        .collect();
    (parts, labels)
}

fn dataset(columns: Vec<Vec<f32>>, categorical: bool) -> Dataset {
    let d = Dataset::from_columns(columns).unwrap();
    if categorical {
        d.with_categorical(&[0]).unwrap()
    } else {
        d
    }
}

/// The in-memory data set and the one binned chunk by chunk.
fn both(
    parts: &[Vec<Vec<f32>>],
    labels: &[f32],
    categorical: bool,
    weights: Option<&[f32]>,
    max_bin: usize,
) -> (Dataset, Dataset) {
    let nf = parts[0].len();
    let whole: Vec<Vec<f32>> = (0..nf)
        .map(|j| parts.iter().flat_map(|p| p[j].iter().copied()).collect())
        .collect();
    let n = labels.len();
    let chunk_sets: Vec<Dataset> = {
        let mut at = 0;
        parts
            .iter()
            .map(|p| {
                let rows = p[0].len();
                let mut d = dataset(p.clone(), categorical);
                if let Some(w) = weights {
                    d = d.with_weights(w[at..at + rows].to_vec()).unwrap();
                }
                at += rows;
                d
            })
            .collect()
    };
    let mut cuts = ChunkedCuts::new(n, (0..nf).map(|j| categorical && j == 0).collect(), max_bin);
    for c in &chunk_sets {
        cuts.add(c).unwrap();
    }
    let mapper = cuts.finish().unwrap();
    let mut matrix = ChunkedMatrix::new(mapper, n).unwrap();
    for c in &chunk_sets {
        matrix.add(c).unwrap();
    }
    let (mapper, matrix) = matrix.finish().unwrap();
    let mut binned = Dataset::from_binned(mapper, matrix, max_bin)
        .unwrap()
        .with_labels(labels.to_vec())
        .unwrap();
    let mut memory = dataset(whole, categorical).with_labels(labels.to_vec()).unwrap();
    if let Some(w) = weights {
        binned = binned.with_weights(w.to_vec()).unwrap();
        memory = memory.with_weights(w.to_vec()).unwrap();
    }
    (memory, binned)
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    p.apply(pairs.iter().map(|(k, v)| (*k, *v))).unwrap();
    p
}

#[test]
fn a_data_set_binned_in_chunks_trains_the_in_memory_model() {
    let w: Vec<f32> = (0..3000).map(|i| 0.5 + (i % 7) as f32 / 4.0).collect();
    for (seed, chunk, categorical, classes, weighted, extra) in [
        (1, 700, false, 0, false, vec![("max_depth", "5")]),
        (
            2,
            1,
            false,
            2,
            true,
            vec![
                ("objective", "binary:logistic"),
                ("grow_policy", "lossguide"),
                ("max_leaves", "20"),
                ("max_depth", "0"),
            ],
        ),
        (
            3,
            999,
            true,
            3,
            false,
            vec![
                ("objective", "multi:softprob"),
                ("num_class", "3"),
                ("max_cat_to_onehot", "1"),
            ],
        ),
        (
            4,
            1500,
            false,
            0,
            true,
            vec![
                ("monotone_constraints", "(1,0,0,0)"),
                ("colsample_bytree", "0.5"),
                ("max_bin", "32"),
            ],
        ),
    ] {
        let max_bin = extra
            .iter()
            .find(|(k, _)| *k == "max_bin")
            .map_or(256, |(_, v)| v.parse().unwrap());
        let (parts, labels) = chunks(3000, 4, chunk, seed, categorical, classes);
        let (memory, binned) = both(&parts, &labels, categorical, weighted.then_some(&w[..]), max_bin);
        let mut pairs = vec![("num_round", "6"), ("eta", "0.3")];
        pairs.extend(extra.iter().copied());
        let p = params(&pairs);
        let a = Booster::train(&p, &memory, &[("train", &memory)]).unwrap();
        let b = Booster::train(&p, &binned, &[("train", &binned)]).unwrap();
        assert_eq!(a.to_json_string().unwrap(), b.to_json_string().unwrap(), "seed {seed}");
        for output in [
            PredictOutput::Value,
            PredictOutput::LeafIndex,
            PredictOutput::Contributions,
        ] {
            let options = PredictOptions {
                output,
                ..Default::default()
            };
            let on_values = a.predict(&memory, options).unwrap();
            let on_bins = b.predict(&binned, options).unwrap();
            assert_eq!(on_values.values, on_bins.values, "seed {seed} {output:?}");
        }
    }
}

/// The rows of `parts` quantized with `mapper` (the cuts of another data set), with labels.
fn binned_with(mapper: &backend::BinMapper, parts: &[Vec<Vec<f32>>], labels: &[f32], max_bin: usize) -> Dataset {
    let mut matrix = ChunkedMatrix::new(mapper.clone(), labels.len()).unwrap();
    for p in parts {
        matrix.add(&Dataset::from_columns(p.clone()).unwrap()).unwrap();
    }
    let (mapper, matrix) = matrix.finish().unwrap();
    Dataset::from_binned(mapper, matrix, max_bin)
        .unwrap()
        .with_labels(labels.to_vec())
        .unwrap()
}

#[test]
fn row_sampling_dart_continuing_and_binned_evaluation_sets_walk_the_bins_exactly() {
    let (parts, labels) = chunks(2500, 5, 600, 11, false, 2);
    let (memory, binned) = both(&parts, &labels, false, None, 64);
    let (valid_parts, valid_labels) = chunks(900, 5, 250, 12, false, 2);
    let valid_memory = dataset(
        (0..5)
            .map(|j| valid_parts.iter().flat_map(|p| p[j].iter().copied()).collect())
            .collect(),
        false,
    )
    .with_labels(valid_labels.clone())
    .unwrap();
    let mapper = backend::BinMapper::fit(&memory, 64);
    let valid_binned = binned_with(&mapper, &valid_parts, &valid_labels, 64);
    let base = [
        ("objective", "binary:logistic"),
        ("num_round", "8"),
        ("max_bin", "64"),
        ("max_depth", "4"),
        ("eta", "0.3"),
    ];
    for extra in [
        vec![("subsample", "0.6"), ("seed", "3")],
        vec![
            ("data_sample_strategy", "goss"),
            ("top_rate", "0.3"),
            ("other_rate", "0.2"),
        ],
        vec![("booster", "dart"), ("rate_drop", "0.3"), ("skip_drop", "0.2")],
        vec![
            ("subsample", "0.8"),
            ("grow_policy", "lossguide"),
            ("max_leaves", "9"),
            ("max_depth", "0"),
        ],
    ] {
        let mut pairs = base.to_vec();
        pairs.extend(extra.iter().copied());
        let p = params(&pairs);
        let a = Booster::train(&p, &memory, &[("train", &memory), ("valid", &valid_memory)]).unwrap();
        let b = Booster::train(&p, &binned, &[("train", &binned), ("valid", &valid_binned)]).unwrap();
        assert_eq!(a.to_json_string().unwrap(), b.to_json_string().unwrap(), "{extra:?}");
        assert_eq!(a.eval_history(), b.eval_history(), "{extra:?}");
        let more = |data: &Dataset, init: &Booster| {
            Booster::train_with(
                &p,
                data,
                &[],
                TrainOptions {
                    init_model: Some(init),
                    ..Default::default()
                },
            )
            .unwrap()
            .to_json_string()
            .unwrap()
        };
        assert_eq!(more(&memory, &a), more(&binned, &a), "continuing {extra:?}");
    }
}

#[test]
fn what_a_binned_data_set_cannot_do_is_refused_by_name() {
    let (parts, labels) = chunks(500, 3, 100, 7, false, 0);
    let (memory, binned) = both(&parts, &labels, false, None, 256);
    let base = [("num_round", "2")];
    for (k, v, name) in [
        ("tree_method", "exact", "tree_method"),
        ("max_bin", "64", "max_bin"),
        ("categorical_features", "0", "categorical_features"),
    ] {
        let mut pairs = base.to_vec();
        pairs.push((k, v));
        let e = Booster::train(&params(&pairs), &binned, &[]).unwrap_err().to_string();
        assert!(e.contains(name), "{k}: {e}");
    }
    // A model whose splits are not at the binned set's cut points (trained on other values)
    // cannot walk its bins: continuing and predicting are refused, naming the split.
    let shifted: Vec<Vec<f32>> = (0..3)
        .map(|j| parts.iter().flat_map(|p| p[j].iter().map(|x| x * 1.1 + 0.05)).collect())
        .collect();
    let other = dataset(shifted, false).with_labels(labels.clone()).unwrap();
    let foreign = Booster::train(&params(&base), &other, &[]).unwrap();
    let e = Booster::train_with(
        &params(&base),
        &binned,
        &[],
        TrainOptions {
            init_model: Some(&foreign),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("xgb_model") && e.contains("cut points"), "{e}");
    let e = foreign
        .predict(&binned, PredictOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("binned") && e.contains("cut points"), "{e}");
    // An evaluation set binned with other cuts than the training data's.
    for train in [&memory, &binned] {
        let e = Booster::train(
            &params(&base),
            train,
            &[(
                "valid",
                &binned_with(&backend::BinMapper::fit(&memory, 16), &parts, &labels, 16),
            )],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("valid") && e.contains("cut points"), "{e}");
    }
}
