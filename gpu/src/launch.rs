//! Kernel launch helpers: the launch configurations every kernel uses (grid sizes, block sizes,
//! dynamic shared memory) and the one dispatch from a [`DeviceBins`] to the u8 or u16 instantiation
//! of a kernel compiled per bin width.

use cudarc::driver::{LaunchArgs, LaunchConfig, PushKernelArg};

use crate::context::Gpu;
use crate::error::Result;
use crate::hist::DeviceBins;
use crate::layout::BLOCK;

/// Most blocks of a 1-D grid-stride launch (65,535 x 16): bigger inputs loop inside the kernel.
pub const MAX_GRID_BLOCKS: u32 = 65_535 * 16;

/// Blocks of `block` threads for a grid-stride kernel over `n` items: enough for one item per
/// thread, at least 1 and at most [`MAX_GRID_BLOCKS`].
pub fn grid_1d(n: usize, block: u32) -> u32 {
    n.div_ceil(block as usize).clamp(1, MAX_GRID_BLOCKS as usize) as u32
}

/// A 1-D grid-stride launch over `n` items with `block` threads per block and `shared_mem_bytes`
/// of dynamic shared memory.
pub fn grid_stride_with(n: usize, block: u32, shared_mem_bytes: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (grid_1d(n, block), 1, 1),
        block_dim: (block, 1, 1),
        shared_mem_bytes,
    }
}

/// A 1-D grid-stride launch over `n` items: blocks of [`BLOCK`] threads, no shared memory.
pub fn grid_stride(n: usize) -> LaunchConfig {
    grid_stride_with(n, BLOCK, 0)
}

/// [`grid_stride`] with at most `max_blocks` blocks (for kernels that reduce per block).
pub fn grid_stride_capped(n: usize, max_blocks: u32) -> LaunchConfig {
    let mut cfg = grid_stride(n);
    cfg.grid_dim.0 = cfg.grid_dim.0.min(max_blocks);
    cfg
}

/// One block of [`BLOCK`] threads per chunk of a chunk table (x) and per `groups` (y), with
/// `shared_mem_bytes` of dynamic shared memory.
pub fn per_chunk(nchunks: usize, groups: u32, shared_mem_bytes: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: (nchunks as u32, groups, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes,
    }
}

/// Dynamic shared memory for `count` values of `T` when `used`, else 0.
pub fn shared_bytes<T>(used: bool, count: usize) -> u32 {
    if used {
        (count * std::mem::size_of::<T>()) as u32
    } else {
        0
    }
}

/// A kernel compiled once per bin width: the names of its u8 and u16 instantiations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BinKernel {
    /// The instantiation for [`DeviceBins::U8`].
    pub u8: &'static str,
    /// The instantiation for [`DeviceBins::U16`].
    pub u16: &'static str,
}

/// The [`BinKernel`] named `base` + `_u8` / `_u16`.
macro_rules! bin_kernel {
    ($base:literal) => {
        BinKernel {
            u8: concat!($base, "_u8"),
            u16: concat!($base, "_u16"),
        }
    };
}

impl BinKernel {
    /// `hist_build_u8` / `hist_build_u16`.
    pub const HIST_BUILD: BinKernel = bin_kernel!("hist_build");
    /// `partition_count_u8` / `partition_count_u16`.
    pub const PARTITION_COUNT: BinKernel = bin_kernel!("partition_count");
    /// `partition_scatter_u8` / `partition_scatter_u16`.
    pub const PARTITION_SCATTER: BinKernel = bin_kernel!("partition_scatter");
    /// `update_margins_u8` / `update_margins_u16`.
    pub const UPDATE_MARGINS: BinKernel = bin_kernel!("update_margins");
    /// Every kernel compiled per bin width.
    pub const ALL: [BinKernel; 4] = [
        BinKernel::HIST_BUILD,
        BinKernel::PARTITION_COUNT,
        BinKernel::PARTITION_SCATTER,
        BinKernel::UPDATE_MARGINS,
    ];

    /// The instantiation for the width of `bins`.
    pub fn name(self, bins: &DeviceBins) -> &'static str {
        match bins {
            DeviceBins::U8(_) => self.u8,
            DeviceBins::U16(_) => self.u16,
        }
    }
}

/// Starts a launch of `kernel`'s instantiation for the width of `bins` on the GPU's stream, with the
/// bins already pushed as the first argument (every per-width kernel takes them first). Returns the
/// builder (push the remaining arguments, then launch) and the instantiation's name.
pub fn with_bins<'a>(gpu: &'a Gpu, kernel: BinKernel, bins: &'a DeviceBins) -> Result<(LaunchArgs<'a>, &'static str)> {
    let name = kernel.name(bins);
    let mut args = gpu.stream.launch_builder(gpu.function(name)?);
    match bins {
        DeviceBins::U8(b) => args.arg(b),
        DeviceBins::U16(b) => args.arg(b),
    };
    Ok((args, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::MODULES;

    #[test]
    fn grids_cover_every_item_within_bounds() {
        assert_eq!(grid_1d(0, BLOCK), 1);
        assert_eq!(grid_1d(1, BLOCK), 1);
        assert_eq!(grid_1d(256, 256), 1);
        assert_eq!(grid_1d(257, 256), 2);
        assert_eq!(grid_1d(1000, 32), 32);
        assert_eq!(grid_1d(usize::MAX / 2, BLOCK), MAX_GRID_BLOCKS);
        let cfg = grid_stride(10_000);
        assert_eq!(cfg.grid_dim, (40, 1, 1));
        assert_eq!(cfg.block_dim, (BLOCK, 1, 1));
        assert_eq!(cfg.shared_mem_bytes, 0);
        assert_eq!(grid_stride_capped(10_000_000, 1024).grid_dim, (1024, 1, 1));
        assert_eq!(grid_stride_capped(1000, 1024).grid_dim, (4, 1, 1));
        let cfg = grid_stride_with(1000, 64, 512);
        assert_eq!(
            (cfg.grid_dim, cfg.block_dim, cfg.shared_mem_bytes),
            ((16, 1, 1), (64, 1, 1), 512)
        );
        let cfg = per_chunk(7, 3, 4096);
        assert_eq!(
            (cfg.grid_dim, cfg.block_dim, cfg.shared_mem_bytes),
            ((7, 3, 1), (BLOCK, 1, 1), 4096)
        );
    }

    #[test]
    fn shared_memory_sizes() {
        assert_eq!(shared_bytes::<[u64; 2]>(true, 3072), 48 << 10);
        assert_eq!(shared_bytes::<f32>(true, 48 * 256), 48 << 10);
        assert_eq!(shared_bytes::<f32>(false, 48 * 256), 0);
    }

    #[test]
    fn every_bin_width_kernel_is_a_compiled_kernel() {
        for k in BinKernel::ALL {
            for name in [k.u8, k.u16] {
                assert!(
                    MODULES.iter().any(|m| m.functions.contains(&name)),
                    "{name} is in no kernel module"
                );
            }
        }
        let per_width = MODULES
            .iter()
            .flat_map(|m| m.functions)
            .filter(|f| f.ends_with("_u8") || f.ends_with("_u16"))
            .count();
        assert_eq!(per_width, 2 * BinKernel::ALL.len());
    }
}
