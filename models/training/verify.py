#!/usr/bin/python3
"""Check that training reproduces the committed model byte for byte:

    /usr/bin/python3 models/training/verify.py        (or: npm run train:verify -w models)

Runs train.py into a temporary folder (MODEL_ARTIFACTS_DIR; the committed artifacts and MODEL_CARD.md are left
alone) and compares the SHA-256 of model.onnx, model.json and eval-set.bin.gz with models/artifacts/. Exits 0 when
all three match, 1 otherwise, and then says which step differs first (generated data, evaluation set, trained
network) and keeps the folder for a closer look. As long as a full training run (minutes on two cores).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMMITTED = HERE.parent / "artifacts"
FILES = ("model.onnx", "model.json", "eval-set.bin.gz")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def first_difference(old: dict, new: dict) -> str:
    """The earliest step of train.py whose recorded hash differs."""
    steps = [
        ("generated training and validation data (training.dataSha256)", lambda m: m["training"]["dataSha256"]),
        ("evaluation set (evaluation.sha256)", lambda m: m["evaluation"]["sha256"]),
        ("epochs run (training.epochs)", lambda m: m["training"]["epochs"]),
        ("trained network (sha256 of model.onnx)", lambda m: m["sha256"]),
        ("out-of-distribution statistics (ood)", lambda m: m["ood"]),
    ]
    for name, get in steps:
        if get(old) != get(new):
            return name
    return "model.json fields outside the recorded hashes (versions, metrics, thresholds)"


def main() -> int:
    out = Path(tempfile.mkdtemp(prefix="medimg-train-verify-"))
    env = {**os.environ, "MODEL_ARTIFACTS_DIR": str(out)}
    print(f"verify: training into {out}", flush=True)
    run = subprocess.run([sys.executable, str(HERE / "train.py")], env=env, check=False)
    if run.returncode != 0:
        print(f"verify: train.py failed (exit {run.returncode}); output kept in {out}", flush=True)
        return 1
    same = True
    for name in FILES:
        a, b = sha256(COMMITTED / name), sha256(out / name)
        same &= a == b
        print(f"{'same' if a == b else 'DIFFERENT':9} {name:16} committed {a[:16]}  retrained {b[:16]}", flush=True)
    if same:
        shutil.rmtree(out)
        print("verify: the retrained artifacts are byte for byte the committed ones", flush=True)
        return 0
    old = json.loads((COMMITTED / "model.json").read_text())
    new = json.loads((out / "model.json").read_text())
    print(f"verify: first difference: {first_difference(old, new)}; retrained artifacts kept in {out}", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
