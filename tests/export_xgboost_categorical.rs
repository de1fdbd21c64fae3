//! XGBoost JSON export and import of categorical (category-set) splits, checked by XGBoost itself.
//!
//! - Export: Sylvan trains on mixed categorical/numeric data (cardinalities 4, 60 and 2000; binary
//!   and regression), writes XGBoost JSON, and XGBoost loads the file and predicts held-out rows —
//!   rows with missing categories, rows with category codes never seen in training (past every
//!   code of the column, and far past it), rows entirely missing — from a NumPy matrix of codes whose
//!   `feature_types` mark the categorical columns. A model that carries category names is also
//!   predicted from a pandas DataFrame of names whose category order differs from the model's, so
//!   that XGBoost must re-encode them through the exported `cats` entry.
//! - Import: XGBoost trains natively on the same kind of data (a pandas DataFrame with category
//!   columns, `tree_method=hist`) with `max_cat_to_onehot` small (partition splits only), medium
//!   (one-hot splits for the small columns, partitions for the large one) and large (one-hot only),
//!   and Sylvan imports the file and predicts what XGBoost predicts.
//! - Round trip: Sylvan -> XGBoost JSON -> Sylvan gives back the same trees and predictions bit for
//!   bit, and the same JSON when written again (runs without Python).
//!
//! Tolerance as in tests/export.rs: `1e-5 * max(1, |a|, |b|)`.
//!
//! XGBoost runs through `tests/python/xgboost_categorical.py` with the Python that
//! `common::reference()` finds; without it the XGBoost checks print "skipping" and pass unless
//! `SYLVAN_REQUIRE_REFERENCE=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ScratchDir, Table};
use serde_json::{json, Value};
use sylvan::booster::{Tree, TreeCategories};
use sylvan::io::export::{from_xgboost_json, to_xgboost_json};
use sylvan::io::{export_model, import_model, ModelFormat, CATEGORIES_ATTRIBUTE};
use sylvan::{Booster, CategoryMap, Dataset, FeatureType};

/// Cardinalities of the categorical columns: one-hot sized, medium, and high.
const CARDINALITIES: [u32; 3] = [4, 60, 2000];
/// Names of the generated columns (3 categorical, then 3 numeric).
const NAMES: [&str; 6] = ["city", "shop", "item", "x0", "x1", "x2"];

fn script() -> PathBuf {
    common::repo_root().join("tests/python/xgboost_categorical.py")
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Runs the jobs through `xgboost_categorical.py` (one Python start) and returns each job's
/// predictions.
fn run_jobs(python: &Path, dir: &Path, jobs: &[Value]) -> Vec<Vec<f64>> {
    let (jobs_file, out) = (dir.join("jobs.json"), dir.join("out.json"));
    std::fs::write(&jobs_file, Value::Array(jobs.to_vec()).to_string()).unwrap();
    let o = Command::new(python)
        .arg(script())
        .args(["--jobs", path_str(&jobs_file), "--out", path_str(&out)])
        .output()
        .expect("run xgboost_categorical.py");
    assert!(
        o.status.success(),
        "xgboost_categorical.py failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    v["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            r["predictions"]
                .as_array()
                .expect("predictions")
                .iter()
                .map(|x| x.as_f64().expect("number"))
                .collect()
        })
        .collect()
}

/// Held-out rows made harder: every 10th row entirely missing, every 7th row one categorical
/// value missing, every 11th row a code one past the column's largest, every 13th row a code far
/// past every code (still a valid code). With `unseen = false` only the missing values are added
/// (pandas input cannot hold categories the model does not know).
fn held_out(mut t: Table, unseen: bool) -> Table {
    let nc = CARDINALITIES.len();
    for i in 0..t.num_rows() {
        for (j, c) in t.columns.iter_mut().enumerate() {
            if i % 10 == 0 || (i % 7 == 3 && j == i % nc) {
                c[i] = f32::NAN;
            } else if unseen && j < nc && i % 11 == 5 {
                c[i] = CARDINALITIES[j] as f32;
            } else if unseen && j < nc && i % 13 == 6 {
                c[i] = (40_000 + 7 * j) as f32;
            }
        }
    }
    t
}

fn categorical_indices() -> Vec<usize> {
    (0..CARDINALITIES.len()).collect()
}

/// The table as a Sylvan data set with the generated columns' names and categorical columns.
fn dataset(t: &Table) -> Dataset {
    common::categorical_dataset(t, &categorical_indices())
        .with_feature_names(NAMES.iter().map(|s| s.to_string()).collect())
        .unwrap()
}

/// Sylvan's parameters for the categorical models.
fn params(objective: &str, extra: &[(&'static str, &'static str)]) -> sylvan::Params {
    let mut p = vec![
        ("objective", objective),
        ("num_round", "30"),
        ("nthread", "2"),
        ("max_depth", "6"),
        ("eta", "0.3"),
        ("tree_method", "hist"),
        ("min_data_per_group", "20"),
        ("max_cat_to_onehot", "8"),
    ];
    p.extend_from_slice(extra);
    common::sylvan_params(&p)
}

/// The category names a string-reading Sylvan would store: code `c` of column `j` is `"<j>-<c>"`,
/// listed in code order (so not sorted: "0-10" comes after "0-9").
fn category_names() -> CategoryMap {
    let mut map = CategoryMap::new();
    for (j, &k) in CARDINALITIES.iter().enumerate() {
        map.insert(NAMES[j], (0..k).map(|c| format!("{j}-{c}")).collect());
    }
    map
}

/// Counts the category-set nodes of the booster's trees: (one-category sets, larger sets).
fn set_nodes(b: &Booster) -> (usize, usize) {
    let mut counts = (0, 0);
    for t in b.trees() {
        for i in 0..t.num_nodes() {
            match t.category_set(i).map(|s| s.len()) {
                Some(1) => counts.0 += 1,
                Some(_) => counts.1 += 1,
                None => {}
            }
        }
    }
    counts
}

/// Asserts that two lists of trees have the same nodes, node for node, with the same category set
/// at every node (the order of a tree's table of distinct sets may differ: the import lists them
/// in node order, training in the order it found them).
fn assert_same_trees(name: &str, a: &[Tree], b: &[Tree]) {
    assert_eq!(a.len(), b.len(), "{name}: number of trees");
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        let strip = |t: &Tree| sylvan::booster::Tree {
            categories: Default::default(),
            ..t.clone()
        };
        assert!(strip(x) == strip(y), "{name}: tree {k} differs");
        for i in 0..x.num_nodes() {
            assert_eq!(x.category_set(i), y.category_set(i), "{name}: tree {k} node {i}");
        }
    }
}

/// The round trip without XGBoost: the same trees, predictions and JSON.
fn assert_round_trip(name: &str, booster: &Booster, test: &Dataset) {
    let json = to_xgboost_json(booster).unwrap();
    let back = from_xgboost_json(&json).unwrap();
    assert_same_trees(name, back.trees(), booster.trees());
    assert_eq!(back.feature_types(), booster.feature_types(), "{name}: feature types");
    assert_eq!(
        back.attributes().get(CATEGORIES_ATTRIBUTE),
        booster.attributes().get(CATEGORIES_ATTRIBUTE),
        "{name}: category names"
    );
    assert_eq!(
        common::sylvan_predictions(&back, test),
        common::sylvan_predictions(booster, test),
        "{name}: predictions after the round trip"
    );
    assert_eq!(to_xgboost_json(&back).unwrap(), json, "{name}: JSON written again");
}

/// The tree with its nodes renumbered depth-first (a left child right after its parent), as an
/// import from LightGBM leaves it: siblings are no longer adjacent, which XGBoost's predictor needs
/// below the levels it unrolls, so the export must renumber it.
fn depth_first(t: &Tree) -> Tree {
    let mut order = Vec::with_capacity(t.num_nodes());
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        order.push(i);
        if !t.is_leaf(i) {
            stack.push(t.right[i] as usize);
            stack.push(t.left[i] as usize);
        }
    }
    let mut new_id = vec![0; t.num_nodes()];
    for (k, &o) in order.iter().enumerate() {
        new_id[o] = k;
    }
    let child = |c: i32| if c < 0 { -1 } else { new_id[c as usize] as i32 };
    let pick = |v: &[f32]| order.iter().map(|&o| v[o]).collect::<Vec<_>>();
    Tree {
        left: order.iter().map(|&o| child(t.left[o])).collect(),
        right: order.iter().map(|&o| child(t.right[o])).collect(),
        feature: order.iter().map(|&o| t.feature[o]).collect(),
        threshold: pick(&t.threshold),
        default_left: order.iter().map(|&o| t.default_left[o]).collect(),
        value: pick(&t.value),
        gain: pick(&t.gain),
        cover: pick(&t.cover),
        categories: TreeCategories {
            node_set: if t.categories.is_empty() {
                Vec::new()
            } else {
                order.iter().map(|&o| t.categories.node_set[o]).collect()
            },
            sets: t.categories.sets.clone(),
        },
    }
}

/// The same model with every tree numbered depth-first.
fn renumbered(b: &Booster) -> Booster {
    let trees = b.trees().iter().map(depth_first).collect();
    let names = b.feature_names().map(<[String]>::to_vec);
    Booster::from_parts(
        b.params().clone(),
        b.base_margin().to_vec(),
        trees,
        b.num_features(),
        names,
    )
    .unwrap()
}

// ------------------------------------------------------------------------------------------------
// Export: Sylvan -> XGBoost

/// Trains Sylvan on categorical data, checks the round trip, and has XGBoost predict the export
/// from codes (with unseen codes) and, when `names`, from a pandas frame of category names.
fn export_case(name: &str, binary: bool, seed: u64, extra: &[(&'static str, &'static str)], names: bool) {
    let (table, _) = common::categorical_mixed(8000, &CARDINALITIES, seed, binary);
    let (train, test) = table.split_at(6000);
    let objective = if binary { "binary:logistic" } else { "reg:squarederror" };
    let mut booster = Booster::train(&params(objective, extra), &dataset(&train), &[]).expect("Sylvan trains");
    if names {
        booster.set_attribute(CATEGORIES_ATTRIBUTE, category_names().to_json());
    }
    let (onehot, partition) = set_nodes(&booster);
    println!("[{name}] Sylvan's trees: {onehot} one-category sets, {partition} larger sets");
    assert!(onehot > 0 && partition > 0, "{name}: both kinds of set split expected");

    let codes = held_out(test.clone(), true);
    let expected = common::sylvan_predictions(&booster, &dataset(&codes));
    assert_round_trip(name, &booster, &dataset(&codes));

    let Some(python) = common::reference().map(|r| r.python) else {
        return;
    };
    let dir = ScratchDir::new(&format!("xgb-cat-export-{name}"));
    let model = dir.path().join("model.json");
    export_model(&booster, ModelFormat::XgboostJson, &model).expect("export XGBoost JSON");
    let x = dir.path().join("X_codes.npy");
    common::write_npy_columns(&x, &codes.columns).unwrap();
    let mut jobs = vec![json!({"kind": "predict", "model": model, "x": x, "categorical": categorical_indices()})];
    let named = held_out(test, false);
    let named_expected = common::sylvan_predictions(&booster, &dataset(&named));
    if names {
        let x = dir.path().join("X_named.npy");
        common::write_npy_columns(&x, &named.columns).unwrap();
        jobs.push(
            json!({"kind": "predict", "model": model, "x": x, "categorical": categorical_indices(), "pandas": true}),
        );
    } else {
        // The same model numbered depth-first: the export renumbers it breadth-first.
        let other = renumbered(&booster);
        assert_eq!(
            common::sylvan_predictions(&other, &dataset(&codes)),
            expected,
            "{name}: renumbered"
        );
        let model = dir.path().join("depth-first.json");
        export_model(&other, ModelFormat::XgboostJson, &model).unwrap();
        jobs.push(json!({"kind": "predict", "model": model, "x": x, "categorical": categorical_indices()}));
    }
    let got = run_jobs(&python, dir.path(), &jobs);
    common::assert_close(
        &format!("{name}: XGBoost on Sylvan's export (codes, unseen codes, missing)"),
        &expected,
        &got[0],
        1,
        "XGBoost",
    );
    if names {
        common::assert_close(
            &format!("{name}: XGBoost on Sylvan's export (pandas names, re-encoded)"),
            &named_expected,
            &got[1],
            1,
            "XGBoost",
        );
    } else {
        common::assert_close(
            &format!("{name}: XGBoost on the export of the depth-first numbered model"),
            &expected,
            &got[1],
            1,
            "XGBoost",
        );
    }
}

#[test]
fn export_binary_with_category_names() {
    export_case("binary", true, 31, &[], true);
}

#[test]
fn export_regression_lossguide_codes_only() {
    let lossguide = [("grow_policy", "lossguide"), ("max_leaves", "31"), ("max_depth", "0")];
    export_case("regression", false, 32, &lossguide, false);
}

#[test]
fn round_trip_multiclass_without_python() {
    let (mut table, cats) = common::categorical_mixed(3000, &CARDINALITIES, 33, false);
    for y in table.labels.iter_mut() {
        *y = if *y < -0.5 {
            0.0
        } else if *y < 0.5 {
            1.0
        } else {
            2.0
        };
    }
    let (train, test) = table.split_at(2000);
    let p = params("multi:softprob", &[("num_class", "3"), ("num_round", "10")]);
    let mut booster = Booster::train(&p, &dataset(&train), &[]).unwrap();
    booster.set_attribute(CATEGORIES_ATTRIBUTE, category_names().to_json());
    assert!(booster.has_categorical());
    assert_round_trip("multiclass", &booster, &dataset(&held_out(test.clone(), true)));
    // Without feature names: the trees and types travel, no names.
    let plain = Booster::train(&p, &common::categorical_dataset(&train, &cats), &[]).unwrap();
    assert_round_trip("multiclass-unnamed", &plain, &common::categorical_dataset(&test, &cats));
}

// ------------------------------------------------------------------------------------------------
// Import: XGBoost -> Sylvan

/// Trains XGBoost natively for each `(objective, max_cat_to_onehot, names)` case, imports its
/// models, and compares Sylvan's predictions with XGBoost's.
#[test]
fn import_xgboost_onehot_and_partition_splits() {
    let Some(python) = common::reference().map(|r| r.python) else {
        return;
    };
    let dir = ScratchDir::new("xgb-cat-import");
    let cases = [
        ("partition", true, 1, "codes"),
        ("mixed", false, 64, "strings"),
        ("onehot", true, 4096, "strings"),
    ];
    let mut jobs = Vec::new();
    let mut tests = Vec::new();
    for (k, (name, binary, onehot, names)) in cases.iter().enumerate() {
        let (table, _) = common::categorical_mixed(5000, &CARDINALITIES, 40 + k as u64, *binary);
        let (train, test) = table.split_at(4000);
        let test = held_out(test, true);
        let files = ["X.npy", "y.npy", "X_pred.npy", "model.json"].map(|f| dir.path().join(format!("{name}-{f}")));
        common::write_npy_columns(&files[0], &train.columns).unwrap();
        common::write_npy_f32(&files[1], &[train.num_rows()], &train.labels).unwrap();
        common::write_npy_columns(&files[2], &test.columns).unwrap();
        let objective = if *binary { "binary:logistic" } else { "reg:squarederror" };
        jobs.push(json!({
            "kind": "train", "x": files[0], "y": files[1], "x_pred": files[2], "model_out": files[3],
            "categorical": categorical_indices(), "names": names, "rounds": 20,
            "params": {"objective": objective, "tree_method": "hist", "max_depth": 6, "eta": 0.3,
                       "max_cat_to_onehot": onehot, "nthread": 2, "seed": 0},
        }));
        tests.push(test);
    }
    let got = run_jobs(&python, dir.path(), &jobs);
    for (((name, _, _, names), test), xgb) in cases.iter().zip(&tests).zip(&got) {
        let model = dir.path().join(format!("{name}-model.json"));
        let booster = import_model(&model, ModelFormat::XgboostJson).expect("Sylvan imports XGBoost's model");
        let types = booster.feature_types();
        assert!(types[..3].iter().all(|t| t.is_categorical()), "{name}: {types:?}");
        assert!(
            types[3..].iter().all(|t| *t == FeatureType::Numerical),
            "{name}: {types:?}"
        );
        let (onehot, partition) = set_nodes(&booster);
        println!("[{name}] XGBoost's trees: {onehot} one-category sets, {partition} larger sets");
        match *name {
            "partition" => assert!(partition > 0, "{name}: partition splits expected"),
            "onehot" => assert!(onehot > 0 && partition == 0, "{name}: one-hot splits only expected"),
            _ => assert!(onehot > 0 && partition > 0, "{name}: both kinds expected"),
        }
        let stored = booster.attributes().get(CATEGORIES_ATTRIBUTE);
        if *names == "strings" {
            let map = CategoryMap::from_json(stored.expect("category names imported")).unwrap();
            let city = map.get("f0").expect("names of f0");
            assert_eq!(city[..3], ["v0", "v1", "v2"]);
        } else {
            assert!(stored.is_none(), "{name}: numeric categories store no names");
        }
        let data = common::categorical_dataset(test, &categorical_indices());
        let mine = common::sylvan_predictions(&booster, &data);
        common::assert_close(&format!("{name}: Sylvan on XGBoost's model"), &mine, xgb, 1, "XGBoost");
        // And the imported model goes back out to the same predictions.
        let again = from_xgboost_json(&to_xgboost_json(&booster).unwrap()).unwrap();
        assert_eq!(common::sylvan_predictions(&again, &data), mine, "{name}: re-export");
    }
}
