//! The training margins of a round's trees, added in one pass at the end of the round.
//!
//! With `k` outputs a round grows `k` trees, and each tree's leaf values were added to the
//! margins (`rows x k` f64 values, row-major) through its leaves' row lists: every addition a
//! read-modify-write at a row scattered over the whole margin array (17 MB for 300,000 rows of 7
//! classes), so `k` such scatters per round missed the cache on nearly every row. Instead, each
//! tree marks every row with its leaf's slot (one byte per row: a scatter into an array that stays
//! in the L2 cache), and the end of the round walks the margins once, in order, adding each
//! output's leaf value. Every margin receives the same single addition of the same value as
//! before, so the margins are the same, bit for bit.

use rayon::prelude::*;

use crate::error::Result;
use crate::train::grow::TreeBackend;

/// Rows per task of [`RoundMargins::apply`].
const ROWS_PER_TASK: usize = 16 * 1024;

/// Leaf slots and values of the trees of one round, waiting to be added to the margins.
#[derive(Debug, Default)]
pub(crate) struct RoundMargins {
    /// Per output: the slot of each row's leaf (an index into `values`).
    slots: Vec<Vec<u8>>,
    /// Per output: the values of its tree's leaves, by slot; empty while the output has no
    /// waiting tree.
    values: Vec<Vec<f64>>,
    /// Between [`RoundMargins::start`] and [`RoundMargins::apply`].
    active: bool,
}

impl RoundMargins {
    /// Starts a round of `outputs` trees over `rows` rows (every row in every tree), reusing the
    /// previous round's buffers.
    pub(crate) fn start(&mut self, outputs: usize, rows: usize) {
        self.slots.resize_with(outputs, Vec::new);
        self.values.resize_with(outputs, Vec::new);
        for (slots, values) in self.slots.iter_mut().zip(&mut self.values) {
            slots.resize(rows, 0);
            values.clear();
        }
        self.active = true;
    }

    /// Keeps the leaves `(node, value)` of output `output`'s tree, whose rows `backend` knows, for
    /// [`RoundMargins::apply`]. `false` (nothing kept) when the tree has more leaves than one byte
    /// can name, or no round was started: the caller then adds them itself.
    pub(crate) fn keep(&mut self, output: usize, backend: &dyn TreeBackend, leaves: &[(usize, f64)]) -> Result<bool> {
        match self.outputs_mut().nth(output) {
            Some(mut kept) => kept.keep(backend, leaves),
            None => Ok(false),
        }
    }

    /// Whether a round was started and not yet applied.
    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// Every output's waiting leaves, each borrowed apart (trees of two outputs may keep theirs
    /// at once); none while no round was started.
    pub(crate) fn outputs_mut(&mut self) -> impl Iterator<Item = OutputLeaves<'_>> {
        let active = self.active;
        self.slots
            .iter_mut()
            .zip(&mut self.values)
            .filter(move |_| active)
            .map(|(slots, values)| OutputLeaves { slots, values })
    }

    /// Adds every kept tree's leaf values to `margins` (`rows x outputs`, row-major), in one pass
    /// over the rows, and forgets them.
    pub(crate) fn apply(&mut self, margins: &mut [f64]) {
        self.apply_in_tasks(margins, ROWS_PER_TASK);
    }

    /// [`RoundMargins::apply`] in tasks of `rows_per_task` rows (tests use small ones).
    fn apply_in_tasks(&mut self, margins: &mut [f64], rows_per_task: usize) {
        let rows_per_task = rows_per_task.max(1);
        let k = self.slots.len();
        let waiting: Vec<(usize, &[u8], &[f64])> = (0..k)
            .filter(|&o| !self.values[o].is_empty())
            .map(|o| (o, &self.slots[o][..], &self.values[o][..]))
            .collect();
        if k > 0 && !waiting.is_empty() {
            margins
                .par_chunks_mut(k * rows_per_task)
                .enumerate()
                .for_each(|(task, chunk)| {
                    let first = task * rows_per_task;
                    for (i, row) in chunk.chunks_exact_mut(k).enumerate() {
                        for &(o, slots, values) in &waiting {
                            row[o] += values[slots[first + i] as usize];
                        }
                    }
                });
        }
        for values in &mut self.values {
            values.clear();
        }
        self.active = false;
    }
}

/// One output's leaves waiting in [`RoundMargins`].
pub(crate) struct OutputLeaves<'r> {
    /// The slot of each row's leaf.
    slots: &'r mut Vec<u8>,
    /// The leaves' values, by slot; empty while no tree is kept.
    values: &'r mut Vec<f64>,
}

impl OutputLeaves<'_> {
    /// Keeps the leaves `(node, value)` of this output's tree, whose rows `backend` knows;
    /// `false` (nothing kept) when the tree has more leaves than one byte can name or one is kept
    /// already.
    pub(crate) fn keep(&mut self, backend: &dyn TreeBackend, leaves: &[(usize, f64)]) -> Result<bool> {
        if leaves.len() > usize::from(u8::MAX) + 1 || !self.values.is_empty() {
            return Ok(false);
        }
        let marks: Vec<(usize, u8)> = leaves
            .iter()
            .enumerate()
            .map(|(slot, &(node, _))| (node, slot as u8))
            .collect();
        backend.mark_rows(&marks, self.slots)?;
        *self.values = leaves.iter().map(|&(_, v)| v).collect();
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::partition::RowPartition;
    use proptest::prelude::*;

    /// A backend that knows only which rows each node holds.
    struct Leaves(Vec<Vec<u32>>);

    impl TreeBackend for Leaves {
        fn root_stats(&self) -> crate::gradients::GradStats {
            unreachable!("only rows are asked for")
        }
        fn find_splits(
            &mut self,
            _: &[crate::train::grow::SplitRequest],
        ) -> Result<Vec<Option<crate::train::split::SplitInfo>>> {
            unreachable!("only rows are asked for")
        }
        fn apply_splits(&mut self, _: &[crate::train::grow::SplitTask]) -> Result<()> {
            unreachable!("only rows are asked for")
        }
        fn node_rows(&self, node: usize) -> Result<&[u32]> {
            Ok(self.0.get(node).map_or(&[][..], |r| &r[..]))
        }
    }

    proptest! {
        #[test]
        fn kept_leaves_add_what_the_trees_would_have_added(
            n in 1usize..500,
            k in 1usize..5,
            seed in any::<u64>(),
            many_leaves in proptest::bool::weighted(0.2),
            rows_per_task in 1usize..100,
        ) {
            let mut next = {
                let mut s = seed | 1;
                move || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s }
            };
            let mut direct: Vec<f64> = (0..n * k).map(|_| (next() % 1000) as f64 / 7.0 - 50.0).collect();
            let mut kept = direct.clone();
            let mut round = RoundMargins::default();
            // Nothing is kept outside a round.
            prop_assert!(!round.keep(0, &Leaves(vec![(0..n as u32).collect()]), &[(0, 1.0)]).unwrap());
            round.start(k, n);
            for output in 0..k {
                // A tree: every row in one of `leaves` leaves (node ids 2 apart, as in a tree).
                let leaves = if many_leaves { 300 } else { 1 + (next() % 40) as usize };
                let mut rows = vec![Vec::new(); 2 * leaves];
                for r in 0..n as u32 {
                    rows[2 * (next() as usize % leaves)].push(r);
                }
                let backend = Leaves(rows);
                let values: Vec<(usize, f64)> = (0..leaves).map(|l| (2 * l, (next() % 2000) as f64 / 13.0 - 70.0)).collect();
                backend.add_to_rows(&values, &mut direct, k, output).unwrap();
                if !round.keep(output, &backend, &values).unwrap() {
                    prop_assert!(many_leaves);
                    backend.add_to_rows(&values, &mut kept, k, output).unwrap();
                }
                // Kept once per round.
                prop_assert!(!round.keep(output, &backend, &values).unwrap());
            }
            round.apply_in_tasks(&mut kept, rows_per_task);
            let bits = |m: &[f64]| m.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            prop_assert_eq!(bits(&kept), bits(&direct));
            // Applied once: a second apply adds nothing, and the round is over.
            round.apply(&mut kept);
            prop_assert_eq!(bits(&kept), bits(&direct));
            prop_assert!(!round.keep(0, &Leaves(vec![(0..n as u32).collect()]), &[(0, 1.0)]).unwrap());
        }
    }

    #[test]
    fn the_partition_marks_the_rows_of_each_leaf() {
        let p = RowPartition::new((0..50).collect());
        let mut out = vec![9u8; 50];
        p.mark_rows(&[(0, 3)], &mut out);
        assert!(out.iter().all(|&s| s == 3));
        // Rows not ascending: marked one node after another, the same marks.
        let p = RowPartition::new(vec![4, 0, 2]);
        let mut out = vec![9u8; 5];
        p.mark_rows(&[(0, 1), (7, 2)], &mut out);
        assert_eq!(out, [1, 9, 1, 9, 1]);
    }
}
