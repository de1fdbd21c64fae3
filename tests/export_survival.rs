//! Survival models in other formats: `survival:cox` and `survival:aft` (each noise distribution)
//! exported to XGBoost JSON load in XGBoost 3.2 (`tests/python/survival_reference.py predict`)
//! and predict what Sylvan predicts (margins to 1e-5 scaled by max(1, |margin|), times and hazard
//! ratios likewise); the JSON carries the objective block as XGBoost writes it
//! (`{"name": "survival:aft", "aft_loss_param": {...}}`) and imports back to the same model;
//! LightGBM export refuses both with a clear error (LightGBM has no survival objective).
//!
//! Without a Python that has xgboost the XGBoost half prints "skipping" and passes, unless
//! `SYLVAN_REQUIRE_REFERENCE=1`.

mod common;

use common::{Gen, ScratchDir};
use serde_json::{json, Value};
use sylvan::io::export::{from_xgboost_json, to_lightgbm_text, to_xgboost_json};
use sylvan::{Booster, Dataset, Params, PredictOptions, PredictOutput};

const N: usize = 600;
const F: usize = 4;

fn data(seed: u64) -> (Vec<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let mut g = Gen::new(seed);
    let x: Vec<Vec<f32>> = (0..N)
        .map(|_| {
            (0..F)
                .map(|_| {
                    if g.bernoulli(0.05) {
                        f32::NAN
                    } else {
                        g.uniform(-2.0, 2.0) as f32
                    }
                })
                .collect()
        })
        .collect();
    let (mut lo, mut hi) = (Vec::new(), Vec::new());
    for r in &x {
        let v = |j: usize| if r[j].is_nan() { 0.0 } else { r[j] as f64 };
        let s = v(0) * 0.7 - v(1).abs() * 0.3;
        let t = (1.0 + s + 0.4 * g.normal()).exp() as f32;
        let k = g.uniform(0.0, 1.0);
        let (l, h) = if k < 0.4 {
            (t, t)
        } else if k < 0.7 {
            (t * 0.7, f32::INFINITY)
        } else {
            (t * 0.6, t * 1.5)
        };
        lo.push(l);
        hi.push(h);
    }
    (x, lo, hi)
}

fn dataset(x: &[Vec<f32>]) -> Dataset {
    let flat: Vec<f32> = x.iter().flatten().copied().collect();
    Dataset::from_rows(&flat, F).unwrap()
}

fn train(objective: &str, dist: &str) -> (Booster, Vec<Vec<f32>>) {
    let (x, lo, hi) = data(4);
    let mut d = dataset(&x);
    if objective == "survival:cox" {
        // Times, negative where right-censored.
        let y: Vec<f32> = lo
            .iter()
            .zip(&hi)
            .map(|(l, h)| if h.is_infinite() { -l } else { *l })
            .collect();
        d = d.with_labels(y).unwrap();
    } else {
        d = d.with_labels(lo.clone()).unwrap().with_label_bounds(lo, hi).unwrap();
    }
    let mut p = Params::default();
    for (k, v) in [
        ("objective", objective),
        ("aft_loss_distribution", dist),
        ("aft_loss_distribution_scale", "1.3"),
        ("max_depth", "4"),
        ("num_round", "12"),
        ("eta", "0.3"),
    ] {
        p.set(k, v).unwrap();
    }
    (Booster::train(&p, &d, &[]).unwrap(), x)
}

fn predict(b: &Booster, x: &[Vec<f32>], output: PredictOutput) -> Vec<f32> {
    b.predict(
        &dataset(x),
        PredictOptions {
            output,
            ..Default::default()
        },
    )
    .unwrap()
    .values
}

fn close(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| ((a - b).abs() / a.abs().max(1.0)) as f64)
        .fold(0.0, f64::max)
}

#[test]
fn survival_models_export_to_xgboost_and_back() {
    for (objective, dist) in [
        ("survival:cox", "normal"),
        ("survival:aft", "normal"),
        ("survival:aft", "logistic"),
        ("survival:aft", "extreme"),
    ] {
        let (b, x) = train(objective, dist);
        let text = to_xgboost_json(&b).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let obj = &v["learner"]["objective"];
        assert_eq!(obj["name"], objective);
        if objective == "survival:aft" {
            assert_eq!(
                obj["aft_loss_param"],
                json!({"aft_loss_distribution": dist, "aft_loss_distribution_scale": "1.3"})
            );
        }
        // Import gives back the same model.
        let back = from_xgboost_json(&text).unwrap();
        assert_eq!(back.objective_name(), objective);
        assert_eq!(back.params().aft_loss_distribution, b.params().aft_loss_distribution);
        assert_eq!(
            back.params().aft_loss_distribution_scale,
            b.params().aft_loss_distribution_scale
        );
        let ours = predict(&b, &x, PredictOutput::Value);
        assert!(close(&ours, &predict(&back, &x, PredictOutput::Value)) < 1e-6);

        // ONNX writes the exp output transform of the log-link objectives.
        assert!(sylvan::io::export::to_onnx(&b).is_ok(), "{objective}: ONNX export");

        // LightGBM refuses.
        let e = to_lightgbm_text(&b).unwrap_err().to_string();
        assert!(e.contains("survival") && e.contains("LightGBM"), "{e}");

        // XGBoost loads the file and predicts the same.
        let Some(r) = common::reference() else { continue };
        let dir = ScratchDir::new("export-survival");
        let model = dir.path().join("model.json");
        let inp = dir.path().join("x.json");
        let out = dir.path().join("out.json");
        std::fs::write(&model, &text).unwrap();
        // NaN is not JSON: send missing values as null, which numpy reads as NaN.
        let rows: Vec<Vec<Value>> = x
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| if v.is_nan() { Value::Null } else { json!(v) })
                    .collect()
            })
            .collect();
        std::fs::write(&inp, json!({ "x": rows }).to_string()).unwrap();
        let o = std::process::Command::new(&r.python)
            .arg(common::repo_root().join("tests/python/survival_reference.py"))
            .args(["predict"])
            .arg(&model)
            .arg(&inp)
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let res: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let floats = |k: &str| -> Vec<f32> {
            res[k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect()
        };
        let dm = close(&predict(&b, &x, PredictOutput::Margin), &floats("margin"));
        let dp = close(&ours, &floats("pred"));
        println!("{objective} {dist}: XGBoost vs Sylvan, margins {dm:.2e}, predictions {dp:.2e}");
        assert!(dm < 1e-5 && dp < 1e-5, "{objective} {dist}: {dm} {dp}");
    }
}
