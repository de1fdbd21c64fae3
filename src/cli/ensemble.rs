//! `sylvan train` with an `[ensemble]` table in `--config`: a bagging or stacking ensemble instead
//! of a single booster, saved as one JSON model file.
//!
//! Bagging: `[ensemble]` holds `kind = "bagging"` and the bagging settings (`n_estimators`,
//! `bootstrap`, `max_samples`, `max_features`, `seed`, `oob_score`); the file's other top-level keys
//! (and `--set`) are the members' booster parameters, exactly as for a plain `sylvan train`.
//!
//! Stacking: `[ensemble]` holds `kind = "stacking"` and the stacking settings (`objective`,
//! `num_class`, `k`, `stratified`, `passthrough`, `seed`, `nthread`, `eval_metric`), one
//! `[[ensemble.base]]` table per base learner (`kind` = `booster` (default), `bagging` or `linear`)
//! and an optional `[ensemble.meta]` table (`kind` = `linear` (default) or `booster`).

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use sylvan_booster::{Bagging, BaggingParams, Model, Params, Stacking, StackingParams};
use sylvan_io::{load_for_model, load_training, ColumnSelection, CATEGORIES_ATTRIBUTE};

use super::model::LABEL_ATTRIBUTE;
use super::progress::format_evals;
use super::say;
use super::train::TrainArgs;

/// What an `[ensemble]` table asks for.
#[derive(Debug)]
pub enum EnsembleConfig {
    /// A bagging ensemble of boosters with parameters `base`.
    Bagging {
        /// The bagging settings.
        settings: BaggingParams,
        /// The members' parameters.
        base: Params,
    },
    /// A stacking ensemble.
    Stacking(StackingParams),
}

/// Reads `--config` and returns the ensemble it describes, or `None` when it has no `[ensemble]`
/// table (a plain booster). `--set` applies to the members of a bagging ensemble.
pub fn config_of(config: Option<&Path>, sets: &[String]) -> Result<Option<EnsembleConfig>> {
    let Some(path) = config else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config `{}`", path.display()))?;
    let Ok(mut table) = toml::from_str::<toml::Table>(&text) else {
        // Not valid TOML: the plain parameter reader reports it with line and key.
        return Ok(None);
    };
    let Some(ensemble) = table.remove("ensemble") else {
        return Ok(None);
    };
    let at = |what: &str| format!("config `{}`: {what}", path.display());
    let toml::Value::Table(mut ensemble) = ensemble else {
        bail!(at("`ensemble` must be a table ([ensemble])"));
    };
    let kind = match ensemble.remove("kind") {
        Some(toml::Value::String(k)) => k,
        Some(_) => bail!(at("[ensemble] kind must be a string: \"bagging\" or \"stacking\"")),
        None => bail!(at("[ensemble] needs kind = \"bagging\" or \"stacking\"")),
    };
    match kind.as_str() {
        "bagging" => {
            let settings: BaggingParams = toml::Value::Table(ensemble)
                .try_into()
                .map_err(|e| anyhow::anyhow!(at(&format!("[ensemble]: {}", e.message().trim()))))?;
            let mut base: Params = toml::Value::Table(table)
                .try_into()
                .map_err(|e| anyhow::anyhow!(at(e.message().trim())))?;
            base.apply(super::params::assignments(sets)?)?;
            settings.validate()?;
            Ok(Some(EnsembleConfig::Bagging { settings, base }))
        }
        "stacking" => {
            if !table.is_empty() {
                let keys: Vec<&str> = table.keys().map(String::as_str).collect();
                bail!(at(&format!(
                    "with a stacking [ensemble], parameters belong in [[ensemble.base]] or [ensemble.meta]; \
                     found top-level {}",
                    keys.join(", ")
                )));
            }
            if !sets.is_empty() {
                bail!("--set does not apply to a stacking ensemble; set parameters in the config's tables");
            }
            let settings: StackingParams = toml::Value::Table(ensemble)
                .try_into()
                .map_err(|e| anyhow::anyhow!(at(&format!("[ensemble]: {}", e.message().trim()))))?;
            settings.validate()?;
            Ok(Some(EnsembleConfig::Stacking(settings)))
        }
        other => bail!(at(&format!(
            "unknown ensemble kind `{other}` (expected \"bagging\" or \"stacking\")"
        ))),
    }
}

/// Trains the ensemble on `--data`, saves it to `--model-out` (always JSON) and prints a summary
/// with the out-of-bag or out-of-fold scores and the scores on any `--valid` files.
pub fn train(args: &TrainArgs, config: EnsembleConfig) -> Result<()> {
    let start = Instant::now();
    super::model::check_model_out(&args.model_out)?;
    if args.checkpoint_every.is_some() || args.resume {
        bail!(
            "--checkpoint-every and --resume need a boosted model: an [ensemble] (bagging, stacking) is trained \
             in one piece"
        );
    }
    let selection = args.columns.selection(&args.data)?;
    if !selection.base_margin.is_empty() {
        bail!("--base-margin needs a boosted model: an [ensemble] (bagging, stacking) takes no base margins");
    }
    if selection.group.is_some() || selection.label_lower.is_some() {
        bail!(
            "--group/--qid and --label-lower/--label-upper need a boosted model: an [ensemble] (bagging, \
             stacking) resamples rows and does not train ranking or survival objectives"
        );
    }
    let train = load_training(&args.data, &selection)?;
    let mut model = match &config {
        EnsembleConfig::Bagging { settings, base } => Model::Bagging(Bagging::train(settings, base, &train.dataset)?),
        EnsembleConfig::Stacking(settings) => Model::Stacking(Stacking::train(settings, &train.dataset)?),
    };
    if !train.categories.is_empty() {
        model.set_attribute(CATEGORIES_ATTRIBUTE, train.categories.to_json());
    }
    if let Some(label) = &selection.label {
        model.set_attribute(LABEL_ATTRIBUTE, label.clone());
    }
    model.save(&args.model_out)?;
    let internal = match &model {
        Model::Bagging(b) if !b.oob_metrics().is_empty() => {
            let evals: Vec<(String, String, f64)> = b
                .oob_metrics()
                .iter()
                .map(|(m, v)| ("oob".to_string(), m.clone(), *v))
                .collect();
            format_report(&evals)
        }
        Model::Stacking(s) => s
            .fold_scores()
            .iter()
            .enumerate()
            .map(|(i, scores)| {
                let evals: Vec<(String, String, f64)> = scores
                    .iter()
                    .map(|(m, v)| (format!("base[{i}] out-of-fold"), m.clone(), *v))
                    .collect();
                format_report(&evals)
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => "no out-of-bag rows".into(),
    };
    let names = train
        .dataset
        .feature_names()
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let valid_selection = ColumnSelection {
        label: selection.label.clone(),
        weight: selection.weight.clone(),
        ..Default::default()
    };
    let mut valid_reports = Vec::new();
    for (i, path) in args.valid.iter().enumerate() {
        let name = if args.valid.len() == 1 {
            "valid".to_string()
        } else {
            format!("valid_{i}")
        };
        let data = load_for_model(path, &names, &train.categories, &valid_selection)?;
        let evals: Vec<(String, String, f64)> = model
            .evaluate(&data.dataset, &[])?
            .into_iter()
            .map(|(m, v)| (name.clone(), m, v))
            .collect();
        valid_reports.push(format_report(&evals));
    }
    let kind = match &model {
        Model::Bagging(b) => format!("bagging of {} boosters", b.members().len()),
        Model::Stacking(s) => format!(
            "stacking of {} base learners over {} folds",
            s.settings().base.len(),
            s.settings().k
        ),
        Model::Booster(_) => "booster".into(),
    };
    let valid = if valid_reports.is_empty() {
        String::new()
    } else {
        format!("; {}", valid_reports.join("; "))
    };
    say(format!(
        "trained a {kind} on {} rows x {} features in {:.2}s; {internal}{valid}; model saved to {}",
        train.dataset.num_rows(),
        train.dataset.num_features(),
        start.elapsed().as_secs_f64(),
        args.model_out.display()
    ));
    Ok(())
}

/// `set-metric:value` pairs in the progress lines' format.
fn format_report(evals: &[(String, String, f64)]) -> String {
    format_evals(&sylvan_booster::RoundReport {
        round: 0,
        num_rounds: 1,
        evals: evals.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sylvan-ensemble-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn configs_parse_and_bad_ones_are_clear_errors() {
        let plain = write("plain.toml", "eta = 0.1\n");
        assert!(config_of(Some(&plain), &[]).unwrap().is_none());
        let bag = write(
            "bag.toml",
            "objective = \"binary:logistic\"\nmax_depth = 8\n[ensemble]\nkind = \"bagging\"\nn_estimators = 20\n",
        );
        match config_of(Some(&bag), &["eta=0.5".into()]).unwrap() {
            Some(EnsembleConfig::Bagging { settings, base }) => {
                assert_eq!(settings.n_estimators, 20);
                assert_eq!(base.max_depth, 8);
                assert_eq!(base.eta, 0.5);
            }
            other => panic!("{other:?}"),
        }
        let stack = write(
            "stack.toml",
            "[ensemble]\nkind = \"stacking\"\nobjective = \"binary:logistic\"\nk = 3\n\
             [[ensemble.base]]\nobjective = \"binary:logistic\"\nmax_depth = 3\n\
             [[ensemble.base]]\nkind = \"linear\"\n[ensemble.meta]\nlambda = 0.5\n",
        );
        match config_of(Some(&stack), &[]).unwrap() {
            Some(EnsembleConfig::Stacking(s)) => {
                assert_eq!(s.k, 3);
                assert_eq!(s.base.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        let k1 = write(
            "k1.toml",
            "[ensemble]\nkind = \"stacking\"\nk = 1\n[[ensemble.base]]\nmax_depth = 3\n",
        );
        let e = config_of(Some(&k1), &[]).unwrap_err().to_string();
        assert!(e.contains("`k`"), "{e}");
        let zero = write("zero.toml", "[ensemble]\nkind = \"bagging\"\nn_estimators = 0\n");
        let e = config_of(Some(&zero), &[]).unwrap_err().to_string();
        assert!(e.contains("n_estimators"), "{e}");
        let unknown = write("unknown.toml", "[ensemble]\nkind = \"boosting\"\n");
        let e = config_of(Some(&unknown), &[]).unwrap_err().to_string();
        assert!(e.contains("boosting") && e.contains("unknown.toml"), "{e}");
    }
}
