//! Split evaluation: XGBoost's regularised gain, leaf weights, and the best split of a node from its
//! histogram, trying missing values on both sides: thresholds on numerical features, category
//! sets on categorical ones ([`categorical`]).

use rayon::prelude::*;

use crate::bins::cuts::BinMapper;
use crate::gradients::{CellScale, GradStats};
use crate::params::Params;
use crate::train::constraints::monotone::{bounded_gain, Monotone};
use crate::train::histogram::HistCell;

mod categorical;
mod gain_kernel;
pub mod multi;
pub(crate) mod shared;

use crate::model::categories::CategorySet;

/// Smallest loss change that counts as an improvement (XGBoost's `kRtEps`).
pub const MIN_GAIN: f64 = 1e-6;

/// The regularisation that shapes gains and leaf weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitParams {
    /// L2 penalty.
    pub lambda: f64,
    /// L1 penalty.
    pub alpha: f64,
    /// Minimum hessian sum of a child.
    pub min_child_weight: f64,
    /// Maximum absolute leaf weight (0 = none).
    pub max_delta_step: f64,
    /// Minimum loss change of a split.
    pub gamma: f64,
    /// How categorical features are split.
    pub categorical: CategoricalParams,
}

/// The settings of category-set splits (XGBoost's and LightGBM's names and defaults; see
/// [`Params`] for each).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CategoricalParams {
    /// Features with fewer categories split one category against the rest.
    pub max_cat_to_onehot: usize,
    /// Most categories a set (scanned from either end of the sorted order) may hold.
    pub max_cat_threshold: usize,
    /// Smoothing of the sort key `G / (H + cat_smooth)`; rarer categories take no part.
    pub cat_smooth: f64,
    /// Extra L2 penalty on the children of a category-set split.
    pub cat_l2: f64,
    /// Rows a set must gain between two candidates, and the least rows on the other side.
    pub min_data_per_group: f64,
}

impl Default for CategoricalParams {
    fn default() -> Self {
        CategoricalParams::from_params(&Params::default())
    }
}

impl CategoricalParams {
    /// The categorical settings of `params`.
    pub fn from_params(p: &Params) -> Self {
        CategoricalParams {
            max_cat_to_onehot: p.max_cat_to_onehot,
            max_cat_threshold: p.max_cat_threshold,
            cat_smooth: p.cat_smooth,
            cat_l2: p.cat_l2,
            min_data_per_group: p.min_data_per_group as f64,
        }
    }
}

impl SplitParams {
    /// The split parameters of `params`.
    pub fn from_params(p: &Params) -> Self {
        SplitParams {
            lambda: p.lambda,
            alpha: p.alpha,
            min_child_weight: p.min_child_weight,
            max_delta_step: p.effective_max_delta_step(),
            gamma: p.gamma,
            categorical: CategoricalParams::from_params(p),
        }
    }
}

/// `g` moved towards zero by the L1 penalty `alpha` (0 within `[-alpha, alpha]`).
#[inline]
pub(super) fn threshold_l1(g: f64, alpha: f64) -> f64 {
    if g > alpha {
        g - alpha
    } else if g < -alpha {
        g + alpha
    } else {
        0.0
    }
}

/// The optimal leaf weight `-T(G) / (H + lambda)` (T = L1 soft threshold), clipped to
/// `max_delta_step`; 0 when `H` is below `min_child_weight`.
pub fn leaf_weight(s: GradStats, p: &SplitParams) -> f64 {
    if s.hess < p.min_child_weight || s.hess <= 0.0 {
        return 0.0;
    }
    let w = -threshold_l1(s.grad, p.alpha) / (s.hess + p.lambda);
    if p.max_delta_step > 0.0 {
        w.clamp(-p.max_delta_step, p.max_delta_step)
    } else {
        w
    }
}

/// Whether a node with sums `total` can have a split at all: each child needs a hessian sum of at
/// least `min_child_weight` and above zero, so the node needs twice `min_child_weight` and above
/// zero. Exactly, not only in exact arithmetic: a child's sums are `left` and `total - left`, and
/// where `left` reaches `min_child_weight` above half of `total.hess`, the subtraction is exact
/// (Sterbenz), so `total.hess < 2 min_child_weight` leaves the other child below it.
pub fn may_split(total: GradStats, p: &SplitParams) -> bool {
    total.hess > 0.0 && total.hess >= 2.0 * p.min_child_weight
}

/// The structure score of a node (twice the loss reduction of giving it its optimal weight).
pub fn node_gain(s: GradStats, p: &SplitParams) -> f64 {
    if s.hess < p.min_child_weight || s.hess <= 0.0 {
        return 0.0;
    }
    if p.max_delta_step == 0.0 {
        let t = threshold_l1(s.grad, p.alpha);
        t * t / (s.hess + p.lambda)
    } else {
        let w = leaf_weight(s, p);
        -(2.0 * s.grad * w + (s.hess + p.lambda) * w * w) - 2.0 * p.alpha * w.abs()
    }
}

/// A split of a node: rows whose bin is at most `bin` go left (or, for a category-set split,
/// rows whose category is in `categories`), missing values go `default_left`.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitInfo {
    /// Feature index.
    pub feature: usize,
    /// Last bin that goes left (unused by a category-set split).
    pub bin: usize,
    /// Raw threshold: a value goes left when `x < threshold` (unused by a category-set split).
    pub threshold: f32,
    /// Where missing values go.
    pub default_left: bool,
    /// Loss change of the split.
    pub gain: f64,
    /// Left child's sums.
    pub left: GradStats,
    /// Right child's sums.
    pub right: GradStats,
    /// The categories that go left, for a category-set split of a categorical feature.
    pub categories: Option<CategorySet>,
}

impl SplitInfo {
    /// Whether a row in bin `b` (of this feature, whose missing bin is `missing_bin`) goes left.
    #[inline]
    pub fn goes_left(&self, b: usize, missing_bin: usize) -> bool {
        if b == missing_bin {
            self.default_left
        } else {
            match &self.categories {
                None => b <= self.bin,
                Some(set) => set.contains(b as u32),
            }
        }
    }
}

/// The best split of one feature, or `None` if no split is valid. `scale` turns the histogram's
/// cells into gradient sums ([`CellScale::IDENTITY`] for f64 cells); `node_rows` is the node's row
/// count (categorical features count rows per category from it). Under monotone constraints
/// (`mono` active) gains come from the children's weights clamped to the node's bounds, and a split
/// whose weights break the feature's constraint is refused.
#[allow(clippy::too_many_arguments)]
pub fn best_split_of_feature<C: HistCell>(
    hist: &[C],
    scale: &CellScale,
    mapper: &BinMapper,
    feature: usize,
    total: GradStats,
    node_rows: usize,
    p: &SplitParams,
    mono: Monotone<'_>,
) -> Option<SplitInfo> {
    let search = NodeSearch::new(scale, mapper, total, node_rows, p, mono);
    search.feature(
        feature_cells(hist, mapper, feature),
        feature,
        &mut CandidateScratch::default(),
    )
}

/// The cells of `feature` in a node's histogram `hist`: its value bins, then its missing bin.
fn feature_cells<'h, C>(hist: &'h [C], mapper: &BinMapper, feature: usize) -> &'h [C] {
    &hist[mapper.offset(feature)..mapper.offset(feature + 1)]
}

/// What the split search of one node needs besides its histogram: how cells turn into sums, the
/// features' cuts, the node's sums and row count, the regularisation and the monotone constraints.
#[derive(Clone, Copy)]
pub(crate) struct NodeSearch<'a> {
    /// Turns the histogram's cells into gradient sums.
    pub scale: &'a CellScale,
    /// The features' cuts and histogram offsets.
    pub mapper: &'a BinMapper,
    /// The node's sums.
    pub total: GradStats,
    /// The node's row count.
    pub node_rows: usize,
    /// The regularisation.
    pub p: &'a SplitParams,
    /// The features' constraints and the node's bounds.
    pub mono: Monotone<'a>,
}

impl<'a> NodeSearch<'a> {
    /// The search of a node whose sums are `total` over `node_rows` rows.
    pub(crate) fn new(
        scale: &'a CellScale,
        mapper: &'a BinMapper,
        total: GradStats,
        node_rows: usize,
        p: &'a SplitParams,
        mono: Monotone<'a>,
    ) -> Self {
        NodeSearch {
            scale,
            mapper,
            total,
            node_rows,
            p,
            mono,
        }
    }

    /// The best split of `feature` from its cells (`cells`: its value bins, then its missing bin).
    pub(crate) fn feature<C: HistCell>(
        &self,
        cells: &[C],
        feature: usize,
        scratch: &mut CandidateScratch<C>,
    ) -> Option<SplitInfo> {
        best_split_of_feature_in(cells, self, feature, scratch)
    }
}

/// Buffers of one feature's candidates, reused from feature to feature: running sums and the bin
/// each stands for (see [`nonempty_prefix_sums`]).
pub(crate) struct CandidateScratch<C> {
    prefix: Vec<C>,
    bins: Vec<u32>,
}

impl<C> Default for CandidateScratch<C> {
    fn default() -> Self {
        CandidateScratch {
            prefix: Vec::new(),
            bins: Vec::new(),
        }
    }
}

/// [`NodeSearch::feature`]: the best split of `feature` from its cells, with buffers reused from
/// an earlier call.
fn best_split_of_feature_in<C: HistCell>(
    cells: &[C],
    search: &NodeSearch<'_>,
    feature: usize,
    scratch: &mut CandidateScratch<C>,
) -> Option<SplitInfo> {
    let &NodeSearch {
        scale,
        mapper,
        total,
        node_rows,
        p,
        mono,
    } = search;
    let constrained = mono.is_active();
    if mapper.is_categorical(feature) {
        let bounds = constrained.then_some(mono.bounds);
        return categorical::best_categorical_split(cells, scale, mapper, feature, total, node_rows, p, bounds);
    }
    let cuts = mapper.feature(feature);
    let nb = cuts.num_value_bins();
    let bins = &cells[..nb];
    let missing_cell = cells[nb];
    let constraint = mono.of(feature);
    let parent_gain = if constrained {
        bounded_gain(total, p, mono.bounds)
    } else {
        node_gain(total, p)
    };
    let has_missing = missing_cell != C::default();
    let valid = |s: GradStats| s.hess >= p.min_child_weight && s.hess > 0.0;
    // Best (gain, bin, default_left) so far; a candidate must beat it strictly, so the first of
    // equal candidates wins.
    let mut best: (f64, usize, bool) = (MIN_GAIN, usize::MAX, false);
    // Without L1 and max_delta_step the gain is a plain formula, under monotone constraints the
    // bounded one: either is evaluated for every candidate over prefix sums in a loop the compiler
    // vectorises, then the first best is picked. L1 or max_delta_step without constraints: the
    // scalar loop below.
    let vectorised = constrained || (p.alpha == 0.0 && p.max_delta_step == 0.0);
    let inputs = gain_kernel::GainInputs {
        total,
        lambda: p.lambda,
        min_child_weight: p.min_child_weight,
        parent_gain,
        bounded: constrained.then_some(gain_kernel::BoundedInputs {
            alpha: p.alpha,
            max_delta_step: p.max_delta_step,
            bounds: mono.bounds,
            constraint,
        }),
    };
    let CandidateScratch {
        prefix,
        bins: candidate_bins,
    } = scratch;
    // Candidates `first..last`: the rows of value bins `0..=b` (all empty below `first`) go left.
    let mut scan = |left_cell: C, first: usize, last: usize, default_left: bool| {
        if vectorised {
            // An empty bin repeats the gain of the bin before it, so it never wins (strict >):
            // only the first candidate and the non-empty bins are scored, which in a small node is
            // a fraction of the bins.
            let kept = nonempty_prefix_sums(&bins[first..last], left_cell, prefix, candidate_bins);
            if let Some((gain, k)) = gain_kernel::first_best(&prefix[..kept], scale, inputs) {
                if gain > best.0 {
                    best = (gain, first + candidate_bins[k] as usize, default_left);
                }
            }
            return;
        }
        let mut left_cell = left_cell;
        for (b, s) in bins.iter().enumerate().take(last).skip(first) {
            // An empty bin gives the same partition as the bin before it.
            if *s == C::default() && b > first {
                continue;
            }
            left_cell += *s;
            let left = left_cell.stats(scale);
            let right = total - left;
            if !valid(left) || !valid(right) {
                continue;
            }
            let gain = node_gain(left, p) + node_gain(right, p) - parent_gain;
            if gain > best.0 {
                best = (gain, b, default_left);
            }
        }
    };
    // Missing values go right: the left child is a prefix of the value bins.
    scan(C::default(), 0, nb, false);
    if has_missing {
        // Missing values go left: the left child is a prefix plus the missing bin. A prefix of empty
        // bins would leave the missing rows alone on the left: the same partition as every value
        // going left above, whose gain only rounding could tell apart, so such candidates are
        // skipped (the split is then the same for any summation order, on the CPU and the GPU).
        // Under a monotone constraint the two are not the same (the sides swap, and so does the
        // order the constraint checks), so every prefix is tried.
        let last = nb.saturating_sub(1);
        let first = if constraint != 0 {
            0
        } else {
            bins.iter().position(|c| *c != C::default()).unwrap_or(nb).min(last)
        };
        scan(missing_cell, first, last, true);
    }
    let (gain, bin, default_left) = best;
    if bin == usize::MAX {
        return None;
    }
    let mut left_cell = if default_left { missing_cell } else { C::default() };
    for s in &bins[..=bin] {
        left_cell += *s;
    }
    let left = left_cell.stats(scale);
    Some(SplitInfo {
        feature,
        bin,
        threshold: cuts.cuts[bin],
        default_left,
        gain,
        left,
        right: total - left,
        categories: None,
    })
}

/// Writes into `prefix` the running sums `start + cells[0] + .. + cells[b]` of the candidates worth
/// scoring, `b = 0` and every `b` whose cell is not empty, and their `b` into `candidate_bins`;
/// returns how many were kept (the first that many entries of each buffer; the buffers only grow,
/// so a call neither clears nor fills them). A skipped candidate has the same sums as the one
/// before it. Branch-free: every sum is written, and the write position moves on only past a kept
/// one.
fn nonempty_prefix_sums<C: HistCell>(
    cells: &[C],
    start: C,
    prefix: &mut Vec<C>,
    candidate_bins: &mut Vec<u32>,
) -> usize {
    let n = cells.len();
    if n == 0 {
        return 0;
    }
    if prefix.len() < n {
        prefix.resize(n, C::default());
    }
    if candidate_bins.len() < n {
        candidate_bins.resize(n, 0);
    }
    let (sums, at) = (&mut prefix[..n], &mut candidate_bins[..n]);
    let mut acc = start;
    let mut kept = 0usize;
    for (b, cell) in cells.iter().enumerate() {
        acc += *cell;
        // `kept <= b < n`: the writes stay in bounds.
        sums[kept.min(n - 1)] = acc;
        at[kept.min(n - 1)] = b as u32;
        kept += usize::from(b == 0 || *cell != C::default());
    }
    kept
}

/// The best split over `features` (features evaluated in parallel, ties going to the lower feature
/// index, as in XGBoost). `None` when no split improves the loss by more than [`MIN_GAIN`] and
/// `gamma`. `node_rows` is the node's row count. No monotone constraint: see
/// [`best_split_constrained`].
pub fn best_split<C: HistCell>(
    hist: &[C],
    scale: &CellScale,
    mapper: &BinMapper,
    features: &[usize],
    total: GradStats,
    node_rows: usize,
    p: &SplitParams,
) -> Option<SplitInfo> {
    best_split_constrained(hist, scale, mapper, features, total, node_rows, p, Monotone::NONE)
}

/// [`best_split`] under the monotone constraints `mono` (the features' constraints and the node's
/// bounds; [`Monotone::NONE`] gives exactly [`best_split`]).
#[allow(clippy::too_many_arguments)]
pub fn best_split_constrained<C: HistCell>(
    hist: &[C],
    scale: &CellScale,
    mapper: &BinMapper,
    features: &[usize],
    total: GradStats,
    node_rows: usize,
    p: &SplitParams,
    mono: Monotone<'_>,
) -> Option<SplitInfo> {
    let search = NodeSearch::new(scale, mapper, total, node_rows, p, mono);
    let per_feature: Vec<Option<SplitInfo>> = features
        .par_iter()
        .map_init(CandidateScratch::default, |scratch, &f| {
            search.feature(feature_cells(hist, mapper, f), f, scratch)
        })
        .collect();
    best_of_features(per_feature, p.gamma)
}

/// The best of a node's per-feature splits, given in the order of its features: the largest gain,
/// the earlier feature among equal gains (as XGBoost), kept when it reaches `gamma`.
pub(crate) fn best_of_features(
    per_feature: impl IntoIterator<Item = Option<SplitInfo>>,
    gamma: f64,
) -> Option<SplitInfo> {
    let mut best: Option<SplitInfo> = None;
    for s in per_feature.into_iter().flatten() {
        if best.as_ref().is_none_or(|b| s.gain > b.gain) {
            best = Some(s);
        }
    }
    best.filter(|b| b.gain >= gamma)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bins::cuts::FeatureCuts;

    fn p() -> SplitParams {
        SplitParams {
            lambda: 1.0,
            alpha: 0.0,
            min_child_weight: 0.0,
            max_delta_step: 0.0,
            gamma: 0.0,
            categorical: CategoricalParams::default(),
        }
    }

    /// Naive reference: for every threshold and both missing directions, sum the rows directly.
    fn naive(values: &[(usize, f64, f64)], nb: usize, p: &SplitParams) -> (usize, bool, f64) {
        let total = values
            .iter()
            .fold(GradStats::default(), |a, v| GradStats::new(a.grad + v.1, a.hess + v.2));
        let mut best = (0, false, f64::MIN);
        for dl in [false, true] {
            for b in 0..nb {
                let mut l = GradStats::default();
                for v in values {
                    if (v.0 == nb && dl) || (v.0 < nb && v.0 <= b) {
                        l.grad += v.1;
                        l.hess += v.2;
                    }
                }
                let r = total - l;
                if l.hess <= 0.0 || r.hess <= 0.0 {
                    continue;
                }
                let g = node_gain(l, p) + node_gain(r, p) - node_gain(total, p);
                if g > best.2 + 1e-12 {
                    best = (b, dl, g);
                }
            }
        }
        best
    }

    #[test]
    fn matches_naive_enumeration() {
        let mapper = BinMapper::from_cuts(vec![FeatureCuts {
            cuts: vec![1.0, 2.0, 3.0, 4.0],
            has_missing: true,
            categorical: false,
        }]);
        let rows = vec![
            (0, -2.0, 1.0),
            (1, -1.5, 1.0),
            (2, 1.0, 1.0),
            (3, 2.0, 1.0),
            (4, -3.0, 1.0),
            (4, -1.0, 0.5),
            (0, 0.5, 2.0),
        ];
        let mut hist = vec![GradStats::default(); 5];
        let mut total = GradStats::default();
        for r in &rows {
            hist[r.0].grad += r.1;
            hist[r.0].hess += r.2;
            total.grad += r.1;
            total.hess += r.2;
        }
        let s = best_split(&hist, &CellScale::IDENTITY, &mapper, &[0], total, 7, &p()).unwrap();
        let (b, dl, g) = naive(&rows, 4, &p());
        assert_eq!((s.bin, s.default_left), (b, dl));
        assert!((s.gain - g).abs() < 1e-9);
        assert!(
            s.default_left,
            "the strongly negative missing rows belong with the left rows"
        );
    }

    #[test]
    fn missing_rows_alone_are_split_off_as_missing_right_whatever_the_rounding() {
        // Value bins 0 and 1 empty, the rows in bins 2 and 3, a strong missing bin: the best
        // partition is the missing rows against the rest. It is found as "every value left,
        // missing right" at the last non-empty bin, never as "missing alone on the left" (the same
        // partition, whose gain could differ from it only by rounding), for f64 and packed cells.
        let mapper = BinMapper::from_cuts(vec![FeatureCuts {
            cuts: vec![1.0, 2.0, 3.0, 4.0, 5.0],
            has_missing: true,
            categorical: false,
        }]);
        let cells = [(0.0, 0.0), (0.0, 0.0), (-2.0, 3.0), (-1.0, 2.0), (0.0, 0.0), (9.0, 1.5)];
        let hist: Vec<GradStats> = cells.iter().map(|&(g, h)| GradStats::new(g, h)).collect();
        let total = hist.iter().fold(GradStats::default(), |a, c| a + *c);
        let s = best_split(&hist, &CellScale::IDENTITY, &mapper, &[0], total, 7, &p()).unwrap();
        assert_eq!((s.bin, s.default_left), (3, false));
        let packed: Vec<i64> = cells
            .iter()
            .map(|&(g, h)| crate::gradients::pack((g * 2.0) as i32, (h * 2.0) as u32))
            .collect();
        let scale = CellScale {
            grad_unit: 0.5,
            hess_unit: 0.5,
        };
        let s = best_split(&packed, &scale, &mapper, &[0], total, 7, &p()).unwrap();
        assert_eq!((s.bin, s.default_left), (3, false));
    }

    /// Naive reference of the constrained search: every threshold and both missing directions,
    /// rows summed directly, weights `-T(G)/(H+lambda)` clamped to `bounds`, order checked against
    /// `c`, gain `-(2 G w + (H+lambda) w^2) - 2 alpha |w|` of each child minus the parent's.
    fn naive_constrained(
        values: &[(usize, f64, f64)],
        nb: usize,
        p: &SplitParams,
        bounds: (f64, f64),
        c: i8,
    ) -> Option<f64> {
        let weight = |s: GradStats| {
            let g = if s.grad > p.alpha {
                s.grad - p.alpha
            } else if s.grad < -p.alpha {
                s.grad + p.alpha
            } else {
                0.0
            };
            let mut w = -g / (s.hess + p.lambda);
            if p.max_delta_step > 0.0 {
                w = w.clamp(-p.max_delta_step, p.max_delta_step);
            }
            w.max(bounds.0).min(bounds.1)
        };
        let score = |s: GradStats| {
            let w = weight(s);
            -(2.0 * s.grad * w + (s.hess + p.lambda) * w * w) - 2.0 * p.alpha * w.abs()
        };
        let total = values
            .iter()
            .fold(GradStats::default(), |a, v| GradStats::new(a.grad + v.1, a.hess + v.2));
        let mut best: Option<f64> = None;
        for dl in [false, true] {
            for b in 0..nb {
                let mut l = GradStats::default();
                for v in values {
                    if (v.0 == nb && dl) || (v.0 < nb && v.0 <= b) {
                        l.grad += v.1;
                        l.hess += v.2;
                    }
                }
                let r = total - l;
                if l.hess <= 0.0 || r.hess <= 0.0 || l.hess < p.min_child_weight || r.hess < p.min_child_weight {
                    continue;
                }
                let (wl, wr) = (weight(l), weight(r));
                if (c > 0 && wl > wr) || (c < 0 && wl < wr) {
                    continue;
                }
                let g = score(l) + score(r) - score(total);
                if g > MIN_GAIN && best.is_none_or(|x| g > x) {
                    best = Some(g);
                }
            }
        }
        best
    }

    /// The constrained search as it was before its gains were vectorised: every candidate scored
    /// one at a time with `monotone::split_score`, empty bins skipped, missing rows on the right
    /// then on the left. Returns (gain bits, bin, default_left).
    fn scalar_constrained(
        hist: &[GradStats],
        nb: usize,
        p: &SplitParams,
        mono: crate::train::constraints::monotone::Monotone<'_>,
    ) -> Option<(u64, usize, bool)> {
        use crate::train::constraints::monotone::split_score;
        let total = hist.iter().fold(GradStats::default(), |a, c| a + *c);
        let parent_gain = bounded_gain(total, p, mono.bounds);
        let valid = |s: GradStats| s.hess >= p.min_child_weight && s.hess > 0.0;
        let mut best: (f64, usize, bool) = (MIN_GAIN, usize::MAX, false);
        let has_missing = hist[nb] != GradStats::default();
        let constraint = mono.of(0);
        let mut scan = |start: GradStats, first: usize, last: usize, default_left: bool| {
            let mut left = start;
            for (b, s) in hist.iter().enumerate().take(last).skip(first) {
                if *s == GradStats::default() && b > first {
                    continue;
                }
                left += *s;
                let right = total - left;
                if !valid(left) || !valid(right) {
                    continue;
                }
                let Some(score) = split_score(left, right, p, mono.bounds, constraint) else {
                    continue;
                };
                if score - parent_gain > best.0 {
                    best = (score - parent_gain, b, default_left);
                }
            }
        };
        scan(GradStats::default(), 0, nb, false);
        if has_missing {
            let first = if constraint != 0 {
                0
            } else {
                hist[..nb]
                    .iter()
                    .position(|c| *c != GradStats::default())
                    .unwrap_or(nb)
                    .min(nb - 1)
            };
            scan(hist[nb], first, nb - 1, true);
        }
        (best.1 != usize::MAX).then_some((best.0.to_bits(), best.1, best.2))
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn constrained_search_matches_naive_enumeration(
            rows in proptest::collection::vec((0usize..6, -2.0f64..2.0, 0.05f64..1.0), 2..40),
            c in -1i8..=1,
            bounds in prop_oneof![
                Just((f64::NEG_INFINITY, f64::INFINITY)),
                (-1.0f64..0.5, 0.0f64..1.0).prop_map(|(lo, w)| (lo, lo + w)),
                (-1.0f64..1.0).prop_map(|lo| (lo, f64::INFINITY)),
            ],
            alpha in prop_oneof![Just(0.0f64), Just(0.3)],
            mds in prop_oneof![Just(0.0f64), Just(0.4)],
            mcw in prop_oneof![Just(0.0f64), Just(0.5)],
        ) {
            use crate::train::constraints::monotone::{Bounds, Monotone};
            // Bins 0..5 are value bins, bin 5 the missing bin.
            let nb = 5;
            let mapper = BinMapper::from_cuts(vec![FeatureCuts {
                cuts: vec![1.0, 2.0, 3.0, 4.0, 5.0],
                has_missing: true,
                categorical: false,
            }]);
            let mut hist = vec![GradStats::default(); nb + 1];
            let mut total = GradStats::default();
            for r in &rows {
                hist[r.0].grad += r.1;
                hist[r.0].hess += r.2;
                total.grad += r.1;
                total.hess += r.2;
            }
            let q = SplitParams { alpha, max_delta_step: mds, min_child_weight: mcw, ..p() };
            let constraints = [c];
            let mono = Monotone { constraints: &constraints, bounds: Bounds { lower: bounds.0, upper: bounds.1 } };
            let found = best_split_constrained(&hist, &CellScale::IDENTITY, &mapper, &[0], total, rows.len(), &q, mono);
            let want = naive_constrained(&rows, nb, &q, bounds, c);
            match (&found, want) {
                (Some(s), Some(w)) => {
                    prop_assert!((s.gain - w).abs() <= 1e-9 * w.abs().max(1.0), "found {} want {}", s.gain, w);
                    // The split found obeys the constraint.
                    let wl = mono.bounds.clamp(leaf_weight(s.left, &q));
                    let wr = mono.bounds.clamp(leaf_weight(s.right, &q));
                    prop_assert!(c == 0 || (c > 0 && wl <= wr) || (c < 0 && wl >= wr));
                }
                (None, None) => {}
                // Candidates within rounding of MIN_GAIN may fall either way.
                (Some(s), None) => prop_assert!(s.gain <= MIN_GAIN * 2.0, "found {} want none", s.gain),
                (None, Some(w)) => prop_assert!(w <= MIN_GAIN * 2.0, "missed {}", w),
            }
        }
    }

    proptest! {
        /// The vectorised bounded gains pick, bit for bit, the split the scalar constrained loop
        /// picked (with and without a constraint on the feature, bounds, L1, max_delta_step).
        #[test]
        fn vectorised_constrained_search_is_the_scalar_one(
            rows in proptest::collection::vec((0usize..13, -2.0f64..2.0, 0.05f64..1.0), 2..60),
            c in -1i8..=1,
            bounds in prop_oneof![
                Just((f64::NEG_INFINITY, f64::INFINITY)),
                (-1.0f64..0.5, 0.0f64..1.0).prop_map(|(lo, w)| (lo, lo + w)),
                (-1.0f64..1.0).prop_map(|hi| (f64::NEG_INFINITY, hi)),
            ],
            alpha in prop_oneof![Just(0.0f64), Just(0.3)],
            mds in prop_oneof![Just(0.0f64), Just(0.4)],
            mcw in prop_oneof![Just(0.0f64), Just(0.5)],
        ) {
            use crate::train::constraints::monotone::{Bounds, Monotone};
            // Bins 0..12 are value bins (several empty), bin 12 the missing bin.
            let nb = 12;
            let mapper = BinMapper::from_cuts(vec![FeatureCuts {
                cuts: (1..=nb).map(|c| c as f32).collect(),
                has_missing: true,
                categorical: false,
            }]);
            let mut hist = vec![GradStats::default(); nb + 1];
            for r in &rows {
                hist[r.0] += GradStats::new(r.1, r.2);
            }
            let total = hist.iter().fold(GradStats::default(), |a, c| a + *c);
            let q = SplitParams { alpha, max_delta_step: mds, min_child_weight: mcw, ..p() };
            let constraints = [c];
            let mono = Monotone { constraints: &constraints, bounds: Bounds { lower: bounds.0, upper: bounds.1 } };
            let found = best_split_of_feature(&hist, &CellScale::IDENTITY, &mapper, 0, total, rows.len(), &q, mono)
                .map(|s| (s.gain.to_bits(), s.bin, s.default_left));
            prop_assert_eq!(found, scalar_constrained(&hist, nb, &q, mono));
        }
    }

    proptest! {
        /// A node that [`may_split`] refuses has no split in any direction: no prefix of its bins
        /// (with or without the missing rows) leaves both children `min_child_weight`, whatever
        /// the rounding of the sums, so skipping its search loses nothing.
        #[test]
        fn a_node_that_may_not_split_has_no_split(
            hess in proptest::collection::vec(prop_oneof![1 => Just(0.0f64), 4 => 1e-3f64..10.0], 2..40),
            grads in proptest::collection::vec(-5.0f64..5.0, 40),
            excess in 0.0f64..1.0,
        ) {
            let nb = hess.len() - 1;
            let hist: Vec<GradStats> = hess.iter().zip(&grads).map(|(&h, &g)| GradStats::new(g, h)).collect();
            let total = hist.iter().fold(GradStats::default(), |a, c| a + *c);
            // Between half the node's hessian sum and all of it.
            let mcw = total.hess / 2.0 * (1.0 + excess);
            let q = SplitParams { min_child_weight: mcw, ..p() };
            prop_assume!(!may_split(total, &q));
            let mapper = BinMapper::from_cuts(vec![FeatureCuts {
                cuts: (0..nb).map(|b| b as f32 + 0.5).collect(),
                has_missing: true,
                categorical: false,
            }]);
            prop_assert!(best_split(&hist, &CellScale::IDENTITY, &mapper, &[0], total, 100, &q).is_none());
        }
    }

    proptest! {
        /// Scoring only the non-empty bins finds, bit for bit, what scoring every bin finds (the
        /// first best over all candidates, both missing directions), for f64 and packed cells.
        #[test]
        fn skipping_empty_bins_changes_nothing(
            cells in proptest::collection::vec(
                prop_oneof![3 => Just(None), 2 => (-40i32..40, 1u32..30).prop_map(Some)], 1..60),
            missing in prop_oneof![Just(None), (-40i32..40, 1u32..30).prop_map(Some)],
            mcw in prop_oneof![Just(0.0f64), Just(3.0)],
        ) {
            let nb = cells.len();
            let mapper = BinMapper::from_cuts(vec![FeatureCuts {
                cuts: (0..nb).map(|b| b as f32 + 0.5).collect(),
                has_missing: true,
                categorical: false,
            }]);
            let pair = |c: Option<(i32, u32)>| c.map_or(0, |(g, h)| crate::gradients::pack(g, h));
            let mut packed: Vec<i64> = cells.iter().map(|&c| pair(c)).collect();
            packed.push(pair(missing));
            let scale = CellScale { grad_unit: 0.25, hess_unit: 0.5 };
            let as_stats: Vec<GradStats> = packed.iter().map(|c| c.stats(&scale)).collect();
            let q = SplitParams { min_child_weight: mcw, ..p() };
            fn every_bin<C: HistCell>(hist: &[C], scale: &CellScale, q: &SplitParams) -> Option<(u64, usize, bool)> {
                let nb = hist.len() - 1;
                let total = hist.iter().fold(C::default(), |mut a, c| { a += *c; a }).stats(scale);
                let inputs = gain_kernel::GainInputs {
                    total,
                    lambda: q.lambda,
                    min_child_weight: q.min_child_weight,
                    parent_gain: node_gain(total, q),
                    bounded: None,
                };
                let mut best = (MIN_GAIN, usize::MAX, false);
                let first_filled = hist[..nb].iter().position(|c| *c != C::default()).unwrap_or(nb).min(nb - 1);
                let mut sweep = |start: C, first: usize, last: usize, dl: bool| {
                    let mut acc = start;
                    let prefix: Vec<C> = hist[first..last].iter().map(|c| { acc += *c; acc }).collect();
                    if let Some((g, b)) = gain_kernel::first_best(&prefix, scale, inputs) {
                        if g > best.0 {
                            best = (g, first + b, dl);
                        }
                    }
                };
                sweep(C::default(), 0, nb, false);
                if hist[nb] != C::default() {
                    sweep(hist[nb], first_filled, nb - 1, true);
                }
                (best.1 != usize::MAX).then_some((best.0.to_bits(), best.1, best.2))
            }
            let found = |s: Option<SplitInfo>| s.map(|s| (s.gain.to_bits(), s.bin, s.default_left));
            let total_packed = packed.iter().fold(0i64, |a, c| a.wrapping_add(*c)).stats(&scale);
            let total_stats = as_stats.iter().fold(GradStats::default(), |a, c| a + *c);
            prop_assert_eq!(
                found(best_split(&packed, &scale, &mapper, &[0], total_packed, 100, &q)),
                every_bin(&packed, &scale, &q)
            );
            prop_assert_eq!(
                found(best_split(&as_stats, &CellScale::IDENTITY, &mapper, &[0], total_stats, 100, &q)),
                every_bin(&as_stats, &CellScale::IDENTITY, &q)
            );
        }
    }

    #[test]
    fn no_constraint_is_the_plain_search() {
        use crate::train::constraints::monotone::Monotone;
        let mapper = BinMapper::from_cuts(vec![FeatureCuts {
            cuts: vec![1.0, 2.0, 3.0, 4.0],
            has_missing: true,
            categorical: false,
        }]);
        let hist: Vec<GradStats> = [(-2.0, 1.0), (1.0, 2.0), (0.5, 1.0), (3.0, 1.0), (-1.0, 0.5)]
            .iter()
            .map(|&(g, h)| GradStats::new(g, h))
            .collect();
        let total = hist.iter().fold(GradStats::default(), |a, c| a + *c);
        let a = best_split(&hist, &CellScale::IDENTITY, &mapper, &[0], total, 7, &p());
        let b = best_split_constrained(
            &hist,
            &CellScale::IDENTITY,
            &mapper,
            &[0],
            total,
            7,
            &p(),
            Monotone::NONE,
        );
        assert_eq!(a, b);
        // Either constraint: the split found has its weights in order.
        for c in [1i8, -1] {
            let cs = [c];
            let m = Monotone {
                constraints: &cs,
                ..Monotone::NONE
            };
            let s = best_split_constrained(&hist, &CellScale::IDENTITY, &mapper, &[0], total, 7, &p(), m).unwrap();
            let (wl, wr) = (leaf_weight(s.left, &p()), leaf_weight(s.right, &p()));
            assert!(if c > 0 { wl <= wr } else { wl >= wr });
        }
    }

    #[test]
    fn regularisation() {
        let s = GradStats::new(-4.0, 3.0);
        let mut q = p();
        assert_eq!(leaf_weight(s, &q), 1.0);
        q.alpha = 2.0;
        assert_eq!(leaf_weight(s, &q), 0.5);
        q.alpha = 0.0;
        q.max_delta_step = 0.3;
        assert_eq!(leaf_weight(s, &q), 0.3);
        q.min_child_weight = 5.0;
        assert_eq!(leaf_weight(s, &q), 0.0);
        assert_eq!(node_gain(s, &q), 0.0);
    }
}
