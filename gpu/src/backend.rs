//! The CUDA [`DeviceBackend`]: a training session keeps the quantized matrix, labels, margins and
//! gradient pairs on the GPU, and hands out one [`TreeBackend`] per tree whose histograms, split
//! search and row partition all stay on the device. Per level only the split records (7 words per
//! node) and the left-row counts come back; `node_rows` is served from one copy of the row order per
//! tree.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use cudarc::driver::CudaSlice;
use sylvan_booster::backend::BinMapper;
use sylvan_booster::backend::BinStore;
use sylvan_booster::backend::GradStats;
use sylvan_booster::backend::{DeviceBackend, DeviceSession, DeviceSetup, TreeGradients};
use sylvan_booster::backend::{SplitInfo, SplitParams};
use sylvan_booster::backend::{SplitRequest, SplitTask, TrainNode, TreeBackend};
use sylvan_booster::{GradPair, Tree};

use crate::context::Gpu;
use crate::error::{Ctx, Error, Result};
use crate::hist::{DeviceBins, HistLayout};
use crate::objective::DeviceObjective;
use crate::partition::PartitionTask;
use crate::profile::{Phase, Profile};

/// Trains on one NVIDIA GPU (`device=cuda:N`). Opening it compiles the kernels once; every training
/// that uses it starts a session on it.
pub struct CudaBackend {
    ordinal: usize,
    gpu: Mutex<Option<Arc<Gpu>>>,
}

impl std::fmt::Debug for CudaBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CudaBackend").field("ordinal", &self.ordinal).finish()
    }
}

impl CudaBackend {
    /// Opens GPU `ordinal` now: a clear error when there is no driver, no NVRTC or no such device.
    pub fn open(ordinal: usize) -> Result<CudaBackend> {
        let gpu = Arc::new(Gpu::open(ordinal)?);
        Ok(CudaBackend {
            ordinal,
            gpu: Mutex::new(Some(gpu)),
        })
    }

    /// A backend for GPU `ordinal` that opens it on first use (so creating it never fails).
    pub fn lazy(ordinal: usize) -> CudaBackend {
        CudaBackend {
            ordinal,
            gpu: Mutex::new(None),
        }
    }

    /// The opened GPU.
    pub fn gpu(&self) -> Result<Arc<Gpu>> {
        let mut g = self.gpu.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(gpu) = g.as_ref() {
            return Ok(gpu.clone());
        }
        let gpu = Arc::new(Gpu::open(self.ordinal)?);
        *g = Some(gpu.clone());
        Ok(gpu)
    }
}

impl DeviceBackend for CudaBackend {
    fn describe(&self) -> String {
        format!("cuda:{}", self.ordinal)
    }

    fn start<'a>(&self, setup: DeviceSetup<'a>) -> sylvan_booster::Result<Box<dyn DeviceSession + 'a>> {
        if let sylvan_booster::Device::Cuda(o) = setup.params.device {
            if o != self.ordinal {
                return Err(Error::Unsupported {
                    what: format!("params say device=cuda:{o} but the backend holds cuda:{}", self.ordinal),
                }
                .into());
            }
        }
        let gpu = self.gpu()?;
        Ok(Box::new(CudaSession::new(gpu, setup)?))
    }
}

/// One training run on the GPU.
pub struct CudaSession<'a> {
    gpu: Arc<Gpu>,
    mapper: &'a BinMapper,
    n: usize,
    k: usize,
    bins: DeviceBins,
    layout: HistLayout,
    sp: SplitParams,
    objective: Option<DeviceObjective>,
    labels: Option<CudaSlice<f32>>,
    weights: Option<CudaSlice<f32>>,
    margins: Option<CudaSlice<f64>>,
    device_pairs: Option<CudaSlice<f32>>,
    host_pairs: Option<CudaSlice<f32>>,
    rows: CudaSlice<u32>,
    scratch: CudaSlice<u32>,
    q: CudaSlice<i64>,
    /// Phase times (`SYLVAN_GPU_PROFILE=1`; printed when the session ends).
    prof: Profile,
}

impl<'a> CudaSession<'a> {
    /// Uploads the quantized matrix (and labels and weights when the objective runs on the device).
    pub fn new(gpu: Arc<Gpu>, setup: DeviceSetup<'a>) -> Result<CudaSession<'a>> {
        gpu.ctx.bind_to_thread().ctx("binding the CUDA context")?;
        let n = setup.matrix.num_rows();
        let nf = setup.matrix.num_features();
        if nf == 0 || n == 0 {
            return Err(Error::Unsupported {
                what: "training data without rows or features".into(),
            });
        }
        if n > u32::MAX as usize / 2 {
            return Err(Error::Unsupported {
                what: format!("{n} rows (at most {} per GPU)", u32::MAX / 2),
            });
        }
        let prof = Profile::new(crate::profile::enabled_by_env());
        let t = prof.start(&gpu);
        let s = &gpu.stream;
        let bins = match setup.matrix.store() {
            BinStore::U8(v) => DeviceBins::U8(s.clone_htod(v).ctx("uploading the quantized matrix")?),
            BinStore::U16(v) => DeviceBins::U16(s.clone_htod(v).ctx("uploading the quantized matrix")?),
        };
        let layout = HistLayout::new(&gpu, setup.mapper.offsets())?;
        let objective = DeviceObjective::for_params(setup.params, setup.builtin_objective);
        let (labels, weights) = if objective.is_some() {
            let w: Vec<f32> = match setup.train.weights() {
                Some(w) => w.to_vec(),
                None => vec![1.0; n],
            };
            (
                Some(s.clone_htod(setup.train.labels()).ctx("uploading labels")?),
                Some(s.clone_htod(&w).ctx("uploading weights")?),
            )
        } else {
            (None, None)
        };
        prof.stop(&gpu, Phase::Upload, t);
        Ok(CudaSession {
            mapper: setup.mapper,
            n,
            k: setup.num_groups,
            bins,
            layout,
            sp: setup.split,
            objective,
            labels,
            weights,
            margins: None,
            device_pairs: None,
            host_pairs: None,
            rows: s.alloc_zeros::<u32>(n).ctx("allocating row buffers")?,
            scratch: s.alloc_zeros::<u32>(n).ctx("allocating row buffers")?,
            q: s.alloc_zeros::<i64>(2 * n).ctx("allocating gradient buffers")?,
            prof,
            gpu,
        })
    }

    fn tree_inner(&mut self, gradients: TreeGradients<'_>, rows: &[u32]) -> Result<CudaTree<'_, 'a>> {
        self.gpu.ctx.bind_to_thread().ctx("binding the CUDA context")?;
        let m = rows.len();
        let t = self.prof.start(&self.gpu);
        if m == self.n {
            crate::hist::iota(&self.gpu, &mut self.rows, m)?;
        } else {
            let mut view = self.rows.slice_mut(0..m);
            self.gpu
                .stream
                .memcpy_htod(rows, &mut view)
                .ctx("uploading sampled rows")?;
        }
        self.prof.stop(&self.gpu, Phase::Rows, t);
        let (stride, group) = match gradients {
            TreeGradients::Host(fit) => {
                if fit.len() != self.n {
                    return Err(sylvan_booster::Error::ShapeMismatch {
                        what: "gradient pairs for a GPU tree".into(),
                        expected: self.n,
                        got: fit.len(),
                    }
                    .into());
                }
                let t = self.prof.start(&self.gpu);
                let flat: Vec<f32> = fit.iter().flat_map(|g| [g.grad, g.hess]).collect();
                match self.host_pairs.as_mut() {
                    Some(buf) => self.gpu.stream.memcpy_htod(&flat, buf).ctx("uploading gradients")?,
                    None => self.host_pairs = Some(self.gpu.stream.clone_htod(&flat).ctx("uploading gradients")?),
                }
                self.prof.stop(&self.gpu, Phase::HostGradientUpload, t);
                (1, 0)
            }
            TreeGradients::Device { group } => (self.k, group),
        };
        let pairs = match gradients {
            TreeGradients::Host(_) => self.host_pairs.as_ref(),
            TreeGradients::Device { .. } => self.device_pairs.as_ref(),
        }
        .ok_or_else(|| Error::Unsupported {
            what: "device gradients requested before they were computed".into(),
        })?;
        let t = self.prof.start(&self.gpu);
        let scales = crate::hist::quantize(&self.gpu, pairs, stride, group, &self.rows, m, &mut self.q)?;
        self.prof.stop(&self.gpu, Phase::Quantize, t);
        let t = self.prof.start(&self.gpu);
        // The root's histogram, and from it the root's sums.
        let len = self.layout.slot_len();
        let mut root = self.gpu.stream.alloc_zeros::<u64>(len).ctx("allocating a histogram")?;
        crate::hist::build(
            &self.gpu,
            &self.bins,
            &self.layout,
            &self.rows,
            &self.q,
            &[(0, 0, m)],
            &mut root,
        )?;
        let f0 = self.layout.offsets[1] * 2;
        let head = self
            .gpu
            .stream
            .clone_dtoh(&root.slice(0..f0))
            .ctx("downloading the root histogram")?;
        self.gpu.sync()?;
        self.prof.stop(&self.gpu, Phase::Histograms, t);
        let (mut g, mut h) = (0i64, 0i64);
        for pair in head.chunks_exact(2) {
            g = g.wrapping_add(pair[0] as i64);
            h = h.wrapping_add(pair[1] as i64);
        }
        let root_stats = crate::split::stats_of((g, h), scales);
        let mut hists = HashMap::new();
        hists.insert(0, (Rc::new(root), 0usize));
        Ok(CudaTree {
            s: self,
            m,
            scales,
            ranges: vec![(0, m)],
            hists,
            family: vec![None],
            root: root_stats,
            host_rows: OnceCell::new(),
        })
    }
}

impl DeviceSession for CudaSession<'_> {
    fn gradients(&mut self, margins: &[f64], out: &mut [GradPair], need_host: bool) -> sylvan_booster::Result<bool> {
        let Some(objective) = self.objective else {
            return Ok(false);
        };
        let (Some(labels), Some(weights)) = (self.labels.as_ref(), self.weights.as_ref()) else {
            return Ok(false);
        };
        self.gpu.ctx.bind_to_thread().ctx("binding the CUDA context")?;
        let nk = self.n * self.k;
        if margins.len() != nk || out.len() != nk {
            return Err(sylvan_booster::Error::ShapeMismatch {
                what: "margins for GPU gradients".into(),
                expected: nk,
                got: margins.len(),
            });
        }
        let s = &self.gpu.stream;
        if self.margins.is_none() {
            let t = self.prof.start(&self.gpu);
            self.margins = Some(s.clone_htod(margins).ctx("uploading margins")?);
            self.prof.stop(&self.gpu, Phase::Upload, t);
        }
        if self.device_pairs.is_none() {
            self.device_pairs = Some(s.alloc_zeros::<f32>(2 * nk).ctx("allocating gradients")?);
        }
        let (Some(m), Some(pairs)) = (self.margins.as_ref(), self.device_pairs.as_mut()) else {
            return Ok(false);
        };
        let t = self.prof.start(&self.gpu);
        crate::objective::gradients(&self.gpu, objective, m, labels, weights, self.n, pairs)?;
        if need_host {
            let flat = s.clone_dtoh(&*pairs).ctx("downloading gradients")?;
            self.gpu.sync()?;
            for (o, p) in out.iter_mut().zip(flat.chunks_exact(2)) {
                *o = GradPair::new(p[0], p[1]);
            }
        }
        self.prof.stop(&self.gpu, Phase::Gradients, t);
        Ok(true)
    }

    fn tree(
        &mut self,
        gradients: TreeGradients<'_>,
        rows: &[u32],
    ) -> sylvan_booster::Result<Box<dyn TreeBackend + '_>> {
        Ok(Box::new(self.tree_inner(gradients, rows)?))
    }

    fn after_tree(&mut self, nodes: &[TrainNode], tree: &Tree, group: usize) -> sylvan_booster::Result<()> {
        if let Some(margins) = self.margins.as_mut() {
            self.gpu.ctx.bind_to_thread().ctx("binding the CUDA context")?;
            let t = self.prof.start(&self.gpu);
            let (packed, values) = crate::predict::pack_training_tree(nodes, tree, self.mapper);
            crate::predict::update_margins(
                &self.gpu,
                &self.bins,
                self.layout.nf,
                self.n,
                &packed,
                &values,
                margins,
                self.k,
                group,
            )?;
            self.prof.stop(&self.gpu, Phase::MarginUpdate, t);
        }
        Ok(())
    }
}

/// One tree on the GPU. Histograms live in per-call level buffers (one slot per requested node),
/// shared through `Rc` by the nodes whose histograms they hold, until both children of a node have
/// theirs.
pub struct CudaTree<'s, 'a> {
    s: &'s mut CudaSession<'a>,
    m: usize,
    scales: (f64, f64),
    /// Per node: its range of positions in the session's row array.
    ranges: Vec<(usize, usize)>,
    /// Per node with a histogram: the buffer and slot holding it.
    hists: HashMap<usize, (Rc<CudaSlice<u64>>, usize)>,
    /// Per node: its parent and sibling.
    family: Vec<Option<(usize, usize)>>,
    root: GradStats,
    /// The row order, downloaded once after the tree is grown.
    host_rows: OnceCell<Vec<u32>>,
}

impl CudaTree<'_, '_> {
    fn len(&self, node: usize) -> usize {
        self.ranges.get(node).map_or(0, |(b, e)| e - b)
    }

    fn ensure(&mut self, node: usize) {
        if self.ranges.len() <= node {
            self.ranges.resize(node + 1, (0, 0));
            self.family.resize(node + 1, None);
        }
    }

    fn try_find(&mut self, requests: &[SplitRequest]) -> Result<Vec<Option<SplitInfo>>> {
        let s = &*self.s;
        let gpu = &s.gpu;
        gpu.ctx.bind_to_thread().ctx("binding the CUDA context")?;
        let nslots = requests.len();
        let len = s.layout.slot_len();
        let t = s.prof.start(gpu);
        let mut level = gpu
            .stream
            .alloc_zeros::<u64>(nslots * len)
            .ctx("allocating a level's histograms")?;
        let slot_of: HashMap<usize, usize> = requests.iter().enumerate().rev().map(|(i, r)| (r.node, i)).collect();
        let wanted: HashSet<usize> = requests.iter().map(|r| r.node).collect();
        let mut planned = HashSet::new();
        let mut build = Vec::new();
        let mut derive = Vec::new(); // (large slot, small slot, parent)
        let mut copy = Vec::new(); // (slot, node)
        for r in requests {
            let n = r.node;
            if planned.contains(&n) {
                continue;
            }
            if self.hists.contains_key(&n) {
                copy.push((slot_of[&n], n));
                planned.insert(n);
                continue;
            }
            match self.family[n] {
                Some((p, sib))
                    if self.hists.contains_key(&p)
                        && wanted.contains(&sib)
                        && !planned.contains(&sib)
                        && !self.hists.contains_key(&sib) =>
                {
                    let (small, large) = if self.len(n) <= self.len(sib) {
                        (n, sib)
                    } else {
                        (sib, n)
                    };
                    let (b, e) = self.ranges[small];
                    build.push((slot_of[&small] as u32, b, e));
                    derive.push((slot_of[&large], slot_of[&small], p));
                    planned.insert(n);
                    planned.insert(sib);
                }
                _ => {
                    let (b, e) = self.ranges[n];
                    build.push((slot_of[&n] as u32, b, e));
                    planned.insert(n);
                }
            }
        }
        crate::hist::build(gpu, &s.bins, &s.layout, &s.rows, &s.q, &build, &mut level)?;
        s.prof.stop(gpu, Phase::Histograms, t);
        let t = s.prof.start(gpu);
        for (large, small, p) in derive {
            let (buf, slot) = &self.hists[&p];
            let parent = buf.slice(slot * len..(slot + 1) * len);
            crate::hist::subtract(gpu, &s.layout, &mut level, large, small, &parent)?;
        }
        for (slot, n) in copy {
            let (buf, from) = &self.hists[&n];
            let src = buf.slice(from * len..(from + 1) * len);
            let mut dst = level.slice_mut(slot * len..(slot + 1) * len);
            gpu.stream.memcpy_dtod(&src, &mut dst).ctx("copying a histogram")?;
        }
        s.prof.stop(gpu, Phase::Subtraction, t);
        let t = s.prof.start(gpu);
        let nf = s.layout.nf;
        let mut mask = vec![0u8; nslots * nf];
        for (i, r) in requests.iter().enumerate() {
            for &f in &r.features {
                if f < nf {
                    mask[i * nf + f] = 1;
                }
            }
        }
        let raw = crate::split::find(gpu, &level, &s.layout, &mask, nslots, self.scales, &s.sp)?;
        s.prof.stop(gpu, Phase::SplitSearch, t);
        let splits = raw
            .iter()
            .map(|r| {
                r.as_ref()
                    .and_then(|r| crate::split::to_split_info(r, s.mapper, self.scales, &s.sp))
            })
            .collect();
        // Register the new histograms; drop a parent's once both children have theirs.
        let level = Rc::new(level);
        for (i, r) in requests.iter().enumerate() {
            if slot_of[&r.node] == i {
                self.hists.insert(r.node, (level.clone(), i));
            }
        }
        for r in requests {
            if let Some((p, sib)) = self.family[r.node] {
                if self.hists.contains_key(&r.node) && self.hists.contains_key(&sib) {
                    self.hists.remove(&p);
                }
            }
        }
        Ok(splits)
    }

    fn try_apply(&mut self, tasks: &[SplitTask]) -> Result<()> {
        let s = &mut *self.s;
        s.gpu.ctx.bind_to_thread().ctx("binding the CUDA context")?;
        let ptasks: Vec<PartitionTask> = tasks
            .iter()
            .map(|t| {
                let (b, e) = self.ranges.get(t.node).copied().unwrap_or((0, 0));
                PartitionTask {
                    feature: t.split.feature as u32,
                    bin: t.split.bin as u32,
                    default_left: t.split.default_left,
                    missing_bin: s.mapper.feature(t.split.feature).missing_bin() as u32,
                    begin: b,
                    end: e,
                }
            })
            .collect();
        let t = s.prof.start(&s.gpu);
        let lefts = crate::partition::apply(&s.gpu, &s.bins, s.layout.nf, &mut s.rows, &mut s.scratch, &ptasks)?;
        s.prof.stop(&s.gpu, Phase::Partition, t);
        for ((t, p), nl) in tasks.iter().zip(&ptasks).zip(lefts) {
            self.ensure(t.left.max(t.right));
            self.ranges[t.left] = (p.begin, p.begin + nl);
            self.ranges[t.right] = (p.begin + nl, p.end);
            self.family[t.left] = Some((t.node, t.right));
            self.family[t.right] = Some((t.node, t.left));
        }
        Ok(())
    }
}

impl TreeBackend for CudaTree<'_, '_> {
    fn root_stats(&self) -> GradStats {
        self.root
    }

    fn find_splits(&mut self, requests: &[SplitRequest]) -> sylvan_booster::Result<Vec<Option<SplitInfo>>> {
        for r in requests {
            self.ensure(r.node);
        }
        Ok(self.try_find(requests)?)
    }

    fn apply_splits(&mut self, tasks: &[SplitTask]) -> sylvan_booster::Result<()> {
        self.host_rows = OnceCell::new();
        Ok(self.try_apply(tasks)?)
    }

    fn node_rows(&self, node: usize) -> sylvan_booster::Result<&[u32]> {
        if self.host_rows.get().is_none() {
            let _ = self.host_rows.set(self.download_rows()?);
        }
        let all = self.host_rows.get().map_or(&[][..], Vec::as_slice);
        let (b, e) = self.ranges.get(node).copied().unwrap_or((0, 0));
        Ok(all.get(b..e).unwrap_or(&[]))
    }
}

impl CudaTree<'_, '_> {
    /// The session's row order after the splits applied so far (every node's rows, by range).
    fn download_rows(&self) -> Result<Vec<u32>> {
        let s = &*self.s;
        let t = s.prof.start(&s.gpu);
        s.gpu.ctx.bind_to_thread().ctx("binding the CUDA context")?;
        let rows = s
            .gpu
            .stream
            .clone_dtoh(&s.rows.slice(0..self.m))
            .ctx("downloading rows")?;
        s.gpu.sync()?;
        s.prof.stop(&s.gpu, Phase::NodeRows, t);
        Ok(rows)
    }
}
