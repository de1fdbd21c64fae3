//! Histogram building: per-bin sums of gradients and hessians over a node's rows, built in parallel
//! over fixed row chunks and reduced in a fixed order, plus the parent - sibling subtraction.

use std::ops::{AddAssign, SubAssign};

use rayon::prelude::*;

use crate::bins::bundles::BinBundles;
use crate::bins::matrix::{BinIndex, BinStore, ColumnBins, QuantizedMatrix};
use crate::bins::sparse_rows::SparseRows;
use crate::gradients::{unpack, CellScale, GradPair, GradStats};
use crate::util::prefetch::{consecutive_rows, prefetch, PREFETCH_DISTANCE};

/// Rows per histogram task. Fixed, so the summation order — and so the result — never depends on
/// the number of threads.
pub const HIST_CHUNK: usize = 8192;

/// A histogram cell: the per-bin sum a histogram holds, built by adding one per-row pair at a time.
///
/// Two kinds exist: [`GradStats`] (f64 sums of the f32 gradient pairs) and `i64` (packed sums of
/// quantized gradient pairs, see [`crate::train::quantize`]), which is half the size and adds with one
/// integer instruction.
pub trait HistCell: Copy + Default + Send + Sync + AddAssign + SubAssign + PartialEq + std::fmt::Debug {
    /// What one row contributes.
    type Pair: Copy + Send + Sync;
    /// Whether sums of this cell are exact, so that the order of addition cannot change them (and
    /// partial histograms may be combined in any order without breaking determinism).
    const EXACT_SUMS: bool;
    /// Adds one row's pair.
    fn add_pair(&mut self, p: Self::Pair);
    /// The gradient sums this cell stands for.
    fn stats(self, scale: &CellScale) -> GradStats;
    /// The cells as integers that may be summed over the ranks of distributed training (`None`
    /// when the sums are not exact).
    fn exact_words(_cells: &mut [Self]) -> Option<&mut [i64]> {
        None
    }
}

impl HistCell for GradStats {
    type Pair = GradPair;
    const EXACT_SUMS: bool = false;
    #[inline(always)]
    fn add_pair(&mut self, g: GradPair) {
        GradStats::add_pair(self, g);
    }
    #[inline(always)]
    fn stats(self, _: &CellScale) -> GradStats {
        self
    }
}

impl HistCell for i64 {
    type Pair = i64;
    const EXACT_SUMS: bool = true;
    #[inline(always)]
    fn add_pair(&mut self, p: i64) {
        *self = self.wrapping_add(p);
    }
    #[inline(always)]
    fn stats(self, scale: &CellScale) -> GradStats {
        let (g, h) = unpack(self);
        GradStats::new(g as f64 * scale.grad_unit, h as f64 * scale.hess_unit)
    }
    fn exact_words(cells: &mut [Self]) -> Option<&mut [i64]> {
        Some(cells)
    }
}

/// Row by row, the features of a row add into bins spread over the whole histogram; once it
/// outgrows the core's L1 cache (48 KB here) by much, most additions miss it. The row-wise kernel then walks the node's rows once per block of
/// features whose bins take about this many bytes, so that each pass adds into a histogram that
/// stays in L1. Measured on 500,000 rows x 60 features of 256 bins, ns per addition, in blocks
/// of 30 features against all 60 at once: all rows 0.65 vs 0.86, a tenth 0.85 vs 1.07; on 40,000
/// x 1,000, a tenth of the rows: 0.94 vs 1.54; 28 features (57 KB) gain nothing from blocks. A block never splits a feature, and every bin still
/// receives its rows in row order, so the sums are the same as without blocks, bit for bit.
pub const ROW_BLOCK_BYTES: usize = 64 * 1024;

/// The features `first..end` of each block the row-wise kernel walks in one pass: consecutive
/// features whose cells fit `block_bytes` (a feature larger than that is a block of its own).
fn feature_blocks(offsets: &[usize], cell_bytes: usize, block_bytes: usize) -> Vec<std::ops::Range<usize>> {
    let nf = offsets.len().saturating_sub(1);
    let mut blocks = Vec::new();
    let mut first = 0;
    for f in 0..nf {
        if f > first && (offsets[f + 1] - offsets[first]) * cell_bytes > block_bytes {
            blocks.push(first..f);
            first = f;
        }
    }
    if first < nf {
        blocks.push(first..nf);
    }
    blocks
}

/// Adds the rows `rows` into `hist` (sequential kernel): for each group of [`ROW_GROUP`] rows, one
/// pass over the group per block of features (see [`ROW_BLOCK_BYTES`]).
///
/// `offsets[f]` is where feature `f`'s bins start; every stored bin of feature `f` is below
/// `offsets[f + 1] - offsets[f]`, which [`crate::bins::cuts::BinMapper`] guarantees.
fn accumulate<T: BinIndex, C: HistCell>(
    bins: &[T],
    nf: usize,
    offsets: &[usize],
    blocks: &[std::ops::Range<usize>],
    rows: &[u32],
    pairs: &[C::Pair],
    hist: &mut [C],
) {
    if consecutive_rows(rows) {
        accumulate_rows::<T, C, false>(bins, nf, offsets, blocks, rows, pairs, hist)
    } else {
        accumulate_rows::<T, C, true>(bins, nf, offsets, blocks, rows, pairs, hist)
    }
}

/// [`accumulate`], prefetching rows ahead when `PREFETCH`.
#[inline(always)]
fn accumulate_rows<T: BinIndex, C: HistCell, const PREFETCH: bool>(
    bins: &[T],
    nf: usize,
    offsets: &[usize],
    blocks: &[std::ops::Range<usize>],
    rows: &[u32],
    pairs: &[C::Pair],
    hist: &mut [C],
) {
    let total = hist.len();
    for (group_index, group) in rows.chunks(ROW_GROUP).enumerate() {
        let group_start = group_index * ROW_GROUP;
        for block in blocks {
            let (first, width) = (block.start, block.len());
            let offsets = &offsets[block.clone()];
            for (i, &r) in group.iter().enumerate() {
                // The rows of a deep node are scattered over the matrix: fetch a later row's bins
                // and gradient ahead of time, as XGBoost does, so the loads overlap with this
                // row's work.
                if let Some(&ahead) = rows.get(group_start + i + PREFETCH_DISTANCE).filter(|_| PREFETCH) {
                    let ahead = ahead as usize;
                    // A row's bins may straddle two cache lines: both are fetched.
                    prefetch(bins.as_ptr().wrapping_add(ahead * nf + first));
                    prefetch(bins.as_ptr().wrapping_add(ahead * nf + first + width - 1));
                    prefetch(pairs.as_ptr().wrapping_add(ahead));
                }
                let r = r as usize;
                let g = pairs[r];
                let row = &bins[r * nf + first..r * nf + first + width];
                for (b, off) in row.iter().zip(offsets) {
                    let slot = off + b.index();
                    debug_assert!(slot < total);
                    // SAFETY: the matrix was quantized with the same `BinMapper` whose offsets we
                    // got, so `b < offsets[f + 1] - offsets[f]` and
                    // `slot < offsets[nf] == hist.len()` (checked by `build_histograms` before any
                    // kernel runs).
                    unsafe { hist.get_unchecked_mut(slot) }.add_pair(g);
                }
            }
        }
    }
}

/// Row-wise additions a node of one task must need before it is cut by features among idle
/// threads (below, waking a thread costs more than it saves).
const SPLIT_NODE_MIN_ADDITIONS: usize = 16 * 1024;

/// Rows the row-wise kernel takes through every feature block before it moves on: their bins
/// (a cache line or two each) stay in L2 between the blocks' passes, so a node whose rows are
/// scattered over the matrix does not fetch them from memory once per block.
const ROW_GROUP: usize = 1024;

/// The row-major bins one row-wise histogram is built from: the matrix's features, or the codes of
/// its bundles of low-cardinality features ([`crate::bins::bundles`]), with where each column's
/// cells start (the total last) and the feature blocks the kernel walks.
struct RowLayout<'m> {
    store: &'m BinStore,
    columns: usize,
    offsets: &'m [usize],
    blocks: Vec<std::ops::Range<usize>>,
    /// Sparse features listed per row (bundled layouts only), whose region follows the columns'
    /// cells.
    sparse: Option<&'m SparseRows>,
}

impl<'m> RowLayout<'m> {
    fn new(store: &'m BinStore, columns: usize, offsets: &'m [usize], cell_bytes: usize, block_bytes: usize) -> Self {
        let blocks = feature_blocks(offsets, cell_bytes, block_bytes);
        RowLayout {
            store,
            columns,
            offsets,
            blocks,
            sparse: None,
        }
    }

    /// The layout of a matrix's bundles: their codes' columns, then their sparse region.
    fn bundled(bundles: &'m BinBundles, cell_bytes: usize, block_bytes: usize) -> Self {
        RowLayout {
            sparse: bundles.sparse(),
            ..RowLayout::new(
                bundles.codes(),
                bundles.num_bundles(),
                bundles.offsets(),
                cell_bytes,
                block_bytes,
            )
        }
    }

    /// Cells of the columns.
    fn column_cells(&self) -> usize {
        *self.offsets.last().unwrap_or(&0)
    }

    /// Cells of one histogram: the columns' and the sparse region's.
    fn total(&self) -> usize {
        self.column_cells() + self.sparse.map_or(0, SparseRows::region_cells)
    }

    /// Adds the rows `rows` into `hist` (of [`RowLayout::total`] cells).
    fn accumulate<C: HistCell>(&self, rows: &[u32], pairs: &[C::Pair], hist: &mut [C]) {
        let (columns, region) = hist.split_at_mut(self.column_cells());
        self.accumulate_columns(rows, pairs, columns);
        if let Some(sparse) = self.sparse {
            sparse.accumulate(rows, pairs, region, C::add_pair);
        }
    }

    /// Adds the rows `rows` into the columns' cells `hist`.
    fn accumulate_columns<C: HistCell>(&self, rows: &[u32], pairs: &[C::Pair], hist: &mut [C]) {
        let (nf, offsets, blocks) = (self.columns, self.offsets, &self.blocks[..]);
        match self.store {
            BinStore::U8(v) => accumulate(v, nf, offsets, blocks, rows, pairs, hist),
            BinStore::U16(v) => accumulate(v, nf, offsets, blocks, rows, pairs, hist),
        }
    }

    /// Adds the rows `rows` into `hist` in `parts` parallel tasks, each over consecutive columns
    /// holding about `1 / parts` of the cells, and one more over the sparse region.
    fn accumulate_by_feature_parts<C: HistCell>(&self, rows: &[u32], pairs: &[C::Pair], hist: &mut [C], parts: usize) {
        let (columns, region) = hist.split_at_mut(self.column_cells());
        match self.sparse {
            Some(sparse) => rayon::join(
                || self.accumulate_column_parts(rows, pairs, columns, parts),
                || sparse.accumulate(rows, pairs, region, C::add_pair),
            ),
            None => (self.accumulate_column_parts(rows, pairs, columns, parts), ()),
        };
    }

    /// Adds the rows `rows` into the columns' cells `hist` in `parts` parallel tasks, each over
    /// consecutive columns holding about `1 / parts` of the cells.
    fn accumulate_column_parts<C: HistCell>(&self, rows: &[u32], pairs: &[C::Pair], hist: &mut [C], parts: usize) {
        let total = self.column_cells();
        let mut tasks = Vec::with_capacity(parts);
        let (mut rest, mut base, mut first) = (hist, 0, 0);
        for part in 1..=parts {
            // The part ends at the first column past its share of the cells.
            let goal = total * part / parts;
            let mut end = first;
            while end < self.columns && (self.offsets[end] < goal || end == first) {
                end += 1;
            }
            if part == parts {
                end = self.columns;
            }
            if end == first {
                break;
            }
            let cells = self.offsets[end] - base;
            let (mine, after) = std::mem::take(&mut rest).split_at_mut(cells);
            tasks.push((first..end, base, mine));
            (rest, base, first) = (after, self.offsets[end], end);
        }
        tasks.into_par_iter().for_each(|(columns, base, mine)| {
            // Offsets relative to this part's cells (only its own columns' are read).
            let offsets: Vec<usize> = self.offsets.iter().map(|&o| o.saturating_sub(base)).collect();
            let blocks: Vec<std::ops::Range<usize>> = self
                .blocks
                .iter()
                .map(|b| b.start.max(columns.start)..b.end.min(columns.end))
                .filter(|b| !b.is_empty())
                .collect();
            match self.store {
                BinStore::U8(v) => accumulate(v, self.columns, &offsets, &blocks, rows, pairs, mine),
                BinStore::U16(v) => accumulate(v, self.columns, &offsets, &blocks, rows, pairs, mine),
            }
        });
    }

    /// The histogram of `rows`: for many rows, chunks of [`HIST_CHUNK`] folded per worker and
    /// then added (exact cells only: any order of addition gives the same sums).
    ///
    /// `parts` threads are idle otherwise: a node of one task is then cut by features instead,
    /// each part adding into its own bins (no partial histograms to add).
    fn build_exact<C: HistCell>(&self, rows: &[u32], pairs: &[C::Pair], parts: usize) -> Vec<C> {
        let total = self.total();
        if rows.len() <= HIST_CHUNK {
            let mut h = vec![C::default(); total];
            if parts > 1 && rows.len() * self.columns >= SPLIT_NODE_MIN_ADDITIONS {
                self.accumulate_by_feature_parts(rows, pairs, &mut h, parts);
            } else {
                self.accumulate(rows, pairs, &mut h);
            }
            return h;
        }
        rows.par_chunks(HIST_CHUNK)
            .fold(
                || vec![C::default(); total],
                |mut h, chunk| {
                    self.accumulate(chunk, pairs, &mut h);
                    h
                },
            )
            .reduce_with(|mut a, b| {
                add_into(&mut a, &b);
                a
            })
            .unwrap_or_else(|| vec![C::default(); total])
    }
}

/// Histograms of at least this many bytes are built column by column ([`build_by_column`]).
///
/// Row by row, every row adds into every feature's bins, so each addition lands somewhere in the
/// whole histogram: once that outgrows the core's L2 cache (1,000 features of 256 eight-byte
/// cells are 2 MB) nearly every addition misses it. Column by column, one feature's bins (2 KB)
/// stay in L1 while its column is read at the node's rows. LightGBM makes the same choice
/// (`force_col_wise` / `force_row_wise`, by timing both).
pub const COLUMNWISE_MIN_BYTES: usize = 512 * 1024;

/// Nodes holding at least `1 / COLUMNWISE_MIN_ROW_FRACTION` of the rows are built column by column
/// when the histogram is large. Measured on 40,000 rows x 1,000 features (ns per addition, by column
/// against by row): all rows 0.9 vs 2.0, a third 1.3 vs 2.0, an eighth 3.3 vs 2.4, a thirtieth 15.5
/// vs 2.4: a sparse node's rows miss the cache in every column.
pub const COLUMNWISE_MIN_ROW_FRACTION: usize = 4;

/// The histogram of the rows `rows` built feature by feature from the matrix's columns
/// (features in parallel, each writing its own bins): the node's pairs are gathered once, then
/// every feature adds them into its bins. For exact (integer) cells only, whose sums do not depend
/// on the order of addition, so that this gives the row-by-row histogram exactly.
pub fn build_by_column<C: HistCell>(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    rows: &[u32],
    pairs: &[C::Pair],
) -> Vec<C> {
    assert!(
        C::EXACT_SUMS,
        "column-by-column sums are in another order than row-by-row ones"
    );
    let nf = matrix.num_features();
    let mut hist = vec![C::default(); *offsets.last().unwrap_or(&0)];
    let node_pairs: Vec<C::Pair> = rows.iter().map(|&r| pairs[r as usize]).collect();
    let mut features: Vec<(usize, &mut [C])> = Vec::with_capacity(nf);
    let mut rest = &mut hist[offsets[0]..];
    for f in 0..nf {
        let (bins, after) = std::mem::take(&mut rest).split_at_mut(offsets[f + 1] - offsets[f]);
        features.push((f, bins));
        rest = after;
    }
    features
        .par_iter_mut()
        .with_min_len(4)
        .for_each(|(f, bins)| match matrix.column(*f) {
            ColumnBins::U8(col) => accumulate_column(col, rows, &node_pairs, bins),
            ColumnBins::U16(col) => accumulate_column(col, rows, &node_pairs, bins),
        });
    hist
}

/// Whether ascending row ids `rows` are one run of consecutive rows.
pub(crate) fn is_contiguous(rows: &[u32]) -> bool {
    match (rows.first(), rows.last()) {
        (Some(&a), Some(&b)) => (b - a) as usize + 1 == rows.len(),
        _ => false,
    }
}

/// Nodes of at least this many consecutive rows (the root of a tree grown on every row) are built
/// from the matrix's columns ([`build_contiguous`]).
pub const CONTIGUOUS_MIN_ROWS: usize = 4 * HIST_CHUNK;

/// Rows per task of [`build_contiguous`]: their pairs (8 bytes each) stay in L2 while every
/// column is read over them.
const CONTIGUOUS_CHUNK: usize = 32 * 1024;

/// Columns [`add_column_run`] reads together.
const COLUMNS_AT_ONCE: usize = 4;

/// The histogram of the consecutive rows `range`, from the matrix's columns: chunks of
/// [`CONTIGUOUS_CHUNK`] rows in parallel, folded per worker (exact cells only, like
/// [`build_by_column`]); within a chunk, [`COLUMNS_AT_ONCE`] columns at a time.
///
/// Row by row, a row's additions land all over the histogram (28 features of 256 eight-byte cells
/// are 57 KB, more than a 32 KB L1), and each row's pair is loaded once per row; here the bins of
/// the columns read together take 8 KB, and the columns and pairs are read in order. `higgs` (1M
/// x 28), root histograms of 40 one-level trees, three interleaved runs each: 0.68–0.75 s row by
/// row, 0.41–0.43 s here (one column at a time: 0.63–0.70 s).
pub fn build_contiguous<C: HistCell>(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    range: std::ops::Range<usize>,
    pairs: &[C::Pair],
) -> Vec<C> {
    build_contiguous_in_chunks(matrix, offsets, range, pairs, CONTIGUOUS_CHUNK)
}

/// [`build_contiguous`] in tasks of `chunk` rows (tests use small ones).
fn build_contiguous_in_chunks<C: HistCell>(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    range: std::ops::Range<usize>,
    pairs: &[C::Pair],
    chunk: usize,
) -> Vec<C> {
    assert!(
        C::EXACT_SUMS,
        "column-by-column sums are in another order than row-by-row ones"
    );
    assert_offsets_fit(matrix, offsets);
    let total = *offsets.last().unwrap_or(&0);
    let nf = matrix.num_features();
    let starts: Vec<usize> = range.clone().step_by(chunk.max(1)).collect();
    starts
        .par_iter()
        .fold(
            || vec![C::default(); total],
            |mut h, &start| {
                let end = (start + chunk.max(1)).min(range.end);
                for first in (0..nf).step_by(COLUMNS_AT_ONCE) {
                    let last = (first + COLUMNS_AT_ONCE).min(nf);
                    let columns: Vec<ColumnBins> = (first..last).map(|f| matrix.column(f)).collect();
                    let (lo, hi) = (offsets[first], offsets[last]);
                    let bases: Vec<usize> = (first..last).map(|f| offsets[f] - lo).collect();
                    let cells = &mut h[lo..hi];
                    let chunk_pairs = &pairs[start..end];
                    if let Some(cols) = u8_columns(&columns, start..end) {
                        add_column_run(&cols, &bases, chunk_pairs, cells);
                    } else if let Some(cols) = u16_columns(&columns, start..end) {
                        add_column_run(&cols, &bases, chunk_pairs, cells);
                    } else {
                        for (column, &base) in columns.iter().zip(&bases) {
                            let cells = &mut cells[base..];
                            match column {
                                ColumnBins::U8(c) => add_column_run(&[&c[start..end]], &[0], chunk_pairs, cells),
                                ColumnBins::U16(c) => add_column_run(&[&c[start..end]], &[0], chunk_pairs, cells),
                            }
                        }
                    }
                }
                h
            },
        )
        .reduce_with(|mut a, b| {
            add_into(&mut a, &b);
            a
        })
        .unwrap_or_else(|| vec![C::default(); total])
}

/// The rows `rows` of `columns` when every one holds one-byte bins.
fn u8_columns<'c>(columns: &[ColumnBins<'c>], rows: std::ops::Range<usize>) -> Option<Vec<&'c [u8]>> {
    columns
        .iter()
        .map(|c| match c {
            ColumnBins::U8(c) => Some(&c[rows.clone()]),
            ColumnBins::U16(_) => None,
        })
        .collect()
}

/// The rows `rows` of `columns` when every one holds two-byte bins.
fn u16_columns<'c>(columns: &[ColumnBins<'c>], rows: std::ops::Range<usize>) -> Option<Vec<&'c [u16]>> {
    columns
        .iter()
        .map(|c| match c {
            ColumnBins::U16(c) => Some(&c[rows.clone()]),
            ColumnBins::U8(_) => None,
        })
        .collect()
}

/// Adds `pairs[i]` into `cells[bases[k] + cols[k][i]]` for every row `i` and column `k`: all the
/// columns' additions of a row together, so the row's pair is loaded once, with fixed-size
/// unrolled code for [`COLUMNS_AT_ONCE`] columns.
fn add_column_run<T: BinIndex, C: HistCell>(cols: &[&[T]], bases: &[usize], pairs: &[C::Pair], cells: &mut [C]) {
    let n = pairs.len();
    let total = cells.len();
    if let (Ok(cols), Ok(bases)) = (
        <&[&[T]; COLUMNS_AT_ONCE]>::try_from(cols),
        <&[usize; COLUMNS_AT_ONCE]>::try_from(bases),
    ) {
        let cols: [&[T]; COLUMNS_AT_ONCE] = std::array::from_fn(|k| &cols[k][..n]);
        for (i, &p) in pairs.iter().enumerate() {
            for k in 0..COLUMNS_AT_ONCE {
                // SAFETY: `i < n`, the length every column was cut to; the columns were quantized
                // with the `BinMapper` whose offsets gave `bases` and `cells`
                // (`assert_offsets_fit`), so every bin is below its feature's width.
                let slot = bases[k] + unsafe { cols[k].get_unchecked(i) }.index();
                debug_assert!(slot < total);
                unsafe { cells.get_unchecked_mut(slot) }.add_pair(p);
            }
        }
        return;
    }
    for (col, &base) in cols.iter().zip(bases) {
        for (&b, &p) in col[..n].iter().zip(pairs) {
            let slot = base + b.index();
            debug_assert!(slot < total);
            // SAFETY: as above.
            unsafe { cells.get_unchecked_mut(slot) }.add_pair(p);
        }
    }
}

/// Adds `pairs[i]` into `bins[col[rows[i]]]` for every `i`.
fn accumulate_column<T: BinIndex, C: HistCell>(col: &[T], rows: &[u32], pairs: &[C::Pair], bins: &mut [C]) {
    for (&r, &p) in rows.iter().zip(pairs) {
        bins[col[r as usize].index()].add_pair(p);
    }
}

/// Adds `b` into `a`, bin by bin.
fn add_into<C: HistCell>(a: &mut [C], b: &[C]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += *y;
    }
}

/// Builds the histograms of several nodes at once: `nodes[i]` is the row list of node `i`, and
/// `pairs[r]` is row `r`'s contribution.
///
/// Every node's rows are cut into chunks of [`HIST_CHUNK`] that are built in parallel. Chunks of
/// f64 cells are added in chunk order (so the result never depends on the number of threads);
/// exact (integer) cells are folded per thread, which needs far fewer partial histograms.
pub fn build_histograms<C: HistCell>(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    nodes: &[&[u32]],
    pairs: &[C::Pair],
) -> Vec<Vec<C>> {
    build_histograms_in_blocks(matrix, offsets, nodes, pairs, ROW_BLOCK_BYTES)
}

/// [`build_histograms`] with the row-wise kernel's feature blocks sized for `block_bytes`
/// (tests force many small blocks).
fn build_histograms_in_blocks<C: HistCell>(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    nodes: &[&[u32]],
    pairs: &[C::Pair],
    block_bytes: usize,
) -> Vec<Vec<C>> {
    let total = *offsets.last().unwrap_or(&0);
    assert_offsets_fit(matrix, offsets);
    let cell_bytes = std::mem::size_of::<C>();
    let features = RowLayout::new(matrix.store(), matrix.num_features(), offsets, cell_bytes, block_bytes);
    if C::EXACT_SUMS {
        return build_exact_nodes(matrix, offsets, nodes, pairs, &features, cell_bytes, block_bytes);
    }
    let tasks: Vec<(usize, &[u32])> = nodes
        .iter()
        .enumerate()
        .flat_map(|(n, rows)| rows.chunks(HIST_CHUNK).map(move |c| (n, c)))
        .collect();
    let partials: Vec<(usize, Vec<C>)> = tasks
        .par_iter()
        .map(|(n, rows)| {
            let mut h = vec![C::default(); total];
            features.accumulate(rows, pairs, &mut h);
            (*n, h)
        })
        .collect();
    let mut out: Vec<Option<Vec<C>>> = vec![None; nodes.len()];
    let mut grouped: Vec<Vec<Vec<C>>> = vec![Vec::new(); nodes.len()];
    for (n, h) in partials {
        grouped[n].push(h);
    }
    out.par_iter_mut()
        .zip(grouped.into_par_iter())
        .for_each(|(slot, parts)| {
            let mut it = parts.into_iter();
            let mut acc = it.next().unwrap_or_else(|| vec![C::default(); total]);
            for p in it {
                add_into(&mut acc, &p);
            }
            *slot = Some(acc);
        });
    out.into_iter()
        .map(|h| h.unwrap_or_else(|| vec![C::default(); total]))
        .collect()
}

/// How one node's exact histogram is built by [`build_exact_nodes`].
enum NodeBuild<'l, 'm> {
    /// From the matrix's columns, feature by feature ([`build_by_column`]).
    ByColumn,
    /// From the columns over the node's consecutive rows ([`build_contiguous`]).
    Contiguous,
    /// Row by row in one task, or cut by features among idle threads ([`RowLayout::build_exact`]),
    /// from this layout (unbundled after, when it is the bundles').
    Whole(&'l RowLayout<'m>, bool),
    /// Row by row in pieces of rows shared out among the threads with the call's other pieces,
    /// from this layout (unbundled after, when it is the bundles').
    Pieces(&'l RowLayout<'m>, bool),
}

/// The fewest rows [`build_exact_nodes`] cuts a piece to: a piece that is not its node's first
/// may need a histogram of its own to clear and to add (57 KB for 28 features), a few
/// microseconds, against the 10–40 ns each of its rows costs.
const MIN_PIECE_ROWS: usize = 512;

/// Pieces per thread [`build_exact_nodes`] aims for, so that nodes of unequal sizes still share
/// out evenly.
const PIECES_PER_THREAD: usize = 4;

/// The exact (integer) histograms of `nodes`: the row-wise nodes' rows are cut into pieces shared
/// out among the threads (a piece of at most [`HIST_CHUNK`] rows, smaller when the call holds few
/// rows, so that two small nodes of unequal sizes keep both threads busy), and each worker adds
/// its pieces of a node into a histogram of its own, added to the other workers' at the end (any
/// order gives the same integers). Large nodes of a large histogram are built column by column,
/// consecutive rows from the columns, and a lone small node is cut by features among idle threads.
fn build_exact_nodes<C: HistCell>(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    nodes: &[&[u32]],
    pairs: &[C::Pair],
    features: &RowLayout,
    cell_bytes: usize,
    block_bytes: usize,
) -> Vec<Vec<C>> {
    let total = *offsets.last().unwrap_or(&0);
    let by_column = total * cell_bytes >= COLUMNWISE_MIN_BYTES;
    let bundles = matrix.bundles().filter(|b| b.fit_layout(offsets));
    let bundled = bundles.map(|b| (b, RowLayout::bundled(b, cell_bytes, block_bytes)));
    let threads = rayon::current_num_threads();
    // Threads no node would keep busy (loss-guided trees build one node at a time).
    let parts_per_node = threads / nodes.len().max(1);
    let plans: Vec<NodeBuild> = nodes
        .iter()
        .map(|rows| {
            // A column is read at the node's rows: worth it while they fill most of its cache
            // lines (a sparse node would miss the cache on nearly every row of every column).
            // Sparse features listed per row beat a column's pass over every row.
            let bundles_pay = bundled.as_ref().is_some_and(|(b, _)| b.pays_for(rows.len()));
            let listed = bundles_pay && bundled.as_ref().is_some_and(|(b, _)| b.sparse().is_some());
            if by_column && !listed && rows.len() * COLUMNWISE_MIN_ROW_FRACTION >= matrix.num_rows() {
                return NodeBuild::ByColumn;
            }
            let (layout, unbundle) = match &bundled {
                Some((_, layout)) if bundles_pay => (layout, true),
                _ if rows.len() >= CONTIGUOUS_MIN_ROWS && is_contiguous(rows) => return NodeBuild::Contiguous,
                _ => (features, false),
            };
            if nodes.len() == 1 && rows.len() <= HIST_CHUNK {
                NodeBuild::Whole(layout, unbundle)
            } else {
                NodeBuild::Pieces(layout, unbundle)
            }
        })
        .collect();
    let piece_rows: usize = nodes
        .iter()
        .zip(&plans)
        .filter(|(_, plan)| matches!(plan, NodeBuild::Pieces(..)))
        .map(|(rows, _)| rows.len())
        .sum();
    let piece = piece_rows
        .div_ceil(threads * PIECES_PER_THREAD)
        .clamp(MIN_PIECE_ROWS, HIST_CHUNK);
    // One task per node built whole, one per piece of the others.
    let tasks: Vec<(usize, &[u32])> = nodes
        .iter()
        .zip(&plans)
        .enumerate()
        .flat_map(|(k, (rows, plan))| {
            let step = match plan {
                NodeBuild::Pieces(..) => piece,
                _ => rows.len().max(1),
            };
            rows.chunks(step).map(move |c| (k, c))
        })
        .collect();
    let built: Vec<(usize, Vec<C>)> = tasks
        .par_iter()
        .fold(Vec::new, |mut acc: Vec<(usize, Vec<C>)>, &(k, rows)| {
            match &plans[k] {
                NodeBuild::ByColumn => acc.push((k, build_by_column(matrix, offsets, rows, pairs))),
                NodeBuild::Contiguous => {
                    let range = rows[0] as usize..rows[0] as usize + rows.len();
                    acc.push((k, build_contiguous(matrix, offsets, range, pairs)));
                }
                NodeBuild::Whole(layout, _) => acc.push((k, layout.build_exact(rows, pairs, parts_per_node))),
                NodeBuild::Pieces(layout, _) => match acc.iter_mut().find(|(n, _)| *n == k) {
                    Some((_, h)) => layout.accumulate(rows, pairs, h),
                    None => {
                        let mut h = vec![C::default(); layout.total()];
                        layout.accumulate(rows, pairs, &mut h);
                        acc.push((k, h));
                    }
                },
            }
            acc
        })
        .reduce(Vec::new, |mut a, b| {
            for (k, h) in b {
                match a.iter_mut().find(|(n, _)| *n == k) {
                    Some((_, into)) => add_into(into, &h),
                    None => a.push((k, h)),
                }
            }
            a
        });
    let mut out: Vec<Vec<C>> = vec![Vec::new(); nodes.len()];
    for (k, h) in built {
        out[k] = h;
    }
    let unbundler = bundled.as_ref().map(|(b, _)| *b);
    let finish = |(h, plan): (Vec<C>, &NodeBuild)| match (plan, unbundler) {
        // A node without rows.
        _ if h.is_empty() => vec![C::default(); total],
        (NodeBuild::Whole(_, true) | NodeBuild::Pieces(_, true), Some(b)) => b.unbundle(&h, total),
        _ => h,
    };
    // Unbundling is work for the threads; anything else only moves the histograms.
    if plans
        .iter()
        .any(|p| matches!(p, NodeBuild::Whole(_, true) | NodeBuild::Pieces(_, true)))
    {
        out.into_par_iter().zip(plans.par_iter()).map(finish).collect()
    } else {
        out.into_iter().zip(plans.iter()).map(finish).collect()
    }
}

/// Panics unless `offsets` come from the `BinMapper` `matrix` was quantized with: one offset per
/// feature and the total, every stored bin below its feature's width (what the kernels' unchecked
/// indexing relies on).
pub(crate) fn assert_offsets_fit(matrix: &QuantizedMatrix, offsets: &[usize]) {
    assert_eq!(
        offsets.len(),
        matrix.num_features() + 1,
        "offsets must come from the matrix's BinMapper"
    );
    assert!(
        matrix.max_bin_below(offsets),
        "the matrix holds bins beyond its BinMapper's offsets"
    );
}

/// The sibling's histogram: `parent - child`, bin by bin.
#[cfg(test)]
pub fn subtract<C: HistCell>(parent: &[C], child: &[C]) -> Vec<C> {
    let mut out = parent.to_vec();
    subtract_in_place(&mut out, child);
    out
}

/// Turns a parent's histogram into its sibling's: `parent -= child`, bin by bin.
pub fn subtract_in_place<C: HistCell>(parent: &mut [C], child: &[C]) {
    for (p, c) in parent.iter_mut().zip(child) {
        *p -= *c;
    }
}

/// Naive reference: one row at a time, feature by feature, through [`QuantizedMatrix::bin`].
pub fn build_histogram_naive<C: HistCell>(
    matrix: &QuantizedMatrix,
    offsets: &[usize],
    rows: &[u32],
    pairs: &[C::Pair],
) -> Vec<C> {
    let mut h = vec![C::default(); *offsets.last().unwrap_or(&0)];
    for &r in rows {
        for f in 0..matrix.num_features() {
            h[offsets[f] + matrix.bin(r as usize, f)].add_pair(pairs[r as usize]);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bins::cuts::BinMapper;
    use crate::data::dataset::Dataset;
    use proptest::prelude::*;

    fn setup(cols: Vec<Vec<f32>>, max_bin: usize) -> (QuantizedMatrix, BinMapper) {
        let d = Dataset::from_columns(cols).unwrap();
        let m = BinMapper::fit(&d, max_bin);
        (QuantizedMatrix::build(&d, &m), m)
    }

    fn close(a: &[GradStats], b: &[GradStats]) -> bool {
        a.iter()
            .zip(b)
            .all(|(x, y)| (x.grad - y.grad).abs() < 1e-6 && (x.hess - y.hess).abs() < 1e-6)
    }

    proptest! {
        #[test]
        fn parallel_build_matches_naive_and_subtraction_matches_direct(
            rows in proptest::collection::vec((-100f32..100f32, prop_oneof![4 => -5f32..5f32, 1 => Just(f32::NAN)], -1f32..1f32, 0f32..2f32), 2..3000),
            split in 0usize..3000,
            max_bin in prop_oneof![Just(4usize), Just(300usize)],
        ) {
            let c0: Vec<f32> = rows.iter().map(|r| r.0).collect();
            let c1: Vec<f32> = rows.iter().map(|r| r.1).collect();
            let gp: Vec<GradPair> = rows.iter().map(|r| GradPair::new(r.2, r.3)).collect();
            let (q, m) = setup(vec![c0, c1], max_bin);
            let all: Vec<u32> = (0..rows.len() as u32).collect();
            let cut = split % rows.len();
            let (left, right) = all.split_at(cut);
            let built = build_histograms::<GradStats>(&q, m.offsets(), &[&all, left, right], &gp);
            prop_assert!(close(&built[0], &build_histogram_naive(&q, m.offsets(), &all, &gp)));
            prop_assert!(close(&built[1], &build_histogram_naive(&q, m.offsets(), left, &gp)));
            prop_assert!(close(&subtract(&built[0], &built[1]), &built[2]));
            // Packed quantized pairs: exactly the naive sums, and subtraction is exact.
            let packed = crate::train::quantize::quantize(&gp, &all, 3).unwrap().packed;
            let built = build_histograms::<i64>(&q, m.offsets(), &[&all, left, right], &packed);
            prop_assert_eq!(&built[0], &build_histogram_naive::<i64>(&q, m.offsets(), &all, &packed));
            prop_assert_eq!(&built[1], &build_histogram_naive::<i64>(&q, m.offsets(), left, &packed));
            prop_assert_eq!(subtract(&built[0], &built[1]), built[2].clone());
            // Column by column: the same integers.
            for rows in [&all[..], left, right] {
                prop_assert_eq!(build_by_column::<i64>(&q, m.offsets(), rows, &packed), build_histogram_naive::<i64>(&q, m.offsets(), rows, &packed));
            }
            // Row by row in blocks of one feature: the same sums, bit for bit (every bin still
            // gets its rows in row order).
            let nodes = [&all[..], left, right];
            prop_assert_eq!(build_histograms_in_blocks::<i64>(&q, m.offsets(), &nodes, &packed, 1), built);
            let bits = |h: Vec<Vec<GradStats>>| h.iter().flatten().map(|c| (c.grad.to_bits(), c.hess.to_bits())).collect::<Vec<_>>();
            prop_assert_eq!(
                bits(build_histograms_in_blocks::<GradStats>(&q, m.offsets(), &nodes, &gp, 1)),
                bits(build_histograms::<GradStats>(&q, m.offsets(), &nodes, &gp))
            );
        }
    }

    proptest! {
        #[test]
        fn contiguous_rows_from_columns_are_the_naive_histogram(
            rows in proptest::collection::vec((-100f32..100f32, 0u8..6, -3f32..3f32, 0u8..3, prop_oneof![4 => 0f32..1f32, 1 => Just(f32::NAN)], -1f32..1f32, 0f32..2f32), 1..400),
            from in 0usize..400,
            len in 0usize..400,
            chunk in 1usize..70,
            max_bin in prop_oneof![Just(4usize), Just(300usize)],
            features in 1usize..=6,
        ) {
            let n = rows.len();
            let all_cols: Vec<Vec<f32>> = vec![
                rows.iter().map(|r| r.0).collect(),
                rows.iter().map(|r| r.1 as f32).collect(),
                rows.iter().map(|r| r.2).collect(),
                rows.iter().map(|r| r.3 as f32).collect(),
                rows.iter().map(|r| r.4).collect(),
                rows.iter().map(|r| r.0 * 0.5).collect(),
            ];
            let gp: Vec<GradPair> = rows.iter().map(|r| GradPair::new(r.5, r.6)).collect();
            // Any number of features (four at a time and the rest), one- and two-byte columns.
            let (q, m) = setup(all_cols[..features].to_vec(), max_bin);
            let start = from % n;
            let range = start..(start + len).min(n);
            let ids: Vec<u32> = (range.start as u32..range.end as u32).collect();
            let all: Vec<u32> = (0..n as u32).collect();
            let packed = crate::train::quantize::quantize(&gp, &all, 5).unwrap().packed;
            prop_assert_eq!(
                build_contiguous_in_chunks::<i64>(&q, m.offsets(), range, &packed, chunk),
                build_histogram_naive::<i64>(&q, m.offsets(), &ids, &packed)
            );
            prop_assert!(ids.len() < 2 || is_contiguous(&ids));
            prop_assert!(!is_contiguous(&[1, 3]) && !is_contiguous(&[]));
        }
    }

    /// The matrix of `cols` binned to at most 300 bins with its bundles, the mapper, and packed
    /// quantized pairs of fixed gradients for its rows.
    fn bundled_matrix(cols: Vec<Vec<f32>>) -> (QuantizedMatrix, BinMapper, Vec<i64>) {
        let rows = cols.first().map_or(0, Vec::len);
        let gp: Vec<GradPair> = (0..rows)
            .map(|i| GradPair::new(((i * 7919) % 61) as f32 - 30.0, ((i * 31) % 17) as f32 * 0.25))
            .collect();
        let d = Dataset::from_columns(cols).unwrap();
        let m = BinMapper::fit(&d, 300);
        let q = QuantizedMatrix::build(&d, &m).bundle(&m);
        let all: Vec<u32> = (0..rows as u32).collect();
        let packed = crate::train::quantize::quantize(&gp, &all, 3).unwrap().packed;
        (q, m, packed)
    }

    proptest! {
        #[test]
        fn bundled_histograms_are_the_feature_histograms(
            widths in proptest::collection::vec(1u32..12, 3..8),
            wide in any::<bool>(),
            missing in any::<bool>(),
            rows in 3000usize..6000,
            seed in any::<u64>(),
            split in 0usize..6000,
        ) {
            // Low-cardinality features (with missing values, or beside a feature of 300 bins, when
            // drawn), bundled: the bundled build of a large node gives the naive sums, and small
            // nodes (not worth unbundling) too.
            let mut state = seed | 1;
            let mut next = move || {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state
            };
            let mut cols: Vec<Vec<f32>> = widths
                .iter()
                .map(|&w| (0..rows).map(|_| {
                    let v = (next() % u64::from(w)) as f32;
                    if missing && v == 0.0 { f32::NAN } else { v }
                }).collect())
                .collect();
            if wide {
                cols.push((0..rows).map(|_| (next() % 300) as f32).collect());
            }
            let (q, m, packed) = bundled_matrix(cols);
            let b = q.bundles().expect("every low-cardinality feature shares a bundle");
            prop_assert!(b.pays_for(rows));
            let all: Vec<u32> = (0..rows as u32).collect();
            let (left, right) = all.split_at(split % rows);
            let small: Vec<u32> = all.iter().copied().step_by(97).collect();
            let nodes = [&all[..], left, right, &small[..]];
            let built = build_histograms::<i64>(&q, m.offsets(), &nodes, &packed);
            for (rows, h) in nodes.iter().zip(&built) {
                prop_assert_eq!(h, &build_histogram_naive::<i64>(&q, m.offsets(), rows, &packed));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn sparse_features_listed_per_row_give_the_feature_histograms(
            sparse_widths in proptest::collection::vec(20u32..60, 6..40),
            dense in 0usize..3,
            default_share in 0.88f64..0.99,
            rows in 1000usize..20_000,
            seed in any::<u64>(),
            split in 0usize..20_000,
        ) {
            // Count-like features (0 in most rows; too wide to share bundles, so that listing
            // them pays) beside 0 to 2 features of 300 values: the
            // sparse features are listed per row, and every node's histogram (large ones folded
            // from chunks, small ones cut among idle threads) is the naive one.
            let mut next = crate::train::root_histograms::tests::xorshift(seed);
            let mut cols: Vec<Vec<f32>> = sparse_widths
                .iter()
                .map(|&w| (0..rows).map(|_| {
                    let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
                    if u < default_share { 0.0 } else { (next() % u64::from(w)) as f32 }
                }).collect())
                .collect();
            for _ in 0..dense {
                cols.push((0..rows).map(|_| (next() % 300) as f32).collect());
            }
            let (q, m, packed) = bundled_matrix(cols);
            let b = q.bundles().expect("sparse features are listed");
            prop_assert!(b.sparse().is_some_and(|s| s.features().len() == sparse_widths.len()));
            let all: Vec<u32> = (0..rows as u32).collect();
            let (left, right) = all.split_at(split % rows);
            let small: Vec<u32> = all.iter().copied().step_by(7).collect();
            for nodes in [vec![&all[..], left, right, &small[..]], vec![&small[..]]] {
                let built = build_histograms::<i64>(&q, m.offsets(), &nodes, &packed);
                for (rows, h) in nodes.iter().zip(&built) {
                    prop_assert_eq!(h, &build_histogram_naive::<i64>(&q, m.offsets(), rows, &packed));
                }
            }
        }
    }

    #[test]
    fn one_node_is_cut_by_features_among_idle_threads() {
        // One node of one task (below HIST_CHUNK rows) with threads to spare: built in parts of
        // columns, with and without bundles, in feature blocks or not, it gives the naive sums.
        let n = 6000;
        let cols: Vec<Vec<f32>> = (0..9)
            .map(|j| {
                (0..n)
                    .map(|i| ((i * (7 + j) + j * 13) % [300, 5, 3, 40, 2, 700, 6, 4, 250][j]) as f32)
                    .collect()
            })
            .collect();
        let gp: Vec<GradPair> = (0..n)
            .map(|i| GradPair::new(((i * 7919) % 61) as f32 - 30.0, ((i * 31) % 17) as f32 * 0.25))
            .collect();
        let rows: Vec<u32> = (0..n as u32).filter(|r| r % 3 != 1).collect();
        let d = Dataset::from_columns(cols).unwrap();
        let m = BinMapper::fit(&d, 1000);
        let packed = crate::train::quantize::quantize(&gp, &(0..n as u32).collect::<Vec<_>>(), 3)
            .unwrap()
            .packed;
        for q in [
            QuantizedMatrix::build(&d, &m),
            QuantizedMatrix::build(&d, &m).bundle(&m),
        ] {
            let naive = build_histogram_naive::<i64>(&q, m.offsets(), &rows, &packed);
            for threads in 1..=5 {
                for block_bytes in [1, 512, ROW_BLOCK_BYTES] {
                    let built = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap()
                        .install(|| build_histograms_in_blocks::<i64>(&q, m.offsets(), &[&rows], &packed, block_bytes));
                    assert_eq!(built[0], naive, "{threads} threads, blocks of {block_bytes} bytes");
                }
            }
        }
    }

    #[test]
    fn feature_blocks_cover_every_feature_once_within_the_budget() {
        // Features of 4, 4, 10, 2, 2 cells; cells of 8 bytes; 64-byte blocks (8 cells).
        let offsets = [0, 4, 8, 18, 20, 22];
        assert_eq!(feature_blocks(&offsets, 8, 64), vec![0..2, 2..3, 3..5]);
        assert_eq!(feature_blocks(&offsets, 8, 1 << 20), vec![0..5]);
        assert_eq!(feature_blocks(&offsets, 8, 1), vec![0..1, 1..2, 2..3, 3..4, 4..5]);
        assert!(feature_blocks(&[0], 8, 64).is_empty());
    }

    #[test]
    fn chunked_sum_is_deterministic_across_pools() {
        let n = 50_000;
        let col: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32).collect();
        let gp: Vec<GradPair> = (0..n)
            .map(|i| GradPair::new(((i % 13) as f32 - 6.0) * 0.37, 0.5))
            .collect();
        let (q, m) = setup(vec![col], 256);
        let rows: Vec<u32> = (0..n as u32).collect();
        let run = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
                .install(|| build_histograms::<GradStats>(&q, m.offsets(), &[&rows], &gp))
        };
        assert_eq!(run(1), run(2));
        let packed = crate::train::quantize::quantize(&gp, &rows, 9).unwrap().packed;
        let run = |t| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(t)
                .build()
                .unwrap()
                .install(|| build_histograms::<i64>(&q, m.offsets(), &[&rows], &packed))
        };
        assert_eq!(run(1), run(2));
    }
}
