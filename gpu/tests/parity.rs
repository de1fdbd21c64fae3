//! GPU tests. Those that need a CUDA device skip with a message saying why when there is none; the
//! error-path tests run everywhere.

use std::sync::Arc;

use sylvan_booster::{Booster, Dataset, Error as BoosterError, Params, PredictOptions, PredictOutput, TrainOptions};
use sylvan_gpu::{CudaBackend, GpuPredictor};

/// The backend for GPU 0, or `None` (after saying why) when this machine cannot run CUDA.
fn gpu_or_skip(test: &str) -> Option<Arc<CudaBackend>> {
    if let Some(reason) = sylvan_gpu::unavailable_reason(0) {
        eprintln!("skipping {test}: {reason}");
        return None;
    }
    match CudaBackend::open(0) {
        Ok(b) => Some(Arc::new(b)),
        Err(e) => panic!("a CUDA device is present but cannot be opened: {e}"),
    }
}

fn lcg(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

/// Tie-free data: continuous features (a few missing), labels from a smooth function plus noise.
/// `kind`: 0 regression, 1 binary, 2 three classes.
fn data(n: usize, nf: usize, kind: u8, seed: u64) -> Dataset {
    let mut s = seed;
    let cols: Vec<Vec<f32>> = (0..nf)
        .map(|j| {
            (0..n)
                .map(|_| {
                    if j % 3 == 1 && lcg(&mut s) < 0.05 {
                        f32::NAN
                    } else {
                        (lcg(&mut s) * 10.0 - 5.0) as f32
                    }
                })
                .collect()
        })
        .collect();
    let y: Vec<f32> = (0..n)
        .map(|i| {
            let x = |j: usize| {
                let v = cols[j % nf][i];
                if v.is_nan() {
                    0.7
                } else {
                    v as f64
                }
            };
            let f = x(0) * 0.8 + (x(1) * 0.7).sin() * 2.0 + x(2) * x(3) * 0.1 + lcg(&mut s) * 0.5;
            match kind {
                0 => f as f32,
                1 => (f > 0.3) as u8 as f32,
                _ => {
                    if f < -1.0 {
                        0.0
                    } else if f < 1.5 {
                        1.0
                    } else {
                        2.0
                    }
                }
            }
        })
        .collect();
    Dataset::from_columns(cols).unwrap().with_labels(y).unwrap()
}

/// Parameters for both devices. The CPU's low-precision quantized gradients (`use_quantized_grad`,
/// stochastic rounding) are turned off where the core has them: the GPU sums 64-bit fixed-point
/// gradients (at least 2^29 levels), which matches the CPU's f64 sums, not its 16-bit ones.
fn params(pairs: &[(&str, &str)]) -> Params {
    let mut p = Params::default();
    let _ = p.set("use_quantized_grad", "false");
    p.set("num_round", "20").unwrap();
    p.set("max_depth", "6").unwrap();
    for (k, v) in pairs {
        p.set(k, v).unwrap();
    }
    p
}

fn train_gpu(p: &Params, d: &Dataset, backend: &Arc<CudaBackend>) -> Booster {
    let mut p = p.clone();
    p.set("device", "cuda").unwrap();
    let options = TrainOptions {
        device: Some(backend.clone()),
        ..Default::default()
    };
    Booster::train_with(&p, d, &[], options).unwrap()
}

/// Same trees (structure, features, thresholds, missing directions), leaf values and predictions
/// within 1e-4.
fn assert_parity(cpu: &Booster, gpu: &Booster, d: &Dataset, what: &str) {
    assert_eq!(cpu.num_trees(), gpu.num_trees(), "{what}");
    for (t, (a, b)) in cpu.trees().iter().zip(gpu.trees()).enumerate() {
        assert_eq!(a.left, b.left, "{what}: tree {t} shape");
        assert_eq!(a.right, b.right, "{what}: tree {t} shape");
        assert_eq!(a.default_left, b.default_left, "{what}: tree {t} missing directions");
        for i in 0..a.num_nodes() {
            if !a.is_leaf(i) {
                assert_eq!(a.feature[i], b.feature[i], "{what}: tree {t} node {i} feature");
                assert_eq!(a.threshold[i], b.threshold[i], "{what}: tree {t} node {i} threshold");
            }
            assert!(
                (a.value[i] - b.value[i]).abs() < 1e-4,
                "{what}: tree {t} node {i} value {} vs {}",
                a.value[i],
                b.value[i]
            );
        }
    }
    let pa = cpu.predict(d, PredictOptions::default()).unwrap();
    let pb = gpu.predict(d, PredictOptions::default()).unwrap();
    for (x, y) in pa.values.iter().zip(&pb.values) {
        assert!((x - y).abs() < 1e-4, "{what}: prediction {x} vs {y}");
    }
}

#[test]
fn gpu_builds_the_cpu_trees_regression() {
    let Some(gpu) = gpu_or_skip("gpu_builds_the_cpu_trees_regression") else {
        return;
    };
    let d = data(20_000, 8, 0, 1);
    let p = params(&[]);
    let cpu = Booster::train(&p, &d, &[]).unwrap();
    assert_parity(&cpu, &train_gpu(&p, &d, &gpu), &d, "regression");
}

#[test]
fn gpu_builds_the_cpu_trees_binary() {
    let Some(gpu) = gpu_or_skip("gpu_builds_the_cpu_trees_binary") else {
        return;
    };
    let d = data(20_000, 8, 1, 2);
    let p = params(&[("objective", "binary:logistic")]);
    let cpu = Booster::train(&p, &d, &[]).unwrap();
    assert_parity(&cpu, &train_gpu(&p, &d, &gpu), &d, "binary");
}

#[test]
fn gpu_builds_the_cpu_trees_multiclass() {
    let Some(gpu) = gpu_or_skip("gpu_builds_the_cpu_trees_multiclass") else {
        return;
    };
    let d = data(20_000, 8, 2, 3);
    let p = params(&[("objective", "multi:softprob"), ("num_class", "3")]);
    let cpu = Booster::train(&p, &d, &[]).unwrap();
    assert_parity(&cpu, &train_gpu(&p, &d, &gpu), &d, "multiclass");
}

#[test]
fn gpu_parity_with_sampling_lossguide_and_host_gradients() {
    let Some(gpu) = gpu_or_skip("gpu_parity_with_sampling_lossguide_and_host_gradients") else {
        return;
    };
    let d = data(20_000, 8, 0, 4);
    for pairs in [
        &[("subsample", "0.7"), ("colsample_bynode", "0.6"), ("seed", "3")][..],
        &[("grow_policy", "lossguide"), ("max_leaves", "24"), ("max_depth", "0")][..],
        // Host gradients (an objective the device does not compute) and first-order boosting.
        &[("objective", "reg:pseudohubererror")][..],
        &[("boosting", "gradient")][..],
        // u16 bins; 5000 bins per feature is wider than shared memory (the global-atomics path).
        &[("max_bin", "1000")][..],
        &[("max_bin", "5000")][..],
    ] {
        let p = params(pairs);
        let cpu = Booster::train(&p, &d, &[]).unwrap();
        assert_parity(&cpu, &train_gpu(&p, &d, &gpu), &d, &format!("{pairs:?}"));
    }
}

#[test]
fn gpu_training_is_deterministic() {
    let Some(gpu) = gpu_or_skip("gpu_training_is_deterministic") else {
        return;
    };
    let d = data(50_000, 10, 1, 5);
    let p = params(&[("objective", "binary:logistic"), ("max_depth", "8")]);
    let a = train_gpu(&p, &d, &gpu);
    let b = train_gpu(&p, &d, &gpu);
    assert_eq!(a.trees(), b.trees());
}

#[test]
fn gpu_prediction_matches_cpu_prediction() {
    let Some(_) = gpu_or_skip("gpu_prediction_matches_cpu_prediction") else {
        return;
    };
    let d = data(30_000, 8, 2, 6);
    let p = params(&[("objective", "multi:softprob"), ("num_class", "3")]);
    let model = Booster::train(&p, &d, &[]).unwrap();
    let predictor = GpuPredictor::new(0).unwrap();
    for output in [PredictOutput::Value, PredictOutput::Margin] {
        for range in [None, Some((2, 7))] {
            let options = PredictOptions {
                output,
                iteration_range: range,
            };
            let cpu = model.predict(&d, options).unwrap();
            let gpu = predictor.predict(&model, &d, options).unwrap();
            assert_eq!((cpu.num_rows, cpu.num_cols), (gpu.num_rows, gpu.num_cols));
            for (x, y) in cpu.values.iter().zip(&gpu.values) {
                assert!((x - y).abs() < 1e-5, "{output:?} {range:?}: {x} vs {y}");
            }
        }
    }
}

#[test]
fn no_cuda_gives_a_clear_error_not_a_panic() {
    if sylvan_gpu::unavailable_reason(0).is_none() {
        eprintln!("skipping no_cuda_gives_a_clear_error_not_a_panic: this machine has a CUDA device");
        return;
    }
    let e = CudaBackend::open(0).unwrap_err().to_string();
    assert!(
        e.contains("no CUDA driver found") || e.contains("no CUDA device") || e.contains("NVRTC"),
        "{e}"
    );
    assert!(GpuPredictor::new(0).is_err());
    assert!(sylvan_gpu::backend_for(sylvan_booster::Device::Cuda(0)).is_err());
    // A lazy backend reports the same error when training starts.
    let d = data(100, 3, 0, 7);
    let mut p = params(&[("device", "cuda")]);
    p.set("num_round", "2").unwrap();
    let options = TrainOptions {
        device: Some(Arc::new(CudaBackend::lazy(0))),
        ..Default::default()
    };
    match Booster::train_with(&p, &d, &[], options) {
        Err(BoosterError::InvalidParameter { name, reason }) => {
            assert_eq!(name, "device");
            assert!(reason.contains("CUDA") || reason.contains("NVRTC"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn device_cuda_without_a_backend_is_an_error() {
    let d = data(100, 3, 0, 8);
    let p = params(&[("device", "cuda:1")]);
    match Booster::train(&p, &d, &[]) {
        Err(BoosterError::InvalidParameter { name, reason }) => {
            assert_eq!(name, "device");
            assert!(reason.contains("sylvan-gpu"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}
