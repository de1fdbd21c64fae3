//! ONNX export of models with category-set splits (issue 17), checked by onnxruntime.
//!
//! A category-set split is written as a chain of `BRANCH_EQ` tests sharing the split's left child
//! (see `io/src/export/onnx.rs`). The tests here:
//! - a hand-made model whose set splits cover every routing case (missing values both ways, codes in
//!   and out of the set, unseen codes, negative, fractional and huge values, `-0`, a set
//!   with a code beyond `MAX_CATEGORIES`, an empty set, a chain leading into another chain on the
//!   same feature, a set onnxruntime folds into a bitset and sets it cannot);
//! - Sylvan trained on `categorical_mixed` (cardinalities 3, 50 and 1500) for `binary:logistic`,
//!   `reg:squarederror` and a 3-class `multi:softprob`, predicted by onnxruntime on held-out rows
//!   with missing values, unseen codes and values that are no category codes;
//! - the chains' size (printed: extra nodes and bytes, against copying the left subtree instead);
//! - models without set splits keep their threshold-only export.
//!
//! Tolerance: `|a - b| <= 1e-5 * max(1, |a|, |b|)` (onnxruntime sums the leaves in f32, Sylvan in
//! f64). Without a Python that has onnx and onnxruntime (`common::require_onnxruntime`), the runtime
//! checks print "skipping" and pass unless `SYLVAN_REQUIRE_REFERENCE=1`; the checks of the written
//! message always run.

mod common;

use std::path::Path;
use std::process::Command;

use common::{ScratchDir, Table};
use sylvan::booster::{CategorySet, Tree, TreeCategories};
use sylvan::io::export::onnx::{to_onnx, to_onnx_model, ML_OPSET};
use sylvan::io::export::onnx_proto::{AttributeProto, ModelProto};
use sylvan::io::{export_model, ModelFormat};
use sylvan::Booster;

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// The attribute `name` of the model's tree-ensemble node.
fn attribute<'a>(m: &'a ModelProto, name: &str) -> &'a AttributeProto {
    m.graph.as_ref().expect("graph").node[0]
        .attribute
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("no attribute {name}"))
}

fn modes(m: &ModelProto) -> Vec<String> {
    attribute(m, "nodes_modes")
        .strings
        .iter()
        .map(|s| String::from_utf8(s.clone()).expect("UTF-8 mode"))
        .collect()
}

/// Runs `tests/python/onnx_predict.py` (onnx checker + onnxruntime) on `booster`'s export.
fn run_onnx(python: &Path, dir: &Path, name: &str, booster: &Booster, test: &Table) -> serde_json::Value {
    let x = dir.join(format!("X_{name}.npy"));
    common::write_npy_columns(&x, &test.columns).unwrap();
    let model = dir.join(format!("{name}.onnx"));
    export_model(booster, ModelFormat::Onnx, &model).expect("export ONNX");
    let out = dir.join(format!("{name}.json"));
    let o = Command::new(python)
        .arg(common::repo_root().join("tests/python/onnx_predict.py"))
        .args([
            "--model",
            path_str(&model),
            "--x",
            path_str(&x),
            "--out",
            path_str(&out),
        ])
        .output()
        .expect("run onnx_predict.py");
    assert!(
        o.status.success(),
        "onnx_predict.py {name} failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&std::fs::read_to_string(out).expect("read output")).expect("JSON output")
}

fn output(v: &serde_json::Value, name: &str) -> Vec<f64> {
    v["outputs"][name]
        .as_array()
        .unwrap_or_else(|| panic!("no output `{name}` in {}", v["shapes"]))
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

/// Checks onnxruntime's predictions of `booster`'s export against Sylvan's on `test`.
fn check_with_runtime(name: &str, booster: &Booster, objective: &str, test: &Table) {
    let Some(python) = common::require_onnxruntime("the onnxruntime checks") else {
        return;
    };
    let dir = ScratchDir::new(&format!("onnx-cat-{name}"));
    // Predicted as plain numbers: the held-out values need not be valid category codes.
    let expected = common::sylvan_predictions(booster, &test.to_dataset());
    let rows = test.num_rows();
    let cols = expected.len() / rows;
    let v = run_onnx(&python, dir.path(), name, booster, test);
    let got = match objective {
        "binary:logistic" => output(&v, "probabilities").chunks(2).map(|c| c[1]).collect(),
        "multi:softprob" => output(&v, "probabilities"),
        _ => output(&v, "variable"),
    };
    common::assert_close(
        &format!("{name}: onnxruntime on Sylvan's ONNX export"),
        &expected,
        &got,
        cols,
        "onnxruntime",
    );
    if objective == "binary:logistic" || objective.starts_with("multi:") {
        let labels = output(&v, "label");
        let probs = output(&v, "probabilities");
        let k = probs.len() / rows;
        for r in 0..rows {
            let p = &probs[r * k..(r + 1) * k];
            let best = (0..k).fold(0, |b, c| if p[c] > p[b] { c } else { b });
            let l = labels[r] as usize;
            assert!(
                l == best || (p[best] - p[l]).abs() <= 1e-6,
                "{name}: row {r}: label {l}, probabilities {p:?}"
            );
        }
    }
}

// ------------------------------------------------------------------------------------------------
// A hand-made model: every routing case

fn set_tree(
    left: Vec<i32>,
    right: Vec<i32>,
    feature: Vec<u32>,
    threshold: Vec<f32>,
    default_left: Vec<bool>,
    value: Vec<f32>,
    sets: &[(usize, CategorySet)],
) -> Tree {
    let n = left.len();
    let mut categories = TreeCategories::default();
    for (i, s) in sets {
        categories.set_node(*i, n, s.clone());
    }
    Tree {
        left,
        right,
        feature,
        threshold,
        default_left,
        value,
        gain: vec![1.0; n],
        cover: vec![1.0; n],
        categories,
    }
}

/// Three features; leaf values are distinct powers of two, so every path is told apart.
fn hand_made_model(objective: &str) -> Booster {
    // 0: f0 in {0, 2, 5, 40, 1000, 70000} (missing left) ? 1 : 2
    // 1: f1 < 0.5 ? leaf 1 : leaf 2
    // 2: f0 in {3, 7} (missing right) ? leaf 4 : 6
    // 6: f2 in {} (missing left) ? leaf 8 : leaf 16 -- nothing matches an empty set
    let a = set_tree(
        vec![1, 3, 5, -1, -1, -1, 7, -1, -1],
        vec![2, 4, 6, -1, -1, -1, 8, -1, -1],
        vec![0, 1, 0, 0, 0, 0, 2, 0, 0],
        vec![0.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        vec![true, false, false, false, false, false, true, false, false],
        vec![0.0, 0.0, 0.0, 1.0, 2.0, 4.0, 0.0, 8.0, 16.0],
        &[
            (0, CategorySet::from_codes([0, 2, 5, 40, 1000, 70000])),
            (2, CategorySet::from_codes([3, 7])),
            (6, CategorySet::default()),
        ],
    );
    // f2 in {0..=63} (missing right) ? 32 : (f2 in {64, 65, 200} (missing left) ? 64 : 128):
    // a set onnxruntime folds into a bitset, and one above its bitset's range.
    let b = set_tree(
        vec![1, -1, 3, -1, -1],
        vec![2, -1, 4, -1, -1],
        vec![2, 0, 2, 0, 0],
        vec![0.0; 5],
        vec![false, false, true, false, false],
        vec![0.0, 32.0, 0.0, 64.0, 128.0],
        &[
            (0, CategorySet::from_codes(0..64)),
            (2, CategorySet::from_codes([64, 65, 200])),
        ],
    );
    // A threshold-only tree alongside: f1 < 0.25 ? 256 : 512.
    let c = Tree {
        left: vec![1, -1, -1],
        right: vec![2, -1, -1],
        feature: vec![1, 0, 0],
        threshold: vec![0.25, 0.0, 0.0],
        default_left: vec![false, false, false],
        value: vec![0.0, 256.0, 512.0],
        gain: vec![1.0; 3],
        cover: vec![1.0; 3],
        categories: Default::default(),
    };
    let (trees, base) = match objective {
        // Scaled down so that the probabilities are not all 0 or 1.
        "binary:logistic" => (
            [a, b, c]
                .into_iter()
                .map(|mut t| {
                    for v in t.value.iter_mut().filter(|v| **v != 0.0) {
                        *v = (v.log2() - 4.0) / 4.0;
                    }
                    t
                })
                .collect(),
            vec![0.1],
        ),
        _ => (vec![a, b, c], vec![0.5]),
    };
    let params = common::sylvan_params(&[("objective", objective)]);
    Booster::from_parts(params, base, trees, 3, None).expect("a valid model")
}

/// Every combination of interesting values of the three features.
fn routing_rows() -> Table {
    let f0 = [
        f32::NAN,
        0.0,
        -0.0,
        2.0,
        2.5,
        f32::from_bits(2.0f32.to_bits() - 1), // just below 2
        3.0,
        5.0,
        7.0,
        40.0,
        41.0,
        1000.0,
        70000.0,
        65535.0,
        -1.0,
        -3.0,
        1e9,
        f32::MAX,
    ];
    let f1 = [f32::NAN, 0.0, 0.3, 1.0];
    let f2 = [f32::NAN, 0.0, 5.0, 5.5, 63.0, 64.0, 65.0, 66.0, 200.0, -1.0, 1e6];
    let mut columns = vec![Vec::new(), Vec::new(), Vec::new()];
    for a in f0 {
        for b in f1 {
            for c in f2 {
                columns[0].push(a);
                columns[1].push(b);
                columns[2].push(c);
            }
        }
    }
    let n = columns[0].len();
    Table::new(columns, vec![0.0; n])
}

#[test]
fn set_splits_route_every_value_like_sylvan() {
    let b = hand_made_model("reg:squarederror");
    let m = to_onnx_model(&b).unwrap();
    // 17 nodes of the three trees, plus (5 - 1) (70000 left out) + (2 - 1) + (64 - 1) + (3 - 1)
    // chain nodes; the empty set is one BRANCH_LT.
    let modes = modes(&m);
    assert_eq!(modes.len(), 17 + 4 + 1 + 63 + 2);
    assert_eq!(modes.iter().filter(|m| *m == "BRANCH_EQ").count(), 5 + 2 + 64 + 3);
    let values = &attribute(&m, "nodes_values").floats;
    assert!(!values.contains(&70000.0), "codes beyond MAX_CATEGORIES are left out");
    assert!(values.contains(&f32::NEG_INFINITY), "the empty set");
    // The original nodes keep their ids (leaves included) and come first, tree by tree.
    let ids = &attribute(&m, "nodes_nodeids").ints;
    assert_eq!(&ids[..9], &[0, 1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(&ids[9..14], &[9, 10, 11, 12, 13]);

    let rows = routing_rows();
    let sylvan = common::sylvan_predictions(&b, &rows.to_dataset());
    // A few rows by hand: f0 = 2.5 (no code) goes right, f0 = -0 is code 0, f0 NaN goes left.
    let at = |a: usize, b: usize, c: usize| sylvan[(a * 4 + b) * 11 + c];
    assert_eq!(at(4, 1, 0), 0.5 + 8.0 + 64.0 + 256.0, "2.5, 0, NaN");
    assert_eq!(at(2, 1, 1), 0.5 + 1.0 + 32.0 + 256.0, "-0, 0, 0");
    assert_eq!(at(0, 3, 5), 0.5 + 2.0 + 64.0 + 512.0, "NaN, 1, 64");
    assert_eq!(at(6, 0, 3), 0.5 + 4.0 + 128.0 + 512.0, "3, NaN, 5.5");
    for objective in ["reg:squarederror", "binary:logistic"] {
        check_with_runtime(
            &format!("routing-{}", objective.replace(':', "-")),
            &hand_made_model(objective),
            objective,
            &rows,
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Trained models

/// Held-out rows: every 10th entirely missing, every 7th one value missing, and in others unseen
/// codes (above each feature's cardinality) and values that are no category codes.
fn held_out(mut t: Table, cardinalities: &[u32]) -> Table {
    let m = t.num_features();
    for i in 0..t.num_rows() {
        for (j, c) in t.columns.iter_mut().enumerate() {
            if i % 10 == 0 || (i % 7 == 3 && j == i % m) {
                c[i] = f32::NAN;
            } else if let Some(&k) = cardinalities.get(j) {
                match (i + 3 * j) % 23 {
                    5 => c[i] = (k + (i as u32 % 40)) as f32, // unseen
                    11 => c[i] = [-1.0, 1.5, 1e7, -0.0][i % 4],
                    _ => {}
                }
            }
        }
    }
    t
}

const CARDINALITIES: [u32; 3] = [3, 50, 1500];

fn train_categorical(objective: &str, binary: bool, seed: u64) -> (Booster, Table) {
    let (mut table, cats) = common::categorical_mixed(6000, &CARDINALITIES, seed, binary);
    if objective == "multi:softprob" {
        table.labels = table
            .labels
            .iter()
            .map(|y| {
                if *y < -0.4 {
                    0.0
                } else if *y < 0.4 {
                    1.0
                } else {
                    2.0
                }
            })
            .collect();
    }
    let (train, test) = table.split_at(4000);
    let mut p = vec![
        ("objective", objective),
        ("num_round", "25"),
        ("max_depth", "6"),
        ("eta", "0.3"),
        ("nthread", "2"),
        ("min_data_per_group", "20"),
    ];
    if objective == "multi:softprob" {
        p.push(("num_class", "3"));
    }
    let booster = Booster::train(
        &common::sylvan_params(&p),
        &common::categorical_dataset(&train, &cats),
        &[],
    )
    .expect("Sylvan trains");
    (booster, held_out(test, &CARDINALITIES))
}

/// Size of the chains in `booster`'s export: prints the extra nodes and bytes, and what copying the
/// left subtree for every extra code (a tree instead of a DAG) would cost in nodes.
fn chain_cost(name: &str, booster: &Booster) -> usize {
    let trees = booster.trees();
    let tree_nodes: usize = trees.iter().map(Tree::num_nodes).sum();
    let set_nodes: usize = trees
        .iter()
        .map(|t| (0..t.num_nodes()).filter(|&i| t.category_set(i).is_some()).count())
        .sum();
    let largest = trees
        .iter()
        .flat_map(|t| t.categories.sets.iter().map(CategorySet::len))
        .max()
        .unwrap_or(0);
    let m = to_onnx_model(booster).unwrap();
    let written = attribute(&m, "nodes_modes").strings.len();
    let extra = written - tree_nodes;
    // The same trees with every set split turned into a threshold split (the export's size without
    // the chains).
    let plain: Vec<Tree> = trees
        .iter()
        .map(|t| Tree {
            categories: TreeCategories::default(),
            ..t.clone()
        })
        .collect();
    let plain = Booster::from_parts(
        booster.params().clone(),
        booster.base_margin().to_vec(),
        plain,
        booster.num_features(),
        None,
    )
    .unwrap();
    let (bytes, plain_bytes) = (to_onnx(booster).unwrap().len(), to_onnx(&plain).unwrap().len());
    // Copying instead of sharing: every extra code's test needs its own copy of the left subtree.
    fn copied(t: &Tree, i: usize) -> f64 {
        if t.is_leaf(i) {
            return 1.0;
        }
        let (l, r) = (copied(t, t.left[i] as usize), copied(t, t.right[i] as usize));
        match t.category_set(i) {
            Some(s) => s.len().max(1) as f64 * (1.0 + l) + r,
            None => 1.0 + l + r,
        }
    }
    let copies: f64 = trees.iter().map(|t| copied(t, 0)).sum();
    println!(
        "[{name}] {} trees, {tree_nodes} nodes, {set_nodes} set splits (largest set {largest} codes): \
         {extra} chain nodes, {bytes} bytes ({} more than without chains, {:.1} per chain node); \
         copying left subtrees instead would need {copies:.3e} nodes",
        trees.len(),
        bytes - plain_bytes,
        (bytes - plain_bytes) as f64 / extra.max(1) as f64,
    );
    extra
}

fn trained_case(name: &str, objective: &str, binary: bool, seed: u64) {
    let (booster, test) = train_categorical(objective, binary, seed);
    assert!(
        booster.trees().iter().any(Tree::has_category_splits),
        "{name}: the model has category-set splits"
    );
    let m = to_onnx_model(&booster).expect("ONNX export");
    assert!(m
        .opset_import
        .iter()
        .any(|o| o.domain == "ai.onnx.ml" && o.version == ML_OPSET));
    assert!(modes(&m).iter().any(|m| m == "BRANCH_EQ"));
    assert!(chain_cost(name, &booster) > 0);
    check_with_runtime(name, &booster, objective, &test);
}

#[test]
fn onnx_categorical_binary() {
    trained_case("binary", "binary:logistic", true, 171);
}

#[test]
fn onnx_categorical_regression() {
    trained_case("regression", "reg:squarederror", false, 172);
}

#[test]
fn onnx_categorical_multiclass_softprob() {
    trained_case("multiclass", "multi:softprob", false, 173);
}

#[test]
fn numerical_models_keep_threshold_nodes_only() {
    let (train, _) = common::binary_nonlinear(1500, 174).split_at(1000);
    let p = common::sylvan_params(&[("objective", "binary:logistic"), ("num_round", "5"), ("nthread", "2")]);
    let b = Booster::train(&p, &train.to_dataset(), &[]).unwrap();
    let m = to_onnx_model(&b).unwrap();
    let nodes: usize = b.trees().iter().map(Tree::num_nodes).sum();
    let modes = modes(&m);
    // (plus one single-leaf tree when every leaf weight is >= 0, see onnx.rs)
    assert!(
        modes.len() == nodes || modes.len() == nodes + 1,
        "{} modes, {nodes} nodes",
        modes.len()
    );
    assert!(modes.iter().all(|m| m == "BRANCH_LT" || m == "LEAF"), "{modes:?}");
}
