//! Ranking metrics over query groups: `ndcg`, `map` and `pre`, each with an optional cut-off
//! (`ndcg@10`) and the `-` variant (`ndcg-`, `ndcg@10-`), as XGBoost defines them.
//!
//! Each query is scored on its documents ordered by prediction (descending; ties by row order)
//! and the scores are averaged with the query weights (the weight of each query's first row; 1
//! without weights). A query with no relevant document scores 1, or 0 with `-`.
//! - `ndcg@k`: `DCG@k / IDCG@k` with gain `2^label - 1` (or `label` with `ndcg_exp_gain=false`,
//!   as XGBoost's metric reads that setting, or `label_gain[label]` when `label_gain` is given,
//!   as LightGBM's metric reads it) and discount `1 / log2(position + 2)`.
//! - `map@k`: `sum over relevant positions i < k of hits(i) / (i + 1)`, divided by
//!   `min(relevant documents, k)` (binary labels).
//! - `pre@k`: relevant documents among the top `min(k, n)`, divided by `min(k, n)` (binary
//!   labels); XGBoost gives no special case for queries without relevant documents here.

use crate::data::{QueryGroups, Targets};
use crate::error::{Error, Result};
use crate::objective::ranking::{discount, ideal_dcg, query_weights, rank_by_score, Gain};

/// The cut-off and the `-` flag of a ranking metric (`ndcg@10-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RankAt {
    /// Only the top `k` positions count (`@k`); `None`: all.
    pub k: Option<usize>,
    /// Queries without a relevant document score 0 instead of 1.
    pub minus: bool,
}

impl RankAt {
    /// Parses what follows the metric's name: ``, `@10`, `-`, `@10-`; `None` if it is not that.
    pub fn parse(rest: &str) -> Option<RankAt> {
        let (body, minus) = match rest.strip_suffix('-') {
            Some(b) => (b, true),
            None => (rest, false),
        };
        if body.is_empty() {
            return Some(RankAt { k: None, minus });
        }
        let k: usize = body.strip_prefix('@')?.parse().ok()?;
        (k >= 1).then_some(RankAt { k: Some(k), minus })
    }

    /// The suffix of the metric's name (`@10-`).
    pub fn suffix(&self) -> String {
        let mut s = self.k.map_or(String::new(), |k| format!("@{k}"));
        if self.minus {
            s.push('-');
        }
        s
    }

    fn cut(&self, n: usize) -> usize {
        self.k.map_or(n, |k| k.min(n))
    }
}

/// Which ranking metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RankMetric {
    /// Normalised discounted cumulative gain.
    Ndcg,
    /// Mean average precision.
    Map,
    /// Precision.
    Pre,
}

impl RankMetric {
    fn name(self) -> &'static str {
        match self {
            RankMetric::Ndcg => "ndcg",
            RankMetric::Map => "map",
            RankMetric::Pre => "pre",
        }
    }
}

/// NDCG@k of one query with `gain`.
pub(crate) fn query_ndcg_with(labels: &[f32], scores: &[f64], at: RankAt, gain: &Gain) -> f64 {
    let k = at.cut(labels.len());
    let idcg = ideal_dcg(labels, gain, k);
    if idcg <= 0.0 {
        return if at.minus { 0.0 } else { 1.0 };
    }
    let rank = rank_by_score(scores);
    let dcg: f64 = rank
        .iter()
        .take(k)
        .enumerate()
        .map(|(i, &d)| gain.of(labels[d]) * discount(i))
        .sum();
    dcg / idcg
}

/// Average precision@k of one query (binary labels).
pub(crate) fn query_map(labels: &[f32], scores: &[f64], at: RankAt) -> f64 {
    let rank = rank_by_score(scores);
    let k = at.cut(labels.len());
    let (mut hits, mut sum) = (0.0, 0.0);
    for (i, &d) in rank.iter().take(k).enumerate() {
        let y = labels[d] as f64;
        hits += y;
        sum += hits / (i + 1) as f64 * y;
    }
    let total: f64 = labels.iter().map(|&y| y as f64).sum();
    if total > 0.0 {
        sum / total.min(at.k.map_or(f64::INFINITY, |k| k as f64))
    } else if at.minus {
        0.0
    } else {
        1.0
    }
}

/// Precision@k of one query (binary labels).
pub(crate) fn query_pre(labels: &[f32], scores: &[f64], at: RankAt) -> f64 {
    let rank = rank_by_score(scores);
    let k = at.cut(labels.len());
    if k == 0 {
        return 0.0;
    }
    let hits: f64 = rank.iter().take(k).map(|&d| labels[d] as f64).sum();
    hits / k as f64
}

/// Evaluates a ranking metric: one score per row, query groups from `targets`, NDCG with `gain`.
pub(crate) fn evaluate(
    metric: RankMetric,
    at: RankAt,
    scores: &[f32],
    targets: &Targets<'_>,
    gain: &Gain,
) -> Result<f64> {
    let name = format!("{}{}", metric.name(), at.suffix());
    let Some(groups) = targets.groups else {
        return Err(Error::param(
            "eval_metric",
            format!("{name} needs query groups: give the data query ids (`qid`) or group sizes (`group`)"),
        ));
    };
    check(metric, &name, targets.labels, groups, gain)?;
    let qw = query_weights(groups, targets.weights);
    let (mut s, mut sw) = (0.0, 0.0);
    for (rows, w) in groups.iter().zip(&qw) {
        let labels: Vec<f32> = rows.iter().map(|&r| targets.labels[r as usize]).collect();
        let sc: Vec<f64> = rows.iter().map(|&r| scores[r as usize] as f64).collect();
        let v = match metric {
            RankMetric::Ndcg => query_ndcg_with(&labels, &sc, at, gain),
            RankMetric::Map => query_map(&labels, &sc, at),
            RankMetric::Pre => query_pre(&labels, &sc, at),
        };
        s += v * w;
        sw += w;
    }
    Ok(if sw > 0.0 { s / sw } else { 0.0 })
}

fn check(metric: RankMetric, name: &str, labels: &[f32], groups: &QueryGroups, gain: &Gain) -> Result<()> {
    if groups.num_rows() != labels.len() {
        return Err(Error::ShapeMismatch {
            what: format!("rows of the query groups vs labels for {name}"),
            expected: labels.len(),
            got: groups.num_rows(),
        });
    }
    if metric == RankMetric::Ndcg {
        return gain.check(labels, name);
    }
    match labels.iter().position(|&y| y != 0.0 && y != 1.0) {
        Some(row) => Err(Error::InvalidLabel {
            row,
            value: labels[row] as f64,
            reason: format!("{name} needs binary relevance labels (0 or 1)"),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// NDCG@k of one query with the exponential gain.
    fn query_ndcg(labels: &[f32], scores: &[f64], at: RankAt) -> f64 {
        query_ndcg_with(labels, scores, at, &Gain::Exp)
    }

    /// NDCG by definition: DCG of the given order over the ideal DCG, both at `k`.
    fn naive_ndcg(labels: &[f32], scores: &[f64], k: usize) -> f64 {
        let mut idx: Vec<usize> = (0..labels.len()).collect();
        idx.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap().then(a.cmp(&b)));
        let dcg = |order: &[usize]| -> f64 {
            order
                .iter()
                .take(k)
                .enumerate()
                .map(|(i, &d)| (2f64.powf(labels[d] as f64) - 1.0) / ((i + 2) as f64).log2())
                .sum()
        };
        let mut ideal: Vec<usize> = (0..labels.len()).collect();
        ideal.sort_by(|&a, &b| labels[b].partial_cmp(&labels[a]).unwrap());
        let i = dcg(&ideal);
        if i == 0.0 {
            1.0
        } else {
            dcg(&idx) / i
        }
    }

    #[test]
    fn names_parse() {
        assert_eq!(RankAt::parse(""), Some(RankAt { k: None, minus: false }));
        assert_eq!(
            RankAt::parse("@10-"),
            Some(RankAt {
                k: Some(10),
                minus: true
            })
        );
        assert_eq!(RankAt::parse("-"), Some(RankAt { k: None, minus: true }));
        assert_eq!(RankAt::parse("@x"), None);
        assert_eq!(RankAt::parse("@0"), None);
        assert_eq!(
            RankAt {
                k: Some(5),
                minus: true
            }
            .suffix(),
            "@5-"
        );
    }

    #[test]
    fn ndcg_matches_definition() {
        let labels = [3.0, 0.0, 2.0, 1.0, 0.0, 4.0, 1.0];
        let scores = [0.1, 0.9, 0.3, -0.2, 0.5, 0.2, 0.0];
        for k in [1, 2, 3, 5, 7, 10] {
            let at = RankAt {
                k: Some(k),
                minus: false,
            };
            let a = query_ndcg(&labels, &scores, at);
            let b = naive_ndcg(&labels, &scores, k);
            assert!((a - b).abs() < 1e-12, "k={k}: {a} vs {b}");
        }
        // A perfect order scores 1; no relevant document: 1, or 0 with `-`.
        let perfect: Vec<f64> = labels.iter().map(|&y| y as f64).collect();
        assert!((query_ndcg(&labels, &perfect, RankAt::default()) - 1.0).abs() < 1e-12);
        assert_eq!(query_ndcg(&[0.0, 0.0], &[1.0, 2.0], RankAt::default()), 1.0);
        assert_eq!(
            query_ndcg(&[0.0, 0.0], &[1.0, 2.0], RankAt { k: None, minus: true }),
            0.0
        );
    }

    #[test]
    fn map_and_pre_by_hand() {
        // Order by score: d2 (1), d0 (0), d3 (1), d1 (0).
        let labels = [0.0, 0.0, 1.0, 1.0];
        let scores = [0.5, 0.1, 0.9, 0.3];
        let ap = (1.0 / 1.0 + 2.0 / 3.0) / 2.0;
        assert!((query_map(&labels, &scores, RankAt::default()) - ap).abs() < 1e-12);
        // @2: only d2 counts, divided by min(2, 2).
        assert!(
            (query_map(
                &labels,
                &scores,
                RankAt {
                    k: Some(2),
                    minus: false
                }
            ) - 0.5)
                .abs()
                < 1e-12
        );
        assert!(
            (query_pre(
                &labels,
                &scores,
                RankAt {
                    k: Some(2),
                    minus: false
                }
            ) - 0.5)
                .abs()
                < 1e-12
        );
        assert!(
            (query_pre(
                &labels,
                &scores,
                RankAt {
                    k: Some(10),
                    minus: false
                }
            ) - 0.5)
                .abs()
                < 1e-12
        );
        assert_eq!(query_map(&[0.0], &[1.0], RankAt { k: None, minus: true }), 0.0);
        assert_eq!(query_map(&[0.0], &[1.0], RankAt::default()), 1.0);
    }

    #[test]
    fn averages_queries_with_their_weights_and_checks_input() {
        let labels = [1.0, 0.0, 0.0, 1.0];
        let groups = QueryGroups::from_query_ids(&[5, 9, 5, 9]);
        let scores = [1.0, 0.0, 0.0, 1.0];
        // Query 5: rows 0, 2 ranked right (1); query 9: rows 1, 3 ranked right (1).
        let w = [2.0, 1.0, 2.0, 1.0];
        let t = Targets {
            labels: &labels,
            weights: Some(&w),
            groups: Some(&groups),
            bounds: None,
        };
        assert!((evaluate(RankMetric::Ndcg, RankAt::default(), &scores, &t, &Gain::Exp).unwrap() - 1.0).abs() < 1e-12);
        let bad = [0.0, 1.0, 1.0, 0.0];
        let v = evaluate(
            RankMetric::Pre,
            RankAt {
                k: Some(1),
                minus: false,
            },
            &bad,
            &t,
            &Gain::Exp,
        )
        .unwrap();
        assert!(v.abs() < 1e-12);
        let e = evaluate(
            RankMetric::Ndcg,
            RankAt::default(),
            &scores,
            &Targets::plain(&labels, None),
            &Gain::Exp,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("qid") && e.contains("group"), "{e}");
        let graded = [2.0, 0.0, 0.0, 1.0];
        let t2 = Targets {
            labels: &graded,
            weights: None,
            groups: Some(&groups),
            bounds: None,
        };
        assert!(evaluate(RankMetric::Map, RankAt::default(), &scores, &t2, &Gain::Exp).is_err());
        // The linear gain takes fractional relevance; the exponential one refuses it.
        let fractional = [2.5, 0.0, 0.0, 1.0];
        let t3 = Targets {
            labels: &fractional,
            weights: None,
            groups: Some(&groups),
            bounds: None,
        };
        let ordered = [3.0, 0.0, 0.0, 1.0];
        assert!(
            (evaluate(RankMetric::Ndcg, RankAt::default(), &ordered, &t3, &Gain::Linear).unwrap() - 1.0).abs() < 1e-12
        );
        assert!(evaluate(RankMetric::Ndcg, RankAt::default(), &ordered, &t3, &Gain::Exp).is_err());
        // A gain table (LightGBM's label_gain): label 2 gains 10, label 1 gains 1; the ideal
        // order scores 1 and swapping the two relevant documents scores their DCG ratio.
        let table = Gain::Table(vec![0.0, 1.0, 10.0]);
        assert!((evaluate(RankMetric::Ndcg, RankAt::default(), &scores, &t2, &table).unwrap() - 1.0).abs() < 1e-12);
        let swapped = [0.0, 1.0, 1.0, 0.0];
        let v = evaluate(RankMetric::Ndcg, RankAt::default(), &swapped, &t2, &table).unwrap();
        // Query 5 (labels 2, 0): 10 / log2(3) over 10; query 9 (labels 0, 1): 1 / log2(3) over 1.
        let want = 1.0 / 3f64.log2();
        assert!((v - want).abs() < 1e-12, "{v} vs {want}");
        assert!(evaluate(RankMetric::Ndcg, RankAt::default(), &scores, &t3, &table).is_err());
    }
}
