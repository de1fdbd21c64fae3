use super::*;
use proptest::prelude::*;

fn settings(
    kind: ObjectiveKind,
    method: LambdarankPairMethod,
    num_pair: usize,
    norm: bool,
    score_norm: bool,
) -> RankSettings {
    RankSettings {
        kind,
        method,
        num_pair,
        normalization: norm,
        score_normalization: score_norm,
        gain: Gain::Exp,
    }
}

/// DCG of the documents in `order` (all positions) with the gain of `s`.
fn dcg(s: &RankSettings, labels: &[f32], order: &[usize]) -> f64 {
    order
        .iter()
        .enumerate()
        .map(|(i, &d)| s.gain.of(labels[d]) / ((i + 2) as f64).log2())
        .sum()
}

/// Average precision of `order` by definition (binary labels, all positions).
fn ap(labels: &[f32], order: &[usize]) -> f64 {
    let total: f64 = labels.iter().map(|&y| y as f64).sum();
    if total == 0.0 {
        return 0.0;
    }
    let mut hits = 0.0;
    let mut s = 0.0;
    for (i, &d) in order.iter().enumerate() {
        if labels[d] == 1.0 {
            hits += 1.0;
            s += hits / (i + 1) as f64;
        }
    }
    s / total
}

/// The naive reference: every pair of positions `(i, j)`, `i < j`, with `i` among the top `k`,
/// the metric change by swapping the two documents and recomputing the metric from scratch.
fn naive(s: &RankSettings, labels: &[f32], scores: &[f64]) -> Vec<(f64, f64)> {
    let n = labels.len();
    let mut out = vec![(0.0, 0.0); n];
    if n < 2 {
        return out;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap().then(a.cmp(&b)));
    let mut ideal: Vec<f64> = labels.iter().map(|&y| s.gain.of(y)).collect();
    ideal.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let idcg: f64 = ideal
        .iter()
        .take(s.num_pair)
        .enumerate()
        .map(|(i, g)| g / ((i + 2) as f64).log2())
        .sum();
    let all_equal = scores[order[0]] == scores[order[n - 1]];
    let mut sum_lambda = 0.0;
    for i in 0..n.min(s.num_pair) {
        for j in i + 1..n {
            let (a, b) = (order[i], order[j]);
            if labels[a] == labels[b] {
                continue;
            }
            let (hi, lo) = if labels[a] > labels[b] { (a, b) } else { (b, a) };
            let mut swapped = order.clone();
            swapped.swap(i, j);
            let mut delta = match s.kind {
                ObjectiveKind::RankNdcg => {
                    if idcg > 0.0 {
                        ((dcg(s, labels, &order) - dcg(s, labels, &swapped)) / idcg).abs()
                    } else {
                        0.0
                    }
                }
                ObjectiveKind::RankMap => (ap(labels, &order) - ap(labels, &swapped)).abs(),
                _ => 1.0,
            };
            let diff = scores[hi] - scores[lo];
            if s.score_normalization && !all_equal {
                delta /= diff.abs() + 0.01;
            }
            let sig = 1.0 / (1.0 + (-diff).exp());
            let lambda = (sig - 1.0) * delta;
            let hess = 2.0 * (sig * (1.0 - sig)).max(1e-16) * delta;
            out[hi].0 += lambda;
            out[lo].0 -= lambda;
            out[hi].1 += hess;
            out[lo].1 += hess;
            sum_lambda -= 2.0 * lambda;
        }
    }
    if s.normalization && sum_lambda > 0.0 {
        let norm = (1.0 + sum_lambda).log2() / sum_lambda;
        for o in &mut out {
            o.0 *= norm;
            o.1 *= norm;
        }
    }
    out
}

fn close(a: &[(f64, f64)], b: &[(f64, f64)]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x.0 - y.0).abs() < 1e-9 * (1.0 + y.0.abs()), "{a:?} vs {b:?}");
        assert!((x.1 - y.1).abs() < 1e-9 * (1.0 + y.1.abs()), "{a:?} vs {b:?}");
    }
}

fn query() -> impl Strategy<Value = (Vec<f32>, Vec<f64>)> {
    (1usize..14).prop_flat_map(|n| {
        (
            prop::collection::vec(0u8..5, n).prop_map(|v| v.into_iter().map(f32::from).collect()),
            prop::collection::vec(-3i32..3, n).prop_map(|v| v.into_iter().map(|x| x as f64 * 0.5).collect()),
        )
    })
}

proptest! {
    #[test]
    fn topk_matches_the_naive_reference((labels, scores) in query(), k in 1usize..16, norm: bool, score_norm: bool) {
        for kind in [ObjectiveKind::RankNdcg, ObjectiveKind::RankPairwise] {
            let s = settings(kind, LambdarankPairMethod::Topk, k, norm, score_norm);
            close(&query_gradients(&s, &labels, &scores, 0), &naive(&s, &labels, &scores));
        }
        let binary: Vec<f32> = labels.iter().map(|&y| if y >= 2.0 { 1.0 } else { 0.0 }).collect();
        let s = settings(ObjectiveKind::RankMap, LambdarankPairMethod::Topk, k, norm, score_norm);
        close(&query_gradients(&s, &binary, &scores, 0), &naive(&s, &binary, &scores));
    }

    #[test]
    fn gradients_sum_to_zero_and_hessians_are_positive((labels, scores) in query(), seed: u64) {
        for method in [LambdarankPairMethod::Topk, LambdarankPairMethod::Mean] {
            let s = settings(ObjectiveKind::RankNdcg, method, 3, true, true);
            let g = query_gradients(&s, &labels, &scores, seed);
            let sum: f64 = g.iter().map(|p| p.0).sum();
            prop_assert!(sum.abs() < 1e-9);
            prop_assert!(g.iter().all(|p| p.1 >= 0.0));
        }
    }
}

/// Without either normalisation, the gradient of `rank:pairwise` is the derivative of the RankNet
/// loss `sum over pairs of log(1 + exp(-(s_high - s_low)))`, and its hessian twice the second
/// derivative (XGBoost doubles it); `rank:ndcg` likewise with each pair weighted by its fixed
/// `|ΔNDCG|` while the order does not change.
#[test]
fn finite_differences() {
    let labels = [2.0, 0.0, 1.0, 3.0, 0.0, 1.0];
    let scores = [0.3, 0.1, -0.4, 0.05, 0.6, -1.0];
    for kind in [ObjectiveKind::RankPairwise, ObjectiveKind::RankNdcg] {
        let s = settings(kind, LambdarankPairMethod::Topk, 100, false, false);
        // The loss with the pair weights of the current order.
        let weights = {
            let mut w = vec![vec![0.0; 6]; 6];
            let rank = rank_by_score(&scores);
            let idcg = ideal_dcg(&labels, &s.gain, 100);
            for i in 0..6 {
                for j in i + 1..6 {
                    let (a, b) = (rank[i], rank[j]);
                    let d = match kind {
                        ObjectiveKind::RankNdcg => {
                            ((s.gain.of(labels[a]) - s.gain.of(labels[b])) * (discount(i) - discount(j)) / idcg).abs()
                        }
                        _ => 1.0,
                    };
                    w[a][b] = d;
                    w[b][a] = d;
                }
            }
            w
        };
        let loss = |x: &[f64]| -> f64 {
            let mut l = 0.0;
            for a in 0..6 {
                for b in 0..6 {
                    if labels[a] > labels[b] {
                        l += weights[a][b] * (1.0 + (-(x[a] - x[b])).exp()).ln();
                    }
                }
            }
            l
        };
        let g = query_gradients(&s, &labels, &scores, 0);
        let eps = 1e-5;
        for r in 0..6 {
            let mut up = scores.to_vec();
            let mut down = scores.to_vec();
            up[r] += eps;
            down[r] -= eps;
            let fd = (loss(&up) - loss(&down)) / (2.0 * eps);
            assert!((g[r].0 - fd).abs() < 1e-6, "{kind:?} row {r}: {} vs {fd}", g[r].0);
            let fd2 = (loss(&up) - 2.0 * loss(&scores) + loss(&down)) / (eps * eps);
            assert!(
                (g[r].1 - 2.0 * fd2).abs() < 1e-3,
                "{kind:?} row {r}: {} vs 2 x {fd2}",
                g[r].1
            );
        }
    }
}

#[test]
fn mean_pairs_are_seeded_and_normalised() {
    let labels = [2.0, 0.0, 1.0, 3.0, 0.0, 1.0, 0.0];
    let scores = [0.3, 0.1, -0.4, 0.05, 0.6, -1.0, 0.0];
    let s = settings(ObjectiveKind::RankNdcg, LambdarankPairMethod::Mean, 4, true, true);
    let a = query_gradients(&s, &labels, &scores, 7);
    assert_eq!(a, query_gradients(&s, &labels, &scores, 7));
    assert_ne!(a, query_gradients(&s, &labels, &scores, 8));
    // One draw per document with normalisation off: each document is in at least one pair.
    let s1 = settings(ObjectiveKind::RankPairwise, LambdarankPairMethod::Mean, 1, false, false);
    let g = query_gradients(&s1, &labels, &scores, 3);
    assert!(g.iter().all(|p| p.1 > 0.0), "{g:?}");
    // All labels equal: no pairs.
    let g = query_gradients(&s1, &[1.0; 4], &[0.0, 1.0, 2.0, 3.0], 3);
    assert!(g.iter().all(|p| *p == (0.0, 0.0)));
}

#[test]
fn delta_map_is_the_change_of_average_precision() {
    let labels = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 1.0];
    let order: Vec<usize> = (0..7).collect();
    let (n_rel, acc) = map_stats(&labels, &order);
    for i in 0..7 {
        for j in i + 1..7 {
            if labels[i] == labels[j] {
                continue;
            }
            let mut sw = order.clone();
            sw.swap(i, j);
            let want = ap(&labels, &order) - ap(&labels, &sw);
            let got = delta_map(labels[i], labels[j], i, j, &n_rel, &acc);
            assert!((got.abs() - want.abs()).abs() < 1e-12, "({i},{j}): {got} vs {want}");
        }
    }
}

#[test]
fn targets_are_checked() {
    let params = Params {
        objective: ObjectiveKind::RankNdcg,
        ..Params::default()
    };
    let obj = RankingObjective::from_params(&params);
    let labels = [1.0, 0.0, 2.0];
    let e = obj
        .check_targets(&Targets::plain(&labels, None))
        .unwrap_err()
        .to_string();
    assert!(e.contains("qid") && e.contains("group"), "{e}");
    let groups = QueryGroups::from_query_ids(&[4, 4, 9]);
    let t = |labels: &'static [f32], weights: Option<&'static [f32]>| Targets {
        labels,
        weights,
        groups: None,
        bounds: None,
    };
    let with = |mut x: Targets<'static>, g: &'static QueryGroups| {
        x.groups = Some(g);
        x
    };
    let g: &'static QueryGroups = Box::leak(Box::new(groups));
    assert!(obj.check_targets(&with(t(&[1.0, 0.0, 2.0], None), g)).is_ok());
    assert!(obj.check_targets(&with(t(&[1.5, 0.0, 2.0], None), g)).is_err());
    assert!(obj.check_targets(&with(t(&[32.0, 0.0, 2.0], None), g)).is_err());
    let e = obj
        .check_targets(&with(t(&[1.0, 0.0, 2.0], Some(&[1.0, 2.0, 1.0])), g))
        .unwrap_err()
        .to_string();
    assert!(e.contains("row 1"), "{e}");
    assert!(obj
        .check_targets(&with(t(&[1.0, 0.0, 2.0], Some(&[2.0, 2.0, 1.0])), g))
        .is_ok());
    let map = RankingObjective::from_params(&Params {
        objective: ObjectiveKind::RankMap,
        ..Params::default()
    });
    assert!(map.check_targets(&with(t(&[1.0, 0.0, 2.0], None), g)).is_err());
    assert!(map.check_targets(&with(t(&[1.0, 0.0, 1.0], None), g)).is_ok());
    // The default metrics follow XGBoost 3: ndcg@32 / map@32 with topk.
    assert_eq!(obj.default_metric().to_string(), "ndcg@32");
    assert_eq!(map.default_metric().to_string(), "map@32");
}

#[test]
fn label_gain_replaces_the_exponential_gain() {
    let g = Gain::Table(vec![0.0, 1.0, 3.0, 7.0, 15.0]);
    assert_eq!(g.of(3.0), Gain::Exp.of(3.0));
    assert!(g.check(&[0.0, 4.0], "rank:ndcg").is_ok());
    assert!(g.check(&[0.0, 5.0], "rank:ndcg").is_err());
    assert_eq!(Gain::Linear.of(2.5), 2.5);
}

/// Unbiased LambdaMART's pair statistics by definition: every pair of the plain gradients'
/// pairs, its loss `ln(1 + e^(s_lo - s_hi))`... recomputed here from scratch for a topk query.
fn naive_position_losses(
    s: &RankSettings,
    labels: &[f32],
    scores: &[f64],
    bias: &PositionBias,
) -> (Vec<f64>, Vec<f64>) {
    let n = labels.len();
    let k = bias.t_plus.len();
    let (mut li, mut lj) = (vec![0.0; k], vec![0.0; k]);
    let rank = rank_by_score(scores);
    let idcg = ideal_dcg(labels, &s.gain, s.num_pair);
    let all_equal = scores[rank[0]] == scores[rank[n - 1]];
    for i in 0..n.min(s.num_pair) {
        for j in i + 1..n {
            let (a, b) = (rank[i], rank[j]);
            if labels[a] == labels[b] {
                continue;
            }
            // (document, its place in the ranked list) of the more and the less relevant one.
            let ((hi, ph), (lo, pl)) = if labels[a] > labels[b] {
                ((a, i), (b, j))
            } else {
                ((b, j), (a, i))
            };
            let swap = (s.gain.of(labels[hi]) - s.gain.of(labels[lo])) * (discount(ph) - discount(pl));
            let mut delta = (swap / idcg).abs();
            let diff = scores[hi] - scores[lo];
            if s.score_normalization && !all_equal {
                delta /= diff.abs() + 0.01;
            }
            let cost = (1.0 + diff.exp()).ln() * delta;
            if hi < k && lo < k {
                li[hi] += cost / bias.t_minus[lo];
                lj[lo] += cost / bias.t_plus[hi];
            }
        }
    }
    (li, lj)
}

proptest! {
    /// Under a position bias every pair's lambda and hessian are divided by `t_plus(high) *
    /// t_minus(low)`; with no bias the gradients are the plain ones; the pair losses per
    /// position match their definition.
    #[test]
    fn unbiased_pairs_are_divided_by_the_position_bias(
        (labels, scores) in query(),
        t in prop::collection::vec(0.2f64..1.0, 8),
    ) {
        let s = settings(ObjectiveKind::RankNdcg, LambdarankPairMethod::Topk, 32, false, true);
        let unit = PositionBias::new(8);
        let (plain, losses) = query_gradients_with_bias(&s, &labels, &scores, 0, Some(&unit));
        close(&plain, &query_gradients(&s, &labels, &scores, 0));
        if labels.len() >= 2 {
            let (li, lj) = losses.unwrap();
            let (nli, nlj) = naive_position_losses(&s, &labels, &scores, &unit);
            for p in 0..8 {
                prop_assert!((li[p] - nli[p]).abs() < 1e-9 * (1.0 + nli[p].abs()));
                prop_assert!((lj[p] - nlj[p]).abs() < 1e-9 * (1.0 + nlj[p].abs()));
            }
        }
        // A bias on two positions only: only pairs between tracked positions change, by the
        // product of the ratios.
        if labels.len() >= 2 && labels[0] != labels[1] {
            let (l2, s2) = (&labels[..2], &scores[..2]);
            let bias = PositionBias { t_plus: t[..4].to_vec(), t_minus: t[4..].to_vec() };
            let (p2, _) = query_gradients_with_bias(&s, l2, s2, 0, Some(&unit));
            let (g, _) = query_gradients_with_bias(&s, l2, s2, 0, Some(&bias));
            let (hi, lo) = if l2[0] > l2[1] { (0, 1) } else { (1, 0) };
            let f = bias.t_plus[hi] * bias.t_minus[lo];
            prop_assert!((g[hi].0 * f - p2[hi].0).abs() < 1e-9);
            prop_assert!((g[lo].1 * f - p2[lo].1).abs() < 1e-9);
        }
    }
}

#[test]
fn position_bias_update_normalises_to_the_first_position() {
    let mut b = PositionBias::new(3);
    b.update(&[4.0, 2.0, 1.0], &[2.0, 2.0, 8.0], 0.5);
    let close = |a: &[f64], e: &[f64]| a.iter().zip(e).all(|(x, y)| (x - y).abs() < 1e-12);
    assert!(close(&b.t_plus, &[1.0, 0.5f64.sqrt(), 0.5]), "{:?}", b.t_plus);
    assert!(close(&b.t_minus, &[1.0, 1.0, 2.0]), "{:?}", b.t_minus);
    // No loss at position 0 keeps the previous estimate.
    b.update(&[0.0, 1.0, 1.0], &[0.0, 1.0, 1.0], 0.5);
    assert!(close(&b.t_plus, &[1.0, 0.5f64.sqrt(), 0.5]));
}

#[test]
fn unbiased_objective_estimates_a_bias_each_round() {
    let p = Params {
        objective: ObjectiveKind::RankPairwise,
        lambdarank_unbiased: true,
        lambdarank_num_pair_per_sample: Some(4),
        ..Params::default()
    };
    let obj = RankingObjective::from_params(&p);
    assert_eq!(obj.position_bias(), None);
    // Two queries whose first-shown documents are clicked more.
    let labels = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
    let groups = QueryGroups::from_sizes(&[5, 5], 10).unwrap();
    let t = Targets {
        labels: &labels,
        weights: None,
        groups: Some(&groups),
        bounds: None,
    };
    let mut out = vec![GradPair::default(); 10];
    obj.gradients_for(&t, &[0.0; 10], &mut out);
    let (tp, tm) = obj.position_bias().unwrap();
    assert_eq!((tp.len(), tm.len()), (4, 4));
    assert_eq!((tp[0], tm[0]), (1.0, 1.0));
    assert!(tp.iter().chain(&tm).all(|v| v.is_finite() && *v >= 0.0));
}
