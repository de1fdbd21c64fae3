//! Row partitioning: the rows of each node are a contiguous range of one index array; splitting a
//! node reorders its range stably so that the left child's rows come first.

use rayon::prelude::*;

/// Ranges at least this long are partitioned with parallel chunks.
const PARALLEL_MIN: usize = 1 << 16;
/// Rows per chunk of a parallel partition (fixed: the result never depends on the thread count).
const PARTITION_CHUNK: usize = 1 << 14;

/// Stably reorders `rows` so that those for which `goes_left` holds come first; returns how many do.
/// `scratch` must be at least as long as `rows`.
pub fn stable_partition(rows: &mut [u32], scratch: &mut [u32], goes_left: &(impl Fn(u32) -> bool + Sync)) -> usize {
    let n = rows.len();
    let scratch = &mut scratch[..n];
    if n < PARALLEL_MIN {
        let (mut l, mut r) = (0, 0);
        for i in 0..n {
            let row = rows[i];
            if goes_left(row) {
                rows[l] = row;
                l += 1;
            } else {
                scratch[r] = row;
                r += 1;
            }
        }
        rows[l..].copy_from_slice(&scratch[..r]);
        return l;
    }
    // Count left rows per chunk, then scatter each chunk into its own disjoint output pieces.
    let counts: Vec<usize> = rows
        .par_chunks(PARTITION_CHUNK)
        .map(|c| c.iter().filter(|r| goes_left(**r)).count())
        .collect();
    let total_left: usize = counts.iter().sum();
    let (left_out, right_out) = scratch.split_at_mut(total_left);
    let mut lefts: Vec<&mut [u32]> = Vec::with_capacity(counts.len());
    let mut rights: Vec<&mut [u32]> = Vec::with_capacity(counts.len());
    let (mut lrest, mut rrest) = (left_out, right_out);
    for (c, &nl) in counts.iter().enumerate() {
        let len = PARTITION_CHUNK.min(n - c * PARTITION_CHUNK);
        let (a, b) = std::mem::take(&mut lrest).split_at_mut(nl);
        lefts.push(a);
        lrest = b;
        let (a, b) = std::mem::take(&mut rrest).split_at_mut(len - nl);
        rights.push(a);
        rrest = b;
    }
    rows.par_chunks(PARTITION_CHUNK)
        .zip(lefts.into_par_iter().zip(rights.into_par_iter()))
        .for_each(|(chunk, (l, r))| {
            let (mut i, mut j) = (0, 0);
            for &row in chunk {
                if goes_left(row) {
                    l[i] = row;
                    i += 1;
                } else {
                    r[j] = row;
                    j += 1;
                }
            }
        });
    rows.par_chunks_mut(PARTITION_CHUNK)
        .zip(scratch.par_chunks(PARTITION_CHUNK))
        .for_each(|(d, s)| d.copy_from_slice(s));
    total_left
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(rows: &[u32], f: impl Fn(u32) -> bool) -> (Vec<u32>, usize) {
        let mut l: Vec<u32> = rows.iter().copied().filter(|r| f(*r)).collect();
        let n = l.len();
        l.extend(rows.iter().copied().filter(|r| !f(*r)));
        (l, n)
    }

    #[test]
    fn small_and_large_partitions_match_naive() {
        for n in [10usize, 200_000] {
            let mut rows: Vec<u32> = (0..n as u32)
                .map(|i| i.wrapping_mul(2_654_435_761) % (n as u32 * 3))
                .collect();
            let pred = |r: u32| r % 3 == 1 || r % 7 == 0;
            let (want, wl) = naive(&rows, pred);
            let mut scratch = vec![0; n];
            let l = stable_partition(&mut rows, &mut scratch, &pred);
            assert_eq!(l, wl);
            assert_eq!(rows, want);
        }
    }
}
