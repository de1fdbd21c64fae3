//! Learning to rank: `rank:pairwise`, `rank:ndcg` and `rank:map` (LambdaMART over query groups),
//! with XGBoost 3's pair choice, metric weights, normalisation and hessian.
//!
//! Per query the documents are ordered by the current margins (descending, ties by row order).
//! Each chosen pair of documents with different labels (`high` more relevant than `low`) adds
//! `lambda = (sigmoid(s_high - s_low) - 1) * delta` to the gradient of `high` and `-lambda` to
//! that of `low`, and `2 * max(sigmoid * (1 - sigmoid), 1e-16) * delta` to both hessians.
//! `delta` is 1 for `rank:pairwise`, `|ΔNDCG|` (gain `2^label - 1`, `label` or `label_gain`,
//! discount `1 / log2(position + 2)`, ideal DCG of the top `k`) for `rank:ndcg` and `|ΔAP|` for
//! `rank:map`, where Δ is the change from swapping the two documents; with
//! `lambdarank_score_normalization` it is divided by `|s_high - s_low| + 0.01` (unless all
//! margins of the query are equal). Pairs: `topk` takes every document among the top `k` with
//! every document below it; `mean` draws `k` partners of other relevance for every document
//! (seeded by `seed`, round and query). `lambdarank_normalization` then scales a query's pairs
//! by `log2(1 + S) / S` (`topk`, `S` the sum of `-2 lambda`) or `1 / k` (`mean`), and the query
//! weight (the weight of its first row, normalised to mean 1 over the queries) multiplies all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rand::RngExt;
use rayon::prelude::*;

use crate::data::{QueryGroups, Targets};
use crate::error::{Error, Result};
use crate::gradients::GradPair;
use crate::metric::ranking::RankAt;
use crate::metric::Metric;
use crate::objective::Objective;
use crate::params::{LambdarankPairMethod, ObjectiveKind, Params};
use crate::train::sampling::stream;

/// Queries per parallel task (fixed, so results never depend on the number of threads).
const QUERY_CHUNK: usize = 64;

/// XGBoost's default truncation level of `topk`.
const DEFAULT_TOPK: usize = 32;

/// The largest relevance label of the exponential gain (`2^31 - 1` still fits).
pub(crate) const MAX_EXP_LABEL: f32 = 31.0;

/// How a label becomes a gain in NDCG: `2^label - 1`, `label`, or a table (`label_gain`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Gain {
    /// `2^label - 1` (integer labels up to 31).
    Exp,
    /// The label itself.
    Linear,
    /// `table[label]` (LightGBM's `label_gain`).
    Table(Vec<f64>),
}

impl Gain {
    /// The gain of ranking settings in `params`.
    pub(crate) fn from_params(params: &Params) -> Gain {
        Gain::from_settings(&params.label_gain, params.ndcg_exp_gain)
    }

    /// The gain of `label_gain` (when not empty) or else `ndcg_exp_gain`.
    pub(crate) fn from_settings(label_gain: &[f64], exp_gain: bool) -> Gain {
        if !label_gain.is_empty() {
            Gain::Table(label_gain.to_vec())
        } else if exp_gain {
            Gain::Exp
        } else {
            Gain::Linear
        }
    }

    /// The gain of one label (already checked by [`Gain::check`]).
    pub(crate) fn of(&self, label: f32) -> f64 {
        match self {
            Gain::Exp => (2f64).powi(label as i32) - 1.0,
            Gain::Linear => label as f64,
            Gain::Table(t) => t.get(label as usize).copied().unwrap_or(0.0),
        }
    }

    /// Checks every label fits the gain; the error names the first bad row.
    pub(crate) fn check(&self, labels: &[f32], what: &str) -> Result<()> {
        let bad = |row: usize, reason: String| {
            Err(Error::InvalidLabel {
                row,
                value: labels[row] as f64,
                reason,
            })
        };
        for (row, &y) in labels.iter().enumerate() {
            match self {
                Gain::Exp if !(y >= 0.0 && y.fract() == 0.0 && y <= MAX_EXP_LABEL) => {
                    return bad(
                        row,
                        format!(
                            "{what} with the exponential gain (ndcg_exp_gain=true) needs integer relevance labels in 0..=31"
                        ),
                    )
                }
                Gain::Linear if !(y >= 0.0 && y.is_finite()) => {
                    return bad(row, format!("{what} needs relevance labels >= 0"))
                }
                Gain::Table(t) if !(y >= 0.0 && y.fract() == 0.0 && (y as usize) < t.len()) => {
                    return bad(
                        row,
                        format!(
                            "{what} with label_gain of {} entries needs integer labels in 0..{}",
                            t.len(),
                            t.len()
                        ),
                    )
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// `1 / log2(position + 2)`, the DCG discount of a 0-based position.
pub(crate) fn discount(position: usize) -> f64 {
    1.0 / ((position as f64) + 2.0).log2()
}

/// Positions of a query's documents sorted by score, descending; ties keep row order.
pub(crate) fn rank_by_score(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    order
}

/// The ideal DCG of labels over the top `k` positions.
pub(crate) fn ideal_dcg(labels: &[f32], gain: &Gain, k: usize) -> f64 {
    let mut g: Vec<f64> = labels.iter().map(|&y| gain.of(y)).collect();
    g.sort_by(|a, b| b.total_cmp(a));
    g.iter().take(k).enumerate().map(|(i, v)| v * discount(i)).sum()
}

/// The weight of each query: its first row's weight (every row of a query must carry the same
/// weight; [`check_query_weights`] says so), or 1.
pub(crate) fn query_weights(groups: &QueryGroups, weights: Option<&[f32]>) -> Vec<f64> {
    groups
        .iter()
        .map(|rows| weights.map_or(1.0, |w| rows.first().map_or(1.0, |&r| w[r as usize] as f64)))
        .collect()
}

/// Checks that all rows of each query have one weight (XGBoost weighs queries, not rows).
pub(crate) fn check_query_weights(groups: &QueryGroups, weights: Option<&[f32]>) -> Result<()> {
    let Some(w) = weights else { return Ok(()) };
    for rows in groups.iter() {
        if let Some(&first) = rows.first() {
            if let Some(&r) = rows.iter().find(|&&r| w[r as usize] != w[first as usize]) {
                return Err(Error::data(format!(
                    "row {r}: ranking weighs queries, so every row of a query needs the same weight \
                     (row {first} of the same query has {}, row {r} has {})",
                    w[first as usize], w[r as usize]
                )));
            }
        }
    }
    Ok(())
}

/// The settings of a ranking objective, shared by the fast path and the naive reference.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RankSettings {
    /// Which objective.
    pub kind: ObjectiveKind,
    /// `topk` or `mean`.
    pub method: LambdarankPairMethod,
    /// Truncation level (`topk`) or partners per document (`mean`).
    pub num_pair: usize,
    /// `lambdarank_normalization`.
    pub normalization: bool,
    /// `lambdarank_score_normalization`.
    pub score_normalization: bool,
    /// The NDCG gain.
    pub gain: Gain,
}

impl RankSettings {
    /// The settings in `params`.
    pub(crate) fn from_params(params: &Params) -> RankSettings {
        let default = match params.lambdarank_pair_method {
            LambdarankPairMethod::Topk => DEFAULT_TOPK,
            LambdarankPairMethod::Mean => 1,
        };
        RankSettings {
            kind: params.objective,
            method: params.lambdarank_pair_method,
            num_pair: params.lambdarank_num_pair_per_sample.unwrap_or(default).max(1),
            normalization: params.lambdarank_normalization,
            score_normalization: params.lambdarank_score_normalization,
            gain: Gain::from_params(params),
        }
    }

    /// The truncation of the ideal DCG: `num_pair` for `topk`, the whole list for `mean`.
    fn topk(&self) -> usize {
        match self.method {
            LambdarankPairMethod::Topk => self.num_pair,
            LambdarankPairMethod::Mean => usize::MAX,
        }
    }
}

/// The pairs of one query, as positions in the ranked list (`rank`), in XGBoost's order.
fn make_pairs(s: &RankSettings, labels: &[f32], rank: &[usize], seed: u64, mut op: impl FnMut(usize, usize)) {
    let n = rank.len();
    match s.method {
        LambdarankPairMethod::Topk => {
            for i in 0..n.min(s.num_pair) {
                for j in i + 1..n {
                    op(i, j);
                }
            }
        }
        LambdarankPairMethod::Mean => {
            let mut rng = stream(seed, &[]);
            // Positions sorted by label, descending (stable), so equal labels form buckets.
            let mut by_label: Vec<usize> = (0..n).collect();
            by_label.sort_by(|&a, &b| labels[rank[b]].total_cmp(&labels[rank[a]]).then(a.cmp(&b)));
            let mut i = 0;
            while i < n {
                let mut j = i + 1;
                while j < n && labels[rank[by_label[j]]] == labels[rank[by_label[i]]] {
                    j += 1;
                }
                let (left, right) = (i, n - j);
                if left + right > 0 {
                    for _ in 0..s.num_pair {
                        for &p in &by_label[i..j] {
                            let mut r = rng.random_range(0..left + right);
                            if r >= left {
                                r += j - i;
                            }
                            op(p, by_label[r]);
                        }
                    }
                }
                i = j;
            }
        }
    }
}

/// Per-position statistics of average precision over the ranked list: relevant documents up to
/// each position, and `sum label_k / (k + 1)` up to it.
fn map_stats(labels: &[f32], rank: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let (mut n_rel, mut acc) = (Vec::with_capacity(rank.len()), Vec::with_capacity(rank.len()));
    let (mut n, mut a) = (0.0, 0.0);
    for (k, &d) in rank.iter().enumerate() {
        n += labels[d] as f64;
        a += labels[d] as f64 / (k + 1) as f64;
        n_rel.push(n);
        acc.push(a);
    }
    (n_rel, acc)
}

/// `|ΔAP|` of swapping positions `hi_pos < lo_pos` (binary labels), from [`map_stats`].
fn delta_map(y_top: f32, y_bottom: f32, top: usize, bottom: usize, n_rel: &[f64], acc: &[f64]) -> f64 {
    let total = n_rel.last().copied().unwrap_or(0.0);
    if total <= 0.0 {
        return 0.0;
    }
    let (r_h, r_l) = (top as f64 + 1.0, bottom as f64 + 1.0);
    let (n, m) = (n_rel[top], n_rel[bottom]);
    let b = acc[bottom - 1] - acc[top];
    if y_top < y_bottom {
        (m / r_l - (n + 1.0) / r_h - b) / total
    } else {
        (n / r_h - m / r_l + b) / total
    }
}

/// The position bias of unbiased LambdaMART (XGBoost's `lambdarank_unbiased`, after Hu et al.,
/// "Unbiased LambdaMART", 2019): per position of a document in its query's input order (the
/// order it was shown in when the clicks were logged), the ratio `t_plus` at which a relevant
/// document there is seen and `t_minus` at which an irrelevant one is, relative to position 0.
/// Each pair's lambda and hessian are divided by `t_plus[position of the more relevant] *
/// t_minus[position of the less relevant]`; both start at 1 and are re-estimated after every
/// round from the pairs' losses.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PositionBias {
    /// Bias ratio of relevant documents per tracked position.
    pub t_plus: Vec<f64>,
    /// Bias ratio of irrelevant documents per tracked position.
    pub t_minus: Vec<f64>,
}

impl PositionBias {
    /// No bias at `positions` tracked positions.
    pub(crate) fn new(positions: usize) -> PositionBias {
        PositionBias {
            t_plus: vec![1.0; positions],
            t_minus: vec![1.0; positions],
        }
    }

    /// Re-estimates the ratios from the round's summed pair losses per position (`li` of the
    /// more relevant documents, weighted by `1 / t_minus` of their partners; `lj` of the less
    /// relevant ones), normalised to position 0 and raised to `exponent` (`1 / (1 +
    /// lambdarank_bias_norm)`).
    pub(crate) fn update(&mut self, li: &[f64], lj: &[f64], exponent: f64) {
        for i in 0..self.t_plus.len() {
            if li[0] >= f64::EPSILON {
                self.t_plus[i] = (li[i] / li[0]).powf(exponent);
            }
            if lj[0] >= f64::EPSILON {
                self.t_minus[i] = (lj[i] / lj[0]).powf(exponent);
            }
        }
    }
}

/// Per-position pair losses of one query (the statistics [`PositionBias::update`] reads).
pub(crate) type PositionLosses = (Vec<f64>, Vec<f64>);

/// One query's gradient pairs, with its pair losses per position under `lambdarank_unbiased`.
type QueryResult = (Vec<(f64, f64)>, Option<PositionLosses>);

/// Gradient pairs (f64) of one query's documents, in the query's row order.
#[cfg(test)]
pub(crate) fn query_gradients(s: &RankSettings, labels: &[f32], scores: &[f64], seed: u64) -> Vec<(f64, f64)> {
    query_gradients_with_bias(s, labels, scores, seed, None).0
}

/// [`query_gradients`], with the pairs debiased by `bias` when given (`lambdarank_unbiased`);
/// then also returns the query's pair losses per tracked position.
pub(crate) fn query_gradients_with_bias(
    s: &RankSettings,
    labels: &[f32],
    scores: &[f64],
    seed: u64,
    bias: Option<&PositionBias>,
) -> (Vec<(f64, f64)>, Option<PositionLosses>) {
    let n = labels.len();
    let mut out = vec![(0.0, 0.0); n];
    let k = bias.map_or(0, |b| b.t_plus.len());
    let mut losses = bias.map(|_| (vec![0.0; k], vec![0.0; k]));
    if n < 2 {
        return (out, losses);
    }
    let rank = rank_by_score(scores);
    let inv_idcg = match s.kind {
        ObjectiveKind::RankNdcg => {
            let idcg = ideal_dcg(labels, &s.gain, s.topk());
            if idcg > 0.0 {
                1.0 / idcg
            } else {
                0.0
            }
        }
        _ => 0.0,
    };
    let (n_rel, acc) = match s.kind {
        ObjectiveKind::RankMap => map_stats(labels, &rank),
        _ => (Vec::new(), Vec::new()),
    };
    let all_equal = scores[rank[0]] == scores[rank[n - 1]];
    let mut sum_lambda = 0.0;
    make_pairs(s, labels, &rank, seed, |a, b| {
        let (ya, yb) = (labels[rank[a]], labels[rank[b]]);
        if ya == yb {
            return;
        }
        // Positions of the more and the less relevant document.
        let (hi, lo) = if ya > yb { (a, b) } else { (b, a) };
        let (d_hi, d_lo) = (rank[hi], rank[lo]);
        let diff = scores[d_hi] - scores[d_lo];
        let sig = 1.0 / (1.0 + (-diff).exp());
        let mut delta = match s.kind {
            ObjectiveKind::RankNdcg => {
                let (g_hi, g_lo) = (s.gain.of(labels[d_hi]), s.gain.of(labels[d_lo]));
                ((g_hi - g_lo) * (discount(hi) - discount(lo)) * inv_idcg).abs()
            }
            ObjectiveKind::RankMap => {
                let (top, bottom) = (hi.min(lo), hi.max(lo));
                delta_map(labels[rank[top]], labels[rank[bottom]], top, bottom, &n_rel, &acc).abs()
            }
            _ => 1.0,
        };
        if s.score_normalization && !all_equal {
            delta /= diff.abs() + 0.01;
        }
        let mut lambda = (sig - 1.0) * delta;
        let mut hess = (sig * (1.0 - sig)).max(1e-16) * delta * 2.0;
        if let (Some(b), Some((li, lj))) = (bias, losses.as_mut()) {
            // Positions in the query's input order; pairs beyond the tracked positions are
            // neither debiased nor counted.
            if d_hi < k && d_lo < k {
                let (tp, tm) = (b.t_plus[d_hi], b.t_minus[d_lo]);
                // The pair's loss, -ln(1 - sigmoid) = ln(1 + e^diff), times its metric change.
                let cost = (diff.max(0.0) + (-diff.abs()).exp().ln_1p()) * delta;
                if tp >= f64::EPSILON && tm >= f64::EPSILON {
                    lambda /= tp * tm;
                    hess /= tp * tm;
                }
                if tm >= f64::EPSILON {
                    li[d_hi] += cost / tm;
                }
                if tp >= f64::EPSILON {
                    lj[d_lo] += cost / tp;
                }
            }
        }
        out[d_hi].0 += lambda;
        out[d_hi].1 += hess;
        out[d_lo].0 -= lambda;
        out[d_lo].1 += hess;
        sum_lambda += -2.0 * lambda;
    });
    if s.normalization {
        let norm = match s.method {
            LambdarankPairMethod::Mean => 1.0 / s.num_pair as f64,
            LambdarankPairMethod::Topk if sum_lambda > 0.0 => (1.0 + sum_lambda).log2() / sum_lambda,
            LambdarankPairMethod::Topk => 1.0,
        };
        for o in &mut out {
            o.0 *= norm;
            o.1 *= norm;
        }
    }
    (out, losses)
}

/// The ranking objectives, configured from [`Params`].
#[derive(Debug)]
pub struct RankingObjective {
    settings: RankSettings,
    seed: u64,
    /// Calls of `gradients_for` so far: the round, for the seed of `mean` pair draws.
    round: AtomicU64,
    /// With `lambdarank_unbiased`: the position bias estimated so far (sized at the first round
    /// from the queries), and the exponent of its update.
    unbiased: Option<(Mutex<Option<PositionBias>>, f64)>,
}

impl RankingObjective {
    /// The ranking objective `params.objective` (one of `rank:*`).
    pub(crate) fn from_params(params: &Params) -> RankingObjective {
        RankingObjective {
            settings: RankSettings::from_params(params),
            seed: params.seed,
            round: AtomicU64::new(0),
            unbiased: params
                .lambdarank_unbiased
                .then(|| (Mutex::new(None), 1.0 / (1.0 + params.lambdarank_bias_norm))),
        }
    }

    /// Positions whose bias `lambdarank_unbiased` estimates: the truncation level of `topk`,
    /// else the longest query's length up to 32 (XGBoost's choice).
    fn tracked_positions(&self, queries: &[&[u32]]) -> usize {
        match self.settings.method {
            LambdarankPairMethod::Topk => self.settings.num_pair,
            LambdarankPairMethod::Mean => queries.iter().map(|q| q.len()).max().unwrap_or(1).min(32),
        }
        .max(1)
    }

    /// The current position bias (`t_plus`, `t_minus`) of `lambdarank_unbiased`, once a round
    /// has estimated it.
    #[cfg(test)]
    pub(crate) fn position_bias(&self) -> Option<(Vec<f64>, Vec<f64>)> {
        let (m, _) = self.unbiased.as_ref()?;
        let state = m.lock().unwrap_or_else(|e| e.into_inner());
        state.as_ref().map(|b| (b.t_plus.clone(), b.t_minus.clone()))
    }

    fn missing_groups(&self) -> Error {
        Error::data(format!(
            "{} needs query groups: give each row a query id (`qid`) or give the group sizes (`group`)",
            self.settings.kind.name()
        ))
    }

    /// Gradients over `groups` at `margins`, for round `round`.
    pub(crate) fn gradients_at(
        &self,
        targets: &Targets<'_>,
        groups: &QueryGroups,
        margins: &[f64],
        round: u64,
        out: &mut [GradPair],
    ) {
        let qw = query_weights(groups, targets.weights);
        let sum_w: f64 = qw.iter().sum();
        let w_norm = if sum_w > 0.0 { qw.len() as f64 / sum_w } else { 0.0 };
        let queries: Vec<&[u32]> = groups.iter().collect();
        let mut bias_state = self
            .unbiased
            .as_ref()
            .map(|(m, _)| m.lock().unwrap_or_else(|e| e.into_inner()));
        let bias: Option<&PositionBias> = bias_state
            .as_deref_mut()
            .map(|b| &*b.get_or_insert_with(|| PositionBias::new(self.tracked_positions(&queries))));
        let per_query: Vec<QueryResult> = queries
            .par_chunks(QUERY_CHUNK)
            .enumerate()
            .flat_map_iter(|(c, chunk)| {
                chunk.iter().enumerate().map(move |(k, rows)| {
                    let q = c * QUERY_CHUNK + k;
                    let labels: Vec<f32> = rows.iter().map(|&r| targets.labels[r as usize]).collect();
                    let scores: Vec<f64> = rows.iter().map(|&r| margins[r as usize]).collect();
                    let seed = crate::train::sampling::position_seed(self.seed, &[0x7261_6e6b, round, q as u64]);
                    query_gradients_with_bias(&self.settings, &labels, &scores, seed, bias)
                })
            })
            .collect();
        if let (Some(state), Some((_, exponent))) = (bias_state.as_deref_mut(), &self.unbiased) {
            // The round's losses summed per position in query order (the same for any thread
            // count), then the bias re-estimated for the next round, as XGBoost does.
            if let Some(b) = state.as_mut() {
                let k = b.t_plus.len();
                let (mut li, mut lj) = (vec![0.0; k], vec![0.0; k]);
                for (qi, qj) in per_query.iter().filter_map(|(_, l)| l.as_ref()) {
                    for p in 0..k {
                        li[p] += qi[p];
                        lj[p] += qj[p];
                    }
                }
                b.update(&li, &lj, *exponent);
            }
        }
        drop(bias_state);
        let per_query: Vec<Vec<(f64, f64)>> = per_query.into_iter().map(|(g, _)| g).collect();
        for gp in out.iter_mut() {
            *gp = GradPair::new(0.0, 0.0);
        }
        for (q, (rows, grads)) in queries.iter().zip(&per_query).enumerate() {
            let w = qw[q] * w_norm;
            for (&r, &(g, h)) in rows.iter().zip(grads) {
                out[r as usize] = GradPair::new((g * w) as f32, (h * w) as f32);
            }
        }
    }
}

impl Objective for RankingObjective {
    fn name(&self) -> &str {
        self.settings.kind.name()
    }

    fn gradients(&self, labels: &[f32], weights: Option<&[f32]>, margins: &[f64], out: &mut [GradPair]) {
        // Without query groups every row is one query (XGBoost's behaviour); training refuses
        // data without groups in `check_targets`, so this serves direct callers only.
        let groups = QueryGroups::from_query_ids(&vec![0; labels.len()]);
        let targets = Targets {
            labels,
            weights,
            groups: Some(&groups),
            bounds: None,
        };
        self.gradients_for(&targets, margins, out)
    }

    fn gradients_for(&self, targets: &Targets<'_>, margins: &[f64], out: &mut [GradPair]) {
        let round = self.round.fetch_add(1, Ordering::Relaxed);
        match targets.groups {
            Some(groups) => self.gradients_at(targets, groups, margins, round, out),
            None => {
                let groups = QueryGroups::from_query_ids(&vec![0; targets.labels.len()]);
                self.gradients_at(targets, &groups, margins, round, out)
            }
        }
    }

    fn check_targets(&self, targets: &Targets<'_>) -> Result<()> {
        let Some(groups) = targets.groups else {
            return Err(self.missing_groups());
        };
        if groups.num_rows() != targets.labels.len() {
            return Err(Error::ShapeMismatch {
                what: "rows of the query groups vs labels".into(),
                expected: targets.labels.len(),
                got: groups.num_rows(),
            });
        }
        let name = self.settings.kind.name();
        match self.settings.kind {
            ObjectiveKind::RankNdcg => self.settings.gain.check(targets.labels, name)?,
            ObjectiveKind::RankMap => {
                if let Some(row) = targets.labels.iter().position(|&y| y != 0.0 && y != 1.0) {
                    return Err(Error::InvalidLabel {
                        row,
                        value: targets.labels[row] as f64,
                        reason: "rank:map needs binary relevance labels (0 or 1)".into(),
                    });
                }
            }
            _ => {
                if let Some(row) = targets.labels.iter().position(|&y| !(y >= 0.0 && y.is_finite())) {
                    return Err(Error::InvalidLabel {
                        row,
                        value: targets.labels[row] as f64,
                        reason: format!("{name} needs relevance labels >= 0"),
                    });
                }
            }
        }
        check_query_weights(groups, targets.weights)
    }

    fn default_metric(&self) -> Metric {
        // XGBoost 3 names the truncation of `topk` in the default metric (`ndcg@32`).
        let k = match self.settings.method {
            LambdarankPairMethod::Topk => Some(self.settings.num_pair),
            LambdarankPairMethod::Mean => None,
        };
        let at = RankAt { k, minus: false };
        match self.settings.kind {
            ObjectiveKind::RankMap => Metric::Map(at),
            _ => Metric::Ndcg(at),
        }
    }
}

#[cfg(test)]
mod tests;
