//! Learning to rank end to end: `rank:ndcg`, `rank:pairwise` and `rank:map` learn graded relevance
//! from nonlinear feature interactions over query groups with non-contiguous query ids (test
//! NDCG@10 well above a random order), are deterministic and thread-count independent, survive a
//! save/load round trip, stop early on `ndcg@5`, and refuse data without query groups.

use rand::{RngExt, SeedableRng};
use sylvan_booster::*;

const FEATURES: usize = 6;

/// Relevance 0..=4 from a nonlinear score of the features plus noise.
fn relevance(x: &[f32], noise: f32) -> f32 {
    let s = 1.2 * x[0] * x[1] + (2.0 * x[2]).sin() + if x[3] > 0.2 { 0.8 } else { -0.4 } - 0.5 * x[4].abs() + noise;
    ((s + 1.6) * 1.3).floor().clamp(0.0, 4.0)
}

/// `queries` queries of 5..=50 documents; query ids are scattered (every row's id drawn from the
/// query it belongs to, rows shuffled), so the rows of a query are not contiguous.
fn data(queries: usize, seed: u64, binary: bool) -> (Dataset, Vec<f32>, Vec<u64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut rows: Vec<(u64, Vec<f32>, f32)> = Vec::new();
    for q in 0..queries {
        let qid = 1000 + 7 * q as u64 + rng.random_range(0..3u64);
        let n = rng.random_range(5..=50usize);
        let offset = rng.random_range(-0.5f32..0.5);
        for _ in 0..n {
            let x: Vec<f32> = (0..FEATURES).map(|_| rng.random_range(-1.5f32..1.5) + offset).collect();
            let mut y = relevance(&x, rng.random_range(-0.4f32..0.4));
            if binary {
                y = if y >= 3.0 { 1.0 } else { 0.0 };
            }
            rows.push((qid, x, y));
        }
    }
    // Shuffle rows so that queries interleave.
    for i in (1..rows.len()).rev() {
        let j = rng.random_range(0..=i);
        rows.swap(i, j);
    }
    let x: Vec<f32> = rows.iter().flat_map(|r| r.1.clone()).collect();
    let labels: Vec<f32> = rows.iter().map(|r| r.2).collect();
    let qids: Vec<u64> = rows.iter().map(|r| r.0).collect();
    let d = Dataset::from_rows(&x, FEATURES)
        .unwrap()
        .with_labels(labels.clone())
        .unwrap()
        .with_query_ids(qids.clone())
        .unwrap();
    (d, labels, qids)
}

fn params(objective: ObjectiveKind) -> Params {
    Params {
        objective,
        num_round: 40,
        eta: 0.1,
        max_depth: 5,
        ..Params::default()
    }
}

fn ndcg10(booster: &Booster, d: &Dataset) -> f64 {
    booster.evaluate(d, &["ndcg@10".parse().unwrap()]).unwrap()[0].1
}

/// NDCG@10 of an order that ignores the features (all scores 0: row order within each query).
fn random_ndcg10(d: &Dataset, labels: &[f32], qids: &[u64]) -> f64 {
    let groups = QueryGroups::from_query_ids(qids);
    let zeros = vec![0.0f32; labels.len()];
    let t = Targets {
        labels,
        weights: None,
        groups: Some(&groups),
        bounds: None,
    };
    let _ = d;
    "ndcg@10"
        .parse::<Metric>()
        .unwrap()
        .evaluate_for(&zeros, 1, &t, &MetricContext::default())
        .unwrap()
}

#[test]
fn every_objective_learns_the_order() {
    let (train, _, _) = data(300, 1, false);
    let (test, labels, qids) = data(150, 2, false);
    let random = random_ndcg10(&test, &labels, &qids);
    for objective in [ObjectiveKind::RankNdcg, ObjectiveKind::RankPairwise] {
        let b = Booster::train(&params(objective), &train, &[]).unwrap();
        let v = ndcg10(&b, &test);
        println!("{}: test ndcg@10 {v:.4} (random order {random:.4})", objective.name());
        assert!(v > random + 0.15, "{}: {v} vs random {random}", objective.name());
        // Predictions are raw margins starting at 0.
        assert_eq!(b.base_margin(), &[0.0]);
    }
    let (train, _, _) = data(300, 3, true);
    let (test, _, _) = data(150, 4, true);
    let b = Booster::train(&params(ObjectiveKind::RankMap), &train, &[]).unwrap();
    let map = b.evaluate(&test, &["map".parse().unwrap()]).unwrap()[0].1;
    let b0 = Booster::train(
        &Params {
            num_round: 1,
            eta: 1e-9,
            ..params(ObjectiveKind::RankMap)
        },
        &train,
        &[],
    )
    .unwrap();
    let map0 = b0.evaluate(&test, &["map".parse().unwrap()]).unwrap()[0].1;
    println!("rank:map: test map {map:.4} (untrained {map0:.4})");
    assert!(map > map0 + 0.1, "{map} vs {map0}");
}

#[test]
fn deterministic_and_thread_count_independent() {
    let (train, _, _) = data(120, 5, false);
    for method in [LambdarankPairMethod::Topk, LambdarankPairMethod::Mean] {
        let p = Params {
            num_round: 10,
            lambdarank_pair_method: method,
            ..params(ObjectiveKind::RankNdcg)
        };
        let run = |threads: usize| {
            let p = Params {
                nthread: threads,
                ..p.clone()
            };
            let b = Booster::train(&p, &train, &[]).unwrap();
            b.predict(&train, PredictOptions::default()).unwrap().values
        };
        let one = run(1);
        assert_eq!(one, run(1));
        assert_eq!(one, run(2));
        assert_eq!(one, run(4));
    }
}

#[test]
fn save_load_round_trip_predicts_identically() {
    let (train, _, _) = data(100, 6, false);
    let p = Params {
        num_round: 8,
        lambdarank_pair_method: LambdarankPairMethod::Mean,
        lambdarank_num_pair_per_sample: Some(3),
        ..params(ObjectiveKind::RankNdcg)
    };
    let b = Booster::train(&p, &train, &[]).unwrap();
    let before = b.predict(&train, PredictOptions::default()).unwrap();
    let json = Booster::from_json_str(&b.to_json_string().unwrap()).unwrap();
    let bytes = Booster::from_bytes(&b.to_bytes().unwrap()).unwrap();
    assert_eq!(before, json.predict(&train, PredictOptions::default()).unwrap());
    assert_eq!(before, bytes.predict(&train, PredictOptions::default()).unwrap());
    assert_eq!(json.params().lambdarank_num_pair_per_sample, Some(3));
}

#[test]
fn early_stopping_on_ndcg_at_5() {
    let (train, _, _) = data(150, 7, false);
    let (valid, _, _) = data(60, 8, false);
    let p = Params {
        num_round: 300,
        eta: 0.3,
        max_depth: 6,
        eval_metric: vec!["ndcg@5".parse().unwrap()],
        early_stopping_rounds: Some(5),
        ..params(ObjectiveKind::RankNdcg)
    };
    let b = Booster::train(&p, &train, &[("valid", &valid)]).unwrap();
    let best = b.best_iteration().expect("early stopping keeps the best round");
    assert!(b.num_rounds() < 300, "stopped early: {} rounds", b.num_rounds());
    // The best round's ndcg@5 is the highest seen (higher is better), and no later round beat it.
    let history: Vec<f64> = b.eval_history().iter().map(|r| r.evals[0].2).collect();
    let max = history.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(history[best], max, "{history:?}");
    assert_eq!(b.best_score(), Some(max));
    assert!(b.eval_history()[0].evals[0].1.contains("ndcg@5"));
    println!(
        "early stopping: best round {best} of {}, ndcg@5 {max:.4}",
        b.num_rounds()
    );
}

#[test]
fn refuses_data_without_groups_and_bad_labels() {
    let (d, labels, _) = data(20, 9, false);
    let x: Vec<f32> = vec![0.5; labels.len() * FEATURES];
    let plain = Dataset::from_rows(&x, FEATURES)
        .unwrap()
        .with_labels(labels.clone())
        .unwrap();
    for objective in [
        ObjectiveKind::RankNdcg,
        ObjectiveKind::RankPairwise,
        ObjectiveKind::RankMap,
    ] {
        let e = Booster::train(&params(objective), &plain, &[]).unwrap_err().to_string();
        assert!(e.contains("qid") && e.contains("group"), "{e}");
    }
    // rank:map needs binary labels; graded ones are refused with the row.
    let e = Booster::train(&params(ObjectiveKind::RankMap), &d, &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("rank:map") && e.contains("binary"), "{e}");
    let e = Params {
        lambdarank_unbiased: true,
        lambdarank_bias_norm: -1.0,
        ..params(ObjectiveKind::RankNdcg)
    }
    .validated()
    .unwrap_err()
    .to_string();
    assert!(e.contains("lambdarank_bias_norm"), "{e}");
    // Ensembles resample rows and would break up queries: refused.
    let e = Bagging::train(&BaggingParams::default(), &params(ObjectiveKind::RankNdcg), &d)
        .unwrap_err()
        .to_string();
    assert!(e.contains("rank:ndcg") && e.contains("query groups"), "{e}");
    // Parameters by name, as XGBoost users write them.
    let mut p = Params::default();
    p.set("objective", "rank:pairwise").unwrap();
    p.set("lambdarank_pair_method", "mean").unwrap();
    p.set("lambdarank_num_pair_per_sample", "4").unwrap();
    p.set("ndcg_exp_gain", "false").unwrap();
    p.set("label_gain", "0,1,3,7,15").unwrap();
    assert_eq!(p.lambdarank_pair_method, LambdarankPairMethod::Mean);
    assert_eq!(p.lambdarank_num_pair_per_sample, Some(4));
    assert!(!p.ndcg_exp_gain);
    assert_eq!(p.label_gain, vec![0.0, 1.0, 3.0, 7.0, 15.0]);
}

/// Click logs with position bias: queries of 10 documents shown in the order of a logging ranker
/// that sorts by feature 5 (which has nothing to do with relevance); a document is clicked when
/// it is relevant (graded relevance >= 3) and examined, and the document at position `p` is
/// examined with probability `1 / (p + 1)`. Rows of a query are in the order shown. Returns the
/// click data and the same rows labelled with the true relevance.
fn click_logs(queries: usize, seed: u64) -> (Dataset, Dataset) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let (mut x, mut clicks, mut truth, mut sizes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..queries {
        let mut docs: Vec<(Vec<f32>, bool)> = (0..10)
            .map(|_| {
                let row: Vec<f32> = (0..FEATURES).map(|_| rng.random_range(-1.5f32..1.5)).collect();
                let relevant = relevance(&row, rng.random_range(-0.4f32..0.4)) >= 3.0;
                (row, relevant)
            })
            .collect();
        docs.sort_by(|a, b| b.0[5].total_cmp(&a.0[5]));
        for (p, (row, relevant)) in docs.into_iter().enumerate() {
            let examined = rng.random_range(0.0f64..1.0) < 1.0 / (p as f64 + 1.0);
            clicks.push((relevant && examined) as u8 as f32);
            truth.push(relevant as u8 as f32);
            x.extend(row);
        }
        sizes.push(10);
    }
    let base = Dataset::from_rows(&x, FEATURES).unwrap();
    let with = |labels: Vec<f32>| {
        base.clone()
            .with_labels(labels)
            .unwrap()
            .with_group_sizes(&sizes)
            .unwrap()
    };
    (with(clicks), with(truth))
}

#[test]
fn unbiased_lambdamart_learns_through_position_bias() {
    let (train, _) = click_logs(1500, 41);
    let (_, test_truth) = click_logs(600, 42);
    let mut scores = Vec::new();
    for unbiased in [false, true] {
        let mut p = params(ObjectiveKind::RankNdcg);
        p.lambdarank_unbiased = unbiased;
        p.lambdarank_num_pair_per_sample = Some(10);
        let b = Booster::train(&p, &train, &[]).unwrap();
        let ndcg = b.evaluate(&test_truth, &["ndcg@5".parse().unwrap()]).unwrap()[0].1;
        eprintln!("lambdarank_unbiased={unbiased}: test ndcg@5 on true relevance {ndcg:.4}");
        scores.push(ndcg);
        // Deterministic: the bias estimate is reduced in query order.
        let again = Booster::train(&p, &train, &[]).unwrap();
        assert_eq!(b.to_json_string().unwrap(), again.to_json_string().unwrap());
        if unbiased {
            assert!(b.to_json_string().unwrap().contains("lambdarank_unbiased"));
        }
    }
    // Measured: 0.849 biased, 0.874 unbiased (the biased model learns the logging ranker's
    // feature from the clicks at the top positions).
    assert!(
        scores[1] > scores[0] + 0.01,
        "unbiased {} vs biased {}",
        scores[1],
        scores[0]
    );
}
