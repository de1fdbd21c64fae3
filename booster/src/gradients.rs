//! The numbers that flow from an objective into split finding, in one place: the per-row
//! [`GradPair`] an objective writes, the f64 [`GradStats`] sums a node or histogram bin holds, and the
//! quantized form — a gradient and a hessian packed into one `i64` ([`pack`], [`unpack`]) with the
//! [`CellScale`] that turns packed sums back into gradient sums.

use std::ops::{AddAssign, SubAssign};

/// First and second derivative of the loss for one row and output.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GradPair {
    /// First derivative of the loss with respect to the margin (times the sample weight).
    pub grad: f32,
    /// Second derivative (times the sample weight).
    pub hess: f32,
}

impl GradPair {
    /// A pair from its parts.
    pub fn new(grad: f32, hess: f32) -> Self {
        GradPair { grad, hess }
    }
}

/// Sum of gradients and hessians (f64 for accuracy).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GradStats {
    /// Sum of gradients.
    pub grad: f64,
    /// Sum of hessians.
    pub hess: f64,
}

impl GradStats {
    /// Stats from two sums.
    pub fn new(grad: f64, hess: f64) -> Self {
        GradStats { grad, hess }
    }

    /// Adds one gradient pair.
    #[inline(always)]
    pub fn add_pair(&mut self, g: GradPair) {
        self.grad += g.grad as f64;
        self.hess += g.hess as f64;
    }
}

impl AddAssign for GradStats {
    fn add_assign(&mut self, o: GradStats) {
        self.grad += o.grad;
        self.hess += o.hess;
    }
}

impl SubAssign for GradStats {
    fn sub_assign(&mut self, o: GradStats) {
        self.grad -= o.grad;
        self.hess -= o.hess;
    }
}

impl std::ops::Add for GradStats {
    type Output = GradStats;
    fn add(self, o: GradStats) -> GradStats {
        GradStats::new(self.grad + o.grad, self.hess + o.hess)
    }
}

impl std::ops::Sub for GradStats {
    type Output = GradStats;
    fn sub(self, o: GradStats) -> GradStats {
        GradStats::new(self.grad - o.grad, self.hess - o.hess)
    }
}

/// How histogram cells turn into gradient sums: the size of one quantization step of the gradient
/// and of the hessian (both 1 for f64 cells, which hold the sums themselves).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CellScale {
    /// Gradient represented by one unit of a quantized gradient.
    pub grad_unit: f64,
    /// Hessian represented by one unit of a quantized hessian.
    pub hess_unit: f64,
}

impl CellScale {
    /// The scale of cells that hold the sums themselves.
    pub const IDENTITY: CellScale = CellScale {
        grad_unit: 1.0,
        hess_unit: 1.0,
    };
}

/// Packs a quantized gradient (high 32 bits) and hessian (low 32 bits, non-negative).
#[inline(always)]
pub fn pack(grad: i32, hess: u32) -> i64 {
    ((grad as i64) << 32).wrapping_add(hess as i64)
}

/// Splits a sum of packed pairs into its gradient and hessian sums. Valid while the hessian sum
/// stays below 2^32 and the gradient sum within `i32`, which the level counts guarantee.
#[inline(always)]
pub fn unpack(v: i64) -> (i64, i64) {
    let hess = v & 0xFFFF_FFFF;
    ((v - hess) >> 32, hess)
}
