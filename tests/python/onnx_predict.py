#!/usr/bin/env python3
"""Runs an ONNX model (one exported by `sylvan export --format onnx`) with onnxruntime.

    onnx_predict.py --model M.onnx --x X.npy --out OUT.json [--npy-prefix P]

Checks the field numbers that io/src/export/onnx_proto.rs hand-derives against the installed onnx
package's descriptors, checks the model with `onnx.checker.check_model` (full check, with shape
inference), feeds the f32
matrix from X.npy (rows x features, NaN = missing) to the graph's single input, and writes every
output to OUT.json as {"outputs": {name: [flat values]}, "shapes": {name: [dims]}, "versions": {...}};
with --npy-prefix also each output as P<name>.npy.
"""
import argparse
import json
import sys

import numpy as np


# The field numbers io/src/export/onnx_proto.rs hand-derives, checked against this onnx package.
SCHEMA = {
    "ModelProto": dict(ir_version=1, opset_import=8, producer_name=2, producer_version=3, domain=4,
                       model_version=5, doc_string=6, graph=7),
    "OperatorSetIdProto": dict(domain=1, version=2),
    "GraphProto": dict(node=1, name=2, doc_string=10, input=11, output=12),
    "NodeProto": dict(input=1, output=2, name=3, op_type=4, domain=7, attribute=5),
    "AttributeProto": dict(name=1, type=20, f=2, i=3, s=4, floats=7, ints=8, strings=9),
    "ValueInfoProto": dict(name=1, type=2, doc_string=3),
    "TypeProto": dict(tensor_type=1),
    "TypeProto.Tensor": dict(elem_type=1, shape=2),
    "TensorShapeProto": dict(dim=1),
    "TensorShapeProto.Dimension": dict(dim_value=1, dim_param=2),
}


def check_schema(onnx):
    for message, fields in SCHEMA.items():
        cls = onnx
        for part in message.split("."):
            cls = getattr(cls, part)
        for field, number in fields.items():
            got = cls.DESCRIPTOR.fields_by_name[field].number
            if got != number:
                sys.exit(f"onnx_proto.rs: {message}.{field} is field {number}, onnx says {got}")
    a = onnx.AttributeProto
    if (a.FLOAT, a.INT, a.STRING, a.FLOATS, a.INTS, a.STRINGS) != (1, 2, 3, 6, 7, 8):
        sys.exit("onnx_proto.rs: AttributeType values differ from onnx's")
    if (onnx.TensorProto.FLOAT, onnx.TensorProto.INT64) != (1, 7):
        sys.exit("onnx_proto.rs: TensorProto.DataType values differ from onnx's")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--x", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--npy-prefix")
    a = ap.parse_args()

    import onnx
    import onnxruntime as ort

    check_schema(onnx)
    model = onnx.load(a.model)
    onnx.checker.check_model(model, full_check=True)
    x = np.ascontiguousarray(np.load(a.x).astype(np.float32))
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    inputs = sess.get_inputs()
    if len(inputs) != 1:
        sys.exit(f"expected one input, got {[i.name for i in inputs]}")
    names = [o.name for o in sess.get_outputs()]
    results = sess.run(names, {inputs[0].name: x})
    out = {"outputs": {}, "shapes": {}, "versions": {"onnx": onnx.__version__, "onnxruntime": ort.__version__}}
    for name, r in zip(names, results):
        r = np.asarray(r)
        out["shapes"][name] = list(r.shape)
        out["outputs"][name] = [v.item() for v in r.reshape(-1)]
        if a.npy_prefix:
            np.save(f"{a.npy_prefix}{name}.npy", r)
    with open(a.out, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
