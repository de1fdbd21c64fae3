// Stable row partitioning of several nodes at once (a whole level per launch sequence).
//
// tasks: 6 u32 per task: feature, split bin, default_left, the feature's missing bin, and the node's
// range [begin, end) of positions in `rows`. chunks: 3 u32 per chunk: task, begin, end (a chunk never
// crosses a node's range). A row goes left when its bin is the missing bin and default_left is set,
// or when its bin is at most the split bin - for training rows the same test as the host's
// `x < threshold` on the raw value.
//
// 1. partition_count: lefts per chunk. 2. partition_scan: per task, lefts before each chunk and in
// total. 3. partition_scatter: every chunk writes its left rows after the lefts of earlier chunks and
// its right rows after all lefts and the rights of earlier chunks, keeping row order (warp ballots
// rank the rows of a tile) - so the result is the host's stable partition. 4. partition_copy: back
// into `rows`.

template <typename B>
__device__ __forceinline__ bool goes_left(const B* __restrict__ bins, u32 nf, u32 r, const u32* t) {
    const u32 b = (u32)bins[(u64)r * nf + t[0]];
    return b == t[3] ? (t[2] != 0) : (b <= t[1]);
}

template <typename B>
__device__ __forceinline__ void count_impl(const B* __restrict__ bins, u32 nf, const u32* __restrict__ rows,
                                           const u32* __restrict__ chunks, const u32* __restrict__ tasks,
                                           u32* __restrict__ chunk_left) {
    const u32* ch = chunks + 3 * blockIdx.x;
    const u32* t = tasks + 6 * ch[0];
    u32 count = 0;
    for (u32 base = ch[1]; base < ch[2]; base += blockDim.x) {
        const u32 p = base + threadIdx.x;
        const int l = (p < ch[2]) && goes_left(bins, nf, rows[p], t);
        count += __syncthreads_count(l);
    }
    if (threadIdx.x == 0) chunk_left[blockIdx.x] = count;
}

extern "C" __global__ void partition_count_u8(const u8* __restrict__ bins, u32 nf, const u32* __restrict__ rows,
                                              const u32* __restrict__ chunks, const u32* __restrict__ tasks,
                                              u32* __restrict__ chunk_left) {
    count_impl<u8>(bins, nf, rows, chunks, tasks, chunk_left);
}

extern "C" __global__ void partition_count_u16(const u16* __restrict__ bins, u32 nf, const u32* __restrict__ rows,
                                               const u32* __restrict__ chunks, const u32* __restrict__ tasks,
                                               u32* __restrict__ chunk_left) {
    count_impl<u16>(bins, nf, rows, chunks, tasks, chunk_left);
}

// One thread per task; task_chunks: first chunk of each task (+ total).
extern "C" __global__ void partition_scan(const u32* __restrict__ chunk_left, const u32* __restrict__ task_chunks,
                                          u32 ntasks, u32* __restrict__ chunk_left_before,
                                          u32* __restrict__ task_left) {
    GRID_STRIDE(t, ntasks) {
        u32 acc = 0;
        for (u32 c = task_chunks[t]; c < task_chunks[t + 1]; ++c) {
            chunk_left_before[c] = acc;
            acc += chunk_left[c];
        }
        task_left[t] = acc;
    }
}

// blockDim.x must be a multiple of 32 and at most 1024.
template <typename B>
__device__ __forceinline__ void scatter_impl(const B* __restrict__ bins, u32 nf, const u32* __restrict__ rows,
                                             const u32* __restrict__ chunks, const u32* __restrict__ tasks,
                                             const u32* __restrict__ chunk_left_before,
                                             const u32* __restrict__ task_left, u32* __restrict__ scratch) {
    __shared__ u32 warp_counts[32];
    const u32* ch = chunks + 3 * blockIdx.x;
    const u32* t = tasks + 6 * ch[0];
    const u32 node_begin = t[4];
    const u32 left_total = task_left[ch[0]];
    u32 lbase = chunk_left_before[blockIdx.x];  // left rows of this node before the tile
    u32 rbase = (ch[1] - node_begin) - lbase;   // right rows of this node before the tile
    const u32 lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = blockDim.x >> 5;
    for (u32 base = ch[1]; base < ch[2]; base += blockDim.x) {
        const u32 p = base + threadIdx.x;
        const bool valid = p < ch[2];
        const u32 r = valid ? rows[p] : 0;
        const bool l = valid && goes_left(bins, nf, r, t);
        const u32 ballot = __ballot_sync(0xffffffffu, l);
        const u32 rank_in_warp = __popc(ballot & ((1u << lane) - 1u));
        if (lane == 0) warp_counts[warp] = __popc(ballot);
        __syncthreads();
        u32 before = 0, tile_left = 0;
        for (u32 w = 0; w < nwarps; ++w) {
            const u32 wc = warp_counts[w];
            if (w < warp) before += wc;
            tile_left += wc;
        }
        const u32 lrank = before + rank_in_warp;  // left rows before this one in the tile
        if (valid) {
            if (l) {
                scratch[node_begin + lbase + lrank] = r;
            } else {
                scratch[node_begin + left_total + rbase + (threadIdx.x - lrank)] = r;
            }
        }
        const u32 tile_rows = min(blockDim.x, ch[2] - base);
        lbase += tile_left;
        rbase += tile_rows - tile_left;
        __syncthreads();  // warp_counts is rewritten by the next tile
    }
}

extern "C" __global__ void partition_scatter_u8(const u8* __restrict__ bins, u32 nf, const u32* __restrict__ rows,
                                                const u32* __restrict__ chunks, const u32* __restrict__ tasks,
                                                const u32* __restrict__ chunk_left_before,
                                                const u32* __restrict__ task_left, u32* __restrict__ scratch) {
    scatter_impl<u8>(bins, nf, rows, chunks, tasks, chunk_left_before, task_left, scratch);
}

extern "C" __global__ void partition_scatter_u16(const u16* __restrict__ bins, u32 nf,
                                                 const u32* __restrict__ rows, const u32* __restrict__ chunks,
                                                 const u32* __restrict__ tasks,
                                                 const u32* __restrict__ chunk_left_before,
                                                 const u32* __restrict__ task_left, u32* __restrict__ scratch) {
    scatter_impl<u16>(bins, nf, rows, chunks, tasks, chunk_left_before, task_left, scratch);
}

extern "C" __global__ void partition_copy(const u32* __restrict__ scratch, const u32* __restrict__ chunks,
                                          u32* __restrict__ rows) {
    const u32* ch = chunks + 3 * blockIdx.x;
    for (u32 p = ch[1] + threadIdx.x; p < ch[2]; p += blockDim.x) rows[p] = scratch[p];
}
