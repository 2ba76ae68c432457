#!/usr/bin/python3
"""The bench's Python reference: what a plain script with pydicom + numpy + Pillow (Debian's
python3 packages) does for each file of a folder, in one process: read, blank a few identifying
fields, write the DICOM, window the first frame to 8 bits, write one PNG.

    pydicom_bench.py <input-folder> <output-folder>

Prints one JSON line: {"files": n, "ok": n, "failed": n, "errors": {...}}.
"""
import json
import os
import sys

import numpy as np
import pydicom
from PIL import Image

BLANK = ["PatientName", "PatientID", "PatientBirthDate", "ReferringPhysicianName",
         "InstitutionName", "AccessionNumber", "OperatorsName", "StationName"]


def first(v, default):
    if v is None:
        return default
    try:
        return float(v[0])
    except TypeError:
        return float(v)


def main(src, dst):
    os.makedirs(dst, exist_ok=True)
    files = sorted(f for f in os.listdir(src) if f.endswith(".dcm"))
    ok = 0
    errors = {}
    for name in files:
        try:
            ds = pydicom.dcmread(os.path.join(src, name))
            for kw in BLANK:
                if kw in ds:
                    setattr(ds, kw, "")
            ds.save_as(os.path.join(dst, name))
            px = ds.pixel_array
            if px.ndim == 3:
                px = px[0]
            px = px.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
            center = first(ds.get("WindowCenter"), float(px.mean()))
            width = max(1.0, first(ds.get("WindowWidth"), float(px.max() - px.min())))
            out = np.clip((px - (center - width / 2)) / width * 255.0, 0, 255).astype(np.uint8)
            Image.fromarray(out).save(os.path.join(dst, name[:-4] + ".png"))
            ok += 1
        except Exception as e:  # noqa: BLE001 - a reference script: count and go on
            key = type(e).__name__
            errors[key] = errors.get(key, 0) + 1
    print(json.dumps({"files": len(files), "ok": ok, "failed": len(files) - ok, "errors": errors}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
