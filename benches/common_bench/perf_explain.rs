//! The `explain` workload of `cargo bench --bench perf` (issue #20): SHAP contributions of a
//! 100-round, depth-8 model for 100,000 rows, Sylvan beside XGBoost and LightGBM.
//!
//! Data: `common::higgs_like` (28 features, binary), 200,000 training rows and 100,000 rows to
//! explain (both times `SYLVAN_BENCH_SCALE`). Sylvan trains in this process with the perf
//! parameters (100 rounds, eta 0.1, max_depth 8, max_bin 255, lambda 1, min_child_weight 1, hist,
//! the run's threads), and then, each the second of two calls:
//! - plain prediction (`PredictOutput::Value`) of the 100,000 rows, for scale;
//! - `PredictOutput::Contributions` of the 100,000 rows (the timed target);
//! - `PredictOutput::Interactions` of the first 200 rows (XGBoost needs about 5 minutes for 1,000).
//!
//! XGBoost explains the same model: Sylvan's model written as XGBoost JSON, loaded by
//! `benches/python/perf_anchors.py --task explain` with `nthread` the run's threads, which times
//! `pred_contribs` on the rows (after an untimed call on 100 rows), `pred_interactions` on 200
//! rows and its plain prediction, and checks that its contributions of the first 200 rows are
//! Sylvan's (the largest absolute difference is printed). XGBoost 3.2 needed about 4 minutes for
//! 100,000 rows of such a model: `SYLVAN_BENCH_EXPLAIN_XGB_ROWS=N` times only the first N rows and
//! scales the time linearly to all rows (printed as "scaled from N rows"); default all rows.
//! LightGBM explains a model of its own of the same size (`num_leaves` 255, `max_depth` 8, 100
//! rounds, the same rows, `num_threads` the run's threads): `pred_contrib` on all rows (after an
//! untimed call on 100 rows); LightGBM has no interaction values.
//!
//! The target: Sylvan's contributions at least 3x faster than the faster anchor (anchor seconds /
//! Sylvan seconds >= 3), printed as "meets" / "misses", never asserted.
//!
//! Smoke run (without `--bench`): 2,000 training rows, 500 rows to explain, 3 rounds; anchors only
//! with `SYLVAN_BENCH_ANCHORS=1`.

use std::path::Path;
use std::time::Instant;

use serde_json::{json, Value};
use sylvan::{Booster, PredictOptions, PredictOutput};

use super::common;
use super::common_bench;

/// Rows whose interaction values are timed.
const INTERACTION_ROWS: usize = 200;
/// The target: anchor time / Sylvan time at least this.
const TARGET: f64 = 3.0;

/// What the run asks of the workload.
pub struct ExplainSettings<'a> {
    /// `cargo bench` (full size) rather than the smoke run.
    pub bench: bool,
    /// Fraction of the rows (bench only).
    pub scale: f64,
    /// Boosting rounds.
    pub rounds: usize,
    /// Threads for every library.
    pub threads: usize,
    /// The Python with xgboost and lightgbm; `None` skips the anchors.
    pub python: Option<&'a Path>,
}

/// Seconds of the second of two calls of `f`, and the second call's result.
fn second_of_two<T>(mut f: impl FnMut() -> T) -> (f64, T) {
    let _ = f();
    let t = Instant::now();
    let r = f();
    (t.elapsed().as_secs_f64(), r)
}

fn predict(b: &Booster, d: &sylvan::Dataset, output: PredictOutput) -> Result<sylvan::Predictions, String> {
    b.predict(
        d,
        PredictOptions {
            output,
            ..Default::default()
        },
    )
    .map_err(|e| format!("{output:?}: {e}"))
}

/// Runs the workload; returns its JSON and its lines of the target summary.
pub fn run(s: &ExplainSettings) -> (Value, Vec<String>) {
    let (train_rows, rows) = if s.bench {
        (
            ((200_000.0 * s.scale).round() as usize).max(2_000),
            ((100_000.0 * s.scale).round() as usize).max(INTERACTION_ROWS),
        )
    } else {
        (2_000, 500)
    };
    let features = 28;
    println!();
    println!(
        "== explain: SHAP contributions of {rows} rows x {features} features, model of {} rounds, depth 8, \
         trained on {train_rows} rows (higgs generator) ==",
        s.rounds
    );
    let dir = common::ScratchDir::new("perf-explain");
    let d = dir.path();
    let t = Instant::now();
    let (train, test) = common::higgs_like(train_rows + rows, 2020).split_at(train_rows);
    println!("generated in {:.1} s", t.elapsed().as_secs_f64());
    let rounds = s.rounds.to_string();
    let threads = s.threads.to_string();
    let params: Vec<(&str, &str)> = vec![
        ("objective", "binary:logistic"),
        ("tree_method", "hist"),
        ("num_round", &rounds),
        ("eta", "0.1"),
        ("max_depth", "8"),
        ("max_bin", "255"),
        ("lambda", "1"),
        ("min_child_weight", "1"),
        ("nthread", &threads),
    ];
    let t = Instant::now();
    let booster = Booster::train(&common::sylvan_params(&params), &train.to_dataset(), &[]).expect("Sylvan trains");
    let train_seconds = t.elapsed().as_secs_f64();
    let leaves: usize = booster.trees().iter().map(|t| t.num_leaves()).sum();
    println!(
        "sylvan trained in {train_seconds:.1} s ({} trees, {:.0} leaves per tree on average)",
        booster.trees().len(),
        leaves as f64 / booster.trees().len().max(1) as f64
    );
    let data = test.to_dataset();
    let few = common::Table::new(
        test.columns
            .iter()
            .map(|c| c[..INTERACTION_ROWS.min(rows)].to_vec())
            .collect(),
        test.labels[..INTERACTION_ROWS.min(rows)].to_vec(),
    );
    let few_data = few.to_dataset();

    let mut sylvan = serde_json::Map::new();
    let mut error = None;
    let (plain, _) = second_of_two(|| predict(&booster, &data, PredictOutput::Value));
    let (contrib_s, contribs) = second_of_two(|| predict(&booster, &data, PredictOutput::Contributions));
    let (inter_s, inter) = second_of_two(|| predict(&booster, &few_data, PredictOutput::Interactions));
    sylvan.insert("train_seconds".into(), json!(train_seconds));
    sylvan.insert("predict_seconds".into(), json!(plain));
    let contribs = match contribs {
        Ok(c) => {
            sylvan.insert("contributions_seconds".into(), json!(contrib_s));
            Some(c)
        }
        Err(e) => {
            error = Some(e);
            None
        }
    };
    match inter {
        Ok(_) => {
            sylvan.insert("interactions_seconds".into(), json!(inter_s));
        }
        Err(e) => error = error.or(Some(e)),
    }
    sylvan.insert("error".into(), json!(error));
    match &error {
        None => println!(
            "  sylvan  : predict {plain:.3} s; contributions {contrib_s:.3} s ({:.0} rows/s, {:.1}x the plain prediction); \
             interactions of {} rows {inter_s:.3} s",
            rows as f64 / contrib_s,
            contrib_s / plain,
            few.num_rows()
        ),
        Some(e) => println!("  sylvan  : predict {plain:.3} s; explanation failed: {e}"),
    }
    if !s.bench {
        assert!(error.is_none(), "explain: {}", error.unwrap_or_default());
    }

    let mut anchors: Vec<(&str, Value)> = Vec::new();
    if let Some(python) = s.python {
        train.write_npy(d, "train").expect("write train .npy");
        test.write_npy(d, "test").expect("write test .npy");
        let model = d.join("sylvan.xgboost.json");
        std::fs::write(&model, sylvan::io::export::to_xgboost_json(&booster).expect("export"))
            .expect("write the XGBoost JSON model");
        if let Some(c) = &contribs {
            let cols = c.num_cols;
            let n = few.num_rows();
            common::write_npy_f32(&d.join("sylvan_contribs.npy"), &[n, cols], &c.values[..n * cols])
                .expect("write Sylvan's contributions");
        }
        let xgb_rows = common_bench::env_usize("SYLVAN_BENCH_EXPLAIN_XGB_ROWS", rows).clamp(1, rows);
        for lib in ["xgboost", "lightgbm"] {
            let mut args: Vec<std::ffi::OsString> = vec![
                "--lib".into(),
                lib.into(),
                "--task".into(),
                "explain".into(),
                "--dir".into(),
                d.into(),
                "--params".into(),
                common::params_json(&params).into(),
                "--interaction-rows".into(),
                few.num_rows().to_string().into(),
            ];
            if lib == "xgboost" {
                args.extend(["--model".into(), model.clone().into_os_string()]);
                args.extend(["--rows".into(), xgb_rows.to_string().into()]);
            }
            let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
            std::env::set_var("OMP_NUM_THREADS", &threads);
            let script = common::repo_root().join("benches/python/perf_anchors.py");
            let r = match common_bench::run_json_script(python, &script, &refs) {
                Ok(r) if r.get("error").is_none() => r,
                Ok(r) => json!({"error": r["error"]}),
                Err(e) => json!({"error": e}),
            };
            print_anchor(lib, &r, rows);
            anchors.push((lib, r));
        }
    } else {
        println!("  anchors : not run");
    }
    report(rows, &sylvan, &anchors, train_rows, s)
}

/// The anchor's contribution time scaled to `rows` (linear in the rows it timed).
fn scaled_seconds(r: &Value, rows: usize) -> Option<f64> {
    let secs = r["contributions_seconds"].as_f64()?;
    let timed = r["contributions_rows"].as_u64()? as f64;
    Some(secs * rows as f64 / timed)
}

fn print_anchor(lib: &str, r: &Value, rows: usize) {
    if let Some(e) = r.get("error") {
        println!("  {lib:<8}: not run ({})", e.as_str().unwrap_or("failed"));
        return;
    }
    let timed = r["contributions_rows"].as_u64().unwrap_or(0) as usize;
    let secs = scaled_seconds(r, rows).unwrap_or(f64::NAN);
    let scaled = if timed < rows {
        format!(
            " (SCALED from {timed} rows timed, {:.3} s, to {rows} rows)",
            r["contributions_seconds"].as_f64().unwrap_or(f64::NAN)
        )
    } else {
        String::new()
    };
    let inter = match r["interactions_seconds"].as_f64() {
        Some(v) => format!("; interactions of {} rows {v:.3} s", r["interaction_rows"]),
        None => String::new(),
    };
    let agree = match r["max_abs_diff_vs_sylvan"].as_f64() {
        Some(v) => format!("; |contributions - Sylvan's| <= {v:.2e} on the first rows"),
        None => String::new(),
    };
    let own = if lib == "lightgbm" {
        " (its own model)"
    } else {
        " (Sylvan's model)"
    };
    println!(
        "  {lib:<8}: predict {:.3} s; contributions {secs:.2} s{scaled}{inter}{agree}{own}; version {}",
        r["predict_seconds"].as_f64().unwrap_or(f64::NAN),
        r["version"].as_str().unwrap_or("?")
    );
}

fn report(
    rows: usize,
    sylvan: &serde_json::Map<String, Value>,
    anchors: &[(&str, Value)],
    train_rows: usize,
    s: &ExplainSettings,
) -> (Value, Vec<String>) {
    let sy = sylvan.get("contributions_seconds").and_then(Value::as_f64);
    let mut ratios = serde_json::Map::new();
    let mut fastest: Option<(f64, &str)> = None;
    for (lib, r) in anchors {
        let Some(a) = scaled_seconds(r, rows) else { continue };
        if fastest.is_none_or(|(f, _)| a < f) {
            fastest = Some((a, lib));
        }
        if let Some(sy) = sy {
            let mut entry = json!({"contributions": a / sy});
            if let (Some(ai), Some(si)) = (
                r["interactions_seconds"].as_f64(),
                sylvan.get("interactions_seconds").and_then(Value::as_f64),
            ) {
                entry["interactions"] = json!(ai / si);
            }
            println!(
                "{lib} / Sylvan time: contributions {:.1}x{}",
                a / sy,
                entry
                    .get("interactions")
                    .and_then(Value::as_f64)
                    .map_or(String::new(), |v| format!(", interactions {v:.1}x"))
            );
            ratios.insert(lib.to_string(), entry);
        }
    }
    let target = "SHAP contributions >= 3x faster than the faster anchor";
    let (value, verdict) = match (sy, fastest) {
        (Some(sy), Some((a, lib))) => (
            format!("{:.1}x ({lib} {a:.1} s vs {sy:.2} s)", a / sy),
            if a / sy >= TARGET { "meets" } else { "misses" },
        ),
        _ => ("-".to_string(), "n/a"),
    };
    let line = format!("{:<11} {target:<58} {value:<34} {verdict}", "explain");
    let mut results = serde_json::Map::new();
    results.insert("sylvan".into(), Value::Object(sylvan.clone()));
    for (lib, r) in anchors {
        results.insert(lib.to_string(), r.clone());
    }
    let json = json!({
        "name": "explain",
        "task": "binary",
        "train_rows": train_rows,
        "test_rows": rows,
        "features": 28,
        "interaction_rows": INTERACTION_ROWS.min(rows),
        "rounds": s.rounds,
        "threads": s.threads,
        "results": results,
        "ratios": ratios,
        "targets": [{"workload": "explain", "target": target, "value": value, "verdict": verdict}],
    });
    (json, vec![line])
}
