#!/usr/bin/python3
"""Train, evaluate and export the reference model, in one command:

    /usr/bin/python3 models/training/train.py        (or: npm run train -w models)

Needs Debian's python3-torch, python3-onnx and python3-numpy (call /usr/bin/python3). Writes
models/artifacts/{model.onnx, model.json, eval-set.bin.gz} and the metrics table in models/MODEL_CARD.md.
Data come from phantoms.py with fixed seeds; nothing is downloaded. The same Debian packages give the same bytes
on any x86-64 CPU with AVX2 (see PINNED_ENV); `npm run train:verify -w models` (verify.py) retrains into a
temporary folder and compares the SHA-256 of the three artifacts with the committed ones.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Byte-for-byte reproduction. numpy (its exp, log, sin, cos, power loops), oneDNN (the convolutions) and OpenBLAS
# choose their SIMD code at run time from the CPU, and AVX-512 code rounds differently from AVX2 code: on an AVX-512
# machine the phantoms differed from the committed ones by one grey level in one image, and the network trained
# from them was another one. So train.py pins every library to AVX2 code (which any x86-64 CPU from 2013 on runs)
# and re-executes itself with these variables set, since the libraries read them once, when they load. It also
# sets how its threads wait and how memory is kept: these change the speed on a busy machine, never the numbers.
PIN_MARK = "MEDIMG_TRAIN_PINNED"
PINNED_ENV = {
    "DNNL_MAX_CPU_ISA": "AVX2",  # oneDNN (torch's convolutions)
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",  # torch's own vectorised kernels
    "OPENBLAS_CORETYPE": "Haswell",  # when libblas is OpenBLAS (Debian's default is the reference BLAS)
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "2",  # the torch thread count below; the convolutions' sums depend on it
    # Waiting threads sleep instead of spinning: on a shared machine spinning burns the CPU the other thread needs.
    "OMP_WAIT_POLICY": "PASSIVE",
    # Keep freed memory for the next batch instead of returning it to the system and faulting it back in (up to a
    # third of the CPU time went to page faults).
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824",
}


def numpy_avx512():
    """numpy's AVX-512 dispatch targets this CPU has (numpy refuses to disable what the CPU lacks)."""
    try:
        from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    except ImportError:  # numpy 2
        from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
    return [f for f in __cpu_dispatch__ if f.startswith("AVX512") and __cpu_features__.get(f)]


if __name__ == "__main__" and os.environ.get(PIN_MARK) != "1":
    env = {**os.environ, **PINNED_ENV, PIN_MARK: "1"}
    if numpy_avx512():
        env["NPY_DISABLE_CPU_FEATURES"] = " ".join(numpy_avx512())
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import numpy as np
import onnx
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import phantoms  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# MODEL_ARTIFACTS_DIR: write elsewhere (e.g. to check that a rerun gives the same bytes); the card is left alone.
ARTIFACTS = Path(os.environ.get("MODEL_ARTIFACTS_DIR", ROOT / "artifacts"))
CARD = ROOT / "MODEL_CARD.md"
REPO = ROOT.parent
# The public corpus (read in place, never copied): real negatives, split by patient/study (corpus-split.json).
CORPUS = Path(os.environ.get("DICOM_CORPUS", REPO.parent / "shared" / "dicom-corpus"))
SPLIT_FILE = ROOT / "training" / "corpus-split.json"
SCOPE_FILE = ROOT / "training" / "scope.json"

MODEL_NAME = "medimg-reference-lesion"
MODEL_VERSION = "1.2.0"
LABEL = "suspicious_lesion"
TRAIN_SEED, VAL_SEED, EVAL_SEED, TORCH_SEED, REAL_SEED = 1001, 2002, 3003, 7, 4004
REAL_VARIANTS = 24  # augmented views per real training negative (flips, shifts, zoom, contrast)
# The critical threshold keeps the false alarm rate on in-scope real calibration studies at or under this
# (per 100 studies); never below the synthetic operating point (validation sensitivity >= 0.95).
FALSE_ALARM_TARGET_PER_100 = 5.0
OOD_QUANTILE, OOD_MARGIN, OOD_SHRINK = 0.999, 1.5, 0.1
N_TRAIN, N_VAL, N_EVAL = int(os.environ.get("N_TRAIN", 3000)), int(os.environ.get("N_VAL", 800)), 240
MAX_EPOCHS, PATIENCE, BATCH = int(os.environ.get("MAX_EPOCHS", 10)), 2, 64
SENSITIVITY_TARGET = 0.95
HEAT_WEIGHT = 0.1  # weight of the summed per-cell heat-map loss against the image loss
GRID = 16  # heat map cells per side; each covers 8x8 input pixels
CELL = phantoms.SIZE // GRID


class LesionNet(nn.Module):
    """Fully convolutional: a 16x16 map of lesion logits; the image logit is its maximum."""

    def __init__(self):
        super().__init__()

        def block(cin, cout, dilation=1):
            return [nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False),
                    nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(1, 8), nn.MaxPool2d(2),  # 64
            *block(8, 16), nn.MaxPool2d(2),  # 32
            *block(16, 32), nn.MaxPool2d(2),  # 16
            *block(32, 48),
            *block(48, 48, dilation=2),
        )
        self.head = nn.Conv2d(48, 1, 1)

    def forward(self, x):
        heat = self.head(self.features(x))
        return torch.amax(heat, dim=(2, 3)), heat

    def embed(self, x):
        """Global average of the last feature maps [N, 48]: what the out-of-distribution check measures."""
        return torch.mean(self.features(x), dim=(2, 3))


class Exported(nn.Module):
    """What goes into ONNX: input `image` [N,1,128,128] in [0,1]; outputs `score` [N,1] (probability),
    `heatmap` [N,1,16,16] (logits) and `features` [N,48] (for the out-of-distribution check)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, image):
        f = self.net.features(image)
        heat = self.net.head(f)
        return torch.sigmoid(torch.amax(heat, dim=(2, 3))), heat, torch.mean(f, dim=(2, 3))


def heat_targets(labels, lesions):
    """Cells within the lesion's radius (plus half a cell) of its centre, and the centre's own cell."""
    n = len(labels)
    t = np.zeros((n, 1, GRID, GRID), dtype=np.float32)
    centres = (np.arange(GRID) + 0.5) * CELL - 0.5
    for i in np.nonzero(labels)[0]:
        cy, cx, r = lesions[i]
        d = np.sqrt((centres[:, None] - cy) ** 2 + (centres[None, :] - cx) ** 2)
        t[i, 0] = d <= r + CELL / 2
        t[i, 0, min(int(cy // CELL), GRID - 1), min(int(cx // CELL), GRID - 1)] = 1
    return t


def roc_auc(scores, labels):
    """Mann-Whitney U: the probability a random positive outranks a random negative (ties count half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def operating_point(scores, labels, threshold):
    pred = scores >= threshold
    sens = float((pred & (labels == 1)).sum() / max((labels == 1).sum(), 1))
    spec = float((~pred & (labels == 0)).sum() / max((labels == 0).sum(), 1))
    return sens, spec


def choose_threshold(scores, labels, target):
    """The highest threshold whose sensitivity is at least `target`."""
    pos = np.sort(scores[labels == 1])[::-1]
    k = int(np.ceil(target * len(pos)))
    return float(pos[k - 1])


def hottest_box(heat):
    """Box (normalised x, y, width, height) of the cells connected to the hottest one whose logit is within
    1.0 of the maximum. The Node server implements the same rule (models/src/postprocess.ts)."""
    g = heat.reshape(GRID, GRID)
    iy, ix = np.unravel_index(int(np.argmax(g)), g.shape)
    keep = g >= g[iy, ix] - 1.0
    seen = {(iy, ix)}
    stack = [(iy, ix)]
    while stack:
        y, x = stack.pop()
        for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if 0 <= ny < GRID and 0 <= nx < GRID and keep[ny, nx] and (ny, nx) not in seen:
                seen.add((ny, nx))
                stack.append((ny, nx))
    ys, xs = [p[0] for p in seen], [p[1] for p in seen]
    return min(xs) / GRID, min(ys) / GRID, (max(xs) + 1 - min(xs)) / GRID, (max(ys) + 1 - min(ys)) / GRID


def predict(net, images):
    net.eval()
    out_s, out_h = [], []
    with torch.no_grad():
        for i in range(0, len(images), 256):
            x = torch.from_numpy(images[i : i + 256]).float().unsqueeze(1) / 255.0
            logit, heat = net(x)
            out_s.append(torch.sigmoid(logit)[:, 0].numpy())
            out_h.append(heat.numpy())
    return np.concatenate(out_s), np.concatenate(out_h)


def embed(net, images):
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images), 256):
            out.append(net.embed(torch.from_numpy(images[i : i + 256]).float().unsqueeze(1) / 255.0).numpy())
    return np.concatenate(out).astype(np.float64)


def corpus_inputs():
    """The corpus files of corpus-split.json rendered by the worker's own code (worker/scripts/
    corpus-model-inputs.ts): the exact model inputs the pipeline would send. Returns (entries, images)."""
    with tempfile.TemporaryDirectory() as tmp:
        tsx = REPO / "node_modules" / ".bin" / "tsx"
        script = REPO / "worker" / "scripts" / "corpus-model-inputs.ts"
        subprocess.run([str(tsx), str(script), str(CORPUS), str(SPLIT_FILE), str(SCOPE_FILE), tmp], check=True)
        entries = json.loads((Path(tmp) / "corpus-inputs.json").read_text())
        raw = np.frombuffer((Path(tmp) / "corpus-inputs.bin").read_bytes(), dtype=np.uint8)
    return entries, raw.reshape(-1, phantoms.SIZE, phantoms.SIZE).copy()


def augment_real(images, seed, variants):
    """Augmented views of real negatives: left-right flips, shifts up to 10 px, zoom 0.85-1.15 about the
    centre, contrast 0.8-1.2 and brightness -20..20 (nearest-neighbour resampling: numpy only)."""
    rng = np.random.default_rng(seed)
    size = phantoms.SIZE
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    out = []
    for img in images:
        for _ in range(variants):
            zoom = rng.uniform(0.85, 1.15)
            dy, dx = rng.uniform(-10, 10, size=2)
            sy = np.clip(np.rint((yy - size / 2 - dy) / zoom + size / 2), 0, size - 1).astype(int)
            sx = np.clip(np.rint((xx - size / 2 - dx) / zoom + size / 2), 0, size - 1).astype(int)
            v = img[sy, sx].astype(np.float64)
            if rng.uniform() < 0.5:
                v = v[:, ::-1]
            v = np.clip((v - 128) * rng.uniform(0.8, 1.2) + 128 + rng.uniform(-20, 20), 0, 255)
            out.append(np.rint(v).astype(np.uint8))
    return np.stack(out) if out else np.zeros((0, size, size), dtype=np.uint8)


def clopper_pearson(k, n, alpha=0.05):
    """Exact binomial interval for k events in n trials (bisection on the binomial tail; no scipy)."""
    from math import comb

    def tail_ge(p):  # P(X >= k)
        return sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))

    def tail_le(p):  # P(X <= k)
        return sum(comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(0, k + 1))

    def solve(f, target, increasing):
        lo, hi = 0.0, 1.0
        for _ in range(80):
            mid = (lo + hi) / 2
            if (f(mid) < target) == increasing:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    lower = 0.0 if k == 0 else solve(tail_ge, alpha / 2, True)
    upper = 1.0 if k == n else solve(tail_le, alpha / 2, False)
    return lower, upper


def study_scores(entries, scores, ood_ok, split):
    """Per in-scope real study (group) of a split: the highest score over its assessed images."""
    per = {}
    for e in entries:
        if e["split"] != split or not e.get("inScope") or e["image"] is None:
            continue
        per.setdefault(e["group"], [])
        if ood_ok[e["image"]]:
            per[e["group"]].append(float(scores[e["image"]]))
    return {g: (max(v) if v else None) for g, v in sorted(per.items())}


def write_eval_set(path, images, labels, kinds, lesions):
    """Little-endian: magic 'MEDEVAL1', uint32 n, height, width; uint8 labels[n], kinds[n];
    float32 lesions[n][3] (cy, cx, r in pixels, -1 for none); uint8 images[n][h][w]. Gzipped."""
    n, h, w = images.shape
    raw = b"MEDEVAL1" + struct.pack("<III", n, h, w) + labels.tobytes() + kinds.tobytes()
    raw += lesions.astype("<f4").tobytes() + images.tobytes()
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))


def dataset(seed, n):
    """phantoms.make_dataset, cached under $PHANTOM_CACHE when set (the data depend only on seed and n)."""
    cache = os.environ.get("PHANTOM_CACHE")
    path = Path(cache) / f"phantoms-{seed}-{n}.npz" if cache else None
    if path and path.exists():
        d = np.load(path)
        return d["images"], d["labels"], d["kinds"], d["lesions"]
    images, labels, kinds, lesions = phantoms.make_dataset(seed, n)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, images=images, labels=labels, kinds=kinds, lesions=lesions)
    return images, labels, kinds, lesions


def check_pinned():
    """Refuse to train with SIMD code that the pin above did not reach (another numpy or torch build)."""
    if os.environ.get(PIN_MARK) == "1":
        left = numpy_avx512()
        if left:
            sys.exit(f"train.py: numpy still dispatches {left}; the artifacts would not reproduce")
    if "CPU capability usage: AVX2" not in torch.__config__.show():
        sys.exit("train.py: torch does not run its AVX2 kernels; the artifacts would not reproduce")


def main():
    check_pinned()
    torch.set_num_threads(2)
    torch.manual_seed(TORCH_SEED)
    torch.use_deterministic_algorithms(True)
    t0 = time.time()
    xtr, ytr, ktr, ltr = dataset(TRAIN_SEED, N_TRAIN)
    xva, yva, kva, lva = dataset(VAL_SEED, N_VAL)
    xev, yev, kev, lev = dataset(EVAL_SEED, N_EVAL)
    entries, real = corpus_inputs()
    train_idx = [e["image"] for e in entries if e["split"] == "training" and e["image"] is not None]
    xreal = augment_real(real[train_idx], REAL_SEED, REAL_VARIANTS)
    n_phantom = len(xtr)
    xtr = np.concatenate([xtr, xreal])
    ytr = np.concatenate([ytr, np.zeros(len(xreal), dtype=ytr.dtype)])
    ltr = np.concatenate([ltr, np.full((len(xreal), 3), -1, dtype=ltr.dtype)])
    print(f"real negatives: {len(train_idx)} training-split corpus images x {REAL_VARIANTS} views", flush=True)
    data_hash = hashlib.sha256(xtr.tobytes() + ytr.tobytes() + xva.tobytes() + yva.tobytes()).hexdigest()
    print(f"data: {N_TRAIN} train, {N_VAL} val, {N_EVAL} eval in {time.time() - t0:.0f}s; "
          f"positives {ytr.mean():.2f}/{yva.mean():.2f}/{yev.mean():.2f}", flush=True)

    net = LesionNet()
    params = sum(p.numel() for p in net.parameters())
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, MAX_EPOCHS)
    bce = nn.BCEWithLogitsLoss()
    x_all = torch.from_numpy(xtr).float().unsqueeze(1) / 255.0
    y_all = torch.from_numpy(ytr).float()
    h_all = torch.from_numpy(heat_targets(ytr, ltr))
    xv = torch.from_numpy(xva).float().unsqueeze(1) / 255.0
    yv = torch.from_numpy(yva).float()
    gen = torch.Generator().manual_seed(TORCH_SEED)
    best, best_state, stale, epochs = float("inf"), None, 0, 0
    for epoch in range(MAX_EPOCHS):
        net.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for i in range(0, len(xtr), BATCH):
            idx = perm[i : i + BATCH]
            x, y, h = x_all[idx], y_all[idx], h_all[idx]
            if torch.rand(1, generator=gen).item() < 0.5:  # left-right flip, heat map target with it
                x, h = x.flip(3), h.flip(3)
            logit, heat = net(x)
            # Per-cell loss summed over the map (not averaged), so that where the maximum sits is learned:
            # averaged over 256 cells it would be too weak to stop the hottest cell drifting off the lesion.
            cell_loss = nn.functional.binary_cross_entropy_with_logits(heat, h, reduction="sum") / len(idx)
            loss = bce(logit[:, 0], y) + HEAT_WEIGHT * cell_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        sched.step()
        net.eval()
        with torch.no_grad():
            val_loss = float(bce(torch.cat([net(xv[j : j + 256])[0] for j in range(0, N_VAL, 256)])[:, 0], yv))
        epochs = epoch + 1
        print(f"epoch {epochs}: train {total / len(xtr):.4f} val {val_loss:.4f} ({time.time() - t0:.0f}s)", flush=True)
        if val_loss < best - 1e-4:
            best, stale = val_loss, 0
            best_state = {k: v.clone() for k, v in net.state_dict().items()}
        else:
            stale += 1
            if stale >= PATIENCE:
                break
    net.load_state_dict(best_state)

    sv, _ = predict(net, xva)
    threshold = choose_threshold(sv, yva, SENSITIVITY_TARGET)
    val_sens, val_spec = operating_point(sv, yva, threshold)
    # Out-of-distribution check, calibrated on the training data: Mahalanobis distance of the pooled features
    # (covariance shrunk towards its mean variance, so that it inverts well), divided by the square root of
    # the feature count; the limit is a high quantile of the training distances times a margin.
    ftr = embed(net, xtr)
    mu = ftr.mean(axis=0)
    cov = np.cov(ftr, rowvar=False)
    k = cov.shape[0]
    cov = (1 - OOD_SHRINK) * cov + OOD_SHRINK * np.trace(cov) / k * np.eye(k)
    precision = np.linalg.inv(cov)
    precision = (precision + precision.T) / 2

    def dist(f):
        d = f - mu
        return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", d, precision, d), 0) / k)

    ood_limit = float(np.quantile(dist(ftr), OOD_QUANTILE) * OOD_MARGIN)
    sr, _ = predict(net, real)
    real_ok = dist(embed(net, real)) <= ood_limit

    # Critical threshold: the lowest at which the in-scope real calibration studies' false alarm rate is at most
    # the target, never below the synthetic operating point; rounded up to 0.01.
    cal = study_scores(entries, sr, real_ok, "calibration")
    cal_scores = sorted((v for v in cal.values() if v is not None), reverse=True)
    allowed = int(np.floor(FALSE_ALARM_TARGET_PER_100 / 100 * len(cal)))
    floor_from_cal = cal_scores[allowed] if allowed < len(cal_scores) else 0.0
    critical = float(max(threshold, np.ceil((floor_from_cal + 1e-6) * 100) / 100))
    ev = study_scores(entries, sr, real_ok, "evaluation")
    alarms = sum(1 for v in ev.values() if v is not None and v >= critical)
    lo, hi = clopper_pearson(alarms, len(ev)) if ev else (0.0, 1.0)
    print(f"calibration studies {cal}, evaluation studies {ev}, critical threshold {critical}", flush=True)

    se, he = predict(net, xev)
    ev_sens, ev_spec = operating_point(se, yev, threshold)
    crit_sens, crit_spec = operating_point(se, yev, critical)
    hits = total_tp = 0
    for i in np.nonzero((se >= threshold) & (yev == 1))[0]:
        bx, by, bw, bh = hottest_box(he[i])
        cy, cx, _ = lev[i] / phantoms.SIZE
        total_tp += 1
        hits += bx <= cx <= bx + bw and by <= cy <= by + bh
    per_kind = {k: roc_auc(se[kev == j], yev[kev == j]) for j, k in enumerate(phantoms.KINDS)}
    metrics = {
        "rocAuc": round(roc_auc(se, yev), 4),
        "sensitivity": round(ev_sens, 4),
        "specificity": round(ev_spec, 4),
        "threshold": threshold,
        "positives": int(yev.sum()),
        "negatives": int((yev == 0).sum()),
        "rocAucByKind": {k: round(v, 4) for k, v in per_kind.items()},
        "localisationHitRate": round(hits / max(total_tp, 1), 4),
        "criticalThreshold": critical,
        "sensitivityAtCritical": round(crit_sens, 4),
        "specificityAtCritical": round(crit_spec, 4),
    }
    print("eval:", json.dumps(metrics), flush=True)

    ARTIFACTS.mkdir(exist_ok=True)
    onnx_path = ARTIFACTS / "model.onnx"
    torch.onnx.export(
        Exported(net).eval(), torch.zeros(1, 1, phantoms.SIZE, phantoms.SIZE), str(onnx_path),
        input_names=["image"], output_names=["score", "heatmap", "features"], opset_version=13,
        dynamic_axes={"image": {0: "batch"}, "score": {0: "batch"}, "heatmap": {0: "batch"},
                      "features": {0: "batch"}},
        do_constant_folding=True,
    )
    model = onnx.load(str(onnx_path))
    onnx.checker.check_model(model)
    model.producer_name, model.doc_string = "medimg-pipeline models/training/train.py", f"{MODEL_NAME} {MODEL_VERSION}"
    onnx.save(model, str(onnx_path))
    eval_path = ARTIFACTS / "eval-set.bin.gz"
    write_eval_set(eval_path, xev, yev, kev, lev)

    scope = json.loads(SCOPE_FILE.read_text())
    real_eval = {
        "falseAlarmsPer100Studies": {"value": round(100 * alarms / max(len(ev), 1), 2),
                                     "ci95": [round(100 * lo, 2), round(100 * hi, 2)], "studies": len(ev),
                                     "target": FALSE_ALARM_TARGET_PER_100},
        "syntheticSensitivity": round(crit_sens, 4),
    }
    corpus = {
        "split": "training/corpus-split.json",
        "files": {k: sum(1 for e in entries if e["split"] == k) for k in ("training", "calibration", "evaluation")},
        "inScopeStudies": {k: len(study_scores(entries, sr, real_ok, k)) for k in ("training", "calibration", "evaluation")},
        "trainingImages": len(train_idx), "trainingViews": len(xreal),
        "calibrationStudyMax": {g: (None if v is None else round(v, 6)) for g, v in cal.items()},
        "evaluationStudyMax": {g: (None if v is None else round(v, 6)) for g, v in ev.items()},
        "outOfDistribution": int((~real_ok).sum()),
    }
    card = {
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "labels": [LABEL],
        "file": "model.onnx",
        "sha256": hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
        "input": {"name": "image", "shape": [-1, 1, phantoms.SIZE, phantoms.SIZE], "dtype": "float32",
                  "encoding": "8-bit greyscale PNG, windowed, fit: contain on black", "scale": "pixel / 255"},
        "outputs": {"score": {"shape": [-1, 1], "meaning": "probability of suspicious_lesion"},
                    "heatmap": {"shape": [-1, 1, GRID, GRID], "meaning": "lesion logits per 8x8 cell",
                                "boxRule": "cells connected to the hottest whose logit is within 1.0 of it"}},
        "threshold": {"recommended": round(threshold, 6), "rule": f"highest with validation sensitivity >= {SENSITIVITY_TARGET}",
                      "validationSensitivity": round(val_sens, 4), "validationSpecificity": round(val_spec, 4)},
        "reportingFloor": min(0.5, float(np.floor(threshold * 100) / 100)),
        "kind": "reference",
        "intendedUse": scope["intendedUse"],
        "scope": {"rules": scope["rules"]},
        "criticalThresholds": {LABEL: critical},
        "performance": real_eval,
        "ood": {"output": "features", "mean": [float(f"{v:.8g}") for v in mu],
                "precision": [[float(f"{v:.8g}") for v in row] for row in precision],
                "limit": round(ood_limit, 6),
                "rule": f"sqrt(Mahalanobis^2 / {k}) of the pooled features, covariance shrunk {OOD_SHRINK} towards its "
                        f"mean variance; limit = training quantile {OOD_QUANTILE} x {OOD_MARGIN}"},
        "corpus": corpus,
        "training": {"seeds": {"train": TRAIN_SEED, "validation": VAL_SEED, "torch": TORCH_SEED},
                     "images": {"train": n_phantom, "realTrain": len(xreal), "validation": N_VAL}, "epochs": epochs, "parameters": params,
                     "dataSha256": data_hash, "torch": torch.__version__, "onnxOpset": 13},
        "evaluation": {"file": "eval-set.bin.gz", "seed": EVAL_SEED, "images": N_EVAL,
                       "sha256": hashlib.sha256(eval_path.read_bytes()).hexdigest(), "metrics": metrics},
    }
    (ARTIFACTS / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    update_card(card)
    print(f"done in {time.time() - t0:.0f}s: {params} parameters, threshold {threshold:.4f}, "
          f"onnx {onnx_path.stat().st_size} B, eval set {eval_path.stat().st_size} B", flush=True)


def update_card(card):
    """Rewrite the measured-metrics table in MODEL_CARD.md between its markers."""
    m, t, p = card["evaluation"]["metrics"], card["threshold"], card["performance"]
    rows = [
        "| metric (held-out synthetic set, seed %d, %d images) | value |" % (EVAL_SEED, N_EVAL),
        "| --- | --- |",
        f"| ROC AUC | {m['rocAuc']:.4f} |",
        f"| sensitivity at threshold {t['recommended']:.4f} | {m['sensitivity']:.4f} |",
        f"| specificity at threshold {t['recommended']:.4f} | {m['specificity']:.4f} |",
        *[f"| ROC AUC, {k} only | {v:.4f} |" for k, v in m["rocAucByKind"].items()],
        f"| true positives whose box contains the lesion centre | {m['localisationHitRate']:.4f} |",
        f"| positives / negatives | {m['positives']} / {m['negatives']} |",
        f"| validation sensitivity / specificity at the threshold | {t['validationSensitivity']:.4f} / "
        f"{t['validationSpecificity']:.4f} |",
        f"| **critical threshold** (calibration split, target <= {p['falseAlarmsPer100Studies']['target']:g} "
        f"false alarms per 100 in-scope real studies) | {m['criticalThreshold']:.2f} |",
        f"| sensitivity / specificity on synthetic lesions at the critical threshold | "
        f"{m['sensitivityAtCritical']:.4f} / {m['specificityAtCritical']:.4f} |",
        f"| false alarms per 100 in-scope real studies (evaluation split, {p['falseAlarmsPer100Studies']['studies']} "
        f"studies), 95 % CI | {p['falseAlarmsPer100Studies']['value']:g} "
        f"[{p['falseAlarmsPer100Studies']['ci95'][0]:g}, {p['falseAlarmsPer100Studies']['ci95'][1]:g}] |",
    ]
    if not CARD.exists() or ARTIFACTS != ROOT / "artifacts":
        return
    text = CARD.read_text()
    start, end = "<!-- metrics:start -->", "<!-- metrics:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        CARD.write_text(head + start + "\n" + "\n".join(rows) + "\n" + end + rest.split(end, 1)[1])


if __name__ == "__main__":
    main()
