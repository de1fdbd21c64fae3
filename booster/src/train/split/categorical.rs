//! The best category-set split of a categorical feature from its histogram (one bin per
//! category).
//!
//! - Few categories (fewer than `max_cat_to_onehot`, XGBoost's rule): one category against the
//!   rest, each category tried, missing values on either side.
//! - Otherwise (XGBoost's and LightGBM's method): the categories with at least `cat_smooth` rows
//!   are sorted by `G / (H + cat_smooth)`, and the prefixes of that order, scanned from both ends
//!   and at most `max_cat_threshold` long, are the candidate sets; rarer categories always go
//!   right. Missing values are one more item of the order, so the scan learns their direction too.
//!   A candidate is scored only once `min_data_per_group` rows have joined since the last one
//!   scored and the other side keeps that many, and the children's gains use `lambda + cat_l2`.
//!   The defaults (`cat_smooth = 1`, `cat_l2 = 0`, `min_data_per_group = 0`) order by leaf weight
//!   as XGBoost does; LightGBM's (10, 10, 100) keep high-cardinality features from fitting noise.
//!   Without any regularisation (`cat_smooth = 0`, `cat_l2 = 0`, `lambda = 0`) the sorted scan finds
//!   the best of all subsets (Fisher, 1958), which the tests check against brute force.
//!
//! The chosen categories go left; the split records them as a [`CategorySet`].

use std::cell::RefCell;

use crate::bins::cuts::BinMapper;
use crate::gradients::{CellScale, GradStats};
use crate::model::categories::CategorySet;
use crate::train::constraints::monotone::{bounded_gain, Bounds};
use crate::train::histogram::HistCell;
use crate::train::split::{node_gain, SplitInfo, SplitParams, MIN_GAIN};

/// One entry of the sorted order: a category (its code, which is its bin) or the missing values.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Category(u32),
    Missing,
}

/// The code of the missing values in the sort buffer (above every category code, so that at equal
/// keys the missing values sort last).
const MISSING_CODE: u32 = u32::MAX;

/// Buffers of the sorted scan, kept per thread between calls (a feature of thousands of categories
/// is scanned at every node).
struct ScanBuffers {
    /// `(sort key, code)` of the categories taking part.
    keyed: Vec<(f64, u32)>,
    /// The codes of the non-empty categories.
    codes: Vec<u32>,
}

thread_local! {
    /// This thread's [`ScanBuffers`].
    static SCAN_BUFFERS: RefCell<ScanBuffers> = const {
        RefCell::new(ScanBuffers {
            keyed: Vec::new(),
            codes: Vec::new(),
        })
    };
}

/// The best category-set split of categorical `feature` from its cells `cells` (its value bins,
/// then its missing bin), or `None`. `node_rows` (the node's row
/// count) turns hessian sums into the row counts `cat_smooth` and `min_data_per_group` speak of.
/// Never inlined, so that the threshold scan of numerical features compiles as it did before.
/// `bounds`: the node's weight bounds while monotone constraints are set (gains then come from
/// clamped weights, as for numerical features), `None` otherwise.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
pub(super) fn best_categorical_split<C: HistCell>(
    cells: &[C],
    scale: &CellScale,
    mapper: &BinMapper,
    feature: usize,
    total: GradStats,
    node_rows: usize,
    p: &SplitParams,
    bounds: Option<Bounds>,
) -> Option<SplitInfo> {
    let node_gain = |s: GradStats, q: &SplitParams| match bounds {
        None => node_gain(s, q),
        Some(b) => bounded_gain(s, q, b),
    };
    let k = mapper.feature(feature).num_value_bins();
    let bins = &cells[..k];
    let missing_cell = cells[k];
    let has_missing = missing_cell != C::default();
    let cell = |item: Item| match item {
        Item::Category(c) => bins[c as usize],
        Item::Missing => missing_cell,
    };
    // The non-empty categories, and the missing values when there are any.
    let present = || (0..k as u32).filter(|&c| bins[c as usize] != C::default());
    let num_present = present().count() + usize::from(has_missing);
    if num_present < 2 {
        return None;
    }
    let parent_gain = node_gain(total, p);
    let valid = |s: GradStats| s.hess >= p.min_child_weight && s.hess > 0.0;
    let cp = &p.categorical;
    // The best candidate so far: its gain and the items that go left.
    let mut best: Option<(f64, Vec<Item>)> = None;
    let mut consider = |gain: f64, chosen: &[Item]| {
        if gain > best.as_ref().map_or(MIN_GAIN, |b| b.0) {
            best = Some((gain, chosen.to_vec()));
        }
    };
    if k < cp.max_cat_to_onehot {
        let missing = missing_cell.stats(scale);
        for item in present().map(Item::Category) {
            for with_missing in [false, true] {
                if with_missing && !has_missing {
                    continue;
                }
                let mut left = cell(item).stats(scale);
                if with_missing {
                    left += missing;
                }
                let right = total - left;
                if !valid(left) || !valid(right) {
                    continue;
                }
                let gain = node_gain(left, p) + node_gain(right, p) - parent_gain;
                if with_missing {
                    consider(gain, &[item, Item::Missing]);
                } else {
                    consider(gain, &[item]);
                }
            }
        }
    } else {
        let rows_per_hess = if total.hess > 0.0 {
            node_rows as f64 / total.hess
        } else {
            0.0
        };
        let count = |s: GradStats| s.hess * rows_per_hess;
        // A category whose hessian sum is below `min_child_weight` has no weight of its own (as
        // in XGBoost, whose order is by leaf weight): it sorts with key 0, in the middle.
        let key = |s: GradStats| {
            if s.hess < p.min_child_weight {
                0.0
            } else {
                s.grad / (s.hess + cp.cat_smooth)
            }
        };
        // One pass over the bins: the sort key of every category with at least `cat_smooth` rows
        // (rarer ones take no part: they stay right), then the missing values, which always take
        // part. Codes are distinct, so the order is total and deterministic.
        SCAN_BUFFERS.with(|buffers| {
            let ScanBuffers { keyed, codes } = &mut *buffers.borrow_mut();
            // The non-empty categories first, without a branch per bin: deep nodes hold few of a
            // high-cardinality feature's categories, scattered, and a branch on each bin
            // mispredicts at every other one.
            if codes.len() < k {
                codes.resize(k, 0);
            }
            let mut nonempty = 0;
            for (c, cell) in bins.iter().enumerate() {
                codes[nonempty] = c as u32;
                nonempty += usize::from(*cell != C::default());
            }
            keyed.clear();
            for &c in &codes[..nonempty] {
                let s = bins[c as usize].stats(scale);
                if count(s) >= cp.cat_smooth {
                    keyed.push((key(s), c));
                }
            }
            if has_missing {
                keyed.push((key(missing_cell.stats(scale)), MISSING_CODE));
            }
            let rest_nonempty = keyed.len() < num_present;
            let used = keyed.len();
            let max_len = cp.max_cat_threshold.min(used.div_ceil(2)).max(1);
            sort_ends(keyed, max_len);
            let keyed: &[(f64, u32)] = keyed;
            let item = |i: usize| match keyed[i].1 {
                MISSING_CODE => Item::Missing,
                c => Item::Category(c),
            };
            let children = SplitParams {
                lambda: p.lambda + cp.cat_l2,
                ..*p
            };
            let min_group = cp.min_data_per_group;
            let mut chosen: Vec<Item> = Vec::with_capacity(max_len);
            for reverse in [false, true] {
                chosen.clear();
                let mut left_cell = C::default();
                let mut group_rows = 0.0;
                for i in 0..max_len.min(used) {
                    let item = item(if reverse { used - 1 - i } else { i });
                    chosen.push(item);
                    let c = cell(item);
                    left_cell += c;
                    group_rows += count(c.stats(scale));
                    if i + 1 == used && !rest_nonempty {
                        break; // everything on the left
                    }
                    let left = left_cell.stats(scale);
                    let right = total - left;
                    if !valid(left) {
                        continue;
                    }
                    if !valid(right) || count(right) < min_group {
                        break;
                    }
                    if group_rows < min_group {
                        continue;
                    }
                    group_rows = 0.0;
                    let gain = node_gain(left, &children) + node_gain(right, &children) - parent_gain;
                    consider(gain, &chosen);
                }
            }
        });
    }
    let (gain, mut chosen) = best?;
    if chosen == [Item::Missing] {
        // The missing values alone on one side: written as every category left, missing right
        // (the same partition), so that a set is never empty.
        chosen = present().map(Item::Category).collect();
    }
    let default_left = chosen.contains(&Item::Missing);
    let mut left_cell = C::default();
    for &item in &chosen {
        left_cell += cell(item);
    }
    let left = left_cell.stats(scale);
    let set = CategorySet::from_codes(chosen.iter().filter_map(|it| match it {
        Item::Category(c) => Some(*c),
        Item::Missing => None,
    }));
    Some(SplitInfo {
        feature,
        bin: usize::MAX,
        threshold: 0.0,
        default_left,
        gain,
        left,
        right: total - left,
        categories: Some(set),
    })
}

/// Orders `keyed` by key, then code, as far as the scans read it: its first `ends` and last `ends`
/// entries are the smallest and the largest, each in order (the middle, which no scan reaches, is
/// left unordered). Selecting the ends first costs linear time instead of a sort of thousands of
/// categories per node; the order is total (codes are distinct), so the ends are the same.
fn sort_ends(keyed: &mut [(f64, u32)], ends: usize) {
    let order = |a: &(f64, u32), b: &(f64, u32)| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1));
    let n = keyed.len();
    // Worth it only when the middle is much longer than the ends.
    if n <= 4 * ends + 16 {
        keyed.sort_unstable_by(order);
        return;
    }
    keyed.select_nth_unstable_by(ends, order);
    keyed[ends..].select_nth_unstable_by(n - 2 * ends - 1, order);
    keyed[..ends].sort_unstable_by(order);
    keyed[n - ends..].sort_unstable_by(order);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bins::cuts::FeatureCuts;
    use crate::train::split::CategoricalParams;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn sorted_ends_are_those_of_the_full_sort(
            keys in proptest::collection::vec(prop_oneof![3 => -4i32..4, 1 => Just(0)], 0..400),
            ends in 1usize..70,
        ) {
            // Many equal keys: the codes break the ties.
            let keyed: Vec<(f64, u32)> = keys
                .iter()
                .enumerate()
                .map(|(c, &k)| (f64::from(k) * 0.5, (c as u32 * 7919) % 1009))
                .collect();
            let mut full = keyed.clone();
            full.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut partial = keyed;
            sort_ends(&mut partial, ends);
            let n = full.len();
            let e = ends.min(n);
            prop_assert_eq!(&partial[..e], &full[..e]);
            prop_assert_eq!(&partial[n - e..], &full[n - e..]);
        }
    }

    fn unregularised(max_cat_to_onehot: usize) -> SplitParams {
        SplitParams {
            lambda: 0.0,
            alpha: 0.0,
            min_child_weight: 0.0,
            max_delta_step: 0.0,
            gamma: 0.0,
            categorical: CategoricalParams {
                max_cat_to_onehot,
                max_cat_threshold: 1 << 20,
                cat_smooth: 0.0,
                cat_l2: 0.0,
                min_data_per_group: 0.0,
            },
        }
    }

    /// Brute force: the best gain over every partition of the non-empty cells (the categories and
    /// the missing cell) into two non-empty groups.
    fn brute_force(cells: &[GradStats], p: &SplitParams) -> f64 {
        let present: Vec<usize> = (0..cells.len()).filter(|&i| cells[i] != GradStats::default()).collect();
        let total = cells.iter().fold(GradStats::default(), |a, c| a + *c);
        let mut best = f64::MIN;
        for mask in 1..(1u32 << present.len()) - 1 {
            let mut left = GradStats::default();
            for (j, &i) in present.iter().enumerate() {
                if mask >> j & 1 == 1 {
                    left += cells[i];
                }
            }
            let right = total - left;
            if left.hess <= 0.0 || right.hess <= 0.0 {
                continue;
            }
            best = best.max(node_gain(left, p) + node_gain(right, p) - node_gain(total, p));
        }
        best
    }

    fn split_of(cells: &[GradStats], p: &SplitParams) -> Option<SplitInfo> {
        let k = cells.len() - 1;
        let mapper = BinMapper::from_cuts(vec![FeatureCuts::categorical(k, true)]);
        let total = cells.iter().fold(GradStats::default(), |a, c| a + *c);
        let rows = cells.iter().map(|c| c.hess).sum::<f64>() as usize;
        best_categorical_split(cells, &CellScale::IDENTITY, &mapper, 0, total, rows, p, None)
    }

    fn cells_strategy() -> impl Strategy<Value = Vec<GradStats>> {
        // k categories and the missing cell last; some cells empty.
        proptest::collection::vec(
            prop_oneof![
                1 => Just(GradStats::default()),
                4 => (-20i32..20, 1u32..10).prop_map(|(g, h)| GradStats::new(g as f64 * 0.5, h as f64)),
            ],
            2..10,
        )
    }

    proptest! {
        #[test]
        fn sorted_scan_finds_the_best_subset(cells in cells_strategy()) {
            let p = unregularised(0);
            let want = brute_force(&cells, &p);
            match split_of(&cells, &p) {
                Some(s) => {
                    prop_assert!((s.gain - want).abs() <= 1e-9 * want.abs().max(1.0), "{} vs {}", s.gain, want);
                    // The split's sums are those of the cells it names.
                    let set = s.categories.clone().unwrap();
                    let mut left = if s.default_left { *cells.last().unwrap() } else { GradStats::default() };
                    for c in set.codes() {
                        left += cells[c as usize];
                    }
                    prop_assert!((left.grad - s.left.grad).abs() < 1e-9 && (left.hess - s.left.hess).abs() < 1e-9);
                    prop_assert!(!set.is_empty());
                    // A category with no rows in the node never joins a set (it goes right).
                    for c in set.codes() {
                        prop_assert!(cells[c as usize] != GradStats::default(), "empty category {} in the set", c);
                    }
                }
                None => prop_assert!(want <= MIN_GAIN, "missed a split of gain {}", want),
            }
        }

        #[test]
        fn one_hot_finds_the_best_single_category(cells in cells_strategy()) {
            let p = unregularised(usize::MAX);
            let k = cells.len() - 1;
            let total = cells.iter().fold(GradStats::default(), |a, c| a + *c);
            let mut want = MIN_GAIN;
            for c in 0..k {
                if cells[c] == GradStats::default() { continue; }
                for with_missing in [false, true] {
                    let left = if with_missing { cells[c] + cells[k] } else { cells[c] };
                    let right = total - left;
                    if left.hess > 0.0 && right.hess > 0.0 {
                        want = want.max(node_gain(left, &p) + node_gain(right, &p) - node_gain(total, &p));
                    }
                }
            }
            match split_of(&cells, &p) {
                Some(s) => {
                    prop_assert_eq!(s.categories.unwrap().len(), 1);
                    prop_assert!((s.gain - want).abs() < 1e-9);
                }
                None => prop_assert!(want <= MIN_GAIN),
            }
        }
    }

    #[test]
    fn rare_categories_stay_right_and_groups_are_large_enough() {
        // Category 3 is rare (2 rows < cat_smooth = 5) and extreme: it may not join a set.
        let cells = vec![
            GradStats::new(-30.0, 10.0),
            GradStats::new(25.0, 10.0),
            GradStats::new(-20.0, 10.0),
            GradStats::new(-50.0, 2.0),
            GradStats::new(20.0, 10.0),
            GradStats::default(),
        ];
        let mut p = unregularised(0);
        p.categorical.cat_smooth = 5.0;
        let s = split_of(&cells, &p).unwrap();
        let set = s.categories.unwrap();
        assert!(!set.contains(3), "{:?}", set.codes().collect::<Vec<_>>());
        // Sorted by G / (H + 5): 0, 2, 4, 1; the rare category joins the negative ones on the right.
        assert_eq!(set.codes().collect::<Vec<_>>(), vec![1, 4]);
        // A group minimum above any side's size leaves no split.
        p.categorical.min_data_per_group = 30.0;
        assert!(split_of(&cells, &p).is_none());
    }
}
