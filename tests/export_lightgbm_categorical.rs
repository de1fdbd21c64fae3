//! Categorical (category-set) splits in LightGBM's text model format (issue 17), checked by the
//! real LightGBM.
//!
//! - Export: Sylvan trains on mixed categorical and numeric data (cardinalities 4, 60 and 2000;
//!   binary and regression; depth-wise and loss-guided), writes LightGBM text, and LightGBM loads it
//!   and predicts held-out rows with missing values, categories never seen in training, codes
//!   beyond Sylvan's largest and negative codes; and the same rows as a pandas DataFrame of named
//!   categories, which LightGBM maps through the exported `pandas_categorical` line.
//! - Import: LightGBM trains natively with `categorical_feature` (one-hot splits with a large
//!   `max_cat_to_onehot`, and its partition search), saves, and Sylvan imports the model and predicts
//!   the same odd rows.
//! - Round trip: Sylvan -> LightGBM text -> Sylvan routes every row to the same leaves (no Python).
//!
//! Tolerance: `1e-5 * max(1, |a|, |b|)` (`common::assert_close`). The libraries run through
//! `tests/python/lightgbm_categorical.py` with the Python that `common::reference()` finds; without
//! LightGBM the library checks print "skipping" and pass unless `SYLVAN_REQUIRE_REFERENCE=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{ScratchDir, Table};
use sylvan::io::export::{from_lightgbm_text, to_lightgbm_text};
use sylvan::io::{CategoryMap, CATEGORIES_ATTRIBUTE};
use sylvan::{Booster, FeatureType};

const CARDINALITIES: [u32; 3] = [4, 60, 2000];

/// Held-out rows made harder: every 10th row has all its categorical values missing; in other rows
/// one categorical value becomes a code never seen in training (the cardinality or above), a code
/// past Sylvan's largest (70 000), or a negative code.
fn odd_rows(mut t: Table, cardinalities: &[u32]) -> Table {
    let nc = cardinalities.len();
    for i in 0..t.num_rows() {
        let j = i % nc;
        let k = cardinalities[j] as f32;
        let value = match i % 10 {
            0 => {
                for c in &mut t.columns[..nc] {
                    c[i] = f32::NAN;
                }
                continue;
            }
            3 => k + (i % 3) as f32 * 1000.0,
            5 if i % 20 == 5 => 70_000.0,
            7 => -1.0 - (i % 2) as f32 * 2.0,
            _ => continue,
        };
        t.columns[j][i] = value;
    }
    t
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// Runs the jobs (see `lightgbm_categorical.py`) in one Python process; the predictions of each.
fn run_jobs(python: &Path, dir: &Path, jobs: Vec<serde_json::Value>) -> Vec<Vec<f64>> {
    let (jobs_file, out) = (dir.join("jobs.json"), dir.join("results.json"));
    std::fs::write(&jobs_file, serde_json::Value::Array(jobs).to_string()).unwrap();
    let script = common::repo_root().join("tests/python/lightgbm_categorical.py");
    let o = Command::new(python)
        .arg(script)
        .arg(&jobs_file)
        .arg(&out)
        .output()
        .expect("run lightgbm_categorical.py");
    assert!(
        o.status.success(),
        "lightgbm_categorical.py failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    v.as_array()
        .expect("a list of results")
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

/// The Python with LightGBM, or `None` (skip; a panic under `SYLVAN_REQUIRE_REFERENCE=1`).
fn lightgbm_python(what: &str) -> Option<PathBuf> {
    common::require_lightgbm(what).map(|r| r.python)
}

/// Feature names of the generated tables.
fn feature_names(nc: usize, m: usize) -> Vec<String> {
    (0..m)
        .map(|j| {
            if j < nc {
                format!("cat{j}")
            } else {
                format!("num{}", j - nc)
            }
        })
        .collect()
}

/// The names given to code `c` of categorical feature `j`.
fn category_name(j: usize, c: u32) -> String {
    format!("f{j} value {c}")
}

/// Trains Sylvan on `categorical_mixed` data with feature and category names.
fn train_sylvan(seed: u64, binary: bool, extra: &[(&str, &str)]) -> (Booster, Table) {
    let (table, cats) = common::categorical_mixed(6000, &CARDINALITIES, seed, binary);
    let (train, test) = table.split_at(5000);
    let objective = if binary { "binary:logistic" } else { "reg:squarederror" };
    let mut params = vec![
        ("objective", objective),
        ("eta", "0.1"),
        ("num_round", "40"),
        ("max_depth", "6"),
        ("min_data_per_group", "20"),
        ("nthread", "2"),
    ];
    params.extend_from_slice(extra);
    let names = feature_names(cats.len(), train.num_features());
    let data = common::categorical_dataset(&train, &cats)
        .with_feature_names(names)
        .unwrap();
    let mut booster = Booster::train(&common::sylvan_params(&params), &data, &[]).expect("Sylvan trains");
    let mut map = CategoryMap::new();
    for (j, &k) in CARDINALITIES.iter().enumerate() {
        map.insert(format!("cat{j}"), (0..k).map(|c| category_name(j, c)).collect());
    }
    booster.set_attribute(CATEGORIES_ATTRIBUTE, map.to_json());
    (booster, test)
}

/// Number of category-set nodes of the model, and how many of them send missing values left.
fn set_nodes(b: &Booster) -> (usize, usize) {
    let (mut all, mut left) = (0, 0);
    for t in b.trees() {
        for i in (0..t.num_nodes()).filter(|&i| t.category_set(i).is_some()) {
            all += 1;
            left += t.default_left[i] as usize;
        }
    }
    (all, left)
}

/// Sum over trees of a `key=` count of the LightGBM text.
fn text_total(text: &str, key: &str) -> usize {
    text.lines()
        .filter_map(|l| l.strip_prefix(key))
        .map(|v| v.parse::<usize>().unwrap())
        .sum()
}

// ------------------------------------------------------------------------------------------------
// Export: Sylvan -> LightGBM

fn export_case(name: &str, seed: u64, binary: bool, extra: &[(&str, &str)]) {
    let (booster, test) = train_sylvan(seed, binary, extra);
    let (sets, default_left) = set_nodes(&booster);
    assert!(
        default_left > 0 && default_left < sets,
        "{name}: {sets} set nodes, {default_left} of them default-left: both kinds should occur"
    );
    let text = to_lightgbm_text(&booster).unwrap();
    assert!(
        text.contains("threshold=inf") || text.contains(" inf "),
        "{name}: no NaN test"
    );
    assert!(text.contains("\npandas_categorical:[[\"f0 value 0\""), "{name}");
    let leaves = text_total(&text, "num_leaves=");
    let sylvan_leaves: usize = booster.trees().iter().map(|t| t.num_leaves()).sum();
    println!(
        "[{name}] {sets} set nodes ({default_left} default-left); {sylvan_leaves} Sylvan leaves -> {leaves} \
         LightGBM leaves, {} categorical splits, {} bytes",
        text_total(&text, "num_cat="),
        text.len()
    );

    let test = odd_rows(test, &CARDINALITIES);
    let expected = common::sylvan_predictions(&booster, &test.to_dataset());

    // The round trip (no Python) predicts the same; fully checked in `round_trip_*`.
    let back = from_lightgbm_text(&text).unwrap();
    common::assert_close(
        &format!("{name}: Sylvan -> LightGBM text -> Sylvan"),
        &common::sylvan_predictions(&back, &test.to_dataset()),
        &expected.iter().map(|v| *v as f64).collect::<Vec<_>>(),
        1,
        "Sylvan",
    );

    let Some(python) = lightgbm_python(&format!("the LightGBM part of {name}")) else {
        return;
    };
    let dir = ScratchDir::new(&format!("lgb-cat-export-{name}"));
    let (model, x) = (dir.path().join("model.txt"), dir.path().join("X.npy"));
    std::fs::write(&model, &text).unwrap();
    common::write_npy_columns(&x, &test.columns).unwrap();
    // The pandas rows: every odd code becomes a name the model never saw (-1 for the script),
    // which LightGBM's pandas path and Sylvan's command line both read as missing.
    let nc = CARDINALITIES.len();
    let odd = |j: usize, v: f32| v < 0.0 || v >= CARDINALITIES[j] as f32;
    let (mut for_python, mut for_sylvan) = (test.clone(), test.clone());
    for j in 0..nc {
        for i in 0..test.num_rows() {
            if odd(j, test.columns[j][i]) {
                for_python.columns[j][i] = -1.0;
                for_sylvan.columns[j][i] = f32::NAN;
            }
        }
    }
    let x_named = dir.path().join("X_named.npy");
    common::write_npy_columns(&x_named, &for_python.columns).unwrap();
    let names: serde_json::Map<String, serde_json::Value> = (0..nc)
        .map(|j| {
            let list: Vec<String> = (0..CARDINALITIES[j]).map(|c| category_name(j, c)).collect();
            (j.to_string(), serde_json::json!(list))
        })
        .collect();
    let results = run_jobs(
        &python,
        dir.path(),
        vec![
            serde_json::json!({"job": "predict", "model": path_str(&model), "x": path_str(&x)}),
            serde_json::json!({
                "job": "predict_pandas", "model": path_str(&model), "x": path_str(&x_named),
                "names": names,
            }),
        ],
    );
    common::assert_close(
        &format!("{name}: LightGBM on Sylvan's export"),
        &expected,
        &results[0],
        1,
        "LightGBM",
    );
    let expected_named = common::sylvan_predictions(&booster, &for_sylvan.to_dataset());
    common::assert_close(
        &format!("{name}: LightGBM on named pandas categories"),
        &expected_named,
        &results[1],
        1,
        "LightGBM (pandas)",
    );
}

#[test]
fn export_binary_depthwise() {
    export_case("binary", 71, true, &[]);
}

#[test]
fn export_regression_lossguide() {
    export_case(
        "regression-lossguide",
        72,
        false,
        &[("grow_policy", "lossguide"), ("max_depth", "0"), ("max_leaves", "48")],
    );
}

#[test]
fn export_regression_one_hot() {
    // Every feature below 64 categories split one category against the rest.
    export_case("regression-onehot", 73, false, &[("max_cat_to_onehot", "64")]);
}

// ------------------------------------------------------------------------------------------------
// Import: LightGBM -> Sylvan

fn import_case(name: &str, seed: u64, binary: bool, cardinalities: &[u32], params: serde_json::Value) {
    let Some(python) = lightgbm_python(name) else {
        return;
    };
    let (table, cats) = common::categorical_mixed(6000, cardinalities, seed, binary);
    let (train, test) = table.split_at(5000);
    let test = odd_rows(test, cardinalities);
    let dir = ScratchDir::new(&format!("lgb-cat-import-{name}"));
    let (x, y, xp, model) = (
        dir.path().join("X.npy"),
        dir.path().join("y.npy"),
        dir.path().join("X_pred.npy"),
        dir.path().join("model.txt"),
    );
    common::write_npy_columns(&x, &train.columns).unwrap();
    common::write_npy_f32(&y, &[train.num_rows()], &train.labels).unwrap();
    common::write_npy_columns(&xp, &test.columns).unwrap();
    let mut params = params;
    params["objective"] = serde_json::json!(if binary { "binary" } else { "regression" });
    let expected = run_jobs(
        &python,
        dir.path(),
        vec![serde_json::json!({
            "job": "train", "x": path_str(&x), "y": path_str(&y), "params": params,
            "categorical": cats, "rounds": 40, "model_out": path_str(&model), "x_pred": path_str(&xp),
        })],
    )
    .swap_remove(0);
    let text = std::fs::read_to_string(&model).unwrap();
    let booster = from_lightgbm_text(&text).unwrap_or_else(|e| panic!("{name}: import fails: {e}"));
    let (sets, default_left) = set_nodes(&booster);
    assert!(
        sets > 0 && default_left == 0,
        "{name}: {sets} set nodes, {default_left} default-left"
    );
    let types = booster.feature_types();
    for (j, ty) in types.iter().enumerate() {
        let want = if cats.contains(&j) {
            FeatureType::Categorical
        } else {
            FeatureType::Numerical
        };
        assert_eq!(*ty, want, "{name}: feature {j}");
    }
    println!(
        "[{name}] LightGBM: {} categorical splits in {} trees",
        text_total(&text, "num_cat="),
        booster.num_trees()
    );
    let got = common::sylvan_predictions(&booster, &test.to_dataset());
    common::assert_close(
        &format!("{name}: Sylvan on LightGBM's model"),
        &got,
        &expected,
        1,
        "LightGBM",
    );
    // Sylvan can save the imported model and read it back.
    let json = booster.to_json_string().unwrap();
    let again = Booster::from_json_str(&json).unwrap();
    assert_eq!(
        common::sylvan_predictions(&again, &test.to_dataset()),
        got,
        "{name}: saved"
    );

    // And train it further on the same categorical features (their types came with the import).
    let data = common::categorical_dataset(&train, &cats);
    let mut p = booster.params().clone();
    p.set("num_round", "5").unwrap();
    p.set("nthread", "2").unwrap();
    let options = sylvan::booster::TrainOptions {
        init_model: Some(&booster),
        ..Default::default()
    };
    let more = Booster::train_with(&p, &data, &[], options).unwrap();
    assert!(
        more.trees()[..booster.num_trees()] == *booster.trees(),
        "{name}: imported trees kept"
    );
    let metric = if binary { "logloss" } else { "rmse" };
    let loss = |b: &Booster| b.evaluate(&data, &[metric.parse().unwrap()]).unwrap()[0].1;
    let (before, after) = (loss(&booster), loss(&more));
    println!("[{name}] training {metric} {before:.4} -> {after:.4} after 5 more Sylvan rounds");
    assert!(after < before, "{name}: {before} -> {after}");
}

#[test]
fn import_lightgbm_one_hot_binary() {
    // max_cat_to_onehot above every cardinality: LightGBM splits one category against the rest.
    import_case(
        "onehot-binary",
        81,
        true,
        &[4, 60],
        serde_json::json!({"max_cat_to_onehot": 100, "num_leaves": 15, "learning_rate": 0.1,
                           "min_data_per_group": 20}),
    );
}

#[test]
fn import_lightgbm_partition_regression() {
    import_case(
        "partition-regression",
        82,
        false,
        &CARDINALITIES,
        serde_json::json!({"num_leaves": 31, "learning_rate": 0.1, "min_data_per_group": 20,
                           "cat_smooth": 5, "max_cat_threshold": 64}),
    );
}

// ------------------------------------------------------------------------------------------------
// Round trip: Sylvan -> LightGBM text -> Sylvan

#[test]
fn round_trip_routes_every_row_to_the_same_leaf() {
    for (seed, binary, extra) in [
        (91, true, vec![]),
        (
            92,
            false,
            vec![("grow_policy", "lossguide"), ("max_depth", "0"), ("max_leaves", "40")],
        ),
    ] {
        let (booster, test) = train_sylvan(seed, binary, &extra);
        let test = odd_rows(test, &CARDINALITIES);
        let back = from_lightgbm_text(&to_lightgbm_text(&booster).unwrap()).unwrap();
        assert_eq!(back.num_trees(), booster.num_trees());
        assert_eq!(
            back.feature_types(),
            booster.feature_types(),
            "categorical features come back"
        );
        let map = |b: &Booster| CategoryMap::from_json(&b.attributes()[CATEGORIES_ATTRIBUTE]).unwrap();
        assert_eq!(map(&back), map(&booster), "category names come back");
        // Tree by tree: the same leaf value for every row (the first tree's leaves are shifted by
        // the base margin, which the import moves back out).
        let shift = back.base_margin()[0] - booster.base_margin()[0];
        for (k, (a, b)) in booster.trees().iter().zip(back.trees()).enumerate() {
            for i in 0..test.num_rows() {
                let row: Vec<f32> = test.columns.iter().map(|c| c[i]).collect();
                let (va, vb) = (a.predict_row(&row) as f64, b.predict_row(&row) as f64);
                if k == 0 {
                    assert!((va - (vb + shift)).abs() <= 1e-6 * va.abs().max(1.0), "tree 0, row {i}");
                } else {
                    assert_eq!(va, vb, "seed {seed}: tree {k}, row {i} ({row:?})");
                }
            }
        }
    }
}
