// Histogram building in 64-bit fixed point. Each sampled row's (grad, hess) is first rounded once to
// an integer multiple of 1 / scale (scale a power of two chosen on the host from the largest |value|
// so that no sum can overflow); from then on every sum is an integer sum, which is associative, so
// the histograms do not depend on the order in which atomics land: they are bit-for-bit
// deterministic, and parent - sibling subtraction is exact.
//
// Layout: one histogram slot = total_bins x (grad, hess) i64 values stored as u64 (two's complement);
// slot s of a level buffer starts at s * total_bins * 2.

// Largest |grad| and |hess| over the rows (as float bits: for non-negative floats the unsigned
// order is the float order). out must be zeroed first.
extern "C" __global__ void grad_absmax(const float* __restrict__ gpair, u32 stride, u32 group,
                                       const u32* __restrict__ rows, u32 m, u32* __restrict__ out) {
    float mg = 0.0f, mh = 0.0f;
    GRID_STRIDE(i, m) {
        const u64 j = ((u64)rows[i] * stride + group) * 2;
        mg = fmaxf(mg, fabsf(gpair[j]));
        mh = fmaxf(mh, fabsf(gpair[j + 1]));
    }
    for (int o = 16; o > 0; o >>= 1) {
        mg = fmaxf(mg, __shfl_down_sync(0xffffffffu, mg, o));
        mh = fmaxf(mh, __shfl_down_sync(0xffffffffu, mh, o));
    }
    if ((threadIdx.x & 31) == 0) {
        atomicMax(&out[0], __float_as_uint(mg));
        atomicMax(&out[1], __float_as_uint(mh));
    }
}

// q[2 r], q[2 r + 1] = the fixed-point grad and hess of row r (for the sampled rows only).
extern "C" __global__ void grad_quantize(const float* __restrict__ gpair, u32 stride, u32 group,
                                         const u32* __restrict__ rows, u32 m, double scale_g, double scale_h,
                                         i64* __restrict__ q) {
    GRID_STRIDE(i, m) {
        const u32 r = rows[i];
        const u64 j = ((u64)r * stride + group) * 2;
        q[2 * (u64)r] = llrint((double)gpair[j] * scale_g);
        q[2 * (u64)r + 1] = llrint((double)gpair[j + 1] * scale_h);
    }
}

// 0, 1, ..., m - 1 (the rows of a tree that samples every row).
extern "C" __global__ void iota_u32(u32* __restrict__ out, u32 m) {
    GRID_STRIDE(i, m) { out[i] = (u32)i; }
}

// One block per (row chunk, feature group). chunks: 3 u32 per chunk (slot, begin, end), positions
// into `rows`; groups: first feature of each feature group (+ one past the last); offsets: first
// histogram bin of each feature (+ total). With use_shared, the group's bins are accumulated in
// shared memory (2 x u64 per bin) and added to the slot once per block; without (a group wider than
// shared memory), straight into global memory.
template <typename B>
__device__ __forceinline__ void hist_build_impl(const B* __restrict__ bins, u32 nf, const u32* __restrict__ rows,
                                                const i64* __restrict__ q, const u32* __restrict__ chunks,
                                                const u32* __restrict__ groups, const u32* __restrict__ offsets,
                                                u32 total_bins, u32 use_shared, u64* __restrict__ hist) {
    extern __shared__ u64 sh[];
    const u32 c = blockIdx.x, g = blockIdx.y;
    const u32 slot = chunks[3 * c], begin = chunks[3 * c + 1], end = chunks[3 * c + 2];
    const u32 f0 = groups[g], f1 = groups[g + 1];
    const u32 b0 = offsets[f0], nb = offsets[f1] - b0;
    u64* out = hist + (u64)slot * total_bins * 2;
    if (use_shared) {
        for (u32 i = threadIdx.x; i < 2 * nb; i += blockDim.x) sh[i] = 0;
        __syncthreads();
    }
    for (u32 p = begin + threadIdx.x; p < end; p += blockDim.x) {
        const u32 r = rows[p];
        const u64 gq = (u64)q[2 * (u64)r], hq = (u64)q[2 * (u64)r + 1];
        const B* rb = bins + (u64)r * nf;
        for (u32 f = f0; f < f1; ++f) {
            const u32 idx = offsets[f] + (u32)rb[f];
            if (use_shared) {
                const u32 l = idx - b0;
                atomicAdd(&sh[2 * l], gq);
                atomicAdd(&sh[2 * l + 1], hq);
            } else {
                atomicAdd(&out[2 * idx], gq);
                atomicAdd(&out[2 * idx + 1], hq);
            }
        }
    }
    if (use_shared) {
        __syncthreads();
        for (u32 i = threadIdx.x; i < 2 * nb; i += blockDim.x) {
            const u64 v = sh[i];
            if (v != 0) atomicAdd(&out[2 * b0 + i], v);
        }
    }
}

extern "C" __global__ void hist_build_u8(const u8* __restrict__ bins, u32 nf, const u32* __restrict__ rows,
                                         const i64* __restrict__ q, const u32* __restrict__ chunks,
                                         const u32* __restrict__ groups, const u32* __restrict__ offsets,
                                         u32 total_bins, u32 use_shared, u64* __restrict__ hist) {
    hist_build_impl<u8>(bins, nf, rows, q, chunks, groups, offsets, total_bins, use_shared, hist);
}

extern "C" __global__ void hist_build_u16(const u16* __restrict__ bins, u32 nf, const u32* __restrict__ rows,
                                          const i64* __restrict__ q, const u32* __restrict__ chunks,
                                          const u32* __restrict__ groups, const u32* __restrict__ offsets,
                                          u32 total_bins, u32 use_shared, u64* __restrict__ hist) {
    hist_build_impl<u16>(bins, nf, rows, q, chunks, groups, offsets, total_bins, use_shared, hist);
}

// level[dst_slot] = parent - level[small_slot] (exact: integer arithmetic). len = total_bins * 2.
extern "C" __global__ void hist_subtract(u64* __restrict__ level, u32 dst_slot, u32 small_slot,
                                         const u64* __restrict__ parent, u32 len) {
    GRID_STRIDE(i, len) { level[(u64)dst_slot * len + i] = parent[i] - level[(u64)small_slot * len + i]; }
}
