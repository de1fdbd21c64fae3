//! Pins the bytes of models trained on generated data, so that a change meant to keep every model
//! bit-identical (issue 16's reshaping of booster/, a faster kernel, a new feature off by default)
//! can show that it did. Each case trains a small model and compares an FNV-1a hash of its binary
//! file (`Booster::to_bytes`: parameters, base margin, trees) with the value recorded here.
//!
//! A change that is meant to alter models (a bug fix, a new default) updates the table: run
//! `SYLVAN_PRINT_MODEL_HASHES=1 cargo test -p sylvan-booster --test model_bytes -- --nocapture`
//! and paste the printed lines, saying in the commit why the models changed.

mod common;

use common::signal;
use rand::RngExt;
use sylvan_booster::{Booster, Params};

/// FNV-1a, 64 bits: a stable hash (std's `DefaultHasher` may change between Rust releases).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The pinned cases: a name, the parameters, and the label: 0 regression, 1 binary, 2 three
/// classes, 3 counts.
type Case = (&'static str, &'static [(&'static str, &'static str)], u8);
const CASES: &[Case] = &[
    ("hist-quantized-binary", &[("objective", "binary:logistic")], 1),
    (
        "hist-f64-regression-lossguide",
        &[
            ("use_quantized_grad", "false"),
            ("grow_policy", "lossguide"),
            ("max_leaves", "12"),
        ],
        0,
    ),
    ("exact-regression", &[("tree_method", "exact")], 0),
    (
        "approx-binary",
        &[("tree_method", "approx"), ("objective", "binary:logistic")],
        1,
    ),
    (
        "hist-multiclass",
        &[("objective", "multi:softprob"), ("num_class", "3")],
        2,
    ),
    (
        "hist-sampled-binary",
        &[
            ("objective", "binary:logistic"),
            ("subsample", "0.7"),
            ("colsample_bynode", "0.8"),
        ],
        1,
    ),
    ("hist-poisson", &[("objective", "count:poisson")], 3),
    (
        "random-forest",
        &[
            ("num_parallel_tree", "4"),
            ("subsample", "0.63"),
            ("colsample_bynode", "0.8"),
            ("eta", "1"),
        ],
        0,
    ),
];

/// The recorded hashes, in the order of `CASES`.
const PINNED: &[(&str, u64)] = &[
    ("hist-quantized-binary", 0x4c596ad6358a5ca3),
    ("hist-f64-regression-lossguide", 0x70a7a65ab4e89042),
    ("exact-regression", 0x2c2c1014cef91785),
    ("approx-binary", 0x8c24c40502106a89),
    ("hist-multiclass", 0x6eee8ee5f572ba6e),
    ("hist-sampled-binary", 0xd66c6092bee5dd22),
    ("hist-poisson", 0xe4d974787382b131),
    ("random-forest", 0x599caba3f5aa4d9f),
];

#[test]
fn models_keep_their_bytes() {
    let mut got = Vec::new();
    for (name, pairs, label) in CASES {
        let train = common::make_data_with_missing(3000, 6, 7, 0.1, |x, r| {
            let s = signal(x) + r.random_range(-0.5f32..0.5);
            match label {
                0 => s,
                1 => (s > 0.0) as u8 as f32,
                2 => ((s + 6.0) / 4.0).clamp(0.0, 2.0).floor(),
                _ => (s + 4.0).max(0.0).round(),
            }
        });
        let mut p = Params::default();
        for (k, v) in [("num_round", "8"), ("nthread", "2"), ("max_bin", "64")]
            .iter()
            .chain(pairs.iter())
        {
            p.set(k, v).unwrap();
        }
        let booster = Booster::train(&p, &train, &[]).unwrap();
        got.push((*name, fnv1a(&booster.to_bytes().unwrap())));
    }
    if std::env::var_os("SYLVAN_PRINT_MODEL_HASHES").is_some() {
        for (name, h) in &got {
            println!("    (\"{name}\", 0x{h:016x}),");
        }
    }
    let differ: Vec<String> = got
        .iter()
        .zip(PINNED)
        .filter(|(g, p)| g != p)
        .map(|(g, p)| format!("{}: 0x{:016x}, pinned 0x{:016x}", g.0, g.1, p.1))
        .collect();
    assert_eq!(
        got.len(),
        PINNED.len(),
        "cases and pinned hashes differ in number: {got:x?}"
    );
    assert!(differ.is_empty(), "models changed:\n{}", differ.join("\n"));
}
