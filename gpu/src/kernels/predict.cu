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
// NaN = missing), as the dataset's columns are. nodes: one 16-byte node each (uint4): x = left child,
// y = right child (global indices into the concatenation of all trees; x = 0xffffffff for a leaf),
// z = feature | default_left << 31, w = the threshold's bits (the value's bits for a leaf);
// tree_first: first node of each tree; tree_group: each tree's output. A row goes left when
// x < threshold, missing values follow default_left. Each row's margins get the leaf values added
// one tree after the other in tree order, in f64, as on the host.
//
// Category-set splits (predict_raw_cat only; forests without them run predict_raw, whose walk has
// no test more than before): z also has bit 30 (CATEGORY_SET) set and its feature in bits 0..30,
// and w is the offset in cat_words of the node's set: cat_words[w] = the number of bitset words m,
// then the m words (bit c % 32 of word c / 32 set when code c is in the set). The rule is Sylvan's
// (booster/src/model/categories.rs): NaN follows default_left; a value that is a category code
// (an integer in 0..MAX_CATEGORIES) in the set goes left; anything else (another code, an unseen
// one, a negative, fractional, too large or infinite value) goes right. The range test comes
// before the float -> u32 conversion, which is then exact.
//
// With use_shared (nf x blockDim.x floats of dynamic shared memory), each block first copies its
// rows' features into shared memory, column-major (coalesced global reads, one feature after the
// other), and walks the trees there: thread r reads xs[f * blockDim.x + r], always bank r % 32, so
// the divergent walk has no bank conflicts. Without, it reads x in global memory.

// sylvan_booster::MAX_CATEGORIES (checked by gpu/src/predict.rs's tests).
#define SYLVAN_MAX_CATEGORIES 65535.0f
#define CATEGORY_SET 0x40000000u

// Whether v is a category code in the set at `set` (word count, then the bitset words).
__device__ __forceinline__ bool in_category_set(const u32* __restrict__ set, float v) {
    if (!(v >= 0.0f && v < SYLVAN_MAX_CATEGORIES && v == truncf(v))) return false;
    const u32 c = (u32)v;
    const u32 w = c >> 5;
    return w < set[0] && ((set[1 + w] >> (c & 31u)) & 1u) != 0;
}

template <bool CAT>
__device__ __forceinline__ void predict_impl(const float* __restrict__ x, u32 n, u32 nf,
                                             const uint4* __restrict__ nodes, const u32* __restrict__ tree_first,
                                             const u32* __restrict__ tree_group, u32 ntrees, u32 k,
                                             double* __restrict__ margins, u32 use_shared,
                                             const u32* __restrict__ cat_words) {
    extern __shared__ float xs[];
    const u32 tid = threadIdx.x, bs = blockDim.x;
    // The loop bound depends on the block only, so every thread of a block reaches the barriers.
    for (u64 base = (u64)blockIdx.x * bs; base < (u64)n; base += (u64)gridDim.x * bs) {
        const u64 i = base + tid;
        const bool live = i < (u64)n;
        if (use_shared) {
            __syncthreads();
            for (u32 f = 0; f < nf; ++f) xs[f * bs + tid] = live ? x[(u64)f * n + i] : 0.0f;
            __syncthreads();
        }
        if (!live) continue;
        const float* xr = use_shared ? xs + tid : x + i;
        const u64 stride = use_shared ? (u64)bs : (u64)n;
        double acc = k == 1 ? margins[i] : 0.0;
        for (u32 t = 0; t < ntrees; ++t) {
            uint4 nd = nodes[tree_first[t]];
            while (nd.x != 0xffffffffu) {
                bool l;
                if (CAT) {
                    const float v = xr[(u64)(nd.z & 0x3fffffffu) * stride];
                    if (v != v) {
                        l = (nd.z >> 31) != 0;
                    } else if (nd.z & CATEGORY_SET) {
                        l = in_category_set(cat_words + nd.w, v);
                    } else {
                        l = v < __uint_as_float(nd.w);
                    }
                } else {
                    const float v = xr[(u64)(nd.z & 0x7fffffffu) * stride];
                    l = (v != v) ? ((nd.z >> 31) != 0) : (v < __uint_as_float(nd.w));
                }
                nd = nodes[l ? nd.x : nd.y];
            }
            if (k == 1) {
                acc += (double)__uint_as_float(nd.w);
            } else {
                margins[i * k + tree_group[t]] += (double)__uint_as_float(nd.w);
            }
        }
        if (k == 1) margins[i] = acc;
    }
}

// Forests without category-set splits.
extern "C" __global__ void predict_raw(const float* __restrict__ x, u32 n, u32 nf, const uint4* __restrict__ nodes,
                                       const u32* __restrict__ tree_first, const u32* __restrict__ tree_group,
                                       u32 ntrees, u32 k, double* __restrict__ margins, u32 use_shared) {
    predict_impl<false>(x, n, nf, nodes, tree_first, tree_group, ntrees, k, margins, use_shared, nullptr);
}

// Forests with category-set splits: cat_words as described above.
extern "C" __global__ void predict_raw_cat(const float* __restrict__ x, u32 n, u32 nf,
                                           const uint4* __restrict__ nodes, const u32* __restrict__ tree_first,
                                           const u32* __restrict__ tree_group, u32 ntrees, u32 k,
                                           double* __restrict__ margins, u32 use_shared,
                                           const u32* __restrict__ cat_words) {
    predict_impl<true>(x, n, nf, nodes, tree_first, tree_group, ntrees, k, margins, use_shared, cat_words);
}
