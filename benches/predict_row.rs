//! Single-row prediction latency through the Rust API (criterion).
//!
//! `cargo bench --bench predict_row` trains 100 trees of depth 8 (binary:logistic, eta 0.1,
//! max_bin 255) on 50,000 HIGGS-shaped rows, then measures `Booster::predict_row` on one row at a
//! time, cycling through 1,000 held-out rows so that successive calls walk different paths. The
//! goal of issue 7 is a median under 2 microseconds. Also measured: the same row through
//! `Booster::predict` on a one-row `Dataset` (what a caller without `predict_row` pays).
//!
//! Run without `--bench` (as `cargo test --bench predict_row` does) criterion runs every benchmark
//! once, on a model of 5 trees: a smoke test.

#[path = "../tests/common/mod.rs"]
mod common;

use std::cell::Cell;

use criterion::{criterion_group, criterion_main, Criterion};
use sylvan::{Booster, Dataset, PredictOptions};

fn bench_predict_row(c: &mut Criterion) {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let (train_rows, rounds) = if bench_mode { (50_000, 100) } else { (2_000, 5) };
    let (train, test) = common::higgs_like(train_rows + 1_000, 7).split_at(train_rows);
    let params = common::sylvan_params(&[
        ("objective", "binary:logistic"),
        ("num_round", &rounds.to_string()),
        ("eta", "0.1"),
        ("max_depth", "8"),
        ("max_bin", "255"),
        ("nthread", "2"),
    ]);
    let data = Dataset::from_columns(train.columns.clone())
        .and_then(|d| d.with_labels(train.labels.clone()))
        .expect("valid training data");
    let booster = Booster::train(&params, &data, &[]).expect("Sylvan trains");
    let nf = test.columns.len();
    let rows: Vec<Vec<f32>> = (0..test.labels.len())
        .map(|i| test.columns.iter().map(|c| c[i]).collect())
        .collect();
    // The same values as batch prediction.
    let batch = booster
        .predict(
            &Dataset::from_columns(test.columns.clone()).expect("test data"),
            PredictOptions::default(),
        )
        .expect("predicts");
    let mut out = [0f32; 1];
    for (i, row) in rows.iter().enumerate().take(50) {
        booster.predict_row(row, &mut out).expect("predicts a row");
        assert_eq!(out[0], batch.values[i], "row {i}: predict_row differs from predict");
    }
    let depth = booster.trees().iter().map(|t| t.depth()).max().unwrap_or(0);
    println!(
        "predict_row: {} trees (max depth {depth}), {nf} features, cycling through {} rows",
        booster.num_trees(),
        rows.len()
    );

    let next = Cell::new(0usize);
    c.bench_function("predict_row (100 trees, depth 8)", |b| {
        b.iter(|| {
            let i = next.get();
            next.set((i + 1) % rows.len());
            booster
                .predict_row(std::hint::black_box(&rows[i]), &mut out)
                .expect("predicts a row");
            std::hint::black_box(out[0])
        })
    });
    c.bench_function("predict on a one-row Dataset (for comparison)", |b| {
        b.iter(|| {
            let i = next.get();
            next.set((i + 1) % rows.len());
            let one = Dataset::from_rows(&rows[i], nf).expect("one row");
            booster
                .predict(&one, PredictOptions::default())
                .expect("predicts")
                .values[0]
        })
    });
}

criterion_group!(benches, bench_predict_row);
criterion_main!(benches);
