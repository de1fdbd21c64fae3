//! Early stopping: training stops when the watched metric (the last evaluation set's first metric)
//! has not improved for `early_stopping_rounds` rounds; the model keeps the best round.

/// The state of early stopping during a training run.
#[derive(Debug, Clone, Default)]
pub(crate) struct EarlyStopping {
    /// `early_stopping_rounds`, or `None` when early stopping is off.
    patience: Option<usize>,
    /// The best round so far and its score.
    best: Option<(usize, f64)>,
}

impl EarlyStopping {
    /// Early stopping after `patience` rounds without improvement (`None`: never stop).
    pub(crate) fn new(patience: Option<usize>) -> EarlyStopping {
        EarlyStopping { patience, best: None }
    }

    /// Records round `round`'s watched `(value, higher_is_better)` (`None` when nothing is
    /// watched) and says whether training should stop. A NaN value never counts as an improvement.
    pub(crate) fn update(&mut self, round: usize, watched: Option<(f64, bool)>) -> bool {
        let (Some(patience), Some((v, higher))) = (self.patience, watched) else {
            return false;
        };
        let improved = match self.best {
            None => true,
            Some((_, b)) => {
                if higher {
                    v > b
                } else {
                    v < b
                }
            }
        };
        if improved && !v.is_nan() {
            self.best = Some((round, v));
        }
        self.best.is_some_and(|(b, _)| round >= b + patience)
    }

    /// Whether early stopping is on (it then reads every round's watched value).
    pub(crate) fn is_active(&self) -> bool {
        self.patience.is_some()
    }

    /// The best round and its score, when early stopping ran and saw a value.
    pub(crate) fn best(&self) -> Option<(usize, f64)> {
        self.best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_rounds_without_improvement() {
        let mut es = EarlyStopping::new(Some(2));
        let scores = [0.5, 0.4, 0.45, 0.41, 0.39];
        let stops: Vec<bool> = scores
            .iter()
            .enumerate()
            .map(|(r, v)| es.update(r, Some((*v, false))))
            .collect();
        assert_eq!(stops, [false, false, false, true, false]);
        assert_eq!(es.best(), Some((4, 0.39)));
        let mut nan_first = EarlyStopping::new(Some(1));
        assert!(!nan_first.update(0, Some((f64::NAN, true))));
        assert_eq!(nan_first.best(), None);
        let mut off = EarlyStopping::new(None);
        assert!(!off.update(10, Some((1.0, true))));
        assert_eq!(off.best(), None);
    }
}
