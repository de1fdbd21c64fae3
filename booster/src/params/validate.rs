//! Parameter checks: every range, and the combinations that cannot work, checked once in one place;
//! an error names the first bad parameter and says what is allowed.

use crate::error::{Error, Result};
use crate::params::{
    BoosterKind, Boosting, GrowPolicy, MultiStrategy, ObjectiveKind, Params, PerFeature, SampleStrategy, TreeMethod,
};

fn check(ok: bool, name: &str, reason: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::param(name, reason))
    }
}

fn fraction(value: f64, name: &str) -> Result<()> {
    check(
        value > 0.0 && value <= 1.0,
        name,
        &format!("must be in (0, 1], got {value}"),
    )
}

impl Params {
    /// The `max_delta_step` in force: the one set, else XGBoost's default for the objective (0.7 for
    /// `count:poisson`, where it bounds the leaf weights and enters the hessian, 0 = no limit for
    /// the others).
    pub fn effective_max_delta_step(&self) -> f64 {
        self.max_delta_step.unwrap_or(match self.objective {
            ObjectiveKind::Poisson => 0.7,
            _ => 0.0,
        })
    }

    /// Checks every parameter's range; the error names the first bad one and says what is allowed.
    pub fn validate(&self) -> Result<()> {
        self.validate_ranking()?;
        check(self.max_cat_threshold >= 1, "max_cat_threshold", "must be at least 1")?;
        check(
            self.aft_loss_distribution_scale.is_finite() && self.aft_loss_distribution_scale > 0.0,
            "aft_loss_distribution_scale",
            &format!("must be a finite number > 0, got {}", self.aft_loss_distribution_scale),
        )?;
        for (value, name) in [(self.cat_smooth, "cat_smooth"), (self.cat_l2, "cat_l2")] {
            check(
                value.is_finite() && value >= 0.0,
                name,
                &format!("must be a finite number >= 0, got {value}"),
            )?;
        }
        check(self.num_round >= 1, "num_round", "must be at least 1")?;
        check(
            self.collective_timeout > 0.0 && self.collective_timeout <= 86_400.0,
            "collective_timeout",
            &format!("must be in (0, 86400] seconds, got {}", self.collective_timeout),
        )?;
        check(
            self.eta > 0.0 && self.eta <= 1.0,
            "eta",
            &format!("must be in (0, 1], got {}", self.eta),
        )?;
        check(
            self.max_depth > 0 || (self.grow_policy == GrowPolicy::Lossguide && self.max_leaves > 0),
            "max_depth",
            "0 (unlimited) is only allowed with grow_policy=lossguide and max_leaves > 0",
        )?;
        check(
            self.max_depth <= 64,
            "max_depth",
            &format!("must be at most 64, got {}", self.max_depth),
        )?;
        check(
            self.max_leaves == 0 || self.max_leaves >= 2,
            "max_leaves",
            "must be 0 (unlimited) or at least 2",
        )?;
        for (name, v) in [
            ("min_child_weight", self.min_child_weight),
            ("lambda", self.lambda),
            ("alpha", self.alpha),
            ("gamma", self.gamma),
            ("max_delta_step", self.effective_max_delta_step()),
        ] {
            check(
                v.is_finite() && v >= 0.0,
                name,
                &format!("must be finite and >= 0, got {v}"),
            )?;
        }
        check(
            self.scale_pos_weight.is_finite() && self.scale_pos_weight > 0.0,
            "scale_pos_weight",
            &format!("must be > 0, got {}", self.scale_pos_weight),
        )?;
        fraction(self.subsample, "subsample")?;
        check(self.num_parallel_tree >= 1, "num_parallel_tree", "must be at least 1")?;
        fraction(self.colsample_bytree, "colsample_bytree")?;
        fraction(self.colsample_bylevel, "colsample_bylevel")?;
        fraction(self.colsample_bynode, "colsample_bynode")?;
        check(
            (2..=65535).contains(&self.max_bin),
            "max_bin",
            &format!("must be in 2..=65535, got {}", self.max_bin),
        )?;
        if let Some(e) = self.sketch_eps {
            check(e > 0.0 && e < 1.0, "sketch_eps", &format!("must be in (0, 1), got {e}"))?;
        }
        if let Some(b) = self.base_score {
            check(b.is_finite(), "base_score", "must be finite")?;
        }
        if self.objective.is_multiclass() {
            check(
                self.num_class >= 2,
                "num_class",
                "multi:* objectives need num_class >= 2",
            )?;
        } else {
            check(
                self.num_class <= 1,
                "num_class",
                &format!(
                    "only multi:softmax and multi:softprob take num_class, objective is {}",
                    self.objective.name()
                ),
            )?;
        }
        check(
            self.huber_slope > 0.0 && self.huber_slope.is_finite(),
            "huber_slope",
            "must be > 0",
        )?;
        for (alphas, name) in [
            (&self.quantile_alpha, "quantile_alpha"),
            (&self.expectile_alpha, "expectile_alpha"),
        ] {
            check(!alphas.is_empty(), name, "needs at least one level in (0, 1)")?;
            for a in alphas.as_slice() {
                check(*a > 0.0 && *a < 1.0, name, &format!("must be in (0, 1), got {a}"))?;
            }
        }
        self.validate_outputs()?;
        check(
            (1.0..2.0).contains(&self.tweedie_variance_power),
            "tweedie_variance_power",
            &format!("must be in [1, 2), got {}", self.tweedie_variance_power),
        )?;
        if let Some(r) = self.early_stopping_rounds {
            check(r >= 1, "early_stopping_rounds", "must be at least 1")?;
        }
        self.validate_constraints_and_sampling()?;
        check(
            !self.device.is_cuda() || self.tree_method == TreeMethod::Hist,
            "device",
            "device=cuda grows trees with tree_method=hist only",
        )?;
        Ok(())
    }
}

impl Params {
    /// The settings that give a model several outputs besides `num_class`: levels of the leveled
    /// objectives, several targets, and `multi_strategy`, with what they cannot be combined with.
    fn validate_outputs(&self) -> Result<()> {
        let levels = self.num_levels();
        if self.objective == ObjectiveKind::ExpectileError && levels > 1 {
            let a = self.expectile_alpha.as_slice();
            check(
                a.windows(2).all(|w| w[0] < w[1]),
                "expectile_alpha",
                &format!(
                    "several expectiles must be strictly ascending (as XGBoost requires), got {}",
                    self.expectile_alpha
                ),
            )?;
            check(levels <= 64, "expectile_alpha", "at most 64 expectiles")?;
            check(
                self.base_score.is_none(),
                "base_score",
                "several expectiles start from their own labels' expectiles; give no base_score",
            )?;
        }
        if self.num_target > 1 {
            check(
                self.objective.is_elementwise(),
                "num_target",
                &format!(
                    "several label columns need an element-wise objective (reg:*, binary:*, count:poisson); {} \
                     fits one label per row",
                    self.objective.name()
                ),
            )?;
            check(
                levels == 1,
                "num_target",
                "several label columns with several quantile/expectile levels are not supported: give one level",
            )?;
        }
        if self.num_groups() > 1 && !self.objective.is_multiclass() {
            let what = if levels > 1 {
                "several quantile/expectile levels"
            } else {
                "several targets"
            };
            check(
                !self.device.is_cuda(),
                "device",
                &format!("device=cuda does not train {what}; use device=cpu"),
            )?;
        }
        if self.multi_strategy == MultiStrategy::MultiOutputTree {
            check(
                !self.objective.is_multiclass() && !self.objective.is_ranking() && self.survival_free(),
                "multi_strategy",
                &format!(
                    "multi_output_tree grows trees for several targets or levels, not for {}",
                    self.objective.name()
                ),
            )?;
            if self.num_groups() > 1 {
                check(
                    self.tree_method == TreeMethod::Hist,
                    "multi_strategy",
                    "multi_output_tree needs tree_method=hist",
                )?;
                check(
                    self.boosting == Boosting::Newton,
                    "multi_strategy",
                    "multi_output_tree needs boosting=newton",
                )?;
                check(
                    self.booster == BoosterKind::Gbtree,
                    "multi_strategy",
                    "multi_output_tree cannot be combined with booster=dart",
                )?;
                check(
                    self.monotone_constraints.is_unset() && self.interaction_constraints.is_empty(),
                    "multi_strategy",
                    "multi_output_tree does not take monotone or interaction constraints",
                )?;
            }
        }
        Ok(())
    }

    fn survival_free(&self) -> bool {
        !matches!(self.objective, ObjectiveKind::SurvivalCox | ObjectiveKind::SurvivalAft)
    }

    /// The ranges of the DART and GOSS settings, and the combinations they cannot be used in.
    fn validate_constraints_and_sampling(&self) -> Result<()> {
        for (value, name) in [
            (self.rate_drop, "rate_drop"),
            (self.skip_drop, "skip_drop"),
            (self.top_rate, "top_rate"),
        ] {
            check(
                (0.0..=1.0).contains(&value),
                name,
                &format!("must be in [0, 1], got {value}"),
            )?;
        }
        fraction(self.other_rate, "other_rate")?;
        if self.data_sample_strategy == SampleStrategy::Goss {
            check(
                self.top_rate + self.other_rate <= 1.0,
                "top_rate",
                &format!(
                    "top_rate + other_rate must be at most 1, got {} + {}",
                    self.top_rate, self.other_rate
                ),
            )?;
            check(
                self.subsample >= 1.0,
                "subsample",
                "data_sample_strategy=goss samples rows itself; leave subsample at 1",
            )?;
            check(
                self.num_parallel_tree <= 1,
                "num_parallel_tree",
                "data_sample_strategy=goss grows one tree per output per round",
            )?;
        }
        if let PerFeature::ByPosition(w) = &self.feature_weights {
            check(
                w.is_empty() || w.iter().any(|&x| x > 0.0),
                "feature_weights",
                "at least one feature weight must be above 0",
            )?;
        }
        let device_refuses = |name: &str, what: &str| {
            check(
                !self.device.is_cuda(),
                name,
                &format!("device={} does not support {what} yet; train on the cpu", self.device),
            )
        };
        if !self.monotone_constraints.is_unset() {
            device_refuses("monotone_constraints", "monotone constraints")?;
        }
        if !self.interaction_constraints.is_empty() {
            device_refuses("interaction_constraints", "interaction constraints")?;
        }
        if self.booster == BoosterKind::Dart {
            device_refuses("booster", "booster=dart")?;
        }
        if self.data_sample_strategy == SampleStrategy::Goss {
            device_refuses("data_sample_strategy", "data_sample_strategy=goss")?;
        }
        Ok(())
    }
}

impl Params {
    /// The ranges of the learning-to-rank settings (`lambdarank_*`, `ndcg_exp_gain`,
    /// `label_gain`) and what ranking cannot be combined with.
    fn validate_ranking(&self) -> Result<()> {
        check(
            self.lambdarank_num_pair_per_sample != Some(0),
            "lambdarank_num_pair_per_sample",
            "must be at least 1",
        )?;

        check(
            self.lambdarank_bias_norm.is_finite() && self.lambdarank_bias_norm >= 0.0,
            "lambdarank_bias_norm",
            &format!("must be a finite number >= 0, got {}", self.lambdarank_bias_norm),
        )?;
        if let Some(g) = self.label_gain.iter().find(|g| !(g.is_finite() && **g >= 0.0)) {
            return Err(Error::param(
                "label_gain",
                format!("every gain must be a finite number >= 0, got {g}"),
            ));
        }
        if self.objective.is_ranking() {
            check(
                !self.device.is_cuda(),
                "device",
                &format!(
                    "device={} does not support {} yet; train on the cpu",
                    self.device,
                    self.objective.name()
                ),
            )?;
        }
        Ok(())
    }
}
