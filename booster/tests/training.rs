//! End-to-end training tests of the learning core: every objective trains, improves its metric and
//! starts from the base margin its loss prescribes (recomputed naively here); both growth policies
//! and both boosting modes work; the regularisation and sampling
//! parameters have their documented effect (leaf values `-T_alpha(G) / (H + lambda)` recomputed by
//! hand from the routed rows, gamma and min_child_weight pruning checked node by node against the
//! unpruned tree, column samples checked per tree and per level); models round-trip through JSON and
//! binary. Thread-count determinism lives in determinism.rs, weight / base_margin / iteration range /
//! early stopping identities in identities.rs.

use std::sync::Arc;

mod common;

use common::signal;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sylvan_booster::*;

/// `n` rows of `nf` uniform features (10% missing in feature 1) and a label from `label(x)`.
fn make_data(n: usize, nf: usize, seed: u64, label: impl Fn(&[f32], &mut StdRng) -> f32) -> Dataset {
    common::make_data_with_missing(n, nf, seed, 0.1, label)
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    p.set("nthread", "2").unwrap();
    for (k, v) in pairs {
        p.set(k, v).unwrap();
    }
    p
}

fn first_and_last(b: &Booster) -> (f64, f64) {
    let h = b.eval_history();
    (h[0].evals[0].2, h[h.len() - 1].evals[0].2)
}

#[test]
fn every_objective_trains_and_improves() {
    let positive = |x: &[f32], r: &mut StdRng| (signal(x) + 3.5 + r.random_range(0.0f32..0.5)).max(0.01);
    type Labeller = Box<dyn Fn(&[f32], &mut StdRng) -> f32>;
    type Case = (&'static str, Labeller, Vec<(&'static str, &'static str)>);
    let cases: Vec<Case> = vec![
        (
            "reg:squarederror",
            Box::new(|x, r| signal(x) + r.random_range(-0.3f32..0.3)),
            vec![],
        ),
        (
            "reg:absoluteerror",
            Box::new(|x, r| signal(x) + r.random_range(-0.3f32..0.3)),
            vec![],
        ),
        (
            "reg:pseudohubererror",
            Box::new(|x, r| signal(x) + r.random_range(-0.3f32..0.3)),
            vec![],
        ),
        (
            "reg:quantileerror",
            Box::new(|x, r| signal(x) + r.random_range(-0.3f32..0.3)),
            vec![("quantile_alpha", "0.8")],
        ),
        ("reg:squaredlogerror", Box::new(positive), vec![]),
        (
            "count:poisson",
            Box::new(|x, r| ((signal(x) + 4.0).max(0.0) * r.random_range(0.5f32..1.5)).round()),
            vec![],
        ),
        ("reg:gamma", Box::new(positive), vec![]),
        ("reg:tweedie", Box::new(positive), vec![]),
        (
            "binary:logistic",
            Box::new(|x, r| (signal(x) + r.random_range(-0.5f32..0.5) > 0.0) as u8 as f32),
            vec![],
        ),
        (
            "binary:logitraw",
            Box::new(|x, r| (signal(x) + r.random_range(-0.5f32..0.5) > 0.0) as u8 as f32),
            vec![],
        ),
        (
            "multi:softmax",
            Box::new(|x, _| ((signal(x) + 6.0) / 4.0).clamp(0.0, 2.0).floor()),
            vec![("num_class", "3")],
        ),
        (
            "multi:softprob",
            Box::new(|x, _| ((signal(x) + 6.0) / 4.0).clamp(0.0, 2.0).floor()),
            vec![("num_class", "3")],
        ),
    ];
    for (objective, label, extra) in cases {
        let train = make_data(3000, 5, 1, label);
        let mut pairs = vec![("objective", objective), ("num_round", "30")];
        pairs.extend(extra);
        let p = params(&pairs);
        let b = Booster::train(&p, &train, &[("train", &train)]).unwrap();
        let (first, last) = first_and_last(&b);
        let metric = &b.eval_history()[0].evals[0].1;
        let better = if metric == "auc" { last > first } else { last < first };
        assert!(better, "{objective}: {metric} went from {first} to {last}");
        let pred = b.predict(&train, PredictOptions::default()).unwrap();
        assert!(pred.values.iter().all(|v| v.is_finite()), "{objective}");
        let cols = if objective == "multi:softprob" { 3 } else { 1 };
        assert_eq!(pred.num_cols, cols, "{objective}");
        // The base margin is the loss's optimal constant, recomputed naively (relative 1e-12:
        // f64 sums of the same numbers in another order; 1e-7 for squared log error, whose
        // log1p(y) terms the library rounds to f32 before averaging).
        let want = naive_base_margin(objective, train.labels(), 0.8);
        let tol = if objective == "reg:squaredlogerror" {
            1e-7
        } else {
            1e-12
        };
        assert_eq!(b.base_margin().len(), want.len(), "{objective}");
        for (got, want) in b.base_margin().iter().zip(&want) {
            assert!(
                (got - want).abs() <= tol * (1.0 + want.abs()),
                "{objective}: base margin {got}, want {want}"
            );
        }
    }
}

/// The optimal constant margin of each objective (XGBoost's `base_score` estimate): the mean for
/// squared error, the lower median or `alpha`-quantile for the absolute, pseudo-Huber and quantile
/// losses, the log of the mean for log-link losses, the logit of the mean for binary, the centred
/// log class frequencies for multiclass, and `expm1` of the mean of `log1p(y)` for squared log error.
fn naive_base_margin(objective: &str, y: &[f32], quantile_alpha: f64) -> Vec<f64> {
    let n = y.len() as f64;
    let mean = |f: &dyn Fn(f64) -> f64| y.iter().map(|v| f(*v as f64)).sum::<f64>() / n;
    let quantile = |alpha: f64| {
        let mut s: Vec<f64> = y.iter().map(|v| *v as f64).collect();
        s.sort_by(f64::total_cmp);
        s[((alpha * n).ceil() as usize).max(1) - 1]
    };
    match objective {
        "reg:squarederror" => vec![mean(&|v| v)],
        "reg:absoluteerror" | "reg:pseudohubererror" => vec![quantile(0.5)],
        "reg:quantileerror" => vec![quantile(quantile_alpha)],
        "reg:squaredlogerror" => vec![mean(&|v| v.ln_1p()).exp_m1()],
        "count:poisson" | "reg:gamma" | "reg:tweedie" => vec![mean(&|v| v).ln()],
        "binary:logistic" | "binary:logitraw" => {
            let p = mean(&|v| v);
            vec![(p / (1.0 - p)).ln()]
        }
        "multi:softmax" | "multi:softprob" => {
            let logs: Vec<f64> = (0..3)
                .map(|c| (y.iter().filter(|v| **v as usize == c).count() as f64 / n).ln())
                .collect();
            let centre = logs.iter().sum::<f64>() / 3.0;
            logs.iter().map(|l| l - centre).collect()
        }
        _ => unreachable!("{objective}"),
    }
}

#[test]
fn gradient_boosting_mode_fits_medians_and_quantiles() {
    let train = make_data(4000, 5, 2, |x, r| signal(x) + r.random_range(-0.3f32..0.3));
    for objective in [
        "reg:squarederror",
        "reg:absoluteerror",
        "reg:quantileerror",
        "binary:logistic",
    ] {
        let train = if objective == "binary:logistic" {
            make_data(4000, 5, 2, |x, r| {
                (signal(x) + r.random_range(-0.5f32..0.5) > 0.0) as u8 as f32
            })
        } else {
            train.clone()
        };
        let p = params(&[
            ("objective", objective),
            ("boosting", "gradient"),
            ("num_round", "40"),
            ("eta", "0.2"),
        ]);
        let b = Booster::train(&p, &train, &[("train", &train)]).unwrap();
        let (first, last) = first_and_last(&b);
        assert!(last < 0.6 * first, "{objective}: {first} -> {last}");
    }
    // The quantile loss at 0.9 leaves about 90% of the labels below the prediction.
    let p = params(&[
        ("objective", "reg:quantileerror"),
        ("quantile_alpha", "0.9"),
        ("boosting", "gradient"),
        ("num_round", "60"),
    ]);
    let b = Booster::train(&p, &train, &[]).unwrap();
    let pred = b.predict(&train, PredictOptions::default()).unwrap();
    let below = train.labels().iter().zip(&pred.values).filter(|(y, p)| y <= p).count() as f64 / 4000.0;
    assert!((0.85..0.95).contains(&below), "coverage {below}");
}

#[test]
fn lossguide_honours_max_leaves_and_depthwise_max_depth() {
    let train = make_data(3000, 5, 3, |x, _| signal(x));
    let p = params(&[
        ("grow_policy", "lossguide"),
        ("max_leaves", "7"),
        ("max_depth", "0"),
        ("num_round", "5"),
    ]);
    let b = Booster::train(&p, &train, &[]).unwrap();
    assert!(b.trees().iter().all(|t| t.num_leaves() <= 7));
    assert!(b.trees().iter().any(|t| t.num_leaves() == 7));
    let p = params(&[("max_depth", "3"), ("num_round", "5")]);
    let b = Booster::train(&p, &train, &[]).unwrap();
    assert!(b.trees().iter().all(|t| t.depth() <= 3));
    assert!(b.trees().iter().any(|t| t.depth() == 3));
}

#[test]
fn margins_leaves_and_iteration_ranges() {
    let train = make_data(2000, 4, 6, |x, _| (signal(x) > 0.0) as u8 as f32);
    let p = params(&[("objective", "binary:logistic"), ("num_round", "10")]);
    let b = Booster::train(&p, &train, &[]).unwrap();
    let m = b
        .predict(
            &train,
            PredictOptions {
                output: PredictOutput::Margin,
                ..Default::default()
            },
        )
        .unwrap();
    let v = b.predict(&train, PredictOptions::default()).unwrap();
    for (m, v) in m.values.iter().zip(&v.values) {
        assert!((1.0 / (1.0 + (-m).exp()) - v).abs() < 1e-6);
    }
    let leaves = b
        .predict(
            &train,
            PredictOptions {
                output: PredictOutput::LeafIndex,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(leaves.num_cols, 10);
    // Sum of leaf values + base margin = margin.
    for i in (0..2000).step_by(97) {
        let mut s = b.base_margin()[0];
        for (t, tree) in b.trees().iter().enumerate() {
            let leaf = leaves.row(i)[t] as usize;
            assert!(tree.is_leaf(leaf));
            s += tree.value[leaf] as f64;
        }
        assert!((s as f32 - m.values[i]).abs() < 1e-4);
    }
    // The first round alone: base margin plus the first tree's leaf, for every row (one f32
    // rounding of an f64 sum of two terms: 1e-6).
    let first = b
        .predict(
            &train,
            PredictOptions {
                output: PredictOutput::Margin,
                iteration_range: Some((0, 1)),
            },
        )
        .unwrap();
    for i in 0..2000 {
        let leaf = leaves.row(i)[0] as usize;
        let want = (b.base_margin()[0] + b.trees()[0].value[leaf] as f64) as f32;
        assert!(
            (first.values[i] - want).abs() <= 1e-6,
            "row {i}: {} vs {want}",
            first.values[i]
        );
    }
    assert!(b
        .predict(
            &train,
            PredictOptions {
                iteration_range: Some((3, 11)),
                ..Default::default()
            }
        )
        .is_err());
}

/// One tree of `params` (plus `pairs`) on `train`, and the leaf each row falls in.
fn one_tree(train: &Dataset, pairs: &[(&str, &str)]) -> (Tree, Vec<usize>) {
    let b = Booster::train(&params(pairs), train, &[]).unwrap();
    assert_eq!(b.num_trees(), 1);
    let leaves = b
        .predict(
            train,
            PredictOptions {
                output: PredictOutput::LeafIndex,
                ..Default::default()
            },
        )
        .unwrap();
    (
        b.trees()[0].clone(),
        leaves.values.iter().map(|v| *v as usize).collect(),
    )
}

/// Depth of every node.
fn node_depths(t: &Tree) -> Vec<usize> {
    let mut d = vec![0; t.num_nodes()];
    for i in 0..t.num_nodes() {
        if !t.is_leaf(i) {
            d[t.left[i] as usize] = d[i] + 1;
            d[t.right[i] as usize] = d[i] + 1;
        }
    }
    d
}

/// Checks that `pruned` is `full` with every node whose gain is below `gamma` turned into a leaf
/// (same splits above, and the leaf takes the value the node had as a would-be leaf).
fn assert_pruned(pruned: &Tree, p: usize, full: &Tree, f: usize, gamma: f32) {
    if full.is_leaf(f) || full.gain[f] < gamma {
        assert!(pruned.is_leaf(p), "node {f} (gain {}) was split", full.gain[f]);
        assert_eq!(pruned.value[p], full.value[f], "node {f}");
        return;
    }
    assert!(
        !pruned.is_leaf(p),
        "node {f} (gain {} >= {gamma}) was not split",
        full.gain[f]
    );
    assert_eq!(
        (pruned.feature[p], pruned.threshold[p], pruned.gain[p]),
        (full.feature[f], full.threshold[f], full.gain[f])
    );
    assert_pruned(pruned, pruned.left[p] as usize, full, full.left[f] as usize, gamma);
    assert_pruned(pruned, pruned.right[p] as usize, full, full.right[f] as usize, gamma);
}

#[test]
fn regularisation_parameters_have_their_documented_effect() {
    let train = make_data(3000, 8, 7, |x, r| signal(x) + r.random_range(-0.3f32..0.3));
    let y = train.labels();
    // A stump from margin 0 on squared error: g = -y, h = 1 for every row, so a leaf's value is
    // eta * T_alpha(sum y) / (count + lambda), clipped to max_delta_step before eta. Sums by hand
    // over the rows the model routes to the leaf; relative 1e-6 (f32 leaf values).
    let stump = [
        ("num_round", "1"),
        ("max_depth", "1"),
        ("base_score", "0"),
        ("eta", "0.5"),
    ];
    for (lambda, alpha, mds) in [(0.0, 0.0, 0.0), (100.0, 0.0, 0.0), (1.0, 50.0, 0.0), (1.0, 0.0, 0.05)] {
        let (l, a, m) = (lambda.to_string(), alpha.to_string(), mds.to_string());
        let mut pairs = stump.to_vec();
        pairs.extend([
            ("lambda", l.as_str()),
            ("alpha", a.as_str()),
            ("max_delta_step", m.as_str()),
        ]);
        let (tree, leaf) = one_tree(&train, &pairs);
        assert_eq!(tree.num_leaves(), 2);
        for node in (0..tree.num_nodes()).filter(|&i| tree.is_leaf(i)) {
            let rows: Vec<usize> = (0..3000).filter(|&r| leaf[r] == node).collect();
            let g: f64 = rows.iter().map(|&r| -(y[r] as f64)).sum();
            let h = rows.len() as f64;
            let t = if g > alpha {
                g - alpha
            } else if g < -alpha {
                g + alpha
            } else {
                0.0
            };
            let mut w = -t / (h + lambda);
            if mds > 0.0 {
                w = w.clamp(-mds, mds);
            }
            let want = (0.5 * w) as f32;
            let got = tree.value[node];
            assert!(
                (got - want).abs() <= 1e-6 * want.abs().max(1e-3),
                "lambda {lambda} alpha {alpha} max_delta_step {mds}: leaf {node} value {got}, want {want}"
            );
            assert_eq!(tree.cover[node], h as f32);
        }
    }
    // gamma: the first tree equals the unpruned one with every node of gain < gamma made a leaf
    // (same gradients in round one). The unpruned tree must have such nodes, or this tests nothing.
    let deep = [("num_round", "1"), ("max_depth", "5"), ("base_score", "0")];
    let (full, _) = one_tree(&train, &deep);
    // gamma halfway between the two middle gains of the unpruned tree: about half its splits go.
    let mut gains: Vec<f32> = (0..full.num_nodes())
        .filter(|&i| !full.is_leaf(i))
        .map(|i| full.gain[i])
        .collect();
    gains.sort_by(f32::total_cmp);
    let k = gains.len() / 2;
    assert!(gains[k - 1] < gains[k]);
    let gamma = (gains[k - 1] + gains[k]) / 2.0;
    let g = gamma.to_string();
    let (pruned, _) = one_tree(&train, &[deep[0], deep[1], deep[2], ("gamma", g.as_str())]);
    assert!(pruned.num_leaves() < full.num_leaves());
    assert_pruned(&pruned, 0, &full, 0, gamma);
    // min_child_weight: every child's hessian sum (= row count here) is at least 200, and without
    // it some child is smaller.
    let children_cover = |t: &Tree| -> f32 { (1..t.num_nodes()).map(|i| t.cover[i]).fold(f32::INFINITY, f32::min) };
    assert!(children_cover(&full) < 200.0);
    let (mcw, leaf) = one_tree(&train, &[deep[0], deep[1], deep[2], ("min_child_weight", "200")]);
    assert!(children_cover(&mcw) >= 200.0, "{}", children_cover(&mcw));
    for node in (0..mcw.num_nodes()).filter(|&i| mcw.is_leaf(i)) {
        assert_eq!(mcw.cover[node], leaf.iter().filter(|l| **l == node).count() as f32);
    }
}

#[test]
fn sampling_parameters_have_their_documented_effect() {
    let train = make_data(3000, 8, 7, |x, r| signal(x) + r.random_range(-0.3f32..0.3));
    let y = train.labels();
    // subsample: the stump's root holds exactly the rows the documented sampler draws for round 0
    // (each row with probability 0.5: within 5 standard deviations of 1500), and its leaves are
    // fitted to those rows only.
    let (tree, leaf) = one_tree(
        &train,
        &[
            ("num_round", "1"),
            ("max_depth", "1"),
            ("base_score", "0"),
            ("eta", "1"),
            ("subsample", "0.5"),
            ("seed", "4"),
        ],
    );
    let sample = sylvan_booster::testing::sample_rows(3000, 0.5, 4, 0);
    assert!((sample.len() as f64 - 1500.0).abs() < 5.0 * (3000.0f64 * 0.25).sqrt());
    assert_eq!(tree.cover[0], sample.len() as f32);
    for node in (0..tree.num_nodes()).filter(|&i| tree.is_leaf(i)) {
        let rows: Vec<usize> = sample
            .iter()
            .map(|r| *r as usize)
            .filter(|&r| leaf[r] == node)
            .collect();
        let want = (rows.iter().map(|&r| y[r] as f64).sum::<f64>() / (rows.len() as f64 + 1.0)) as f32;
        assert!((tree.value[node] - want).abs() <= 1e-6 * want.abs(), "leaf {node}");
        assert_eq!(tree.cover[node], rows.len() as f32);
    }
    // colsample_bytree / bylevel = 0.5 of 8 features: each tree (each level) splits on at most 4
    // features; unsampled trees use more, and different trees draw different halves.
    let deep = |extra: (&str, &str)| {
        Booster::train(&params(&[("num_round", "6"), ("max_depth", "6"), extra]), &train, &[]).unwrap()
    };
    let features = |t: &Tree, level: Option<usize>| -> std::collections::BTreeSet<u32> {
        let d = node_depths(t);
        (0..t.num_nodes())
            .filter(|&i| !t.is_leaf(i) && level.is_none_or(|l| d[i] == l))
            .map(|i| t.feature[i])
            .collect()
    };
    let plain = deep(("colsample_bytree", "1"));
    assert!(plain.trees().iter().all(|t| features(t, None).len() > 4));
    assert!(plain.trees().iter().any(|t| features(t, Some(4)).len() > 4));
    let by_tree = deep(("colsample_bytree", "0.5"));
    let mut union = std::collections::BTreeSet::new();
    for t in by_tree.trees() {
        assert!(features(t, None).len() <= 4, "{:?}", features(t, None));
        union.extend(features(t, None));
    }
    assert!(union.len() > 4, "every tree drew the same half");
    let by_level = deep(("colsample_bylevel", "0.5"));
    for t in by_level.trees() {
        for level in 0..6 {
            assert!(features(t, Some(level)).len() <= 4, "level {level}");
        }
    }
}

#[test]
fn sampling_is_reproducible() {
    let train = make_data(3000, 8, 7, |x, r| signal(x) + r.random_range(-0.3f32..0.3));
    for (k, v) in [
        ("subsample", "0.5"),
        ("colsample_bynode", "0.5"),
        ("colsample_bylevel", "0.5"),
    ] {
        let p = params(&[("num_round", "4"), (k, v)]);
        let b = Booster::train(&p, &train, &[]).unwrap();
        let again = Booster::train(&p, &train, &[]).unwrap();
        assert_eq!(b.trees(), again.trees(), "{k}={v} is not reproducible");
    }
}

#[derive(Debug)]
struct MySquaredError;

impl Objective for MySquaredError {
    fn name(&self) -> &str {
        "my:squared"
    }
    fn gradients(&self, labels: &[f32], _w: Option<&[f32]>, margins: &[f64], out: &mut [GradPair]) {
        for ((o, y), m) in out.iter_mut().zip(labels).zip(margins) {
            *o = GradPair::new((*m - *y as f64) as f32, 1.0);
        }
    }
}

#[test]
fn custom_objective_matches_builtin() {
    let train = make_data(2000, 4, 9, |x, _| signal(x));
    let p = params(&[("num_round", "5"), ("base_score", "0")]);
    let builtin = Booster::train(&p, &train, &[]).unwrap();
    let options = TrainOptions {
        objective: Some(Arc::new(MySquaredError)),
        ..Default::default()
    };
    let custom = Booster::train_with(&p, &train, &[], options).unwrap();
    assert_eq!(custom.objective_name(), "my:squared");
    assert_eq!(builtin.trees(), custom.trees());
    // A saved custom-objective model loads and predicts margins.
    let back = Booster::from_json_str(&custom.to_json_string().unwrap()).unwrap();
    assert_eq!(
        back.predict(&train, PredictOptions::default()).unwrap(),
        custom.predict(&train, PredictOptions::default()).unwrap()
    );
}

struct StopAfter(usize, Vec<usize>);

impl TrainCallback for StopAfter {
    fn after_round(&mut self, r: &RoundReport) -> bool {
        self.1.push(r.round);
        r.round + 1 < self.0
    }
}

#[test]
fn callback_sees_rounds_and_can_stop() {
    let train = make_data(500, 4, 10, |x, _| signal(x));
    let mut cb = StopAfter(4, Vec::new());
    let options = TrainOptions {
        callback: Some(&mut cb),
        ..Default::default()
    };
    let b = Booster::train_with(&params(&[("num_round", "50")]), &train, &[("t", &train)], options).unwrap();
    assert_eq!(b.num_rounds(), 4);
    assert_eq!(cb.1, vec![0, 1, 2, 3]);
}

/// Halves the learning rate from round `from` on, stops before round `stop_before`, and records
/// what the training state shows after each round.
struct Schedule {
    from: usize,
    stop_before: usize,
    seen: Vec<(usize, usize, Vec<f64>, Vec<f32>)>,
    model_rounds: Vec<usize>,
}

impl TrainCallback for Schedule {
    fn after_round(&mut self, _r: &RoundReport) -> bool {
        unreachable!("the trainer calls after_round_in")
    }

    fn after_round_in(&mut self, r: &RoundReport, state: &TrainingState<'_>) -> bool {
        let margins = state.margins(1).expect("the second set").to_vec();
        let scores = state.scores(1).expect("the second set");
        assert_eq!(state.eval_names(), vec!["train", "valid"]);
        assert!(state.margins(2).is_none());
        self.seen.push((r.round, state.num_rounds(), margins, scores));
        self.model_rounds.push(state.model().num_rounds());
        true
    }

    fn before_round(&mut self, round: usize) -> RoundPlan {
        RoundPlan {
            stop: round == self.stop_before,
            learning_rate: (round >= self.from).then_some(0.15),
        }
    }
}

#[test]
fn callbacks_read_the_state_change_the_learning_rate_and_stop_before_a_round() {
    let label = |x: &[f32], _: &mut StdRng| if signal(x) > 1.0 { 1.0 } else { 0.0 };
    let train = make_data(400, 4, 21, label);
    let valid = make_data(150, 4, 22, label);
    let p = params(&[("num_round", "10"), ("eta", "0.3"), ("objective", "binary:logistic")]);
    let mut cb = Schedule {
        from: 3,
        stop_before: 6,
        seen: Vec::new(),
        model_rounds: Vec::new(),
    };
    let options = TrainOptions {
        callback: Some(&mut cb),
        ..Default::default()
    };
    let b = Booster::train_with(&p, &train, &[("train", &train), ("valid", &valid)], options).unwrap();
    assert_eq!(b.num_rounds(), 6);
    assert_eq!(cb.model_rounds, vec![1, 2, 3, 4, 5, 6]);
    // The state's margins and scores are the model's own predictions at that round.
    for (round, rounds, margins, scores) in &cb.seen {
        assert_eq!(rounds, &(round + 1));
        let range = Some((0, round + 1));
        let m = b
            .predict(
                &valid,
                PredictOptions {
                    output: PredictOutput::Margin,
                    iteration_range: range,
                },
            )
            .unwrap();
        let v = b
            .predict(
                &valid,
                PredictOptions {
                    output: PredictOutput::Value,
                    iteration_range: range,
                },
            )
            .unwrap();
        for (a, e) in margins.iter().zip(&m.values) {
            assert!((*a as f32 - e).abs() < 1e-5, "{a} vs {e}");
        }
        for (a, e) in scores.iter().zip(&v.values) {
            assert!((a - e).abs() < 1e-6, "{a} vs {e}");
        }
    }
    // Rounds 0-2 at eta 0.3, then 0.15: the same trees as a run whose first three rounds are
    // continued at 0.15.
    let first = Booster::train(
        &params(&[("num_round", "3"), ("eta", "0.3"), ("objective", "binary:logistic")]),
        &train,
        &[],
    )
    .unwrap();
    let rest = Booster::train_with(
        &params(&[("num_round", "3"), ("eta", "0.15"), ("objective", "binary:logistic")]),
        &train,
        &[],
        TrainOptions {
            init_model: Some(&first),
            ..Default::default()
        },
    )
    .unwrap();
    let ours = b.predict(&valid, PredictOptions::default()).unwrap();
    let theirs = rest.predict(&valid, PredictOptions::default()).unwrap();
    assert_eq!(ours.values, theirs.values);
    // A bad rate names the parameter.
    let mut bad = Schedule {
        from: 0,
        stop_before: 99,
        seen: Vec::new(),
        model_rounds: Vec::new(),
    };
    struct Zero<'s>(&'s mut Schedule);
    impl TrainCallback for Zero<'_> {
        fn after_round(&mut self, r: &RoundReport) -> bool {
            self.0.after_round(r)
        }
        fn before_round(&mut self, _round: usize) -> RoundPlan {
            RoundPlan {
                stop: false,
                learning_rate: Some(0.0),
            }
        }
    }
    let mut zero = Zero(&mut bad);
    let e = Booster::train_with(
        &p,
        &train,
        &[],
        TrainOptions {
            callback: Some(&mut zero),
            ..Default::default()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("learning_rate"), "{e}");
}

#[test]
fn the_best_iteration_can_be_set_and_is_checked() {
    let train = make_data(300, 4, 23, |x, _| signal(x));
    let mut b = Booster::train(&params(&[("num_round", "5")]), &train, &[]).unwrap();
    b.set_best_iteration(Some((2, 0.5))).unwrap();
    assert_eq!((b.best_iteration(), b.best_score()), (Some(2), Some(0.5)));
    let e = b.set_best_iteration(Some((5, 0.1))).unwrap_err().to_string();
    assert!(e.contains("best_iteration"), "{e}");
    b.set_best_iteration(None).unwrap();
    assert_eq!(b.best_iteration(), None);
    // Slices of rounds predict as the iteration range does.
    let part = b.slice_rounds(1, 4).unwrap();
    assert_eq!(part.num_rounds(), 3);
    let whole = b
        .predict(
            &train,
            PredictOptions {
                output: PredictOutput::Margin,
                iteration_range: Some((1, 4)),
            },
        )
        .unwrap();
    let sliced = part
        .predict(
            &train,
            PredictOptions {
                output: PredictOutput::Margin,
                iteration_range: None,
            },
        )
        .unwrap();
    assert_eq!(whole.values, sliced.values);
    for (a, z) in [(0, 0), (3, 2), (0, 6)] {
        let e = b.slice_rounds(a, z).unwrap_err().to_string();
        assert!(e.contains("rounds"), "{e}");
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let train = make_data(300, 4, 11, |x, _| signal(x));
    let p = params(&[("objective", "binary:logistic")]);
    let e = Booster::train(&p, &train, &[]).unwrap_err().to_string();
    assert!(e.contains("row") && e.contains("[0, 1]"), "{e}");
    let unlabelled = Dataset::from_columns(vec![vec![1.0, 2.0]]).unwrap();
    assert!(Booster::train(&Params::default(), &unlabelled, &[]).is_err());
    let b = Booster::train(&params(&[("num_round", "2")]), &train, &[]).unwrap();
    let wrong = Dataset::from_columns(vec![vec![1.0]]).unwrap();
    assert!(b.predict(&wrong, PredictOptions::default()).is_err());
    let p = params(&[("objective", "multi:softprob")]);
    assert!(p.validate().unwrap_err().to_string().contains("num_class"));
    for junk in ["", "{}", "[1,2]", "{\"format\":\"sylvan\"}", "not json at all"] {
        assert!(Booster::from_json_str(junk).is_err(), "{junk}");
    }
    assert!(Booster::from_bytes(b"SYLVAN\x00\x01garbage").is_err());
    assert!(Booster::from_bytes(b"").is_err());
}

#[test]
fn saving_is_atomic_and_round_trips_both_forms() {
    let train = make_data(1000, 4, 12, |x, _| (signal(x) > 0.0) as u8 as f32);
    let train = train
        .with_feature_names((0..4).map(|i| format!("f{i}")).collect())
        .unwrap();
    let mut b = Booster::train(
        &params(&[("objective", "binary:logistic"), ("num_round", "8")]),
        &train,
        &[],
    )
    .unwrap();
    b.set_attribute("note", "hello");
    let dir = std::env::temp_dir().join(format!("sylvan-save-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let want = b.predict(&train, PredictOptions::default()).unwrap();
    for name in ["m.json", "m.sylvan"] {
        let path = dir.join(name);
        b.save(&path).unwrap();
        let back = Booster::load(&path).unwrap();
        assert_eq!(back.predict(&train, PredictOptions::default()).unwrap(), want, "{name}");
        assert_eq!(back.feature_names(), b.feature_names());
        assert_eq!(back.attributes().get("note").map(String::as_str), Some("hello"));
        // Truncated files are errors naming the file.
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let e = Booster::load(&path).unwrap_err().to_string();
        assert!(e.contains(name), "{e}");
    }
    // Saving into a missing directory fails and leaves nothing behind.
    assert!(b.save(dir.join("nope").join("m.json")).is_err());
    let leftovers = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, .. ProptestConfig::default() })]

    #[test]
    fn save_load_predicts_identically(
        seed in 0u64..1000,
        policy in prop_oneof![Just("depthwise"), Just("lossguide")],
        subsample in prop_oneof![Just("1"), Just("0.7")],
        objective in prop_oneof![Just("reg:squarederror"), Just("binary:logistic")],
    ) {
        let train = make_data(5_000, 6, seed, |x, r| {
            let s = signal(x) + r.random_range(-0.5f32..0.5);
            s.clamp(0.0, 1.0).round()
        });
        let mut p = params(&[("objective", objective), ("num_round", "4"), ("grow_policy", policy),
            ("max_leaves", "16"), ("subsample", subsample), ("colsample_bynode", "0.8"), ("max_bin", "64")]);
        p.set("nthread", "2").unwrap();
        let two = Booster::train(&p, &train, &[]).unwrap();
        let want = two.predict(&train, PredictOptions::default()).unwrap();
        let json = Booster::from_json_str(&two.to_json_string().unwrap()).unwrap();
        prop_assert_eq!(&json.predict(&train, PredictOptions::default()).unwrap(), &want);
        prop_assert!(json.trees() == two.trees());
        prop_assert_eq!(json.base_margin(), two.base_margin());
        let bin = Booster::from_bytes(&two.to_bytes().unwrap()).unwrap();
        prop_assert_eq!(&bin.predict(&train, PredictOptions::default()).unwrap(), &want);
        prop_assert!(bin.trees() == two.trees());
        prop_assert_eq!(bin.base_margin(), two.base_margin());
    }
}

/// Training loss after `rounds` rounds with `tree_method`.
fn training_rmse(train: &Dataset, method: &str, extra: &[(&str, &str)]) -> f64 {
    let mut pairs = vec![
        ("tree_method", method),
        ("num_round", "10"),
        ("max_depth", "6"),
        ("max_bin", "32"),
    ];
    pairs.extend_from_slice(extra);
    let b = Booster::train(&params(&pairs), train, &[]).unwrap();
    b.evaluate(train, &["rmse".parse().unwrap()]).unwrap()[0].1
}

#[test]
fn exact_fits_at_least_as_well_as_approx_and_hist() {
    // One split: exact's candidates include every partition the others can make, and 256 sketch
    // bins include the 32 histogram cuts, so the training loss is ordered exact <= approx <= hist.
    let train = make_data(3000, 6, 21, |x, r| signal(x) + r.random_range(-0.3f32..0.3));
    let stump = [("max_depth", "1"), ("num_round", "1")];
    let exact = training_rmse(&train, "exact", &stump);
    let approx = training_rmse(&train, "approx", &[stump[0], stump[1], ("max_bin", "256")]);
    let hist = training_rmse(&train, "hist", &stump);
    assert!(
        exact <= approx && approx <= hist,
        "exact {exact}, approx {approx}, hist {hist}"
    );
    // Deeper trees over several rounds: greedy growth guarantees no order, but all are close.
    let exact = training_rmse(&train, "exact", &[]);
    let approx = training_rmse(&train, "approx", &[("max_bin", "256")]);
    let hist = training_rmse(&train, "hist", &[]);
    for (name, v) in [("approx", approx), ("hist", hist)] {
        assert!((v - exact).abs() / exact < 0.05, "exact {exact}, {name} {v}");
    }
}

#[test]
fn every_tree_method_supports_growth_policies_sampling_and_objectives() {
    let train = make_data(2000, 5, 22, |x, r| {
        (signal(x) + r.random_range(-0.5f32..0.5) > 0.0) as u8 as f32
    });
    for method in ["exact", "approx", "hist"] {
        for extra in [
            vec![("grow_policy", "lossguide"), ("max_leaves", "8")],
            vec![("subsample", "0.6"), ("colsample_bynode", "0.6")],
            vec![("boosting", "gradient")],
        ] {
            let mut pairs = vec![
                ("tree_method", method),
                ("objective", "binary:logistic"),
                ("num_round", "15"),
                ("eval_metric", "auc"),
            ];
            pairs.extend(extra.iter().copied());
            let b = Booster::train(&params(&pairs), &train, &[("train", &train)]).unwrap();
            let (first, last) = first_and_last(&b);
            assert!(last > first && last > 0.9, "{method} {extra:?}: auc {first} -> {last}");
        }
    }
    let p = params(&[
        ("tree_method", "exact"),
        ("objective", "multi:softprob"),
        ("num_class", "3"),
        ("num_round", "5"),
    ]);
    let multi = make_data(2000, 5, 22, |x, r| {
        ((signal(x) + r.random_range(-0.5f32..0.5) + 6.0) / 4.0)
            .clamp(0.0, 2.0)
            .floor()
    });
    let b = Booster::train(&p, &multi, &[("train", &multi)]).unwrap();
    assert_eq!(b.num_trees(), 15);
    let (first, last) = first_and_last(&b);
    assert!(last < 0.8 * first, "exact multi:softprob: mlogloss {first} -> {last}");
    let pred = b.predict(&multi, PredictOptions::default()).unwrap();
    for i in 0..2000 {
        let s: f32 = pred.row(i).iter().sum();
        assert!((s - 1.0).abs() < 1e-5, "row {i}: probabilities sum to {s}");
    }
}

#[test]
fn sparse_columns_train_and_predict_like_their_dense_twins() {
    // 80% of the cells absent, as in LibSVM data.
    let mut rng = StdRng::seed_from_u64(31);
    let (n, nf) = (3000, 6);
    let mut dense = vec![vec![f32::NAN; n]; nf];
    let mut sparse: Vec<(Vec<u32>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); nf];
    #[allow(clippy::needless_range_loop)] // row-major draws written into two column layouts
    for i in 0..n {
        for j in 0..nf {
            if rng.random::<f32>() < 0.2 {
                let v = rng.random_range(-1.0f32..1.0);
                dense[j][i] = v;
                sparse[j].0.push(i as u32);
                sparse[j].1.push(v);
            }
        }
    }
    let y: Vec<f32> = (0..n)
        .map(|i| dense[0][i].max(0.0) * 2.0 + dense[1][i].is_nan() as u8 as f32)
        .collect();
    let d = Dataset::from_columns(dense).unwrap().with_labels(y.clone()).unwrap();
    let s = Dataset::from_sparse_columns(n, sparse).unwrap().with_labels(y).unwrap();
    assert_eq!(s.num_present(), d.num_present());
    for method in ["exact", "approx", "hist"] {
        let p = params(&[("tree_method", method), ("num_round", "8"), ("subsample", "0.8")]);
        let bd = Booster::train(&p, &d, &[]).unwrap();
        let bs = Booster::train(&p, &s, &[]).unwrap();
        assert!(
            bd.trees() == bs.trees(),
            "{method}: sparse and dense grew different trees"
        );
        let pd = bd.predict(&d, PredictOptions::default()).unwrap();
        assert_eq!(pd, bs.predict(&s, PredictOptions::default()).unwrap(), "{method}");
    }
}

#[test]
fn from_parts_rebuilds_a_model_and_checks_it() {
    let train = make_data(1000, 4, 41, |x, _| signal(x));
    let b = Booster::train(&params(&[("num_round", "4")]), &train, &[]).unwrap();
    let again = Booster::from_parts(
        b.params().clone(),
        b.base_margin().to_vec(),
        b.trees().to_vec(),
        4,
        None,
    )
    .unwrap();
    assert_eq!(
        again.predict(&train, PredictOptions::default()).unwrap(),
        b.predict(&train, PredictOptions::default()).unwrap()
    );
    // A tree splitting on a feature the model does not have is refused.
    assert!(Booster::from_parts(
        b.params().clone(),
        b.base_margin().to_vec(),
        b.trees().to_vec(),
        1,
        None
    )
    .is_err());
    assert!(Booster::from_parts(b.params().clone(), vec![0.0, 0.0], b.trees().to_vec(), 4, None).is_err());
}

#[test]
fn continued_training_equals_training_in_one_go() {
    let train = make_data(3000, 5, 51, |x, r| {
        (signal(x) + r.random_range(-0.5f32..0.5) > 0.0) as u8 as f32
    });
    let valid = make_data(1000, 5, 52, |x, r| {
        (signal(x) + r.random_range(-0.5f32..0.5) > 0.0) as u8 as f32
    });
    for extra in [vec![], vec![("subsample", "0.7"), ("colsample_bynode", "0.8")]] {
        let mut pairs = vec![("objective", "binary:logistic"), ("num_round", "10")];
        pairs.extend(extra.iter().copied());
        let whole = Booster::train(&params(&pairs), &train, &[("valid", &valid)]).unwrap();
        pairs[1] = ("num_round", "4");
        let first = Booster::train(&params(&pairs), &train, &[]).unwrap();
        pairs[1] = ("num_round", "6");
        let options = TrainOptions {
            init_model: Some(&first),
            ..Default::default()
        };
        let rest = Booster::train_with(&params(&pairs), &train, &[("valid", &valid)], options).unwrap();
        assert_eq!(rest.num_rounds(), 10);
        assert!(
            rest.trees() == whole.trees(),
            "{extra:?}: continued training grew different trees"
        );
        assert_eq!(rest.eval_history()[0].round, 4);
        assert_eq!(
            rest.eval_history().last().unwrap().evals,
            whole.eval_history().last().unwrap().evals
        );
    }
    // A model of another objective or shape cannot be continued.
    let reg = Booster::train(&params(&[("num_round", "2")]), &train, &[]).unwrap();
    let options = TrainOptions {
        init_model: Some(&reg),
        ..Default::default()
    };
    let e = Booster::train_with(&params(&[("objective", "binary:logistic")]), &train, &[], options).unwrap_err();
    assert!(e.to_string().contains("init_model"), "{e}");
}
