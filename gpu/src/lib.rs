//! # sylvan-gpu
//!
//! The CUDA backend of Sylvan: histogram training and batch prediction on NVIDIA GPUs through
//! `cudarc`, with kernels compiled at run time by NVRTC, so the same binary runs with or without
//! CUDA (the libraries are loaded when first needed; without them every entry point returns a clear
//! error instead of panicking).
//!
//! - [`CudaBackend`] implements the learning core's [`sylvan_booster::DeviceBackend`]: with
//!   `device=cuda` the quantized matrix is uploaded once per training, gradients of the common
//!   objectives are computed on the device, and every tree is grown through the same
//!   [`sylvan_booster::backend::TreeBackend`] seam as on the CPU, with histograms, split search and row
//!   partitioning on the GPU (a whole level per launch sequence).
//! - [`GpuPredictor`] predicts in-memory models on the GPU.
//! - One module per job: [`context`] (driver, device, kernel loading), [`kernels`] (the CUDA C
//!   sources and NVRTC), [`hist`], [`split`], [`partition`], [`objective`], [`predict`], [`backend`];
//!   [`layout`] holds the host-side arithmetic (chunk tables, fixed point, split records);
//!   [`launch`] the kernels' launch configurations and the u8/u16 bin-width dispatch;
//!   [`profile`] the opt-in per-phase training times (`SYLVAN_GPU_PROFILE=1`).
//!
//! Histogram sums are 64-bit fixed point (integer atomics), so they are deterministic.
//!
//! ```
//! use sylvan_booster::{Booster, Dataset, Device, Params, TrainOptions};
//!
//! // Never panics, also on machines without CUDA.
//! println!("CUDA available: {}", sylvan_gpu::cuda_available());
//! match sylvan_gpu::CudaBackend::open(0) {
//!     Ok(backend) => {
//!         let x: Vec<f32> = (0..1000).map(|i| i as f32).collect();
//!         let y: Vec<f32> = x.iter().map(|v| (*v > 500.0) as u8 as f32).collect();
//!         let train = Dataset::from_columns(vec![x])?.with_labels(y)?;
//!         let params = Params::default().device(Device::Cuda(0));
//!         let options = TrainOptions { device: Some(std::sync::Arc::new(backend)), ..Default::default() };
//!         let booster = Booster::train_with(&params, &train, &[], options)?;
//!         assert_eq!(booster.num_trees(), 10);
//!     }
//!     Err(e) => println!("no GPU here: {e}"),
//! }
//! # Ok::<(), sylvan_booster::Error>(())
//! ```

#![warn(missing_docs)]

pub mod backend;
pub mod context;
pub mod error;
pub mod hist;
pub mod kernels;
pub mod launch;
pub mod layout;
pub mod objective;
pub mod partition;
pub mod predict;
pub mod profile;
pub mod split;

use std::sync::Arc;

pub use backend::CudaBackend;
pub use context::Gpu;
pub use error::{Error, Result};
pub use predict::GpuPredictor;

/// Whether the CUDA driver library can be loaded on this machine (says nothing about devices).
pub fn driver_available() -> bool {
    // SAFETY: this only tries to open the shared library (dlopen) and reports whether that worked;
    // it calls no CUDA function.
    unsafe { cudarc::driver::sys::is_culib_present() }
}

/// Whether NVRTC (the run-time CUDA compiler) can be loaded on this machine.
pub fn nvrtc_available() -> bool {
    // SAFETY: as above, for libnvrtc.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// Whether both the CUDA driver library and NVRTC can be loaded on this machine.
///
/// cudarc panics on first use when the libraries are absent, so every GPU entry point checks this
/// first and returns an error instead.
pub fn cuda_available() -> bool {
    driver_available() && nvrtc_available()
}

/// Why GPU `ordinal` cannot be used, or `None` when it can (driver, NVRTC and the device present).
pub fn unavailable_reason(ordinal: usize) -> Option<String> {
    match context::device_count() {
        Err(e) => Some(e.to_string()),
        Ok(n) if ordinal >= n => Some(
            Error::NoDevice {
                ordinal: Some(ordinal),
                reason: format!("this machine has {n} CUDA device(s)"),
            }
            .to_string(),
        ),
        Ok(_) if !nvrtc_available() => Some(Error::NoNvrtc.to_string()),
        Ok(_) => None,
    }
}

/// The device backend for `device` (`None` for the CPU): what `TrainOptions::device` needs.
pub fn backend_for(device: sylvan_booster::Device) -> Result<Option<Arc<dyn sylvan_booster::DeviceBackend>>> {
    match device {
        sylvan_booster::Device::Cpu => Ok(None),
        sylvan_booster::Device::Cuda(o) => Ok(Some(Arc::new(CudaBackend::open(o)?))),
    }
}
