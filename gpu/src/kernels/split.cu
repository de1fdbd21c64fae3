// Split search over fixed-point histograms: the same scan, gain formula, missing-value directions and
// tie-breaking as booster/src/split.rs (best_split_of_feature / best_split), in f64.
//
// A split record is 7 u64 words: [0] gain (f64 bits), [1] left grad, [2] left hess, [3] node grad,
// [4] node hess (fixed point, i64 as u64), [5] feature (~0 = no split), [6] bin | default_left << 32.

#define NO_FEATURE 0xffffffffffffffffULL

__device__ __forceinline__ double thr_l1(double g, double alpha) {
    if (g > alpha) return g - alpha;
    if (g < -alpha) return g + alpha;
    return 0.0;
}

__device__ __forceinline__ double leaf_weight(double g, double h, double lambda, double alpha, double mcw,
                                              double mds) {
    if (h < mcw || h <= 0.0) return 0.0;
    double w = -thr_l1(g, alpha) / (h + lambda);
    if (mds > 0.0) {
        if (w < -mds) w = -mds;
        if (w > mds) w = mds;
    }
    return w;
}

__device__ __forceinline__ double node_gain(double g, double h, double lambda, double alpha, double mcw,
                                            double mds) {
    if (h < mcw || h <= 0.0) return 0.0;
    if (mds == 0.0) {
        const double t = thr_l1(g, alpha);
        return t * t / (h + lambda);
    }
    const double w = leaf_weight(g, h, lambda, alpha, mcw, mds);
    return -(2.0 * g * w + (h + lambda) * w * w) - 2.0 * alpha * fabs(w);
}

__device__ __forceinline__ void write_record(u64* rec, double gain, i64 lg, i64 lh, i64 tg, i64 th, u64 feature,
                                             u32 bin, u32 default_left) {
    rec[0] = (u64)__double_as_longlong(gain);
    rec[1] = (u64)lg;
    rec[2] = (u64)lh;
    rec[3] = (u64)tg;
    rec[4] = (u64)th;
    rec[5] = feature;
    rec[6] = (u64)bin | ((u64)default_left << 32);
}

// One thread per (slot, feature): the best split of that feature in that slot's histogram, or none.
// mask: nslots x nf bytes, 1 where the node may split on the feature. offsets: nf + 1 bin offsets;
// feature f has offsets[f + 1] - offsets[f] - 1 value bins followed by its missing bin. The node's
// sums are read from feature 0's bins (every row is in exactly one bin of every feature).
extern "C" __global__ void split_features(const u64* __restrict__ hist, u32 total_bins,
                                          const u32* __restrict__ offsets, u32 nf, const u8* __restrict__ mask,
                                          u32 nslots, double scale_g, double scale_h, double lambda, double alpha,
                                          double mcw, double mds, double min_gain, u64* __restrict__ out) {
    GRID_STRIDE(t, (u64)nslots * nf) {
        const u32 slot = (u32)(t / nf), f = (u32)(t % nf);
        u64* rec = out + 7 * t;
        if (!mask[t]) {
            write_record(rec, 0.0, 0, 0, 0, 0, NO_FEATURE, 0, 0);
            continue;
        }
        const i64* h = (const i64*)(hist + (u64)slot * total_bins * 2);
        i64 tg = 0, th = 0;
        for (u32 b = offsets[0]; b < offsets[1]; ++b) {
            tg += h[2 * b];
            th += h[2 * b + 1];
        }
        const double tgd = (double)tg / scale_g, thd = (double)th / scale_h;
        const double parent_gain = node_gain(tgd, thd, lambda, alpha, mcw, mds);
        const u32 off = offsets[f];
        const u32 nb = offsets[f + 1] - off - 1;
        const i64 mg = h[2 * (off + nb)], mh = h[2 * (off + nb) + 1];
        const bool has_missing = mg != 0 || mh != 0;
        double best = min_gain;
        i64 best_lg = 0, best_lh = 0;
        u32 best_bin = 0, best_dl = 0;
        bool found = false;
        for (u32 dl = 0; dl < 2; ++dl) {
            if (dl == 1 && !has_missing) break;
            // Missing right: the left child is a prefix of the value bins (all nb of them may go
            // left). Missing left: the prefix plus the missing bin (at most nb - 1 value bins).
            const u32 last = dl == 0 ? nb : (nb == 0 ? 0 : nb - 1);
            // Missing left: skip the empty value bins in front (the missing rows alone on the left
            // are the same partition as every value on the left with missing right).
            u32 first = 0;
            if (dl) {
                while (first < nb && h[2 * (off + first)] == 0 && h[2 * (off + first) + 1] == 0) ++first;
                if (first > last) first = last;
            }
            i64 lg = dl ? mg : 0, lh = dl ? mh : 0;
            for (u32 b = first; b < last; ++b) {
                const i64 sg = h[2 * (off + b)], sh = h[2 * (off + b) + 1];
                // An empty bin gives the same partition as the bin before it.
                if (sg == 0 && sh == 0 && b > first) continue;
                lg += sg;
                lh += sh;
                const double lgd = (double)lg / scale_g, lhd = (double)lh / scale_h;
                const double rgd = (double)(tg - lg) / scale_g, rhd = (double)(th - lh) / scale_h;
                if (!(lhd >= mcw && lhd > 0.0) || !(rhd >= mcw && rhd > 0.0)) continue;
                const double gain = node_gain(lgd, lhd, lambda, alpha, mcw, mds) +
                                    node_gain(rgd, rhd, lambda, alpha, mcw, mds) - parent_gain;
                if (gain > best) {
                    best = gain;
                    best_lg = lg;
                    best_lh = lh;
                    best_bin = b;
                    best_dl = dl;
                    found = true;
                }
            }
        }
        write_record(rec, best, best_lg, best_lh, tg, th, found ? (u64)f : NO_FEATURE, best_bin, best_dl);
    }
}

// One thread per slot: the best of its features' records, features in ascending order, a later one
// winning only with a strictly larger gain (ties go to the lower feature index).
extern "C" __global__ void split_reduce(const u64* __restrict__ per_feature, u32 nf, u32 nslots,
                                        u64* __restrict__ out) {
    GRID_STRIDE(s, nslots) {
        const u64* best = 0;
        for (u32 f = 0; f < nf; ++f) {
            const u64* rec = per_feature + 7 * (s * nf + f);
            if (rec[5] == NO_FEATURE) continue;
            if (best == 0 || __longlong_as_double((i64)rec[0]) > __longlong_as_double((i64)best[0])) best = rec;
        }
        u64* o = out + 7 * s;
        if (best == 0) {
            write_record(o, 0.0, 0, 0, 0, 0, NO_FEATURE, 0, 0);
        } else {
            for (u32 w = 0; w < 7; ++w) o[w] = best[w];
        }
    }
}
