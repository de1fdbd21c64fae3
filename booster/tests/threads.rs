//! A `Booster` shared by many threads: `Send + Sync`, and eight threads predicting on one booster
//! for a few seconds (batch, single-row and SHAP), while another thread trains a different model,
//! get the single-thread results bit for bit.

use std::sync::Arc;
use std::time::{Duration, Instant};

mod common;

use sylvan_booster::*;

fn data(n: usize, seed: u64) -> Dataset {
    common::make_data_with_missing(n, 8, seed, 0.05, |x, _| (x[0] + x[1] > 0.0) as u8 as f32)
}

/// SHAP values of every row of `test`.
fn contributions(booster: &Booster, test: &Dataset) -> Vec<f32> {
    let options = PredictOptions {
        output: PredictOutput::Contributions,
        ..Default::default()
    };
    booster.predict(test, options).unwrap().values
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    p.apply(pairs.iter().map(|(k, v)| (*k, *v))).unwrap();
    p
}

#[test]
fn a_booster_is_send_and_sync() {
    fn shared<T: Send + Sync>() {}
    shared::<Booster>();
    shared::<Dataset>();
}

#[test]
fn eight_threads_predicting_on_one_booster_get_the_single_thread_results() {
    let train = data(4000, 1);
    let test = Arc::new(data(700, 2));
    let booster = Arc::new(
        Booster::train(
            &params(&[
                ("objective", "binary:logistic"),
                ("num_round", "30"),
                ("max_depth", "6"),
            ]),
            &train,
            &[],
        )
        .unwrap(),
    );
    let values = booster.predict(&test, PredictOptions::default()).unwrap().values;
    let shap = contributions(&booster, &test);
    let rows: Vec<Vec<f32>> = (0..test.num_rows())
        .map(|i| {
            let mut row = Vec::new();
            test.rows_into(i, i + 1, &mut row);
            row
        })
        .collect();
    let expected = Arc::new((values, shap));
    let rows = Arc::new(rows);
    let run_for = Duration::from_secs(3);
    // Another model trains meanwhile, in its own thread pool.
    let trainer = std::thread::spawn(move || {
        let other = data(3000, 3);
        let p = params(&[("num_round", "20"), ("nthread", "2")]);
        let first = Booster::train(&p, &other, &[]).unwrap().to_bytes().unwrap();
        let start = Instant::now();
        let mut trained = 1;
        while start.elapsed() < run_for {
            assert!(Booster::train(&p, &other, &[]).unwrap().to_bytes().unwrap() == first);
            trained += 1;
        }
        trained
    });
    let predictors: Vec<_> = (0..8)
        .map(|t| {
            let (booster, test, expected, rows) = (booster.clone(), test.clone(), expected.clone(), rows.clone());
            std::thread::spawn(move || {
                let start = Instant::now();
                let mut calls = 0usize;
                let mut out = [0f32; 1];
                while start.elapsed() < run_for {
                    match (t + calls) % 3 {
                        0 => assert!(booster.predict(&test, PredictOptions::default()).unwrap().values == expected.0),
                        1 => assert!(contributions(&booster, &test) == expected.1),
                        _ => {
                            for (i, row) in rows.iter().enumerate() {
                                booster.predict_row(row, &mut out).unwrap();
                                assert_eq!(out[0].to_bits(), expected.0[i].to_bits(), "thread {t} row {i}");
                            }
                        }
                    }
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    let calls: usize = predictors.into_iter().map(|h| h.join().unwrap()).sum();
    let trained = trainer.join().unwrap();
    assert!(calls >= 8 && trained >= 1, "{calls} predictions, {trained} trainings");
}
