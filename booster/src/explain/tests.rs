//! The explanations against brute force: Shapley values and Shapley interaction values computed
//! from their definitions over every coalition of the features a tree uses, with the
//! path-dependent expectation of Lundberg et al.'s Algorithm 1 as the value of a coalition; on
//! random trees (repeated features, ties with thresholds, missing values, skewed and zero covers)
//! and random rows.

use proptest::prelude::*;

use crate::data::dataset::Dataset;
use crate::explain::paths::{cover_share, leaf_paths, node_means};
use crate::explain::saabas::saabas_contributions;
use crate::explain::shapley::{add_contributions_direct, add_interactions_direct, contribution_table, Scratch};
use crate::explain::treeshap::{explain_trees, Explanation};
use crate::model::categories::{CategorySet, TreeCategories};
use crate::model::tree::Tree;

/// The expected value of `tree` for a row whose features in `known` are known (the others are
/// integrated out along the training cover).
fn expectation(tree: &Tree, node: usize, row: &[f32], known: &[bool]) -> f64 {
    if tree.is_leaf(node) {
        return tree.value[node] as f64;
    }
    let (l, r) = (tree.left[node] as usize, tree.right[node] as usize);
    if known[tree.feature[node] as usize] {
        expectation(tree, tree.child(node, row), row, known)
    } else {
        cover_share(tree, node, l) * expectation(tree, l, row, known)
            + cover_share(tree, node, r) * expectation(tree, r, row, known)
    }
}

fn factorial(n: usize) -> f64 {
    (1..=n).map(|k| k as f64).product()
}

/// The features `tree` splits on.
fn used_features(tree: &Tree) -> Vec<usize> {
    let mut f: Vec<usize> = (0..tree.num_nodes())
        .filter(|&i| !tree.is_leaf(i))
        .map(|i| tree.feature[i] as usize)
        .collect();
    f.sort_unstable();
    f.dedup();
    f
}

/// Brute-force Shapley values (`nf` values, then the expected value).
fn brute_contributions(tree: &Tree, row: &[f32]) -> Vec<f64> {
    let nf = row.len();
    let players = used_features(tree);
    let m = players.len();
    let mut out = vec![0f64; nf + 1];
    let value = |mask: usize| {
        let mut known = vec![false; nf];
        for (k, f) in players.iter().enumerate() {
            known[*f] = (mask >> k) & 1 == 1;
        }
        expectation(tree, 0, row, &known)
    };
    for (i, fi) in players.iter().enumerate() {
        for mask in (0..1usize << m).filter(|s| (s >> i) & 1 == 0) {
            let s = mask.count_ones() as usize;
            let w = factorial(s) * factorial(m - s - 1) / factorial(m);
            out[*fi] += w * (value(mask | (1 << i)) - value(mask));
        }
    }
    out[nf] = value(0);
    out
}

/// Brute-force Shapley interaction values, `(nf + 1)²`, diagonal = contribution less the row's
/// interactions, bias in the corner.
fn brute_interactions(tree: &Tree, row: &[f32]) -> Vec<f64> {
    let nf = row.len();
    let w1 = nf + 1;
    let players = used_features(tree);
    let m = players.len();
    let mut out = vec![0f64; w1 * w1];
    let value = |mask: usize| {
        let mut known = vec![false; nf];
        for (k, f) in players.iter().enumerate() {
            known[*f] = (mask >> k) & 1 == 1;
        }
        expectation(tree, 0, row, &known)
    };
    for i in 0..m {
        for j in 0..m {
            if i == j {
                continue;
            }
            let mut total = 0.0;
            for mask in (0..1usize << m).filter(|s| (s >> i) & 1 == 0 && (s >> j) & 1 == 0) {
                let s = mask.count_ones() as usize;
                let w = factorial(s) * factorial(m - s - 2) / (2.0 * factorial(m - 1));
                let (bi, bj) = (1 << i, 1 << j);
                total += w * (value(mask | bi | bj) - value(mask | bi) - value(mask | bj) + value(mask));
            }
            out[players[i] * w1 + players[j]] = total;
        }
    }
    let contributions = brute_contributions(tree, row);
    for a in 0..nf {
        let others: f64 = (0..nf).filter(|b| *b != a).map(|b| out[a * w1 + b]).sum();
        out[a * w1 + a] = contributions[a] - others;
    }
    out[nf * w1 + nf] = contributions[nf];
    out
}

/// A random tree over `nf` features: thresholds on a grid of quarters (rows hit them exactly),
/// repeated features, random default directions, covers from random leaf weights (some zero).
fn random_tree(seed: u64, nf: usize, max_depth: usize, categorical: bool) -> Tree {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut t = Tree::default();
    let mut sets = Vec::new();
    // Nodes in creation order: (depth); children are appended after their parent.
    let mut queue = vec![(0usize, 0usize)];
    t.left.push(-1);
    let mut q = 0;
    while q < queue.len() {
        let (node, depth) = queue[q];
        q += 1;
        let split = depth < max_depth && (depth == 0 || next() % 10 < 7);
        let f = (next() % nf as u64) as u32;
        t.feature.push(0);
        t.threshold.push(0.0);
        t.default_left.push(next() % 2 == 0);
        t.value.push(((next() % 2001) as f32 - 1000.0) / 500.0);
        t.gain.push(0.0);
        t.cover.push(0.0);
        if split {
            let l = t.left.len();
            t.left.push(-1);
            t.left.push(-1);
            t.left[node] = l as i32;
            t.feature[node] = f;
            t.threshold[node] = (1 + next() % 3) as f32 * 0.25;
            if categorical && next() % 3 == 0 {
                sets.push((
                    node,
                    CategorySet::from_codes([(next() % 4) as u32, (next() % 4) as u32]),
                ));
            }
            queue.push((l, depth + 1));
            queue.push((l + 1, depth + 1));
        }
    }
    let n = t.left.len();
    t.right = t.left.iter().map(|l| if *l < 0 { -1 } else { l + 1 }).collect();
    for i in (0..n).rev() {
        if t.left[i] < 0 {
            t.cover[i] = if next() % 8 == 0 { 0.0 } else { (1 + next() % 50) as f32 };
        } else {
            t.cover[i] = t.cover[t.left[i] as usize] + t.cover[t.right[i] as usize];
        }
    }
    let mut cats = TreeCategories::default();
    for (node, set) in sets {
        cats.set_node(node, n, set);
    }
    t.categories = cats;
    t.validate(nf).unwrap();
    t
}

/// Random rows: values on the grid of quarters (and category codes 0..3), some missing.
fn random_rows(seed: u64, rows: usize, nf: usize) -> Vec<Vec<f32>> {
    let mut s = seed | 1;
    (0..rows)
        .map(|_| {
            (0..nf)
                .map(|_| {
                    s = s.wrapping_mul(2862933555777941757).wrapping_add(3037000493);
                    match (s >> 33) % 6 {
                        0 => f32::NAN,
                        k => (k - 1) as f32 * 0.25,
                    }
                })
                .collect()
        })
        .collect()
}

fn dataset(rows: &[Vec<f32>], nf: usize) -> Dataset {
    let cols = (0..nf).map(|j| rows.iter().map(|r| r[j]).collect()).collect();
    Dataset::from_columns(cols).unwrap()
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "{what}[{i}]: {x} vs {y}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Every leaf's tabulated and directly evaluated credits, summed, equal brute-force Shapley
    /// values; the whole kernel (tables or direct, by row count) agrees and sums to the margin.
    #[test]
    fn contributions_equal_brute_force(seed in any::<u64>(), nf in 1usize..6, depth in 1usize..7, rows in 1usize..40, cat in any::<bool>()) {
        let tree = random_tree(seed, nf, depth, cat);
        let data_rows = random_rows(seed ^ 0x9e37, rows, nf);
        let data = dataset(&data_rows, nf);
        let base = vec![0.25f64; rows];
        let fast = explain_trees(std::slice::from_ref(&tree), |_| 0, 1, &data, &base, Explanation::Contributions);
        let paths = leaf_paths(&tree);
        let mut scratch = Scratch::default();
        for (r, row) in data_rows.iter().enumerate() {
            let brute = brute_contributions(&tree, row);
            let mut direct = vec![0f64; nf + 1];
            let mut tabulated = vec![0f64; nf + 1];
            let mut ones = Vec::new();
            for p in &paths {
                p.ones_into(&tree, |f| row[f], &mut ones);
                add_contributions_direct(p, &ones, &mut direct, &mut scratch);
                let q = ones.iter().enumerate().fold(0usize, |q, (u, o)| q | ((*o as usize) << u));
                let table = contribution_table(p);
                for (u, f) in p.features.iter().enumerate() {
                    tabulated[*f as usize] += table[(u << p.len()) + q] as f64;
                }
            }
            direct[nf] = node_means(&tree)[0];
            tabulated[nf] = direct[nf];
            assert_close(&direct, &brute, 1e-9, "direct");
            assert_close(&tabulated, &brute, 1e-5, "table");
            let got: Vec<f64> = fast[r * (nf + 1)..(r + 1) * (nf + 1)].iter().map(|v| *v as f64).collect();
            let mut expect = brute.clone();
            expect[nf] += 0.25;
            assert_close(&got, &expect, 1e-5, "kernel");
            let margin = tree.predict_row(row) as f64 + 0.25;
            let sum: f64 = got.iter().sum();
            // The covers add up, so the contributions sum to the margin (up to f32 rounding).
            prop_assert!((sum - margin).abs() < 1e-4 * (1.0 + margin.abs()), "sum {} vs margin {}", sum, margin);
        }
    }

    /// Interaction values equal the brute-force Shapley interaction index, are symmetric, and each
    /// row of a matrix sums to the feature's contribution.
    #[test]
    fn interactions_equal_brute_force(seed in any::<u64>(), nf in 2usize..5, depth in 1usize..6, rows in 1usize..12, cat in any::<bool>()) {
        let tree = random_tree(seed, nf, depth, cat);
        let data_rows = random_rows(seed ^ 0x51f1, rows, nf);
        let data = dataset(&data_rows, nf);
        let base = vec![-1.0f64; rows];
        let w1 = nf + 1;
        let fast = explain_trees(std::slice::from_ref(&tree), |_| 0, 1, &data, &base, Explanation::Interactions);
        let contributions = explain_trees(std::slice::from_ref(&tree), |_| 0, 1, &data, &base, Explanation::Contributions);
        let paths = leaf_paths(&tree);
        let mut scratch = Scratch::default();
        for (r, row) in data_rows.iter().enumerate() {
            let mut expect = brute_interactions(&tree, row);
            expect[w1 * w1 - 1] += -1.0;
            let got: Vec<f64> = fast[r * w1 * w1..(r + 1) * w1 * w1].iter().map(|v| *v as f64).collect();
            assert_close(&got, &expect, 1e-5, "interactions");
            for a in 0..w1 {
                for b in 0..w1 {
                    prop_assert!((got[a * w1 + b] - got[b * w1 + a]).abs() < 1e-6);
                }
                let line: f64 = got[a * w1..(a + 1) * w1].iter().sum();
                let c = contributions[r * w1 + a] as f64;
                prop_assert!((line - c).abs() < 1e-5 * (1.0 + c.abs()), "row {} of the matrix sums to {} vs {}", a, line, c);
            }
            // The direct evaluation of the off-diagonal agrees too.
            let mut direct = vec![0f64; w1 * w1];
            let mut ones = Vec::new();
            for p in &paths {
                p.ones_into(&tree, |f| row[f], &mut ones);
                add_interactions_direct(p, &ones, w1, &mut direct, &mut scratch);
            }
            for a in 0..nf {
                for b in (0..nf).filter(|b| *b != a) {
                    let (x, y) = (direct[a * w1 + b], expect[a * w1 + b]);
                    prop_assert!((x - y).abs() < 1e-9 * (1.0 + y.abs()), "direct [{}][{}]: {} vs {}", a, b, x, y);
                }
            }
        }
    }

    /// Saabas contributions sum to the margin, and a feature the row's path does not split on gets
    /// nothing.
    #[test]
    fn saabas_sums_to_the_margin(seed in any::<u64>(), nf in 1usize..6, depth in 0usize..7, rows in 1usize..30) {
        let trees: Vec<Tree> = (0..3).map(|k| random_tree(seed.wrapping_add(k), nf, depth, true)).collect();
        let data_rows = random_rows(seed ^ 0xabc, rows, nf);
        let data = dataset(&data_rows, nf);
        let base = vec![0.5f64; rows * 2];
        let got = saabas_contributions(&trees, |t| t % 2, 2, &data, &base);
        for (r, row) in data_rows.iter().enumerate() {
            for g in 0..2 {
                let margin: f64 = 0.5 + trees.iter().enumerate().filter(|(t, _)| t % 2 == g).map(|(_, t)| t.predict_row(row) as f64).sum::<f64>();
                let sum: f64 = got[(r * 2 + g) * (nf + 1)..(r * 2 + g + 1) * (nf + 1)].iter().map(|v| *v as f64).sum();
                prop_assert!((sum - margin).abs() < 1e-4 * (1.0 + margin.abs()), "{} vs {}", sum, margin);
            }
        }
    }
}

/// Several trees and outputs: each tree's values go to its own output, the bias holds the base
/// margin once plus every tree's expected value, and the result does not depend on the thread
/// count.
#[test]
fn forests_add_up_per_output_and_ignore_thread_count() {
    let nf = 4;
    let trees: Vec<Tree> = (0..7).map(|k| random_tree(100 + k, nf, 5, true)).collect();
    let data_rows = random_rows(7, 700, nf);
    let data = dataset(&data_rows, nf);
    let base: Vec<f64> = (0..700 * 3).map(|i| (i % 5) as f64 * 0.1).collect();
    let run = |threads: usize, kind: Explanation| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| explain_trees(&trees, |t| t % 3, 3, &data, &base, kind))
    };
    let one = run(1, Explanation::Contributions);
    assert_eq!(one, run(3, Explanation::Contributions));
    assert_eq!(run(1, Explanation::Interactions), run(2, Explanation::Interactions));
    for (r, row) in data_rows.iter().enumerate() {
        for g in 0..3 {
            let mut expect = vec![0f64; nf + 1];
            expect[nf] = base[r * 3 + g];
            for (t, tree) in trees.iter().enumerate().filter(|(t, _)| t % 3 == g) {
                let _ = t;
                for (e, b) in expect.iter_mut().zip(brute_contributions(tree, row)) {
                    *e += b;
                }
            }
            let got: Vec<f64> = one[(r * 3 + g) * (nf + 1)..(r * 3 + g + 1) * (nf + 1)]
                .iter()
                .map(|v| *v as f64)
                .collect();
            assert_close(&got, &expect, 1e-5, "forest");
        }
    }
}

/// Long paths (more distinct features than tables cover) are evaluated directly and agree.
#[test]
fn long_paths_are_evaluated_directly() {
    let nf = 14;
    let tree = random_tree(5, nf, 14, false);
    let data_rows = random_rows(11, 3, nf);
    let data = dataset(&data_rows, nf);
    let got = explain_trees(
        std::slice::from_ref(&tree),
        |_| 0,
        1,
        &data,
        &[0.0; 3],
        Explanation::Contributions,
    );
    for (r, row) in data_rows.iter().enumerate() {
        let margin = tree.predict_row(row) as f64;
        let sum: f64 = got[r * (nf + 1)..(r + 1) * (nf + 1)].iter().map(|v| *v as f64).sum();
        assert!((sum - margin).abs() < 1e-4, "{sum} vs {margin}");
    }
}
