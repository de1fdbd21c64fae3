//! One feature column, dense (a value per row, `NaN` = missing) or sparse (only the present values,
//! with their row ids; every other row is missing). Sparse columns keep memory proportional to the
//! number of present values, as LibSVM-style data needs.

/// A feature column.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// One value per row; `NaN` marks a missing value.
    Dense(Vec<f32>),
    /// The present values only, by strictly increasing row id.
    Sparse {
        /// Row ids, strictly increasing.
        rows: Vec<u32>,
        /// The value of each listed row (never `NaN`).
        values: Vec<f32>,
    },
}

impl Column {
    /// The value of `row` (`NaN` when missing).
    #[inline]
    pub fn get(&self, row: usize) -> f32 {
        match self {
            Column::Dense(v) => v[row],
            Column::Sparse { rows, values } => match rows.binary_search(&(row as u32)) {
                Ok(i) => values[i],
                Err(_) => f32::NAN,
            },
        }
    }

    /// The values, when the column is dense.
    pub fn as_dense(&self) -> Option<&[f32]> {
        match self {
            Column::Dense(v) => Some(v),
            Column::Sparse { .. } => None,
        }
    }

    /// Number of present (non-missing) values.
    pub fn num_present(&self) -> usize {
        match self {
            Column::Dense(v) => v.iter().filter(|x| !x.is_nan()).count(),
            Column::Sparse { rows, .. } => rows.len(),
        }
    }

    /// The first infinite value and its row, if any (a vectorised scan).
    pub fn first_infinite(&self) -> Option<(usize, f32)> {
        let (rows, values): (Option<&[u32]>, &[f32]) = match self {
            Column::Dense(v) => (None, v),
            Column::Sparse { rows, values } => (Some(rows), values),
        };
        let i = values.iter().position(|x| x.is_infinite())?;
        Some((rows.map_or(i, |r| r[i] as usize), values[i]))
    }

    /// Calls `f(row, value)` for every present value, by increasing row.
    pub fn for_each_present(&self, mut f: impl FnMut(usize, f32)) {
        match self {
            Column::Dense(v) => v
                .iter()
                .enumerate()
                .filter(|(_, x)| !x.is_nan())
                .for_each(|(i, x)| f(i, *x)),
            Column::Sparse { rows, values } => rows.iter().zip(values).for_each(|(r, x)| f(*r as usize, *x)),
        }
    }

    /// Writes the values of rows `start..end` into `out[row - start]`, `NaN` for missing rows.
    pub fn copy_rows(&self, start: usize, end: usize, out: &mut [f32]) {
        match self {
            Column::Dense(v) => out[..end - start].copy_from_slice(&v[start..end]),
            Column::Sparse { .. } => {
                out[..end - start].fill(f32::NAN);
                self.scatter_rows(start, end, out, 1, 0);
            }
        }
    }

    /// Writes the values of rows `start..end` into `out[(row - start) * stride + offset]`, leaving
    /// the slots of missing rows untouched (callers fill them with `NaN` first).
    pub fn scatter_rows(&self, start: usize, end: usize, out: &mut [f32], stride: usize, offset: usize) {
        match self {
            Column::Dense(v) => {
                for (k, x) in v[start..end].iter().enumerate() {
                    out[k * stride + offset] = *x;
                }
            }
            Column::Sparse { rows, values } => {
                for (r, x) in Column::sparse_range(rows, values, start, end) {
                    out[r * stride + offset] = x;
                }
            }
        }
    }

    /// The present entries of rows `start..end` of a sparse column (its `rows` and `values`), as
    /// `(row - start, value)` in row order.
    pub fn sparse_range<'a>(
        rows: &'a [u32],
        values: &'a [f32],
        start: usize,
        end: usize,
    ) -> impl Iterator<Item = (usize, f32)> + 'a {
        let from = rows.partition_point(|r| (*r as usize) < start);
        rows[from..]
            .iter()
            .zip(&values[from..])
            .map(|(r, x)| (*r as usize, *x))
            .take_while(move |(r, _)| *r < end)
            .map(move |(r, x)| (r - start, x))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_and_dense_agree() {
        let dense = Column::Dense(vec![f32::NAN, 2.0, f32::NAN, 4.0, 5.0]);
        let sparse = Column::Sparse {
            rows: vec![1, 3, 4],
            values: vec![2.0, 4.0, 5.0],
        };
        for r in 0..5 {
            assert_eq!(dense.get(r).to_bits(), sparse.get(r).to_bits());
        }
        assert_eq!(dense.num_present(), sparse.num_present());
        let (mut a, mut b) = (Vec::new(), Vec::new());
        dense.for_each_present(|r, x| a.push((r, x)));
        sparse.for_each_present(|r, x| b.push((r, x)));
        assert_eq!(a, b);
        let mut out1 = vec![f32::NAN; 6];
        let mut out2 = vec![f32::NAN; 6];
        dense.scatter_rows(1, 4, &mut out1, 2, 1);
        sparse.scatter_rows(1, 4, &mut out2, 2, 1);
        assert_eq!(format!("{out1:?}"), format!("{out2:?}"));
    }
}
