//! GPU tests. Those that need a CUDA device skip with a message saying why when there is none; the
//! error-path tests run everywhere.

use std::sync::Arc;

use sylvan_booster::{
    Booster, Dataset, Error as BoosterError, Params, PredictOptions, PredictOutput, TrainOptions, Tree,
};
use sylvan_gpu::{CudaBackend, GpuPredictor};

/// The backend for GPU 0, or `None` (after saying why) when this machine cannot run CUDA.
///
/// The message goes straight to the process's stderr, past the test harness's capture, so that a
/// run without a GPU shows which GPU tests did not run instead of listing them as passed silently.
fn gpu_or_skip(test: &str) -> Option<Arc<CudaBackend>> {
    if let Some(reason) = sylvan_gpu::unavailable_reason(0) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "NOT RUN (no GPU): {test}: {reason}");
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

/// One tree as a table (node, leaf?, feature, threshold, default_left, value), for failure messages.
fn tree_table(t: &Tree) -> String {
    let mut s = String::from("  node leaf feature     threshold dl        value  left right\n");
    for i in 0..t.num_nodes() {
        let leaf = t.is_leaf(i);
        if leaf {
            s += &format!(
                "  {i:>4}  yes       -             -  - {:>12.6}     -     -\n",
                t.value[i]
            );
        } else {
            s += &format!(
                "  {i:>4}   no {:>7} {:>13.6} {:>2} {:>12.6} {:>5} {:>5}\n",
                t.feature[i], t.threshold[i], t.default_left[i] as u8, t.value[i], t.left[i], t.right[i]
            );
        }
    }
    s
}

/// The differences between two trees, node by node (shape; feature, threshold and missing
/// direction of internal nodes; values beyond `tol`), or an empty list.
fn tree_differences(a: &Tree, b: &Tree, tol: f32) -> Vec<String> {
    let mut out = Vec::new();
    if a.num_nodes() != b.num_nodes() {
        out.push(format!(
            "{} nodes on the CPU, {} on the GPU",
            a.num_nodes(),
            b.num_nodes()
        ));
    }
    for i in 0..a.num_nodes().min(b.num_nodes()) {
        let (la, lb) = (a.is_leaf(i), b.is_leaf(i));
        if la != lb {
            out.push(format!(
                "node {i}: leaf on the {}",
                if la { "CPU only" } else { "GPU only" }
            ));
            continue;
        }
        if !la {
            if (a.left[i], a.right[i]) != (b.left[i], b.right[i]) {
                out.push(format!(
                    "node {i}: children ({}, {}) vs ({}, {})",
                    a.left[i], a.right[i], b.left[i], b.right[i]
                ));
            }
            if a.feature[i] != b.feature[i] {
                out.push(format!("node {i}: feature {} vs {}", a.feature[i], b.feature[i]));
            }
            if a.threshold[i] != b.threshold[i] {
                out.push(format!("node {i}: threshold {} vs {}", a.threshold[i], b.threshold[i]));
            }
            if a.default_left[i] != b.default_left[i] {
                out.push(format!(
                    "node {i}: default_left {} vs {}",
                    a.default_left[i], b.default_left[i]
                ));
            }
        }
        if (a.value[i] - b.value[i]).abs() >= tol {
            out.push(format!("node {i}: value {} vs {}", a.value[i], b.value[i]));
        }
    }
    out
}

/// Same trees (structure, features, thresholds, missing directions), leaf values and predictions
/// within 1e-4. On the first tree that differs, the failure lists every differing node (CPU value
/// first) and prints both trees as tables.
fn assert_parity(cpu: &Booster, gpu: &Booster, d: &Dataset, what: &str) {
    assert_eq!(cpu.num_trees(), gpu.num_trees(), "{what}");
    for (t, (a, b)) in cpu.trees().iter().zip(gpu.trees()).enumerate() {
        let diffs = tree_differences(a, b, 1e-4);
        if !diffs.is_empty() {
            panic!(
                "{what}: tree {t} differs (CPU vs GPU): {}\nCPU tree {t}:\n{}GPU tree {t}:\n{}",
                diffs.join("; "),
                tree_table(a),
                tree_table(b)
            );
        }
    }
    let pa = cpu.predict(d, PredictOptions::default()).unwrap();
    let pb = gpu.predict(d, PredictOptions::default()).unwrap();
    for (i, (x, y)) in pa.values.iter().zip(&pb.values).enumerate() {
        assert!((x - y).abs() < 1e-4, "{what}: prediction {i}: {x} vs {y}");
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
        Err(BoosterError::Device { device, reason }) => {
            assert_eq!(device, "cuda");
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

/// Runs without a GPU. Rebuilds, for every internal node of the CPU's trees of
/// `gpu_parity_with_sampling_lossguide_and_host_gradients`'s pseudo-Huber case (the one that failed on
/// the H200 before missing-left candidates with an empty value prefix were skipped), the node's
/// histogram the way the GPU does (each row's gradient rounded once to the fixed-point scale of
/// `grad_quantize`, integer sums) and runs the host model of the split kernels on it: it must pick
/// the CPU's feature, threshold and missing direction at every node. Gradients come from the
/// margins of the CPU's earlier trees, as in training.
#[test]
fn host_model_of_the_split_kernels_picks_the_cpu_splits_pseudohuber() {
    use sylvan_booster::backend::objective_for;
    use sylvan_booster::backend::BinMapper;
    use sylvan_booster::backend::GradStats;
    use sylvan_booster::backend::{best_split, SplitParams};
    use sylvan_booster::GradPair;
    use sylvan_gpu::layout::fixed_scale;
    use sylvan_gpu::split::reference_best_split;

    let d = data(20_000, 8, 0, 4);
    let p = params(&[("objective", "reg:pseudohubererror")]);
    let model = Booster::train(&p, &d, &[]).unwrap();
    let (n, nf) = (d.num_rows(), d.num_features());
    let mapper = BinMapper::fit(&d, p.max_bin);
    let offsets = mapper.offsets().to_vec();
    let total_bins = *offsets.last().unwrap();
    let mut x = Vec::new();
    d.rows_into(0, n, &mut x);
    let bin_of = |i: usize, f: usize| {
        let v = x[i * nf + f];
        offsets[f]
            + if v.is_nan() {
                mapper.feature(f).missing_bin()
            } else {
                mapper.feature(f).bin(v)
            }
    };
    let sp = SplitParams::from_params(&p);
    let objective = objective_for(&p);
    let features: Vec<usize> = (0..nf).collect();
    let mut margins: Vec<f64> = (0..n).map(|_| model.base_margin()[0]).collect();
    let mut pairs = vec![GradPair::new(0.0, 0.0); n];
    let mut problems = Vec::new();
    for (t, tree) in model.trees().iter().enumerate() {
        objective.gradients(d.labels(), d.weights(), &margins, &mut pairs);
        let (mg, mh) = pairs
            .iter()
            .fold((0f32, 0f32), |a, g| (a.0.max(g.grad.abs()), a.1.max(g.hess.abs())));
        let scales = (fixed_scale(mg, n), fixed_scale(mh, n));
        let q: Vec<(i64, i64)> = pairs
            .iter()
            .map(|g| {
                (
                    (g.grad as f64 * scales.0).round_ties_even() as i64,
                    (g.hess as f64 * scales.1).round_ties_even() as i64,
                )
            })
            .collect();
        // The rows of every node, by walking the CPU's tree.
        let mut node_rows: Vec<Vec<usize>> = vec![Vec::new(); tree.num_nodes()];
        for i in 0..n {
            let row = &x[i * nf..(i + 1) * nf];
            let mut j = 0usize;
            loop {
                node_rows[j].push(i);
                if tree.is_leaf(j) {
                    break;
                }
                j = tree.child(j, row);
            }
        }
        for (node, rows) in node_rows.iter().enumerate() {
            if tree.is_leaf(node) {
                continue;
            }
            let mut fixed = vec![(0i64, 0i64); total_bins];
            let mut exact = vec![GradStats::default(); total_bins];
            let mut total = GradStats::default();
            for &i in rows {
                let g = pairs[i];
                total += GradStats::new(g.grad as f64, g.hess as f64);
                for f in 0..nf {
                    let b = bin_of(i, f);
                    fixed[b].0 += q[i].0;
                    fixed[b].1 += q[i].1;
                    exact[b] += GradStats::new(g.grad as f64, g.hess as f64);
                }
            }
            let want = (
                tree.feature[node] as usize,
                tree.threshold[node],
                tree.default_left[node],
            );
            let host = reference_best_split(&fixed, &offsets, &features, scales, &sp);
            let got = host.map(|s| (s.feature, mapper.feature(s.feature).cuts[s.bin], s.default_left));
            let cpu = best_split(
                &exact,
                &sylvan_booster::backend::CellScale::IDENTITY,
                &mapper,
                &features,
                total,
                0,
                &sp,
            )
            .map(|s| (s.feature, s.threshold, s.default_left));
            if got != Some(want) || cpu != Some(want) {
                problems.push(format!(
                    "tree {t} node {node} ({} rows): model (feature, threshold, default_left) {want:?}, \
                     GPU host model {got:?} (gain {:?}), CPU best_split on this histogram {cpu:?}",
                    rows.len(),
                    host.map(|s| s.gain)
                ));
            }
        }
        for (i, m) in margins.iter_mut().enumerate() {
            *m += tree.predict_row(&x[i * nf..(i + 1) * nf]) as f64;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
