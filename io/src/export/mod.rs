//! Model formats of other libraries: Sylvan models out to, and foreign models in from, XGBoost JSON
//! ([`xgboost_json`]) and LightGBM text ([`lightgbm_text`]); and out to ONNX ([`onnx`], the
//! `ai.onnx.ml` tree-ensemble operators; export only).
//!
//! - [`export_model`] writes a [`Booster`] in a foreign format, atomically (a temporary file renamed
//!   into place); [`import_model`] reads a foreign model file into a [`Booster`] (built with
//!   [`Booster::from_parts`], so it is checked like a loaded Sylvan model and can be saved,
//!   predicted with and trained further).
//! - Only the rounds Sylvan predicts with are exported: up to the best iteration when early stopping
//!   chose one, else all of them.
//! - Category-set splits (categorical features) go out to and come in from XGBoost (categorical
//!   splits of the 3.x schema) and LightGBM (`decision_type` bit 0 with its bitsets), and out to ONNX
//!   as chains of equality tests; see docs/categorical.md for where the libraries route values
//!   differently (fractional codes, unseen codes).
//! - Anything a format cannot express (an objective it lacks, a zero-as-missing split on import, a
//!   multi-target tree ...) is an [`Error::ModelConversion`] naming what is unsupported, never a
//!   silently different model.
//!
//! ## Thresholds
//!
//! Sylvan and XGBoost send a row left when `x < threshold` (f32 compare), LightGBM when
//! `x <= threshold` (the f32 input widened to f64, against an f64 threshold). For every f32 `x`,
//! `x < t` holds exactly when `x <= prev_f32(t)` (the largest f32 below `t`), so the LightGBM
//! writer stores `prev_f32(t)`; and `x <= thr` holds exactly when `x < s` where `s` is the smallest
//! f32 strictly greater than the f64 `thr`, so the LightGBM reader stores that `s`. Both are exact for
//! every f32 input, including infinities; missing values (NaN) follow the node's default direction.
//!
//! ## Example
//!
//! ```
//! use sylvan_booster::{Booster, Dataset, Params, PredictOptions};
//! use sylvan_io::export::{from_xgboost_json, to_xgboost_json};
//!
//! let x: Vec<f32> = (0..200).map(|i| i as f32).collect();
//! let y: Vec<f32> = x.iter().map(|v| (*v > 120.0) as u8 as f32).collect();
//! let train = Dataset::from_columns(vec![x])?.with_labels(y)?;
//! let mut params = Params::default();
//! params.set("objective", "binary:logistic")?;
//! let booster = Booster::train(&params, &train, &[])?;
//!
//! let json = to_xgboost_json(&booster)?;
//! let back = from_xgboost_json(&json)?;
//! let (a, b) = (
//!     booster.predict(&train, PredictOptions::default())?,
//!     back.predict(&train, PredictOptions::default())?,
//! );
//! assert_eq!(a.values, b.values);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod lightgbm_text;
pub mod onnx;
pub mod onnx_proto;
pub mod xgboost_json;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use sylvan_booster::{Booster, ObjectiveKind, Tree};

use crate::error::{Error, Result};

pub use lightgbm_text::{from_lightgbm_text, to_lightgbm_text};
pub use onnx::to_onnx;
pub use xgboost_json::{from_xgboost_json, to_xgboost_json};

/// A foreign model format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelFormat {
    /// XGBoost's JSON model (`Booster.save_model("m.json")`), 3.x schema; 2.x files load too.
    XgboostJson,
    /// LightGBM's text model (`Booster.save_model("m.txt")`), version v4.
    LightgbmText,
    /// ONNX (`ai.onnx.ml` opset 3 tree ensembles; category-set splits as chains of `BRANCH_EQ`
    /// tests), binary protobuf; export only.
    Onnx,
}

impl ModelFormat {
    /// The name used on the command line: `xgboost-json`, `lightgbm` or `onnx`.
    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::XgboostJson => "xgboost-json",
            ModelFormat::LightgbmText => "lightgbm",
            ModelFormat::Onnx => "onnx",
        }
    }
}

impl fmt::Display for ModelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<ModelFormat> {
        match s.to_ascii_lowercase().as_str() {
            "xgboost-json" | "xgboost" | "xgb-json" => Ok(ModelFormat::XgboostJson),
            "lightgbm" | "lightgbm-text" | "lgbm" => Ok(ModelFormat::LightgbmText),
            "onnx" => Ok(ModelFormat::Onnx),
            other => Err(Error::ModelConversion {
                format: other.to_string(),
                reason: "unknown model format (expected xgboost-json, lightgbm or onnx)".into(),
            }),
        }
    }
}

/// The model as text in `format`. ONNX is binary: an error here (use [`export_bytes`]).
pub fn export_string(booster: &Booster, format: ModelFormat) -> Result<String> {
    match format {
        ModelFormat::XgboostJson => to_xgboost_json(booster),
        ModelFormat::LightgbmText => to_lightgbm_text(booster),
        ModelFormat::Onnx => Err(conversion(format, "ONNX is a binary format (use export_bytes)")),
    }
}

/// The model's file contents in `format` (text formats as UTF-8).
pub fn export_bytes(booster: &Booster, format: ModelFormat) -> Result<Vec<u8>> {
    match format {
        ModelFormat::Onnx => to_onnx(booster),
        _ => export_string(booster, format).map(String::into_bytes),
    }
}

/// A model from its text in `format`. ONNX cannot be imported: an error.
pub fn import_str(text: &str, format: ModelFormat) -> Result<Booster> {
    match format {
        ModelFormat::XgboostJson => from_xgboost_json(text),
        ModelFormat::LightgbmText => from_lightgbm_text(text),
        ModelFormat::Onnx => Err(conversion(format, "importing ONNX models is not supported")),
    }
}

/// Writes `booster` to `path` in `format`, atomically. A model the format cannot express is an
/// [`Error::Unwritable`] naming the file and what is unsupported; nothing is written then.
pub fn export_model(booster: &Booster, format: ModelFormat, path: &Path) -> Result<()> {
    let bytes = export_bytes(booster, format).map_err(|e| Error::Unwritable {
        file: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    sylvan_booster::write_atomically(path, &bytes).map_err(|e| match e {
        sylvan_booster::Error::Io { path, source } => Error::Io { file: path, source },
        other => Error::Unwritable {
            file: path.to_path_buf(),
            reason: other.to_string(),
        },
    })
}

/// Reads a model file written by XGBoost or LightGBM. A file that is not a valid model of `format`
/// (or holds something Sylvan cannot represent) is an [`Error::Unreadable`] naming it.
pub fn import_model(path: &Path, format: ModelFormat) -> Result<Booster> {
    if format == ModelFormat::Onnx {
        return Err(Error::unreadable(
            path,
            "importing ONNX models is not supported (export only)",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| Error::unreadable(path, format!("not a {format} model (not UTF-8 text)")))?;
    import_str(text, format).map_err(|e| {
        let reason = match e {
            Error::ModelConversion { reason, .. } => reason,
            other => other.to_string(),
        };
        Error::unreadable(path, format!("not a usable {format} model: {reason}"))
    })
}

// ------------------------------------------------------------------------------------------------
// Shared helpers

/// A conversion error for `format`.
pub(crate) fn conversion(format: ModelFormat, reason: impl Into<String>) -> Error {
    Error::ModelConversion {
        format: format.name().to_string(),
        reason: reason.into(),
    }
}

/// Trees per round and trees per output in a round (`num_parallel_tree`, more than 1 for boosted
/// random forests), read from the model's shape so that it holds for every Sylvan model version.
/// Within a round, trees are output by output, each output's parallel trees together (XGBoost's order).
pub(crate) fn round_layout(booster: &Booster) -> (usize, usize) {
    let k = booster.num_groups();
    let per_round = match booster.num_rounds() {
        0 => k,
        rounds => (booster.num_trees() / rounds).max(k),
    };
    (per_round, (per_round / k).max(1))
}

/// The trees Sylvan predicts with: up to the best iteration when early stopping chose one.
pub(crate) fn predicting_trees(booster: &Booster) -> &[Tree] {
    let (per_round, _) = round_layout(booster);
    let rounds = booster
        .best_iteration()
        .map_or(booster.num_rounds(), |b| (b + 1).min(booster.num_rounds()));
    &booster.trees()[..(rounds * per_round).min(booster.num_trees())]
}

/// Whether XGBoost stores the objective's base score as a probability (the margin's sigmoid).
/// Only `binary:logistic`: XGBoost 3.2 adds a `binary:logitraw` base score to the margin as it is
/// (checked: a model with base_score 0.343 predicts margin 0.343 before any tree).
pub(crate) fn is_logistic(kind: ObjectiveKind) -> bool {
    matches!(kind, ObjectiveKind::BinaryLogistic)
}

/// Whether the objective's link is the exponential (base scores are means, margins their logs).
pub(crate) fn is_log_link(kind: ObjectiveKind) -> bool {
    matches!(
        kind,
        ObjectiveKind::Poisson
            | ObjectiveKind::Gamma
            | ObjectiveKind::Tweedie
            | ObjectiveKind::SurvivalCox
            | ObjectiveKind::SurvivalAft
    )
}

/// The largest f32 strictly below `t` (`-inf` below `-f32::MAX`; `NaN` stays `NaN`).
pub fn prev_f32(t: f32) -> f32 {
    if t.is_nan() || t == f32::NEG_INFINITY {
        return t;
    }
    if t == 0.0 {
        return -f32::from_bits(1);
    }
    let bits = t.to_bits();
    if t > 0.0 {
        f32::from_bits(bits - 1)
    } else {
        f32::from_bits(bits + 1)
    }
}

/// The smallest f32 strictly above `t` (`+inf` above `f32::MAX`; `NaN` stays `NaN`).
pub fn next_f32(t: f32) -> f32 {
    if t.is_nan() || t == f32::INFINITY {
        return t;
    }
    -prev_f32(-t)
}

/// The smallest f32 strictly greater than the f64 `thr`: for every f32 `x`,
/// `(x as f64) <= thr` exactly when `x < smallest_f32_above(thr)`.
pub fn smallest_f32_above(thr: f64) -> f32 {
    if thr.is_nan() {
        return f32::NAN;
    }
    let r = thr as f32; // rounds to nearest (overflows to +-inf)
    if (r as f64) > thr {
        r
    } else {
        next_f32(r)
    }
}

/// Renumbers a tree's nodes in depth-first order from the root, so that every child comes after
/// its parent, keeping only nodes reachable from the root. `children(i)` gives `(left, right)` of
/// node `i` or `None` for a leaf. Returns the new order (old ids) and, per old id, its new id.
/// Fails on a cycle, a shared node or a child id out of range.
pub(crate) fn depth_first_order(
    n: usize,
    children: impl Fn(usize) -> Option<(usize, usize)>,
) -> std::result::Result<(Vec<usize>, Vec<usize>), String> {
    let mut new_id = vec![usize::MAX; n];
    let mut order = Vec::with_capacity(n);
    let mut stack = vec![0usize];
    while let Some(i) = stack.pop() {
        if i >= n {
            return Err(format!("a child id {i} is outside 0..{n}"));
        }
        if new_id[i] != usize::MAX {
            return Err(format!("node {i} is reached twice (a cycle or a shared node)"));
        }
        new_id[i] = order.len();
        order.push(i);
        if let Some((l, r)) = children(i) {
            stack.push(r);
            stack.push(l);
        }
    }
    Ok((order, new_id))
}

/// A node statistic (gain, cover, internal value) as a finite number, which every format can hold:
/// NaN becomes 0, infinities the largest finite f32. Leaf values are never changed this way.
pub(crate) fn finite(v: f32) -> f32 {
    if v.is_nan() {
        0.0
    } else {
        v.clamp(-f32::MAX, f32::MAX)
    }
}

/// Whether every leaf of the trees has a finite value; the first offender as an error otherwise.
pub(crate) fn check_leaves(format: ModelFormat, trees: &[Tree]) -> Result<()> {
    for (k, t) in trees.iter().enumerate() {
        if let Some(i) = (0..t.num_nodes()).find(|&i| t.is_leaf(i) && !t.value[i].is_finite()) {
            return Err(conversion(
                format,
                format!("tree {k}: leaf {i} has value {}", t.value[i]),
            ));
        }
    }
    Ok(())
}

/// Formats a list of values separated by `sep`.
pub(crate) fn join<T: fmt::Display>(values: impl IntoIterator<Item = T>, sep: &str) -> String {
    values.into_iter().map(|v| v.to_string()).collect::<Vec<_>>().join(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_neighbours() {
        for t in [0.5f32, -0.5, 1.0, -1e-30, 3.4e38, f32::MAX, -f32::MAX, 1e-45, 0.0, -0.0] {
            let p = prev_f32(t);
            assert!(p < t, "{t}");
            assert_eq!(next_f32(p), if t == 0.0 { 0.0 } else { t }, "{t}");
            let n = next_f32(t);
            assert!(n > t, "{t}");
        }
        assert_eq!(prev_f32(-f32::MAX), f32::NEG_INFINITY);
        assert_eq!(next_f32(f32::MAX), f32::INFINITY);
    }

    #[test]
    fn lightgbm_threshold_conversion_is_exact() {
        // x <= thr (f64)  <=>  x < smallest_f32_above(thr), checked on neighbours of the threshold.
        for thr in [
            0.1f64,
            -0.1,
            0.5,
            1e-35,
            1.0000000180025095e-35,
            -2.5,
            1e300,
            -1e300,
            0.0,
            3.0e38,
        ] {
            let s = smallest_f32_above(thr);
            let base = thr as f32;
            let mut xs = vec![base, prev_f32(base), next_f32(base), s, prev_f32(s), next_f32(s)];
            xs.extend([0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY]);
            for x in xs {
                assert_eq!((x as f64) <= thr, x < s, "thr {thr} x {x}");
            }
        }
        // and x < t  <=>  x <= prev_f32(t) the other way round.
        for t in [0.1f32, -3.0, 1e-20, 0.0, f32::MAX] {
            let p = prev_f32(t) as f64;
            for x in [t, prev_f32(t), next_f32(t), prev_f32(prev_f32(t))] {
                assert_eq!(x < t, (x as f64) <= p, "t {t} x {x}");
            }
        }
    }

    #[test]
    fn lightgbm_thresholds_survive_a_round_trip() {
        // Export writes prev_f32(t) as f64, import reads the smallest f32 above it: t again.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..100_000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let t = f32::from_bits((state >> 32) as u32);
            if t.is_nan() || t == f32::NEG_INFINITY || t == -f32::MAX {
                continue;
            }
            let back = smallest_f32_above(prev_f32(t) as f64);
            assert!(back == t, "{t:e} came back as {back:e}");
        }
    }

    #[test]
    fn formats_parse() {
        assert_eq!("xgboost-json".parse::<ModelFormat>().unwrap(), ModelFormat::XgboostJson);
        assert_eq!("LightGBM".parse::<ModelFormat>().unwrap(), ModelFormat::LightgbmText);
        assert_eq!("ONNX".parse::<ModelFormat>().unwrap(), ModelFormat::Onnx);
        assert!("onnx-text".parse::<ModelFormat>().is_err());
    }

    #[test]
    fn depth_first_renumbering() {
        // 0 -> (2, 1); 2 -> (3, 4)
        let kids = |i: usize| match i {
            0 => Some((2, 1)),
            2 => Some((3, 4)),
            _ => None,
        };
        let (order, new_id) = depth_first_order(5, kids).unwrap();
        assert_eq!(order, vec![0, 2, 3, 4, 1]);
        assert_eq!(new_id[1], 4);
        assert!(depth_first_order(3, |i| (i == 0).then_some((1, 1))).is_err());
        assert!(depth_first_order(2, |i| (i == 0).then_some((1, 5))).is_err());
    }
}
