// Shared by every Sylvan kernel module (prepended to each source before NVRTC compiles it; NVRTC
// has no system headers, so the integer types are spelled out here).
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef int i32;
typedef long long i64;
typedef unsigned long long u64;

// Grid-stride loop over [0, n).
#define GRID_STRIDE(i, n) for (u64 i = (u64)blockIdx.x * blockDim.x + threadIdx.x; i < (u64)(n); i += (u64)gridDim.x * blockDim.x)
