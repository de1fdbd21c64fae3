//! Checkpoints (`TrainOptions::checkpoints`) and resuming (`TrainOptions::resume`): a run resumed
//! from any of its checkpoints ends with the uninterrupted run's model, bit for bit — sampling
//! streams, DART, early stopping and the evaluation history included.

mod common;

use rand::RngExt;
use sylvan_booster::*;

/// `n` rows of 6 features (10 % of feature 1 missing) with labels for `classes` classes (0:
/// regression).
fn data(n: usize, seed: u64, classes: usize) -> Dataset {
    common::make_data_with_missing(n, 6, seed, 0.1, |x, rng| {
        let s = common::signal(x) + rng.random::<f32>() * 0.8;
        match classes {
            0 => s,
            k => ((s.abs() * 1.3) as usize % k) as f32,
        }
    })
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    p.apply(pairs.iter().map(|(k, v)| (*k, *v))).unwrap();
    p
}

fn scratch_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sylvan-ckpt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn resuming_from_any_checkpoint_gives_the_uninterrupted_model() {
    // (name, classes, parameters)
    type Case<'a> = (&'a str, usize, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("plain", 0, vec![]),
        (
            "sampled",
            2,
            vec![
                ("objective", "binary:logistic"),
                ("subsample", "0.7"),
                ("colsample_bytree", "0.6"),
                ("seed", "4"),
            ],
        ),
        (
            "multiclass",
            3,
            vec![
                ("objective", "multi:softprob"),
                ("num_class", "3"),
                ("colsample_bynode", "0.5"),
            ],
        ),
        (
            "dart",
            0,
            vec![("booster", "dart"), ("rate_drop", "0.3"), ("skip_drop", "0.2")],
        ),
        (
            "lossguide",
            2,
            vec![
                ("objective", "binary:logistic"),
                ("grow_policy", "lossguide"),
                ("max_leaves", "12"),
                ("max_depth", "0"),
                ("data_sample_strategy", "goss"),
            ],
        ),
        (
            "early_stopping",
            2,
            vec![
                ("objective", "binary:logistic"),
                ("early_stopping_rounds", "3"),
                ("eta", "0.8"),
            ],
        ),
        ("exact", 0, vec![("tree_method", "exact"), ("subsample", "0.8")]),
    ];
    for (name, classes, extra) in cases {
        let train = data(1500, 7, classes);
        let valid = data(500, 8, classes);
        let mut pairs = vec![("num_round", "12"), ("max_depth", "4")];
        pairs.extend(extra.iter().copied());
        let p = params(&pairs);
        let dir = scratch_dir(name);
        // Without evaluation sets a model saves no history at all: resuming must still end
        // with the same (empty) one.
        let evals: Vec<(&str, &Dataset)> = match name {
            "plain" => Vec::new(),
            _ => vec![("train", &train), ("valid", &valid)],
        };
        let whole = Booster::train_with(
            &p,
            &train,
            &evals,
            TrainOptions {
                checkpoints: Some(Checkpoints::new(&dir, 1, 100)),
                ..Default::default()
            },
        )
        .unwrap();
        let expected = whole.to_bytes().unwrap();
        let rounds = whole.num_rounds();
        if name == "early_stopping" {
            assert!(rounds < 12, "early stopping should stop this run ({rounds} rounds)");
        }
        for cut in 1..=rounds {
            let checkpoint = Booster::load(Checkpoints::new(&dir, 1, 100).path_for(cut)).unwrap();
            assert_eq!(checkpoint.num_rounds(), cut);
            let resumed = Booster::train_with(
                &p,
                &train,
                &evals,
                TrainOptions {
                    init_model: Some(&checkpoint),
                    resume: true,
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(
                resumed.to_bytes().unwrap(),
                expected,
                "{name}: resumed after {cut} rounds"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn checkpoints_keep_the_newest_and_resuming_needs_a_model() {
    let train = data(300, 1, 0);
    let dir = scratch_dir("keep");
    let p = params(&[("num_round", "7")]);
    Booster::train_with(
        &p,
        &train,
        &[],
        TrainOptions {
            checkpoints: Some(Checkpoints::new(&dir, 2, 2)),
            ..Default::default()
        },
    )
    .unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["checkpoint-00000004.sylvan", "checkpoint-00000006.sylvan"]);
    assert_eq!(
        latest_checkpoint(&dir).unwrap(),
        Some(dir.join("checkpoint-00000006.sylvan"))
    );
    let e = Booster::train_with(
        &p,
        &train,
        &[],
        TrainOptions {
            resume: true,
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("resume"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn resuming_a_shorter_run_with_more_rounds_gives_the_longer_uninterrupted_model() {
    let train = data(1000, 3, 2);
    let evals = [("train", &train)];
    let p = |rounds: &str| {
        params(&[
            ("objective", "binary:logistic"),
            ("num_round", rounds),
            ("subsample", "0.8"),
        ])
    };
    let whole = Booster::train(&p("10"), &train, &evals).unwrap();
    let dir = scratch_dir("longer");
    let short = Booster::train_with(
        &p("4"),
        &train,
        &evals,
        TrainOptions {
            checkpoints: Some(Checkpoints::new(&dir, 2, 2)),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(short.num_rounds(), 4);
    let checkpoint = Booster::load(latest_checkpoint(&dir).unwrap().unwrap()).unwrap();
    let resumed = Booster::train_with(
        &p("10"),
        &train,
        &evals,
        TrainOptions {
            init_model: Some(&checkpoint),
            resume: true,
            ..Default::default()
        },
    )
    .unwrap();
    // The evaluation history says the run was asked for 10 rounds, as the uninterrupted one does.
    assert_eq!(resumed.to_json_string().unwrap(), whole.to_json_string().unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}
