//! Survival objectives end to end: `survival:cox` learns the risk order of generated
//! proportional-hazards data (concordance index well above 0.5), `survival:aft` beats the constant
//! model's `aft-nloglik` for every noise distribution on interval-censored data; both are
//! deterministic and thread-count independent, survive a save/load round trip, and stop early on
//! their metrics.

use rand::{RngExt, SeedableRng};
use sylvan_booster::*;

const FEATURES: usize = 5;

/// The true log-hazard (Cox) or log-time (AFT) of a row.
fn risk(x: &[f32]) -> f64 {
    (0.8 * x[0] - 0.6 * x[1] + 0.5 * (x[2] * x[3]) + if x[4] > 0.3 { 0.7 } else { -0.2 }) as f64
}

fn features(n: usize, rng: &mut rand::rngs::StdRng) -> Vec<f32> {
    (0..n * FEATURES).map(|_| rng.random_range(-1.5f32..1.5)).collect()
}

/// Proportional hazards: T ~ Exponential(rate = exp(risk)), censored by an independent
/// Exponential(0.3) time (about a quarter censored); labels negative when censored.
fn cox_data(n: usize, seed: u64) -> (Dataset, Vec<f32>, Vec<f64>) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let x = features(n, &mut rng);
    let mut labels = Vec::with_capacity(n);
    let mut truth = Vec::with_capacity(n);
    for row in x.chunks_exact(FEATURES) {
        let r = risk(row);
        let u: f64 = rng.random_range(1e-9..1.0);
        let t = -u.ln() / r.exp();
        let c = -rng.random_range(1e-9f64..1.0).ln() / 0.3;
        labels.push(if t <= c { t as f32 } else { -(c as f32) });
        truth.push(r);
    }
    let d = Dataset::from_rows(&x, FEATURES)
        .unwrap()
        .with_labels(labels.clone())
        .unwrap();
    (d, labels, truth)
}

/// Harrell's concordance index of `scores` (higher = riskier) on `labels` (negative = censored):
/// among pairs whose earlier time is an event, the share ordered right, ties in score half.
fn c_index(scores: &[f32], labels: &[f32]) -> f64 {
    let (mut good, mut pairs) = (0.0, 0.0);
    for i in 0..labels.len() {
        if labels[i] <= 0.0 {
            continue;
        }
        for j in 0..labels.len() {
            if labels[j].abs() > labels[i] {
                pairs += 1.0;
                good += if scores[i] > scores[j] {
                    1.0
                } else if scores[i] == scores[j] {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    good / pairs
}

/// Log-time = risk + sigma * noise of `dist`; each row observed as uncensored (20%), right- (30%),
/// left- (15%) or interval-censored (35%) around its time.
fn aft_data(n: usize, seed: u64, dist: AftDistribution) -> Dataset {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let x = features(n, &mut rng);
    let (mut lo, mut hi) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for row in x.chunks_exact(FEATURES) {
        let u: f64 = rng.random_range(1e-6..1.0 - 1e-6);
        let noise = match dist {
            AftDistribution::Normal => {
                let v: f64 = rng.random_range(1e-9..1.0);
                (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
            }
            AftDistribution::Logistic => (u / (1.0 - u)).ln(),
            AftDistribution::Extreme => (-(1.0 - u).ln()).ln(),
        };
        let t = (1.0 + risk(row) + 0.5 * noise).exp() as f32;
        let kind: f64 = rng.random_range(0.0..1.0);
        let (l, h) = if kind < 0.2 {
            (t, t)
        } else if kind < 0.5 {
            (t * rng.random_range(0.3f32..1.0), f32::INFINITY)
        } else if kind < 0.65 {
            (0.0, t * rng.random_range(1.0f32..3.0))
        } else {
            (t * rng.random_range(0.3f32..1.0), t * rng.random_range(1.0f32..3.0))
        };
        lo.push(l);
        hi.push(h);
    }
    Dataset::from_rows(&x, FEATURES)
        .unwrap()
        .with_labels(lo.clone())
        .unwrap()
        .with_label_bounds(lo, hi)
        .unwrap()
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    for (k, v) in [
        ("max_depth", "3"),
        ("eta", "0.1"),
        ("num_round", "60"),
        ("max_bin", "64"),
    ]
    .iter()
    .chain(pairs)
    {
        p.set(k, v).unwrap();
    }
    p
}

fn predict(b: &Booster, d: &Dataset, output: PredictOutput) -> Vec<f32> {
    b.predict(
        d,
        PredictOptions {
            output,
            ..Default::default()
        },
    )
    .unwrap()
    .values
}

#[test]
fn cox_learns_the_risk_order() {
    let (train, _, _) = cox_data(3000, 1);
    let (test, labels, truth) = cox_data(1500, 2);
    let p = params(&[("objective", "survival:cox")]);
    let b = Booster::train(&p, &train, &[("test", &test)]).unwrap();
    let hazard = predict(&b, &test, PredictOutput::Value);
    let margin = predict(&b, &test, PredictOutput::Margin);
    for (h, m) in hazard.iter().zip(&margin) {
        assert!((h - m.exp()).abs() <= 1e-5 * h.max(1.0), "hazard ratio is exp(margin)");
    }
    let c = c_index(&hazard, &labels);
    let truth32: Vec<f32> = truth.iter().map(|v| *v as f32).collect();
    let oracle = c_index(&truth32, &labels);
    println!("cox: C-index {c:.4} (true risk {oracle:.4})");
    assert!(c > 0.70, "C-index {c}");
    // cox-nloglik is the default metric and falls over training.
    let h = b.eval_history();
    let first = h.first().unwrap().evals[0].clone();
    let last = h.last().unwrap().evals[0].clone();
    assert_eq!(first.1, "cox-nloglik");
    assert!(last.2 < first.2, "{first:?} -> {last:?}");
}

#[test]
fn aft_beats_the_constant_model_for_every_distribution() {
    for (dist, name) in [
        (AftDistribution::Normal, "normal"),
        (AftDistribution::Logistic, "logistic"),
        (AftDistribution::Extreme, "extreme"),
    ] {
        let train = aft_data(3000, 3, dist);
        let test = aft_data(1500, 4, dist);
        let p = params(&[
            ("objective", "survival:aft"),
            ("aft_loss_distribution", name),
            ("aft_loss_distribution_scale", "0.8"),
            ("eval_metric", "aft-nloglik,interval-regression-accuracy"),
        ]);
        let b = Booster::train(&p, &train, &[("test", &test)]).unwrap();
        let h = b.eval_history();
        let (c0, a0) = (h[0].evals[0].2, h[0].evals[1].2);
        let (c1, a1) = (h.last().unwrap().evals[0].2, h.last().unwrap().evals[1].2);
        // The constant model: the initial margin ln 0.5 (XGBoost's), evaluated directly.
        let constant = b.evaluate(&test, &["aft-nloglik".parse().unwrap()]).unwrap();
        let mut p0 = p.clone();
        p0.set("num_round", "1").unwrap();
        p0.set("eta", "1e-9").unwrap();
        let b0 = Booster::train(&p0, &train, &[]).unwrap();
        let c_const = b0.evaluate(&test, &["aft-nloglik".parse().unwrap()]).unwrap()[0].1;
        println!(
            "aft {name}: aft-nloglik constant {c_const:.4}, round 1 {c0:.4} -> {c1:.4} (evaluate {:.4}); \
             interval accuracy {a0:.3} -> {a1:.3}",
            constant[0].1
        );
        assert!((constant[0].1 - c1).abs() < 1e-9);
        assert!(c1 < 0.8 * c_const, "{name}: {c1} vs constant {c_const}");
        assert!(a1 > a0, "{name}: accuracy {a0} -> {a1}");
        // Predictions are times exp(margin).
        let t = predict(&b, &test, PredictOutput::Value);
        let m = predict(&b, &test, PredictOutput::Margin);
        assert!(t.iter().zip(&m).all(|(t, m)| (t - m.exp()).abs() <= 1e-5 * t.max(1.0)));
    }
}

#[test]
fn aft_without_bounds_reads_labels_as_uncensored_times() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(5);
    let x = features(500, &mut rng);
    let times: Vec<f32> = (0..500).map(|i| 1.0 + i as f32 / 100.0).collect();
    let plain = Dataset::from_rows(&x, FEATURES)
        .unwrap()
        .with_labels(times.clone())
        .unwrap();
    let bounded = plain.clone().with_label_bounds(times.clone(), times).unwrap();
    let p = params(&[("objective", "survival:aft"), ("num_round", "5")]);
    let a = Booster::train(&p, &plain, &[]).unwrap();
    let b = Booster::train(&p, &bounded, &[]).unwrap();
    assert_eq!(
        predict(&a, &plain, PredictOutput::Margin),
        predict(&b, &plain, PredictOutput::Margin)
    );
    // A time of 0 cannot be uncensored.
    let bad = plain.clone().with_labels(vec![0.0; 500]).unwrap();
    let e = Booster::train(&p, &bad, &[]).unwrap_err().to_string();
    assert!(e.contains("row 0") || e.contains('0'), "{e}");
}

#[test]
fn deterministic_across_threads_and_round_trips() {
    let (cox, _, _) = cox_data(20_000, 6);
    let aft = aft_data(20_000, 7, AftDistribution::Extreme);
    for (objective, d) in [("survival:cox", &cox), ("survival:aft", &aft)] {
        let run = |threads: &str| {
            let p = params(&[
                ("objective", objective),
                ("aft_loss_distribution", "extreme"),
                ("num_round", "8"),
                ("nthread", threads),
                ("subsample", "0.8"),
                ("seed", "5"),
            ]);
            Booster::train(&p, d, &[]).unwrap()
        };
        let one = run("1");
        let four = run("4");
        let bits = |b: &Booster| -> Vec<u32> {
            predict(b, d, PredictOutput::Margin)
                .iter()
                .map(|v| v.to_bits())
                .collect()
        };
        assert_eq!(bits(&one), bits(&four), "{objective}: 1 vs 4 threads");
        let back = Booster::from_bytes(&one.to_bytes().unwrap()).unwrap();
        assert_eq!(back.objective_name(), objective);
        assert_eq!(bits(&one), bits(&back), "{objective}: save/load");
        assert_eq!(
            predict(&one, d, PredictOutput::Value),
            predict(&back, d, PredictOutput::Value)
        );
        assert_eq!(back.params().aft_loss_distribution, AftDistribution::Extreme);
    }
}

#[test]
fn early_stopping_on_survival_metrics() {
    let (train, _, _) = cox_data(2000, 8);
    let (valid, _, _) = cox_data(1000, 9);
    let p = params(&[
        ("objective", "survival:cox"),
        ("eta", "0.5"),
        ("max_depth", "6"),
        ("num_round", "300"),
        ("early_stopping_rounds", "5"),
    ]);
    let b = Booster::train(&p, &train, &[("valid", &valid)]).unwrap();
    let best = b.best_iteration().unwrap();
    assert!(b.num_rounds() < 300, "cox-nloglik should stop early");
    assert_eq!(b.num_rounds(), best + 6);

    let train = aft_data(2000, 10, AftDistribution::Logistic);
    let valid = aft_data(1000, 11, AftDistribution::Logistic);
    let p = params(&[
        ("objective", "survival:aft"),
        ("aft_loss_distribution", "logistic"),
        ("eval_metric", "interval-regression-accuracy"),
        ("eta", "0.5"),
        ("max_depth", "6"),
        ("num_round", "300"),
        ("early_stopping_rounds", "5"),
    ]);
    let b = Booster::train(&p, &train, &[("valid", &valid)]).unwrap();
    assert!(b.num_rounds() < 300, "interval accuracy should stop early");
    let hist: Vec<f64> = b.eval_history().iter().map(|r| r.evals[0].2).collect();
    let best = b.best_iteration().unwrap();
    assert!(hist.iter().all(|v| *v <= hist[best]), "accuracy is maximised");
}

#[test]
fn bad_settings_are_refused() {
    let mut p = Params::default();
    let e = p.set("aft_loss_distribution", "weibull").unwrap_err().to_string();
    assert!(e.contains("aft_loss_distribution"), "{e}");
    p.set("aft_loss_distribution_scale", "0").unwrap();
    let e = p.validate().unwrap_err().to_string();
    assert!(e.contains("aft_loss_distribution_scale"), "{e}");
    let (d, _, _) = cox_data(50, 12);
    let e = "cox-nloglik".parse::<Metric>().unwrap().to_string();
    assert_eq!(e, "cox-nloglik");
    let mut p = params(&[("objective", "survival:cox")]);
    p.set("base_score", "-1").unwrap();
    assert!(Booster::train(&p, &d, &[]).is_err());
}

#[test]
fn ensembles_refuse_survival_objectives() {
    let (d, _, _) = cox_data(200, 13);
    let settings = BaggingParams {
        n_estimators: 2,
        ..Default::default()
    };
    for objective in ["survival:cox", "survival:aft"] {
        let p = params(&[("objective", objective), ("num_round", "2")]);
        let e = Bagging::train(&settings, &p, &d).unwrap_err().to_string();
        assert!(e.contains(objective) && e.contains("ensembles"), "{e}");
    }
}
