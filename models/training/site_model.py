#!/usr/bin/python3
"""A second, tiny model that proves the replacement contract (models/REPLACING.md): a hospital's own model,
built here with the onnx helper instead of trained, served by the same container and read by the same worker.

    /usr/bin/python3 models/training/site_model.py     -> models/test-fixtures/site-model/{model.onnx,model.json}

It scores `bright_spot`: the brightest 8x8 cell of the model input (average pooling), as a logit
20 x mean - 14 per cell, so a cell averaging above 0.7 (pixel 179) scores over 0.5. Its scope is CT of the
chest only, with its own thresholds and no out-of-distribution check: everything differs from the
reference model except the interface. Not a medical model: a test fixture.
"""

import hashlib
import json
from pathlib import Path

import onnx
from onnx import TensorProto, helper

OUT = Path(__file__).resolve().parent.parent / "test-fixtures" / "site-model"
SCOPE = json.loads((Path(__file__).resolve().parent / "scope.json").read_text())


def main():
    nodes = [
        helper.make_node("AveragePool", ["image"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]),
        helper.make_node("Mul", ["pooled", "gain"], ["scaled"]),
        helper.make_node("Add", ["scaled", "bias"], ["heatmap"]),
        helper.make_node("ReduceMax", ["heatmap"], ["peak"], axes=[2, 3], keepdims=0),
        helper.make_node("Sigmoid", ["peak"], ["score"]),
    ]
    graph = helper.make_graph(
        nodes, "site-bright-spot",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 1, 128, 128])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, ["batch", 1]),
         helper.make_tensor_value_info("heatmap", TensorProto.FLOAT, ["batch", 1, 16, 16])],
        [helper.make_tensor("gain", TensorProto.FLOAT, [], [20.0]),
         helper.make_tensor("bias", TensorProto.FLOAT, [], [-14.0])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="medimg-pipeline models/training/site_model.py")
    model.ir_version = 7
    onnx.checker.check_model(model)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "model.onnx"
    path.write_bytes(model.SerializeToString())
    ct = [r for r in SCOPE["rules"] if r["name"] == "ct_chest"]
    card = {
        "name": "site-bright-spot",
        "version": "0.1.0",
        "labels": ["bright_spot"],
        "file": "model.onnx",
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "input": {"name": "image", "shape": [-1, 1, 128, 128], "dtype": "float32", "scale": "pixel / 255"},
        "outputs": {"score": {"shape": [-1, 1]}, "heatmap": {"shape": [-1, 1, 16, 16]}},
        "threshold": {"recommended": 0.5},
        "reportingFloor": 0.5,
        "kind": "site",
        "intendedUse": "Test fixture: flags the brightest region of CT chest images; proves the model swap.",
        "scope": {"rules": ct},
        "criticalThresholds": {"bright_spot": 0.8},
        "performance": {"falseAlarmsPer100Studies": {"value": 0, "ci95": [0, 100], "studies": 0, "target": 5},
                        "syntheticSensitivity": 0},
    }
    (OUT / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    print(f"wrote {path} ({path.stat().st_size} B)")


if __name__ == "__main__":
    main()
