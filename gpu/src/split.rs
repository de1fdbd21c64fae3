//! Split search on the device (one thread per node and feature, then one per node), and decoding of
//! the per-level split records into [`SplitInfo`] on the host.

use cudarc::driver::{CudaSlice, PushKernelArg};
use sylvan_booster::backend::BinMapper;
use sylvan_booster::backend::GradStats;
use sylvan_booster::backend::{SplitInfo, SplitParams, MIN_GAIN};

use crate::context::Gpu;
use crate::error::{Ctx, Result};
use crate::hist::HistLayout;
use crate::launch;
use crate::layout::{decode_split, RawSplit, SPLIT_RECORD_WORDS};

/// The best split of each of `nslots` histogram slots of `hist`; `mask` (nslots x nf) says which
/// features each slot may split on. Only the small per-slot records come back to the host.
pub fn find(
    gpu: &Gpu,
    hist: &CudaSlice<u64>,
    layout: &HistLayout,
    mask: &[u8],
    nslots: usize,
    scales: (f64, f64),
    p: &SplitParams,
) -> Result<Vec<Option<RawSplit>>> {
    let nf = layout.nf;
    if nslots == 0 || nf == 0 {
        return Ok(vec![None; nslots]);
    }
    let mask_dev = gpu.stream.clone_htod(mask).ctx("uploading feature masks")?;
    let mut per_feature = gpu
        .stream
        .alloc_zeros::<u64>(nslots * nf * SPLIT_RECORD_WORDS)
        .ctx("allocating split records")?;
    let mut best = gpu
        .stream
        .alloc_zeros::<u64>(nslots * SPLIT_RECORD_WORDS)
        .ctx("allocating split records")?;
    let (tb, nf32, ns32) = (layout.total_bins as u32, nf as u32, nslots as u32);
    let min_gain = MIN_GAIN;
    let cfg = launch::grid_stride(nslots * nf);
    // SAFETY: the argument list matches split_features's signature; hist holds nslots slots, mask
    // nslots x nf bytes, per_feature nslots x nf records.
    unsafe {
        gpu.stream
            .launch_builder(gpu.function("split_features")?)
            .arg(hist)
            .arg(&tb)
            .arg(&layout.offsets_dev)
            .arg(&nf32)
            .arg(&mask_dev)
            .arg(&ns32)
            .arg(&scales.0)
            .arg(&scales.1)
            .arg(&p.lambda)
            .arg(&p.alpha)
            .arg(&p.min_child_weight)
            .arg(&p.max_delta_step)
            .arg(&min_gain)
            .arg(&mut per_feature)
            .launch(cfg)
    }
    .ctx("split_features")?;
    let cfg = launch::grid_stride(nslots);
    // SAFETY: per_feature holds nslots x nf records, best nslots records.
    unsafe {
        gpu.stream
            .launch_builder(gpu.function("split_reduce")?)
            .arg(&per_feature)
            .arg(&nf32)
            .arg(&ns32)
            .arg(&mut best)
            .launch(cfg)
    }
    .ctx("split_reduce")?;
    let words = gpu.stream.clone_dtoh(&best).ctx("downloading split records")?;
    gpu.sync()?;
    Ok(words.chunks_exact(SPLIT_RECORD_WORDS).map(decode_split).collect())
}

/// A fixed-point (grad, hess) pair as sums.
pub fn stats_of(v: (i64, i64), scales: (f64, f64)) -> GradStats {
    GradStats::new(v.0 as f64 / scales.0, v.1 as f64 / scales.1)
}

/// The booster's [`SplitInfo`] for a decoded record (`None` when its gain is below `gamma`, as on
/// the CPU).
pub fn to_split_info(raw: &RawSplit, mapper: &BinMapper, scales: (f64, f64), p: &SplitParams) -> Option<SplitInfo> {
    if raw.gain < p.gamma || raw.feature >= mapper.num_features() {
        return None;
    }
    let cuts = &mapper.feature(raw.feature).cuts;
    let threshold = *cuts.get(raw.bin)?;
    Some(SplitInfo {
        feature: raw.feature,
        bin: raw.bin,
        threshold,
        default_left: raw.default_left,
        gain: raw.gain,
        left: stats_of(raw.left, scales),
        right: stats_of((raw.total.0 - raw.left.0, raw.total.1 - raw.left.1), scales),
        categories: None,
    })
}

/// What `split_features` + `split_reduce` compute, on the host: the reference the kernels are
/// written after (tested against the booster's own `best_split`). `hist` is one slot of
/// fixed-point (grad, hess) pairs.
pub fn reference_best_split(
    hist: &[(i64, i64)],
    offsets: &[usize],
    features: &[usize],
    scales: (f64, f64),
    p: &SplitParams,
) -> Option<RawSplit> {
    use sylvan_booster::backend::node_gain;
    let st = |g: i64, h: i64| GradStats::new(g as f64 / scales.0, h as f64 / scales.1);
    let (mut tg, mut th) = (0i64, 0i64);
    for &(g, h) in &hist[offsets[0]..offsets[1]] {
        tg += g;
        th += h;
    }
    let parent = node_gain(st(tg, th), p);
    let valid = |s: GradStats| s.hess >= p.min_child_weight && s.hess > 0.0;
    let mut best: Option<RawSplit> = None;
    for &f in features {
        let off = offsets[f];
        let nb = offsets[f + 1] - off - 1;
        let (mg, mh) = hist[off + nb];
        let has_missing = mg != 0 || mh != 0;
        let mut fb: Option<RawSplit> = None;
        let mut best_gain = MIN_GAIN;
        for dl in [false, true] {
            if dl && !has_missing {
                break;
            }
            let last = if dl { nb.saturating_sub(1) } else { nb };
            // Missing left: skip the empty value bins in front (the missing rows alone on the left
            // are the same partition as every value on the left with missing right).
            let first = if dl {
                (0..nb).find(|&b| hist[off + b] != (0, 0)).unwrap_or(nb).min(last)
            } else {
                0
            };
            let (mut lg, mut lh) = if dl { (mg, mh) } else { (0, 0) };
            for b in first..last {
                let (g, h) = hist[off + b];
                if g == 0 && h == 0 && b > first {
                    continue;
                }
                lg += g;
                lh += h;
                let (l, r) = (st(lg, lh), st(tg - lg, th - lh));
                if !valid(l) || !valid(r) {
                    continue;
                }
                let gain = node_gain(l, p) + node_gain(r, p) - parent;
                if gain > best_gain {
                    best_gain = gain;
                    fb = Some(RawSplit {
                        gain,
                        feature: f,
                        bin: b,
                        default_left: dl,
                        left: (lg, lh),
                        total: (tg, th),
                    });
                }
            }
        }
        if let Some(s) = fb {
            if best.is_none_or(|b| s.gain > b.gain) {
                best = Some(s);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use sylvan_booster::backend::best_split;
    use sylvan_booster::backend::CellScale;
    use sylvan_booster::backend::FeatureCuts;

    /// Pseudo-random numbers without a dependency.
    fn lcg(state: &mut u64) -> f64 {
        *state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (*state >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn reference_matches_the_cpu_split_search() {
        let mut rng = 7u64;
        for case in 0..200 {
            let nf = 1 + case % 4;
            let features: Vec<FeatureCuts> = (0..nf)
                .map(|f| FeatureCuts {
                    cuts: (0..(2 + (case + f) % 9)).map(|c| c as f32).collect(),
                    has_missing: (case + f) % 3 == 0,
                    categorical: false,
                })
                .collect();
            let mapper = BinMapper::from_cuts(features);
            let offsets = mapper.offsets().to_vec();
            let scales = (2f64.powi(30), 2f64.powi(31));
            let rows = 50 + case * 3;
            let mut fixed = vec![(0i64, 0i64); mapper.total_bins()];
            for _ in 0..rows {
                let g = ((lcg(&mut rng) - 0.45) * scales.0).round() as i64;
                let h = ((lcg(&mut rng) * 0.25 + 0.01) * scales.1).round() as i64;
                for f in 0..nf {
                    let cuts = mapper.feature(f);
                    let b = if cuts.has_missing && lcg(&mut rng) < 0.2 {
                        cuts.missing_bin()
                    } else {
                        (lcg(&mut rng) * cuts.num_value_bins() as f64) as usize
                    };
                    let e = &mut fixed[offsets[f] + b];
                    e.0 += g;
                    e.1 += h;
                }
            }
            let hist: Vec<GradStats> = fixed.iter().map(|&v| stats_of(v, scales)).collect();
            let mut total = GradStats::default();
            for s in &hist[offsets[0]..offsets[1]] {
                total += *s;
            }
            let p = SplitParams {
                lambda: 1.0,
                alpha: if case % 5 == 0 { 0.1 } else { 0.0 },
                min_child_weight: if case % 2 == 0 { 1.0 } else { 0.0 },
                max_delta_step: if case % 7 == 0 { 0.5 } else { 0.0 },
                gamma: 0.0,
                categorical: Default::default(),
            };
            let feats: Vec<usize> = (0..nf).collect();
            let cpu = best_split(&hist, &CellScale::IDENTITY, &mapper, &feats, total, 0, &p);
            let gpu = reference_best_split(&fixed, &offsets, &feats, scales, &p)
                .and_then(|r| to_split_info(&r, &mapper, scales, &p));
            match (cpu, gpu) {
                (None, None) => {}
                (Some(c), Some(g)) => {
                    assert_eq!(
                        (c.feature, c.bin, c.default_left),
                        (g.feature, g.bin, g.default_left),
                        "case {case}"
                    );
                    assert!((c.gain - g.gain).abs() < 1e-9 * (1.0 + c.gain.abs()), "case {case}");
                    assert_eq!(c.threshold, g.threshold);
                    assert!((c.left.grad - g.left.grad).abs() < 1e-9 && (c.right.hess - g.right.hess).abs() < 1e-9);
                }
                other => panic!("case {case}: {other:?}"),
            }
        }
    }
}
