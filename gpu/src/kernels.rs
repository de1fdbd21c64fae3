//! The CUDA C sources of every kernel, one module per job, and their compilation to PTX by NVRTC.
//!
//! Every module is `common.cuh` followed by its own `.cu` file; NVRTC compiles it at run time for
//! the device's architecture (or a fixed one, for the compile check that needs no GPU).

use cudarc::nvrtc::{compile_ptx_with_opts, CompileError, CompileOptions, Ptx};

use crate::error::{Error, Result};

/// Types and macros shared by every module.
pub const COMMON: &str = include_str!("kernels/common.cuh");

/// A kernel module: its name, its source (without [`COMMON`]) and the kernels it defines.
#[derive(Debug, Clone, Copy)]
pub struct KernelModule {
    /// Module name.
    pub name: &'static str,
    /// CUDA C source.
    pub source: &'static str,
    /// `extern "C"` kernels defined by the module.
    pub functions: &'static [&'static str],
}

/// Every kernel module.
pub const MODULES: &[KernelModule] = &[
    KernelModule {
        name: "objective",
        source: include_str!("kernels/objective.cu"),
        functions: &["grad_squared", "grad_logistic", "grad_softmax"],
    },
    KernelModule {
        name: "hist",
        source: include_str!("kernels/hist.cu"),
        functions: &[
            "grad_absmax",
            "grad_quantize",
            "iota_u32",
            "hist_build_u8",
            "hist_build_u16",
            "hist_subtract",
        ],
    },
    KernelModule {
        name: "split",
        source: include_str!("kernels/split.cu"),
        functions: &["split_features", "split_reduce"],
    },
    KernelModule {
        name: "partition",
        source: include_str!("kernels/partition.cu"),
        functions: &[
            "partition_count_u8",
            "partition_count_u16",
            "partition_scan",
            "partition_scatter_u8",
            "partition_scatter_u16",
            "partition_copy",
        ],
    },
    KernelModule {
        name: "predict",
        source: include_str!("kernels/predict.cu"),
        functions: &[
            "update_margins_u8",
            "update_margins_u16",
            "predict_raw",
            "predict_raw_cat",
        ],
    },
];

/// The full source NVRTC compiles for `module`.
pub fn full_source(module: &KernelModule) -> String {
    format!("{COMMON}\n{}", module.source)
}

/// The `compute_XY` virtual architecture for a compute capability (PTX for it runs on that device
/// and newer ones through the driver's JIT). Capabilities newer than NVRTC 12.6 knows get compute_90.
pub fn arch_for(major: i32, minor: i32) -> &'static str {
    match (major, minor) {
        (5, 0) | (5, 1) | (5, 2) | (5, 3) => "compute_50",
        (6, 0) => "compute_60",
        (6, 1) | (6, 2) => "compute_61",
        (7, 0) | (7, 2) => "compute_70",
        (7, 5) => "compute_75",
        (8, 0) => "compute_80",
        (8, 6) | (8, 7) => "compute_86",
        (8, 9) => "compute_89",
        (m, _) if m < 5 => "compute_50",
        _ => "compute_90",
    }
}

/// Compiles one module to PTX for `arch` (e.g. `compute_80`). FMA contraction is off so that the
/// f64 gain arithmetic rounds as the host's does.
pub fn compile(module: &KernelModule, arch: &'static str) -> Result<Ptx> {
    if !crate::nvrtc_available() {
        return Err(Error::NoNvrtc);
    }
    let opts = CompileOptions {
        arch: Some(arch),
        fmad: Some(false),
        name: Some(format!("{}.cu", module.name)),
        ..Default::default()
    };
    compile_ptx_with_opts(full_source(module), opts).map_err(|e| Error::Compile {
        module: module.name.to_string(),
        log: match e {
            CompileError::CompileError { log, .. } => log.to_string_lossy().into_owned(),
            other => format!("{other:?}"),
        },
    })
}

/// Compiles every module for `arch`.
pub fn compile_all(arch: &'static str) -> Result<Vec<(&'static KernelModule, Ptx)>> {
    MODULES.iter().map(|m| Ok((m, compile(m, arch)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kernel_is_defined_in_its_module() {
        for m in MODULES {
            for f in m.functions {
                assert!(
                    m.source.contains(&format!("extern \"C\" __global__ void {f}(")),
                    "{f} in {}",
                    m.name
                );
            }
        }
    }

    #[test]
    fn arch_names() {
        assert_eq!(arch_for(8, 0), "compute_80");
        assert_eq!(arch_for(9, 0), "compute_90");
        assert_eq!(arch_for(12, 0), "compute_90");
    }
}
