//! Gradient pairs of the common built-in objectives on the device (squared error, logistic,
//! softmax); every other objective is computed on the host and uploaded per tree.

use cudarc::driver::{CudaSlice, PushKernelArg};
use sylvan_booster::{ObjectiveKind, Params};

use crate::context::Gpu;
use crate::error::{Ctx, Result};
use crate::launch;

/// An objective whose gradients the device computes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeviceObjective {
    /// `reg:squarederror`.
    SquaredError,
    /// `binary:logistic` and `binary:logitraw` (same gradients).
    Logistic {
        /// `scale_pos_weight`.
        scale_pos_weight: f64,
    },
    /// `multi:softmax` and `multi:softprob` with `k` classes.
    Softmax {
        /// Number of classes.
        k: usize,
    },
}

impl DeviceObjective {
    /// The device objective for `params`, if the objective is built in and supported.
    pub fn for_params(params: &Params, builtin: bool) -> Option<DeviceObjective> {
        if !builtin {
            return None;
        }
        match params.objective {
            ObjectiveKind::SquaredError => Some(DeviceObjective::SquaredError),
            ObjectiveKind::BinaryLogistic | ObjectiveKind::BinaryLogitRaw => Some(DeviceObjective::Logistic {
                scale_pos_weight: params.scale_pos_weight,
            }),
            ObjectiveKind::MultiSoftmax | ObjectiveKind::MultiSoftprob => Some(DeviceObjective::Softmax {
                k: params.num_class.max(1),
            }),
            _ => None,
        }
    }
}

/// Writes the pairs of `n` rows (2 x f32 per row and output) into `out` from `margins`.
pub fn gradients(
    gpu: &Gpu,
    objective: DeviceObjective,
    margins: &CudaSlice<f64>,
    labels: &CudaSlice<f32>,
    weights: &CudaSlice<f32>,
    n: usize,
    out: &mut CudaSlice<f32>,
) -> Result<()> {
    let n32 = n as u32;
    let cfg = launch::grid_stride(n);
    let s = &gpu.stream;
    // In all three launches margins hold n x k values (k = 1 but for softmax), labels and weights
    // n, out 2 x n x k.
    let r = match objective {
        // SAFETY: the argument list matches grad_squared's signature (margins, labels, weights, n,
        // out); the buffer sizes are as above.
        DeviceObjective::SquaredError => unsafe {
            s.launch_builder(gpu.function("grad_squared")?)
                .arg(margins)
                .arg(labels)
                .arg(weights)
                .arg(&n32)
                .arg(out)
                .launch(cfg)
        },
        // SAFETY: the argument list matches grad_logistic's signature (margins, labels, weights,
        // scale_pos_weight, n, out); the buffer sizes are as above.
        DeviceObjective::Logistic { scale_pos_weight } => unsafe {
            s.launch_builder(gpu.function("grad_logistic")?)
                .arg(margins)
                .arg(labels)
                .arg(weights)
                .arg(&scale_pos_weight)
                .arg(&n32)
                .arg(out)
                .launch(cfg)
        },
        DeviceObjective::Softmax { k } => {
            let k32 = k as u32;
            // SAFETY: the argument list matches grad_softmax's signature (margins, labels, weights,
            // n, k, out); the buffer sizes are as above.
            unsafe {
                s.launch_builder(gpu.function("grad_softmax")?)
                    .arg(margins)
                    .arg(labels)
                    .arg(weights)
                    .arg(&n32)
                    .arg(&k32)
                    .arg(out)
                    .launch(cfg)
            }
        }
    };
    r.ctx("gradient kernel")?;
    Ok(())
}
