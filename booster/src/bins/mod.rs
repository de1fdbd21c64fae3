//! Stage 2, the data prepared for split finding, built once per training run: per-feature cut points
//! ([`cuts`]) and the search of many values' bins at once ([`bin_search`]), the quantized row-major matrix the histogram method reads ([`matrix`]) and its
//! low-cardinality features bundled into one code per row ([`bundles`]) or, when sparse, listed per row
//! ([`sparse_rows`]), and the
//! pre-sorted column blocks of the exact and approximate methods ([`blocks`]); in distributed
//! training, the cuts the ranks agree on ([`shared_cuts`]).

pub(crate) mod bin_search;
pub(crate) mod blocks;
pub(crate) mod bundles;
pub(crate) mod chunked;
pub(crate) mod cuts;
pub(crate) mod matrix;
pub(crate) mod shared_cuts;
pub(crate) mod sparse_rows;
