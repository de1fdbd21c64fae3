//! Unit tests of the built-in objectives: derivatives against finite differences, links, labels.

use super::*;

fn numeric_check(kind: ObjectiveKind, label: f32, margin: f64) {
    let mut params = Params {
        objective: kind,
        ..Params::default()
    };
    if kind.is_multiclass() {
        params.num_class = 3;
    }
    let obj = BuiltinObjective::from_params(&params);
    let loss = |m: f64| -> f64 {
        use ObjectiveKind::*;
        let y = label as f64;
        match kind {
            SquaredError => 0.5 * (m - y).powi(2),
            PseudoHuberError => (1.0 + ((m - y) / params.huber_slope).powi(2)).sqrt() - 1.0,
            SquaredLogError => 0.5 * ((m + 1.0).ln() - (y + 1.0).ln()).powi(2),
            Gamma => y * (-m).exp() + m,
            Tweedie => {
                let rho = params.tweedie_variance_power;
                -y * ((1.0 - rho) * m).exp() / (1.0 - rho) + ((2.0 - rho) * m).exp() / (2.0 - rho)
            }
            BinaryLogistic => -(y * sigmoid(m).ln() + (1.0 - y) * (1.0 - sigmoid(m)).ln()),
            _ => unreachable!(),
        }
    };
    let mut out = [GradPair::default()];
    obj.gradients(&[label], None, &[margin], &mut out);
    let eps = 1e-4;
    let g = (loss(margin + eps) - loss(margin - eps)) / (2.0 * eps);
    let h = (loss(margin + eps) - 2.0 * loss(margin) + loss(margin - eps)) / (eps * eps);
    assert!(
        (out[0].grad as f64 - g).abs() < 1e-3 * (1.0 + g.abs()),
        "{kind:?} grad {} vs {g}",
        out[0].grad
    );
    assert!(
        (out[0].hess as f64 - h).abs() < 1e-2 * (1.0 + h.abs()),
        "{kind:?} hess {} vs {h}",
        out[0].hess
    );
}

#[test]
fn gradients_match_finite_differences() {
    use ObjectiveKind::*;
    for kind in [
        SquaredError,
        PseudoHuberError,
        SquaredLogError,
        Gamma,
        Tweedie,
        BinaryLogistic,
    ] {
        numeric_check(kind, 0.7, 0.2);
        numeric_check(kind, 1.0, -0.4);
    }
}

#[test]
fn softprob_gradients_sum_to_zero() {
    let params = Params {
        objective: ObjectiveKind::MultiSoftprob,
        num_class: 3,
        ..Params::default()
    };
    let obj = BuiltinObjective::from_params(&params);
    let mut out = [GradPair::default(); 3];
    obj.gradients(&[2.0], None, &[0.1, -0.3, 0.5], &mut out);
    let s: f32 = out.iter().map(|g| g.grad).sum();
    assert!(s.abs() < 1e-6);
    assert!(out[2].grad < 0.0);
}

#[test]
fn labels_are_checked() {
    let params = Params {
        objective: ObjectiveKind::BinaryLogistic,
        ..Params::default()
    };
    let e = BuiltinObjective::from_params(&params)
        .validate_labels(&[0.0, 2.0])
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 1"), "{e}");
    let params = Params {
        objective: ObjectiveKind::MultiSoftprob,
        num_class: 2,
        ..Params::default()
    };
    assert!(BuiltinObjective::from_params(&params)
        .validate_labels(&[0.0, 2.0])
        .is_err());
}

#[test]
fn initial_margins() {
    let p = Params {
        objective: ObjectiveKind::BinaryLogistic,
        ..Params::default()
    };
    let m = BuiltinObjective::from_params(&p).initial_margin(&[1.0, 0.0, 0.0, 0.0], None);
    assert!((sigmoid(m[0]) - 0.25).abs() < 1e-9);
    let p = Params {
        objective: ObjectiveKind::AbsoluteError,
        ..Params::default()
    };
    let m = BuiltinObjective::from_params(&p).initial_margin(&[1.0, 2.0, 100.0], None);
    assert_eq!(m[0], 2.0);
}

/// The loss of several expectiles of one row under the increasing parametrisation, from margins.
fn expectile_loss(levels: &[f64], y: f64, margins: &[f64]) -> f64 {
    let mut row: Vec<f32> = margins.iter().map(|m| *m as f32).collect();
    expectiles_of_margins(&mut row);
    // Recompute in f64 for the finite differences.
    let mut pred = margins[0];
    let mut loss = 0.0;
    for (k, a) in levels.iter().enumerate() {
        if k > 0 {
            pred += EXPECTILE_GAP + softplus(margins[k]);
        }
        let d = pred - y;
        let side = if d >= 0.0 { 1.0 - a } else { *a };
        loss += 0.5 * side * d * d;
        assert!((row[k] as f64 - pred).abs() < 1e-4 * (1.0 + pred.abs()));
    }
    loss
}

mod levels {
    use super::*;
    use proptest::prelude::*;

    fn leveled(kind: ObjectiveKind, levels: &[f64]) -> BuiltinObjective {
        let mut p = Params {
            objective: kind,
            ..Params::default()
        };
        p.quantile_alpha = crate::params::Alphas::many(levels.to_vec());
        p.expectile_alpha = crate::params::Alphas::many(levels.to_vec());
        BuiltinObjective::from_params(&p)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Every expectile margin's gradient is the derivative of the summed loss (the hessian is
        /// XGBoost's diagonal Gauss-Newton one, positive); predictions increase with the level.
        #[test]
        fn expectile_gradients_match_finite_differences(
            y in -5.0f64..5.0,
            margins in prop::collection::vec(-3.0f64..3.0, 1..5),
            w in 0.1f64..3.0,
        ) {
            let levels: Vec<f64> = (0..margins.len()).map(|k| (k as f64 + 0.5) / margins.len() as f64).collect();
            let obj = leveled(ObjectiveKind::ExpectileError, &levels);
            let mut out = vec![GradPair::default(); margins.len()];
            obj.gradients(&[y as f32], Some(&[w as f32]), &margins, &mut out);
            let eps = 1e-5;
            for j in 0..margins.len() {
                let (mut up, mut down) = (margins.clone(), margins.clone());
                up[j] += eps;
                down[j] -= eps;
                let g = w * (expectile_loss(&levels, y as f32 as f64, &up) - expectile_loss(&levels, y as f32 as f64, &down)) / (2.0 * eps);
                prop_assert!((out[j].grad as f64 - g).abs() < 1e-3 * (1.0 + g.abs()), "margin {j}: {} vs {g}", out[j].grad);
                prop_assert!(out[j].hess > 0.0);
            }
            let mut row: Vec<f32> = margins.iter().map(|m| *m as f32).collect();
            obj.margin_to_score(&mut row);
            prop_assert!(row.windows(2).all(|p| p[0] < p[1]));
        }

        /// Each quantile output's gradient is the pinball loss's derivative at its own level,
        /// away from the kink; the scores come out sorted by level.
        #[test]
        fn quantile_gradients_are_per_level(
            y in -5.0f64..5.0,
            margins in prop::collection::vec(-5.0f64..5.0, 2..5),
        ) {
            let levels: Vec<f64> = (0..margins.len()).map(|k| 0.9 - 0.8 * k as f64 / (margins.len() - 1) as f64).collect();
            let obj = leveled(ObjectiveKind::QuantileError, &levels);
            let mut out = vec![GradPair::default(); margins.len()];
            obj.gradients(&[y as f32], None, &margins, &mut out);
            for (j, a) in levels.iter().enumerate() {
                let d = margins[j] - y as f32 as f64;
                prop_assume!(d.abs() > 1e-3);
                let pinball = |m: f64| { let r = y as f32 as f64 - m; if r >= 0.0 { a * r } else { (a - 1.0) * r } };
                let g = (pinball(margins[j] + 1e-6) - pinball(margins[j] - 1e-6)) / 2e-6;
                prop_assert!((out[j].grad as f64 - g).abs() < 1e-4, "level {a}: {} vs {g}", out[j].grad);
            }
            let mut row: Vec<f32> = margins.iter().map(|m| *m as f32).collect();
            obj.margin_to_score(&mut row);
            // Levels descend, so the sorted values do too.
            prop_assert!(row.windows(2).all(|p| p[0] >= p[1]), "{row:?}");
        }
    }

    #[test]
    fn one_expectile_matches_finite_differences() {
        let obj = leveled(ObjectiveKind::ExpectileError, &[0.8]);
        for (y, m) in [(1.0f32, 0.3f64), (-2.0, 0.5)] {
            let mut out = [GradPair::default()];
            obj.gradients(&[y], None, &[m], &mut out);
            let loss = |m: f64| expectile_loss(&[0.8], y as f64, &[m]);
            let g = (loss(m + 1e-5) - loss(m - 1e-5)) / 2e-5;
            let h = (loss(m + 1e-3) - 2.0 * loss(m) + loss(m - 1e-3)) / 1e-6;
            assert!((out[0].grad as f64 - g).abs() < 1e-4 && (out[0].hess as f64 - h).abs() < 1e-3);
        }
    }

    #[test]
    fn initial_expectiles_are_the_labels_expectiles() {
        let labels = [1.0f32, 2.0, 3.0, 10.0];
        let obj = leveled(ObjectiveKind::ExpectileError, &[0.2, 0.5, 0.9]);
        let mut m: Vec<f32> = obj.initial_margin(&labels, None).iter().map(|v| *v as f32).collect();
        obj.margin_to_score(&mut m);
        for (k, a) in [0.2, 0.5, 0.9].into_iter().enumerate() {
            let e = weighted_expectile(&labels, None, a);
            // The balance equation holds at e.
            let balance: f64 = labels
                .iter()
                .map(|y| {
                    let r = *y as f64 - e;
                    if r >= 0.0 {
                        a * r
                    } else {
                        (1.0 - a) * r
                    }
                })
                .sum();
            assert!(balance.abs() < 1e-9, "{balance}");
            assert!((m[k] as f64 - e).abs() < 1e-4, "{} vs {e}", m[k]);
        }
        assert!((weighted_expectile(&labels, None, 0.5) - 4.0).abs() < 1e-12);
    }
}

/// The batch conversion (`margins_to_scores`, vectorised for element-wise links and softmax) gives
/// the bits of the per-row `margin_to_score` for every built-in objective.
#[test]
fn batch_scores_match_row_scores_bit_for_bit() {
    use ObjectiveKind::*;
    let margins: Vec<f32> = (0..7 * 301)
        .map(|i| ((i as f32 * 0.618_034).fract() - 0.5) * 30.0)
        .chain([f32::NAN, 80.0, -800.0, 0.0, -0.0, 1e-30, 5.0])
        .collect();
    for kind in [
        SquaredError,
        BinaryLogistic,
        BinaryLogitRaw,
        Poisson,
        Gamma,
        Tweedie,
        MultiSoftmax,
        MultiSoftprob,
    ] {
        let mut params = Params {
            objective: kind,
            ..Params::default()
        };
        if kind.is_multiclass() {
            params.num_class = 7;
        }
        let obj = BuiltinObjective::from_params(&params);
        let k = obj.num_groups();
        let mut batch = margins.clone();
        obj.margins_to_scores(&mut batch, k);
        let mut rows = margins.clone();
        rows.chunks_exact_mut(k).for_each(|r| obj.margin_to_score(r));
        for (i, (a, b)) in batch.iter().zip(&rows).enumerate() {
            assert_eq!(a.to_bits(), b.to_bits(), "{kind:?} value {i}: {a} vs {b}");
        }
    }
}

proptest::proptest! {
    /// Every instruction set's variant of the logistic pairs gives the scalar loop's bits, with and
    /// without weights, and `sigmoid`'s probability.
    #[test]
    fn logistic_pairs_are_the_same_on_every_instruction_set(
        rows in proptest::collection::vec((-40f64..40.0, proptest::bool::ANY, 0f32..3.0), 0..100),
        spw in 0.5f64..4.0,
    ) {
        use crate::util::simd::Isa;
        let e: Vec<f64> = rows.iter().map(|r| crate::util::fastmath::exp(-r.0)).collect();
        let labels: Vec<f32> = rows.iter().map(|r| if r.1 { 1.0 } else { 0.0 }).collect();
        let weights: Vec<f32> = rows.iter().map(|r| r.2).collect();
        for w in [None, Some(&weights[..])] {
            let mut want = vec![GradPair::new(0.0, 0.0); rows.len()];
            logistic_pairs_loop(&e, &labels, w, spw, &mut want);
            for (r, p) in rows.iter().zip(&want) {
                let s = if r.1 { spw } else { 1.0 };
                let wt = w.map_or(1.0, |_| r.2 as f64);
                let y = if r.1 { 1.0 } else { 0.0 };
                proptest::prop_assert_eq!(p.grad, ((sigmoid(r.0) - y) * s * wt) as f32);
            }
            for isa in Isa::available(&["avx512f"]) {
                let mut got = vec![GradPair::new(1.0, 1.0); rows.len()];
                logistic_pairs_at(isa, &e, &labels, w, spw, &mut got);
                proptest::prop_assert_eq!(&got, &want);
            }
        }
    }
}
