//! The quantized feature matrix: one bin index per (row, feature), row-major, u8 when every bin
//! index fits in a byte and u16 otherwise.

use rayon::prelude::*;

use crate::bins::bin_search::FeatureSearch;
use crate::bins::bundles::BinBundles;
use crate::bins::cuts::BinMapper;
use crate::data::column::Column;
use crate::data::dataset::Dataset;

/// Most rows per parallel task when quantizing (the result never depends on the thread count).
const QUANTIZE_CHUNK: usize = 4096;

/// Bytes of output one quantizing task writes at most: a task fills its rows feature by feature,
/// so its block of the row-major matrix should stay in the core's L2 cache (1,000 features: 256
/// rows per task instead of 4,096, which made every feature's pass miss the cache).
const QUANTIZE_TASK_BYTES: usize = 256 * 1024;

/// Rows per quantizing task for `num_features` features of `cell_bytes` bytes each.
fn quantize_chunk_rows(num_features: usize, cell_bytes: usize) -> usize {
    (QUANTIZE_TASK_BYTES / (num_features * cell_bytes).max(1)).clamp(64, QUANTIZE_CHUNK)
}

/// Row-major bin storage.
#[derive(Debug, Clone, PartialEq)]
pub enum BinStore {
    /// One byte per cell.
    U8(Vec<u8>),
    /// Two bytes per cell.
    U16(Vec<u16>),
}

/// Zero bins after the last row of every column, so that a 4-byte load at any row's bin stays
/// inside the column (the vector partition kernel gathers bins that way).
pub(crate) const COLUMN_PADDING: usize = 4;

/// One feature's bins, one per row, in row order, then `COLUMN_PADDING` (4) zero bins.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OwnedColumn {
    /// Every bin of the feature fits in a byte.
    U8(Vec<u8>),
    /// The feature has more than 256 bins.
    U16(Vec<u16>),
}

/// One feature's bins, one per row, in row order, then `COLUMN_PADDING` (4) zero bins: bytes when the
/// feature's bins fit in a byte (whatever the width of the row-major store), else two bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ColumnBins<'a> {
    /// One byte per row.
    U8(&'a [u8]),
    /// Two bytes per row.
    U16(&'a [u16]),
}

/// The quantized matrix: `num_rows * num_features` bin indices, row-major (for histogram building),
/// plus a column-major copy (for row partitioning, which reads one feature of many rows: a byte
/// column is a quarter of the float column it replaces), each feature's column as narrow as its
/// own bins allow.
#[derive(Debug, Clone)]
pub struct QuantizedMatrix {
    store: BinStore,
    /// Feature `f`'s bins in row order.
    columns: Vec<OwnedColumn>,
    num_rows: usize,
    num_features: usize,
    /// Set once the bins were checked against a histogram layout (a fingerprint of its widths).
    checked: std::sync::OnceLock<usize>,
    /// The rows as codes of bundles of low-cardinality features, when [`QuantizedMatrix::bundle`]
    /// found bundling worth it.
    bundles: Option<Box<BinBundles>>,
}

/// A bin index type stored in the matrix.
pub trait BinIndex: Copy + Send + Sync + 'static {
    /// Bytes per index.
    const WIDTH: usize;
    /// The bin as an index.
    fn index(self) -> usize;
    /// Narrows an index (the caller guarantees it fits).
    fn from_index(i: usize) -> Self;
}

impl BinIndex for u8 {
    const WIDTH: usize = 1;
    #[inline(always)]
    fn index(self) -> usize {
        self as usize
    }
    #[inline(always)]
    fn from_index(i: usize) -> Self {
        i as u8
    }
}

impl BinIndex for u16 {
    const WIDTH: usize = 2;
    #[inline(always)]
    fn index(self) -> usize {
        self as usize
    }
    #[inline(always)]
    fn from_index(i: usize) -> Self {
        i as u16
    }
}

fn quantize<T: BinIndex>(data: &Dataset, mapper: &BinMapper) -> Vec<T> {
    let mut out = vec![T::from_index(0); data.num_rows() * data.num_features()];
    quantize_into(data, mapper, &mut out);
    out
}

/// The bins of every row of `data`, row-major, into `out` (`rows x features` cells).
pub(crate) fn quantize_into<T: BinIndex>(data: &Dataset, mapper: &BinMapper, out: &mut [T]) {
    let nf = data.num_features();
    let chunk_rows = quantize_chunk_rows(nf, std::mem::size_of::<T>());
    let searches: Vec<FeatureSearch> = (0..nf).map(|j| FeatureSearch::new(mapper.feature(j))).collect();
    out.par_chunks_mut(chunk_rows * nf.max(1))
        .enumerate()
        .for_each(|(c, chunk)| {
            let start = c * chunk_rows;
            let len = chunk.len() / nf;
            for j in 0..nf {
                let cuts = mapper.feature(j);
                match data.column(j) {
                    Column::Dense(col) => {
                        searches[j].bins_of(&col[start..start + len], |k, b| chunk[k * nf + j] = T::from_index(b));
                    }
                    Column::Sparse { rows, values } => {
                        let missing = T::from_index(cuts.missing_bin());
                        for cell in chunk.chunks_exact_mut(nf) {
                            cell[j] = missing;
                        }
                        let from = rows.partition_point(|r| (*r as usize) < start);
                        for (r, x) in rows[from..].iter().zip(&values[from..]) {
                            let r = *r as usize;
                            if r >= start + len {
                                break;
                            }
                            chunk[(r - start) * nf + j] = T::from_index(cuts.bin(*x));
                        }
                    }
                }
            }
        });
}

/// Zeroed columns of `num_rows` rows (then the padding) for the features of `mapper`, each as
/// narrow as its own bins allow (a byte for 256 value bins without missing values).
pub(crate) fn empty_columns(mapper: &BinMapper, num_rows: usize) -> Vec<OwnedColumn> {
    (0..mapper.num_features())
        .map(|f| {
            if mapper.feature(f).max_stored_bin() <= u8::MAX as usize {
                OwnedColumn::U8(vec![0; num_rows + COLUMN_PADDING])
            } else {
                OwnedColumn::U16(vec![0; num_rows + COLUMN_PADDING])
            }
        })
        .collect()
}

/// Rows per parallel task of [`transpose_into`].
const TRANSPOSE_TASK_ROWS: usize = 16 * 1024;

/// Rows per block of [`transpose_into`]: a block's row-major bins (64 rows of 1,000 features are
/// 64 KB) stay in the core's cache while every feature's column takes its rows from them.
const TRANSPOSE_BLOCK_ROWS: usize = 64;

/// One column's rows of one task of [`transpose_into`].
enum ColumnRows<'c> {
    U8(&'c mut [u8]),
    U16(&'c mut [u16]),
}

/// Copies the row-major bins `rows` (`columns.len()` per row) into the columns' rows from `first`
/// on: rows in parallel tasks, each in blocks whose bins are read once for all features (a pass
/// over the whole matrix per feature fetched each row's cache line once per feature).
pub(crate) fn transpose_into<T: BinIndex>(rows: &[T], columns: &mut [OwnedColumn], first: usize) {
    fn fill<T: BinIndex, U: BinIndex>(rows: &[T], nf: usize, f: usize, from: usize, out: &mut [U]) {
        for (i, cell) in out.iter_mut().enumerate() {
            *cell = U::from_index(rows[(from + i) * nf + f].index());
        }
    }
    let nf = columns.len();
    if nf == 0 {
        return;
    }
    let num_rows = rows.len() / nf;
    let mut tasks: Vec<Vec<ColumnRows>> = (0..num_rows.div_ceil(TRANSPOSE_TASK_ROWS))
        .map(|_| Vec::with_capacity(nf))
        .collect();
    for column in columns.iter_mut() {
        match column {
            OwnedColumn::U8(c) => {
                let end = (first + num_rows).min(c.len());
                for (task, part) in tasks.iter_mut().zip(c[first..end].chunks_mut(TRANSPOSE_TASK_ROWS)) {
                    task.push(ColumnRows::U8(part));
                }
            }
            OwnedColumn::U16(c) => {
                let end = (first + num_rows).min(c.len());
                for (task, part) in tasks.iter_mut().zip(c[first..end].chunks_mut(TRANSPOSE_TASK_ROWS)) {
                    task.push(ColumnRows::U16(part));
                }
            }
        }
    }
    tasks.into_par_iter().enumerate().for_each(|(t, mut parts)| {
        let task_first = t * TRANSPOSE_TASK_ROWS;
        let len = parts.first().map_or(0, |p| match p {
            ColumnRows::U8(s) => s.len(),
            ColumnRows::U16(s) => s.len(),
        });
        for block in (0..len).step_by(TRANSPOSE_BLOCK_ROWS) {
            let end = (block + TRANSPOSE_BLOCK_ROWS).min(len);
            for (f, part) in parts.iter_mut().enumerate() {
                match part {
                    ColumnRows::U8(s) => fill(rows, nf, f, task_first + block, &mut s[block..end]),
                    ColumnRows::U16(s) => fill(rows, nf, f, task_first + block, &mut s[block..end]),
                }
            }
        }
    });
}

impl QuantizedMatrix {
    /// Quantizes a data set with the given cuts.
    pub fn build(data: &Dataset, mapper: &BinMapper) -> QuantizedMatrix {
        let store = if mapper.max_stored_bin() <= u8::MAX as usize {
            BinStore::U8(quantize::<u8>(data, mapper))
        } else {
            BinStore::U16(quantize::<u16>(data, mapper))
        };
        QuantizedMatrix::from_store(store, mapper, data.num_rows(), data.num_features())
    }

    /// The matrix of row-major bins `store` (`num_rows x nf`, quantized with `mapper`): adds the
    /// column-major copy.
    pub(crate) fn from_store(store: BinStore, mapper: &BinMapper, num_rows: usize, nf: usize) -> QuantizedMatrix {
        let mut columns = empty_columns(mapper, num_rows);
        match &store {
            BinStore::U8(v) => transpose_into(v, &mut columns, 0),
            BinStore::U16(v) => transpose_into(v, &mut columns, 0),
        }
        QuantizedMatrix::from_parts(store, columns, num_rows, nf)
    }

    /// The matrix of row-major bins `store` and their column-major copy `columns` (`num_rows x
    /// nf`).
    pub(crate) fn from_parts(
        store: BinStore,
        columns: Vec<OwnedColumn>,
        num_rows: usize,
        nf: usize,
    ) -> QuantizedMatrix {
        QuantizedMatrix {
            store,
            columns,
            num_rows,
            num_features: nf,
            checked: Default::default(),
            bundles: None,
        }
    }

    /// Adds the rows' codes of bundled low-cardinality features (see `bins/bundles.rs`) for
    /// the histogram layout of `mapper`, when bundling saves at least an eighth of the row-wise
    /// histogram's additions.
    pub fn bundle(mut self, mapper: &BinMapper) -> QuantizedMatrix {
        self.bundles = BinBundles::build(&self.store, self.num_features, mapper.offsets()).map(Box::new);
        self
    }

    /// The bundled codes, when [`QuantizedMatrix::bundle`] made them.
    pub fn bundles(&self) -> Option<&BinBundles> {
        self.bundles.as_deref()
    }

    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.num_rows
    }

    /// Number of features.
    pub fn num_features(&self) -> usize {
        self.num_features
    }

    /// The storage.
    pub fn store(&self) -> &BinStore {
        &self.store
    }

    /// Feature `f`'s bins in row order, then `COLUMN_PADDING` (4) zero bins.
    pub fn column(&self, f: usize) -> ColumnBins<'_> {
        match &self.columns[f] {
            OwnedColumn::U8(c) => ColumnBins::U8(c),
            OwnedColumn::U16(c) => ColumnBins::U16(c),
        }
    }

    /// The bin of one cell.
    #[inline]
    pub fn bin(&self, row: usize, feature: usize) -> usize {
        let i = row * self.num_features + feature;
        match &self.store {
            BinStore::U8(v) => v[i] as usize,
            BinStore::U16(v) => v[i] as usize,
        }
    }

    /// Whether every stored bin of feature `f` is below `offsets[f + 1] - offsets[f]` (the safety
    /// condition of the histogram kernel). Checked once per matrix and cached.
    pub fn max_bin_below(&self, offsets: &[usize]) -> bool {
        let widths: Vec<usize> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
        if widths.len() != self.num_features {
            return false;
        }
        let key = widths.iter().fold(0usize, |h, w| h.wrapping_mul(31).wrapping_add(*w));
        if let Some(k) = self.checked.get() {
            return *k == key;
        }
        let nf = self.num_features;
        // Row by row against each feature's largest allowed bin, without a branch or a division
        // per cell, so that the comparison is vectorised (a modulo per cell took 5 % of a short
        // run on 160,000 x 500).
        fn all_below<T: BinIndex + PartialOrd + Sync>(v: &[T], nf: usize, widths: &[usize]) -> bool {
            if nf == 0 || widths.contains(&0) {
                return nf == 0 || v.is_empty();
            }
            // A width beyond the index type's range allows every stored value.
            let type_max = (1usize << (8 * T::WIDTH)) - 1;
            let largest: Vec<T> = widths.iter().map(|w| T::from_index((w - 1).min(type_max))).collect();
            v.par_chunks(nf * 1024).all(|c| {
                c.chunks_exact(nf)
                    .all(|row| row.iter().zip(&largest).fold(true, |ok, (b, l)| ok & (b <= l)))
            })
        }
        let ok = match &self.store {
            BinStore::U8(v) => all_below(v, nf, &widths),
            BinStore::U16(v) => all_below(v, nf, &widths),
        };
        if ok {
            let _ = self.checked.set(key);
        }
        ok
    }

    /// Bytes per cell (1 or 2).
    pub fn bytes_per_bin(&self) -> usize {
        match self.store {
            BinStore::U8(_) => 1,
            BinStore::U16(_) => 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_per_cell_binning_and_picks_width() {
        let cols = vec![vec![1.0, f32::NAN, 3.0, 2.0], vec![0.5, 0.25, 0.5, 0.125]];
        let d = Dataset::from_columns(cols.clone()).unwrap();
        let m = BinMapper::fit(&d, 256);
        let q = QuantizedMatrix::build(&d, &m);
        assert_eq!(q.bytes_per_bin(), 1);
        for (j, col) in cols.iter().enumerate() {
            for (i, x) in col.iter().enumerate() {
                assert_eq!(q.bin(i, j), m.feature(j).bin(*x));
                let ColumnBins::U8(column) = q.column(j) else {
                    panic!("feature {j} fits in bytes")
                };
                assert_eq!(column[i] as usize, q.bin(i, j));
            }
        }
        // A feature of 1,000 bins makes the store two bytes wide; the other keeps a byte column.
        let wide: Vec<f32> = (0..1000).map(|i| i as f32).collect();
        let narrow: Vec<f32> = (0..1000).map(|i| (i % 7) as f32).collect();
        let d = Dataset::from_columns(vec![wide, narrow]).unwrap();
        let m = BinMapper::fit(&d, 1000);
        let q = QuantizedMatrix::build(&d, &m);
        assert_eq!(q.bytes_per_bin(), 2);
        let ColumnBins::U16(c0) = q.column(0) else {
            panic!("feature 0 needs two bytes")
        };
        let ColumnBins::U8(c1) = q.column(1) else {
            panic!("feature 1 fits in bytes")
        };
        for i in 0..1000 {
            assert_eq!((c0[i] as usize, c1[i] as usize), (q.bin(i, 0), q.bin(i, 1)));
        }
    }

    #[test]
    fn max_bin_below_checks_every_cell_against_its_feature() {
        // Two rows of three features, row-major: the bins 0..=2, 0..=5 and 0..=1 are stored.
        let store = BinStore::U8(vec![2, 5, 0, 1, 3, 1]);
        let matrix = |store| QuantizedMatrix::from_parts(store, Vec::new(), 2, 3);
        assert!(matrix(store.clone()).max_bin_below(&[0, 3, 9, 11]));
        // Each feature one bin narrower in turn: its largest stored bin no longer fits.
        for offsets in [[0, 2, 8, 10], [0, 3, 8, 10], [0, 3, 9, 10]] {
            assert!(!matrix(store.clone()).max_bin_below(&offsets), "{offsets:?}");
        }
        // Two-byte cells, one feature wider than a byte allows.
        let wide = BinStore::U16(vec![300, 1, 299, 0]);
        let m = QuantizedMatrix::from_parts(wide, Vec::new(), 2, 2);
        assert!(m.max_bin_below(&[0, 301, 303]));
        assert!(
            !QuantizedMatrix::from_parts(BinStore::U16(vec![300, 1, 299, 0]), Vec::new(), 2, 2)
                .max_bin_below(&[0, 300, 302])
        );
    }
}
