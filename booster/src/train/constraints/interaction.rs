//! Interaction constraints (XGBoost's `interaction_constraints`): which features a node may split on,
//! given the features already used on the path from the root to it.
//!
//! The rule (XGBoost's `FeatureInteractionConstraintHost`): the root may split on every feature; a
//! node below it on the features used on its path, plus every feature of each group that holds all
//! of them. A feature in no group can therefore only be chosen at the root, and below a split on it
//! only that same feature may be split on again.

/// Features used on a path, ascending and distinct.
pub(crate) type PathFeatures = Vec<usize>;

/// `path` with `feature` added (kept ascending and distinct).
pub(crate) fn extend_path(path: &[usize], feature: usize) -> PathFeatures {
    let mut out = path.to_vec();
    if let Err(i) = out.binary_search(&feature) {
        out.insert(i, feature);
    }
    out
}

/// Whether sorted `small` is a subset of sorted `big`.
fn is_subset(small: &[usize], big: &[usize]) -> bool {
    let mut it = big.iter();
    small.iter().all(|f| it.by_ref().any(|g| g == f))
}

/// `features` (ascending) kept where a node whose path used `path` may split on them under `groups`
/// (each ascending); every feature when `path` is empty (the root).
pub(crate) fn allowed_features(groups: &[Vec<usize>], path: &[usize], features: Vec<usize>) -> Vec<usize> {
    if path.is_empty() {
        return features;
    }
    let relevant: Vec<&Vec<usize>> = groups.iter().filter(|g| is_subset(path, g)).collect();
    features
        .into_iter()
        .filter(|f| path.binary_search(f).is_ok() || relevant.iter().any(|g| g.binary_search(f).is_ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive reference: a feature is allowed when it is on the path, or when some group holds it and
    /// every path feature.
    fn naive(groups: &[Vec<usize>], path: &[usize], f: usize) -> bool {
        path.is_empty()
            || path.contains(&f)
            || groups
                .iter()
                .any(|g| g.contains(&f) && path.iter().all(|p| g.contains(p)))
    }

    #[test]
    fn matches_the_naive_rule() {
        let groups = vec![vec![0, 1], vec![1, 2, 3], vec![4]];
        let paths: Vec<Vec<usize>> = vec![
            vec![],
            vec![0],
            vec![1],
            vec![2],
            vec![1, 2],
            vec![0, 2],
            vec![4],
            vec![5],
            vec![1, 3],
        ];
        for path in &paths {
            let got = allowed_features(&groups, path, (0..6).collect());
            let want: Vec<usize> = (0..6).filter(|&f| naive(&groups, path, f)).collect();
            assert_eq!(got, want, "path {path:?}");
        }
        assert_eq!(allowed_features(&groups, &[1], (0..6).collect()), vec![0, 1, 2, 3]);
        // A feature in no group: only itself below it.
        assert_eq!(allowed_features(&groups, &[5], (0..6).collect()), vec![5]);
        // The column sample is intersected, never extended.
        assert_eq!(allowed_features(&groups, &[1], vec![2, 4, 5]), vec![2]);
    }

    #[test]
    fn paths_stay_sorted_and_distinct() {
        let p = extend_path(&[], 3);
        let p = extend_path(&p, 1);
        let p = extend_path(&p, 3);
        assert_eq!(extend_path(&p, 2), vec![1, 2, 3]);
    }
}
