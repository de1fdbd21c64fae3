//! CI check that every kernel module compiles with NVRTC (to PTX for a fixed architecture, so no GPU
//! is needed) and defines every kernel the host code loads.
//!
//! cudarc finds libnvrtc with dlopen under the names libnvrtc.so, libnvrtc.so.12, ... so its
//! directory must be on LD_LIBRARY_PATH (CI: the lib directory of pip's nvidia-cuda-nvrtc-cu12).
//! Without NVRTC the test skips with a message, unless SYLVAN_REQUIRE_REFERENCE=1 (as in CI), where
//! it fails.

use sylvan_gpu::kernels::{compile, full_source, MODULES};

/// The architecture the check compiles for (Ampere; the kernels use nothing newer).
const ARCH: &str = "compute_80";

fn nvrtc_or_skip() -> bool {
    if sylvan_gpu::nvrtc_available() {
        return true;
    }
    let msg = "NVRTC (libnvrtc.so.12) cannot be loaded: put its directory on LD_LIBRARY_PATH, e.g. \
               $VENV/lib/python3.11/site-packages/nvidia/cuda_nvrtc/lib from `pip install nvidia-cuda-nvrtc-cu12`";
    if std::env::var("SYLVAN_REQUIRE_REFERENCE").as_deref() == Ok("1") {
        panic!("SYLVAN_REQUIRE_REFERENCE=1 but {msg}");
    }
    eprintln!("skipping the NVRTC compile check: {msg}");
    false
}

#[test]
fn every_kernel_compiles_to_ptx() {
    if !nvrtc_or_skip() {
        return;
    }
    // compute_80 for the check; compute_90 is what an H100/H200 gets (context::Gpu::open).
    for (m, arch) in MODULES.iter().flat_map(|m| [(m, ARCH), (m, "compute_90")]) {
        let ptx = compile(m, arch).unwrap_or_else(|e| panic!("{e}"));
        let text = ptx.to_src();
        let target = format!(".target {}", arch.replace("compute", "sm"));
        assert!(text.contains(&target), "module {} was not compiled for {arch}", m.name);
        for f in m.functions {
            assert!(
                text.contains(&format!(".entry {f}(")),
                "module {}: kernel {f} is missing from the PTX",
                m.name
            );
        }
        // No kernel uses device-side printf or malloc.
        assert!(
            !text.contains("vprintf") && !text.contains("malloc"),
            "module {}",
            m.name
        );
    }
}

#[test]
fn a_broken_kernel_is_reported_not_panicked() {
    if !nvrtc_or_skip() {
        return;
    }
    let bad = sylvan_gpu::kernels::KernelModule {
        name: "broken",
        source: "extern \"C\" __global__ void k(u32* p) { p[0] = undefined_name; }",
        functions: &["k"],
    };
    let e = compile(&bad, ARCH).unwrap_err().to_string();
    assert!(e.contains("broken") && e.contains("undefined_name"), "{e}");
    assert!(full_source(&bad).starts_with(sylvan_gpu::kernels::COMMON));
}
