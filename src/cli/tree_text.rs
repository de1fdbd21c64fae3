//! Trees as text for `sylvan inspect --trees`: one line per node, threshold splits as `x < t`,
//! category-set splits as `city in {Paris, Rome}` with the category names the model stores.

use sylvan_booster::Tree;
use sylvan_io::CategoryMap;

/// The most categories a set is spelled out with before `...`.
const SHOWN_CATEGORIES: usize = 12;

/// The lines describing `tree`, indented by two spaces; `features` names the features and
/// `categories` maps a categorical feature's codes to names (codes are shown where it has none).
pub fn tree_lines(tree: &Tree, features: &[String], categories: &CategoryMap) -> Vec<String> {
    let mut lines = Vec::with_capacity(tree.num_nodes());
    // Depth-first, left child first, indented by depth.
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, depth)) = stack.pop() {
        let pad = "  ".repeat(depth + 1);
        if tree.is_leaf(i) {
            lines.push(format!("{pad}{i}: leaf {:.6}", tree.value[i]));
            continue;
        }
        let test = split_test(tree, i, features, categories, SHOWN_CATEGORIES);
        let missing = if tree.default_left[i] { "left" } else { "right" };
        lines.push(format!(
            "{pad}{i}: {test} (missing: {missing}) yes -> {}, no -> {}, gain {:.4}, cover {:.2}",
            tree.left[i], tree.right[i], tree.gain[i], tree.cover[i]
        ));
        stack.push((tree.right[i] as usize, depth + 1));
        stack.push((tree.left[i] as usize, depth + 1));
    }
    lines
}

/// The test of split node `i`: `x < t` for a threshold, `city in {Paris, Rome}` for a category
/// set (at most `shown` categories spelled out, then `... N more`).
pub fn split_test(tree: &Tree, i: usize, features: &[String], categories: &CategoryMap, shown: usize) -> String {
    let f = tree.feature[i] as usize;
    let name = features.get(f).map_or_else(|| format!("f{f}"), String::clone);
    match tree.category_set(i) {
        Some(set) => {
            let names = categories.get(&name);
            let mut listed: Vec<String> = set
                .codes()
                .take(shown)
                .map(|c| match names.and_then(|n| n.get(c as usize)) {
                    Some(n) => n.clone(),
                    None => c.to_string(),
                })
                .collect();
            if set.len() > shown {
                listed.push(format!("... {} more", set.len() - shown));
            }
            format!("{name} in {{{}}}", listed.join(", "))
        }
        None => format!("{name} < {}", tree.threshold[i]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sylvan_booster::CategorySet;

    #[test]
    fn set_splits_show_category_names() {
        let mut t = Tree {
            left: vec![1, -1, -1],
            right: vec![2, -1, -1],
            feature: vec![0, 0, 0],
            threshold: vec![0.0; 3],
            default_left: vec![true, false, false],
            value: vec![0.0, -1.0, 1.0],
            gain: vec![2.0, 0.0, 0.0],
            cover: vec![3.0, 1.0, 2.0],
            categories: Default::default(),
        };
        t.categories.set_node(0, 3, CategorySet::from_codes([0, 2]));
        let mut cats = CategoryMap::new();
        cats.insert("city", vec!["Oslo".into(), "Paris".into(), "Rome".into()]);
        let lines = tree_lines(&t, &["city".to_string()], &cats);
        assert!(lines[0].contains("city in {Oslo, Rome} (missing: left)"), "{lines:?}");
        assert!(lines[1].contains("1: leaf -1"), "{lines:?}");
        let plain = tree_lines(&t, &["code".to_string()], &CategoryMap::new());
        assert!(plain[0].contains("code in {0, 2}"), "{plain:?}");
    }
}
