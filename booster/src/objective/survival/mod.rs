//! Survival objectives: Cox proportional hazards (`survival:cox`) and accelerated failure time
//! (`survival:aft`), with XGBoost's names, gradients and clamps.

pub mod aft;
pub mod cox;

pub use aft::{AftLoss, AftObjective};
pub use cox::CoxObjective;
