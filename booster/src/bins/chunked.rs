//! Binning a data set that arrives in chunks of rows, without ever holding its float values whole
//! (the base of a data set built from an iterator, XGBoost's `DataIter` / `QuantileDMatrix` idea).
//!
//! Two passes over the chunks, as XGBoost's iterator makes them: [`ChunkedCuts`] takes each chunk's
//! part of the cut sample (the sample is a rule on global row ids, [`CutSample`], so the chunks
//! together draw exactly the rows [`BinMapper::fit`] draws) and gives the same [`BinMapper`] as
//! `fit` on the concatenated rows; [`ChunkedMatrix`] then quantizes each chunk into its rows of the
//! [`QuantizedMatrix`], which equals [`QuantizedMatrix::build`]'s. Only the current chunk's floats,
//! the sample pairs and the bins are held.

use rayon::prelude::*;

use crate::bins::cuts::{cuts_from_pairs, sampled_pairs, BinMapper, CutSample, FeatureCuts};
use crate::bins::matrix::{empty_columns, quantize_into, transpose_into, BinStore, OwnedColumn, QuantizedMatrix};
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};
use crate::train::memory_estimate::check_matrix_fits;

/// Checks that a chunk has the features of the first one and fits in the rows announced.
fn check_chunk(chunk: &Dataset, num_features: usize, seen: usize, total: usize) -> Result<()> {
    if chunk.num_features() != num_features {
        return Err(Error::data(format!(
            "a chunk starting at row {seen} has {} features; the first chunk had {num_features}",
            chunk.num_features()
        )));
    }
    if seen + chunk.num_rows() > total {
        return Err(Error::data(format!(
            "the chunks hold more rows than the {total} counted in the first pass (a chunk starting at row {seen} \
             has {} rows): the iterator must give the same rows on every pass",
            chunk.num_rows()
        )));
    }
    Ok(())
}

/// Checks that the chunks held every row counted.
fn check_complete(seen: usize, total: usize) -> Result<()> {
    if seen != total {
        return Err(Error::data(format!(
            "the chunks held {seen} rows, the first pass counted {total}: the iterator must give the same rows on every pass"
        )));
    }
    Ok(())
}

/// The cut sample of every feature, gathered chunk by chunk into one buffer allocated at its final
/// size before the first chunk (a growing vector per feature would leave freed blocks behind that
/// the allocator keeps; one block of the exact size is handed back whole once the cuts are made).
struct SampleBuffer {
    /// Room per feature: the number of rows the cut sample holds.
    room: usize,
    /// Feature `j`'s sampled values, in row order, from `j * room` on.
    values: Vec<f32>,
    /// Their weights, laid out as `values`; empty while every chunk so far was unweighted (weight 1).
    weights: Vec<f32>,
    /// How many values each feature holds.
    filled: Vec<usize>,
}

impl SampleBuffer {
    fn new(num_features: usize, room: usize) -> SampleBuffer {
        SampleBuffer {
            room,
            values: vec![0.0; num_features * room],
            weights: Vec::new(),
            filled: vec![0; num_features],
        }
    }

    /// Feature `j`'s `(value, weight)` pairs, in row order.
    fn pairs(&self, j: usize) -> Vec<(f32, f32)> {
        let span = j * self.room..j * self.room + self.filled[j];
        let values = &self.values[span.clone()];
        if self.weights.is_empty() {
            values.iter().map(|&x| (x, 1.0)).collect()
        } else {
            values.iter().copied().zip(self.weights[span].iter().copied()).collect()
        }
    }
}

/// The cut points of a data set read in chunks (the first pass): equal to [`BinMapper::fit`] on all
/// the rows.
pub struct ChunkedCuts {
    max_bin: usize,
    total_rows: usize,
    seen_rows: usize,
    keep: CutSample,
    categorical: Vec<bool>,
    /// Whether some row misses feature `j`.
    missing: Vec<bool>,
    /// Categorical features: one more than the largest code seen.
    categories: Vec<usize>,
    sample: SampleBuffer,
}

impl ChunkedCuts {
    /// Cuts of at most `max_bin` bins for a data set of `total_rows` rows whose features are
    /// categorical where `categorical` says so.
    pub fn new(total_rows: usize, categorical: Vec<bool>, max_bin: usize) -> ChunkedCuts {
        let keep = CutSample::new(total_rows);
        let room = (0..total_rows).into_par_iter().filter(|&r| keep.contains(r)).count();
        let nf = categorical.len();
        ChunkedCuts {
            max_bin,
            total_rows,
            seen_rows: 0,
            keep,
            missing: vec![false; nf],
            categories: vec![0; nf],
            sample: SampleBuffer::new(nf, room.max(1)),
            categorical,
        }
    }

    /// Takes the next chunk's rows (in order; its weights are the rows' weights).
    pub fn add(&mut self, chunk: &Dataset) -> Result<()> {
        check_chunk(chunk, self.categorical.len(), self.seen_rows, self.total_rows)?;
        let (keep, offset, n) = (&self.keep, self.seen_rows, chunk.num_rows());
        let sample = &mut self.sample;
        let room = sample.room;
        if chunk.weights().is_some() && sample.weights.is_empty() {
            sample.weights = vec![1.0; sample.values.len()];
        }
        let mut weights: Vec<Option<&mut [f32]>> = if sample.weights.is_empty() {
            (0..self.categorical.len()).map(|_| None).collect()
        } else {
            sample.weights.chunks_mut(room).map(Some).collect()
        };
        sample
            .values
            .par_chunks_mut(room)
            .zip(weights.par_iter_mut())
            .zip(sample.filled.par_iter_mut())
            .zip(self.missing.par_iter_mut())
            .zip(self.categories.par_iter_mut())
            .zip(&self.categorical)
            .enumerate()
            .for_each(
                |(j, (((((values, weights), filled), missing), categories), &categorical))| {
                    let column = chunk.column(j);
                    *missing |= column.num_present() < n;
                    if categorical {
                        column.for_each_present(|_, x| *categories = (*categories).max(x as usize + 1));
                        return;
                    }
                    for (x, w) in sampled_pairs(column, chunk.weights(), keep, offset) {
                        values[*filled] = x;
                        if let Some(weights) = weights.as_deref_mut() {
                            weights[*filled] = w;
                        }
                        *filled += 1;
                    }
                },
            );
        self.seen_rows += n;
        Ok(())
    }

    /// The mapper, once every row was given.
    pub fn finish(self) -> Result<BinMapper> {
        check_complete(self.seen_rows, self.total_rows)?;
        let max_bin = self.max_bin;
        let features: Vec<FeatureCuts> = (0..self.categorical.len())
            .into_par_iter()
            .map(|j| {
                if self.categorical[j] {
                    FeatureCuts::categorical(self.categories[j], self.missing[j])
                } else {
                    cuts_from_pairs(self.sample.pairs(j), self.missing[j], max_bin)
                }
            })
            .collect();
        Ok(BinMapper::from_cuts(features))
    }
}

/// The bins of a data set read in chunks (the second pass): equal to [`QuantizedMatrix::build`]
/// (then [`QuantizedMatrix::bundle`]) on all the rows.
pub struct ChunkedMatrix {
    mapper: BinMapper,
    total_rows: usize,
    seen_rows: usize,
    num_features: usize,
    store: BinStore,
    /// The column-major copy, filled chunk by chunk (allocated with the store, before any chunk,
    /// so that finishing allocates nothing large).
    columns: Vec<OwnedColumn>,
}

impl ChunkedMatrix {
    /// An empty matrix of `total_rows` rows to be quantized with `mapper`; an
    /// [`crate::Error::OutOfMemory`] naming its size when it cannot fit the memory this process may
    /// still allocate.
    pub fn new(mapper: BinMapper, total_rows: usize) -> Result<ChunkedMatrix> {
        check_matrix_fits(&mapper, total_rows)?;
        let nf = mapper.num_features();
        let store = if mapper.max_stored_bin() <= u8::MAX as usize {
            BinStore::U8(vec![0; total_rows * nf])
        } else {
            BinStore::U16(vec![0; total_rows * nf])
        };
        let columns = empty_columns(&mapper, total_rows);
        Ok(ChunkedMatrix {
            mapper,
            total_rows,
            seen_rows: 0,
            num_features: nf,
            store,
            columns,
        })
    }

    /// Quantizes the next chunk's rows.
    pub fn add(&mut self, chunk: &Dataset) -> Result<()> {
        check_chunk(chunk, self.num_features, self.seen_rows, self.total_rows)?;
        let nf = self.num_features;
        let cells = self.seen_rows * nf..(self.seen_rows + chunk.num_rows()) * nf;
        let first = self.seen_rows;
        match &mut self.store {
            BinStore::U8(v) => {
                quantize_into(chunk, &self.mapper, &mut v[cells.clone()]);
                transpose_into(&v[cells], &mut self.columns, first);
            }
            BinStore::U16(v) => {
                quantize_into(chunk, &self.mapper, &mut v[cells.clone()]);
                transpose_into(&v[cells], &mut self.columns, first);
            }
        }
        self.seen_rows += chunk.num_rows();
        Ok(())
    }

    /// The cuts and the matrix (with its bundles of low-cardinality features), once every row was
    /// given.
    pub fn finish(self) -> Result<(BinMapper, QuantizedMatrix)> {
        check_complete(self.seen_rows, self.total_rows)?;
        let matrix = QuantizedMatrix::from_parts(self.store, self.columns, self.total_rows, self.num_features)
            .bundle(&self.mapper);
        Ok((self.mapper, matrix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::column::Column;
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    /// Rows `range` of `d` as a data set of their own (features, weights, feature types).
    fn rows_of(d: &Dataset, range: std::ops::Range<usize>) -> Dataset {
        let columns: Vec<Column> = (0..d.num_features())
            .map(|j| match d.column(j) {
                Column::Dense(v) => Column::Dense(v[range.clone()].to_vec()),
                Column::Sparse { rows, values } => {
                    let (mut r, mut x) = (Vec::new(), Vec::new());
                    for (row, v) in rows.iter().zip(values) {
                        if range.contains(&(*row as usize)) {
                            r.push(*row - range.start as u32);
                            x.push(*v);
                        }
                    }
                    Column::Sparse { rows: r, values: x }
                }
            })
            .collect();
        let mut part = Dataset::from_feature_columns(range.len(), columns).unwrap();
        if let Some(w) = d.weights() {
            part = part.with_weights(w[range.clone()].to_vec()).unwrap();
        }
        let categorical: Vec<usize> = (0..d.num_features())
            .filter(|&j| d.feature_type(j).is_categorical())
            .collect();
        if !categorical.is_empty() {
            part = part.with_categorical(&categorical).unwrap();
        }
        part
    }

    /// Dense columns with NaN and ties, a sparse column, a categorical column, weights.
    fn mixed(n: usize, seed: u64, weighted: bool) -> Dataset {
        let mut rng = StdRng::seed_from_u64(seed);
        let dense: Vec<f32> = (0..n)
            .map(|_| {
                if rng.random::<f32>() < 0.1 {
                    f32::NAN
                } else {
                    (rng.random::<f32>() * 50.0).round()
                }
            })
            .collect();
        let smooth: Vec<f32> = (0..n).map(|_| rng.random::<f32>() * 3.0 - 1.0).collect();
        let codes: Vec<f32> = (0..n)
            .map(|_| {
                if rng.random::<f32>() < 0.05 {
                    f32::NAN
                } else {
                    (rng.random::<u32>() % 9) as f32
                }
            })
            .collect();
        let (mut rows, mut values) = (Vec::new(), Vec::new());
        for r in 0..n {
            if rng.random::<f32>() < 0.2 {
                rows.push(r as u32);
                values.push(rng.random::<f32>());
            }
        }
        let columns = vec![
            Column::Dense(dense),
            Column::Dense(smooth),
            Column::Dense(codes),
            Column::Sparse { rows, values },
        ];
        let mut d = Dataset::from_feature_columns(n, columns)
            .unwrap()
            .with_categorical(&[2])
            .unwrap();
        if weighted {
            d = d
                .with_weights((0..n).map(|_| rng.random::<f32>() * 2.0).collect())
                .unwrap();
        }
        d
    }

    fn chunked(d: &Dataset, sizes: &[usize], max_bin: usize) -> (BinMapper, QuantizedMatrix) {
        let categorical: Vec<bool> = (0..d.num_features())
            .map(|j| d.feature_type(j).is_categorical())
            .collect();
        let mut bounds = vec![0];
        let mut at = 0;
        for s in sizes.iter().cycle() {
            if at >= d.num_rows() {
                break;
            }
            at = (at + s).min(d.num_rows());
            bounds.push(at);
        }
        let mut cuts = ChunkedCuts::new(d.num_rows(), categorical, max_bin);
        for w in bounds.windows(2) {
            cuts.add(&rows_of(d, w[0]..w[1])).unwrap();
        }
        let mapper = cuts.finish().unwrap();
        let mut matrix = ChunkedMatrix::new(mapper, d.num_rows()).unwrap();
        for w in bounds.windows(2) {
            matrix.add(&rows_of(d, w[0]..w[1])).unwrap();
        }
        matrix.finish().unwrap()
    }

    #[test]
    fn chunks_give_the_cuts_and_bins_of_the_whole_data() {
        for (n, seed, weighted, sizes, max_bin) in [
            (1_000, 1, false, vec![1_000], 256),
            (1_000, 2, true, vec![7, 300, 1], 16),
            (5_000, 3, true, vec![999], 64),
            (3_000, 4, false, vec![1, 2, 3, 500], 300),
        ] {
            let d = mixed(n, seed, weighted);
            let mapper = BinMapper::fit(&d, max_bin);
            let matrix = QuantizedMatrix::build(&d, &mapper).bundle(&mapper);
            let (m2, q2) = chunked(&d, &sizes, max_bin);
            assert_eq!(m2, mapper, "cuts, n={n} seed={seed}");
            assert_eq!(q2.store(), matrix.store(), "bins, n={n} seed={seed}");
            for f in 0..d.num_features() {
                assert_eq!(q2.column(f), matrix.column(f));
            }
            assert_eq!(q2.bundles().is_some(), matrix.bundles().is_some());
        }
    }

    #[test]
    fn past_the_cut_sample_size_chunks_draw_the_same_sample() {
        let n = crate::bins::cuts::CUT_SAMPLE_ROWS + 50_000;
        let mut rng = StdRng::seed_from_u64(9);
        let d = Dataset::from_columns(vec![(0..n).map(|_| rng.random::<f32>()).collect()]).unwrap();
        let mapper = BinMapper::fit(&d, 256);
        let (m2, _) = chunked(&d, &[60_000, 17_777], 256);
        assert_eq!(m2, mapper);
    }

    #[test]
    fn chunks_that_do_not_add_up_are_errors() {
        let d = mixed(100, 5, false);
        let mut cuts = ChunkedCuts::new(150, vec![false, false, true, false], 16);
        cuts.add(&d).unwrap();
        assert!(cuts.finish().unwrap_err().to_string().contains("150"));
        let mut cuts = ChunkedCuts::new(50, vec![false, false, true, false], 16);
        assert!(cuts.add(&d).unwrap_err().to_string().contains("same rows"));
        let other = Dataset::from_columns(vec![vec![1.0; 10]]).unwrap();
        let mut cuts = ChunkedCuts::new(200, vec![false, false, true, false], 16);
        cuts.add(&d).unwrap();
        assert!(cuts.add(&other).unwrap_err().to_string().contains("features"));
    }
}
