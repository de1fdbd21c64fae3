//! Export and import of ranking models, checked by the real libraries.
//!
//! - XGBoost JSON: Sylvan's `rank:ndcg`, `rank:pairwise` and `rank:map` models (with non-default
//!   lambdarank settings) are written with XGBoost 3.2's objective block (`lambdarank_param`), and
//!   XGBoost loads them, names the objective and predicts the raw margins Sylvan predicts; Sylvan
//!   reads them back with the same settings and bit-identical predictions (runs without Python).
//! - LightGBM text: `rank:ndcg` is written as `objective=lambdarank`, LightGBM predicts what Sylvan
//!   predicts; `rank:pairwise` and `rank:map` are refused with a clear error.
//! - Import: rankers trained by XGBoost (`rank:ndcg`, `mean` pairs) and by LightGBM (`lambdarank`)
//!   load into Sylvan and predict what they predict.
//!
//! Tolerance: `1e-5 * max(1, |a|, |b|)`.

mod common;

use std::path::Path;
use std::process::Command;

use common::ScratchDir;
use sylvan::booster::{LambdarankPairMethod, ObjectiveKind};
use sylvan::io::export::{from_lightgbm_text, from_xgboost_json, to_lightgbm_text, to_xgboost_json};
use sylvan::{Booster, Dataset, Params, PredictOptions};

const FEATURES: usize = 5;

/// A case of the XGBoost export test: objective, binary labels, and a change of the settings.
type Case = (ObjectiveKind, bool, Box<dyn Fn(&mut Params)>);

/// Graded (or binary) relevance of `queries` contiguous queries of 4..=20 documents; every 9th
/// value missing.
fn data(queries: usize, seed: u64, binary: bool) -> (Vec<f32>, Vec<f32>, Vec<u64>) {
    let mut g = common::Gen::new(seed);
    let (mut x, mut y, mut q) = (Vec::new(), Vec::new(), Vec::new());
    let mut cell = 0usize;
    for qi in 0..queries {
        let n = 4 + (g.uniform(0.0, 17.0) as usize).min(16);
        for _ in 0..n {
            let r: Vec<f32> = (0..FEATURES).map(|_| g.uniform(-1.0, 1.0) as f32).collect();
            let s = r[0] * r[1] + r[2].sin() + 0.5 * r[3] + 0.3 * g.normal() as f32;
            let grade = ((s + 1.2) * 1.5).floor().clamp(0.0, 4.0);
            y.push(if binary { (grade >= 2.0) as u8 as f32 } else { grade });
            for v in r {
                cell += 1;
                x.push(if cell.is_multiple_of(9) { f32::NAN } else { v });
            }
            q.push(qi as u64);
        }
    }
    (x, y, q)
}

fn dataset(x: &[f32], y: &[f32], q: &[u64]) -> Dataset {
    Dataset::from_rows(x, FEATURES)
        .unwrap()
        .with_labels(y.to_vec())
        .unwrap()
        .with_query_ids(q.to_vec())
        .unwrap()
}

fn write_raw(dir: &Path, x_train: Option<(&[f32], &[f32], &[u64])>, x_test: &[f32]) {
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    let meta = serde_json::json!({
        "features": FEATURES,
        "train_rows": x_train.map_or(0, |t| t.1.len()),
        "test_rows": x_test.len() / FEATURES,
    });
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
    if let Some((x, y, q)) = x_train {
        std::fs::write(dir.join("X_train.f32"), f32s(x)).unwrap();
        std::fs::write(dir.join("y_train.f32"), f32s(y)).unwrap();
        std::fs::write(
            dir.join("qid_train.u64"),
            q.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>(),
        )
        .unwrap();
    }
    std::fs::write(dir.join("X_test.f32"), f32s(x_test)).unwrap();
}

fn python(args: &[&std::ffi::OsStr]) -> Option<()> {
    let r = common::reference()?;
    let script = common::repo_root().join("tests/python/ranking_reference.py");
    let out = Command::new(&r.python).arg(&script).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ranking_reference.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

/// Whether LightGBM is there (a missing one fails under `SYLVAN_REQUIRE_REFERENCE=1`).
fn lightgbm_ready() -> bool {
    let Some(r) = common::reference() else { return false };
    if r.has_lightgbm() {
        return true;
    }
    assert!(
        std::env::var("SYLVAN_REQUIRE_REFERENCE").as_deref() != Ok("1"),
        "SYLVAN_REQUIRE_REFERENCE=1 but lightgbm is not importable"
    );
    eprintln!("skipping the LightGBM checks: lightgbm is not importable");
    false
}

fn read_predictions(path: &Path) -> (Vec<f32>, serde_json::Value) {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let p = v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap() as f32)
        .collect();
    (p, v)
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let tol = 1e-5 * 1f32.max(x.abs()).max(y.abs());
        assert!((x - y).abs() <= tol, "{what}: row {i}: {x} vs {y}");
    }
}

fn train(objective: ObjectiveKind, binary: bool, tweak: impl Fn(&mut Params)) -> (Booster, Vec<f32>) {
    let (x, y, q) = data(120, 31, binary);
    let mut p = Params {
        objective,
        num_round: 12,
        eta: 0.3,
        max_depth: 4,
        ..Params::default()
    };
    tweak(&mut p);
    let b = Booster::train(&p, &dataset(&x, &y, &q), &[]).unwrap();
    let (xt, _, _) = data(40, 32, binary);
    (b, xt)
}

fn predict(b: &Booster, x: &[f32]) -> Vec<f32> {
    let d = Dataset::from_rows(x, FEATURES).unwrap();
    b.predict(&d, PredictOptions::default()).unwrap().values
}

#[test]
fn xgboost_json_round_trip_and_xgboost_predictions() {
    let cases: Vec<Case> = vec![
        (ObjectiveKind::RankNdcg, false, Box::new(|_| {})),
        (
            ObjectiveKind::RankNdcg,
            false,
            Box::new(|p: &mut Params| {
                p.lambdarank_pair_method = LambdarankPairMethod::Mean;
                p.lambdarank_num_pair_per_sample = Some(3);
                p.ndcg_exp_gain = false;
                p.lambdarank_normalization = false;
            }),
        ),
        (
            ObjectiveKind::RankPairwise,
            false,
            Box::new(|p: &mut Params| p.lambdarank_num_pair_per_sample = Some(8)),
        ),
        (
            ObjectiveKind::RankMap,
            true,
            Box::new(|p: &mut Params| p.lambdarank_score_normalization = false),
        ),
    ];
    for (i, (objective, binary, tweak)) in cases.into_iter().enumerate() {
        let (b, xt) = train(objective, binary, tweak);
        let ours = predict(&b, &xt);
        let json = to_xgboost_json(&b).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["learner"]["objective"]["name"], objective.name());
        assert!(
            v["learner"]["objective"]["lambdarank_param"].is_object(),
            "{}",
            v["learner"]["objective"]
        );
        // Sylvan reads its export back with the same settings and predictions.
        let back = from_xgboost_json(&json).unwrap();
        let (p0, p1) = (b.params(), back.params());
        assert_eq!(p1.objective, p0.objective);
        assert_eq!(p1.lambdarank_pair_method, p0.lambdarank_pair_method);
        assert_eq!(p1.lambdarank_num_pair_per_sample, p0.lambdarank_num_pair_per_sample);
        assert_eq!(p1.lambdarank_normalization, p0.lambdarank_normalization);
        assert_eq!(p1.lambdarank_score_normalization, p0.lambdarank_score_normalization);
        assert_eq!(p1.ndcg_exp_gain, p0.ndcg_exp_gain);
        assert_eq!(predict(&back, &xt), ours);

        let dir = ScratchDir::new(&format!("export-ranking-{i}"));
        write_raw(dir.path(), None, &xt);
        let model = dir.path().join("model.json");
        std::fs::write(&model, &json).unwrap();
        if python(&[
            "--predict-xgboost".as_ref(),
            model.as_os_str(),
            "--dir".as_ref(),
            dir.path().as_os_str(),
        ])
        .is_none()
        {
            return;
        }
        let (theirs, v) = read_predictions(&dir.path().join("xgb_pred.json"));
        assert_eq!(v["objective"], objective.name());
        assert_close(
            &theirs,
            &ours,
            &format!("XGBoost on Sylvan's {} export", objective.name()),
        );
    }
}

#[test]
fn lightgbm_text_lambdarank() {
    let (b, xt) = train(ObjectiveKind::RankNdcg, false, |_| {});
    let ours = predict(&b, &xt);
    let text = to_lightgbm_text(&b).unwrap();
    assert!(
        text.contains("\nobjective=lambdarank\n"),
        "{}",
        &text[..200.min(text.len())]
    );
    let back = from_lightgbm_text(&text).unwrap();
    assert_eq!(back.params().objective, ObjectiveKind::RankNdcg);
    assert_close(&predict(&back, &xt), &ours, "Sylvan on its LightGBM export");
    for objective in [ObjectiveKind::RankPairwise, ObjectiveKind::RankMap] {
        let (b, _) = train(objective, true, |_| {});
        let e = to_lightgbm_text(&b).unwrap_err().to_string();
        assert!(e.contains(objective.name()) && e.contains("lambdarank"), "{e}");
    }
    if !lightgbm_ready() {
        return;
    }
    let dir = ScratchDir::new("export-ranking-lgb");
    write_raw(dir.path(), None, &xt);
    let model = dir.path().join("model.txt");
    std::fs::write(&model, &text).unwrap();
    if python(&[
        "--predict-lightgbm".as_ref(),
        model.as_os_str(),
        "--dir".as_ref(),
        dir.path().as_os_str(),
    ])
    .is_none()
    {
        return;
    }
    let (theirs, _) = read_predictions(&dir.path().join("lgb_pred.json"));
    assert_close(&theirs, &ours, "LightGBM on Sylvan's lambdarank export");
}

#[test]
fn rankers_trained_by_xgboost_and_lightgbm_import() {
    if !lightgbm_ready() {
        return;
    }
    let (x, y, q) = data(100, 41, false);
    let (xt, _, _) = data(30, 42, false);
    let dir = ScratchDir::new("import-ranking");
    write_raw(dir.path(), Some((&x, &y, &q)), &xt);
    let xgb_model = dir.path().join("xgb_model.json");
    let lgb_model = dir.path().join("lgb_model.txt");
    let jobs = serde_json::json!([
        {"library": "xgboost", "name": "xgb", "num_round": 8, "save": xgb_model,
         "params": {"objective": "rank:ndcg", "max_depth": 4, "eta": 0.3, "tree_method": "hist",
                    "lambdarank_pair_method": "mean", "lambdarank_num_pair_per_sample": 2}},
        {"library": "lightgbm", "name": "lgb", "num_round": 8, "save": lgb_model,
         "params": {"objective": "lambdarank", "num_leaves": 15, "learning_rate": 0.3}},
    ]);
    if python(&[
        "--dir".as_ref(),
        dir.path().as_os_str(),
        "--jobs".as_ref(),
        jobs.to_string().as_ref(),
    ])
    .is_none()
    {
        return;
    }
    let xgb = from_xgboost_json(&std::fs::read_to_string(&xgb_model).unwrap()).unwrap();
    assert_eq!(xgb.params().objective, ObjectiveKind::RankNdcg);
    assert_eq!(xgb.params().lambdarank_pair_method, LambdarankPairMethod::Mean);
    assert_eq!(xgb.params().lambdarank_num_pair_per_sample, Some(2));
    let (theirs, _) = read_predictions(&dir.path().join("xgb.json"));
    assert_close(&predict(&xgb, &xt), &theirs, "Sylvan on XGBoost's ranker");
    let lgb = from_lightgbm_text(&std::fs::read_to_string(&lgb_model).unwrap()).unwrap();
    assert_eq!(lgb.params().objective, ObjectiveKind::RankNdcg);
    let (theirs, _) = read_predictions(&dir.path().join("lgb.json"));
    assert_close(&predict(&lgb, &xt), &theirs, "Sylvan on LightGBM's ranker");
}
