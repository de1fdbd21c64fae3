//! Stable row partitioning on the device: all nodes of a level in one launch sequence (count, scan,
//! scatter, copy back); only the number of left rows per node comes back to the host.

use cudarc::driver::{CudaSlice, PushKernelArg};

use crate::context::Gpu;
use crate::error::{Ctx, Result};
use crate::hist::DeviceBins;
use crate::launch::{self, BinKernel};
use crate::layout::{chunk_table, BLOCK, PARTITION_CHUNK_ROWS};

/// One node to split: its rows `rows[begin..end]` go left when their bin of `feature` is at most
/// `bin`, or is `missing_bin` and `default_left`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionTask {
    /// Split feature.
    pub feature: u32,
    /// Last bin going left.
    pub bin: u32,
    /// Where missing values go.
    pub default_left: bool,
    /// The feature's missing bin.
    pub missing_bin: u32,
    /// First position of the node's rows.
    pub begin: usize,
    /// One past the last.
    pub end: usize,
}

impl PartitionTask {
    /// The 6 words the kernels read.
    pub fn words(&self) -> [u32; 6] {
        [
            self.feature,
            self.bin,
            self.default_left as u32,
            self.missing_bin,
            self.begin as u32,
            self.end as u32,
        ]
    }

    /// Whether a row with bin `b` goes left (the kernels' test).
    pub fn goes_left(&self, b: u32) -> bool {
        if b == self.missing_bin {
            self.default_left
        } else {
            b <= self.bin
        }
    }
}

/// Partitions every task's range of `rows` in place (stable); returns each task's number of left
/// rows.
pub fn apply(
    gpu: &Gpu,
    bins: &DeviceBins,
    nf: usize,
    rows: &mut CudaSlice<u32>,
    scratch: &mut CudaSlice<u32>,
    tasks: &[PartitionTask],
) -> Result<Vec<usize>> {
    if tasks.is_empty() {
        return Ok(Vec::new());
    }
    let ranges: Vec<(u32, usize, usize)> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u32, t.begin, t.end))
        .collect();
    let (table, first) = chunk_table(&ranges, PARTITION_CHUNK_ROWS);
    let nchunks = table.len() / 3;
    let words: Vec<u32> = tasks.iter().flat_map(|t| t.words()).collect();
    let s = &gpu.stream;
    let tasks_dev = s.clone_htod(&words).ctx("uploading partition tasks")?;
    let mut task_left = s.alloc_zeros::<u32>(tasks.len()).ctx("allocating")?;
    if nchunks > 0 {
        let chunks = s.clone_htod(&table).ctx("uploading partition chunks")?;
        let first_dev = s.clone_htod(&first).ctx("uploading partition chunks")?;
        let mut chunk_left = s.alloc_zeros::<u32>(nchunks).ctx("allocating")?;
        let mut chunk_before = s.alloc_zeros::<u32>(nchunks).ctx("allocating")?;
        let per_chunk = launch::per_chunk(nchunks, 1, 0);
        let per_task = launch::grid_stride(tasks.len());
        let nf32 = nf as u32;
        let ntasks = tasks.len() as u32;
        let (mut args, name) = launch::with_bins(gpu, BinKernel::PARTITION_COUNT, bins)?;
        args.arg(&nf32)
            .arg(&*rows)
            .arg(&chunks)
            .arg(&tasks_dev)
            .arg(&mut chunk_left);
        // SAFETY: the argument list (bins pushed by `with_bins`, then the rest) matches
        // partition_count_*'s signature; chunk positions are inside `rows`, row ids below the
        // matrix's rows, task features below nf.
        unsafe { args.launch(per_chunk) }.ctx(name)?;
        // SAFETY: matches partition_scan's signature; first_dev has ntasks + 1 entries, the chunk
        // arrays nchunks, task_left ntasks.
        unsafe {
            s.launch_builder(gpu.function("partition_scan")?)
                .arg(&chunk_left)
                .arg(&first_dev)
                .arg(&ntasks)
                .arg(&mut chunk_before)
                .arg(&mut task_left)
                .launch(per_task)
        }
        .ctx("partition_scan")?;
        let (mut args, name) = launch::with_bins(gpu, BinKernel::PARTITION_SCATTER, bins)?;
        args.arg(&nf32)
            .arg(&*rows)
            .arg(&chunks)
            .arg(&tasks_dev)
            .arg(&chunk_before)
            .arg(&task_left)
            .arg(&mut *scratch);
        // SAFETY: the argument list (bins pushed by `with_bins`, then the rest) matches
        // partition_scatter_*'s signature; every chunk lies inside its task's range, which lies
        // inside `rows` and `scratch` (same length); BLOCK is a multiple of 32.
        unsafe { args.launch(per_chunk) }.ctx(name)?;
        // SAFETY: matches partition_copy's signature; chunk positions are inside both arrays.
        unsafe {
            s.launch_builder(gpu.function("partition_copy")?)
                .arg(&*scratch)
                .arg(&chunks)
                .arg(&mut *rows)
                .launch(per_chunk)
        }
        .ctx("partition_copy")?;
    }
    let lefts = s.clone_dtoh(&task_left).ctx("downloading partition counts")?;
    gpu.sync()?;
    Ok(lefts.into_iter().map(|l| l as usize).collect())
}

/// What the four kernels compute, on the host, tile by tile as the scatter kernel does (the
/// reference they are written after; tested against a plain stable partition).
pub fn reference_partition(rows: &mut [u32], bin_of: impl Fn(u32, u32) -> u32, tasks: &[PartitionTask]) -> Vec<usize> {
    let ranges: Vec<(u32, usize, usize)> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (i as u32, t.begin, t.end))
        .collect();
    let (table, first) = chunk_table(&ranges, PARTITION_CHUNK_ROWS);
    let chunks: Vec<&[u32]> = table.chunks(3).collect();
    let left = |t: &PartitionTask, r: u32| t.goes_left(bin_of(r, t.feature));
    // count + scan
    let counts: Vec<usize> = chunks
        .iter()
        .map(|c| {
            let t = &tasks[c[0] as usize];
            rows[c[1] as usize..c[2] as usize]
                .iter()
                .filter(|&&r| left(t, r))
                .count()
        })
        .collect();
    let mut before = vec![0usize; chunks.len()];
    let mut task_left = vec![0usize; tasks.len()];
    for t in 0..tasks.len() {
        let mut acc = 0;
        for c in first[t] as usize..first[t + 1] as usize {
            before[c] = acc;
            acc += counts[c];
        }
        task_left[t] = acc;
    }
    // scatter, one tile of BLOCK rows at a time
    let mut scratch = rows.to_vec();
    for (c, ch) in chunks.iter().enumerate() {
        let t = &tasks[ch[0] as usize];
        let (node_begin, left_total) = (t.begin, task_left[ch[0] as usize]);
        let mut lbase = before[c];
        let mut rbase = (ch[1] as usize - node_begin) - lbase;
        let mut base = ch[1] as usize;
        while base < ch[2] as usize {
            let tile = &rows[base..(base + BLOCK as usize).min(ch[2] as usize)];
            let mut lrank = 0;
            for (i, &r) in tile.iter().enumerate() {
                if left(t, r) {
                    scratch[node_begin + lbase + lrank] = r;
                    lrank += 1;
                } else {
                    scratch[node_begin + left_total + rbase + (i - lrank)] = r;
                }
            }
            lbase += lrank;
            rbase += tile.len() - lrank;
            base += BLOCK as usize;
        }
    }
    // copy back
    for ch in &chunks {
        let (b, e) = (ch[1] as usize, ch[2] as usize);
        rows[b..e].copy_from_slice(&scratch[b..e]);
    }
    task_left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_is_a_stable_partition() {
        let n = 3 * PARTITION_CHUNK_ROWS + 777;
        let bin_of = |r: u32, f: u32| (r.wrapping_mul(2_654_435_761).rotate_left(f) >> 7) % 12;
        let mut rows: Vec<u32> = (0..n as u32).map(|i| i * 3 + 1).collect();
        let tasks = [
            PartitionTask {
                feature: 1,
                bin: 4,
                default_left: true,
                missing_bin: 11,
                begin: 0,
                end: 10,
            },
            PartitionTask {
                feature: 2,
                bin: 7,
                default_left: false,
                missing_bin: 11,
                begin: 10,
                end: n - 5,
            },
            PartitionTask {
                feature: 0,
                bin: 0,
                default_left: false,
                missing_bin: 11,
                begin: n - 5,
                end: n - 5,
            },
        ];
        let original = rows.clone();
        let lefts = reference_partition(&mut rows, bin_of, &tasks);
        for (t, nl) in tasks.iter().zip(lefts) {
            let src = &original[t.begin..t.end];
            let mut want: Vec<u32> = src
                .iter()
                .copied()
                .filter(|&r| t.goes_left(bin_of(r, t.feature)))
                .collect();
            assert_eq!(want.len(), nl);
            want.extend(src.iter().copied().filter(|&r| !t.goes_left(bin_of(r, t.feature))));
            assert_eq!(&rows[t.begin..t.end], &want[..]);
        }
        assert_eq!(&rows[n - 5..], &original[n - 5..]);
    }
}
