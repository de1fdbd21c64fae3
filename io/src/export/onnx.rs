//! ONNX export: the trees as one `ai.onnx.ml` tree-ensemble operator (opset 3), protobuf written
//! with [`prost`] through the hand-derived messages of [`super::onnx_proto`].
//!
//! The graph takes one float input `input` of shape `[N, num_features]` (NaN = missing) and gives:
//! - regression objectives (`reg:*` but custom, `binary:logitraw`): `TreeEnsembleRegressor`
//!   (`post_transform` NONE) with output `variable` `[N, 1]` — the margin; for the log-link
//!   objectives (`count:poisson`, `reg:gamma`, `reg:tweedie`) the regressor writes `margin` and an
//!   `Exp` node (default domain, opset 17) turns it into `variable`;
//! - `binary:logistic`: `TreeEnsembleClassifier` with `classlabels_int64s` [0, 1], every leaf scoring
//!   class 0's single column and `post_transform` LOGISTIC, which onnxruntime turns into
//!   `probabilities` `[N, 2]` = [1 - p, p] and `label` `[N]` (checked against onnxruntime 1.31;
//!   when every leaf weight is >= 0 a single-leaf tree of weight -1 is added, and 1 to the base
//!   margin, because onnxruntime then labels by `tree sum > 0.5` instead of the margin's sign);
//! - `multi:softprob` / `multi:softmax`: `TreeEnsembleClassifier` with one class per tree group,
//!   `post_transform` SOFTMAX: `probabilities` `[N, num_class]` and `label` `[N]` (the class index,
//!   which is what `multi:softmax` predicts).
//!
//! Threshold splits are `BRANCH_LT` nodes (a row goes to the true branch, the left child, when
//! `x < threshold`, compared in f32 as Sylvan does), missing values follow
//! `nodes_missing_value_tracks_true` (1 when the node's default direction is left), leaves carry
//! their values as target/class weights (a DART model's multiplied by their tree weights, see
//! [`sylvan_booster::Booster::weighted_trees`]: the operator has no tree weights), and the base
//! margins go into `base_values`. Every tree Sylvan predicts with is written (rounds up to
//! the best iteration; random forests' parallel trees each with their group).
//!
//! ## Category-set splits
//!
//! A node that splits by a category set (see `sylvan_booster::TreeCategories`) becomes a chain of
//! `BRANCH_EQ` tests on its feature, one per code of the set in ascending order: node `i` itself
//! tests the first code, the others get new ids after the tree's own nodes (so every original node,
//! leaves included, keeps its id). Each test's true branch is the split's left child (the chain
//! shares it: the trees become DAGs, as LightGBM's ONNX converters write them; the left subtree is
//! never copied) and its false branch the next test, the last test's false branch the split's
//! right child. Every test carries the split's `nodes_missing_value_tracks_true`. So a missing
//! value goes to the default side, a value equal (in f32) to a code of the set goes left, and
//! everything else — another category, one unseen in training, a negative, fractional or too
//! large value — goes right: Sylvan's rule exactly, since a value equal to an integer code below
//! `MAX_CATEGORIES` is that category code. (Codes at or above `MAX_CATEGORIES` are no category
//! codes for Sylvan and are left out; a set with no code left becomes one `BRANCH_LT` against
//! `-inf`, which sends every value right and a missing one to the default side.) A split whose set
//! holds `m` codes costs `m` nodes, about 22 bytes each. onnxruntime (1.31 checked) evaluates these
//! chains, and folds short ones into a bitset test itself. Models without category-set splits are
//! written exactly as before.
//!
//! The `ai.onnx.ml` opset 5 `TreeEnsemble` operator has a set-membership mode (`BRANCH_MEMBER`),
//! but onnxruntime 1.31 truncates the input before the test (2.5 is a member of {2}), which is not
//! Sylvan's rule, and it has no classifier outputs; it is not used.
//!
//! The runtime sums leaf values in f32 where Sylvan sums in f64: predictions agree to about 1e-6
//! relative, not bit for bit.

use prost::Message;
use sylvan_booster::{Booster, CategorySet, ObjectiveKind, MAX_CATEGORIES};

use super::onnx_proto::{
    attribute_type, data_type, tensor_shape_proto, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use super::{check_leaves, conversion, is_log_link, predicting_trees, round_layout, ModelFormat};
use crate::error::Result;

const FORMAT: ModelFormat = ModelFormat::Onnx;

/// The ONNX IR version written (IR 8 goes with default-domain opset 17; onnxruntime >= 1.13 reads it).
pub const IR_VERSION: i64 = 8;
/// The `ai.onnx.ml` opset of the tree-ensemble operators.
pub const ML_OPSET: i64 = 3;
/// The default-domain opset (for `Exp`).
pub const DEFAULT_OPSET: i64 = 17;
/// The name of the graph's input.
pub const INPUT: &str = "input";

fn attr_ints(name: &str, v: Vec<i64>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: v,
        ..Default::default()
    }
}

fn attr_floats(name: &str, v: Vec<f32>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::FLOATS,
        floats: v,
        ..Default::default()
    }
}

fn attr_strings(name: &str, v: Vec<&str>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::STRINGS,
        strings: v.into_iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..Default::default()
    }
}

fn attr_string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::STRING,
        s: Some(v.as_bytes().to_vec()),
        ..Default::default()
    }
}

fn attr_int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i: Some(v),
        ..Default::default()
    }
}

/// A tensor value: `elem_type` with dimensions (`Err` = symbolic name, `Ok` = fixed size).
fn tensor_info(name: &str, elem_type: i32, dims: &[std::result::Result<i64, &str>]) -> ValueInfoProto {
    use tensor_shape_proto::dimension::Value as D;
    let dim = dims
        .iter()
        .map(|d| tensor_shape_proto::Dimension {
            value: Some(match d {
                Ok(n) => D::DimValue(*n),
                Err(p) => D::DimParam((*p).to_string()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        doc_string: String::new(),
    }
}

/// One extra `BRANCH_EQ` test of a category-set split's chain (see the module docs).
struct ChainNode {
    id: i64,
    feature: i64,
    code: u32,
    /// The split's left child: where a match (or NaN, when missing goes left) goes.
    left: i64,
    /// The next test of the chain, or the split's right child after the last one.
    next: i64,
    missing: i64,
}

/// The codes of `set` a value can match, ascending: codes at or above [`MAX_CATEGORIES`] are left
/// out, since no value is such a category code for Sylvan (it sends them right, as the chain does).
fn member_codes(set: &CategorySet) -> Vec<u32> {
    set.codes().take_while(|&c| (c as usize) < MAX_CATEGORIES).collect()
}

/// The ONNX model of `booster`, as a message (see the module docs for its shape).
pub fn to_onnx_model(booster: &Booster) -> Result<ModelProto> {
    let kind = ObjectiveKind::from_name(booster.objective_name()).ok_or_else(|| {
        conversion(
            FORMAT,
            format!(
                "objective `{}` (a custom objective) has no ONNX equivalent: its output transform is unknown",
                booster.objective_name()
            ),
        )
    })?;
    // DART: the format has no tree weights, so every tree is written with its leaf values
    // multiplied by its weight (the f32 products Sylvan adds when it predicts).
    let weighted = booster.weighted_trees();
    let trees = &weighted[..predicting_trees(booster).len()];
    if trees.is_empty() {
        return Err(conversion(FORMAT, "the model has no trees"));
    }
    check_leaves(FORMAT, trees)?;
    let k = booster.num_groups();
    let nf = booster.num_features();
    let (per_round, parallel) = round_layout(booster);
    let group = |i: usize| (i % per_round) / parallel;
    let mut base: Vec<f32> = booster.base_margin().iter().map(|m| *m as f32).collect();
    if base.len() != k || base.iter().any(|b| !b.is_finite()) {
        return Err(conversion(
            FORMAT,
            format!("base margins {:?} for {k} outputs", booster.base_margin()),
        ));
    }
    let classifier = matches!(
        kind,
        ObjectiveKind::BinaryLogistic | ObjectiveKind::MultiSoftmax | ObjectiveKind::MultiSoftprob
    );
    if kind.is_multiclass() && k < 2 {
        return Err(conversion(FORMAT, format!("{} with {k} classes", kind.name())));
    }
    if !kind.is_multiclass() && k != 1 {
        return Err(conversion(
            FORMAT,
            format!(
                "{} with {k} outputs per round (several targets or quantile/expectile levels) is not \
                 supported: ONNX export writes one output unless multiclass (export to XGBoost JSON instead)",
                kind.name()
            ),
        ));
    }

    // Nodes of every tree, and the leaves' weights.
    let (mut tree_ids, mut node_ids, mut features, mut values) = (vec![], vec![], vec![], vec![]);
    let (mut modes, mut true_ids, mut false_ids, mut missing_true) = (vec![], vec![], vec![], vec![]);
    let (mut w_tree, mut w_node, mut w_id, mut w_value) = (vec![], vec![], vec![], vec![]);
    let mut chain = Vec::new();
    for (ti, t) in trees.iter().enumerate() {
        // Ids of the extra `BRANCH_EQ` nodes of category-set splits: after the tree's own nodes.
        let mut next_id = t.num_nodes() as i64;
        for i in 0..t.num_nodes() {
            tree_ids.push(ti as i64);
            node_ids.push(i as i64);
            if t.is_leaf(i) {
                features.push(0);
                values.push(0.0);
                modes.push("LEAF");
                true_ids.push(0);
                false_ids.push(0);
                missing_true.push(0);
                w_tree.push(ti as i64);
                w_node.push(i as i64);
                // Binary: one score column (class 0's), which LOGISTIC turns into [1 - p, p].
                w_id.push(if kind.is_multiclass() { group(ti) as i64 } else { 0 });
                w_value.push(t.value[i]);
            } else {
                let f = t.feature[i] as usize;
                if f >= nf {
                    return Err(conversion(
                        FORMAT,
                        format!("tree {ti}: node {i} splits on feature {f} of {nf}"),
                    ));
                }
                let (left, right, missing) = (t.left[i] as i64, t.right[i] as i64, t.default_left[i] as i64);
                match t.category_set(i) {
                    None => {
                        features.push(f as i64);
                        values.push(t.threshold[i]);
                        modes.push("BRANCH_LT");
                        true_ids.push(left);
                        false_ids.push(right);
                        missing_true.push(missing);
                    }
                    Some(set) => {
                        // Node i is the chain's first test; the others get ids after the tree's.
                        let codes = member_codes(set);
                        let Some((&first, rest)) = codes.split_first() else {
                            // No code can match: every value goes right, NaN to the default side.
                            features.push(f as i64);
                            values.push(f32::NEG_INFINITY);
                            modes.push("BRANCH_LT");
                            true_ids.push(left);
                            false_ids.push(right);
                            missing_true.push(missing);
                            continue;
                        };
                        let next = |j: usize| if j < rest.len() { next_id + j as i64 } else { right };
                        features.push(f as i64);
                        values.push(first as f32);
                        modes.push("BRANCH_EQ");
                        true_ids.push(left);
                        false_ids.push(next(0));
                        missing_true.push(missing);
                        for (j, &c) in rest.iter().enumerate() {
                            chain.push(ChainNode {
                                id: next_id + j as i64,
                                feature: f as i64,
                                code: c,
                                left,
                                next: next(j + 1),
                                missing,
                            });
                        }
                        next_id += rest.len() as i64;
                    }
                }
            }
        }
        for c in chain.drain(..) {
            tree_ids.push(ti as i64);
            node_ids.push(c.id);
            features.push(c.feature);
            values.push(c.code as f32);
            modes.push("BRANCH_EQ");
            true_ids.push(c.left);
            false_ids.push(c.next);
            missing_true.push(c.missing);
        }
    }
    if kind == ObjectiveKind::BinaryLogistic && w_value.iter().all(|w| *w >= 0.0) {
        // onnxruntime picks a binary label by `score > 0.5` (the tree sum alone) when no class
        // weight is negative, and by the sign of the margin otherwise: one extra single-leaf tree of
        // weight -1, with 1 more in the base margin, keeps the label the most probable class.
        let ti = trees.len() as i64;
        tree_ids.push(ti);
        node_ids.push(0);
        features.push(0);
        values.push(0.0);
        modes.push("LEAF");
        true_ids.push(0);
        false_ids.push(0);
        missing_true.push(0);
        w_tree.push(ti);
        w_node.push(0);
        w_id.push(0);
        w_value.push(-1.0);
        base[0] += 1.0;
    }
    let mut attrs = vec![
        attr_ints("nodes_treeids", tree_ids),
        attr_ints("nodes_nodeids", node_ids),
        attr_ints("nodes_featureids", features),
        attr_floats("nodes_values", values),
        attr_strings("nodes_modes", modes),
        attr_ints("nodes_truenodeids", true_ids),
        attr_ints("nodes_falsenodeids", false_ids),
        attr_ints("nodes_missing_value_tracks_true", missing_true),
        attr_floats("base_values", base),
    ];

    let rows = Err("N");
    let mut nodes = Vec::new();
    let outputs = if classifier {
        let prefix = "class_";
        attrs.extend([
            attr_ints(&format!("{prefix}treeids"), w_tree),
            attr_ints(&format!("{prefix}nodeids"), w_node),
            attr_ints(&format!("{prefix}ids"), w_id),
            attr_floats(&format!("{prefix}weights"), w_value),
            attr_ints("classlabels_int64s", (0..k.max(2) as i64).collect()),
            attr_string(
                "post_transform",
                if kind.is_multiclass() { "SOFTMAX" } else { "LOGISTIC" },
            ),
        ]);
        nodes.push(NodeProto {
            input: vec![INPUT.into()],
            output: vec!["label".into(), "probabilities".into()],
            name: "TreeEnsembleClassifier".into(),
            op_type: "TreeEnsembleClassifier".into(),
            domain: "ai.onnx.ml".into(),
            attribute: attrs,
        });
        vec![
            tensor_info("label", data_type::INT64, &[rows]),
            tensor_info("probabilities", data_type::FLOAT, &[rows, Ok(k.max(2) as i64)]),
        ]
    } else {
        attrs.extend([
            attr_ints("target_treeids", w_tree),
            attr_ints("target_nodeids", w_node),
            attr_ints("target_ids", w_id),
            attr_floats("target_weights", w_value),
            attr_int("n_targets", 1),
            attr_string("aggregate_function", "SUM"),
            attr_string("post_transform", "NONE"),
        ]);
        let log_link = is_log_link(kind);
        let out = if log_link { "margin" } else { "variable" };
        nodes.push(NodeProto {
            input: vec![INPUT.into()],
            output: vec![out.into()],
            name: "TreeEnsembleRegressor".into(),
            op_type: "TreeEnsembleRegressor".into(),
            domain: "ai.onnx.ml".into(),
            attribute: attrs,
        });
        if log_link {
            nodes.push(NodeProto {
                input: vec!["margin".into()],
                output: vec!["variable".into()],
                name: "Exp".into(),
                op_type: "Exp".into(),
                domain: String::new(),
                attribute: vec![],
            });
        }
        vec![tensor_info("variable", data_type::FLOAT, &[rows, Ok(1)])]
    };

    let graph = GraphProto {
        node: nodes,
        name: "sylvan".into(),
        doc_string: format!("Sylvan {} model, {} trees", kind.name(), trees.len()),
        input: vec![tensor_info(INPUT, data_type::FLOAT, &[rows, Ok(nf as i64)])],
        output: outputs,
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![
            OperatorSetIdProto {
                domain: String::new(),
                version: DEFAULT_OPSET,
            },
            OperatorSetIdProto {
                domain: "ai.onnx.ml".into(),
                version: ML_OPSET,
            },
        ],
        producer_name: "sylvan".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: String::new(),
        model_version: 1,
        doc_string: String::new(),
        graph: Some(graph),
    })
}

/// The ONNX model of `booster`, serialized (the bytes of a `.onnx` file).
pub fn to_onnx(booster: &Booster) -> Result<Vec<u8>> {
    Ok(to_onnx_model(booster)?.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sylvan_booster::{Dataset, Params};

    fn model(objective: &str) -> Booster {
        let x: Vec<f32> = (0..200).map(|i| i as f32).collect();
        let y: Vec<f32> = x.iter().map(|v| (*v > 120.0) as u8 as f32).collect();
        let train = Dataset::from_columns(vec![x]).unwrap().with_labels(y).unwrap();
        let mut params = Params::default();
        params.set("objective", objective).unwrap();
        params.set("num_round", "3").unwrap();
        Booster::train(&params, &train, &[]).unwrap()
    }

    #[test]
    fn encodes_and_decodes() {
        let b = model("binary:logistic");
        let bytes = to_onnx(&b).unwrap();
        let m = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(m.ir_version, IR_VERSION);
        let g = m.graph.unwrap();
        assert_eq!(g.node.len(), 1);
        assert_eq!(g.node[0].op_type, "TreeEnsembleClassifier");
        assert_eq!(g.output.len(), 2);

        let r = to_onnx_model(&model("count:poisson")).unwrap();
        let ops: Vec<_> = r.graph.unwrap().node.iter().map(|n| n.op_type.clone()).collect();
        assert_eq!(ops, ["TreeEnsembleRegressor", "Exp"]);
    }
}
