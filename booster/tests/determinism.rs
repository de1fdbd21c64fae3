//! The thread count never changes a model: bit-identical trees, base margins and predictions.
//!
//! The number of threads is `Params::nthread`, which sizes the rayon pool the booster trains and
//! predicts in (`booster::thread_pool`; 0 = all cores). The matrix: nthread in {1, 2, 3, 8} x
//! {hist with quantized gradients, hist with f64 sums, exact, approx} x {depthwise, lossguide} x
//! {binary:logistic, multi:softprob with 3 classes}, with row subsampling and per-node column
//! sampling on; plus continued training (init_model) and a bagging ensemble at 1 vs 8 threads.
//!
//! Tolerance: none — every comparison is of bits (`f32::to_bits`, `f64::to_bits`). The data have
//! 20,000 rows, more than two of the fixed 8,192-row chunks in which histograms and gradients are
//! computed in parallel, so the chunked reductions really run on several threads.

mod common;

use common::{make_data_with_missing, signal};
use rand::RngExt;
use sylvan_booster::*;

const ROWS: usize = 20_000;

fn data(objective: &str) -> Dataset {
    if objective == "binary:logistic" {
        make_data_with_missing(ROWS, 6, 7, 0.1, |x, r| {
            (signal(x) + r.random_range(-1.0f32..1.0) > 0.0) as u8 as f32
        })
    } else {
        make_data_with_missing(ROWS, 6, 8, 0.1, |x, r| {
            ((signal(x) + r.random_range(-1.0f32..1.0) + 6.0) / 4.0)
                .clamp(0.0, 2.0)
                .floor()
        })
    }
}

fn params(objective: &str, method: &str, policy: &str, nthread: usize) -> Params {
    let mut p = Params::default();
    let quantized = method != "hist-f64";
    let method = if method.starts_with("hist") { "hist" } else { method };
    for (k, v) in [
        ("objective", objective),
        ("tree_method", method),
        ("use_quantized_grad", if quantized { "true" } else { "false" }),
        ("grow_policy", policy),
        ("max_depth", "5"),
        ("max_leaves", "12"),
        ("num_round", "4"),
        ("subsample", "0.8"),
        ("colsample_bynode", "0.7"),
        ("max_bin", "64"),
        ("seed", "3"),
    ] {
        p.set(k, v).unwrap();
    }
    if objective == "multi:softprob" {
        p.set("num_class", "3").unwrap();
    }
    p.set("nthread", &nthread.to_string()).unwrap();
    p
}

/// Every number of a model and its predictions, as bits.
fn fingerprint(b: &Booster, d: &Dataset) -> (Vec<Vec<u32>>, Vec<u64>, Vec<u32>) {
    let trees = b
        .trees()
        .iter()
        .map(|t| {
            let mut v: Vec<u32> = Vec::new();
            v.extend(t.left.iter().map(|x| *x as u32));
            v.extend(t.right.iter().map(|x| *x as u32));
            v.extend(t.feature.iter().copied());
            v.extend(t.threshold.iter().map(|x| x.to_bits()));
            v.extend(t.default_left.iter().map(|x| *x as u32));
            v.extend(t.value.iter().map(|x| x.to_bits()));
            v.extend(t.gain.iter().map(|x| x.to_bits()));
            v.extend(t.cover.iter().map(|x| x.to_bits()));
            v
        })
        .collect();
    let base = b.base_margin().iter().map(|x| x.to_bits()).collect();
    let pred = b
        .predict(d, PredictOptions::default())
        .unwrap()
        .values
        .iter()
        .map(|x| x.to_bits())
        .collect();
    (trees, base, pred)
}

#[test]
fn thread_count_matrix_gives_bit_identical_models() {
    for objective in ["binary:logistic", "multi:softprob"] {
        let d = data(objective);
        for method in ["hist", "hist-f64", "exact", "approx"] {
            for policy in ["depthwise", "lossguide"] {
                let one = Booster::train(&params(objective, method, policy, 1), &d, &[]).unwrap();
                let want = fingerprint(&one, &d);
                assert!(
                    one.trees().iter().all(|t| t.num_leaves() >= 8),
                    "{objective} {method} {policy}: trees too small to test"
                );
                for nthread in [2, 3, 8] {
                    let b = Booster::train(&params(objective, method, policy, nthread), &d, &[]).unwrap();
                    let got = fingerprint(&b, &d);
                    let what = format!("{objective} {method} {policy}: 1 vs {nthread} threads");
                    assert!(got.0 == want.0, "{what}: trees differ");
                    assert_eq!(got.1, want.1, "{what}: base margins differ");
                    assert!(got.2 == want.2, "{what}: predictions differ");
                }
            }
        }
    }
}

/// Several outputs on every row grow their trees two at a time on two threads or more (each
/// tree on a thread of its own, its leaves kept for the end of the round): the same models as one
/// tree after another on one thread, for an even and an odd number of classes, both growth
/// policies, quantized and f64 histograms, with the evaluation set's margins and metrics.
#[test]
fn outputs_grown_two_at_a_time_give_the_one_thread_model() {
    let d = data("multi:softprob");
    let eval = data("multi:softprob");
    for classes in ["3", "4"] {
        for method in ["hist", "hist-f64"] {
            for policy in ["depthwise", "lossguide"] {
                let grow = |nthread: usize| {
                    let mut p = params("multi:softprob", method, policy, nthread);
                    p.set("subsample", "1").unwrap();
                    p.set("num_class", classes).unwrap();
                    let b = Booster::train(&p, &d, &[("eval", &eval)]).unwrap();
                    let metrics: Vec<String> = b.eval_history().iter().map(|r| format!("{:?}", r.evals)).collect();
                    (fingerprint(&b, &d), metrics)
                };
                let one = grow(1);
                assert_eq!(one.1.len(), 4, "a report per round");
                for nthread in [2, 3] {
                    assert!(
                        grow(nthread) == one,
                        "{classes} classes, {method}, {policy}: 1 vs {nthread} threads"
                    );
                }
            }
        }
    }
}

#[test]
fn continued_training_is_thread_count_independent() {
    for objective in ["binary:logistic", "multi:softprob"] {
        let d = data(objective);
        let grow = |nthread: usize| {
            let p = params(objective, "hist", "depthwise", nthread);
            let first = Booster::train(&p, &d, &[]).unwrap();
            let options = TrainOptions {
                init_model: Some(&first),
                ..Default::default()
            };
            let b = Booster::train_with(&p, &d, &[], options).unwrap();
            assert_eq!(b.num_rounds(), 8);
            fingerprint(&b, &d)
        };
        assert!(grow(1) == grow(8), "{objective}: continued training at 1 vs 8 threads");
    }
}

#[test]
fn bagging_is_thread_count_independent() {
    let d = data("binary:logistic");
    let settings = BaggingParams {
        n_estimators: 4,
        max_features: 0.7,
        seed: 5,
        ..Default::default()
    };
    let bag = |nthread: usize| {
        let b = Bagging::train(&settings, &params("binary:logistic", "hist", "depthwise", nthread), &d).unwrap();
        let members: Vec<_> = b.members().iter().map(|m| fingerprint(m, &d)).collect();
        let pred: Vec<u32> = b.predict(&d).unwrap().values.iter().map(|x| x.to_bits()).collect();
        let oob: Vec<u32> = b.oob().unwrap().scores.values.iter().map(|x| x.to_bits()).collect();
        (members, pred, oob, format!("{:?}", b.oob_metrics()))
    };
    assert!(bag(1) == bag(8), "bagging at 1 vs 8 threads");
}
