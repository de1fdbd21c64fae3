//! What must hold for any input to each of Sylvan's input surfaces: the one check per fuzz target,
//! shared by the cargo-fuzz targets in `fuzz/` (which include this file with `#[path]`) and by the
//! stable replay test `tests/fuzz_corpus.rs`. A check panics when the property fails; a `Result`
//! error from the code under test is an accepted outcome, a panic inside it is not.

#![allow(dead_code)]

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use sylvan_booster::{Booster, Column, Dataset, PredictOptions};
use sylvan_io::{ColumnKind, ColumnSelection, ReadOptions};

/// The CLI's own `--config`/`--set` parsing (src/cli/params.rs), compiled in here so the config
/// target exercises exactly what `sylvan train` runs.
#[path = "../../src/cli/params.rs"]
mod cli_params;

/// A target's check: panics when a property fails for the input.
pub type Check = fn(&[u8]);

/// Every fuzz target by name, with its check. The names are the directories of `fuzz/corpus/` and
/// `fuzz/regressions/`.
pub const TARGETS: &[(&str, Check)] = &[
    ("parquet", parquet),
    ("arrow_ipc", arrow_ipc),
    ("csv", csv),
    ("libsvm", libsvm),
    ("model_json", model_json),
    ("model_binary", model_binary),
    ("xgboost_json", xgboost_json),
    ("lightgbm_text", lightgbm_text),
    ("config", config),
    ("capi_params", capi_params),
];

/// The check of the target named `name`, if there is one.
pub fn check_for(name: &str) -> Option<Check> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The fuzz targets' setup for code that catches panics of third-party decoders (sylvan-io's
/// Parquet and Arrow readers): libfuzzer-sys's hook aborts on every panic, caught or not; the
/// default hook only prints, and libfuzzer-sys still aborts on a panic that reaches it.
pub fn allow_caught_panics() {
    drop(std::panic::take_hook());
}

/// Largest number of features a loaded model may claim for the prediction checks to run (a model
/// file may legitimately claim more; the checks then only test the round trips).
const MAX_PREDICT_FEATURES: usize = 4096;

thread_local! {
    /// This thread's scratch file for the readers, which take paths: (directory, counter).
    static SCRATCH: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
}

/// Writes `data` to this thread's scratch file with extension `ext` and returns its path.
fn scratch_file(data: &[u8], ext: &str) -> PathBuf {
    let dir = SCRATCH.with(|s| {
        s.borrow_mut()
            .get_or_insert_with(|| {
                let dir = std::env::temp_dir().join(format!(
                    "sylvan-fuzz-{}-{:?}",
                    std::process::id(),
                    std::thread::current().id()
                ));
                std::fs::create_dir_all(&dir).expect("cannot create the scratch directory");
                dir
            })
            .clone()
    });
    let path = dir.join(format!("input.{ext}"));
    std::fs::write(&path, data).expect("cannot write the scratch file");
    path
}

/// A table read from any format: consistent shape, or an error.
fn table_file(data: &[u8], ext: &str) {
    let path = scratch_file(data, ext);
    check_table(&path);
    check_training(&path);
}

/// `read_table`: as many names as columns and kinds, every column `num_rows` long (sparse: sorted,
/// in-range row ids, no `NaN`), categorical codes within their category list.
fn check_table(path: &Path) {
    let Ok(table) = sylvan_io::read_table(path, &ReadOptions::default()) else {
        return;
    };
    assert_eq!(table.names.len(), table.columns.len(), "names vs columns");
    assert_eq!(table.kinds.len(), table.columns.len(), "kinds vs columns");
    let file_columns: std::collections::HashSet<&String> = table.file_columns.iter().collect();
    for name in &table.names {
        assert!(
            file_columns.contains(name),
            "column `{name}` read but not in the file's list"
        );
    }
    for ((name, column), kind) in table.names.iter().zip(&table.columns).zip(&table.kinds) {
        match column {
            Column::Dense(values) => {
                assert_eq!(values.len(), table.num_rows, "length of column `{name}`");
                if *kind == ColumnKind::Categorical {
                    let n = table.categories.get(name).map_or(0, |c| c.len());
                    for v in values.iter().filter(|v| !v.is_nan()) {
                        assert!(
                            *v >= 0.0 && v.fract() == 0.0 && (*v as usize) < n,
                            "column `{name}`: code {v} outside its {n} categories"
                        );
                    }
                } else if *kind == ColumnKind::Boolean {
                    assert!(
                        values.iter().all(|v| v.is_nan() || *v == 0.0 || *v == 1.0),
                        "boolean column `{name}` holds a value other than 0 and 1"
                    );
                }
            }
            Column::Sparse { rows, values } => {
                assert_eq!(rows.len(), values.len(), "sparse column `{name}`: rows vs values");
                assert!(
                    rows.windows(2).all(|w| w[0] < w[1]),
                    "sparse column `{name}`: rows not increasing"
                );
                assert!(
                    rows.last().is_none_or(|r| (*r as usize) < table.num_rows),
                    "sparse column `{name}`: row id past the {} rows",
                    table.num_rows
                );
                assert!(!values.iter().any(|v| v.is_nan()), "sparse column `{name}` stores NaN");
            }
        }
    }
}

/// `load_training` with every column a feature: a data set whose row count is the table's.
fn check_training(path: &Path) {
    let Ok(loaded) = sylvan_io::load_training(path, &ColumnSelection::default()) else {
        return;
    };
    assert!(loaded.dataset.num_rows() > 0, "an empty data set was accepted");
    assert!(
        loaded.dataset.num_features() > 0,
        "a data set without features was accepted"
    );
}

/// Parquet reader.
pub fn parquet(data: &[u8]) {
    table_file(data, "parquet");
}

/// Arrow IPC reader (file or stream).
pub fn arrow_ipc(data: &[u8]) {
    table_file(data, "arrow");
}

/// CSV reader.
pub fn csv(data: &[u8]) {
    table_file(data, "csv");
}

/// LibSVM reader.
pub fn libsvm(data: &[u8]) {
    table_file(data, "libsvm");
}

/// A model loaded from any source: it saves and reloads in both Sylvan forms, and every copy
/// predicts the same non-`NaN` values for a few all-feature rows, row by row and through a
/// `Dataset`.
fn check_booster(booster: &Booster) {
    let json = booster.to_json_string().expect("a loaded model must serialise to JSON");
    let from_json = Booster::from_json_str(&json).expect("a model's own JSON must load");
    let bytes = booster.to_bytes().expect("a loaded model must serialise to bytes");
    let from_bytes = Booster::from_bytes(&bytes).expect("a model's own bytes must load");
    let nf = booster.num_features();
    if nf == 0 || nf > MAX_PREDICT_FEATURES {
        return;
    }
    let cols = booster.num_prediction_columns();
    assert!(cols > 0, "a model with no prediction columns");
    let fills = [0.0f32, 1.0, 2.0, f32::NAN];
    let mut rows = Vec::new();
    for fill in fills {
        let row = vec![fill; nf];
        let mut out = vec![0f32; cols];
        let Ok(()) = booster.predict_row(&row, &mut out) else {
            return;
        };
        assert!(
            out.iter().all(|v| !v.is_nan()),
            "prediction is NaN for a row of {fill}: {out:?}"
        );
        for other in [&from_json, &from_bytes] {
            let mut again = vec![0f32; cols];
            other
                .predict_row(&row, &mut again)
                .expect("the reloaded model must predict");
            assert_eq!(bits(&out), bits(&again), "reloaded model predicts differently");
        }
        rows.push(out);
    }
    let columns: Vec<Vec<f32>> = (0..nf).map(|_| fills.to_vec()).collect();
    let data = Dataset::from_columns(columns).expect("a dense data set");
    let data = match booster.feature_names() {
        Some(names) => data.with_feature_names(names.to_vec()).expect("feature names"),
        None => data,
    };
    let data = data.with_feature_types(booster.feature_types()).expect("feature types");
    if let Ok(p) = booster.predict(&data, PredictOptions::default()) {
        assert_eq!((p.num_rows, p.num_cols), (fills.len(), cols), "prediction shape");
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(bits(p.row(i)), bits(row), "predict vs predict_row, row {i}");
        }
    }
}

/// The bit patterns of `values`, for exact comparisons.
fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Sylvan's JSON model loader.
pub fn model_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(b) = Booster::from_json_str(text) {
        check_booster(&b);
    }
}

/// Sylvan's binary (`.sylvan`, postcard) model loader.
pub fn model_binary(data: &[u8]) {
    if let Ok(b) = Booster::from_bytes(data) {
        check_booster(&b);
    }
}

/// The XGBoost JSON importer.
pub fn xgboost_json(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(b) = sylvan_io::export::from_xgboost_json(text) {
        check_booster(&b);
    }
}

/// The LightGBM text importer.
pub fn lightgbm_text(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(b) = sylvan_io::export::from_lightgbm_text(text) {
        check_booster(&b);
    }
}

/// Parameters that were accepted: their JSON form parses back to the same parameters.
fn check_params(params: &sylvan_booster::Params) {
    let json = serde_json::to_string(params).expect("parameters serialise to JSON");
    let again = sylvan_booster::Params::from_json(&json).expect("the parameters' own JSON must parse");
    assert_eq!(
        serde_json::to_value(params).expect("to JSON"),
        serde_json::to_value(&again).expect("to JSON"),
        "parameters change in a JSON round trip"
    );
    again
        .validated()
        .expect("parameters that were accepted must validate again");
}

/// The CLI's `--config FILE.toml` and `--set KEY=VALUE`: the input is a TOML file, then (after a
/// line `---`) one `--set` argument per line; no `---` line means no config file.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (toml, sets) = match text.split_once("\n---\n") {
        Some((toml, sets)) => (Some(toml), sets),
        None => (None, text),
    };
    let sets: Vec<String> = sets.lines().map(str::to_string).collect();
    let path = toml.map(|t| scratch_file(t.as_bytes(), "toml"));
    if let Ok(params) = cli_params::build(path.as_deref(), &sets) {
        check_params(&params);
    }
}

/// The C API's JSON parameters (`sylvan_booster_train`'s `params_json`).
pub fn capi_params(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(params) = sylvan_capi::params_from_json(text) {
        check_params(&params);
    }
}
