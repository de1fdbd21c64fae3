// Prediction kernels: one thread per row walks the trees in order and adds each leaf value (f32) to
// the row's f64 margin, in the same order as the host (booster/src/predict.rs), so the sums agree.

// Training margins after a tree, walking it over the quantized bins. nodes: 6 i32 per node: left,
// right (-1 for a leaf), feature, split bin, default_left, the feature's missing bin.
template <typename B>
__device__ __forceinline__ void update_impl(const B* __restrict__ bins, u32 nf, u32 n, const i32* __restrict__ nodes,
                                            const float* __restrict__ values, double* __restrict__ margins, u32 k,
                                            u32 group) {
    GRID_STRIDE(i, n) {
        const B* rb = bins + i * nf;
        i32 j = 0;
        while (nodes[6 * j] >= 0) {
            const i32* nd = nodes + 6 * j;
            const u32 b = (u32)rb[nd[2]];
            const bool l = (b == (u32)nd[5]) ? (nd[4] != 0) : (b <= (u32)nd[3]);
            j = l ? nd[0] : nd[1];
        }
        margins[i * k + group] += (double)values[j];
    }
}

extern "C" __global__ void update_margins_u8(const u8* __restrict__ bins, u32 nf, u32 n, const i32* __restrict__ nodes,
                                             const float* __restrict__ values, double* __restrict__ margins, u32 k,
                                             u32 group) {
    update_impl<u8>(bins, nf, n, nodes, values, margins, k, group);
}

extern "C" __global__ void update_margins_u16(const u16* __restrict__ bins, u32 nf, u32 n,
                                              const i32* __restrict__ nodes, const float* __restrict__ values,
                                              double* __restrict__ margins, u32 k, u32 group) {
    update_impl<u16>(bins, nf, n, nodes, values, margins, k, group);
}

// Batch prediction on raw features. x: nf x n column-major f32 (feature f of row i at x[f * n + i];
// NaN = missing). nodes: 4 i32 per node
// (left, right, feature, default_left), children as indices into the concatenation of all trees;
// thresholds and values per node; tree_first: first node of each tree; tree_group: each tree's
// output. A row goes left when x < threshold, missing values follow default_left.
extern "C" __global__ void predict_raw(const float* __restrict__ x, u32 n, u32 nf, const i32* __restrict__ nodes,
                                       const float* __restrict__ thresholds, const float* __restrict__ values,
                                       const u32* __restrict__ tree_first, const u32* __restrict__ tree_group,
                                       u32 ntrees, u32 k, double* __restrict__ margins) {
    GRID_STRIDE(i, n) {
        for (u32 t = 0; t < ntrees; ++t) {
            i32 j = (i32)tree_first[t];
            while (nodes[4 * j] >= 0) {
                const i32* nd = nodes + 4 * j;
                const float v = x[(u64)nd[2] * n + i];
                const bool l = (v != v) ? (nd[3] != 0) : (v < thresholds[j]);
                j = l ? nd[0] : nd[1];
            }
            margins[i * k + tree_group[t]] += (double)values[j];
        }
    }
}
