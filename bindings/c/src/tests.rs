//! Tests of the ABI's semantics, called the way C calls them (raw pointers, status codes): shapes,
//! layouts, options, errors, persistence, and identities that pin what the weights and early
//! stopping do. `tests/smoke.c` covers what only real C can (the header, linking the shared and
//! static libraries, memory ownership under ASan/UBSan) and leaves the semantics here.
//!
//! Identities (exact method, one thread):
//! - a row of weight 0 is the row dropped: the kept rows fall in the same leaves and get bitwise the
//!   same predictions (a zero gradient and hessian add exactly 0.0 to every sum);
//! - an integer weight k is the row repeated k times: the same leaves for every row, margins within
//!   1e-5 (`k * g` and `g + ... + g` round differently; margins here are below 10 in magnitude);
//! - early stopping stops exactly `early_stopping_rounds` rounds after the round whose validation
//!   logloss, recomputed here in f64 from each prefix's predictions, is lowest, and the default
//!   prediction uses the rounds up to it;
//! - categorical features: declaring a feature on the data set and through `categorical_features`
//!   gives the same model bit for bit; stumps separate a scattered set of codes exactly by category
//!   sets (and not by thresholds); codes outside every set (unseen, negative, fractional) predict
//!   alike.
//!
//! Not covered here: base_margin, which the C ABI does not expose (`sylvan_dataset_create` takes
//! labels and weights only); the Python tests pin it.

use std::ffi::{CStr, CString};
use std::ptr;

use super::*;

/// This thread's last error message.
fn last_error() -> String {
    // SAFETY: `sylvan_last_error` never returns null and the string lives until the next call.
    unsafe { CStr::from_ptr(sylvan_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A separable problem: y = 1 when x0 + x1 > 1; every 13th x1 is missing. Row-major.
fn problem(n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut x = Vec::with_capacity(n * 3);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let x0 = ((i * 37) % 101) as f32 / 100.0;
        let x1 = ((i * 53) % 97) as f32 / 96.0;
        let x2 = ((i * 11) % 7) as f32;
        let x1_seen = if i % 13 == 0 { f32::NAN } else { x1 };
        x.extend_from_slice(&[x0, x1_seen, x2]);
        y.push((x0 + x1 > 1.0) as u8 as f32);
    }
    (x, y)
}

fn dataset(x: &[f32], rows: usize, cols: usize, labels: Option<&[f32]>) -> *mut SylvanDataset {
    let mut ds = ptr::null_mut();
    // SAFETY: `x` holds rows * cols floats, `labels` rows floats.
    let rc = unsafe {
        sylvan_dataset_create(
            x.as_ptr(),
            rows,
            cols,
            SYLVAN_ROW_MAJOR,
            labels.map_or(ptr::null(), <[f32]>::as_ptr),
            ptr::null(),
            &mut ds,
        )
    };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert!(!ds.is_null());
    ds
}

fn train(ds: *const SylvanDataset, params: &str) -> (c_int, *mut SylvanBooster) {
    let params = CString::new(params).unwrap();
    let mut b = ptr::null_mut();
    // SAFETY: a live handle, a C string, no evaluation sets.
    let rc = unsafe { sylvan_booster_train(ds, params.as_ptr(), ptr::null(), ptr::null(), 0, &mut b) };
    (rc, b)
}

fn predict(b: *const SylvanBooster, ds: *const SylvanDataset, options: Option<SylvanPredictOptions>) -> Vec<f32> {
    let opts = options.as_ref().map_or(ptr::null(), |o| o as *const _);
    let mut needed = 0usize;
    // SAFETY: live handles; a size query.
    let rc = unsafe { sylvan_booster_predict(b, ds, opts, ptr::null_mut(), 0, &mut needed) };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let mut out = vec![f32::NAN; needed];
    let mut again = 0usize;
    // SAFETY: `out` holds `needed` floats.
    let rc = unsafe { sylvan_booster_predict(b, ds, opts, out.as_mut_ptr(), out.len(), &mut again) };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_eq!(again, needed);
    out
}

const BINARY: &str = r#"{"objective":"binary:logistic","max_depth":4,"num_round":20,"eta":"0.3"}"#;

fn free(b: *mut SylvanBooster, ds: *mut SylvanDataset) {
    // SAFETY: live handles (or null), freed once.
    unsafe {
        assert_eq!(sylvan_booster_free(b), SYLVAN_OK);
        assert_eq!(sylvan_dataset_free(ds), SYLVAN_OK);
    }
}

#[test]
fn train_predict_separable_problem() {
    let n = 1000;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    let (rc, b) = train(ds, BINARY);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_eq!(last_error(), "");
    let p = predict(b, ds, None);
    assert_eq!(p.len(), n);
    let correct = p.iter().zip(&y).filter(|(p, y)| (**p > 0.5) == (**y > 0.5)).count();
    assert!(correct as f64 / n as f64 > 0.95, "accuracy {correct}/{n}");
    assert!(p.iter().all(|v| (0.0..=1.0).contains(v)));

    let mut rows = 0;
    let mut cols = 0;
    let mut feats = 0;
    let mut rounds = 0;
    // SAFETY: live handles and writable outputs.
    unsafe {
        assert_eq!(sylvan_dataset_num_rows(ds, &mut rows), SYLVAN_OK);
        assert_eq!(sylvan_dataset_num_cols(ds, &mut cols), SYLVAN_OK);
        assert_eq!(sylvan_booster_num_features(b, &mut feats), SYLVAN_OK);
        assert_eq!(sylvan_booster_num_rounds(b, &mut rounds), SYLVAN_OK);
    }
    assert_eq!((rows, cols, feats, rounds), (n, 3, 3, 20));
    free(b, ds);
}

#[test]
fn column_major_equals_row_major() {
    let n = 300;
    let (x, y) = problem(n);
    let mut xt = vec![0f32; x.len()];
    for i in 0..n {
        for j in 0..3 {
            xt[j * n + i] = x[i * 3 + j];
        }
    }
    let rows = dataset(&x, n, 3, Some(&y));
    let mut cols = ptr::null_mut();
    // SAFETY: `xt` holds n * 3 floats, `y` n floats.
    let rc = unsafe { sylvan_dataset_create(xt.as_ptr(), n, 3, SYLVAN_COL_MAJOR, y.as_ptr(), ptr::null(), &mut cols) };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let (rc, b) = train(rows, BINARY);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_eq!(predict(b, rows, None), predict(b, cols, None));
    free(b, rows);
    // SAFETY: a live handle, freed once.
    assert_eq!(unsafe { sylvan_dataset_free(cols) }, SYLVAN_OK);
}

#[test]
fn margins_iteration_range_and_leaf_indices() {
    let n = 400;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    let (rc, b) = train(ds, BINARY);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());

    let margin_of = |begin, end| {
        predict(
            b,
            ds,
            Some(SylvanPredictOptions {
                output: SYLVAN_PREDICT_MARGIN,
                iteration_begin: begin,
                iteration_end: end,
            }),
        )
    };
    let value = predict(b, ds, None);
    let margin = margin_of(0, 0);
    for (p, m) in value.iter().zip(&margin) {
        assert!((p - 1.0 / (1.0 + (-m).exp())).abs() < 1e-5, "{p} vs sigmoid({m})");
    }
    assert_eq!(margin, margin_of(0, 20), "the default range is every round");
    // margin(a..b) = margin(0..b) - margin(0..a) + base, so margin(0..b) - margin(a..b) does not
    // depend on b. Within 1e-5: three f32-rounded margins below 10 in magnitude.
    let (m03, m010, m020, m310, m320) = (
        margin_of(0, 3),
        margin_of(0, 10),
        margin_of(0, 20),
        margin_of(3, 10),
        margin_of(3, 20),
    );
    for i in 0..n {
        let (d10, d20) = (m010[i] - m310[i], m020[i] - m320[i]);
        assert!((d10 - d20).abs() < 1e-5, "row {i}: {d10} vs {d20}");
        // and it is margin(0..3) minus the base margin, the same for every row.
        let base = m03[i] - d10;
        let base0 = m03[0] - (m010[0] - m310[0]);
        assert!((base - base0).abs() < 1e-5, "row {i}: base {base} vs {base0}");
    }
    assert!(
        m310.iter().zip(&m010).any(|(a, b)| (a - b).abs() > 1e-3),
        "a range is not all rounds"
    );
    let leaves = predict(
        b,
        ds,
        Some(SylvanPredictOptions {
            output: SYLVAN_PREDICT_LEAF_INDEX,
            ..Default::default()
        }),
    );
    assert_eq!(leaves.len(), n * 20);

    // A range beyond the last round is a parameter error; an unknown output kind an argument error.
    let mut out = vec![0f32; n];
    let bad_range = SylvanPredictOptions {
        output: SYLVAN_PREDICT_VALUE,
        iteration_begin: 5,
        iteration_end: 99,
    };
    // SAFETY: live handles, `out` holds n floats.
    let rc = unsafe { sylvan_booster_predict(b, ds, &bad_range, out.as_mut_ptr(), n, ptr::null_mut()) };
    assert_eq!(rc, SYLVAN_ERR_INVALID_PARAMETER, "{}", last_error());
    let bad_output = SylvanPredictOptions {
        output: 7,
        ..Default::default()
    };
    // SAFETY: as above.
    let rc = unsafe { sylvan_booster_predict(b, ds, &bad_output, out.as_mut_ptr(), n, ptr::null_mut()) };
    assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("options.output"), "{}", last_error());
    free(b, ds);
}

/// A noisy problem for early stopping: y = 1 when x0 + x1 * x2 > 0, with 30% of the labels flipped
/// (a fixed LCG), so deep trees overfit and the validation loss turns. Row-major, 3 features.
fn noisy_problem(n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut state = seed;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 40) as f32) / (1u64 << 24) as f32
    };
    let mut x = Vec::with_capacity(n * 3);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let r = [uniform() * 2.0 - 1.0, uniform() * 2.0 - 1.0, uniform() * 2.0 - 1.0];
        let flip = uniform() < 0.3;
        x.extend_from_slice(&r);
        y.push(((r[0] + r[1] * r[2] > 0.0) != flip) as u8 as f32);
    }
    (x, y)
}

fn value_range(begin: usize, end: usize) -> Option<SylvanPredictOptions> {
    Some(SylvanPredictOptions {
        output: SYLVAN_PREDICT_VALUE,
        iteration_begin: begin,
        iteration_end: end,
    })
}

fn weighted_dataset(x: &[f32], rows: usize, y: &[f32], w: &[f32]) -> *mut SylvanDataset {
    assert_eq!((x.len(), y.len(), w.len()), (rows * 3, rows, rows));
    let mut ds = ptr::null_mut();
    // SAFETY: `x` holds rows * 3 floats, `y` and `w` rows floats each.
    let rc = unsafe { sylvan_dataset_create(x.as_ptr(), rows, 3, SYLVAN_ROW_MAJOR, y.as_ptr(), w.as_ptr(), &mut ds) };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    ds
}

/// Exact greedy splits on one thread, so sums are formed in the same order in both trainings.
const EXACT: &str =
    r#"{"objective":"binary:logistic","tree_method":"exact","max_depth":4,"num_round":10,"eta":0.3,"nthread":1}"#;

fn options(output: c_int) -> Option<SylvanPredictOptions> {
    Some(SylvanPredictOptions {
        output,
        ..Default::default()
    })
}

/// Noisy labels (every 7th flipped) so that the trees have work to do on every round.
fn noisy_labels(y: &[f32]) -> Vec<f32> {
    y.iter()
        .enumerate()
        .map(|(i, &v)| if i % 7 == 3 { 1.0 - v } else { v })
        .collect()
}

#[test]
fn zero_weight_is_dropping_the_row() {
    let n = 400;
    let (x, y) = problem(n);
    let y = noisy_labels(&y);
    let dropped = |i: usize| i % 5 == 2;
    let w: Vec<f32> = (0..n).map(|i| if dropped(i) { 0.0 } else { 1.0 }).collect();
    let kept: Vec<usize> = (0..n).filter(|&i| !dropped(i)).collect();
    let kx: Vec<f32> = kept.iter().flat_map(|&i| x[i * 3..i * 3 + 3].to_vec()).collect();
    let ky: Vec<f32> = kept.iter().map(|&i| y[i]).collect();
    let all = weighted_dataset(&x, n, &y, &w);
    let only_kept = dataset(&kx, kept.len(), 3, Some(&ky));
    let (rc, weighted) = train(all, EXACT);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let (rc, without) = train(only_kept, EXACT);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    for output in [SYLVAN_PREDICT_LEAF_INDEX, SYLVAN_PREDICT_MARGIN] {
        assert_eq!(
            predict(weighted, only_kept, options(output)),
            predict(without, only_kept, options(output)),
            "output {output}"
        );
    }
    // Not vacuous: the dropped rows matter when their weight is 1.
    let unit_ds = dataset(&x, n, 3, Some(&y));
    let (rc, unit) = train(unit_ds, EXACT);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_ne!(
        predict(unit, only_kept, options(SYLVAN_PREDICT_MARGIN)),
        predict(without, only_kept, options(SYLVAN_PREDICT_MARGIN))
    );
    // SAFETY: live handles, freed once.
    unsafe {
        sylvan_booster_free(weighted);
        sylvan_booster_free(without);
        sylvan_booster_free(unit);
        sylvan_dataset_free(all);
        sylvan_dataset_free(only_kept);
        sylvan_dataset_free(unit_ds);
    }
}

#[test]
fn integer_weight_is_repeating_the_row() {
    let n = 300;
    let (x, y) = problem(n);
    let y = noisy_labels(&y);
    let k = |i: usize| 1 + (i * 7 % 4); // 1 to 4
    let w: Vec<f32> = (0..n).map(|i| k(i) as f32).collect();
    let rx: Vec<f32> = (0..n).flat_map(|i| x[i * 3..i * 3 + 3].repeat(k(i))).collect();
    let ry: Vec<f32> = (0..n).flat_map(|i| vec![y[i]; k(i)]).collect();
    let weighted_ds = weighted_dataset(&x, n, &y, &w);
    let repeated_ds = dataset(&rx, ry.len(), 3, Some(&ry));
    let plain = dataset(&x, n, 3, None);
    let (rc, weighted) = train(weighted_ds, EXACT);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let (rc, repeated) = train(repeated_ds, EXACT);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_eq!(
        predict(weighted, plain, options(SYLVAN_PREDICT_LEAF_INDEX)),
        predict(repeated, plain, options(SYLVAN_PREDICT_LEAF_INDEX))
    );
    let a = predict(weighted, plain, options(SYLVAN_PREDICT_MARGIN));
    let b = predict(repeated, plain, options(SYLVAN_PREDICT_MARGIN));
    let worst = a.iter().zip(&b).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
    assert!(worst < 1e-5, "margins differ by {worst}");
    // Not vacuous: unit weights give another model.
    let unit_ds = dataset(&x, n, 3, Some(&y));
    let (rc, unit) = train(unit_ds, EXACT);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_ne!(
        predict(unit, plain, options(SYLVAN_PREDICT_LEAF_INDEX)),
        predict(weighted, plain, options(SYLVAN_PREDICT_LEAF_INDEX))
    );
    // SAFETY: live handles, freed once.
    unsafe {
        sylvan_booster_free(weighted);
        sylvan_booster_free(repeated);
        sylvan_booster_free(unit);
        sylvan_dataset_free(weighted_ds);
        sylvan_dataset_free(repeated_ds);
        sylvan_dataset_free(plain);
        sylvan_dataset_free(unit_ds);
    }
}

#[test]
fn evaluation_sets_and_early_stopping() {
    const ROUNDS: usize = 200;
    const PATIENCE: usize = 3;
    let (x, y) = noisy_problem(600, 1);
    // Validation rows distinct from the training rows (another stream of the generator).
    let (xv, yv) = noisy_problem(300, 2);
    let ds = dataset(&x, 600, 3, Some(&y));
    let valid = dataset(&xv, 300, 3, Some(&yv));
    let params = CString::new(format!(
        r#"{{"objective":"binary:logistic","num_round":{ROUNDS},"early_stopping_rounds":{PATIENCE},"max_depth":6,"eta":0.3,"eval_metric":["logloss","auc"]}}"#
    ))
    .unwrap();
    let evals = [valid.cast_const()];
    let names = [c"valid".as_ptr()];
    let mut b = ptr::null_mut();
    // SAFETY: live handles and arrays of one entry each.
    let rc = unsafe { sylvan_booster_train(ds, params.as_ptr(), evals.as_ptr(), names.as_ptr(), 1, &mut b) };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let mut rounds = 0;
    // SAFETY: a live handle.
    assert_eq!(unsafe { sylvan_booster_num_rounds(b, &mut rounds) }, SYLVAN_OK);
    // The watched metric is the first one, logloss, recomputed here for every prefix of rounds.
    let loss: Vec<f64> = (1..=rounds)
        .map(|r| {
            let p = predict(b, valid, value_range(0, r));
            let sum: f64 = p
                .iter()
                .zip(&yv)
                .map(|(&p, &y)| {
                    let p = (p as f64).clamp(1e-15, 1.0 - 1e-15);
                    -(y as f64 * p.ln() + (1.0 - y as f64) * (1.0 - p).ln())
                })
                .sum();
            sum / yv.len() as f64
        })
        .collect();
    let best = (0..rounds).fold(0, |b, r| if loss[r] < loss[b] { r } else { b });
    // A clear minimum (no near-tie that rounding could flip), reached early.
    assert!(
        (0..rounds).filter(|&r| r != best).all(|r| loss[r] - loss[best] > 1e-9),
        "{loss:?}"
    );
    assert_eq!(
        rounds,
        best + 1 + PATIENCE,
        "stopped at {rounds}, best round {best}: {loss:?}"
    );
    assert!(rounds < ROUNDS);
    // The default prediction uses the rounds up to the best one, not all of them.
    let default = predict(b, valid, None);
    assert_eq!(default, predict(b, valid, value_range(0, best + 1)));
    assert_ne!(default, predict(b, valid, value_range(0, rounds)));

    // Null entries and a null array with a count are caught.
    let null_evals = [ptr::null::<SylvanDataset>()];
    let mut b2 = ptr::null_mut();
    // SAFETY: arrays of one entry; the null entry is the point of the test.
    let rc = unsafe { sylvan_booster_train(ds, params.as_ptr(), null_evals.as_ptr(), ptr::null(), 1, &mut b2) };
    assert_eq!(rc, SYLVAN_ERR_NULL_POINTER);
    assert!(last_error().contains("evals"), "{}", last_error());
    // SAFETY: a null array with a count of 1 is caught before any read.
    let rc = unsafe { sylvan_booster_train(ds, params.as_ptr(), ptr::null(), ptr::null(), 1, &mut b2) };
    assert_eq!(rc, SYLVAN_ERR_NULL_POINTER);
    assert!(b2.is_null());
    // An evaluation set without labels is a data error.
    let unlabelled = dataset(&x[..900], 300, 3, None);
    let evals = [unlabelled.cast_const()];
    // SAFETY: live handles, names default.
    let rc = unsafe { sylvan_booster_train(ds, params.as_ptr(), evals.as_ptr(), ptr::null(), 1, &mut b2) };
    assert_eq!(rc, SYLVAN_ERR_INVALID_DATA, "{}", last_error());
    assert!(last_error().contains("eval_0"), "{}", last_error());
    free(b, ds);
    // SAFETY: live handles, freed once.
    unsafe {
        sylvan_dataset_free(valid);
        sylvan_dataset_free(unlabelled);
    }
}

#[test]
fn save_and_load_json_and_binary() {
    let n = 500;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    let (rc, b) = train(ds, BINARY);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let before = predict(b, ds, None);
    let dir = std::env::temp_dir().join(format!("sylvan-capi-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["model.json", "model.sylvan"] {
        let path = CString::new(dir.join(name).to_str().unwrap()).unwrap();
        let mut loaded = ptr::null_mut();
        // SAFETY: a live handle, C strings, a writable out-pointer.
        unsafe {
            assert_eq!(sylvan_booster_save(b, path.as_ptr()), SYLVAN_OK, "{}", last_error());
            assert_eq!(
                sylvan_booster_load(path.as_ptr(), &mut loaded),
                SYLVAN_OK,
                "{}",
                last_error()
            );
        }
        assert_eq!(predict(loaded, ds, None), before, "{name}");
        // SAFETY: a live handle, freed once.
        unsafe { sylvan_booster_free(loaded) };
    }
    let json = std::fs::read_to_string(dir.join("model.json")).unwrap();
    assert!(json.contains("\"format\":\"sylvan\""));
    let binary = std::fs::read(dir.join("model.sylvan")).unwrap();
    assert!(binary.starts_with(b"SYLVAN"));

    // A file that is not a model, and a missing file.
    std::fs::write(dir.join("bad.json"), "{\"hello\": 1}").unwrap();
    let bad = CString::new(dir.join("bad.json").to_str().unwrap()).unwrap();
    let missing = CString::new(dir.join("missing.sylvan").to_str().unwrap()).unwrap();
    let mut loaded = ptr::NonNull::<SylvanBooster>::dangling().as_ptr();
    // SAFETY: C strings, a writable out-pointer.
    let rc = unsafe { sylvan_booster_load(bad.as_ptr(), &mut loaded) };
    assert_eq!(rc, SYLVAN_ERR_INVALID_MODEL);
    assert!(loaded.is_null(), "out is reset to NULL on error");
    assert!(last_error().contains("bad.json"), "{}", last_error());
    // SAFETY: as above.
    let rc = unsafe { sylvan_booster_load(missing.as_ptr(), &mut loaded) };
    assert_eq!(rc, SYLVAN_ERR_IO);
    assert!(last_error().contains("missing.sylvan"), "{}", last_error());
    // Saving into a directory that does not exist.
    let nowhere = CString::new(dir.join("no/such/dir/m.json").to_str().unwrap()).unwrap();
    // SAFETY: a live handle, a C string.
    assert_eq!(unsafe { sylvan_booster_save(b, nowhere.as_ptr()) }, SYLVAN_ERR_IO);
    // SAFETY: an empty C string.
    assert_eq!(
        unsafe { sylvan_booster_save(b, c"".as_ptr()) },
        SYLVAN_ERR_INVALID_ARGUMENT
    );
    std::fs::remove_dir_all(&dir).unwrap();
    free(b, ds);
}

/// Calls an ABI function that must fail with `SYLVAN_ERR_NULL_POINTER` naming `$name`.
macro_rules! null_case {
    ($call:expr, $name:expr) => {{
        // SAFETY: the null argument is the point of the test; everything else is valid.
        let rc = unsafe { $call };
        assert_eq!(rc, SYLVAN_ERR_NULL_POINTER, "{}", stringify!($call));
        let expected = format!("argument `{}` is a null pointer", $name);
        assert_eq!(last_error(), expected, "{}", stringify!($call));
    }};
}

#[test]
fn null_pointers_are_errors_not_crashes() {
    let (x, y) = problem(50);
    let ds = dataset(&x, 50, 3, Some(&y));
    let (rc, b) = train(ds, BINARY);
    assert_eq!(rc, SYLVAN_OK);
    let mut out_ds = ptr::null_mut();
    let mut out_b = ptr::null_mut();
    let mut n = 0usize;
    let mut buf = vec![0f32; 50];
    let none = ptr::null::<f32>();
    null_case!(
        sylvan_dataset_create(ptr::null(), 50, 3, SYLVAN_ROW_MAJOR, none, none, &mut out_ds),
        "data"
    );
    null_case!(
        sylvan_dataset_create(x.as_ptr(), 50, 3, SYLVAN_ROW_MAJOR, none, none, ptr::null_mut()),
        "out"
    );
    null_case!(sylvan_dataset_num_rows(ptr::null(), &mut n), "dataset");
    null_case!(sylvan_dataset_num_cols(ds, ptr::null_mut()), "out");
    null_case!(
        sylvan_booster_train(ptr::null(), c"{}".as_ptr(), ptr::null(), ptr::null(), 0, &mut out_b),
        "train"
    );
    null_case!(
        sylvan_booster_train(ds, ptr::null(), ptr::null(), ptr::null(), 0, &mut out_b),
        "params_json"
    );
    null_case!(
        sylvan_booster_train(ds, c"{}".as_ptr(), ptr::null(), ptr::null(), 0, ptr::null_mut()),
        "out"
    );
    null_case!(
        sylvan_booster_predict(ptr::null(), ds, ptr::null(), buf.as_mut_ptr(), 50, &mut n),
        "booster"
    );
    null_case!(
        sylvan_booster_predict(b, ptr::null(), ptr::null(), buf.as_mut_ptr(), 50, &mut n),
        "data"
    );
    null_case!(
        sylvan_booster_predict(b, ds, ptr::null(), ptr::null_mut(), 50, &mut n),
        "out"
    );
    null_case!(sylvan_booster_save(ptr::null(), c"m.json".as_ptr()), "booster");
    null_case!(sylvan_booster_save(b, ptr::null()), "path");
    null_case!(sylvan_booster_load(ptr::null(), &mut out_b), "path");
    null_case!(sylvan_booster_load(c"m.json".as_ptr(), ptr::null_mut()), "out");
    null_case!(sylvan_booster_num_features(ptr::null(), &mut n), "booster");
    null_case!(sylvan_booster_num_rounds(b, ptr::null_mut()), "out");
    null_case!(sylvan_booster_num_outputs(ptr::null(), &mut n), "booster");
    null_case!(sylvan_booster_num_outputs(b, ptr::null_mut()), "out");
    assert!(out_ds.is_null() && out_b.is_null());
    // Freeing NULL is a no-op.
    // SAFETY: null handles.
    unsafe {
        assert_eq!(sylvan_dataset_free(ptr::null_mut()), SYLVAN_OK);
        assert_eq!(sylvan_booster_free(ptr::null_mut()), SYLVAN_OK);
    }
    free(b, ds);
}

#[test]
fn bad_parameters_name_the_parameter() {
    let (x, y) = problem(100);
    let ds = dataset(&x, 100, 3, Some(&y));
    let cases = [
        (r#"{"max_dpeth": 3}"#, "max_dpeth"),
        (r#"{"objective": "binary:nope"}"#, "objective"),
        (r#"{"max_depth": "deep"}"#, "max_depth"),
        (r#"{"subsample": 1.5}"#, "subsample"),
        (r#"{"eta": {"a": 1}}"#, "eta"),
        (r#"{"eval_metric": ["auc", "nope"]}"#, "eval_metric"),
        (r#"{"objective": "binary:logistic", "max_depth": 3"#, "JSON"),
        (r#"["objective", "binary:logistic"]"#, "JSON object"),
    ];
    for (params, name) in cases {
        let (rc, b) = train(ds, params);
        assert_eq!(rc, SYLVAN_ERR_INVALID_PARAMETER, "{params}: {}", last_error());
        assert!(b.is_null());
        assert!(last_error().contains(name), "{params}: {}", last_error());
    }
    // Numbers and strings both work; null resets an optional parameter.
    for params in [
        r#"{"objective":"binary:logistic","max_depth":"3","num_round":2,"base_score":null}"#,
        r#"{"objective":"binary:logistic","max_depth":3,"num_round":"2","learning_rate":0.5}"#,
        "{}",
    ] {
        let (rc, b) = train(ds, params);
        assert_eq!(rc, SYLVAN_OK, "{params}: {}", last_error());
        // SAFETY: a live handle, freed once.
        unsafe { sylvan_booster_free(b) };
    }
    // SAFETY: a live handle, freed once.
    unsafe { sylvan_dataset_free(ds) };
}

#[test]
fn params_from_json_maps_through_set() {
    let p = params_from_json(r#"{"objective":"multi:softprob","num_class":"3","eta":0.1,"eval_metric":["mlogloss"]}"#)
        .unwrap();
    assert_eq!(p.num_class, 3);
    assert_eq!(p.eta, 0.1);
    assert_eq!(p.eval_metric.len(), 1);
    let e = params_from_json(r#"{"colsample": 0.5}"#).unwrap_err();
    assert_eq!(e.status(), SYLVAN_ERR_INVALID_PARAMETER);
    assert!(e.to_string().contains("colsample"), "{e}");
}

#[test]
fn wrong_buffer_sizes_and_shapes() {
    let n = 200;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    let (rc, b) = train(ds, BINARY);
    assert_eq!(rc, SYLVAN_OK);
    let mut out = vec![-7f32; n];
    let mut needed = 0usize;
    // SAFETY: `out` holds n floats; we claim fewer.
    let rc = unsafe { sylvan_booster_predict(b, ds, ptr::null(), out.as_mut_ptr(), n - 1, &mut needed) };
    assert_eq!(rc, SYLVAN_ERR_BUFFER_TOO_SMALL);
    assert_eq!(needed, n);
    assert!(out.iter().all(|v| *v == -7.0), "nothing written");
    assert!(last_error().contains(&format!("{n} are needed")), "{}", last_error());
    // A non-null buffer of length 0 is not a size query.
    // SAFETY: as above.
    let rc = unsafe { sylvan_booster_predict(b, ds, ptr::null(), out.as_mut_ptr(), 0, &mut needed) };
    assert_eq!(rc, SYLVAN_ERR_BUFFER_TOO_SMALL);
    // A larger buffer is fine: only the needed values are written.
    let mut big = vec![-7f32; n + 5];
    // SAFETY: `big` holds n + 5 floats.
    let rc = unsafe { sylvan_booster_predict(b, ds, ptr::null(), big.as_mut_ptr(), big.len(), ptr::null_mut()) };
    assert_eq!(rc, SYLVAN_OK);
    assert!(big[n..].iter().all(|v| *v == -7.0));
    // A misaligned buffer is refused.
    let mut raw = vec![0u8; 4 * n + 4];
    // SAFETY: not dereferenced; the function refuses the misaligned pointer before use.
    let odd = unsafe { raw.as_mut_ptr().add(1) }.cast::<f32>();
    let rc = if !odd.is_aligned() {
        // SAFETY: as above.
        unsafe { sylvan_booster_predict(b, ds, ptr::null(), odd, n, ptr::null_mut()) }
    } else {
        SYLVAN_ERR_INVALID_ARGUMENT
    };
    assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT);

    // Data with the wrong number of features for the model.
    let narrow = dataset(&x[..2 * n], n, 2, None);
    // SAFETY: live handles, `out` holds n floats.
    let rc = unsafe { sylvan_booster_predict(b, narrow, ptr::null(), out.as_mut_ptr(), n, ptr::null_mut()) };
    assert_eq!(rc, SYLVAN_ERR_INVALID_DATA);
    assert!(last_error().contains("number of features"), "{}", last_error());

    // Dataset shapes and values.
    let mut d = ptr::null_mut();
    let inf = [1.0, f32::INFINITY, 0.0, 1.0];
    let nan_label = [0.0, f32::NAN];
    let neg_weight = [1.0, -1.0];
    // SAFETY: every array holds what the sizes say.
    unsafe {
        let rc = sylvan_dataset_create(x.as_ptr(), 0, 3, SYLVAN_ROW_MAJOR, ptr::null(), ptr::null(), &mut d);
        assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("num_rows"));
        let rc = sylvan_dataset_create(x.as_ptr(), 3, 0, SYLVAN_ROW_MAJOR, ptr::null(), ptr::null(), &mut d);
        assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT);
        let rc = sylvan_dataset_create(
            x.as_ptr(),
            usize::MAX,
            2,
            SYLVAN_ROW_MAJOR,
            ptr::null(),
            ptr::null(),
            &mut d,
        );
        assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("overflows"), "{}", last_error());
        let rc = sylvan_dataset_create(
            x.as_ptr(),
            usize::MAX / 2,
            1,
            SYLVAN_ROW_MAJOR,
            ptr::null(),
            ptr::null(),
            &mut d,
        );
        assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT, "{}", last_error());
        let rc = sylvan_dataset_create(x.as_ptr(), 2, 3, 5, ptr::null(), ptr::null(), &mut d);
        assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("layout"));
        let rc = sylvan_dataset_create(inf.as_ptr(), 2, 2, SYLVAN_ROW_MAJOR, ptr::null(), ptr::null(), &mut d);
        assert_eq!(rc, SYLVAN_ERR_INVALID_DATA);
        assert!(last_error().contains("infinite"), "{}", last_error());
        let rc = sylvan_dataset_create(
            x.as_ptr(),
            2,
            2,
            SYLVAN_ROW_MAJOR,
            nan_label.as_ptr(),
            ptr::null(),
            &mut d,
        );
        assert_eq!(rc, SYLVAN_ERR_INVALID_DATA);
        assert!(last_error().contains("row 1"), "{}", last_error());
        let rc = sylvan_dataset_create(
            x.as_ptr(),
            2,
            2,
            SYLVAN_ROW_MAJOR,
            ptr::null(),
            neg_weight.as_ptr(),
            &mut d,
        );
        assert_eq!(rc, SYLVAN_ERR_INVALID_DATA);
        assert!(d.is_null());
    }
    // Training on data without labels.
    let (rc, b2) = train(narrow, BINARY);
    assert_eq!(rc, SYLVAN_ERR_INVALID_DATA);
    assert!(b2.is_null());
    free(b, ds);
    // SAFETY: a live handle, freed once.
    unsafe { sylvan_dataset_free(narrow) };
}

#[test]
fn multiclass_outputs_one_column_per_class() {
    let n = 300;
    let (x, _) = problem(n);
    let y: Vec<f32> = x.chunks(3).map(|r| (r[0] * 2.99).floor()).collect();
    let ds = dataset(&x, n, 3, Some(&y));
    let (rc, b) = train(ds, r#"{"objective":"multi:softprob","num_class":3,"num_round":5}"#);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let p = predict(b, ds, None);
    assert_eq!(p.len(), n * 3);
    for row in p.chunks(3) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-4);
    }
    free(b, ds);
}

#[test]
fn panics_become_a_status_and_a_message() {
    let rc = run(|| panic!("boom at the boundary"));
    assert_eq!(rc, SYLVAN_ERR_PANIC);
    assert!(last_error().contains("boom at the boundary"), "{}", last_error());
    let rc = run(|| Ok(()));
    assert_eq!(rc, SYLVAN_OK);
    assert_eq!(last_error(), "");
}

/// Trains with checkpoints into `dir`, evaluating `ds` as "train".
fn train_checkpointed(
    ds: *const SylvanDataset,
    params: &str,
    dir: &std::path::Path,
    every: usize,
    keep: usize,
    resume: bool,
) -> (c_int, *mut SylvanBooster) {
    let params = CString::new(params).unwrap();
    let dir = CString::new(dir.to_str().unwrap()).unwrap();
    let name = CString::new("train").unwrap();
    let (evals, names) = ([ds], [name.as_ptr()]);
    let mut b = ptr::null_mut();
    // SAFETY: a live handle, C strings, one evaluation set with its name.
    let rc = unsafe {
        sylvan_booster_train_with_checkpoints(
            ds,
            params.as_ptr(),
            evals.as_ptr(),
            names.as_ptr(),
            1,
            dir.as_ptr(),
            every,
            keep,
            resume as c_int,
            &mut b,
        )
    };
    (rc, b)
}

/// The model's JSON text.
fn saved_json(b: *const SylvanBooster, path: &std::path::Path) -> String {
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a live handle and a C string.
    assert_eq!(
        unsafe { sylvan_booster_save(b, c.as_ptr()) },
        SYLVAN_OK,
        "{}",
        last_error()
    );
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_run_resumed_from_its_checkpoint_ends_with_the_uninterrupted_model() {
    let dir = std::env::temp_dir().join(format!("sylvan-capi-ckpt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let n = 600;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    let params = |rounds: usize| {
        format!(
            r#"{{"objective":"binary:logistic","max_depth":3,"subsample":0.7,"colsample_bytree":0.7,"num_round":{rounds}}}"#
        )
    };
    let whole_dir = dir.join("whole");
    let (rc, whole) = train_checkpointed(ds, &params(12), &whole_dir, 4, 5, false);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let names: Vec<String> = std::fs::read_dir(&whole_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "checkpoints after rounds 4, 8 and 12: {names:?}");

    // A run stopped after round 7 left its checkpoint of 6 rounds; resumed, it trains to 12.
    let cut_dir = dir.join("cut");
    let (rc, cut) = train_checkpointed(ds, &params(7), &cut_dir, 3, 2, false);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let (rc, resumed) = train_checkpointed(ds, &params(12), &cut_dir, 3, 2, true);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_eq!(
        saved_json(resumed, &dir.join("resumed.json")),
        saved_json(whole, &dir.join("whole.json"))
    );

    for (every, keep, resume, what) in [
        (0, 2, false, "checkpoint_every"),
        (1, 0, false, "checkpoint_keep"),
        (1, 2, true, "no checkpoint"),
    ] {
        let (rc, b) = train_checkpointed(ds, &params(3), &dir.join("empty"), every, keep, resume);
        assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT, "{what}");
        assert!(b.is_null() && last_error().contains(what), "{}", last_error());
    }
    // SAFETY: live handles, freed once.
    unsafe {
        assert_eq!(sylvan_booster_free(cut), SYLVAN_OK);
        assert_eq!(sylvan_booster_free(resumed), SYLVAN_OK);
    }
    free(whole, ds);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_training_that_cannot_fit_the_memory_left_has_its_own_status() {
    let rc = run(|| {
        Err(crate::error::Error::Booster(sylvan_booster::Error::OutOfMemory {
            needed: 2,
            available: 1,
            reason: "training needs an estimated 2 B but only 1 B available".into(),
        }))
    });
    assert_eq!(rc, SYLVAN_ERR_OUT_OF_MEMORY);
    assert!(
        last_error().contains("not enough memory: training needs an estimated 2 B"),
        "{}",
        last_error()
    );
}

#[test]
fn last_error_is_per_thread_and_version_is_set() {
    // SAFETY: a null path is caught.
    let rc = unsafe { sylvan_booster_save(ptr::null(), ptr::null()) };
    assert_eq!(rc, SYLVAN_ERR_NULL_POINTER);
    let other = std::thread::spawn(last_error).join().unwrap();
    assert_eq!(other, "");
    assert!(last_error().contains("booster"));
    // SAFETY: a static C string.
    let v = unsafe { CStr::from_ptr(sylvan_version()) }.to_str().unwrap();
    assert_eq!(v, env!("CARGO_PKG_VERSION"));
}

#[test]
fn error_messages_with_nul_bytes_survive() {
    error::set_last_error("a\0b");
    assert_eq!(last_error(), "a\\0b");
}

#[test]
fn handles_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SylvanBooster>();
    check::<SylvanDataset>();
}

#[test]
fn one_booster_predicts_from_several_threads() {
    // Eight threads predict with one booster for two seconds while a ninth trains other boosters:
    // every prediction equals the single-thread one.
    let n = 300;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    let (rc, b) = train(ds, BINARY);
    assert_eq!(rc, SYLVAN_OK);
    let expected = predict(b, ds, None);
    // Raw pointers are not Send; pass the addresses.
    let (b_addr, ds_addr) = (b as usize, ds as usize);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let calls: usize = std::thread::scope(|s| {
        s.spawn(move || {
            while std::time::Instant::now() < until {
                let (rc, other) = train(ds_addr as *const SylvanDataset, BINARY);
                assert_eq!(rc, SYLVAN_OK);
                // SAFETY: a booster this thread made and no one else holds.
                unsafe { sylvan_booster_free(other) };
            }
        });
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let expected = &expected;
                s.spawn(move || {
                    let b = b_addr as *const SylvanBooster;
                    let ds = ds_addr as *const SylvanDataset;
                    let mut out = vec![0f32; n];
                    let mut calls = 0;
                    while std::time::Instant::now() < until {
                        // SAFETY: live handles that outlive the scope; `out` holds n floats.
                        let rc =
                            unsafe { sylvan_booster_predict(b, ds, ptr::null(), out.as_mut_ptr(), n, ptr::null_mut()) };
                        assert_eq!(rc, SYLVAN_OK);
                        assert!(out == *expected);
                        calls += 1;
                    }
                    calls
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert!(calls >= 8);
    free(b, ds);
}

/// Sets `margins` on a dataset, asserting success.
fn set_margins(ds: *mut SylvanDataset, margins: &[f32]) {
    // SAFETY: a live handle, `margins` holds `margins.len()` floats.
    let rc = unsafe { sylvan_dataset_set_base_margin(ds, margins.as_ptr(), margins.len()) };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
}

/// base_margin through the C ABI: squared error from per-row margins `m` on labels `y` gives the
/// trees of training on `y - m` from a base score of 0 (the same gradients, so the same leaves
/// exactly; margins to 1e-5, `y - m` being rounded to f32), and prediction adds each row's margin
/// in place of the model's base: margin(with m) - margin(without) = m - base, row by row, also
/// for three classes (`rows * 3` margins, row-major). Bad margins are errors naming the argument.
#[test]
fn base_margin_is_training_on_the_residual() {
    let n = 300;
    let (x, _) = problem(n);
    let y: Vec<f32> = (0..n).map(|i| x[i * 3] * 2.0 + ((i * 7) % 5) as f32 * 0.1).collect();
    let m: Vec<f32> = (0..n).map(|i| ((i * 13) % 11) as f32 * 0.2 - 1.0).collect();
    let residual: Vec<f32> = y.iter().zip(&m).map(|(y, m)| y - m).collect();
    let params = r#"{"objective":"reg:squarederror","tree_method":"exact","max_depth":3,"num_round":5,"nthread":1}"#;
    let with_margin = dataset(&x, n, 3, Some(&y));
    set_margins(with_margin, &m);
    let (rc, from_margin) = train(with_margin, params);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let on_residual = dataset(&x, n, 3, Some(&residual));
    let zero_base = params.replace("\"nthread\":1", "\"nthread\":1,\"base_score\":0");
    let (rc, from_zero) = train(on_residual, &zero_base);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let plain = dataset(&x, n, 3, None);
    assert_eq!(
        predict(from_margin, plain, options(SYLVAN_PREDICT_LEAF_INDEX)),
        predict(from_zero, plain, options(SYLVAN_PREDICT_LEAF_INDEX))
    );
    let shifted = predict(from_margin, with_margin, options(SYLVAN_PREDICT_MARGIN));
    let trees = predict(from_zero, plain, options(SYLVAN_PREDICT_MARGIN));
    for i in 0..n {
        assert!(
            (shifted[i] - m[i] - trees[i]).abs() < 1e-5,
            "row {i}: {} vs {} + {}",
            shifted[i],
            m[i],
            trees[i]
        );
    }

    // Three classes: each row's three margins replace the model's base margin.
    let labels: Vec<f32> = (0..n).map(|i| (i % 3) as f32).collect();
    let multi = dataset(&x, n, 3, Some(&labels));
    let (rc, softprob) = train(multi, r#"{"objective":"multi:softprob","num_class":3,"num_round":3}"#);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let margins3: Vec<f32> = (0..n * 3).map(|k| (k % 7) as f32 * 0.5 - 1.5).collect();
    let with3 = dataset(&x, n, 3, None);
    set_margins(with3, &margins3);
    let got = predict(softprob, with3, options(SYLVAN_PREDICT_MARGIN));
    let zero3 = dataset(&x, n, 3, None);
    set_margins(zero3, &vec![0.0; n * 3]);
    let trees3 = predict(softprob, zero3, options(SYLVAN_PREDICT_MARGIN));
    for k in 0..n * 3 {
        assert!(
            (got[k] - margins3[k] - trees3[k]).abs() < 1e-5,
            "row {} class {}",
            k / 3,
            k % 3
        );
    }

    // Bad margins: a length that is not a multiple of the rows, a non-finite value, null pointers.
    // SAFETY: live handles; the pointers point to at least `len` floats or are null on purpose.
    unsafe {
        assert_eq!(
            sylvan_dataset_set_base_margin(plain, m.as_ptr(), n - 1),
            SYLVAN_ERR_INVALID_DATA
        );
        assert!(last_error().contains("base_margin"), "{}", last_error());
        let bad = vec![f32::INFINITY; n];
        assert_eq!(
            sylvan_dataset_set_base_margin(plain, bad.as_ptr(), n),
            SYLVAN_ERR_INVALID_DATA
        );
        assert_eq!(
            sylvan_dataset_set_base_margin(plain, ptr::null(), n),
            SYLVAN_ERR_NULL_POINTER
        );
        assert_eq!(
            sylvan_dataset_set_base_margin(ptr::null_mut(), m.as_ptr(), n),
            SYLVAN_ERR_NULL_POINTER
        );
        for b in [from_margin, from_zero, softprob] {
            sylvan_booster_free(b);
        }
        for d in [with_margin, on_residual, plain, multi, with3, zero3] {
            sylvan_dataset_free(d);
        }
    }
}

/// A problem only a category-set split solves in one step: feature 0 holds category codes 0..12
/// (every 17th row missing), and y = 1 exactly when the code is in the scattered set
/// {1, 4, 6, 9, 11}; feature 1 is noise. Row-major, 2 columns.
fn categorical_problem(n: usize) -> (Vec<f32>, Vec<f32>) {
    let mut x = Vec::with_capacity(n * 2);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let code = ((i * 7) % 12) as f32;
        let noise = ((i * 31) % 89) as f32 / 89.0;
        let seen = if i % 17 == 0 { f32::NAN } else { code };
        x.extend_from_slice(&[seen, noise]);
        y.push((!seen.is_nan() && [1.0, 4.0, 6.0, 9.0, 11.0].contains(&code)) as u8 as f32);
    }
    (x, y)
}

/// Stumps: one split per tree, so a threshold on the codes cannot separate the scattered set.
const STUMPS: &str = r#"{"objective":"binary:logistic","max_depth":1,"num_round":5,"eta":1,"min_data_per_group":10}"#;

fn set_categorical(ds: *mut SylvanDataset, indices: &[usize]) -> c_int {
    // SAFETY: a live handle; `indices` holds `len` values.
    unsafe { sylvan_dataset_set_categorical(ds, indices.as_ptr(), indices.len()) }
}

fn dataset_types(ds: *const SylvanDataset) -> Vec<c_int> {
    let mut out = vec![-1; 8];
    let mut needed = 0usize;
    // SAFETY: a live handle; `out` holds 8 ints.
    let rc = unsafe { sylvan_dataset_feature_types(ds, out.as_mut_ptr(), out.len(), &mut needed) };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    out.truncate(needed);
    out
}

fn booster_types(b: *const SylvanBooster) -> Vec<c_int> {
    let mut needed = 0usize;
    // SAFETY: a live handle; a size query.
    let rc = unsafe { sylvan_booster_feature_types(b, ptr::null_mut(), 0, &mut needed) };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let mut out = vec![-1; needed];
    // SAFETY: `out` holds `needed` ints.
    let rc = unsafe { sylvan_booster_feature_types(b, out.as_mut_ptr(), out.len(), ptr::null_mut()) };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    out
}

fn accuracy(p: &[f32], y: &[f32]) -> f64 {
    p.iter().zip(y).filter(|(p, y)| (**p > 0.5) == (**y > 0.5)).count() as f64 / y.len() as f64
}

#[test]
fn categorical_features_split_by_category_sets() {
    const C: c_int = SYLVAN_FEATURE_CATEGORICAL;
    const Q: c_int = SYLVAN_FEATURE_NUMERICAL;
    let n = 1200;
    let (x, y) = categorical_problem(n);
    let typed = dataset(&x, n, 2, Some(&y));
    assert_eq!(dataset_types(typed), vec![Q, Q]);
    assert_eq!(set_categorical(typed, &[0]), SYLVAN_OK, "{}", last_error());
    assert_eq!(dataset_types(typed), vec![C, Q]);
    let (rc, cat) = train(typed, STUMPS);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_eq!(booster_types(cat), vec![C, Q]);
    let p_cat = predict(cat, typed, None);

    // The same codes as numbers: five stumps cannot cut the scattered set out of 0..12.
    let plain = dataset(&x, n, 2, Some(&y));
    let (rc, num) = train(plain, STUMPS);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_eq!(booster_types(num), vec![Q, Q]);
    let (acc_cat, acc_num) = (accuracy(&p_cat, &y), accuracy(&predict(num, plain, None), &y));
    assert_eq!(acc_cat, 1.0, "category sets separate the classes");
    assert!(acc_num < 0.9, "thresholds on codes: accuracy {acc_num}");

    // The `categorical_features` parameter (a list or a string of indices) declares the same
    // feature: the same model, bit for bit. Prediction data need not declare anything.
    for with in [r#""categorical_features":[0]"#, r#""categorical_feature":"0""#] {
        let params = STUMPS.replace('{', &format!("{{{with},"));
        let (rc, b) = train(plain, &params);
        assert_eq!(rc, SYLVAN_OK, "{params}: {}", last_error());
        assert_eq!(booster_types(b), vec![C, Q], "{params}");
        assert_eq!(predict(b, plain, None), p_cat, "{params}");
        // SAFETY: a live handle, freed once.
        unsafe { sylvan_booster_free(b) };
    }

    // Saved and loaded (JSON and binary), the model keeps its types and predictions.
    let dir = std::env::temp_dir().join(format!("sylvan-capi-cat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["cat.json", "cat.sylvan"] {
        let path = CString::new(dir.join(name).to_str().unwrap()).unwrap();
        let mut loaded = ptr::null_mut();
        // SAFETY: a live handle, C strings, a writable out-pointer.
        unsafe {
            assert_eq!(sylvan_booster_save(cat, path.as_ptr()), SYLVAN_OK, "{}", last_error());
            assert_eq!(
                sylvan_booster_load(path.as_ptr(), &mut loaded),
                SYLVAN_OK,
                "{}",
                last_error()
            );
        }
        assert_eq!(booster_types(loaded), vec![C, Q], "{name}");
        assert_eq!(predict(loaded, plain, None), p_cat, "{name}");
        // SAFETY: a live handle, freed once.
        unsafe { sylvan_booster_free(loaded) };
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // A code never seen in training, a negative and a fractional value are no category of any set:
    // they all go right at every category-set split, so they predict alike.
    let odd: Vec<f32> = [40.0, -1.0, 2.5, 65_535.0].iter().flat_map(|&c| [c, 0.5]).collect();
    let ds_odd = dataset(&odd, 4, 2, None);
    let p_odd = predict(cat, ds_odd, None);
    assert!(p_odd.iter().all(|p| *p == p_odd[0]), "{p_odd:?}");
    // Every code of the set predicts the positive class, the codes outside it the negative one.
    let members: Vec<f32> = [1.0, 4.0, 6.0, 9.0, 11.0, 0.0, 2.0]
        .iter()
        .flat_map(|&c| [c, 0.5])
        .collect();
    let ds_members = dataset(&members, 7, 2, None);
    let p_members = predict(cat, ds_members, None);
    assert!(p_members[..5].iter().all(|p| *p > 0.5), "{p_members:?}");
    assert!(p_members[5..].iter().all(|p| *p < 0.5), "{p_members:?}");
    free_datasets(ds_odd, ds_members);

    // Exact split finding splits categories by sets too; the CUDA backend refuses them.
    let exact = STUMPS.replace('{', r#"{"tree_method":"exact","#);
    let (rc, b) = train(typed, &exact);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    // SAFETY: a live booster, freed once.
    unsafe { assert_eq!(sylvan_booster_free(b), SYLVAN_OK) };
    let cuda = STUMPS.replace('{', r#"{"device":"cuda","#);
    let (rc, b) = train(typed, &cuda);
    assert_eq!(rc, SYLVAN_ERR_INVALID_PARAMETER, "{}", last_error());
    assert!(b.is_null() && last_error().contains("cuda"), "{}", last_error());
    free(cat, typed);
    free(num, plain);
}

/// `free` for two data sets.
fn free_datasets(a: *mut SylvanDataset, b: *mut SylvanDataset) {
    // SAFETY: live handles, freed once.
    unsafe {
        assert_eq!(sylvan_dataset_free(a), SYLVAN_OK);
        assert_eq!(sylvan_dataset_free(b), SYLVAN_OK);
    }
}

#[test]
fn categorical_declarations_are_checked() {
    const C: c_int = SYLVAN_FEATURE_CATEGORICAL;
    const Q: c_int = SYLVAN_FEATURE_NUMERICAL;
    let n = 200;
    let (x, y) = categorical_problem(n);
    let ds = dataset(&x, n, 2, Some(&y));

    // An index beyond the columns: the argument is named, nothing changes.
    assert_eq!(set_categorical(ds, &[0, 5]), SYLVAN_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("indices[1] is 5"), "{}", last_error());
    assert_eq!(dataset_types(ds), vec![Q, Q]);
    // Values that are not category codes (feature 1 is in [0, 1)): the feature and row are named.
    assert_eq!(set_categorical(ds, &[0, 1]), SYLVAN_ERR_INVALID_DATA);
    let e = last_error();
    assert!(
        e.contains("feature 1") && e.contains("row 1") && e.contains("category codes"),
        "{e}"
    );
    assert_eq!(dataset_types(ds), vec![Q, Q], "unchanged after the error");
    // No indices changes nothing; repeats are fine.
    // SAFETY: a live handle; len 0 with a null pointer.
    assert_eq!(unsafe { sylvan_dataset_set_categorical(ds, ptr::null(), 0) }, SYLVAN_OK);
    assert_eq!(dataset_types(ds), vec![Q, Q]);
    assert_eq!(set_categorical(ds, &[0, 0]), SYLVAN_OK, "{}", last_error());
    assert_eq!(dataset_types(ds), vec![C, Q]);

    // Setting every type: back to numerical, then categorical again; bad values and lengths.
    let set_types = |types: &[c_int]| {
        // SAFETY: a live handle; `types` holds `len` ints.
        unsafe { sylvan_dataset_set_feature_types(ds, types.as_ptr(), types.len()) }
    };
    assert_eq!(set_types(&[Q, Q]), SYLVAN_OK, "{}", last_error());
    assert_eq!(dataset_types(ds), vec![Q, Q]);
    assert_eq!(set_types(&[C, Q]), SYLVAN_OK, "{}", last_error());
    assert_eq!(dataset_types(ds), vec![C, Q]);
    assert_eq!(set_types(&[C]), SYLVAN_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("1 feature types given"), "{}", last_error());
    assert_eq!(set_types(&[C, 7]), SYLVAN_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("types[1] is 7"), "{}", last_error());
    assert_eq!(set_types(&[Q, C]), SYLVAN_ERR_INVALID_DATA);
    assert_eq!(dataset_types(ds), vec![C, Q], "unchanged after the errors");

    // The parameter: an index beyond the features is a parameter error naming it.
    let (rc, b) = train(ds, r#"{"categorical_features":[2]}"#);
    assert_eq!(rc, SYLVAN_ERR_INVALID_PARAMETER);
    assert!(
        b.is_null() && last_error().contains("categorical_features"),
        "{}",
        last_error()
    );

    // Reading types into buffers: size queries, short buffers, null pointers.
    let mut needed = 0usize;
    let mut one: c_int = -1;
    // SAFETY: a live handle; `one` holds one int (we say so).
    unsafe {
        assert_eq!(
            sylvan_dataset_feature_types(ds, ptr::null_mut(), 0, &mut needed),
            SYLVAN_OK
        );
        assert_eq!(needed, 2);
        assert_eq!(
            sylvan_dataset_feature_types(ds, &mut one, 1, &mut needed),
            SYLVAN_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!(one, -1, "nothing written to a short buffer");
    }
    let (rc, b) = train(ds, STUMPS);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    // SAFETY: as above.
    unsafe {
        assert_eq!(
            sylvan_booster_feature_types(b, &mut one, 1, &mut needed),
            SYLVAN_ERR_BUFFER_TOO_SMALL
        );
        assert_eq!((needed, one), (2, -1));
    }
    null_case!(
        sylvan_dataset_set_categorical(ptr::null_mut(), [0usize].as_ptr(), 1),
        "dataset"
    );
    null_case!(sylvan_dataset_set_categorical(ds, ptr::null(), 1), "indices");
    null_case!(
        sylvan_dataset_set_feature_types(ptr::null_mut(), [0].as_ptr(), 1),
        "dataset"
    );
    null_case!(sylvan_dataset_set_feature_types(ds, ptr::null(), 2), "types");
    null_case!(
        sylvan_dataset_feature_types(ptr::null(), &mut one, 1, &mut needed),
        "dataset"
    );
    null_case!(sylvan_dataset_feature_types(ds, ptr::null_mut(), 2, &mut needed), "out");
    null_case!(
        sylvan_booster_feature_types(ptr::null(), &mut one, 1, &mut needed),
        "booster"
    );
    null_case!(
        sylvan_booster_feature_types(b, ptr::null_mut(), 2, ptr::null_mut()),
        "out"
    );
    free(b, ds);
}

#[test]
fn attributes_are_copied_as_c_strings() {
    let (x, y) = problem(100);
    let ds = dataset(&x, 100, 3, Some(&y));
    let (rc, b) = train(ds, BINARY);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let mapping = r#"{"color":["blue","red","vert"]}"#;
    // SAFETY: a live handle no other thread uses (the C API has no setter; Python and the CLI set it).
    unsafe { (*b).inner.set_attribute("sylvan.categories", mapping) };
    let key = c"sylvan.categories";
    let mut needed = 0usize;
    // SAFETY: a live handle, a C string, a size query.
    let rc = unsafe { sylvan_booster_attribute(b, key.as_ptr(), ptr::null_mut(), 0, &mut needed) };
    assert_eq!((rc, needed), (SYLVAN_OK, mapping.len() + 1));
    let mut buf = vec![b'x' as c_char; needed + 4];
    // SAFETY: `buf` holds needed + 4 bytes.
    let rc = unsafe { sylvan_booster_attribute(b, key.as_ptr(), buf.as_mut_ptr(), buf.len(), &mut needed) };
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    // SAFETY: the library wrote a NUL-terminated string into `buf`.
    assert_eq!(unsafe { CStr::from_ptr(buf.as_ptr()) }.to_str().unwrap(), mapping);
    assert_eq!(buf[needed], b'x' as c_char, "nothing written past the NUL");
    // A short buffer: refused, nothing written.
    let mut short = vec![b'x' as c_char; needed - 1];
    // SAFETY: `short` holds needed - 1 bytes.
    let rc = unsafe { sylvan_booster_attribute(b, key.as_ptr(), short.as_mut_ptr(), short.len(), &mut needed) };
    assert_eq!(rc, SYLVAN_ERR_BUFFER_TOO_SMALL);
    assert!(short.iter().all(|c| *c == b'x' as c_char));
    // A missing attribute: OK, size 0, nothing written.
    // SAFETY: as above.
    let rc = unsafe { sylvan_booster_attribute(b, c"nope".as_ptr(), buf.as_mut_ptr(), buf.len(), &mut needed) };
    assert_eq!((rc, needed), (SYLVAN_OK, 0));
    null_case!(
        sylvan_booster_attribute(ptr::null(), key.as_ptr(), ptr::null_mut(), 0, &mut needed),
        "booster"
    );
    null_case!(
        sylvan_booster_attribute(b, ptr::null(), ptr::null_mut(), 0, &mut needed),
        "key"
    );
    null_case!(
        sylvan_booster_attribute(b, key.as_ptr(), ptr::null_mut(), 4, &mut needed),
        "out"
    );
    free(b, ds);
}

#[test]
fn per_feature_parameters_take_lists_maps_and_groups() {
    use sylvan_booster::{BoosterKind, PerFeature, SampleStrategy};
    let p = params_from_json(
        r#"{"monotone_constraints": {"x0": 1, "x2": -1}, "interaction_constraints": [[0, 1], ["x2"]],
            "feature_weights": [1, 0.5, 2], "booster": "dart", "rate_drop": 0.1,
            "data_sample_strategy": "goss", "top_rate": 0.3}"#,
    )
    .unwrap();
    assert_eq!(
        p.monotone_constraints,
        PerFeature::ByName([("x0".to_string(), 1), ("x2".to_string(), -1)].into())
    );
    assert_eq!(p.interaction_constraints, vec![vec!["0", "1"], vec!["x2"]]);
    assert_eq!(p.feature_weights, PerFeature::ByPosition(vec![1.0, 0.5, 2.0]));
    assert_eq!((p.booster, p.rate_drop), (BoosterKind::Dart, 0.1));
    assert_eq!((p.data_sample_strategy, p.top_rate), (SampleStrategy::Goss, 0.3));
    // XGBoost's string form and a plain list agree.
    let a = params_from_json(r#"{"monotone_constraints": "(1,0,-1)"}"#).unwrap();
    let b = params_from_json(r#"{"monotone_constraints": [1, 0, -1]}"#).unwrap();
    assert_eq!(a.monotone_constraints, b.monotone_constraints);
    for (bad, name) in [
        (r#"{"monotone_constraints": [2]}"#, "monotone_constraints"),
        (r#"{"interaction_constraints": [0, 1]}"#, "interaction_constraints"),
        (r#"{"feature_weights": {"a": -1}}"#, "feature_weights"),
        (r#"{"eta": {"a": 1}}"#, "eta"),
    ] {
        let e = params_from_json(bad).unwrap_err();
        assert_eq!(e.status(), SYLVAN_ERR_INVALID_PARAMETER, "{bad}");
        assert!(e.to_string().contains(name), "{bad}: {e}");
    }
}

#[test]
fn feature_names_resolve_constraints_by_name() {
    let n = 600;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    let names = [c"a".as_ptr(), c"b".as_ptr(), c"c".as_ptr()];
    // SAFETY: a live handle; `names` holds 3 C strings.
    assert_eq!(
        unsafe { sylvan_dataset_set_feature_names(ds, names.as_ptr(), 3) },
        SYLVAN_OK
    );
    // SAFETY: as above, with a wrong count.
    assert_eq!(
        unsafe { sylvan_dataset_set_feature_names(ds, names.as_ptr(), 2) },
        SYLVAN_ERR_INVALID_ARGUMENT
    );
    assert!(last_error().contains("len"), "{}", last_error());
    let same = [c"a".as_ptr(), c"a".as_ptr(), c"c".as_ptr()];
    // SAFETY: as above; a repeated name.
    assert_eq!(
        unsafe { sylvan_dataset_set_feature_names(ds, same.as_ptr(), 3) },
        SYLVAN_ERR_INVALID_DATA
    );
    null_case!(sylvan_dataset_set_feature_names(ds, ptr::null(), 3), "names");
    let by_name = r#"{"objective":"binary:logistic","num_round":5,"monotone_constraints":{"b":1},"seed":1}"#;
    let by_index = r#"{"objective":"binary:logistic","num_round":5,"monotone_constraints":[0,1],"seed":1}"#;
    let (rc, b1) = train(ds, by_name);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let (rc, b2) = train(ds, by_index);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_eq!(predict(b1, ds, None), predict(b2, ds, None));
    let (rc, b3) = train(ds, r#"{"monotone_constraints":{"zz":1},"num_round":2}"#);
    assert_eq!(rc, SYLVAN_ERR_INVALID_PARAMETER);
    assert!(b3.is_null());
    assert!(
        last_error().contains("monotone_constraints") && last_error().contains("zz"),
        "{}",
        last_error()
    );
    // SAFETY: live handles, freed once.
    unsafe {
        sylvan_booster_free(b1);
    }
    free(b2, ds);
}

/// Ranking and survival data through the C ABI: query ids (rows of a query scattered), group
/// sizes and label bounds reach the data set (`NaN` upper = +inf); bad input is an error naming
/// the argument or the row, and leaves the data set as it was.
#[test]
fn query_groups_and_label_bounds_are_attached() {
    let n = 6;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    let ids: [u64; 6] = [7, 3, 7, 3, 9, 7];
    // SAFETY: a live handle; the arrays hold at least `len` values or are null on purpose.
    unsafe {
        assert_eq!(
            sylvan_dataset_set_query_ids(ds, ids.as_ptr(), n),
            SYLVAN_OK,
            "{}",
            last_error()
        );
        let groups = (*ds).inner.groups().expect("groups attached").clone();
        assert_eq!(groups.num_queries(), 3);
        assert_eq!(groups.query(0), &[0, 2, 5]);
        assert_eq!(groups.query(1), &[1, 3]);
        assert_eq!(
            sylvan_dataset_set_query_ids(ds, ids.as_ptr(), n - 1),
            SYLVAN_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("one id per row"), "{}", last_error());
        assert_eq!(
            sylvan_dataset_set_query_ids(ds, ptr::null(), n),
            SYLVAN_ERR_NULL_POINTER
        );
        assert_eq!(
            sylvan_dataset_set_query_ids(ptr::null_mut(), ids.as_ptr(), n),
            SYLVAN_ERR_NULL_POINTER
        );
        assert_eq!((*ds).inner.groups(), Some(&groups), "unchanged after errors");

        let sizes: [usize; 2] = [4, 2];
        assert_eq!(
            sylvan_dataset_set_group_sizes(ds, sizes.as_ptr(), 2),
            SYLVAN_OK,
            "{}",
            last_error()
        );
        assert_eq!((*ds).inner.groups().unwrap().query(1), &[4, 5]);
        let bad: [usize; 2] = [4, 1];
        assert_eq!(
            sylvan_dataset_set_group_sizes(ds, bad.as_ptr(), 2),
            SYLVAN_ERR_INVALID_DATA
        );
        let empty: [usize; 3] = [4, 0, 2];
        assert_eq!(
            sylvan_dataset_set_group_sizes(ds, empty.as_ptr(), 3),
            SYLVAN_ERR_INVALID_DATA
        );
        assert!(last_error().contains("empty"), "{}", last_error());
        assert_eq!(
            (*ds).inner.groups().unwrap().query(1),
            &[4, 5],
            "unchanged after errors"
        );
        assert_eq!((*ds).inner.num_rows(), n);

        let lower = [1.0f32, 2.0, 0.0, 4.0, 5.0, 6.0];
        let upper = [1.0f32, f32::INFINITY, 3.0, f32::NAN, 5.0, 7.0];
        assert_eq!(
            sylvan_dataset_set_label_bounds(ds, lower.as_ptr(), upper.as_ptr(), n),
            SYLVAN_OK,
            "{}",
            last_error()
        );
        let b = (*ds).inner.label_bounds().expect("bounds attached").clone();
        assert_eq!(b.lower, lower.to_vec());
        assert_eq!(b.upper[3], f32::INFINITY);
        let inverted = [1.0f32, 2.0, 0.0, 4.0, 4.0, 6.0];
        assert_eq!(
            sylvan_dataset_set_label_bounds(ds, lower.as_ptr(), inverted.as_ptr(), n),
            SYLVAN_ERR_INVALID_DATA
        );
        assert!(last_error().contains("row 4"), "{}", last_error());
        assert_eq!(
            sylvan_dataset_set_label_bounds(ds, lower.as_ptr(), upper.as_ptr(), n - 1),
            SYLVAN_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            sylvan_dataset_set_label_bounds(ds, lower.as_ptr(), ptr::null(), n),
            SYLVAN_ERR_NULL_POINTER
        );
        assert_eq!((*ds).inner.label_bounds(), Some(&b), "unchanged after errors");
        assert_eq!(sylvan_dataset_free(ds), SYLVAN_OK);
    }
}

/// Several label columns through the C ABI: the label matrix reaches the data set row-major,
/// a model is trained with each `multi_strategy`, and predictions hold `num_targets` values per
/// row that follow each target; bad input names the argument, row or target and leaves the data
/// set as it was.
#[test]
fn label_matrix_trains_one_output_per_target() {
    let n = 400;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    // Target 0: x0 + x1 > 1 (0/1); target 1: 10 * x2.
    let labels: Vec<f32> = (0..n).flat_map(|i| [y[i], 10.0 * x[i * 3 + 2]]).collect();
    // SAFETY: live handles; the arrays hold at least the stated number of floats or are null on
    // purpose.
    unsafe {
        assert_eq!(
            sylvan_dataset_set_label_matrix(ds, labels.as_ptr(), n, 2),
            SYLVAN_OK,
            "{}",
            last_error()
        );
        assert_eq!((*ds).inner.num_targets(), 2);
        assert_eq!((*ds).inner.labels(), &labels[..]);
        let mut bad = labels.clone();
        bad[2 * 7 + 1] = f32::NAN;
        assert_eq!(
            sylvan_dataset_set_label_matrix(ds, bad.as_ptr(), n, 2),
            SYLVAN_ERR_INVALID_DATA
        );
        assert!(
            last_error().contains("row 7") && last_error().contains("target 1"),
            "{}",
            last_error()
        );
        assert_eq!(
            sylvan_dataset_set_label_matrix(ds, labels.as_ptr(), n - 1, 2),
            SYLVAN_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("num_rows"), "{}", last_error());
        assert_eq!(
            sylvan_dataset_set_label_matrix(ds, labels.as_ptr(), n, 0),
            SYLVAN_ERR_INVALID_ARGUMENT
        );
        assert!(last_error().contains("num_targets"), "{}", last_error());
        assert_eq!(
            sylvan_dataset_set_label_matrix(ds, labels.as_ptr(), usize::MAX, 2),
            SYLVAN_ERR_INVALID_ARGUMENT
        );
        assert_eq!(
            sylvan_dataset_set_label_matrix(ds, ptr::null(), n, 2),
            SYLVAN_ERR_NULL_POINTER
        );
        assert_eq!(
            sylvan_dataset_set_label_matrix(ptr::null_mut(), labels.as_ptr(), n, 2),
            SYLVAN_ERR_NULL_POINTER
        );
        assert_eq!((*ds).inner.labels(), &labels[..], "unchanged after errors");
    }
    for strategy in ["one_output_per_tree", "multi_output_tree"] {
        let params = format!(r#"{{"num_round": 30, "max_depth": 3, "multi_strategy": "{strategy}"}}"#);
        let (rc, b) = train(ds, &params);
        assert_eq!(rc, SYLVAN_OK, "{strategy}: {}", last_error());
        let mut k = 0usize;
        // SAFETY: a live handle and a writable size_t.
        assert_eq!(unsafe { sylvan_booster_num_outputs(b, &mut k) }, SYLVAN_OK);
        assert_eq!(k, 2);
        let p = predict(b, ds, None);
        assert_eq!(p.len(), n * 2, "{strategy}");
        let rmse = |t: usize| {
            let se: f64 = (0..n).map(|i| (p[i * 2 + t] - labels[i * 2 + t]).powi(2) as f64).sum();
            (se / n as f64).sqrt()
        };
        assert!(
            rmse(0) < 0.3 && rmse(1) < 1.0,
            "{strategy}: rmse {} {}",
            rmse(0),
            rmse(1)
        );
        // SAFETY: a live handle, freed once.
        unsafe { sylvan_booster_free(b) };
    }
    // SAFETY: a live handle, freed once.
    unsafe { sylvan_dataset_free(ds) };
}

/// Several quantile levels through the C ABI: one output per level, never crossing per row.
#[test]
fn quantile_levels_predict_sorted_rows() {
    let n = 400;
    let (x, _) = problem(n);
    let y: Vec<f32> = (0..n).map(|i| x[i * 3] * 10.0 + ((i * 29) % 17) as f32 / 4.0).collect();
    let ds = dataset(&x, n, 3, Some(&y));
    let (rc, b) = train(
        ds,
        r#"{"objective": "reg:quantileerror", "quantile_alpha": [0.1, 0.5, 0.9], "num_round": 20}"#,
    );
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let mut k = 0usize;
    // SAFETY: a live handle and a writable size_t.
    assert_eq!(unsafe { sylvan_booster_num_outputs(b, &mut k) }, SYLVAN_OK);
    assert_eq!(k, 3);
    let p = predict(b, ds, None);
    assert_eq!(p.len(), n * 3);
    assert!(p.chunks(3).all(|r| r[0] <= r[1] && r[1] <= r[2]), "crossing quantiles");
    let below = |q: usize| (0..n).filter(|&i| y[i] <= p[i * 3 + q]).count() as f64 / n as f64;
    assert!(below(0) < 0.3 && below(2) > 0.7, "coverage {} {}", below(0), below(2));
    free(b, ds);
}

/// `sylvan_booster_output_columns` for every output code.
fn output_columns(b: *const SylvanBooster, output: c_int) -> (c_int, usize) {
    let mut k = usize::MAX;
    // SAFETY: a live handle and a writable size_t.
    let rc = unsafe { sylvan_booster_output_columns(b, output, &mut k) };
    (rc, k)
}

/// Explanations through the C ABI (issue #20): the sizes `sylvan_booster_output_columns` reports
/// are the sizes predict fills; the contributions of a row sum to its margin, per class; the
/// interactions are symmetric and their rows sum to the contributions; bad codes are refused.
#[test]
fn explanations_have_the_reported_sizes_and_sum_to_the_margin() {
    let n = 120;
    let (x, y) = problem(n);
    let y3: Vec<f32> = x.chunks(3).map(|r| (r[0] * 2.99).floor()).collect();
    for (labels, params, k) in [
        (&y, BINARY, 1usize),
        (
            &y3,
            r#"{"objective":"multi:softprob","num_class":3,"num_round":6,"max_depth":3}"#,
            3,
        ),
    ] {
        let ds = dataset(&x, n, 3, Some(labels));
        let (rc, b) = train(ds, params);
        assert_eq!(rc, SYLVAN_OK, "{}", last_error());
        let c = 3 + 1;
        assert_eq!(output_columns(b, SYLVAN_PREDICT_MARGIN), (SYLVAN_OK, k));
        assert_eq!(output_columns(b, SYLVAN_PREDICT_CONTRIBUTIONS), (SYLVAN_OK, k * c));
        assert_eq!(
            output_columns(b, SYLVAN_PREDICT_APPROX_CONTRIBUTIONS),
            (SYLVAN_OK, k * c)
        );
        assert_eq!(output_columns(b, SYLVAN_PREDICT_INTERACTIONS), (SYLVAN_OK, k * c * c));
        let margins = predict(b, ds, options(SYLVAN_PREDICT_MARGIN));
        for output in [SYLVAN_PREDICT_CONTRIBUTIONS, SYLVAN_PREDICT_APPROX_CONTRIBUTIONS] {
            let contribs = predict(b, ds, options(output));
            assert_eq!(contribs.len(), n * k * c);
            for (row, m) in contribs.chunks(c).zip(&margins) {
                let sum: f32 = row.iter().sum();
                assert!((sum - m).abs() < 1e-4, "output {output}: sum {sum} vs margin {m}");
            }
        }
        let contribs = predict(b, ds, options(SYLVAN_PREDICT_CONTRIBUTIONS));
        let inter = predict(b, ds, options(SYLVAN_PREDICT_INTERACTIONS));
        assert_eq!(inter.len(), n * k * c * c);
        for (matrix, phi) in inter.chunks(c * c).zip(contribs.chunks(c)) {
            for i in 0..c {
                for j in 0..c {
                    assert!((matrix[i * c + j] - matrix[j * c + i]).abs() < 1e-5, "not symmetric");
                }
                let sum: f32 = matrix[i * c..(i + 1) * c].iter().sum();
                assert!((sum - phi[i]).abs() < 1e-4, "row {i} sums to {sum}, not {}", phi[i]);
            }
        }
        free(b, ds);
    }
}

#[test]
fn output_codes_are_checked() {
    let n = 100;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    let (rc, b) = train(ds, BINARY);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    assert_eq!(output_columns(b, SYLVAN_PREDICT_VALUE), (SYLVAN_OK, 1));
    let (rc, _) = output_columns(b, SYLVAN_PREDICT_LEAF_INDEX);
    assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("out_len = 0"), "{}", last_error());
    let (rc, _) = output_columns(b, 6);
    assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT);
    assert!(
        last_error().contains("`output`") && last_error().contains("_INTERACTIONS (5)"),
        "{}",
        last_error()
    );
    let bad = SylvanPredictOptions {
        output: -1,
        ..Default::default()
    };
    let mut out = [0f32; 4];
    // SAFETY: live handles and a buffer of 4 floats.
    let rc = unsafe { sylvan_booster_predict(b, ds, &bad, out.as_mut_ptr(), 4, ptr::null_mut()) };
    assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT);
    assert!(last_error().contains("options.output"), "{}", last_error());
    // SAFETY: a null booster must be an error, not a crash.
    let rc = unsafe { sylvan_booster_output_columns(ptr::null(), SYLVAN_PREDICT_VALUE, out.as_mut_ptr().cast()) };
    assert_eq!(rc, SYLVAN_ERR_NULL_POINTER);
    free(b, ds);
}

/// Feature importance of every type through the C ABI equals the core's; unknown types and short
/// buffers are errors.
#[test]
fn feature_importance_of_every_type() {
    let n = 200;
    let (x, y) = problem(n);
    let ds = dataset(&x, n, 3, Some(&y));
    let (rc, b) = train(ds, BINARY);
    assert_eq!(rc, SYLVAN_OK, "{}", last_error());
    let importance = |name: &str| -> (c_int, Vec<f64>) {
        let name = CString::new(name).unwrap();
        let mut needed = 0usize;
        // SAFETY: a live handle, a C string; a size query.
        let rc = unsafe { sylvan_booster_feature_importance(b, name.as_ptr(), ptr::null_mut(), 0, &mut needed) };
        if rc != SYLVAN_OK {
            return (rc, Vec::new());
        }
        let mut out = vec![f64::NAN; needed];
        // SAFETY: `out` holds `needed` doubles.
        let rc = unsafe {
            sylvan_booster_feature_importance(b, name.as_ptr(), out.as_mut_ptr(), out.len(), ptr::null_mut())
        };
        (rc, out)
    };
    // SAFETY: a live handle.
    let core = unsafe { &(*b).inner };
    for (name, kind) in [
        ("weight", ImportanceType::Weight),
        ("gain", ImportanceType::Gain),
        ("cover", ImportanceType::Cover),
        ("total_gain", ImportanceType::TotalGain),
        ("total_cover", ImportanceType::TotalCover),
    ] {
        let (rc, values) = importance(name);
        assert_eq!(rc, SYLVAN_OK, "{name}: {}", last_error());
        assert_eq!(values, core.feature_importance(kind), "{name}");
        assert!(
            values[0] > 0.0 && values[1] > 0.0,
            "{name}: x0 and x1 decide the label: {values:?}"
        );
    }
    let (rc, _) = importance("total_weight");
    assert_eq!(rc, SYLVAN_ERR_INVALID_ARGUMENT);
    assert!(
        last_error().contains("importance_type") && last_error().contains("total_weight"),
        "{}",
        last_error()
    );
    let mut short = [0f64; 2];
    let gain = CString::new("gain").unwrap();
    // SAFETY: `short` holds 2 doubles.
    let rc = unsafe { sylvan_booster_feature_importance(b, gain.as_ptr(), short.as_mut_ptr(), 2, ptr::null_mut()) };
    assert_eq!(rc, SYLVAN_ERR_BUFFER_TOO_SMALL);
    assert_eq!(short, [0.0, 0.0], "a short buffer is left alone");
    // SAFETY: a null type must be an error, not a crash.
    let rc = unsafe { sylvan_booster_feature_importance(b, ptr::null(), short.as_mut_ptr(), 2, ptr::null_mut()) };
    assert_eq!(rc, SYLVAN_ERR_NULL_POINTER);
    free(b, ds);
}
