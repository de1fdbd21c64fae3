//! The CPU histogram backend: a [`TreeBackend`] over the quantized matrix, with parallel histogram
//! building, the sibling subtraction trick and stable row partitioning. Histograms hold either f64
//! sums of the gradient pairs or packed sums of quantized pairs ([`crate::train::quantize`]).

use rayon::prelude::*;

use crate::bins::cuts::BinMapper;
use crate::bins::matrix::QuantizedMatrix;
use crate::collective::ops::Cluster;
use crate::error::Result;
use crate::gradients::{CellScale, GradPair, GradStats};
use crate::train::grow::{SplitRequest, SplitTask, TreeBackend};
use crate::train::histogram::{build_histograms, subtract_in_place, HistCell};
use crate::train::partition::RowPartition;
use crate::train::sibling_search::{derive_and_search, Searched, SiblingPair};
use crate::train::split::shared::agree_on_splits;
use crate::train::split::{best_split_constrained, may_split, NodeSearch, SplitInfo, SplitParams};
use crate::util::profile::{self, Phase};
use std::collections::HashMap;

/// Histogram split finding on the CPU for one tree; `C` is the histogram cell (f64 sums, or packed
/// quantized sums as `i64`).
pub struct HistBackend<'a, C: HistCell = GradStats> {
    matrix: &'a QuantizedMatrix,
    mapper: &'a BinMapper,
    /// Per row: its contribution to a histogram cell.
    pairs: &'a [C::Pair],
    /// Turns cells into gradient sums.
    scale: CellScale,
    params: SplitParams,
    partition: RowPartition,
    /// Per node: its histogram, while it may still be needed.
    hists: Vec<Option<Vec<C>>>,
    /// Per node: its parent and sibling.
    family: Vec<Option<(usize, usize)>>,
    root: GradStats,
    /// In distributed training: the group, whose ranks' histograms are summed.
    cluster: Option<&'a Cluster<'a>>,
    /// In distributed training: per node, its row count over all ranks (once known).
    global_len: Vec<usize>,
}

impl<'a> HistBackend<'a, GradStats> {
    /// A backend over `rows` (the rows sampled for this tree) with their gradient pairs, summed in
    /// f64 histograms; `matrix` is the training data quantized with `mapper`.
    pub fn new(
        matrix: &'a QuantizedMatrix,
        mapper: &'a BinMapper,
        gpairs: &'a [GradPair],
        rows: Vec<u32>,
        params: SplitParams,
    ) -> Self {
        let mut root = GradStats::default();
        for &r in &rows {
            root.add_pair(gpairs[r as usize]);
        }
        HistBackend::from_parts(matrix, mapper, gpairs, CellScale::IDENTITY, root, rows, params)
    }
}

impl<'a> HistBackend<'a, i64> {
    /// A backend over `rows` whose histograms sum the packed quantized pairs `packed` (from
    /// [`crate::train::quantize::quantize_shard`] over the same rows, with `scale`), `root` being the packed
    /// sum of `rows`.
    #[allow(clippy::too_many_arguments)]
    pub fn quantized(
        matrix: &'a QuantizedMatrix,
        mapper: &'a BinMapper,
        packed: &'a [i64],
        scale: CellScale,
        root: i64,
        rows: Vec<u32>,
        params: SplitParams,
    ) -> Self {
        HistBackend::from_parts(matrix, mapper, packed, scale, root, rows, params)
    }

    /// The backend with its root's histogram already built (from the same rows and pairs, e.g. by
    /// [`crate::train::root_histograms::build_root_histograms`] with other outputs' trees).
    pub(crate) fn with_root_histogram(mut self, hist: Vec<i64>) -> Self {
        self.hists[0] = Some(hist);
        self
    }

    /// [`HistBackend::quantized`] on this rank's shard of a distributed run (`root` summed over
    /// ranks): histograms and node row counts are summed over the ranks and rank 0's splits are
    /// applied, so every rank grows the one-process tree.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn quantized_shard(
        matrix: &'a QuantizedMatrix,
        mapper: &'a BinMapper,
        packed: &'a [i64],
        scale: CellScale,
        root: i64,
        rows: Vec<u32>,
        params: SplitParams,
        cluster: &'a Cluster<'a>,
    ) -> Self {
        let mut backend = HistBackend::from_parts(matrix, mapper, packed, scale, root, rows, params);
        backend.cluster = Some(cluster);
        backend
    }
}

impl<'a, C: HistCell> HistBackend<'a, C> {
    #[allow(clippy::too_many_arguments)]
    fn from_parts(
        matrix: &'a QuantizedMatrix,
        mapper: &'a BinMapper,
        pairs: &'a [C::Pair],
        scale: CellScale,
        root: C,
        rows: Vec<u32>,
        params: SplitParams,
    ) -> Self {
        HistBackend {
            matrix,
            mapper,
            pairs,
            scale,
            params,
            partition: RowPartition::new(rows),
            hists: vec![None],
            family: vec![None],
            root: root.stats(&scale),
            cluster: None,
            global_len: Vec::new(),
        }
    }

    fn ensure(&mut self, node: usize) {
        if self.hists.len() <= node {
            self.hists.resize(node + 1, None);
            self.family.resize(node + 1, None);
        }
    }

    /// A node's row count (over all ranks in distributed training).
    fn len(&self, node: usize) -> usize {
        match self.cluster {
            Some(_) => self.global_len.get(node).copied().unwrap_or(0),
            None => self.partition.len(node),
        }
    }

    /// In distributed training: learns the row counts over all ranks of the requested nodes and
    /// their siblings.
    fn count_rows(&mut self, cluster: &Cluster<'_>, requests: &[SplitRequest]) -> Result<()> {
        let mut nodes: Vec<usize> = Vec::with_capacity(2 * requests.len());
        for r in requests {
            nodes.push(r.node);
            if let Some((_, s)) = self.family[r.node] {
                nodes.push(s);
            }
        }
        let mut counts: Vec<i64> = nodes.iter().map(|&n| self.partition.len(n) as i64).collect();
        cluster.sum_i64(&mut counts)?;
        let end = nodes.iter().max().map_or(0, |m| m + 1);
        if self.global_len.len() < end {
            self.global_len.resize(end, 0);
        }
        for (&n, c) in nodes.iter().zip(counts) {
            self.global_len[n] = c as usize;
        }
        Ok(())
    }

    /// Sums freshly built histograms over the ranks, in one exchange.
    fn sum_over_ranks(cluster: &Cluster<'_>, hists: &mut [Vec<C>]) -> Result<()> {
        let mut words: Vec<i64> = Vec::with_capacity(hists.iter().map(Vec::len).sum());
        for h in hists.iter_mut() {
            let w = C::exact_words(h).ok_or_else(|| {
                cluster.error("distributed training sums quantized histograms only (use_quantized_grad=true)")
            })?;
            words.extend_from_slice(w);
        }
        cluster.sum_i64(&mut words)?;
        let mut at = 0;
        for h in hists.iter_mut() {
            if let Some(w) = C::exact_words(h) {
                w.copy_from_slice(&words[at..at + w.len()]);
                at += w.len();
            }
        }
        Ok(())
    }

    /// Makes sure every requested node has its histogram: the smaller of two requested siblings is
    /// built from its rows, the larger is the parent's minus the smaller's.
    fn prepare_histograms(&mut self, requests: &[SplitRequest]) -> Result<()> {
        let _phase = profile::enter(Phase::Histograms);
        let derive = self.build_requested(requests)?;
        let hists = &self.hists;
        let done: Vec<(usize, Vec<C>)> = derive
            .into_par_iter()
            .filter_map(|(large, mut h, small)| {
                subtract_in_place(&mut h, hists[small].as_deref()?);
                Some((large, h))
            })
            .collect();
        for (large, h) in done {
            self.hists[large] = Some(h);
        }
        self.release_parents(requests);
        Ok(())
    }

    /// Builds the histograms of the requested nodes that neither have one nor can derive theirs:
    /// of two requested siblings whose parent's histogram is kept, the smaller. Returns the larger
    /// siblings still to derive, as `(larger, the parent's histogram, smaller)` (the parent's is
    /// taken: the larger sibling turns it into its own by subtracting the smaller's).
    fn build_requested(&mut self, requests: &[SplitRequest]) -> Result<Vec<(usize, Vec<C>, usize)>> {
        if let Some(cluster) = self.cluster {
            self.count_rows(cluster, requests)?;
        }
        let wanted: std::collections::HashSet<usize> = requests.iter().map(|r| r.node).collect();
        let mut build = Vec::new();
        let mut derive = Vec::new(); // (node, parent, built sibling)
        let mut planned = std::collections::HashSet::new();
        for r in requests {
            let n = r.node;
            if self.hists[n].is_some() || planned.contains(&n) {
                continue;
            }
            match self.family[n] {
                Some((p, s)) if self.hists[p].is_some() && wanted.contains(&s) && !planned.contains(&s) => {
                    let (small, large) = if self.len(n) <= self.len(s) { (n, s) } else { (s, n) };
                    build.push(small);
                    derive.push((large, p, small));
                    planned.insert(n);
                    planned.insert(s);
                }
                _ => {
                    build.push(n);
                    planned.insert(n);
                }
            }
        }
        let row_lists: Vec<&[u32]> = build.iter().map(|&n| self.partition.node_rows(n)).collect();
        let mut built = build_histograms::<C>(self.matrix, self.mapper.offsets(), &row_lists, self.pairs);
        if let Some(cluster) = self.cluster {
            Self::sum_over_ranks(cluster, &mut built)?;
        }
        for (n, h) in build.iter().zip(built) {
            self.hists[*n] = Some(h);
        }
        Ok(derive
            .into_iter()
            .filter_map(|(large, p, small)| self.hists[p].take().map(|h| (large, h, small)))
            .collect())
    }

    /// Drops the histograms of the requested nodes' parents once both children have theirs (a
    /// parent's is not needed again).
    fn release_parents(&mut self, requests: &[SplitRequest]) {
        for r in requests {
            if let Some((p, s)) = self.family[r.node] {
                if self.hists[r.node].is_some() && self.hists[s].is_some() {
                    self.hists[p] = None;
                }
            }
        }
    }

    /// The best split of each request: histograms built or derived, then searched (siblings whose
    /// larger histogram is derived are subtracted and searched in one pass).
    fn search_requests(&mut self, requests: &[SplitRequest]) -> Result<Vec<Option<SplitInfo>>> {
        let derive = {
            let _phase = profile::enter(Phase::Histograms);
            self.build_requested(requests)?
        };
        // Siblings whose larger histogram is derived: subtracted and searched in one pass.
        let by_node: HashMap<usize, &SplitRequest> = requests.iter().map(|r| (r.node, r)).collect();
        let mut pairs = Vec::with_capacity(derive.len());
        let mut pair_nodes = Vec::with_capacity(derive.len());
        for (large, parent, small) in derive {
            let (Some(small_hist), Some(small_request), Some(large_request)) =
                (self.hists[small].as_deref(), by_node.get(&small), by_node.get(&large))
            else {
                continue;
            };
            pairs.push(SiblingPair {
                parent,
                small: small_hist,
                small_search: self.search_of(small_request),
                large_search: self.search_of(large_request),
            });
            pair_nodes.push((small, large));
        }
        let outcomes = derive_and_search(pairs, self.mapper, self.params.gamma);
        let mut found: HashMap<usize, Option<SplitInfo>> = HashMap::with_capacity(2 * outcomes.len());
        for ((small, large), outcome) in pair_nodes.into_iter().zip(outcomes) {
            self.hists[large] = Some(outcome.large_hist);
            found.insert(small, outcome.small_split);
            found.insert(large, outcome.large_split);
        }
        self.release_parents(requests);
        let backend = &*self;
        let mut splits: Vec<Option<SplitInfo>> = requests
            .par_iter()
            .map(|r| match found.get(&r.node) {
                Some(split) => split.clone(),
                None => backend.hists[r.node].as_ref().and_then(|h| {
                    let Searched { search: s, features } = backend.search_of(r);
                    best_split_constrained(h, s.scale, s.mapper, features, s.total, s.node_rows, s.p, s.mono)
                }),
            })
            .collect();
        if let Some(cluster) = self.cluster {
            agree_on_splits(&mut splits, cluster)?;
        }
        Ok(splits)
    }

    /// The requests worth answering when some nodes cannot split ([`may_split`]), and the parents
    /// whose histograms are no longer needed. A node that cannot split is kept, with no feature to
    /// search, only where its sibling is searched (its histogram then still spares the sibling a
    /// pass over its rows); else it is left out, unbuilt, and so is its parent's histogram once its
    /// sibling is left out too.
    fn hopeless_pruned<'r>(&self, requests: &[SplitRequest<'r>]) -> (Vec<SplitRequest<'r>>, Vec<usize>) {
        let searched: HashMap<usize, bool> = requests
            .iter()
            .map(|r| (r.node, may_split(r.stats, &self.params)))
            .collect();
        let mut kept = Vec::with_capacity(requests.len());
        let mut released = Vec::new();
        for r in requests {
            if searched[&r.node] {
                kept.push(r.clone());
                continue;
            }
            let family = self.family[r.node];
            match family.map(|(parent, sibling)| (parent, searched.get(&sibling).copied())) {
                Some((_, Some(true))) => kept.push(SplitRequest {
                    features: Vec::new(),
                    ..r.clone()
                }),
                Some((parent, Some(false))) => released.push(parent),
                _ => {}
            }
        }
        (kept, released)
    }

    /// The split search of request `r`.
    fn search_of<'r>(&'r self, r: &'r SplitRequest<'r>) -> Searched<'r> {
        Searched {
            search: NodeSearch::new(
                &self.scale,
                self.mapper,
                r.stats,
                self.len(r.node),
                &self.params,
                r.monotone,
            ),
            features: &r.features,
        }
    }
}

impl<C: HistCell> HistBackend<'_, C> {
    /// The histograms of the requested nodes (built or derived as [`TreeBackend::find_splits`]
    /// does), for split searches over several outputs' histograms at once.
    pub(crate) fn histograms(&mut self, requests: &[SplitRequest]) -> Result<Vec<Option<&[C]>>> {
        for r in requests {
            self.ensure(r.node);
        }
        self.prepare_histograms(requests)?;
        Ok(requests.iter().map(|r| self.hists[r.node].as_deref()).collect())
    }
}

impl<C: HistCell> TreeBackend for HistBackend<'_, C> {
    fn root_stats(&self) -> GradStats {
        self.root
    }

    fn find_splits(&mut self, requests: &[SplitRequest]) -> Result<Vec<Option<SplitInfo>>> {
        for r in requests {
            self.ensure(r.node);
        }
        if requests.iter().all(|r| may_split(r.stats, &self.params)) {
            return self.search_requests(requests);
        }
        let (kept, released) = self.hopeless_pruned(requests);
        for parent in released {
            self.hists[parent] = None;
        }
        let mut found: HashMap<usize, Option<SplitInfo>> =
            kept.iter().map(|r| r.node).zip(self.search_requests(&kept)?).collect();
        Ok(requests.iter().map(|r| found.remove(&r.node).flatten()).collect())
    }

    fn apply_splits(&mut self, tasks: &[SplitTask]) -> Result<()> {
        self.partition.apply_binned(self.matrix, self.mapper, tasks);
        for t in tasks {
            self.ensure(t.left.max(t.right));
            self.family[t.left] = Some((t.node, t.right));
            self.family[t.right] = Some((t.node, t.left));
        }
        Ok(())
    }
    fn node_rows(&self, node: usize) -> Result<&[u32]> {
        Ok(self.partition.node_rows(node))
    }

    fn can_speculate(&self) -> bool {
        // In distributed training every rank would have to take the same splits back; not done.
        self.cluster.is_none() && self.partition.ascending()
    }

    fn undo_split(&mut self, node: usize) -> Result<()> {
        self.partition.merge_children(node);
        Ok(())
    }

    fn renumber(&mut self, new_ids: &[Option<usize>]) -> Result<()> {
        // Histograms and families are growth's; it is over.
        self.hists.clear();
        self.family.clear();
        self.partition.renumber(new_ids);
        Ok(())
    }

    fn add_to_rows(&self, nodes: &[(usize, f64)], out: &mut [f64], stride: usize, offset: usize) -> Result<()> {
        self.partition.add_to_rows(nodes, out, stride, offset);
        Ok(())
    }
    fn mark_rows(&self, nodes: &[(usize, u8)], out: &mut [u8]) -> Result<()> {
        self.partition.mark_rows(nodes, out);
        Ok(())
    }
}
