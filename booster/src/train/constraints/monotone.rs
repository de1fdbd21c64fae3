//! Monotone constraints (XGBoost's `monotone_constraints`): every node of a tree carries bounds on
//! its leaf weight, the root none. While any feature is constrained, a candidate split's child
//! weights are the regularised Newton weights clamped to the node's bounds and its gain is computed
//! from those clamped weights; a split on a feature constrained to increase (+1) whose left weight
//! exceeds its right weight is refused (and the reverse for -1). After a split on a constrained
//! feature the children's bounds meet at the midpoint of their two weights, so every leaf below
//! the left child stays on one side of every leaf below the right child, and each leaf value is
//! clamped to its node's bounds before it is shrunk by the learning rate. A model is then monotone
//! in each constrained feature (missing values follow their split's default direction and take no
//! part).

use crate::gradients::GradStats;
use crate::train::split::{leaf_weight, SplitParams};

/// The interval a node's (unshrunk) leaf weight must lie in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// Smallest weight allowed.
    pub lower: f64,
    /// Largest weight allowed.
    pub upper: f64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds::UNBOUNDED
    }
}

impl Bounds {
    /// No bounds (the root's).
    pub const UNBOUNDED: Bounds = Bounds {
        lower: f64::NEG_INFINITY,
        upper: f64::INFINITY,
    };

    /// `w` moved into the bounds (unchanged when it lies inside them).
    #[inline]
    pub fn clamp(&self, w: f64) -> f64 {
        if w < self.lower {
            self.lower
        } else if w > self.upper {
            self.upper
        } else {
            w
        }
    }

    /// The bounds of the two children of a split on a feature with constraint `constraint` whose
    /// children weigh `left` and `right` (already clamped to these bounds): for +1 the left child's
    /// upper bound and the right child's lower bound become their midpoint, for -1 the reverse,
    /// for 0 both children inherit these bounds.
    pub fn children(&self, constraint: i8, left: f64, right: f64) -> (Bounds, Bounds) {
        let (mut l, mut r) = (*self, *self);
        let mid = (left + right) / 2.0;
        match constraint.signum() {
            1 => {
                l.upper = mid;
                r.lower = mid;
            }
            -1 => {
                l.lower = mid;
                r.upper = mid;
            }
            _ => {}
        }
        (l, r)
    }
}

/// The monotone constraints a split search obeys at one node: every feature's constraint (-1, 0,
/// 1; empty when no feature is constrained) and the node's bounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Monotone<'a> {
    /// The constraint of each feature; empty = no constraint (the plain search).
    pub constraints: &'a [i8],
    /// The node's bounds.
    pub bounds: Bounds,
}

impl Monotone<'_> {
    /// No constraint at all.
    pub const NONE: Monotone<'static> = Monotone {
        constraints: &[],
        bounds: Bounds::UNBOUNDED,
    };

    /// Whether any feature is constrained (then every gain is computed from clamped weights).
    #[inline]
    pub fn is_active(&self) -> bool {
        !self.constraints.is_empty()
    }

    /// The constraint of `feature` (0 when none).
    #[inline]
    pub fn of(&self, feature: usize) -> i8 {
        self.constraints.get(feature).copied().unwrap_or(0)
    }
}

/// The regularised Newton weight of `s` clamped to `bounds`.
#[inline]
pub fn bounded_weight(s: GradStats, p: &SplitParams, bounds: Bounds) -> f64 {
    bounds.clamp(leaf_weight(s, p))
}

/// Twice the loss reduction of giving a node with sums `s` the weight `w`:
/// `-(2 G w + (H + lambda) w^2) - 2 alpha |w|` (0 without hessian), which equals
/// [`crate::train::split::node_gain`] for the unclamped weight.
#[inline]
pub fn gain_given_weight(s: GradStats, p: &SplitParams, w: f64) -> f64 {
    if s.hess <= 0.0 {
        return 0.0;
    }
    -(2.0 * s.grad * w + (s.hess + p.lambda) * w * w) - 2.0 * p.alpha * w.abs()
}

/// A node's score under its bounds: the gain of its clamped weight.
#[inline]
pub fn bounded_gain(s: GradStats, p: &SplitParams, bounds: Bounds) -> f64 {
    gain_given_weight(s, p, bounded_weight(s, p, bounds))
}

/// The children's score of a split on a feature with constraint `constraint` at a node with
/// `bounds` (the parent's score not subtracted), or `None` when the clamped weights are in the
/// wrong order for the constraint.
#[inline]
pub fn split_score(left: GradStats, right: GradStats, p: &SplitParams, bounds: Bounds, constraint: i8) -> Option<f64> {
    let wl = bounded_weight(left, p, bounds);
    let wr = bounded_weight(right, p, bounds);
    if (constraint > 0 && wl > wr) || (constraint < 0 && wl < wr) {
        return None;
    }
    Some(gain_given_weight(left, p, wl) + gain_given_weight(right, p, wr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::split::node_gain;

    fn p(alpha: f64, mds: f64) -> SplitParams {
        SplitParams {
            lambda: 1.5,
            alpha,
            min_child_weight: 0.0,
            max_delta_step: mds,
            gamma: 0.0,
            categorical: Default::default(),
        }
    }

    #[test]
    fn unclamped_gain_given_weight_is_node_gain() {
        for (g, h) in [(-4.0, 3.0), (2.5, 0.7), (0.1, 5.0), (-0.3, 0.2)] {
            let s = GradStats::new(g, h);
            for q in [p(0.0, 0.0), p(0.5, 0.0), p(0.5, 0.4), p(0.0, 0.4)] {
                let a = bounded_gain(s, &q, Bounds::UNBOUNDED);
                let b = node_gain(s, &q);
                assert!((a - b).abs() <= 1e-12 * b.abs().max(1.0), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn clamping_lowers_the_gain_and_order_is_enforced() {
        let q = p(0.0, 0.0);
        let s = GradStats::new(-4.0, 3.0); // weight 1.6
        let b = Bounds {
            lower: -1.0,
            upper: 0.5,
        };
        assert_eq!(bounded_weight(s, &q, b), 0.5);
        assert!(bounded_gain(s, &q, b) < node_gain(s, &q));
        let (l, r) = (GradStats::new(2.0, 1.0), GradStats::new(-2.0, 1.0)); // -0.8, 0.8
        assert!(split_score(l, r, &q, Bounds::UNBOUNDED, 1).is_some());
        assert!(split_score(l, r, &q, Bounds::UNBOUNDED, -1).is_none());
        assert!(split_score(r, l, &q, Bounds::UNBOUNDED, 1).is_none());
        assert!(split_score(r, l, &q, Bounds::UNBOUNDED, 0).is_some());
        // Both clamped to the same bound: equal weights pass either way.
        let tight = Bounds { lower: 0.9, upper: 1.0 };
        assert!(split_score(l, r, &q, tight, -1).is_some());
    }

    #[test]
    fn children_meet_at_the_midpoint() {
        let b = Bounds {
            lower: -2.0,
            upper: 3.0,
        };
        assert_eq!(
            b.children(1, -1.0, 2.0),
            (
                Bounds {
                    lower: -2.0,
                    upper: 0.5
                },
                Bounds { lower: 0.5, upper: 3.0 }
            )
        );
        assert_eq!(
            b.children(-1, 2.0, -1.0),
            (
                Bounds { lower: 0.5, upper: 3.0 },
                Bounds {
                    lower: -2.0,
                    upper: 0.5
                }
            )
        );
        assert_eq!(b.children(0, 2.0, -1.0), (b, b));
    }
}
