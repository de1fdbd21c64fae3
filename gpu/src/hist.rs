//! Histogram building on the device: gradient quantization to 64-bit fixed point, the histogram
//! kernel (shared-memory accumulation per feature group, then one global add per bin and block) and
//! parent - sibling subtraction.
//!
//! Determinism: every sum is an integer sum (see `kernels/hist.cu`), so the result does not depend on
//! the order in which blocks and atomics run.

use cudarc::driver::{CudaSlice, CudaView, PushKernelArg};

use crate::context::Gpu;
use crate::error::{Ctx, Result};
use crate::launch::{self, BinKernel};
use crate::layout::{chunk_table, feature_groups, fixed_scale, HIST_CHUNK_ROWS, MAX_SHARED_BINS};

/// The quantized matrix on the device (uploaded once per training).
pub enum DeviceBins {
    /// Bins below 256.
    U8(CudaSlice<u8>),
    /// Wider bins.
    U16(CudaSlice<u16>),
}

/// Where each feature's bins are, and how the histogram kernel groups features.
pub struct HistLayout {
    /// Features.
    pub nf: usize,
    /// Bins of all features (each feature's value bins and its missing bin).
    pub total_bins: usize,
    /// Host copy of the bin offsets (nf + 1).
    pub offsets: Vec<usize>,
    /// Device copy of the offsets.
    pub offsets_dev: CudaSlice<u32>,
    groups_dev: CudaSlice<u32>,
    ngroups: u32,
    use_shared: bool,
    shared_bytes: u32,
}

impl HistLayout {
    /// The layout for a mapper's bin offsets.
    pub fn new(gpu: &Gpu, offsets: &[usize]) -> Result<HistLayout> {
        let (groups, use_shared, widest) = feature_groups(offsets, MAX_SHARED_BINS);
        let offsets_u32: Vec<u32> = offsets.iter().map(|&o| o as u32).collect();
        Ok(HistLayout {
            nf: offsets.len().saturating_sub(1),
            total_bins: *offsets.last().unwrap_or(&0),
            offsets: offsets.to_vec(),
            offsets_dev: gpu.stream.clone_htod(&offsets_u32).ctx("uploading bin offsets")?,
            ngroups: (groups.len() - 1).max(1) as u32,
            groups_dev: gpu.stream.clone_htod(&groups).ctx("uploading feature groups")?,
            use_shared,
            // A (grad, hess) pair of u64 per bin of the widest group.
            shared_bytes: launch::shared_bytes::<[u64; 2]>(use_shared, widest),
        })
    }

    /// u64 words of one histogram slot.
    pub fn slot_len(&self) -> usize {
        self.total_bins * 2
    }
}

/// Quantizes the gradient pairs of `m` rows (`rows[..m]`; pair of row r at `(r * stride + group)`)
/// into `q`; returns the (grad, hess) scales.
#[allow(clippy::too_many_arguments)]
pub fn quantize(
    gpu: &Gpu,
    gpair: &CudaSlice<f32>,
    stride: usize,
    group: usize,
    rows: &CudaSlice<u32>,
    m: usize,
    q: &mut CudaSlice<i64>,
) -> Result<(f64, f64)> {
    let mut absmax = gpu.stream.alloc_zeros::<u32>(2).ctx("allocating")?;
    let (stride, group, m32) = (stride as u32, group as u32, m as u32);
    let cfg = launch::grid_stride_capped(m, 1024);
    // SAFETY: the argument list matches grad_absmax's signature; rows[..m] are row ids below the
    // number of rows, and gpair holds (rows * stride) pairs.
    unsafe {
        gpu.stream
            .launch_builder(gpu.function("grad_absmax")?)
            .arg(gpair)
            .arg(&stride)
            .arg(&group)
            .arg(rows)
            .arg(&m32)
            .arg(&mut absmax)
            .launch(cfg)
    }
    .ctx("grad_absmax")?;
    let mx = gpu.stream.clone_dtoh(&absmax).ctx("downloading gradient maxima")?;
    gpu.sync()?;
    let (sg, sh) = (
        fixed_scale(f32::from_bits(mx[0]), m),
        fixed_scale(f32::from_bits(mx[1]), m),
    );
    let cfg = launch::grid_stride(m);
    // SAFETY: as above; q holds 2 values per row of the data.
    unsafe {
        gpu.stream
            .launch_builder(gpu.function("grad_quantize")?)
            .arg(gpair)
            .arg(&stride)
            .arg(&group)
            .arg(rows)
            .arg(&m32)
            .arg(&sg)
            .arg(&sh)
            .arg(q)
            .launch(cfg)
    }
    .ctx("grad_quantize")?;
    Ok((sg, sh))
}

/// Fills `rows[..m]` with 0..m.
pub fn iota(gpu: &Gpu, rows: &mut CudaSlice<u32>, m: usize) -> Result<()> {
    let m32 = m as u32;
    let cfg = launch::grid_stride(m);
    // SAFETY: rows holds at least m values.
    unsafe {
        gpu.stream
            .launch_builder(gpu.function("iota_u32")?)
            .arg(rows)
            .arg(&m32)
            .launch(cfg)
    }
    .ctx("iota_u32")?;
    Ok(())
}

/// Adds the rows of each `(slot, begin, end)` range of `rows` into histogram slot `slot` of `hist`
/// (one launch for all ranges).
#[allow(clippy::too_many_arguments)]
pub fn build(
    gpu: &Gpu,
    bins: &DeviceBins,
    layout: &HistLayout,
    rows: &CudaSlice<u32>,
    q: &CudaSlice<i64>,
    ranges: &[(u32, usize, usize)],
    hist: &mut CudaSlice<u64>,
) -> Result<()> {
    let (table, _) = chunk_table(ranges, HIST_CHUNK_ROWS);
    let nchunks = table.len() / 3;
    if nchunks == 0 || layout.nf == 0 {
        return Ok(());
    }
    let chunks = gpu.stream.clone_htod(&table).ctx("uploading histogram chunks")?;
    let cfg = launch::per_chunk(nchunks, layout.ngroups, layout.shared_bytes);
    let nf = layout.nf as u32;
    let total_bins = layout.total_bins as u32;
    let use_shared = layout.use_shared as u32;
    let (mut args, name) = launch::with_bins(gpu, BinKernel::HIST_BUILD, bins)?;
    args.arg(&nf)
        .arg(rows)
        .arg(q)
        .arg(&chunks)
        .arg(&layout.groups_dev)
        .arg(&layout.offsets_dev)
        .arg(&total_bins)
        .arg(&use_shared)
        .arg(hist);
    // SAFETY: the argument list (bins pushed by `with_bins`, then the rest) matches hist_build_*'s
    // signature (bins, nf, rows, q, chunks, groups, offsets, total_bins, use_shared, hist); every
    // chunk's positions are inside `rows`, every stored bin of feature f is below
    // offsets[f + 1] - offsets[f] (BinMapper's guarantee), every slot is inside `hist`, and the
    // dynamic shared memory holds the widest feature group.
    unsafe { args.launch(cfg) }.ctx(name)?;
    Ok(())
}

/// `level[dst_slot] = parent - level[small_slot]`.
pub fn subtract(
    gpu: &Gpu,
    layout: &HistLayout,
    level: &mut CudaSlice<u64>,
    dst_slot: usize,
    small_slot: usize,
    parent: &CudaView<'_, u64>,
) -> Result<()> {
    let len = layout.slot_len();
    let (dst, small, len32) = (dst_slot as u32, small_slot as u32, len as u32);
    let cfg = launch::grid_stride(len);
    // SAFETY: both slots are inside `level` and `parent` holds one slot.
    unsafe {
        gpu.stream
            .launch_builder(gpu.function("hist_subtract")?)
            .arg(level)
            .arg(&dst)
            .arg(&small)
            .arg(parent)
            .arg(&len32)
            .launch(cfg)
    }
    .ctx("hist_subtract")?;
    Ok(())
}
