//! Host-side layouts, kept in plain Rust so that they are unit tested without a GPU: row-chunk
//! tables, feature groups for shared-memory histograms, the fixed-point scale, and split-record
//! decoding. Launch configurations are in [`crate::launch`].

/// Threads per block of the row kernels (a multiple of 32: the partition scatter ranks rows with
/// warp ballots).
pub const BLOCK: u32 = 256;
/// Rows per block of the histogram kernel.
pub const HIST_CHUNK_ROWS: usize = 8192;
/// Rows per block of the partition kernels.
pub const PARTITION_CHUNK_ROWS: usize = 4096;
/// Histogram bins a block accumulates in shared memory (2 x 8 bytes each: 48 KiB, the default
/// limit of every CUDA device).
pub const MAX_SHARED_BINS: usize = 3072;
/// Words of a split record (see `kernels/split.cu`).
pub const SPLIT_RECORD_WORDS: usize = 7;
/// `feature` of a record without a split.
pub const NO_FEATURE: u64 = u64::MAX;

/// Cuts each `(slot, begin, end)` range into chunks of at most `chunk` positions: 3 u32 per chunk
/// (slot, begin, end). Empty ranges get no chunk. Also returns the first chunk of each range (and
/// the total), for kernels that scan a range's chunks.
pub fn chunk_table(ranges: &[(u32, usize, usize)], chunk: usize) -> (Vec<u32>, Vec<u32>) {
    let mut table = Vec::new();
    let mut first = Vec::with_capacity(ranges.len() + 1);
    let mut count = 0u32;
    for &(slot, b, e) in ranges {
        first.push(count);
        let mut s = b;
        while s < e {
            let t = (s + chunk).min(e);
            table.extend_from_slice(&[slot, s as u32, t as u32]);
            s = t;
            count += 1;
        }
    }
    first.push(count);
    (table, first)
}

/// Feature groups for the histogram kernel: consecutive features whose bins together fit in
/// `max_bins`. Returns the first feature of each group (and `nf` at the end), whether every group
/// fits (shared-memory accumulation) and the widest group's bins. `offsets` are the mapper's bin
/// offsets (nf + 1 values).
pub fn feature_groups(offsets: &[usize], max_bins: usize) -> (Vec<u32>, bool, usize) {
    let nf = offsets.len().saturating_sub(1);
    let mut firsts = vec![0u32];
    let mut start = 0;
    let mut fits = true;
    let mut widest = 0;
    for f in 0..nf {
        let width = offsets[f + 1] - offsets[f];
        if width > max_bins {
            fits = false;
        }
        if f > start && offsets[f + 1] - offsets[start] > max_bins {
            widest = widest.max(offsets[f] - offsets[start]);
            firsts.push(f as u32);
            start = f;
        }
    }
    if nf > 0 {
        widest = widest.max(offsets[nf] - offsets[start]);
    }
    firsts.push(nf as u32);
    if nf == 0 {
        firsts = vec![0, 0];
    }
    (firsts, fits, widest)
}

/// The fixed-point scale (a power of two) for `count` values of magnitude at most `max_abs`: every
/// value is stored as `round(v * scale)` in an i64, and any sum of `count` of them stays below 2^62.
pub fn fixed_scale(max_abs: f32, count: usize) -> f64 {
    let m = max_abs as f64;
    if !(m.is_finite() && m > 0.0) || count == 0 {
        return 1.0;
    }
    let bound = m * count as f64;
    let e = (61.0 - bound.log2()).floor().clamp(-1000.0, 1000.0) as i32;
    2f64.powi(e)
}

/// A decoded split record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawSplit {
    /// Loss change.
    pub gain: f64,
    /// Feature.
    pub feature: usize,
    /// Last value bin going left.
    pub bin: usize,
    /// Whether missing values go left.
    pub default_left: bool,
    /// Left child's fixed-point (grad, hess).
    pub left: (i64, i64),
    /// The node's fixed-point (grad, hess).
    pub total: (i64, i64),
}

/// Decodes one split record (`None`: no split).
pub fn decode_split(words: &[u64]) -> Option<RawSplit> {
    if words.len() < SPLIT_RECORD_WORDS || words[5] == NO_FEATURE {
        return None;
    }
    Some(RawSplit {
        gain: f64::from_bits(words[0]),
        left: (words[1] as i64, words[2] as i64),
        total: (words[3] as i64, words[4] as i64),
        feature: words[5] as usize,
        bin: (words[6] & 0xffff_ffff) as usize,
        default_left: (words[6] >> 32) != 0,
    })
}

/// Encodes a split record as the kernels write it (for tests and host-side fallbacks).
pub fn encode_split(s: Option<&RawSplit>) -> [u64; SPLIT_RECORD_WORDS] {
    match s {
        None => [0, 0, 0, 0, 0, NO_FEATURE, 0],
        Some(s) => [
            s.gain.to_bits(),
            s.left.0 as u64,
            s.left.1 as u64,
            s.total.0 as u64,
            s.total.1 as u64,
            s.feature as u64,
            s.bin as u64 | ((s.default_left as u64) << 32),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_ranges_in_order() {
        let (t, first) = chunk_table(&[(0, 0, 10), (1, 10, 10), (2, 10, 25)], 4);
        let chunks: Vec<&[u32]> = t.chunks(3).collect();
        assert_eq!(chunks.len(), 7);
        assert_eq!(first, vec![0, 3, 3, 7]);
        assert_eq!(chunks[0], &[0, 0, 4]);
        assert_eq!(chunks[2], &[0, 8, 10]);
        assert_eq!(chunks[3], &[2, 10, 14]);
        assert_eq!(chunks[6], &[2, 22, 25]);
    }

    #[test]
    fn groups_fit_shared_memory() {
        // 28 features of 257 bins (max_bin 256 with a missing bin each).
        let offsets: Vec<usize> = (0..=28).map(|f| f * 257).collect();
        let (g, fits, widest) = feature_groups(&offsets, MAX_SHARED_BINS);
        assert!(fits);
        assert!(widest <= MAX_SHARED_BINS);
        assert_eq!(*g.first().unwrap(), 0);
        assert_eq!(*g.last().unwrap(), 28);
        for w in g.windows(2) {
            assert!(w[0] < w[1]);
            assert!(offsets[w[1] as usize] - offsets[w[0] as usize] <= MAX_SHARED_BINS);
        }
        // One feature wider than shared memory: no shared accumulation.
        let (_, fits, _) = feature_groups(&[0, 10, 5000], MAX_SHARED_BINS);
        assert!(!fits);
        assert_eq!(feature_groups(&[0], MAX_SHARED_BINS).0, vec![0, 0]);
    }

    #[test]
    fn fixed_point_sums_cannot_overflow() {
        for (m, n) in [
            (1.0f32, 10_000_000usize),
            (0.25, 1),
            (1e-30, 5),
            (3e30, 1_000_000),
            (7.5, 12345),
        ] {
            let s = fixed_scale(m, n);
            assert!(s.log2().fract() == 0.0, "power of two");
            let one = (m as f64 * s).round();
            assert!(one * (n as f64) < 2f64.powi(62), "{m} {n}");
            // And the scale keeps plenty of precision: the largest value has at least 2^29 steps
            // even for ten million rows.
            if n <= 10_000_000 {
                assert!(one >= 2f64.powi(29), "{m} {n}: {one}");
            }
        }
        assert_eq!(fixed_scale(0.0, 10), 1.0);
        assert_eq!(fixed_scale(f32::NAN, 10), 1.0);
    }

    #[test]
    fn split_records_round_trip() {
        let s = RawSplit {
            gain: 3.25,
            feature: 27,
            bin: 254,
            default_left: true,
            left: (-123_456_789, 987_654_321),
            total: (-5, 1 << 40),
        };
        assert_eq!(decode_split(&encode_split(Some(&s))), Some(s));
        assert_eq!(decode_split(&encode_split(None)), None);
    }
}
