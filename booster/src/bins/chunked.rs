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
use crate::bins::matrix::{quantize_into, BinStore, QuantizedMatrix};
use crate::data::dataset::Dataset;
use crate::error::{Error, Result};

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

/// What a feature needs to become cut points, gathered chunk by chunk.
#[derive(Default)]
struct FeatureSample {
    /// Whether some row misses the feature.
    missing: bool,
    /// Categorical: one more than the largest code seen.
    categories: usize,
    /// Numeric: the sampled values, in row order.
    values: Vec<f32>,
    /// Their weights; empty while every chunk so far was unweighted (weight 1), which halves the
    /// sample's memory.
    weights: Vec<f32>,
}

impl FeatureSample {
    /// Adds a chunk's sampled pairs.
    fn extend(&mut self, pairs: Vec<(f32, f32)>, weighted: bool) {
        if weighted && self.weights.len() < self.values.len() {
            self.weights.resize(self.values.len(), 1.0);
        }
        for (x, w) in pairs {
            self.values.push(x);
            if weighted || !self.weights.is_empty() {
                self.weights.push(w);
            }
        }
    }

    /// The `(value, weight)` pairs, in row order.
    fn into_pairs(self) -> Vec<(f32, f32)> {
        if self.weights.is_empty() {
            self.values.into_iter().map(|x| (x, 1.0)).collect()
        } else {
            self.values.into_iter().zip(self.weights).collect()
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
    features: Vec<FeatureSample>,
}

impl ChunkedCuts {
    /// Cuts of at most `max_bin` bins for a data set of `total_rows` rows whose features are
    /// categorical where `categorical` says so.
    pub fn new(total_rows: usize, categorical: Vec<bool>, max_bin: usize) -> ChunkedCuts {
        let features = categorical.iter().map(|_| FeatureSample::default()).collect();
        ChunkedCuts {
            max_bin,
            total_rows,
            seen_rows: 0,
            keep: CutSample::new(total_rows),
            categorical,
            features,
        }
    }

    /// Takes the next chunk's rows (in order; its weights are the rows' weights).
    pub fn add(&mut self, chunk: &Dataset) -> Result<()> {
        check_chunk(chunk, self.features.len(), self.seen_rows, self.total_rows)?;
        let (keep, offset, n) = (&self.keep, self.seen_rows, chunk.num_rows());
        self.features
            .par_iter_mut()
            .zip(&self.categorical)
            .enumerate()
            .for_each(|(j, (f, &categorical))| {
                let column = chunk.column(j);
                f.missing |= column.num_present() < n;
                if categorical {
                    column.for_each_present(|_, x| f.categories = f.categories.max(x as usize + 1));
                } else {
                    f.extend(
                        sampled_pairs(column, chunk.weights(), keep, offset),
                        chunk.weights().is_some(),
                    );
                }
            });
        self.seen_rows += n;
        Ok(())
    }

    /// The mapper, once every row was given.
    pub fn finish(self) -> Result<BinMapper> {
        check_complete(self.seen_rows, self.total_rows)?;
        let max_bin = self.max_bin;
        let features: Vec<FeatureCuts> = self
            .features
            .into_par_iter()
            .zip(self.categorical)
            .map(|(f, categorical)| {
                if categorical {
                    FeatureCuts::categorical(f.categories, f.missing)
                } else {
                    let missing = f.missing;
                    cuts_from_pairs(f.into_pairs(), missing, max_bin)
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
}

impl ChunkedMatrix {
    /// An empty matrix of `total_rows` rows to be quantized with `mapper`.
    pub fn new(mapper: BinMapper, total_rows: usize) -> ChunkedMatrix {
        let nf = mapper.num_features();
        let store = if mapper.max_stored_bin() <= u8::MAX as usize {
            BinStore::U8(vec![0; total_rows * nf])
        } else {
            BinStore::U16(vec![0; total_rows * nf])
        };
        ChunkedMatrix {
            mapper,
            total_rows,
            seen_rows: 0,
            num_features: nf,
            store,
        }
    }

    /// Quantizes the next chunk's rows.
    pub fn add(&mut self, chunk: &Dataset) -> Result<()> {
        check_chunk(chunk, self.num_features, self.seen_rows, self.total_rows)?;
        let nf = self.num_features;
        let cells = self.seen_rows * nf..(self.seen_rows + chunk.num_rows()) * nf;
        match &mut self.store {
            BinStore::U8(v) => quantize_into(chunk, &self.mapper, &mut v[cells]),
            BinStore::U16(v) => quantize_into(chunk, &self.mapper, &mut v[cells]),
        }
        self.seen_rows += chunk.num_rows();
        Ok(())
    }

    /// The cuts and the matrix (with its bundles of low-cardinality features), once every row was
    /// given.
    pub fn finish(self) -> Result<(BinMapper, QuantizedMatrix)> {
        check_complete(self.seen_rows, self.total_rows)?;
        let matrix = QuantizedMatrix::from_store(self.store, &self.mapper, self.total_rows, self.num_features)
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
        let mut matrix = ChunkedMatrix::new(mapper, d.num_rows());
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
