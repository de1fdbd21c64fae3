//! Monotone and interaction constraints in training (XGBoost's `monotone_constraints` and
//! `interaction_constraints`), for every tree method, both grow policies and both boosting kinds:
//! - a trained model's margins never move against a feature's monotone constraint along a grid of
//!   that feature (the other features fixed, grid points inside and outside the data's range);
//! - every root-to-leaf path of every tree uses features of one allowed group;
//! - constrained training gives the same model for 1 and 2 threads.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use sylvan_booster::{Booster, Dataset, Params, PredictOptions, PredictOutput, Tree};

const METHODS: [&str; 3] = ["hist", "approx", "exact"];
const POLICIES: [&str; 2] = ["depthwise", "lossguide"];
const BOOSTING: [&str; 2] = ["newton", "gradient"];
const OBJECTIVES: [&str; 4] = [
    "reg:squarederror",
    "binary:logistic",
    "reg:absoluteerror",
    "multi:softprob",
];

/// Further single-output objectives, checked once each per configuration.
const MORE_OBJECTIVES: [&str; 5] = [
    "reg:quantileerror",
    "reg:pseudohubererror",
    "count:poisson",
    "reg:tweedie",
    "binary:logitraw",
];

/// The kinds of generated data.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// A linear signal plus noise.
    Linear,
    /// Products and a sine: features interact.
    Interactions,
    /// Few distinct values per feature (many ties).
    Ties,
    /// A nonlinear signal with a fifth of every feature's values missing.
    Missing,
}

/// `n` rows of `nf` features of `shape` and a raw signal per row.
fn features(shape: Shape, n: usize, nf: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let coef: Vec<f32> = (0..nf).map(|_| rng.random_range(-2.0f32..2.0)).collect();
    let mut cols = vec![vec![0f32; n]; nf];
    let mut signal = vec![0f32; n];
    for i in 0..n {
        let mut x: Vec<f32> = (0..nf).map(|_| rng.random_range(-1.0f32..1.0)).collect();
        if let Shape::Ties = shape {
            for v in &mut x {
                *v = (*v * 2.0).round();
            }
        }
        let noise = rng.random_range(-0.5f32..0.5);
        signal[i] = match shape {
            Shape::Linear | Shape::Ties => x.iter().zip(&coef).map(|(a, b)| a * b).sum::<f32>() + noise,
            Shape::Interactions | Shape::Missing => {
                x[0] * x[1] * 3.0 + (3.0 * x[nf - 1]).sin() + coef[0] * x[1] + noise
            }
        };
        for j in 0..nf {
            let missing = matches!(shape, Shape::Missing) && rng.random::<f32>() < 0.2;
            cols[j][i] = if missing { f32::NAN } else { x[j] };
        }
    }
    (cols, signal)
}

/// The labels of `objective` from a raw signal: the signal (regression), above its median
/// (binary), or its tercile (three classes).
fn labels(objective: &str, signal: &[f32]) -> Vec<f32> {
    let mut sorted = signal.to_vec();
    sorted.sort_by(f32::total_cmp);
    let q = |f: f64| sorted[((sorted.len() - 1) as f64 * f) as usize];
    match objective {
        "binary:logistic" | "binary:logitraw" => signal.iter().map(|&s| (s > q(0.5)) as u8 as f32).collect(),
        "multi:softprob" => {
            let (a, b) = (q(1.0 / 3.0), q(2.0 / 3.0));
            signal
                .iter()
                .map(|&s| (s > a) as u8 as f32 + (s > b) as u8 as f32)
                .collect()
        }
        "count:poisson" | "reg:gamma" | "reg:tweedie" => signal.iter().map(|&s| (s / 2.0).exp()).collect(),
        _ => signal.to_vec(),
    }
}

/// Parameters of one configuration, plus `extra` settings.
fn params(method: &str, policy: &str, boosting: &str, objective: &str, extra: &[(&str, String)]) -> Params {
    let mut p = Params::default();
    let mut pairs: Vec<(&str, String)> = vec![
        ("tree_method", method.into()),
        ("grow_policy", policy.into()),
        ("boosting", boosting.into()),
        ("objective", objective.into()),
        ("num_round", "6".into()),
        ("max_depth", "4".into()),
        ("eta", "0.5".into()),
        ("min_child_weight", "0".into()),
        ("nthread", "1".into()),
    ];
    if policy == "lossguide" {
        pairs.push(("max_leaves", "12".into()));
    }
    if objective == "multi:softprob" {
        pairs.push(("num_class", "3".into()));
    }
    pairs.extend(extra.iter().cloned());
    p.apply(pairs.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
    p
}

/// `c` as XGBoost's tuple text: `(1,0,-1)`.
fn tuple(c: &[i8]) -> String {
    format!("({})", c.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(","))
}

/// Checks that `booster`'s margins move with each constrained feature of `c` along a grid of it,
/// from `bases` base rows drawn from the data and at random (other features fixed; some missing).
fn assert_monotone(booster: &Booster, cols: &[Vec<f32>], c: &[i8], seed: u64) -> Result<(), TestCaseError> {
    let nf = cols.len();
    let n = cols[0].len();
    let mut rng = StdRng::seed_from_u64(seed);
    for (j, &cj) in c.iter().enumerate() {
        if cj == 0 {
            continue;
        }
        // The grid: every distinct value of the feature, their midpoints and points beyond both ends.
        let mut grid: Vec<f32> = cols[j].iter().copied().filter(|v| !v.is_nan()).collect();
        grid.sort_by(f32::total_cmp);
        grid.dedup();
        let mids: Vec<f32> = grid.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect();
        grid.extend(mids);
        grid.extend([-100.0, -1.5, -1.0001, 1.0001, 1.5, 100.0]);
        grid.sort_by(f32::total_cmp);
        grid.dedup();
        let bases: Vec<Vec<f32>> = (0..8)
            .map(|b| {
                if b < 4 {
                    let r = rng.random_range(0..n);
                    (0..nf).map(|f| cols[f][r]).collect()
                } else {
                    (0..nf)
                        .map(|_| {
                            if rng.random::<f32>() < 0.15 {
                                f32::NAN
                            } else {
                                rng.random_range(-1.6f32..1.6)
                            }
                        })
                        .collect()
                }
            })
            .collect();
        let mut grid_cols = vec![Vec::with_capacity(bases.len() * grid.len()); nf];
        for base in &bases {
            for &g in &grid {
                for f in 0..nf {
                    grid_cols[f].push(if f == j { g } else { base[f] });
                }
            }
        }
        let data = Dataset::from_columns(grid_cols).unwrap();
        let opts = PredictOptions {
            output: PredictOutput::Margin,
            ..Default::default()
        };
        let pred = booster.predict(&data, opts).unwrap();
        let m = grid.len();
        for (b, base) in bases.iter().enumerate() {
            for i in 1..m {
                let (lo, hi) = (pred.row(b * m + i - 1), pred.row(b * m + i));
                for (k, (a, z)) in lo.iter().zip(hi).enumerate() {
                    let ok = if cj > 0 { z >= a } else { z <= a };
                    prop_assert!(
                        ok,
                        "feature {j} (constraint {cj}), class {k}, base {:?}: margin {a} at {} then {z} at {}",
                        base,
                        grid[i - 1],
                        grid[i]
                    );
                }
            }
        }
    }
    Ok(())
}

fn shape_strategy() -> impl Strategy<Value = Shape> {
    prop_oneof![
        Just(Shape::Linear),
        Just(Shape::Interactions),
        Just(Shape::Ties),
        Just(Shape::Missing)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Random data, random constraints, a random configuration: margins are monotone.
    #[test]
    fn margins_follow_monotone_constraints(
        shape in shape_strategy(),
        nf in 2usize..5,
        raw in proptest::collection::vec(-1i8..=1, 4),
        pick in (0usize..3, 0usize..2, 0usize..2, 0usize..4),
        lambda in prop_oneof![Just(1.0f64), Just(0.0), Just(5.0)],
        alpha in prop_oneof![3 => Just(0.0f64), 1 => Just(0.5)],
        colsample in prop_oneof![3 => Just(1.0f64), 1 => Just(0.7)],
        quantized in any::<bool>(),
        seed in 0u64..1000,
    ) {
        let mut c: Vec<i8> = raw[..nf].to_vec();
        if c.iter().all(|&v| v == 0) {
            c[0] = 1;
        }
        let (method, policy, boosting, objective) =
            (METHODS[pick.0], POLICIES[pick.1], BOOSTING[pick.2], OBJECTIVES[pick.3]);
        let (cols, signal) = features(shape, 300, nf, seed);
        let y = labels(objective, &signal);
        let train = Dataset::from_columns(cols.clone()).unwrap().with_labels(y).unwrap();
        let p = params(method, policy, boosting, objective, &[
            ("monotone_constraints", tuple(&c)),
            ("lambda", lambda.to_string()),
            ("alpha", alpha.to_string()),
            ("colsample_bynode", colsample.to_string()),
            ("use_quantized_grad", quantized.to_string()),
            ("seed", seed.to_string()),
        ]);
        let booster = Booster::train(&p, &train, &[]).unwrap();
        assert_monotone(&booster, &cols, &c, seed)?;
    }
}

/// Every method x policy x boosting x objective once, on data whose signal runs against some of
/// the constraints (so that they bite).
#[test]
fn every_configuration_is_monotone() {
    let c = [1i8, -1, 0, 1];
    for (s, shape) in [Shape::Interactions, Shape::Missing].into_iter().enumerate() {
        let (cols, signal) = features(shape, 300, 4, 7 + s as u64);
        for method in METHODS {
            for policy in POLICIES {
                for boosting in BOOSTING {
                    for objective in OBJECTIVES.iter().chain(&MORE_OBJECTIVES) {
                        let y = labels(objective, &signal);
                        let train = Dataset::from_columns(cols.clone()).unwrap().with_labels(y).unwrap();
                        let p = params(
                            method,
                            policy,
                            boosting,
                            objective,
                            &[("monotone_constraints", tuple(&c))],
                        );
                        let booster = Booster::train(&p, &train, &[]).unwrap();
                        assert_monotone(&booster, &cols, &c, 11)
                            .unwrap_or_else(|e| panic!("{method} {policy} {boosting} {objective} {shape:?}: {e}"));
                    }
                }
            }
        }
    }
}

/// The constraint is not free: on data that falls with feature 0, a model constrained to rise in
/// it fits worse than an unconstrained one, and is flat in it (the best monotone fit of a falling
/// signal).
#[test]
fn a_constraint_against_the_signal_flattens_the_feature() {
    let n = 400;
    let x0: Vec<f32> = (0..n).map(|i| i as f32 / n as f32).collect();
    let x1: Vec<f32> = (0..n).map(|i| ((i * 37) % 101) as f32 / 101.0).collect();
    let y: Vec<f32> = x0.iter().zip(&x1).map(|(a, b)| -3.0 * a + b).collect();
    let cols = vec![x0, x1];
    let train = Dataset::from_columns(cols.clone()).unwrap().with_labels(y).unwrap();
    let free = params("hist", "depthwise", "newton", "reg:squarederror", &[]);
    let tied = params(
        "hist",
        "depthwise",
        "newton",
        "reg:squarederror",
        &[("monotone_constraints", "(1,0)".into())],
    );
    let free = Booster::train(&free, &train, &[]).unwrap();
    let tied = Booster::train(&tied, &train, &[]).unwrap();
    let rmse = |b: &Booster| b.evaluate(&train, &["rmse".parse().unwrap()]).unwrap()[0].1;
    assert!(rmse(&tied) > rmse(&free) + 0.1, "{} vs {}", rmse(&tied), rmse(&free));
    assert_monotone(&tied, &cols, &[1, 0], 3).unwrap();
    assert!(tied
        .trees()
        .iter()
        .all(|t| (0..t.left.len()).all(|i| t.left[i] < 0 || t.feature[i] != 0)));
}

/// The sets of features used on every root-to-leaf path of `tree`.
fn path_features(tree: &Tree) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let mut stack = vec![(0usize, Vec::<u32>::new())];
    while let Some((node, mut path)) = stack.pop() {
        if tree.left[node] < 0 {
            path.sort_unstable();
            path.dedup();
            out.push(path);
            continue;
        }
        path.push(tree.feature[node]);
        stack.push((tree.left[node] as usize, path.clone()));
        stack.push((tree.right[node] as usize, path));
    }
    out
}

/// Whether every path of every tree lies in one of `groups`, or uses one feature only (a feature
/// in no group, chosen at the root, may be split on again below it and nothing else).
fn paths_obey(booster: &Booster, groups: &[Vec<u32>]) -> Result<(), String> {
    for (t, tree) in booster.trees().iter().enumerate() {
        for path in path_features(tree) {
            let ok = path.len() <= 1 || groups.iter().any(|g| path.iter().all(|f| g.contains(f)));
            if !ok {
                return Err(format!("tree {t} has a path using features {path:?}"));
            }
        }
    }
    Ok(())
}

/// Data whose label needs features of different groups together: y = x0 * x2 + x1 * x3 + x4.
fn interacting(n: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<f32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let cols: Vec<Vec<f32>> = (0..5)
        .map(|_| (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect())
        .collect();
    let y = (0..n)
        .map(|i| 2.0 * cols[0][i] * cols[2][i] + cols[1][i] * cols[3][i] + cols[4][i] + cols[0][i])
        .collect();
    (cols, y)
}

#[test]
fn every_path_stays_in_one_interaction_group() {
    let (cols, y) = interacting(500, 1);
    let names: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
    let train = Dataset::from_columns(cols)
        .unwrap()
        .with_feature_names(names)
        .unwrap()
        .with_labels(y)
        .unwrap();
    // Feature 4 ("e") is in no group.
    let groups: Vec<Vec<u32>> = vec![vec![0, 1], vec![2, 3], vec![1, 3]];
    for method in METHODS {
        for policy in POLICIES {
            let free = params(method, policy, "newton", "reg:squarederror", &[]);
            let free = Booster::train(&free, &train, &[]).unwrap();
            assert!(
                paths_obey(&free, &groups).is_err(),
                "{method} {policy}: the data should make unconstrained trees mix the groups"
            );
            for spec in [
                "[[0, 1], [2, 3], [1, 3]]",
                "[[\"a\", \"b\"], [\"c\", \"d\"], [\"b\", 3]]",
            ] {
                let p = params(
                    method,
                    policy,
                    "newton",
                    "reg:squarederror",
                    &[
                        ("interaction_constraints", spec.into()),
                        ("colsample_bynode", "0.8".into()),
                    ],
                );
                let booster = Booster::train(&p, &train, &[]).unwrap();
                paths_obey(&booster, &groups).unwrap_or_else(|e| panic!("{method} {policy} {spec}: {e}"));
                assert!(booster.trees().iter().any(|t| t.left.len() > 3));
            }
        }
    }
}

#[test]
fn a_feature_in_no_group_is_only_used_alone() {
    // y depends mostly on x4, which is in no group: a tree that starts with it uses nothing else.
    let (cols, _) = interacting(400, 2);
    let y: Vec<f32> = (0..400).map(|i| 5.0 * cols[4][i] + cols[0][i] * cols[1][i]).collect();
    let train = Dataset::from_columns(cols).unwrap().with_labels(y).unwrap();
    for method in METHODS {
        let p = params(
            method,
            "depthwise",
            "newton",
            "reg:squarederror",
            &[("interaction_constraints", "[[0, 1]]".into())],
        );
        let booster = Booster::train(&p, &train, &[]).unwrap();
        let mut alone = 0;
        for tree in booster.trees() {
            for path in path_features(tree) {
                if path.contains(&4) {
                    assert_eq!(path, vec![4], "{method}");
                    alone += 1;
                }
            }
        }
        assert!(alone > 0, "{method}: x4 should be used");
    }
}

#[test]
fn bad_interaction_names_are_refused_by_name() {
    let (cols, y) = interacting(100, 3);
    let names: Vec<String> = ["a", "b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
    let train = Dataset::from_columns(cols)
        .unwrap()
        .with_feature_names(names)
        .unwrap()
        .with_labels(y)
        .unwrap();
    for spec in ["[[\"a\", \"nope\"]]", "[[0, 9]]"] {
        let p = params(
            "hist",
            "depthwise",
            "newton",
            "reg:squarederror",
            &[("interaction_constraints", spec.into())],
        );
        let err = Booster::train(&p, &train, &[]).unwrap_err().to_string();
        assert!(err.contains("interaction_constraints"), "{err}");
    }
}

/// Every number of a model's trees, as bits.
fn fingerprint(b: &Booster) -> Vec<Vec<u64>> {
    b.trees()
        .iter()
        .map(|t| {
            let mut v: Vec<u64> = Vec::new();
            v.extend(t.left.iter().map(|&x| x as u64));
            v.extend(t.right.iter().map(|&x| x as u64));
            v.extend(t.feature.iter().map(|&x| x as u64));
            v.extend(t.default_left.iter().map(|&x| x as u64));
            v.extend(t.threshold.iter().map(|x| x.to_bits() as u64));
            v.extend(t.value.iter().map(|x| x.to_bits() as u64));
            v.extend(t.gain.iter().map(|x| x.to_bits() as u64));
            v.extend(t.cover.iter().map(|x| x.to_bits() as u64));
            v
        })
        .collect()
}

#[test]
fn constrained_models_do_not_depend_on_the_thread_count() {
    // More rows than one histogram chunk (8,192), so that the chunked sums run on both threads.
    let (cols, signal) = features(Shape::Missing, 10_000, 4, 5);
    for method in METHODS {
        for policy in POLICIES {
            for objective in ["reg:squarederror", "multi:softprob"] {
                let train = Dataset::from_columns(cols.clone())
                    .unwrap()
                    .with_labels(labels(objective, &signal))
                    .unwrap();
                let model = |threads: &str| {
                    let p = params(
                        method,
                        policy,
                        "newton",
                        objective,
                        &[
                            ("monotone_constraints", "(1,-1,0,1)".into()),
                            ("interaction_constraints", "[[0, 1, 2], [2, 3]]".into()),
                            ("nthread", threads.into()),
                        ],
                    );
                    fingerprint(&Booster::train(&p, &train, &[]).unwrap())
                };
                assert!(model("1") == model("2"), "{method} {policy} {objective}");
            }
        }
    }
}

/// The check above is not vacuous: the same data trained without the constraint break it.
#[test]
fn unconstrained_models_fail_the_monotone_check() {
    let (cols, signal) = features(Shape::Interactions, 300, 4, 7);
    let y = labels("reg:squarederror", &signal);
    let train = Dataset::from_columns(cols.clone()).unwrap().with_labels(y).unwrap();
    let p = params("hist", "depthwise", "newton", "reg:squarederror", &[]);
    let booster = Booster::train(&p, &train, &[]).unwrap();
    assert!(assert_monotone(&booster, &cols, &[1, -1, 0, 1], 11).is_err());
}
