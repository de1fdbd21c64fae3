//! Stage 3, learning: the [`trainer`] runs the boosting rounds after the [`checks`]; each round takes
//! gradients, samples rows and columns ([`sampling`]), grows a tree over a [`grow::TreeBackend`]
//! chosen by the [`split_method`] — the CPU histogram method ([`cpu_backend`], built on
//! [`histogram`], [`quantize`], [`split`] and [`partition`]), the exact greedy method ([`exact`]) or
//! an accelerator ([`device`]) — then sets leaf values ([`leaves`]), updates the margins, evaluates
//! and checks [`early_stopping`]. Before the large allocations the run checks that its
//! [`memory_estimate`] fits. A distributed run checks its settings and ranks first
//! ([`distributed`]).

pub(crate) mod checkpoint;
pub(crate) mod checks;
pub(crate) mod constraints;
pub(crate) mod cpu_backend;
pub(crate) mod dart;
pub(crate) mod device;
pub(crate) mod distributed;
pub(crate) mod early_stopping;
pub(crate) mod exact;
pub(crate) mod goss;
pub(crate) mod grow;
pub(crate) mod histogram;
pub(crate) mod leaves;
pub(crate) mod memory_estimate;
pub(crate) mod partition;
pub(crate) mod partition_kernel;
pub(crate) mod quantize;
pub(crate) mod root_histograms;
pub(crate) mod round_margins;
pub(crate) mod sampling;
pub(crate) mod sibling_search;
pub(crate) mod split;
pub(crate) mod split_method;
pub(crate) mod trainer;
pub(crate) mod vector_leaves;
