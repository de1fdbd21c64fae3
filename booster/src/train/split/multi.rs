//! Split search for trees with a value per output in each leaf (`multi_strategy =
//! multi_output_tree`): one threshold for all outputs, chosen by the gain summed over the
//! outputs' histograms, each output regularised as a tree of its own would be.

use rayon::prelude::*;

use crate::bins::cuts::BinMapper;
use crate::gradients::GradStats;
use crate::train::split::{node_gain, SplitInfo, SplitParams, MIN_GAIN};

/// The sums of every row of a node, per output, read off one feature's histogram (every row
/// falls into exactly one bin of each feature, the missing bin included).
pub fn node_totals(hists: &[&[GradStats]], mapper: &BinMapper) -> Vec<GradStats> {
    let (start, end) = (
        mapper.offset(0),
        mapper.offset(0) + mapper.feature(0).num_value_bins() + 1,
    );
    hists
        .iter()
        .map(|h| h[start..end].iter().fold(GradStats::default(), |a, c| a + *c))
        .collect()
}

/// Whether every output's child sums allow a leaf (`min_child_weight`, positive hessian).
fn valid(children: &[GradStats], p: &SplitParams) -> bool {
    children.iter().all(|s| s.hess >= p.min_child_weight && s.hess > 0.0)
}

/// The summed structure score of the outputs' sums.
fn summed_gain(sums: &[GradStats], p: &SplitParams) -> f64 {
    sums.iter().map(|s| node_gain(*s, p)).sum()
}

/// The best threshold of one numerical feature over the outputs' histograms `hists` of a node
/// whose per-output sums are `totals`; `None` when none is valid and improves the summed gain.
/// The returned split's `left`/`right` are summed over the outputs.
pub fn best_vector_split_of_feature(
    hists: &[&[GradStats]],
    totals: &[GradStats],
    mapper: &BinMapper,
    feature: usize,
    p: &SplitParams,
) -> Option<SplitInfo> {
    let k = hists.len();
    let cuts = mapper.feature(feature);
    let off = mapper.offset(feature);
    let nb = cuts.num_value_bins();
    let cell = |o: usize, b: usize| hists[o][off + b];
    let parent = summed_gain(totals, p);
    let missing: Vec<GradStats> = (0..k).map(|o| cell(o, nb)).collect();
    let has_missing = missing.iter().any(|c| *c != GradStats::default());
    let empty = |b: usize| (0..k).all(|o| cell(o, b) == GradStats::default());
    let mut best: (f64, usize, bool) = (MIN_GAIN, usize::MAX, false);
    let mut left = vec![GradStats::default(); k];
    let mut right = vec![GradStats::default(); k];
    for default_left in [false, true] {
        if default_left && !has_missing {
            break;
        }
        for (o, l) in left.iter_mut().enumerate() {
            *l = if default_left { missing[o] } else { GradStats::default() };
        }
        // An empty bin gives the partition of the bin before it; skipping it also keeps a
        // prefix of empty bins from leaving the missing rows alone on the left.
        for b in (0..nb).filter(|&b| !empty(b)) {
            for o in 0..k {
                left[o] += cell(o, b);
                right[o] = totals[o] - left[o];
            }
            if !valid(&left, p) || !valid(&right, p) {
                continue;
            }
            let gain = summed_gain(&left, p) + summed_gain(&right, p) - parent;
            if gain > best.0 {
                best = (gain, b, default_left);
            }
        }
    }
    let (gain, bin, default_left) = best;
    if bin == usize::MAX {
        return None;
    }
    let mut left_sum = GradStats::default();
    for (o, m) in missing.iter().enumerate() {
        let mut l = if default_left { *m } else { GradStats::default() };
        for b in 0..=bin {
            l += cell(o, b);
        }
        left_sum += l;
    }
    let total_sum = totals.iter().fold(GradStats::default(), |a, t| a + *t);
    Some(SplitInfo {
        feature,
        bin,
        threshold: cuts.cuts[bin],
        default_left,
        gain,
        left: left_sum,
        right: total_sum - left_sum,
        categories: None,
    })
}

/// The best split over `features` of a node from its outputs' histograms (features in parallel,
/// ties to the lower feature index); `None` when no split gains more than [`MIN_GAIN`] and
/// `gamma`.
pub fn best_vector_split(
    hists: &[&[GradStats]],
    mapper: &BinMapper,
    features: &[usize],
    p: &SplitParams,
) -> Option<SplitInfo> {
    let totals = node_totals(hists, mapper);
    let per_feature: Vec<Option<SplitInfo>> = features
        .par_iter()
        .map(|&f| best_vector_split_of_feature(hists, &totals, mapper, f, p))
        .collect();
    let mut best: Option<SplitInfo> = None;
    for s in per_feature.into_iter().flatten() {
        if best.as_ref().is_none_or(|b| s.gain > b.gain) {
            best = Some(s);
        }
    }
    best.filter(|b| b.gain >= p.gamma)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bins::cuts::BinMapper;
    use crate::data::Dataset;
    use proptest::prelude::*;

    /// Every partition a threshold and a side for missing values can make, scored by the summed
    /// gain straight from the rows.
    fn naive(
        values: &[f32],
        pairs: &[Vec<(f64, f64)>],
        mapper: &BinMapper,
        p: &SplitParams,
    ) -> Option<(usize, bool, f64)> {
        let cuts = &mapper.feature(0).cuts;
        let k = pairs.len();
        let sums = |pick: &dyn Fn(usize) -> bool| -> Vec<GradStats> {
            (0..k)
                .map(|o| {
                    let mut s = GradStats::default();
                    for (i, (g, h)) in pairs[o].iter().enumerate() {
                        if pick(i) {
                            s.add_pair(crate::gradients::GradPair::new(*g as f32, *h as f32));
                        }
                    }
                    s
                })
                .collect()
        };
        let total = sums(&|_| true);
        let parent = summed_gain(&total, p);
        let mut best: Option<(usize, bool, f64)> = None;
        for default_left in [false, true] {
            for (b, cut) in cuts.iter().enumerate() {
                let goes_left = |i: usize| {
                    if values[i].is_nan() {
                        default_left
                    } else {
                        values[i] < *cut
                    }
                };
                let l = sums(&goes_left);
                let r = sums(&|i| !goes_left(i));
                if !valid(&l, p) || !valid(&r, p) {
                    continue;
                }
                let gain = summed_gain(&l, p) + summed_gain(&r, p) - parent;
                if gain > MIN_GAIN && best.is_none_or(|bb| gain > bb.2 + 1e-9) {
                    best = Some((b, default_left, gain));
                }
            }
        }
        best
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn vector_split_gain_matches_naive_enumeration(
            rows in prop::collection::vec((0u8..12, -3.0f64..3.0, 0.1f64..2.0, -1.0f64..1.0, 0.1f64..2.0), 6..60),
            missing_every in 0usize..5,
        ) {
            let values: Vec<f32> = rows
                .iter()
                .enumerate()
                .map(|(i, r)| if missing_every > 0 && i % (missing_every + 2) == 0 { f32::NAN } else { r.0 as f32 })
                .collect();
            let data = Dataset::from_columns(vec![values.clone()]).unwrap();
            let mapper = BinMapper::fit(&data, 16);
            let pairs: Vec<Vec<(f64, f64)>> = vec![
                rows.iter().map(|r| (r.1, r.2)).collect(),
                rows.iter().map(|r| (r.3, r.4)).collect(),
            ];
            let hists: Vec<Vec<GradStats>> = pairs
                .iter()
                .map(|ps| {
                    let mut h = vec![GradStats::default(); mapper.offsets()[mapper.num_features()]];
                    for (i, (g, hh)) in ps.iter().enumerate() {
                        let b = mapper.feature(0).bin(values[i]);
                        h[mapper.offset(0) + b].add_pair(crate::gradients::GradPair::new(*g as f32, *hh as f32));
                    }
                    h
                })
                .collect();
            let views: Vec<&[GradStats]> = hists.iter().map(|h| h.as_slice()).collect();
            let p = SplitParams { lambda: 1.0, min_child_weight: 0.5, ..SplitParams::from_params(&Default::default()) };
            let got = best_vector_split(&views, &mapper, &[0], &p);
            let want = naive(&values, &pairs, &mapper, &p);
            match (got, want) {
                (None, None) => {}
                (Some(g), Some(w)) => prop_assert!((g.gain - w.2).abs() < 1e-6 * (1.0 + w.2.abs()), "{} vs {}", g.gain, w.2),
                (g, w) => prop_assert!(false, "search {:?} vs naive {:?}", g.map(|s| s.gain), w),
            }
        }
    }
}
