//! Differential tests of the feature constraints: Sylvan against XGBoost 3.2 with the same
//! `monotone_constraints` / `interaction_constraints`, the same parameters (tree_method hist, eta,
//! max_depth, lambda, min_child_weight, max_bin, 2 threads) and the same f32 data (written as .npy
//! and read by `tests/python/reference.py`, which hands the constraints to XGBoost in its own text
//! forms). Both models' test predictions are scored by the same Rust code (`common::rmse`,
//! `common::auc`).
//!
//! Tolerances are one-sided: Sylvan may be better by any amount, but not worse than XGBoost by more
//! than 1 % of XGBoost's test RMSE (regression) or 0.003 of its test AUC (binary). Besides the
//! score, every case checks the constraint itself on Sylvan's model, exactly:
//! - monotone: along a grid of 64 values of each constrained feature (its training range), with the
//!   other features held at the values of 40 test rows, the margin never moves against the
//!   constraint (no tolerance: each tree is monotone and the f32 sums keep the order);
//! - interaction: every root-to-leaf path of every tree uses features of one allowed group (or one
//!   feature in no group, which can then only be split on alone). XGBoost's trees are checked the
//!   same way, so that both sides run under the same rule.
//!
//! Each generator has at least one constrained feature whose true effect obeys the constraint and,
//! for the monotone cases, one whose true effect does not (a sine constrained to rise), so the
//! constraint changes the model: the unconstrained Sylvan model is checked to break it on the grid.
//!
//! Measured with `SYLVAN_DIFF_SEEDS=5` (seeds from the default on); the test runs one seed. The
//! measured differences (Sylvan - XGBoost; RMSE relative, AUC absolute; negative RMSE / positive
//! AUC = Sylvan better) are listed at each case. Every grid and path check passed on every seed.
//!
//! A first interaction generator with smooth products (1.5 x0 x1 + 2 sin(x2) x3 + ..., noise sd
//! 0.3) was dropped: its constrained test RMSE moved by -11 % .. +8.5 % between the libraries
//! over 5 seeds, in both directions (the unconstrained models by up to 8 % too). With little noise
//! and hard-to-fit products, which group a tree's root takes decides much of the tree, so the score
//! measures the greedy path rather than the constraint. Step-shaped interactions and noise sd 1
//! keep the comparison stable (see `grouped_regression`).
//! The reference Python is found as in tests/differential.rs (`$SYLVAN_PYTHON`, ...); without
//! xgboost the tests print "skipping ..." and pass, unless `SYLVAN_REQUIRE_REFERENCE=1`.

mod common;

use common::{Gen, ScratchDir, Table};
use sylvan::{Booster, PredictOptions, PredictOutput};

/// Parameters of every case: XGBoost's defaults written out, 50 rounds, 2 threads.
fn base_params(objective: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("objective", objective),
        ("tree_method", "hist"),
        ("num_round", "50"),
        ("eta", "0.3"),
        ("max_depth", "6"),
        ("lambda", "1"),
        ("alpha", "0"),
        ("gamma", "0"),
        ("min_child_weight", "1"),
        ("max_bin", "256"),
        ("nthread", "2"),
        ("seed", "0"),
    ]
}

/// Largest relative excess of Sylvan's test RMSE over XGBoost's.
const TOL_RMSE: f64 = 0.01;
/// Largest shortfall of Sylvan's test AUC below XGBoost's.
const TOL_AUC: f64 = 0.003;

const TRAIN_ROWS: usize = 10_000;
const TEST_ROWS: usize = 5_000;
const GRID: usize = 64;
const GRID_ROWS: usize = 40;

/// Seeds of the data: `default`, or `SYLVAN_DIFF_SEEDS=N` seeds from `default` on.
fn seeds(default: u64) -> Vec<u64> {
    match std::env::var("SYLVAN_DIFF_SEEDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        Some(n) => (default..default + n).collect(),
        None => vec![default],
    }
}

// ------------------------------------------------------------------------------------------------
// Generators

/// Builds `n` rows of `m` features drawn by `draw`, labelled by `label` (from the f32 values).
fn table(
    n: usize,
    m: usize,
    seed: u64,
    draw: impl Fn(&mut Gen, usize) -> f64,
    mut label: impl FnMut(&[f64], &mut Gen) -> f64,
) -> Table {
    let mut g = Gen::new(seed);
    let mut noise = Gen::new(seed ^ 0x6d6f_6e6f_746f_6e65);
    let mut columns = vec![Vec::with_capacity(n); m];
    let mut labels = Vec::with_capacity(n);
    let mut x = vec![0.0; m];
    for _ in 0..n {
        for (j, v) in x.iter_mut().enumerate() {
            *v = draw(&mut g, j) as f32 as f64;
        }
        labels.push(label(&x, &mut noise) as f32);
        for (c, v) in columns.iter_mut().zip(&x) {
            c.push(*v as f32);
        }
    }
    Table::new(columns, labels)
}

/// Regression, 8 features: x0 rises (3 x0 + 0.3 sin 6 x0), x1 is a sine (not monotone), x2 x3 a
/// product, x4 a step up, x5 falls linearly, x6 and x7 noise; Gaussian noise sd 0.5.
fn monotone_regression(n: usize, seed: u64) -> Table {
    table(
        n,
        8,
        seed,
        |g, j| match j {
            0 | 4 => g.uniform(0.0, 1.0),
            1 | 5 => g.uniform(-2.0, 2.0),
            _ => g.normal(),
        },
        |x, noise| {
            3.0 * x[0] + 0.3 * (6.0 * x[0]).sin() + (2.0 * x[1]).sin() + x[2] * x[3] + 1.5 * (x[4] > 0.3) as u8 as f64
                - 0.8 * x[5]
                + 0.5 * noise.normal()
        },
    )
}

/// Binary, 8 features: logit = 2 x0 (rises) + 1.2 cos(2 x1) (not monotone) + x2 x3 - 1.5 x4
/// (falls) + 0.8 tanh(x5) + noise features x6, x7; labels Bernoulli(sigmoid(logit)).
fn monotone_binary(n: usize, seed: u64) -> Table {
    table(
        n,
        8,
        seed,
        |g, j| match j {
            0 | 4 => g.uniform(-1.0, 1.0),
            1 => g.uniform(-2.0, 2.0),
            _ => g.normal(),
        },
        |x, noise| {
            let logit = 2.0 * x[0] + 1.2 * (2.0 * x[1]).cos() + x[2] * x[3] - 1.5 * x[4] + 0.8 * x[5].tanh();
            noise.bernoulli(1.0 / (1.0 + (-logit).exp())) as u8 as f64
        },
    )
}

/// Regression with interactions inside three groups only, as steps (which trees fit without the
/// path-dependent approximation error of smooth products, so the two libraries' scores are stable):
/// 2 [x0 > 0][x1 > 0.5] - 1.5 [x2 < -0.5] sign(x3) + [x4 > 1][x5 < 0] + sin(x0), plus 0.5 x6 - |x7|
/// (features in no group); x uniform in [-2, 2), Gaussian noise sd 1.
fn grouped_regression(n: usize, seed: u64) -> Table {
    let step = |b: bool| b as u8 as f64;
    table(
        n,
        8,
        seed,
        |g, _| g.uniform(-2.0, 2.0),
        |x, noise| {
            2.0 * step(x[0] > 0.0) * step(x[1] > 0.5) - 1.5 * step(x[2] < -0.5) * x[3].signum()
                + step(x[4] > 1.0) * step(x[5] < 0.0)
                + x[0].sin()
                + 0.5 * x[6]
                - x[7].abs()
                + noise.normal()
        },
    )
}

// ------------------------------------------------------------------------------------------------
// The checks on Sylvan's model

/// Margins of `rows` (row-major, `m` features).
fn margins(b: &Booster, rows: &[f32], m: usize) -> Vec<f32> {
    let columns: Vec<Vec<f32>> = (0..m)
        .map(|j| rows.iter().skip(j).step_by(m).copied().collect())
        .collect();
    let data = sylvan::Dataset::from_columns(columns).expect("grid data");
    let options = PredictOptions {
        output: PredictOutput::Margin,
        ..PredictOptions::default()
    };
    b.predict(&data, options).expect("Sylvan predicts").values
}

/// How many neighbouring grid steps move against `sign` along feature `j`, over `GRID_ROWS` test
/// rows held fixed otherwise; the grid spans the training range of feature `j`.
fn monotone_violations(b: &Booster, train: &Table, test: &Table, j: usize, sign: i8) -> usize {
    let m = train.num_features();
    let present = train.columns[j].iter().filter(|v| !v.is_nan());
    let (lo, hi) = present.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    let mut rows = Vec::with_capacity(GRID_ROWS * GRID * m);
    for r in 0..GRID_ROWS {
        let i = r * (test.num_rows() / GRID_ROWS);
        for k in 0..GRID {
            for f in 0..m {
                rows.push(if f == j {
                    lo + (hi - lo) * k as f32 / (GRID - 1) as f32
                } else {
                    test.columns[f][i]
                });
            }
        }
    }
    let p = margins(b, &rows, m);
    p.chunks(GRID)
        .flat_map(|c| c.windows(2).map(|w| f32::from(sign) * (w[1] - w[0])))
        .filter(|d| *d < 0.0)
        .count()
}

/// Parses XGBoost's monotone text "(1,0,-1)".
fn parse_monotone(text: &str) -> Vec<i8> {
    text.trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(|v| v.trim().parse().expect("a constraint"))
        .collect()
}

/// The set of features of every root-to-leaf path of a tree given by its children and features.
fn path_sets(left: &[i64], right: &[i64], feature: &[u32]) -> Vec<Vec<u32>> {
    let mut out = Vec::new();
    let mut stack = vec![(0usize, Vec::<u32>::new())];
    while let Some((node, mut used)) = stack.pop() {
        if left[node] < 0 {
            out.push(used);
            continue;
        }
        if !used.contains(&feature[node]) {
            used.push(feature[node]);
        }
        stack.push((left[node] as usize, used.clone()));
        stack.push((right[node] as usize, used));
    }
    out
}

/// Whether a path's features lie in one group (or are one feature alone).
fn path_allowed(used: &[u32], groups: &[Vec<u32>]) -> bool {
    used.len() <= 1 || groups.iter().any(|g| used.iter().all(|f| g.contains(f)))
}

fn sylvan_paths(b: &Booster) -> Vec<Vec<u32>> {
    b.trees()
        .iter()
        .flat_map(|t| {
            let left: Vec<i64> = t.left.iter().map(|&v| v as i64).collect();
            let right: Vec<i64> = t.right.iter().map(|&v| v as i64).collect();
            path_sets(&left, &right, &t.feature)
        })
        .collect()
}

fn xgboost_paths(result: &serde_json::Value) -> Vec<Vec<u32>> {
    let ints = |v: &serde_json::Value| -> Vec<i64> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|x| x.as_i64().expect("an int"))
            .collect()
    };
    result["trees"]
        .as_array()
        .expect("trees")
        .iter()
        .flat_map(|t| {
            let feature: Vec<u32> = ints(&t["split_indices"]).into_iter().map(|f| f as u32).collect();
            path_sets(&ints(&t["left_children"]), &ints(&t["right_children"]), &feature)
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// Running a case

/// The scores of one case: Sylvan and XGBoost with the constraint, and Sylvan without it.
struct Scores {
    sylvan: f64,
    xgboost: f64,
    sylvan_free: f64,
    xgboost_free: f64,
}

/// Trains Sylvan and XGBoost with `params` plus `constraint`, and both without it; returns the
/// constrained Sylvan model, XGBoost's constrained result and the scores (RMSE or AUC).
fn run(
    name: &str,
    train: &Table,
    test: &Table,
    params: &[(&'static str, &'static str)],
    constraint: (&'static str, &'static str),
) -> Option<(Booster, Booster, serde_json::Value, Scores)> {
    let reference = common::reference()?;
    let dir = ScratchDir::new(&format!("constraints-{name}"));
    train.write_npy(dir.path(), "train").expect("write train .npy");
    test.write_npy(dir.path(), "test").expect("write test .npy");
    let mut constrained = params.to_vec();
    constrained.push(constraint);
    let binary = params
        .iter()
        .any(|(k, v)| *k == "objective" && v.starts_with("binary:"));
    let score = |pred: &[f32]| {
        if binary {
            common::auc(&test.labels, pred)
        } else {
            common::rmse(&test.labels, pred)
        }
    };
    let fit = |p: &[(&str, &str)]| {
        let b = Booster::train(&common::sylvan_params(p), &train.to_dataset(), &[]).expect("Sylvan trains");
        let pred = b
            .predict(&test.to_dataset(), PredictOptions::default())
            .expect("Sylvan predicts")
            .values;
        (b, pred)
    };
    let (model, pred) = fit(&constrained);
    let (free_model, free_pred) = fit(params);
    let results = common::run_reference_batch(
        &reference,
        &[
            (
                "xgboost",
                format!("{name}-constrained"),
                dir.path().to_path_buf(),
                constrained.clone(),
            ),
            (
                "xgboost",
                format!("{name}-free"),
                dir.path().to_path_buf(),
                params.to_vec(),
            ),
        ],
    );
    let scores = Scores {
        sylvan: score(&pred),
        xgboost: score(&common::reference_predictions(&results[0])),
        sylvan_free: score(&free_pred),
        xgboost_free: score(&common::reference_predictions(&results[1])),
    };
    let what = if binary { "AUC" } else { "RMSE" };
    eprintln!(
        "{name}: {what} Sylvan {:.5} XGBoost {:.5} (diff {:+.5}{}); without {}: Sylvan {:.5} XGBoost {:.5}",
        scores.sylvan,
        scores.xgboost,
        if binary {
            scores.sylvan - scores.xgboost
        } else {
            (scores.sylvan - scores.xgboost) / scores.xgboost
        },
        if binary { "" } else { " relative" },
        constraint.0,
        scores.sylvan_free,
        scores.xgboost_free,
    );
    Some((model, free_model, results[0].clone(), scores))
}

/// The one-sided score check: a message when Sylvan is worse than the tolerance allows.
fn score_failure(name: &str, binary: bool, s: &Scores) -> Option<String> {
    if binary && s.sylvan < s.xgboost - TOL_AUC {
        return Some(format!(
            "{name}: Sylvan's AUC {:.5} is more than {TOL_AUC} below XGBoost's {:.5}",
            s.sylvan, s.xgboost
        ));
    }
    if !binary && s.sylvan > s.xgboost * (1.0 + TOL_RMSE) {
        return Some(format!(
            "{name}: Sylvan's RMSE {:.5} is more than {}% above XGBoost's {:.5}",
            s.sylvan,
            TOL_RMSE * 100.0,
            s.xgboost
        ));
    }
    None
}

/// Runs `case` for every seed (all of them, so that a measurement sees every seed), then fails
/// with every score failure.
fn for_seeds(default: u64, case: impl Fn(u64) -> Option<String>) {
    let failures: Vec<String> = seeds(default).into_iter().filter_map(case).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// One monotone case: scores, then the grid check on the constrained model (no violation) and on
/// the unconstrained one (some violation on a feature whose true effect breaks the constraint).
fn monotone_case(
    name: &str,
    make: fn(usize, u64) -> Table,
    objective: &'static str,
    constraint: &'static str,
    seed: u64,
) -> Option<String> {
    let (train, test) = make(TRAIN_ROWS + TEST_ROWS, seed).split_at(TRAIN_ROWS);
    let binary = objective.starts_with("binary:");
    let name = format!("{name}-seed{seed}");
    let (model, free, _, scores) = run(
        &name,
        &train,
        &test,
        &base_params(objective),
        ("monotone_constraints", constraint),
    )?;
    let signs = parse_monotone(constraint);
    let mut free_violations = 0;
    for (j, &sign) in signs.iter().enumerate().filter(|(_, &c)| c != 0) {
        let v = monotone_violations(&model, &train, &test, j, sign);
        assert_eq!(
            v, 0,
            "{name}: the constrained model moves against {sign:+} along feature {j} {v} times"
        );
        free_violations += monotone_violations(&free, &train, &test, j, sign);
    }
    assert!(
        free_violations > 0,
        "{name}: the unconstrained model obeys the constraint already (no teeth)"
    );
    score_failure(&name, binary, &scores)
}

/// One interaction case: scores, then every path of both libraries' trees within one group.
fn interaction_case(
    name: &str,
    make: fn(usize, u64) -> Table,
    objective: &'static str,
    groups: &'static str,
    seed: u64,
) -> Option<String> {
    let (train, test) = make(TRAIN_ROWS + TEST_ROWS, seed).split_at(TRAIN_ROWS);
    let binary = objective.starts_with("binary:");
    let name = format!("{name}-seed{seed}");
    let (model, free, xgb, scores) = run(
        &name,
        &train,
        &test,
        &base_params(objective),
        ("interaction_constraints", groups),
    )?;
    let allowed: Vec<Vec<u32>> = serde_json::from_str(groups).expect("groups JSON");
    for used in sylvan_paths(&model) {
        assert!(
            path_allowed(&used, &allowed),
            "{name}: a Sylvan path uses {used:?}, outside {allowed:?}"
        );
    }
    for used in xgboost_paths(&xgb) {
        assert!(
            path_allowed(&used, &allowed),
            "{name}: an XGBoost path uses {used:?}, outside {allowed:?}"
        );
    }
    assert!(
        sylvan_paths(&free).iter().any(|u| !path_allowed(u, &allowed)),
        "{name}: the unconstrained model obeys the groups already (no teeth)"
    );
    score_failure(&name, binary, &scores)
}

// ------------------------------------------------------------------------------------------------
// The cases

/// x0 +1 (true), x1 +1 (a sine: the constraint costs accuracy), x5 -1 (true). Measured (seeds
/// 31..35): -1.37, +0.39, -0.23, -1.21, -0.54 % (the constraint raises RMSE from ~0.66 to ~0.79 in
/// both libraries).
#[test]
fn monotone_regression_rmse_matches_xgboost() {
    for_seeds(31, |seed| {
        monotone_case(
            "monotone-regression",
            monotone_regression,
            "reg:squarederror",
            "(1,1,0,0,0,-1,0,0)",
            seed,
        )
    });
}

/// `regression_missing` (10 % missing values): x0 +1 (a sine), x8 +1 and x9 -1 (true effects).
/// Measured (seeds 41..45): -0.11, -0.03, +0.06, -0.59, -0.16 %.
#[test]
fn monotone_regression_with_missing_values_rmse_matches_xgboost() {
    for_seeds(41, |seed| {
        monotone_case(
            "monotone-missing",
            |n, s| common::regression_missing(n, s, 0.1),
            "reg:squarederror",
            "(1,0,0,0,0,0,0,0,1,-1)",
            seed,
        )
    });
}

/// x0 +1 (true), x1 -1 (a cosine), x4 -1 (true). Measured (seeds 51..55): +0.0015, -0.0001,
/// -0.0002, +0.0029, -0.0013 (the constraint lowers AUC from ~0.84 to ~0.82 in both libraries).
#[test]
fn monotone_binary_auc_matches_xgboost() {
    for_seeds(51, |seed| {
        monotone_case(
            "monotone-binary",
            monotone_binary,
            "binary:logistic",
            "(1,-1,0,0,-1,0,0,0)",
            seed,
        )
    });
}

/// The groups of the true interactions; x6 and x7 in no group. Measured (seeds 61..65): -0.35,
/// +0.15, +0.14, +0.04, -0.03 %.
#[test]
fn interaction_constraints_regression_rmse_match_xgboost() {
    for_seeds(61, |seed| {
        interaction_case(
            "interaction-regression",
            grouped_regression,
            "reg:squarederror",
            "[[0, 1], [2, 3], [4, 5]]",
            seed,
        )
    });
}

/// `binary_nonlinear` (x1 x2, x6 with x0, x8 with x1 interact) with groups that allow those and
/// split the rest. Measured (seeds 71..75): -0.0015, +0.0047, +0.0024, +0.0009, -0.0016.
#[test]
fn interaction_constraints_binary_auc_match_xgboost() {
    for_seeds(71, |seed| {
        interaction_case(
            "interaction-binary",
            common::binary_nonlinear,
            "binary:logistic",
            "[[0, 4, 5, 6], [1, 2, 8], [3, 7, 9]]",
            seed,
        )
    });
}
