//! The part of ONNX's protobuf schema (`onnx/onnx.proto`, proto2) that the tree-ensemble export
//! writes, as hand-derived [`prost`] messages: no `protoc` and no build script. Field numbers are
//! those of `onnx.proto` (checked against the `onnx` Python package's descriptors by
//! `tests/python/onnx_predict.py`, which `tests/export_onnx.rs` runs on every exported file together
//! with `onnx.checker.check_model` and onnxruntime).
//! Fields Sylvan never writes are left out; a reader skips what it does not know.

/// `ModelProto`: the top-level file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The IR version the file follows (`ir_version = 1`).
    #[prost(int64, tag = "1")]
    pub ir_version: i64,
    /// Operator sets the graph uses (`opset_import = 8`).
    #[prost(message, repeated, tag = "8")]
    pub opset_import: Vec<OperatorSetIdProto>,
    /// The tool that wrote the file (`producer_name = 2`).
    #[prost(string, tag = "2")]
    pub producer_name: String,
    /// Its version (`producer_version = 3`).
    #[prost(string, tag = "3")]
    pub producer_version: String,
    /// Reverse-DNS namespace of the model (`domain = 4`).
    #[prost(string, tag = "4")]
    pub domain: String,
    /// Version of the model (`model_version = 5`).
    #[prost(int64, tag = "5")]
    pub model_version: i64,
    /// Free text (`doc_string = 6`).
    #[prost(string, tag = "6")]
    pub doc_string: String,
    /// The computation (`graph = 7`).
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
}

/// `OperatorSetIdProto`: an operator set and its version.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OperatorSetIdProto {
    /// `""` (the default `ai.onnx` domain) or e.g. `ai.onnx.ml` (`domain = 1`).
    #[prost(string, tag = "1")]
    pub domain: String,
    /// Opset version (`version = 2`).
    #[prost(int64, tag = "2")]
    pub version: i64,
}

/// `GraphProto`: nodes in topological order, inputs and outputs.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// `node = 1`.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// `name = 2`.
    #[prost(string, tag = "2")]
    pub name: String,
    /// `doc_string = 10`.
    #[prost(string, tag = "10")]
    pub doc_string: String,
    /// `input = 11`.
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// `output = 12`.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// `NodeProto`: one operator call.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// `input = 1`.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// `output = 2`.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// `name = 3`.
    #[prost(string, tag = "3")]
    pub name: String,
    /// `op_type = 4`.
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// `domain = 7`.
    #[prost(string, tag = "7")]
    pub domain: String,
    /// `attribute = 5`.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// `AttributeProto.AttributeType` values used here.
pub mod attribute_type {
    /// `FLOAT = 1`.
    pub const FLOAT: i32 = 1;
    /// `INT = 2`.
    pub const INT: i32 = 2;
    /// `STRING = 3`.
    pub const STRING: i32 = 3;
    /// `FLOATS = 6`.
    pub const FLOATS: i32 = 6;
    /// `INTS = 7`.
    pub const INTS: i32 = 7;
    /// `STRINGS = 8`.
    pub const STRINGS: i32 = 8;
}

/// `AttributeProto`: a named attribute of a node; `type` says which value field is in use.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// `name = 1`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `type = 20` (an [`attribute_type`] value).
    #[prost(int32, tag = "20")]
    pub r#type: i32,
    /// `f = 2`.
    #[prost(float, optional, tag = "2")]
    pub f: Option<f32>,
    /// `i = 3`.
    #[prost(int64, optional, tag = "3")]
    pub i: Option<i64>,
    /// `s = 4`.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub s: Option<Vec<u8>>,
    /// `floats = 7`.
    #[prost(float, repeated, tag = "7")]
    pub floats: Vec<f32>,
    /// `ints = 8`.
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
    /// `strings = 9`.
    #[prost(bytes = "vec", repeated, tag = "9")]
    pub strings: Vec<Vec<u8>>,
}

/// `ValueInfoProto`: a graph input or output.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// `name = 1`.
    #[prost(string, tag = "1")]
    pub name: String,
    /// `type = 2`.
    #[prost(message, optional, tag = "2")]
    pub r#type: Option<TypeProto>,
    /// `doc_string = 3`.
    #[prost(string, tag = "3")]
    pub doc_string: String,
}

/// `TypeProto`, tensors only.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TypeProto {
    /// The `value` oneof.
    #[prost(oneof = "type_proto::Value", tags = "1")]
    pub value: Option<type_proto::Value>,
}

/// Nested messages of [`TypeProto`].
pub mod type_proto {
    /// `TypeProto.Tensor`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Tensor {
        /// A `TensorProto.DataType` (`elem_type = 1`): 1 FLOAT, 7 INT64.
        #[prost(int32, tag = "1")]
        pub elem_type: i32,
        /// `shape = 2`.
        #[prost(message, optional, tag = "2")]
        pub shape: Option<super::TensorShapeProto>,
    }

    /// The `value` oneof of `TypeProto`.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        /// `tensor_type = 1`.
        #[prost(message, tag = "1")]
        TensorType(Tensor),
    }
}

/// `TensorProto.DataType` values used here.
pub mod data_type {
    /// `FLOAT = 1`.
    pub const FLOAT: i32 = 1;
    /// `INT64 = 7`.
    pub const INT64: i32 = 7;
}

/// `TensorShapeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    /// `dim = 1`.
    #[prost(message, repeated, tag = "1")]
    pub dim: Vec<tensor_shape_proto::Dimension>,
}

/// Nested messages of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// `TensorShapeProto.Dimension`.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dimension {
        /// The `value` oneof.
        #[prost(oneof = "dimension::Value", tags = "1, 2")]
        pub value: Option<dimension::Value>,
    }

    /// The oneof of [`Dimension`].
    pub mod dimension {
        /// A fixed size or a symbolic name.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            /// `dim_value = 1`.
            #[prost(int64, tag = "1")]
            DimValue(i64),
            /// `dim_param = 2`.
            #[prost(string, tag = "2")]
            DimParam(String),
        }
    }
}
