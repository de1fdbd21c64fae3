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
