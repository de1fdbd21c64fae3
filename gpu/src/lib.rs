//! # sylvan-gpu
//!
//! The CUDA backend of Sylvan: histogram training and prediction on NVIDIA GPUs through `cudarc`,
//! with kernels compiled at run time by NVRTC. This crate is a stub until the CUDA issue fills it;
//! today it only reports whether a CUDA driver and NVRTC can be loaded on this machine.
//!
//! ```
//! // Never panics, also on machines without CUDA.
//! let available = sylvan_gpu::cuda_available();
//! println!("CUDA available: {available}");
//! ```

/// Whether both the CUDA driver library and NVRTC can be loaded on this machine.
///
/// cudarc panics on first use when the libraries are absent, so every GPU entry point must check this
/// first and return an error instead.
pub fn cuda_available() -> bool {
    // SAFETY: these only try to open the shared libraries (dlopen) and report whether that worked;
    // they call no CUDA function.
    unsafe { cudarc::driver::sys::is_culib_present() && cudarc::nvrtc::sys::is_culib_present() }
}
