//! A data set read in chunks and binned as it is read (`ChunkedCuts`, `ChunkedMatrix`,
//! `Dataset::from_binned`) trains the model the in-memory data set trains, bit for bit; what it
//! cannot do (no float values) is refused, naming the parameter.

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
    let mut matrix = ChunkedMatrix::new(mapper, n);
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
        let e = b.predict(&binned, PredictOptions::default()).unwrap_err().to_string();
        assert!(e.contains("binned"), "{e}");
    }
}

#[test]
fn what_a_binned_data_set_cannot_do_is_refused_by_name() {
    let (parts, labels) = chunks(500, 3, 100, 7, false, 0);
    let (memory, binned) = both(&parts, &labels, false, None, 256);
    let base = [("num_round", "2")];
    for (k, v, name) in [
        ("tree_method", "exact", "tree_method"),
        ("subsample", "0.5", "subsample"),
        ("data_sample_strategy", "goss", "subsample"),
        ("booster", "dart", "booster"),
        ("max_bin", "64", "max_bin"),
        ("categorical_features", "0", "categorical_features"),
    ] {
        let mut pairs = base.to_vec();
        pairs.push((k, v));
        let e = Booster::train(&params(&pairs), &binned, &[]).unwrap_err().to_string();
        assert!(e.contains(name), "{k}: {e}");
    }
    let init = Booster::train(&params(&base), &memory, &[]).unwrap();
    let e = Booster::train_with(
        &params(&base),
        &binned,
        &[],
        TrainOptions {
            init_model: Some(&init),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("continue"), "{e}");
    let e = Booster::train(&params(&base), &memory, &[("valid", &binned)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("valid") && e.contains("binned"), "{e}");
    let e = init
        .predict(&binned, PredictOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("binned"), "{e}");
}
