//! Survival objectives against XGBoost 3.2 (`tests/python/survival_reference.py`) on generated
//! data, with the same parameters (hist, depth 3, eta 0.1, max_bin 256, 2 threads), after 1 round
//! and after 40:
//! - `survival:cox`, proportional-hazards data (4000 train / 2000 test rows, exponential times,
//!   ~30 % right-censored): the test C-index (Harrell's, computed here on both models' hazard
//!   ratios) within 0.01 of XGBoost's and `cox-nloglik` (Sylvan's metric vs XGBoost's own
//!   evaluation) within 0.5 % relative. Measured (seed 1): C-index +0.0003 / +0.0043,
//!   cox-nloglik -0.00003 / -0.0015 relative.
//! - `cox-nloglik` of the constant model (eta 1e-9) with tied times, on XGBoost's own predictions:
//!   equal to 1e-5 (measured: equal to the 8th digit), which pins Breslow's ties in the metric.
//! - `survival:aft`, normal / logistic / extreme at scale 1 and 0.8, interval-censored data
//!   (20 % uncensored, 30 % right-, 15 % left-, 35 % interval-censored): the test `aft-nloglik`
//!   within 0.05 % relative of XGBoost's after 1 round and 0.5 % after 40, and the
//!   interval-regression-accuracy within 0.015. Measured (seed 3): at most 1e-4 relative after
//!   1 round, 0.0015 after 40; accuracy at most 0.004 apart.
//!
//! XGBoost 3.2's `aft-nloglik` metric evaluates with scale 1 whatever `aft_loss_distribution_scale`
//! says (measured: its value does not move with the scale and equals the loss at scale 1), though
//! its gradients use the scale. Sylvan's metric uses the configured scale; at scale 0.8 the test
//! therefore scores XGBoost's predictions with Sylvan's metric.
//!
//! The gradients are XGBoost's to f32 rounding (the 1-round numbers); what remains after 40 rounds
//! is the histogram cut points (the two quantile sketches) and f32 vs quantized gradient sums.
//! Tolerances are about 3x the measured differences.
//!
//! Without a Python that has xgboost the tests print "skipping" and pass, unless
//! `SYLVAN_REQUIRE_REFERENCE=1`.

mod common;

use common::{Gen, ScratchDir};
use serde_json::{json, Value};
use sylvan::{Booster, Dataset, Metric, Params};

const FEATURES: usize = 5;

fn risk(x: &[f32]) -> f64 {
    (0.8 * x[0] - 0.6 * x[1] + 0.5 * x[2] * x[3] + if x[4] > 0.3 { 0.7 } else { -0.2 }) as f64
}

fn rows(g: &mut Gen, n: usize) -> Vec<Vec<f32>> {
    (0..n)
        .map(|_| (0..FEATURES).map(|_| g.uniform(-1.5, 1.5) as f32).collect())
        .collect()
}

/// Proportional hazards with exponential times and independent exponential censoring.
fn cox_set(g: &mut Gen, n: usize) -> (Vec<Vec<f32>>, Vec<f32>) {
    let x = rows(g, n);
    let y = x
        .iter()
        .map(|r| {
            let t = g.exponential() / risk(r).exp();
            let c = g.exponential() / 0.4;
            if t <= c {
                t as f32
            } else {
                -(c as f32)
            }
        })
        .collect();
    (x, y)
}

/// Interval-censored log-times `1 + risk + 0.5 * noise`; upper bound `f32::INFINITY` when
/// right-censored, lower 0 when left-censored.
fn aft_set(g: &mut Gen, n: usize, dist: &str) -> (Vec<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let x = rows(g, n);
    let (mut lo, mut hi) = (Vec::new(), Vec::new());
    for r in &x {
        let u = g.uniform(1e-6, 1.0 - 1e-6);
        let noise = match dist {
            "normal" => g.normal(),
            "logistic" => (u / (1.0 - u)).ln(),
            _ => (-(1.0 - u).ln()).ln(),
        };
        let t = (1.0 + risk(r) + 0.5 * noise).exp() as f32;
        let k = g.uniform(0.0, 1.0);
        let (l, h) = if k < 0.2 {
            (t, t)
        } else if k < 0.5 {
            (t * g.uniform(0.3, 1.0) as f32, f32::INFINITY)
        } else if k < 0.65 {
            (0.0, t * g.uniform(1.0, 3.0) as f32)
        } else {
            (t * g.uniform(0.3, 1.0) as f32, t * g.uniform(1.0, 3.0) as f32)
        };
        lo.push(l);
        hi.push(h);
    }
    (x, lo, hi)
}

fn dataset(x: &[Vec<f32>], labels: Vec<f32>) -> Dataset {
    let flat: Vec<f32> = x.iter().flatten().copied().collect();
    Dataset::from_rows(&flat, FEATURES)
        .unwrap()
        .with_labels(labels)
        .unwrap()
}

/// Harrell's C-index of hazard scores against times (negative = censored).
fn c_index(scores: &[f32], labels: &[f32]) -> f64 {
    let (mut good, mut pairs) = (0.0, 0.0);
    for i in 0..labels.len() {
        if labels[i] <= 0.0 {
            continue;
        }
        for j in 0..labels.len() {
            if labels[j].abs() > labels[i] {
                pairs += 1.0;
                good += match scores[i].partial_cmp(&scores[j]) {
                    Some(std::cmp::Ordering::Greater) => 1.0,
                    Some(std::cmp::Ordering::Equal) => 0.5,
                    _ => 0.0,
                };
            }
        }
    }
    good / pairs
}

fn upper_json(hi: &[f32]) -> Vec<f32> {
    hi.iter().map(|h| if h.is_infinite() { -1.0 } else { *h }).collect()
}

/// Runs the reference `train` on `spec`; `None` (after a skip message) without XGBoost.
fn xgboost(what: &str, spec: &Value) -> Option<Value> {
    let r = common::reference()?;
    let dir = ScratchDir::new(what);
    let inp = dir.path().join("in.json");
    let out = dir.path().join("out.json");
    std::fs::write(&inp, spec.to_string()).unwrap();
    let script = common::repo_root().join("tests/python/survival_reference.py");
    let o = std::process::Command::new(&r.python)
        .arg(&script)
        .arg("train")
        .arg(&inp)
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some(serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap())
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn sylvan_params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    for (k, v) in pairs {
        p.set(k, v).unwrap();
    }
    p
}

const COMMON: [(&str, &str); 6] = [
    ("tree_method", "hist"),
    ("max_depth", "3"),
    ("eta", "0.1"),
    ("max_bin", "256"),
    ("nthread", "2"),
    ("seed", "0"),
];

fn common_json(objective: &str, rounds: usize) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    for (k, v) in COMMON {
        m.insert(k.into(), json!(v));
    }
    m.insert("objective".into(), json!(objective));
    m.insert("num_round".into(), json!(rounds));
    m
}

#[test]
fn cox_c_index_and_nloglik_near_xgboost() {
    let mut g = Gen::new(1);
    let (xt, yt) = cox_set(&mut g, 4000);
    let (xs, ys) = cox_set(&mut g, 2000);
    for rounds in [1usize, 40] {
        let params = common_json("survival:cox", rounds);
        let spec = json!({
            "params": params,
            "train": {"x": xt, "label": yt},
            "test": {"x": xs, "label": ys},
            "metrics": ["cox-nloglik"],
        });
        let Some(r) = xgboost("survival-cox", &spec) else {
            return;
        };
        let mut pairs: Vec<(&str, String)> = COMMON.iter().map(|(k, v)| (*k, v.to_string())).collect();
        pairs.push(("objective", "survival:cox".into()));
        pairs.push(("num_round", rounds.to_string()));
        let p = sylvan_params(&pairs.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>());
        let train = dataset(&xt, yt.clone());
        let test = dataset(&xs, ys.clone());
        let b = Booster::train(&p, &train, &[]).unwrap();
        let ours = b.predict(&test, Default::default()).unwrap().values;
        let nll = b.evaluate(&test, &[Metric::CoxNloglik]).unwrap()[0].1;
        let theirs = floats(&r["pred_test"]);
        let their_nll = r["metrics_test"]["cox-nloglik"].as_f64().unwrap();
        let (c_ours, c_theirs) = (c_index(&ours, &ys), c_index(&theirs, &ys));
        println!(
            "cox {rounds} rounds: C-index sylvan {c_ours:.4} xgboost {c_theirs:.4} (diff {:+.4}); \
             cox-nloglik sylvan {nll:.5} xgboost {their_nll:.5} (rel diff {:+.4})",
            c_ours - c_theirs,
            (nll - their_nll) / their_nll
        );
        assert!((c_ours - c_theirs).abs() < 0.01, "C-index {c_ours} vs {c_theirs}");
        assert!(
            (nll - their_nll).abs() < 0.005 * their_nll.abs(),
            "cox-nloglik {nll} vs {their_nll}"
        );
        if rounds == 40 {
            assert!(c_ours > 0.68, "C-index {c_ours}");
        }
    }
}

#[test]
fn cox_constant_model_matches_xgboost_exactly() {
    // eta tiny: the trees add nothing, so predictions are exp(base margin) and the metric is
    // the formula alone.
    let mut g = Gen::new(2);
    let (xt, yt) = cox_set(&mut g, 500);
    let (xs, mut ys) = cox_set(&mut g, 300);
    // Ties in time, to pin Breslow's handling in the metric.
    for i in (0..ys.len()).step_by(7) {
        ys[i] = (ys[i] * 4.0).round() / 4.0 + if ys[i] < 0.0 { -0.25 } else { 0.25 };
    }
    let mut params = common_json("survival:cox", 1);
    params.insert("eta".into(), json!("1e-9"));
    let spec = json!({"params": params, "train": {"x": xt, "label": yt}, "test": {"x": xs, "label": ys},
        "metrics": ["cox-nloglik"]});
    let Some(r) = xgboost("survival-cox-const", &spec) else {
        return;
    };
    let p = sylvan_params(&[("objective", "survival:cox"), ("eta", "1e-9"), ("num_round", "1")]);
    let b = Booster::train(&p, &dataset(&xt, yt), &[]).unwrap();
    // The metric on XGBoost's own predictions, so only the formula is compared.
    let theirs = floats(&r["pred_test"]);
    let ours = Metric::CoxNloglik
        .evaluate(&theirs, 1, &ys, None, &Default::default())
        .unwrap();
    let want = r["metrics_test"]["cox-nloglik"].as_f64().unwrap();
    println!("cox constant: cox-nloglik sylvan {ours:.7} xgboost {want:.7}");
    assert!((ours - want).abs() < 1e-5 * want.abs().max(1.0));
    let pred = b.predict(&dataset(&xs, ys.clone()), Default::default()).unwrap().values;
    assert!(pred.iter().zip(&theirs).all(|(a, b)| (a - b).abs() < 1e-5));
}

#[test]
fn aft_nloglik_near_xgboost_for_every_distribution() {
    for (dist, scale) in [
        ("normal", "1"),
        ("logistic", "1"),
        ("extreme", "1"),
        ("normal", "0.8"),
        ("logistic", "0.8"),
        ("extreme", "0.8"),
    ] {
        let mut g = Gen::new(3);
        let (xt, lt, ht) = aft_set(&mut g, 4000, dist);
        let (xs, ls, hs) = aft_set(&mut g, 2000, dist);
        let rounds_list: &[usize] = if scale == "1" { &[1, 40] } else { &[40] };
        for &rounds in rounds_list {
            let mut params = common_json("survival:aft", rounds);
            params.insert("aft_loss_distribution".into(), json!(dist));
            params.insert("aft_loss_distribution_scale".into(), json!(scale));
            let spec = json!({
                "params": params,
                "train": {"x": xt, "lower": lt, "upper": upper_json(&ht)},
                "test": {"x": xs, "lower": ls, "upper": upper_json(&hs)},
                "metrics": ["aft-nloglik", "interval-regression-accuracy"],
            });
            let Some(r) = xgboost("survival-aft", &spec) else {
                return;
            };
            let mut pairs: Vec<(&str, String)> = COMMON.iter().map(|(k, v)| (*k, v.to_string())).collect();
            pairs.push(("objective", "survival:aft".into()));
            pairs.push(("num_round", rounds.to_string()));
            pairs.push(("aft_loss_distribution", dist.into()));
            pairs.push(("aft_loss_distribution_scale", scale.into()));
            let p = sylvan_params(&pairs.iter().map(|(k, v)| (*k, v.as_str())).collect::<Vec<_>>());
            let train = dataset(&xt, lt.clone())
                .with_label_bounds(lt.clone(), ht.clone())
                .unwrap();
            let test = dataset(&xs, ls.clone())
                .with_label_bounds(ls.clone(), hs.clone())
                .unwrap();
            let b = Booster::train(&p, &train, &[]).unwrap();
            let m = b
                .evaluate(&test, &[Metric::AftNloglik, Metric::IntervalRegressionAccuracy])
                .unwrap();
            // XGBoost 3.2's aft-nloglik evaluates with scale 1 whatever aft_loss_distribution_scale
            // is (measured: its value does not change with the scale, and equals the loss at
            // scale 1), while its gradients do use the scale. So at scale 1 its own metric is the
            // reference; at other scales Sylvan's metric scores XGBoost's predictions.
            let want = if scale == "1" {
                r["metrics_test"]["aft-nloglik"].as_f64().unwrap()
            } else {
                let theirs = floats(&r["pred_test"]);
                let ctx = sylvan::booster::MetricContext::from_params(&p);
                Metric::AftNloglik
                    .evaluate_for(&theirs, 1, &test.targets(), &ctx)
                    .unwrap()
            };
            let want_acc = r["metrics_test"]["interval-regression-accuracy"].as_f64().unwrap();
            println!(
                "aft {dist} scale {scale}, {rounds} rounds: aft-nloglik sylvan {:.5} xgboost {want:.5} (rel diff {:+.4}); \
                 interval accuracy sylvan {:.4} xgboost {want_acc:.4}",
                m[0].1,
                (m[0].1 - want) / want,
                m[1].1
            );
            let tol = if rounds == 1 { 5e-4 } else { 0.005 };
            assert!((m[0].1 - want).abs() < tol * want.abs(), "{dist}: {} vs {want}", m[0].1);
            assert!(
                (m[1].1 - want_acc).abs() < 0.015,
                "{dist}: accuracy {} vs {want_acc}",
                m[1].1
            );
        }
    }
}
