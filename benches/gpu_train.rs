//! GPU training and prediction benchmark: 10,000,000 x 28 binary (HIGGS-shaped generated data),
//! 100 rounds, max_depth 8, max_bin 255, eta 0.1.
//!
//! `cargo bench --bench gpu_train` reports
//! - the GPU training time (`device=cuda`: binning on the CPU, upload, then every round on the GPU),
//! - the CPU training time of the same build with the same parameters (all cores unless
//!   `SYLVAN_BENCH_THREADS` is set; `SYLVAN_BENCH_CPU=0` skips it),
//! - GPU and CPU batch prediction throughput over the training rows,
//! - whether both built the same trees and how far their predictions are apart.
//!
//! Nothing is asserted (benchmarks are run, not asserted). With no CUDA driver, NVRTC or device it
//! prints why and exits 0. Run without `--bench` (as `cargo test` does) it does nothing heavy: the
//! skip message, or a 20,000-row smoke run when a GPU is present.
//!
//! Environment: `SYLVAN_BENCH_ROWS` (default 10,000,000), `SYLVAN_BENCH_ROUNDS` (100),
//! `SYLVAN_BENCH_THREADS` (0 = all cores), `SYLVAN_BENCH_CPU=0`, `SYLVAN_BENCH_DEVICE` (`cuda:0`),
//! `SYLVAN_BENCH_CPU_EXACT=1` (the CPU sums f64 gradients like the GPU instead of its default
//! quantized gradients, so that the trees can be compared).

use std::sync::Arc;
use std::time::Instant;

use sylvan::booster::Device;
use sylvan::gpu::{CudaBackend, GpuPredictor};
use sylvan::{Booster, Dataset, Params, PredictOptions, TrainOptions};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// HIGGS-shaped data: 21 "kinematic" features and 7 derived ones, labels from a nonlinear function
/// plus noise. Generated in parallel blocks with a counter-based hash, so it is the same for any
/// number of threads.
fn generate(n: usize) -> Dataset {
    fn u(i: u64, j: u64) -> f32 {
        let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ j.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        ((z >> 40) as f32) / (1u64 << 24) as f32
    }
    let mut cols: Vec<Vec<f32>> = (0..28).map(|_| vec![0f32; n]).collect();
    let mut y = vec![0f32; n];
    std::thread::scope(|s| {
        let threads = std::thread::available_parallelism().map_or(1, |t| t.get()).min(32);
        let per = n.div_ceil(threads).max(1);
        let mut col_chunks: Vec<Vec<&mut [f32]>> = (0..threads).map(|_| Vec::new()).collect();
        for c in cols.iter_mut() {
            for (t, chunk) in c.chunks_mut(per).enumerate() {
                col_chunks[t].push(chunk);
            }
        }
        for (t, (mut cs, ys)) in col_chunks.into_iter().zip(y.chunks_mut(per)).enumerate() {
            s.spawn(move || {
                for k in 0..ys.len() {
                    let i = (t * per + k) as u64;
                    let mut v = [0f32; 28];
                    for (j, x) in v.iter_mut().enumerate().take(21) {
                        let a = u(i, j as u64);
                        *x = if j % 4 == 3 {
                            a * std::f32::consts::TAU - std::f32::consts::PI
                        } else {
                            (-(a.max(1e-7)).ln()).min(8.0)
                        };
                    }
                    for j in 21..28 {
                        v[j] = (v[j - 21] * v[j - 20]).sqrt() + 0.1 * u(i, j as u64);
                    }
                    let f = v[0] - 0.8 * v[1] + (v[3] * 1.5).sin() + 0.4 * v[21] * v[22] - 0.3 * v[25]
                        + 0.8 * (u(i, 99) - 0.5);
                    ys[k] = (f > 0.4) as u8 as f32;
                    for (j, c) in cs.iter_mut().enumerate() {
                        c[k] = v[j];
                    }
                }
            });
        }
    });
    Dataset::from_columns(cols).unwrap().with_labels(y).unwrap()
}

fn params(rounds: usize, threads: usize) -> Params {
    let mut p = Params::default();
    for (k, v) in [
        ("objective", "binary:logistic".to_string()),
        ("num_round", rounds.to_string()),
        ("eta", "0.1".into()),
        ("max_depth", "8".into()),
        ("max_bin", "255".into()),
        ("nthread", threads.to_string()),
    ] {
        p.set(k, &v).unwrap();
    }
    p
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let device: Device = std::env::var("SYLVAN_BENCH_DEVICE")
        .unwrap_or_else(|_| "cuda:0".into())
        .parse()
        .unwrap_or(Device::Cuda(0));
    let Device::Cuda(ordinal) = device else {
        println!("gpu_train: SYLVAN_BENCH_DEVICE must be cuda or cuda:N; nothing to do");
        return;
    };
    if let Some(reason) = sylvan::gpu::unavailable_reason(ordinal) {
        println!("gpu_train: skipped, no GPU to benchmark: {reason}");
        return;
    }
    let backend = match CudaBackend::open(ordinal) {
        Ok(b) => Arc::new(b),
        Err(e) => {
            println!("gpu_train: skipped, cuda:{ordinal} cannot be opened: {e}");
            return;
        }
    };
    let gpu_name = backend.gpu().map(|g| g.name.clone()).unwrap_or_default();
    let (rows, rounds) = if full {
        (
            env_usize("SYLVAN_BENCH_ROWS", 10_000_000),
            env_usize("SYLVAN_BENCH_ROUNDS", 100),
        )
    } else {
        (20_000, 5)
    };
    let threads = env_usize("SYLVAN_BENCH_THREADS", 0);
    let run_cpu = std::env::var("SYLVAN_BENCH_CPU").map_or(true, |v| v != "0");
    println!("gpu_train: {rows} x 28 binary, {rounds} rounds, depth 8, max_bin 255 on {gpu_name} (cuda:{ordinal})");
    let t = Instant::now();
    let data = generate(rows);
    println!("  data generated in {:.1}s", t.elapsed().as_secs_f64());

    let mut gp = params(rounds, threads);
    gp.device = device;
    let t = Instant::now();
    let options = TrainOptions {
        device: Some(backend.clone()),
        ..Default::default()
    };
    let gpu_model = Booster::train_with(&gp, &data, &[], options).expect("GPU training");
    let gpu_train = t.elapsed().as_secs_f64();
    println!("  GPU training: {gpu_train:.2}s (binning on the CPU + upload + {rounds} rounds)");
    if sylvan::gpu::profile::enabled_by_env() {
        // The host-side binning the training above started with (the session's profile, printed
        // to stderr, starts after it), timed again on its own.
        let t = Instant::now();
        let mapper = sylvan::booster::backend::BinMapper::fit(&data, gp.max_bin);
        let fit_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let matrix = sylvan::booster::backend::QuantizedMatrix::build(&data, &mapper);
        let build_s = t.elapsed().as_secs_f64();
        println!("  host binning: BinMapper::fit {fit_s:.2}s, QuantizedMatrix::build {build_s:.2}s");
        drop(matrix);
    }

    let predictor = GpuPredictor::with_gpu(backend.gpu().expect("opened GPU"));
    let t = Instant::now();
    let gpu_pred = predictor
        .predict(&gpu_model, &data, PredictOptions::default())
        .expect("GPU prediction");
    let gpu_pred_s = t.elapsed().as_secs_f64();
    println!(
        "  GPU prediction: {:.1} M rows/s ({gpu_pred_s:.2}s for {rows} rows, {} trees, incl. transfers)",
        rows as f64 / gpu_pred_s / 1e6,
        gpu_model.num_trees()
    );
    // A second call: the kernels are loaded and the allocator is warm.
    let t = Instant::now();
    let again = predictor
        .predict(&gpu_model, &data, PredictOptions::default())
        .expect("GPU prediction");
    let again_s = t.elapsed().as_secs_f64();
    assert_eq!(again.values, gpu_pred.values, "two GPU predictions differ");
    println!(
        "  GPU prediction, second call: {:.1} M rows/s ({again_s:.2}s)",
        rows as f64 / again_s / 1e6
    );

    if run_cpu {
        let mut cp = params(rounds, threads);
        if std::env::var("SYLVAN_BENCH_CPU_EXACT").is_ok_and(|v| v == "1") {
            // f64 gradient sums on the CPU, as on the GPU (then the trees should agree).
            let _ = cp.set("use_quantized_grad", "false");
        }
        let t = Instant::now();
        let cpu_model = Booster::train(&cp, &data, &[]).expect("CPU training");
        let cpu_train = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let cpu_pred = cpu_model
            .predict(&data, PredictOptions::default())
            .expect("CPU prediction");
        let cpu_pred_s = t.elapsed().as_secs_f64();
        let same = cpu_model
            .trees()
            .iter()
            .zip(gpu_model.trees())
            .filter(|(a, b)| a.left == b.left && a.feature == b.feature && a.threshold == b.threshold)
            .count();
        let max_diff = cpu_pred
            .values
            .iter()
            .zip(&gpu_pred.values)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        println!(
            "  CPU training: {cpu_train:.2}s ({} threads) -> GPU speed-up {:.1}x",
            if threads == 0 {
                "all".to_string()
            } else {
                threads.to_string()
            },
            cpu_train / gpu_train
        );
        println!(
            "  CPU prediction: {:.1} M rows/s -> GPU speed-up {:.1}x",
            rows as f64 / cpu_pred_s / 1e6,
            cpu_pred_s / gpu_pred_s
        );
        println!(
            "  same trees (structure, features, thresholds): {same} of {}; max |p_cpu - p_gpu| = {max_diff:.2e}",
            cpu_model.num_trees()
        );
    }
}
