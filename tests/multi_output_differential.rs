//! Several outputs against XGBoost 3.2 (`tests/python/multi_output_reference.py`) on generated
//! data with the same parameters (hist, depth 4, eta 0.1, max_bin 256, lambda 1, 2 threads, 60
//! rounds):
//! - Multi-quantile (`quantile_alpha` = 0.1, 0.5, 0.9) on two generators (heteroscedastic
//!   sine with Gaussian noise; skewed, heavy-tailed noise with a step), four data sets each
//!   (20,000 training, 3,000 test rows): Sylvan's test pinball loss per quantile, as a ratio to
//!   XGBoost's, at most 1.08 on each data set and 1.03 on average; and no crossing on any test
//!   row, extrapolation rows (features 4x outside the training range) included (XGBoost's own
//!   crossings are printed: 6 to 30 of 3,000 rows on the heteroscedastic sets). Measured mean
//!   ratios: skewed within 1 % at every level; heteroscedastic 1.023 at 0.1, 1.007 at 0.5, 0.992
//!   at 0.9: the 0.1 quantile is about 2 % behind XGBoost there, for reasons not found yet (not
//!   the rearrangement: the raw outputs score the same; not gradient quantization).
//! - Several targets (3: a smooth one, a noisy interaction, a large-scale step), with
//!   `one_output_per_tree` and `multi_output_tree`, one data set: test RMSE per target at most
//!   1 % above XGBoost's (measured ratios 0.980 to 1.005).
//! - Export: each of these models written as XGBoost JSON predicts, in XGBoost, the raw outputs
//!   (margins) Sylvan computes to 1e-5; XGBoost's own `multi_output_tree` model (vector leaves)
//!   imported into Sylvan predicts what XGBoost predicts to 1e-5.
//!
//! `reg:expectileerror` exists from XGBoost 3.3; the pinned 3.2 cannot load or train it, so
//! expectiles are checked against their definition in `booster/tests/multi_output.rs`.
//!
//! Without a Python that has xgboost the tests print "skipping" and pass, unless
//! `SYLVAN_REQUIRE_REFERENCE=1`.

mod common;

use common::{Gen, ScratchDir};
use serde_json::{json, Value};
use sylvan::io::export::{from_xgboost_json, to_xgboost_json};
use sylvan::{Booster, Dataset, Params, PredictOptions, PredictOutput};

const FEATURES: usize = 5;
const ROUNDS: usize = 60;

fn features(g: &mut Gen, n: usize, spread: f64) -> Vec<Vec<f32>> {
    (0..n)
        .map(|_| (0..FEATURES).map(|_| (g.uniform(-2.0, 2.0) * spread) as f32).collect())
        .collect()
}

/// Heteroscedastic: `2 sin(x0) + x1 x2` plus Gaussian noise of scale `0.2 + |x0|`.
fn hetero(g: &mut Gen, x: &[Vec<f32>]) -> Vec<f32> {
    x.iter()
        .map(|r| {
            let (a, b, c) = (r[0] as f64, r[1] as f64, r[2] as f64);
            (2.0 * a.sin() + b * c + (0.2 + a.abs()) * g.normal()) as f32
        })
        .collect()
}

/// Skewed, heavy-tailed: a step in x3 plus exponential noise scaled by x4, and Laplace noise.
fn skewed(g: &mut Gen, x: &[Vec<f32>]) -> Vec<f32> {
    x.iter()
        .map(|r| {
            let step = if r[3] > 0.5 { 3.0 } else { -1.0 };
            (step + (1.0 + r[4].abs() as f64) * g.exponential() + g.laplace(0.3)) as f32
        })
        .collect()
}

/// Three targets of different shapes and scales, row-major.
fn targets(g: &mut Gen, x: &[Vec<f32>]) -> Vec<f32> {
    x.iter()
        .flat_map(|r| {
            let (a, b, c, d) = (r[0] as f64, r[1] as f64, r[2] as f64, r[3] as f64);
            [
                (a + 0.5 * b * b + 0.1 * g.normal()) as f32,
                (b * c + 0.8 * g.normal()) as f32,
                (if d > 0.0 { 20.0 } else { -5.0 } + 4.0 * a + 2.0 * g.normal()) as f32,
            ]
        })
        .collect()
}

fn dataset(x: &[Vec<f32>]) -> Dataset {
    let flat: Vec<f32> = x.iter().flatten().copied().collect();
    Dataset::from_rows(&flat, FEATURES).unwrap()
}

fn run(mode: &[&str], what: &str) -> Option<()> {
    let r = common::reference()?;
    let script = common::repo_root().join("tests/python/multi_output_reference.py");
    let o = std::process::Command::new(&r.python)
        .arg(&script)
        .args(mode)
        .output()
        .unwrap();
    assert!(o.status.success(), "{what}: {}", String::from_utf8_lossy(&o.stderr));
    Some(())
}

/// Trains XGBoost on `spec`; `None` (after a skip message) without XGBoost.
fn xgboost(what: &str, spec: &Value, dir: &ScratchDir) -> Option<Value> {
    let inp = dir.path().join(format!("{what}-in.json"));
    let out = dir.path().join(format!("{what}-out.json"));
    std::fs::write(&inp, spec.to_string()).unwrap();
    run(&["train", inp.to_str().unwrap(), out.to_str().unwrap()], what)?;
    Some(serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap())
}

/// XGBoost's predictions (`"pred"`/`"margin"`, rows x outputs) of a model file on rows `x`.
fn xgboost_predict(model: &std::path::Path, x: &[Vec<f32>], dir: &ScratchDir) -> Option<Value> {
    let inp = dir.path().join("predict-in.json");
    let out = dir.path().join("predict-out.json");
    std::fs::write(&inp, json!({ "x": x }).to_string()).unwrap();
    run(
        &[
            "predict",
            model.to_str().unwrap(),
            inp.to_str().unwrap(),
            out.to_str().unwrap(),
        ],
        "predict",
    )?;
    Some(serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap())
}

fn matrix(v: &Value) -> Vec<Vec<f32>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect()
}

const COMMON: [(&str, &str); 6] = [
    ("tree_method", "hist"),
    ("max_depth", "4"),
    ("eta", "0.1"),
    ("max_bin", "256"),
    ("nthread", "2"),
    ("lambda", "1"),
];

fn xgb_params(extra: &[(&str, Value)]) -> Value {
    let mut m = serde_json::Map::new();
    for (k, v) in COMMON {
        m.insert(k.into(), json!(v));
    }
    m.insert("num_round".into(), json!(ROUNDS));
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    Value::Object(m)
}

fn sylvan_params(extra: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    for (k, v) in COMMON.iter().chain(extra) {
        p.set(k, v).unwrap();
    }
    p.set("num_round", &ROUNDS.to_string()).unwrap();
    p.validate().unwrap();
    p
}

fn pinball(alpha: f64, y: &[f32], pred: impl Iterator<Item = f32>) -> f64 {
    let s: f64 = y
        .iter()
        .zip(pred)
        .map(|(y, p)| {
            let d = (*y - p) as f64;
            if d >= 0.0 {
                alpha * d
            } else {
                (alpha - 1.0) * d
            }
        })
        .sum();
    s / y.len() as f64
}

fn margins(b: &Booster, d: &Dataset) -> Vec<f32> {
    b.predict(
        d,
        PredictOptions {
            output: PredictOutput::Margin,
            ..Default::default()
        },
    )
    .unwrap()
    .values
}

/// Exports `b` to XGBoost JSON and checks that XGBoost predicts its margins on `x` to 1e-5.
fn export_matches(b: &Booster, x: &[Vec<f32>], dir: &ScratchDir, what: &str) -> Option<()> {
    let path = dir.path().join(format!("{what}.json"));
    std::fs::write(&path, to_xgboost_json(b).unwrap()).unwrap();
    let theirs = xgboost_predict(&path, x, dir)?;
    let ours = margins(b, &dataset(x));
    let k = b.num_groups();
    let their = matrix(&theirs["margin"]);
    let mut worst = 0.0f32;
    for (i, row) in their.iter().enumerate() {
        assert_eq!(row.len(), k, "{what}: XGBoost gives {} outputs", row.len());
        for (j, v) in row.iter().enumerate() {
            let o = ours[i * k + j];
            worst = worst.max((v - o).abs() / o.abs().max(1.0));
        }
    }
    eprintln!("{what}: exported model in XGBoost, worst relative difference {worst:e}");
    assert!(worst <= 1e-5, "{what}: {worst}");
    Some(())
}

#[test]
fn multi_quantile_pinball_near_xgboost_and_never_crossing() {
    let alphas = [0.1, 0.5, 0.9];
    let dir = ScratchDir::new("multi-quantile");
    for name in ["hetero", "skewed"] {
        // Quantile trees refreshed to leaf quantiles vary with the data: one data set of 5,000
        // rows moved the ratio by up to 5 % either way, so the check is on the mean ratio over
        // four data sets of 20,000 training rows.
        let mut ratios = vec![Vec::new(); alphas.len()];
        for seed in 0..4u64 {
            let mut g = Gen::new(100 * seed + if name == "hetero" { 11 } else { 12 });
            let gen = |g: &mut Gen, x: &[Vec<f32>]| if name == "hetero" { hetero(g, x) } else { skewed(g, x) };
            let xt = features(&mut g, 20000, 1.0);
            let yt = gen(&mut g, &xt);
            let xs = features(&mut g, 3000, 1.0);
            let ys = gen(&mut g, &xs);
            let far = features(&mut g, 2000, 4.0);
            let spec = json!({
                "params": xgb_params(&[("objective", json!("reg:quantileerror")), ("quantile_alpha", json!(alphas))]),
                "train": {"x": xt, "label": yt},
                "test": {"x": xs},
            });
            let Some(r) = xgboost(name, &spec, &dir) else { return };
            let theirs = matrix(&r["pred_test"]);
            let p = sylvan_params(&[("objective", "reg:quantileerror"), ("quantile_alpha", "0.1,0.5,0.9")]);
            let train = dataset(&xt).with_labels(yt).unwrap();
            let b = Booster::train(&p, &train, &[]).unwrap();
            let ours = b.predict(&dataset(&xs), PredictOptions::default()).unwrap().values;
            for (j, a) in alphas.iter().enumerate() {
                let mine = pinball(*a, &ys, ours.iter().skip(j).step_by(3).copied());
                let xgb = pinball(*a, &ys, theirs.iter().map(|r| r[j]));
                let raw = pinball(*a, &ys, margins(&b, &dataset(&xs)).iter().skip(j).step_by(3).copied());
                eprintln!("{name} seed {seed} alpha {a}: pinball sylvan {mine:.5} (raw {raw:.5}) xgboost {xgb:.5} ratio {:.4}", mine / xgb);
                assert!(mine <= 1.08 * xgb, "{name} seed {seed} alpha {a}: {mine} vs {xgb}");
                ratios[j].push(mine / xgb);
            }
            let far_pred = b.predict(&dataset(&far), PredictOptions::default()).unwrap().values;
            for rows in [&ours, &far_pred] {
                let crossing = rows.chunks(3).filter(|r| !(r[0] <= r[1] && r[1] <= r[2])).count();
                assert_eq!(crossing, 0, "{name}: Sylvan's quantiles cross on {crossing} rows");
            }
            let xgb_crossing = theirs.iter().filter(|r| !(r[0] <= r[1] && r[1] <= r[2])).count();
            eprintln!(
                "{name} seed {seed}: XGBoost's quantiles cross on {xgb_crossing} of {} test rows",
                theirs.len()
            );
            if seed == 0 {
                export_matches(&b, &xs, &dir, &format!("{name}-quantile-export"));
            }
        }
        for (j, a) in alphas.iter().enumerate() {
            let mean = ratios[j].iter().sum::<f64>() / ratios[j].len() as f64;
            eprintln!(
                "{name} alpha {a}: mean pinball ratio over {} data sets {mean:.4}",
                ratios[j].len()
            );
            assert!(mean <= 1.03, "{name} alpha {a}: mean ratio {mean}");
        }
    }
}

#[test]
fn several_targets_rmse_near_xgboost_with_both_strategies() {
    let dir = ScratchDir::new("multi-target");
    let mut g = Gen::new(21);
    let xt = features(&mut g, 6000, 1.0);
    let yt = targets(&mut g, &xt);
    let xs = features(&mut g, 3000, 1.0);
    let ys = targets(&mut g, &xs);
    let rows_t: Vec<Vec<f32>> = yt.chunks(3).map(<[f32]>::to_vec).collect();
    for strategy in ["one_output_per_tree", "multi_output_tree"] {
        let spec = json!({
            "params": xgb_params(&[("multi_strategy", json!(strategy))]),
            "train": {"x": xt, "label": rows_t},
            "test": {"x": xs},
            "model": dir.path().join(format!("xgb-{strategy}.json")),
        });
        let Some(r) = xgboost(strategy, &spec, &dir) else {
            return;
        };
        let theirs = matrix(&r["pred_test"]);
        let p = sylvan_params(&[("multi_strategy", strategy)]);
        let train = dataset(&xt).with_label_matrix(yt.clone(), 3).unwrap();
        let b = Booster::train(&p, &train, &[]).unwrap();
        let ours = b.predict(&dataset(&xs), PredictOptions::default()).unwrap().values;
        for t in 0..3 {
            let rmse = |pred: &mut dyn Iterator<Item = f32>| {
                let s: f64 = ys
                    .iter()
                    .skip(t)
                    .step_by(3)
                    .zip(pred)
                    .map(|(y, p)| ((y - p) as f64).powi(2))
                    .sum();
                (s / xs.len() as f64).sqrt()
            };
            let mine = rmse(&mut ours.iter().skip(t).step_by(3).copied());
            let xgb = rmse(&mut theirs.iter().map(|r| r[t]));
            eprintln!(
                "{strategy} target {t}: rmse sylvan {mine:.5} xgboost {xgb:.5} ratio {:.4}",
                mine / xgb
            );
            assert!(mine <= 1.01 * xgb, "{strategy} target {t}: {mine} vs {xgb}");
        }
        export_matches(&b, &xs, &dir, &format!("{strategy}-export"));
        if strategy == "multi_output_tree" {
            // XGBoost's own vector-leaf model, imported.
            let text = std::fs::read_to_string(dir.path().join(format!("xgb-{strategy}.json"))).unwrap();
            let imported = from_xgboost_json(&text).unwrap();
            let m = margins(&imported, &dataset(&xs));
            let their_margins = matrix(&r["margin_test"]);
            let worst = their_margins
                .iter()
                .enumerate()
                .flat_map(|(i, row)| row.iter().enumerate().map(move |(j, v)| (i, j, *v)))
                .map(|(i, j, v)| (m[i * 3 + j] - v).abs() / v.abs().max(1.0))
                .fold(0.0f32, f32::max);
            eprintln!("imported XGBoost multi_output_tree model: worst relative difference {worst:e}");
            assert!(worst <= 1e-5, "{worst}");
            assert_eq!(
                imported.params().multi_strategy,
                sylvan::booster::MultiStrategy::MultiOutputTree
            );
        }
    }
}

#[test]
fn multi_label_logistic_exports_to_xgboost() {
    let dir = ScratchDir::new("multi-label");
    let mut g = Gen::new(31);
    let x = features(&mut g, 2000, 1.0);
    let labels: Vec<f32> = x
        .iter()
        .flat_map(|r| [(r[0] > 0.0) as u8 as f32, (r[1] * r[2] > 0.2) as u8 as f32])
        .collect();
    for strategy in ["one_output_per_tree", "multi_output_tree"] {
        let p = sylvan_params(&[("objective", "binary:logistic"), ("multi_strategy", strategy)]);
        let b = Booster::train(&p, &dataset(&x).with_label_matrix(labels.clone(), 2).unwrap(), &[]).unwrap();
        if export_matches(&b, &x[..500], &dir, &format!("multi-label-{strategy}")).is_none() {
            return;
        }
    }
}
