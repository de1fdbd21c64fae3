//! Setting parameters by name, as the command line, the C API and Python give them: `(name, value)`
//! text pairs with XGBoost's names and aliases ([`Params::apply`], one parser for every interface), a
//! JSON object ([`Params::from_json`]); and typed chained setters for Rust callers.

use crate::error::{Error, Result};
use crate::metric::Metric;
use crate::params::{
    AftDistribution, Alphas, BoosterKind, Boosting, DartNormalizeType, DartSampleType, Device, GrowPolicy,
    LambdarankPairMethod, MultiStrategy, ObjectiveKind, Params, PerFeature, SampleStrategy, TreeMethod,
};

impl Params {
    /// Parses parameters from a JSON object of XGBoost names (values may be numbers or strings).
    pub fn from_json(text: &str) -> Result<Params> {
        serde_json::from_str(text).map_err(|e| Error::param(unknown_name(&e.to_string()), e.to_string()))
    }

    /// Applies `(name, value)` pairs in order with [`Params::set`] (later pairs win), then validates
    /// the result: the one way the command line, the C API and Python set parameters by name.
    ///
    /// ```
    /// # use sylvan_booster::Params;
    /// let mut params = Params::default();
    /// params.apply([("objective", "binary:logistic"), ("learning_rate", "0.1"), ("max_depth", "4")])?;
    /// assert_eq!((params.eta, params.max_depth), (0.1, 4));
    /// assert!(params.apply([("max_depth", "-1")]).is_err());
    /// # Ok::<(), sylvan_booster::Error>(())
    /// ```
    pub fn apply<K: AsRef<str>, V: AsRef<str>>(&mut self, pairs: impl IntoIterator<Item = (K, V)>) -> Result<()> {
        for (name, value) in pairs {
            self.set(name.as_ref(), value.as_ref())?;
        }
        self.validate()
    }

    /// Sets one parameter from its textual value, as given on a command line (`eta=0.1`).
    /// Numbers and booleans are parsed; everything else is taken as a string. Aliases are accepted.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let mut map = self.to_full_map();
        let canonical = canonical_name(name);
        if !map.contains_key(canonical) {
            let known: Vec<&str> = map.keys().map(String::as_str).collect();
            return Err(Error::param(
                name,
                format!("unknown parameter; known parameters: {}", known.join(", ")),
            ));
        }
        let parsed = parse_value(canonical, value);
        map.insert(canonical.to_string(), parsed);
        let updated: Params = serde_json::from_value(serde_json::Value::Object(map))
            .map_err(|e| Error::param(name, format!("bad value `{value}`: {e}")))?;
        *self = updated;
        Ok(())
    }
}

/// Defines a chained setter per field: `Params::default().objective(kind).num_round(50)`.
macro_rules! typed_setters {
    ($($field:ident: $ty:ty,)*) => {
        /// Typed chained setters, one per field, named after it. They do not validate; call
        /// [`Params::validated`] at the end (training validates too).
        ///
        /// ```
        /// use sylvan_booster::{Metric, ObjectiveKind, Params};
        /// let params = Params::default()
        ///     .objective(ObjectiveKind::BinaryLogistic)
        ///     .num_round(50)
        ///     .eta(0.1)
        ///     .eval_metric(vec![Metric::Auc])
        ///     .validated()?;
        /// assert_eq!(params.num_round, 50);
        /// assert!(Params::default().subsample(1.5).validated().is_err());
        /// # Ok::<(), sylvan_booster::Error>(())
        /// ```
        impl Params {
            $(
                #[doc = concat!("Sets [`Params::", stringify!($field), "`].")]
                #[must_use]
                pub fn $field(mut self, value: $ty) -> Params {
                    self.$field = value;
                    self
                }
            )*

            /// The parameters after [`Params::validate`]: an error names the first bad one.
            pub fn validated(self) -> Result<Params> {
                self.validate()?;
                Ok(self)
            }
        }
    };
}

typed_setters! {
    objective: ObjectiveKind,
    boosting: Boosting,
    tree_method: TreeMethod,
    grow_policy: GrowPolicy,
    num_round: usize,
    eta: f64,
    max_depth: usize,
    max_leaves: usize,
    min_child_weight: f64,
    lambda: f64,
    alpha: f64,
    gamma: f64,
    max_delta_step: Option<f64>,
    scale_pos_weight: f64,
    subsample: f64,
    num_parallel_tree: usize,
    colsample_bytree: f64,
    colsample_bylevel: f64,
    colsample_bynode: f64,
    seed: u64,
    max_bin: usize,
    sketch_eps: Option<f64>,
    use_quantized_grad: bool,
    base_score: Option<f64>,
    num_class: usize,
    huber_slope: f64,
    quantile_alpha: Alphas,
    expectile_alpha: Alphas,
    num_target: usize,
    multi_strategy: MultiStrategy,
    tweedie_variance_power: f64,
    eval_metric: Vec<Metric>,
    early_stopping_rounds: Option<usize>,
    nthread: usize,
    collective_timeout: f64,
    device: Device,
    categorical_features: Vec<String>,
    max_cat_to_onehot: usize,
    max_cat_threshold: usize,
    cat_smooth: f64,
    cat_l2: f64,
    min_data_per_group: usize,
    monotone_constraints: PerFeature<i8>,
    interaction_constraints: Vec<Vec<String>>,
    feature_weights: PerFeature<f64>,
    booster: BoosterKind,
    rate_drop: f64,
    skip_drop: f64,
    one_drop: bool,
    sample_type: DartSampleType,
    normalize_type: DartNormalizeType,
    data_sample_strategy: SampleStrategy,
    top_rate: f64,
    other_rate: f64,
    lambdarank_pair_method: LambdarankPairMethod,
    lambdarank_num_pair_per_sample: Option<usize>,
    lambdarank_normalization: bool,
    lambdarank_score_normalization: bool,
    lambdarank_unbiased: bool,
    lambdarank_bias_norm: f64,
    ndcg_exp_gain: bool,
    label_gain: Vec<f64>,
    aft_loss_distribution: AftDistribution,
    aft_loss_distribution_scale: f64,
}

/// Maps an alias to the field name it stands for.
fn canonical_name(name: &str) -> &str {
    match name {
        "learning_rate" => "eta",
        "n_estimators" | "num_boost_round" => "num_round",
        "reg_lambda" => "lambda",
        "reg_alpha" => "alpha",
        "min_split_loss" => "gamma",
        "random_state" => "seed",
        "n_jobs" => "nthread",
        "categorical_feature" | "cat_feature" | "categorical_column" => "categorical_features",
        "monotone_constraint" | "mc" => "monotone_constraints",
        "interaction_constraint" => "interaction_constraints",
        "drop_rate" => "rate_drop",
        other => other,
    }
}

/// Parses a command-line value: JSON numbers and booleans as such, anything else as a string.
fn parse_value(name: &str, value: &str) -> serde_json::Value {
    let string_valued = [
        "objective",
        "boosting",
        "tree_method",
        "grow_policy",
        "eval_metric",
        "device",
        "categorical_features",
        "monotone_constraints",
        "interaction_constraints",
        "feature_weights",
        "booster",
        "sample_type",
        "normalize_type",
        "data_sample_strategy",
        "lambdarank_pair_method",
        "label_gain",
        "quantile_alpha",
        "expectile_alpha",
        "multi_strategy",
    ];
    if string_valued.contains(&name) {
        return serde_json::Value::String(value.to_string());
    }
    if value.eq_ignore_ascii_case("none") || value.eq_ignore_ascii_case("null") {
        return serde_json::Value::Null;
    }
    serde_json::from_str::<serde_json::Value>(value)
        .ok()
        .filter(|v| v.is_number() || v.is_boolean())
        .unwrap_or_else(|| serde_json::Value::String(value.to_string()))
}

/// Pulls the offending field name out of a serde error message (`unknown field `x``), if any.
fn unknown_name(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .map(str::to_string)
        .unwrap_or_else(|| "params".to_string())
}
