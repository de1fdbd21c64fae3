//! Several outputs beyond multiclass: multi-quantile (non-crossing), expectiles, several label
//! columns with one tree per output or with vector-leaf trees.

use sylvan_booster::{Booster, Dataset, Metric, MetricContext, Params, PredictOptions, PredictOutput};

/// A small deterministic generator (no dependency on rand's stream across versions).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64) / ((1u64 << 53) as f64)
    }
    fn normal(&mut self) -> f64 {
        let (u, v) = (self.next().max(1e-12), self.next());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// Heteroscedastic regression: noise grows with |x0|.
fn hetero(n: usize, seed: u64) -> (Vec<Vec<f32>>, Vec<f32>) {
    let mut r = Lcg(seed);
    let mut cols: Vec<Vec<f32>> = (0..4).map(|_| Vec::with_capacity(n)).collect();
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let x: Vec<f64> = (0..4).map(|_| r.next() * 4.0 - 2.0).collect();
        let noise = (0.2 + x[0].abs()) * r.normal();
        y.push((x[0].sin() * 2.0 + x[1] * x[2] + noise) as f32);
        for (c, v) in cols.iter_mut().zip(&x) {
            c.push(*v as f32);
        }
    }
    (cols, y)
}

fn params(pairs: &[(&str, &str)]) -> Params {
    let mut all = vec![
        ("eta", "0.1"),
        ("max_depth", "4"),
        ("num_round", "40"),
        ("nthread", "2"),
    ];
    all.extend_from_slice(pairs);
    let mut p = Params::default();
    p.apply(all).unwrap();
    p
}

fn values(b: &Booster, d: &Dataset) -> Vec<f32> {
    b.predict(d, PredictOptions::default()).unwrap().values
}

#[test]
fn multi_quantile_predictions_never_cross_and_beat_a_constant() {
    let (cols, y) = hetero(3000, 7);
    let train = Dataset::from_columns(cols).unwrap().with_labels(y.clone()).unwrap();
    for method in ["hist", "exact", "approx"] {
        let p = params(&[
            ("objective", "reg:quantileerror"),
            ("quantile_alpha", "0.9,0.1,0.5"),
            ("tree_method", method),
        ]);
        let b = Booster::train(&p, &train, &[]).unwrap();
        assert_eq!(b.num_groups(), 3);
        // Extrapolation far outside the training range, and the training rows.
        let (far, _) = hetero(2000, 99);
        let far: Vec<Vec<f32>> = far
            .into_iter()
            .map(|c| c.into_iter().map(|v| v * 5.0).collect())
            .collect();
        for d in [train.clone(), Dataset::from_columns(far).unwrap()] {
            let v = values(&b, &d);
            for row in v.chunks(3) {
                // Output order follows the levels as given: 0.9, 0.1, 0.5.
                assert!(row[1] <= row[2] && row[2] <= row[0], "crossing quantiles {row:?}");
            }
        }
        // The pinball loss per level beats the constant quantile.
        let v = values(&b, &train);
        let ctx = MetricContext::default();
        for (j, a) in [0.9, 0.1, 0.5].into_iter().enumerate() {
            let col: Vec<f32> = v.iter().skip(j).step_by(3).copied().collect();
            let model = Metric::Quantile(Some(a)).evaluate(&col, 1, &y, None, &ctx).unwrap();
            let mut sorted = y.clone();
            sorted.sort_by(f32::total_cmp);
            let q = sorted[((sorted.len() - 1) as f64 * a) as usize];
            let constant = Metric::Quantile(Some(a))
                .evaluate(&vec![q; y.len()], 1, &y, None, &ctx)
                .unwrap();
            assert!(
                model < 0.85 * constant,
                "{method} alpha {a}: {model} vs constant {constant}"
            );
        }
    }
}

#[test]
fn one_level_list_is_the_scalar_model() {
    let (cols, y) = hetero(800, 3);
    let train = Dataset::from_columns(cols).unwrap().with_labels(y).unwrap();
    let a = Booster::train(
        &params(&[("objective", "reg:quantileerror"), ("quantile_alpha", "0.3")]),
        &train,
        &[],
    )
    .unwrap();
    let b = Booster::train(
        &params(&[("objective", "reg:quantileerror"), ("quantile_alpha", "[0.3]")]),
        &train,
        &[],
    )
    .unwrap();
    assert_eq!(a.to_json_string().unwrap(), b.to_json_string().unwrap());
}

#[test]
fn margins_are_the_raw_outputs_and_values_their_rearrangement() {
    let (cols, y) = hetero(1500, 11);
    let train = Dataset::from_columns(cols).unwrap().with_labels(y).unwrap();
    let p = params(&[
        ("objective", "reg:quantileerror"),
        ("quantile_alpha", "[0.05,0.5,0.95]"),
        ("max_depth", "6"),
    ]);
    let b = Booster::train(&p, &train, &[]).unwrap();
    let m = b
        .predict(
            &train,
            PredictOptions {
                output: PredictOutput::Margin,
                ..Default::default()
            },
        )
        .unwrap()
        .values;
    let v = values(&b, &train);
    for (mr, vr) in m.chunks(3).zip(v.chunks(3)) {
        let mut s = mr.to_vec();
        s.sort_by(f32::total_cmp);
        assert_eq!(s, vr.to_vec());
    }
}

#[test]
fn expectiles_order_and_the_median_expectile_is_squared_error() {
    let (cols, y) = hetero(1500, 5);
    let train = Dataset::from_columns(cols).unwrap().with_labels(y.clone()).unwrap();
    // XGBoost's expectile loss is half the squared error at 0.5: the same trees without lambda.
    let exact = [
        ("lambda", "0"),
        ("min_child_weight", "0"),
        ("use_quantized_grad", "false"),
    ];
    let half = Booster::train(
        &params(&[&exact[..], &[("objective", "reg:expectileerror")]].concat()),
        &train,
        &[],
    )
    .unwrap();
    let l2 = Booster::train(
        &params(&[&exact[..], &[("objective", "reg:squarederror")]].concat()),
        &train,
        &[],
    )
    .unwrap();
    let (a, b) = (values(&half, &train), values(&l2, &train));
    for (x, z) in a.iter().zip(&b) {
        assert!((x - z).abs() < 1e-4, "{x} vs {z}");
    }
    let p = params(&[("objective", "reg:expectileerror"), ("expectile_alpha", "0.2,0.8")]);
    let m = Booster::train(&p, &train, &[("train", &train)]).unwrap();
    let v = values(&m, &train);
    assert!(v.chunks(2).all(|r| r[0] <= r[1]));
    // More of the labels lie below the 0.8 expectile than below the 0.2 one.
    let below = |j: usize| y.iter().zip(v.chunks(2)).filter(|(y, r)| **y < r[j]).count() as f64 / y.len() as f64;
    assert!(below(0) < 0.45 && below(1) > 0.55, "{} {}", below(0), below(1));
    assert_eq!(m.params().eval_metric.len(), 0);
    let text = m.to_json_string().unwrap();
    assert!(text.contains("expectile_alpha"), "levels are saved");
    let back = Booster::from_json_str(&text).unwrap();
    assert_eq!(values(&back, &train), v);
}

/// Two targets of different scales and shapes.
fn two_targets(n: usize, seed: u64) -> (Dataset, Vec<f32>) {
    let (cols, y0) = hetero(n, seed);
    let y1: Vec<f32> = (0..n)
        .map(|i| 10.0 * cols[3][i] - 3.0 * cols[0][i] * cols[0][i])
        .collect();
    let labels: Vec<f32> = y0.iter().zip(&y1).flat_map(|(a, b)| [*a, *b]).collect();
    let d = Dataset::from_columns(cols)
        .unwrap()
        .with_label_matrix(labels.clone(), 2)
        .unwrap();
    (d, labels)
}

#[test]
fn several_targets_train_with_either_strategy() {
    let (train, labels) = two_targets(2000, 21);
    for strategy in ["one_output_per_tree", "multi_output_tree"] {
        let p = params(&[("multi_strategy", strategy), ("eval_metric", "rmse")]);
        let b = Booster::train(&p, &train, &[("train", &train)]).unwrap();
        assert_eq!(b.num_groups(), 2);
        assert_eq!(b.params().num_target, 2);
        let v = values(&b, &train);
        for t in 0..2 {
            let (mut se, mut var, mean) = (
                0.0,
                0.0,
                labels.iter().skip(t).step_by(2).map(|v| *v as f64).sum::<f64>() / 2000.0,
            );
            for i in 0..2000 {
                se += (v[i * 2 + t] as f64 - labels[i * 2 + t] as f64).powi(2);
                var += (labels[i * 2 + t] as f64 - mean).powi(2);
            }
            // Shared splits serve the larger-scale target first (as in XGBoost), so the noisy one
            // fits a little less well than with trees of its own.
            assert!(se < 0.7 * var, "{strategy} target {t}: {se} vs {var}");
        }
        if strategy == "multi_output_tree" {
            // Each round's trees share their splits.
            let trees = b.trees();
            for round in trees.chunks(2) {
                assert_eq!(round[0].feature, round[1].feature);
                assert_eq!(round[0].threshold, round[1].threshold);
                assert_eq!(round[0].left, round[1].left);
            }
        }
        let back = Booster::from_json_str(&b.to_json_string().unwrap()).unwrap();
        assert_eq!(values(&back, &train), v);
    }
}

#[test]
fn multi_label_classification_gives_probabilities_per_label() {
    let (cols, _) = hetero(1500, 4);
    let n = cols[0].len();
    let labels: Vec<f32> = (0..n)
        .flat_map(|i| {
            [
                (cols[0][i] > 0.0) as u8 as f32,
                (cols[1][i] + cols[2][i] > 0.5) as u8 as f32,
            ]
        })
        .collect();
    let train = Dataset::from_columns(cols)
        .unwrap()
        .with_label_matrix(labels.clone(), 2)
        .unwrap();
    for strategy in ["one_output_per_tree", "multi_output_tree"] {
        let p = params(&[("objective", "binary:logistic"), ("multi_strategy", strategy)]);
        let b = Booster::train(&p, &train, &[("train", &train)]).unwrap();
        let v = values(&b, &train);
        assert!(v.iter().all(|p| (0.0..=1.0).contains(p)));
        let errors = v
            .iter()
            .zip(&labels)
            .filter(|(p, y)| (**p > 0.5) != (**y > 0.5))
            .count();
        assert!(errors < labels.len() / 10, "{strategy}: {errors} errors");
    }
}

#[test]
fn bad_combinations_are_refused_by_name() {
    let (train, _) = two_targets(200, 1);
    let err = |pairs: &[(&str, &str)]| {
        let mut p = params(&[]);
        match p.apply(pairs.iter().copied()) {
            Err(e) => e.to_string(),
            Ok(()) => Booster::train(&p, &train, &[]).unwrap_err().to_string(),
        }
    };
    assert!(err(&[("objective", "multi:softprob"), ("num_class", "3")]).contains("num_target"));
    assert!(err(&[("objective", "reg:quantileerror"), ("quantile_alpha", "0.1,0.9")]).contains("num_target"));
    assert!(err(&[("multi_strategy", "multi_output_tree"), ("tree_method", "exact")]).contains("multi_strategy"));
    assert!(err(&[("num_target", "3")]).contains("num_target"));
    let bad_alpha = Params::default()
        .apply([("quantile_alpha", "0.1,1.5")])
        .unwrap_err()
        .to_string();
    assert!(bad_alpha.contains("quantile_alpha"), "{bad_alpha}");
    let (one, _) = hetero(100, 2);
    let single = Dataset::from_columns(one).unwrap().with_labels(vec![0.0; 100]).unwrap();
    let e = Booster::train(&params(&[]), &train, &[("valid", &single)])
        .unwrap_err()
        .to_string();
    assert!(e.contains("label columns"), "{e}");
}
