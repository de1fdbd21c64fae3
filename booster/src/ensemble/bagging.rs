//! Bagging (bootstrap aggregation): `n_estimators` boosters, each trained on its own row sample
//! (drawn with or without replacement) and its own subset of the features, averaged at prediction.
//!
//! A member's row sample is given to it as sample weights — the original weight times the number of
//! times the row was drawn — so no rows are copied and rows that were not drawn weigh nothing.
//! Features left out of a member are hidden from it as all-missing columns, so every member reads
//! the full data at prediction. Per-node feature sampling is the base learner's `colsample_bynode`.
//!
//! Rows a member never saw are its out-of-bag rows; averaging each row's predictions over the members
//! that did not see it gives out-of-bag predictions and an out-of-bag score for every metric — an
//! estimate of held-out performance without a validation set.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rand::RngExt;
use rayon::prelude::*;
use rayon::ThreadPool;
use serde::{Deserialize, Serialize};

use super::{
    check_features, check_training_data, evaluate_scores, member_scores, metrics_or_default, output_from_scores,
    reweighted,
};
use crate::data::column::Column;
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::model::booster::{thread_pool, Booster};
use crate::model::file::{read_text, with_path, Header};
use crate::objective::objective_for;
use crate::params::Params;
use crate::predict::Predictions;
use crate::train::sampling::stream;
use crate::train::trainer::TrainOptions;
use crate::util::atomic_file::write_atomically;

/// Settings of a [`Bagging`] ensemble (the members' own settings are ordinary [`Params`]).
///
/// Deserialises from any serde map of these names (TOML, JSON); unknown names are an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BaggingParams {
    /// Number of members. Default 10, at least 1.
    pub n_estimators: usize,
    /// Draw each member's rows with replacement (a bootstrap sample, default `true`) or without.
    pub bootstrap: bool,
    /// Rows drawn for each member, as a fraction of the training rows. Default 1, range (0, 1]; at
    /// least one row is drawn. Without `bootstrap` it must be below 1 for any out-of-bag rows.
    pub max_samples: f64,
    /// Fraction of the features each member may use (`max(1, round(max_features * num_features))`
    /// of them). Default 1, range (0, 1]. Alias `colsample`.
    #[serde(alias = "colsample")]
    pub max_features: f64,
    /// Seed of the row and feature draws; each member's own `seed` is derived from it. Default 0.
    #[serde(alias = "random_state")]
    pub seed: u64,
    /// Compute out-of-bag predictions and scores after training. Default `true`.
    pub oob_score: bool,
}

impl Default for BaggingParams {
    fn default() -> Self {
        BaggingParams {
            n_estimators: 10,
            bootstrap: true,
            max_samples: 1.0,
            max_features: 1.0,
            seed: 0,
            oob_score: true,
        }
    }
}

impl BaggingParams {
    /// Checks every setting's range; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        if self.n_estimators == 0 {
            return Err(Error::param(
                "n_estimators",
                "a bagging ensemble needs at least 1 member",
            ));
        }
        for (name, v) in [("max_samples", self.max_samples), ("max_features", self.max_features)] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(Error::param(name, format!("must be in (0, 1], got {v}")));
            }
        }
        Ok(())
    }

    /// Sets one setting from its textual value (`n_estimators=50`, `bootstrap=false`).
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let mut map = match serde_json::to_value(&*self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return Err(Error::param(name, "internal error: settings are not a map")),
        };
        let canonical = match name {
            "colsample" => "max_features",
            "random_state" => "seed",
            other => other,
        };
        if !map.contains_key(canonical) {
            let known: Vec<&str> = map.keys().map(String::as_str).collect();
            return Err(Error::param(
                name,
                format!("unknown bagging setting; known settings: {}", known.join(", ")),
            ));
        }
        let parsed = serde_json::from_str::<serde_json::Value>(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        map.insert(canonical.to_string(), parsed);
        *self = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| Error::param(name, format!("bad value `{value}`: {e}")))?;
        Ok(())
    }
}

/// Out-of-bag results of a trained [`Bagging`] ensemble.
#[derive(Debug, Clone, PartialEq)]
pub struct OutOfBag {
    /// Averaged out-of-bag scores in output space (probabilities or values), `num_groups` per row,
    /// row-major; `NaN` for rows that every member saw.
    pub scores: Predictions,
    /// Rows with an out-of-bag prediction (the scores below are over these rows).
    pub rows: usize,
    /// `(metric, value)` over the rows with an out-of-bag prediction.
    pub metrics: Vec<(String, f64)>,
}

/// A fitted bagging ensemble of boosters.
///
/// Bagging (bootstrap aggregation): `n_estimators` boosters, each trained on its own row sample
/// (drawn with or without replacement) and its own subset of the features, averaged at prediction.
///
/// A member's row sample is given to it as sample weights — the original weight times the number of
/// times the row was drawn — so no rows are copied and rows that were not drawn weigh nothing.
/// Features left out of a member are hidden from it as all-missing columns, so every member reads
/// the full data at prediction. Per-node feature sampling is the base learner's `colsample_bynode`.
///
/// Rows a member never saw are its out-of-bag rows; averaging each row's predictions over the members
/// that did not see it gives out-of-bag predictions and an out-of-bag score for every metric — an
/// estimate of held-out performance without a validation set.
pub struct Bagging {
    settings: BaggingParams,
    base: Params,
    members: Vec<Booster>,
    features: Vec<Vec<usize>>,
    oob: Option<OutOfBag>,
    /// OOB rows and metrics as saved (kept when the per-row scores are not).
    oob_summary: Option<(usize, Vec<(String, f64)>)>,
    attributes: BTreeMap<String, String>,
    pool: Arc<ThreadPool>,
}

impl std::fmt::Debug for Bagging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bagging")
            .field("settings", &self.settings)
            .field("objective", &self.base.objective.name())
            .field("members", &self.members.len())
            .finish()
    }
}

/// The on-disk form.
#[derive(Serialize, Deserialize)]
struct BaggingFile {
    #[serde(flatten)]
    header: Header,
    settings: BaggingParams,
    base: Params,
    features: Vec<Vec<usize>>,
    oob_rows: Option<usize>,
    oob_metrics: Vec<(String, f64)>,
    members: Vec<serde_json::Value>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
}

/// How many times each row is drawn for member `e`.
fn draw_counts(settings: &BaggingParams, n: usize, e: usize) -> Vec<u32> {
    let m = ((settings.max_samples * n as f64).round() as usize).clamp(1, n);
    let mut rng = stream(settings.seed, &[0x6261_6767, e as u64, 1]);
    let mut counts = vec![0u32; n];
    if settings.bootstrap {
        for _ in 0..m {
            counts[rng.random_range(0..n)] += 1;
        }
    } else {
        for i in rand::seq::index::sample(&mut rng, n, m) {
            counts[i] = 1;
        }
    }
    counts
}

/// The features member `e` may use, ascending.
fn draw_features(settings: &BaggingParams, nf: usize, e: usize) -> Vec<usize> {
    if settings.max_features >= 1.0 {
        return (0..nf).collect();
    }
    let m = ((settings.max_features * nf as f64).round() as usize).clamp(1, nf);
    let mut rng = stream(settings.seed, &[0x6261_6767, e as u64, 2]);
    let mut f: Vec<usize> = rand::seq::index::sample(&mut rng, nf, m).into_iter().collect();
    f.sort_unstable();
    f
}

/// Member `e`'s parameters: the base ones with a seed of its own, run on the ensemble's pool.
fn member_params(settings: &BaggingParams, base: &Params, e: usize) -> Params {
    let mut p = base.clone();
    p.seed = stream(settings.seed ^ base.seed, &[0x6261_6767, e as u64, 3]).random::<u64>();
    p.nthread = 1;
    p
}

impl Bagging {
    /// Trains `settings.n_estimators` members with parameters `base` on row and feature samples of
    /// `train` (in parallel on `base.nthread` threads; the result does not depend on it), then
    /// computes out-of-bag predictions and scores (`base.eval_metric`, or the objective's metric)
    /// when `settings.oob_score` is set. Every setting is checked before any training starts.
    pub fn train(settings: &BaggingParams, base: &Params, train: &Dataset) -> Result<Bagging> {
        settings.validate()?;
        base.validate()?;
        check_training_data(base, train)?;
        let pool = thread_pool(base.nthread)?;
        Bagging::train_in(settings, base, train, &pool)
    }

    /// [`Bagging::train`] on a given thread pool (shared with an enclosing ensemble).
    pub(crate) fn train_in(
        settings: &BaggingParams,
        base: &Params,
        train: &Dataset,
        pool: &Arc<ThreadPool>,
    ) -> Result<Bagging> {
        settings.validate()?;
        base.validate()?;
        check_training_data(base, train)?;
        let pool = pool.clone();
        let n = train.num_rows();
        let nf = train.num_features();
        let features: Vec<Vec<usize>> = (0..settings.n_estimators)
            .map(|e| draw_features(settings, nf, e))
            .collect();
        let members = pool.install(|| {
            (0..settings.n_estimators)
                .into_par_iter()
                .map(|e| {
                    let counts = draw_counts(settings, n, e);
                    let weights: Vec<f32> = counts
                        .iter()
                        .enumerate()
                        .map(|(i, c)| train.weight(i) * *c as f32)
                        .collect();
                    let columns = (features[e].len() < nf).then(|| {
                        let mut keep = vec![false; nf];
                        for &j in &features[e] {
                            keep[j] = true;
                        }
                        train
                            .columns()
                            .iter()
                            .zip(&keep)
                            .map(|(c, k)| {
                                if *k {
                                    c.clone()
                                } else {
                                    Column::Sparse {
                                        rows: Vec::new(),
                                        values: Vec::new(),
                                    }
                                }
                            })
                            .collect()
                    });
                    let data = reweighted(train, weights, columns)
                        .map_err(|err| Error::data(format!("bagging member {e}: its row sample is unusable: {err}")))?;
                    let params = member_params(settings, base, e);
                    let objective = objective_for(&params);
                    Booster::train_in_pool(&params, &data, &[], TrainOptions::default(), objective, pool.clone())
                })
                .collect::<Result<Vec<Booster>>>()
        })?;
        let mut bagging = Bagging {
            settings: settings.clone(),
            base: base.clone(),
            members,
            features,
            oob: None,
            oob_summary: None,
            attributes: BTreeMap::new(),
            pool,
        };
        if settings.oob_score {
            bagging.oob = bagging.out_of_bag(train)?;
            bagging.oob_summary = bagging.oob.as_ref().map(|o| (o.rows, o.metrics.clone()));
        }
        Ok(bagging)
    }

    /// Averages each training row's scores over the members that did not see it.
    fn out_of_bag(&self, train: &Dataset) -> Result<Option<OutOfBag>> {
        let n = train.num_rows();
        let k = self.num_groups();
        let mut sums = vec![0f64; n * k];
        let mut votes = vec![0u32; n];
        self.pool.install(|| {
            for (e, member) in self.members.iter().enumerate() {
                let counts = draw_counts(&self.settings, n, e);
                if counts.iter().all(|c| *c > 0) {
                    continue;
                }
                let s = member_scores(member, train)?;
                sums.par_chunks_mut(k)
                    .zip(votes.par_iter_mut())
                    .enumerate()
                    .filter(|(i, _)| counts[*i] == 0)
                    .for_each(|(i, (sum, v))| {
                        *v += 1;
                        for (o, x) in sum.iter_mut().zip(&s[i * k..(i + 1) * k]) {
                            *o += *x as f64;
                        }
                    });
            }
            Ok::<(), Error>(())
        })?;
        let covered: Vec<usize> = (0..n).filter(|&i| votes[i] > 0).collect();
        if covered.is_empty() {
            return Ok(None);
        }
        let scores: Vec<f32> = sums
            .chunks_exact(k)
            .zip(&votes)
            .flat_map(|(s, v)| {
                s.iter()
                    .map(move |x| if *v > 0 { (*x / *v as f64) as f32 } else { f32::NAN })
            })
            .collect();
        let sub_scores: Vec<f32> = covered
            .iter()
            .flat_map(|&i| scores[i * k..(i + 1) * k].iter().copied())
            .collect();
        let labels: Vec<f32> = covered.iter().map(|&i| train.labels()[i]).collect();
        let weights: Option<Vec<f32>> = train.weights().map(|w| covered.iter().map(|&i| w[i]).collect());
        let metrics = evaluate_scores(
            &self.base,
            &sub_scores,
            k,
            &labels,
            weights.as_deref(),
            &metrics_or_default(&self.base, &[]),
        )?;
        Ok(Some(OutOfBag {
            scores: Predictions {
                values: scores,
                num_rows: n,
                num_cols: k,
            },
            rows: covered.len(),
            metrics,
        }))
    }

    /// Averaged scores in output space: `num_groups` per row (probabilities for classification,
    /// values for regression), the mean over members in member order.
    pub fn predict_scores(&self, data: &Dataset) -> Result<Predictions> {
        check_features(self.num_features(), data)?;
        let n = data.num_rows();
        let k = self.num_groups();
        let mut sums = vec![0f64; n * k];
        self.pool.install(|| {
            for member in &self.members {
                let s = member_scores(member, data)?;
                sums.par_iter_mut().zip(s.par_iter()).for_each(|(o, x)| *o += *x as f64);
            }
            Ok::<(), Error>(())
        })?;
        let m = self.members.len() as f64;
        Ok(Predictions {
            values: sums.iter().map(|s| (s / m) as f32).collect(),
            num_rows: n,
            num_cols: k,
        })
    }

    /// Explains every row (`output`: [`crate::PredictOutput::Contributions`],
    /// [`crate::PredictOutput::ApproxContributions`] or [`crate::PredictOutput::Interactions`]): the
    /// mean of the members' explanations, members weighted equally as the prediction weights them.
    /// The values are in margin space and sum to the mean of the members' margins; for regression
    /// with an identity link that is the prediction itself, for classification (which averages
    /// probabilities) the mean margin, not the margin of the averaged probability.
    pub fn explain(&self, data: &Dataset, output: crate::PredictOutput) -> Result<Predictions> {
        check_features(self.num_features(), data)?;
        let options = crate::PredictOptions {
            output,
            ..Default::default()
        };
        let mut sums: Vec<f64> = Vec::new();
        let mut cols = 0;
        for member in &self.members {
            let p = member.predict(data, options)?;
            if sums.is_empty() {
                sums = vec![0f64; p.values.len()];
                cols = p.num_cols;
            }
            self.pool.install(|| {
                sums.par_iter_mut()
                    .zip(p.values.par_iter())
                    .for_each(|(o, x)| *o += *x as f64)
            });
        }
        let m = self.members.len().max(1) as f64;
        Ok(Predictions {
            values: sums.iter().map(|s| (s / m) as f32).collect(),
            num_rows: data.num_rows(),
            num_cols: cols,
        })
    }

    /// Predictions: averaged probabilities (classification; the most probable class for
    /// `multi:softmax`, the logit of the averaged probability for `binary:logitraw`) or averaged
    /// values (regression).
    pub fn predict(&self, data: &Dataset) -> Result<Predictions> {
        let s = self.predict_scores(data)?;
        Ok(output_from_scores(
            self.base.objective,
            s.values,
            s.num_rows,
            s.num_cols,
        ))
    }

    /// Evaluates metrics (default: `eval_metric` of the base parameters, else the objective's) on
    /// labelled data. Returns `(metric name, value)` pairs.
    pub fn evaluate(&self, data: &Dataset, metrics: &[Metric]) -> Result<Vec<(String, f64)>> {
        if !data.has_labels() {
            return Err(Error::data("evaluation needs labels"));
        }
        let s = self.predict_scores(data)?;
        evaluate_scores(
            &self.base,
            &s.values,
            s.num_cols,
            data.labels(),
            data.weights(),
            &metrics_or_default(&self.base, metrics),
        )
    }

    /// Out-of-bag predictions and scores, present after training with `oob_score` when at least one
    /// row was left out of some member (not kept in saved files; see [`Bagging::oob_metrics`]).
    pub fn oob(&self) -> Option<&OutOfBag> {
        self.oob.as_ref()
    }

    /// The out-of-bag `(metric, value)` pairs, also after loading from a file (empty when none were
    /// computed).
    pub fn oob_metrics(&self) -> &[(String, f64)] {
        self.oob_summary.as_ref().map_or(&[], |(_, m)| m.as_slice())
    }

    /// Number of training rows that had an out-of-bag prediction, if out-of-bag scores were computed.
    pub fn oob_rows(&self) -> Option<usize> {
        self.oob_summary.as_ref().map(|(r, _)| *r)
    }

    /// The members, in order.
    pub fn members(&self) -> &[Booster] {
        &self.members
    }

    /// The features member `i` could use (ascending column indices).
    pub fn member_features(&self, i: usize) -> Option<&[usize]> {
        self.features.get(i).map(Vec::as_slice)
    }

    /// How many times member `i` drew each of the `num_rows` training rows (0: the row is out of
    /// its bag), as scikit-learn's `estimators_samples_`; `None` for a member that does not exist
    /// or for no rows. The draw depends only on the settings, so `num_rows` must be the training
    /// set's row count.
    pub fn member_sample_counts(&self, i: usize, num_rows: usize) -> Option<Vec<u32>> {
        (i < self.members.len() && num_rows > 0).then(|| draw_counts(&self.settings, num_rows, i))
    }

    /// The ensemble's settings.
    pub fn settings(&self) -> &BaggingParams {
        &self.settings
    }

    /// The members' base parameters (each member's `seed` is derived from these and the ensemble's).
    pub fn base_params(&self) -> &Params {
        &self.base
    }

    /// Number of features the model expects.
    pub fn num_features(&self) -> usize {
        self.members.first().map_or(0, Booster::num_features)
    }

    /// Outputs per row of [`Bagging::predict_scores`] (the number of classes for multiclass, else 1).
    pub fn num_groups(&self) -> usize {
        self.members.first().map_or(1, Booster::num_groups)
    }

    /// The ensemble as JSON text (one document holding every member).
    pub fn to_json_string(&self) -> Result<String> {
        let members = self
            .members
            .iter()
            .map(|m| {
                let text = m.to_json_string()?;
                serde_json::from_str(&text).map_err(|e| Error::model(format!("cannot serialise a member: {e}")))
            })
            .collect::<Result<Vec<serde_json::Value>>>()?;
        let file = BaggingFile {
            header: Header::new("bagging"),
            settings: self.settings.clone(),
            base: self.base.clone(),
            features: self.features.clone(),
            oob_rows: self.oob_rows(),
            oob_metrics: self.oob_metrics().to_vec(),
            members,
            attributes: self.attributes.clone(),
        };
        serde_json::to_string(&file).map_err(|e| Error::model(format!("cannot serialise: {e}")))
    }

    /// Reads an ensemble from JSON text written by [`Bagging::to_json_string`], checking it fully.
    pub fn from_json_str(text: &str) -> Result<Bagging> {
        let file: BaggingFile =
            serde_json::from_str(text).map_err(|e| Error::model(format!("not a bagging ensemble: {e}")))?;
        file.header.check("bagging")?;
        file.settings
            .validate()
            .map_err(|e| Error::model(format!("bad settings: {e}")))?;
        file.base
            .validate()
            .map_err(|e| Error::model(format!("bad base params: {e}")))?;
        if file.members.len() != file.settings.n_estimators || file.features.len() != file.members.len() {
            return Err(Error::model(format!(
                "{} members and {} feature lists for n_estimators = {}",
                file.members.len(),
                file.features.len(),
                file.settings.n_estimators
            )));
        }
        let pool = thread_pool(file.base.nthread)?;
        let mut members = Vec::with_capacity(file.members.len());
        for (i, v) in file.members.iter().enumerate() {
            let mut m = Booster::from_json_str(&v.to_string()).map_err(|e| Error::model(format!("member {i}: {e}")))?;
            if m.params().objective != file.base.objective || m.params().num_class != file.base.num_class {
                return Err(Error::model(format!(
                    "member {i}: its objective differs from the ensemble's"
                )));
            }
            if let Some(first) = members.first().map(Booster::num_features) {
                if m.num_features() != first {
                    return Err(Error::model(format!(
                        "member {i} expects {} features, member 0 {first}",
                        m.num_features()
                    )));
                }
            }
            if file.features[i].iter().any(|&j| j >= m.num_features()) {
                return Err(Error::model(format!("member {i}: a feature index is out of range")));
            }
            m.pool = pool.clone();
            members.push(m);
        }
        let oob_summary = file.oob_rows.map(|r| (r, file.oob_metrics));
        Ok(Bagging {
            settings: file.settings,
            base: file.base,
            members,
            features: file.features,
            oob: None,
            oob_summary,
            attributes: file.attributes,
            pool,
        })
    }

    /// Free-form string attributes saved with the ensemble (e.g. the CLI's label column).
    pub fn attributes(&self) -> &BTreeMap<String, String> {
        &self.attributes
    }

    /// Sets a string attribute saved with the ensemble.
    pub fn set_attribute(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.attributes.insert(key.into(), value.into());
    }

    /// Feature names of the training data, if it had them.
    pub fn feature_names(&self) -> Option<&[String]> {
        self.members.first().and_then(Booster::feature_names)
    }

    /// Saves the ensemble as one JSON file, written atomically (whatever the extension).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        write_atomically(path.as_ref(), self.to_json_string()?.as_bytes())
    }

    /// Loads an ensemble saved by [`Bagging::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Bagging> {
        let path = path.as_ref();
        Bagging::from_json_str(&read_text(path)?).map_err(with_path(path))
    }
}
