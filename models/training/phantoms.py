"""Synthetic phantoms for the reference model: chest CT slices (lung window), chest radiographs (PA,
MONOCHROME2) and head MR slices, with and without a synthetic round lesion.

Every image is produced the way the worker renders a real one: windowed to 8 bit, then fitted into the
128x128 model input with its aspect ratio kept (`fit: contain`) on black. All randomness comes from the
numpy Generator handed in, so a seed fixes the data set bit for bit.

The images are synthetic shapes, not anatomy: they exist to exercise the pipeline, nothing more.
"""

from __future__ import annotations

import numpy as np

SIZE = 128
KINDS = ("ct_chest", "cr_chest", "mr_head")
# A nodule cross-section smaller than this radius (pixels at 128) is labelled negative.
MIN_LESION_RADIUS = 2.0

_YY, _XX = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)


def _ellipse(cy, cx, ry, rx, theta=0.0, soft=1.0):
    """Coverage in [0, 1] of a rotated ellipse over the whole image, with an anti-aliased edge."""
    c, s = np.cos(theta), np.sin(theta)
    dy, dx = _YY - cy, _XX - cx
    u = (dx * c + dy * s) / rx
    v = (-dx * s + dy * c) / ry
    d = np.sqrt(u * u + v * v)
    return np.clip(0.5 - (d - 1.0) * min(rx, ry) / soft, 0.0, 1.0).astype(np.float32)


def _stamp_disk(img, cy, cx, r, value, soft=1.0, profile="flat"):
    """Blend a disk of `value` into img in place, working on its bounding box only."""
    y0, y1 = max(int(cy - r - 3), 0), min(int(cy + r + 4), SIZE)
    x0, x1 = max(int(cx - r - 3), 0), min(int(cx + r + 4), SIZE)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = _YY[y0:y1, x0:x1], _XX[y0:y1, x0:x1]
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    a = np.clip(0.5 - (d - r) / soft, 0.0, 1.0)
    if profile == "dome":  # denser in the middle, as a sphere seen in projection
        a = a * np.sqrt(np.clip(1.0 - (d / max(r, 0.5)) ** 2, 0.0, 1.0)) ** 0.5
    patch = img[y0:y1, x0:x1]
    patch += a * (value - patch)


def _stamp_line(img, y0, x0, y1, x1, width, value):
    """Blend a short anti-aliased segment (a vessel) into img in place."""
    ya, yb = max(int(min(y0, y1) - width - 2), 0), min(int(max(y0, y1) + width + 3), SIZE)
    xa, xb = max(int(min(x0, x1) - width - 2), 0), min(int(max(x0, x1) + width + 3), SIZE)
    if ya >= yb or xa >= xb:
        return
    yy, xx = _YY[ya:yb, xa:xb], _XX[ya:yb, xa:xb]
    vy, vx = y1 - y0, x1 - x0
    length2 = max(vy * vy + vx * vx, 1e-6)
    t = np.clip(((yy - y0) * vy + (xx - x0) * vx) / length2, 0.0, 1.0)
    d = np.sqrt((yy - (y0 + t * vy)) ** 2 + (xx - (x0 + t * vx)) ** 2)
    a = np.clip(0.5 - (d - width / 2) / 0.8, 0.0, 1.0)
    patch = img[ya:yb, xa:xb]
    patch += a * (value - patch)


def _blur(img, sigma):
    """Separable Gaussian blur with edge padding, as a sum of shifted copies (fast for small kernels)."""
    if sigma < 0.2:
        return img
    radius = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    k = (k / k.sum()).astype(np.float32)
    p = np.pad(img.astype(np.float32), radius, mode="edge")
    rows = sum(k[i] * p[:, i : i + SIZE] for i in range(2 * radius + 1))
    return sum(k[i] * rows[i : i + SIZE, :] for i in range(2 * radius + 1)).astype(np.float32)


def _smooth_noise(rng, sigma_px, amplitude):
    """Low-frequency texture: white noise blurred, scaled to roughly unit std times amplitude."""
    n = _blur(rng.standard_normal((SIZE, SIZE)).astype(np.float32), sigma_px)
    return n / (n.std() + 1e-6) * amplitude


def _point_in_ellipse(rng, cy, cx, ry, rx, theta, margin):
    """A random point inside the ellipse, at least `margin` pixels from its edge where possible."""
    for _ in range(50):
        rr = np.sqrt(rng.uniform(0, 1))
        a = rng.uniform(0, 2 * np.pi)
        sy = max(ry - margin, 1.0)
        sx = max(rx - margin, 1.0)
        u, v = rr * sx * np.cos(a), rr * sy * np.sin(a)
        c, s = np.cos(theta), np.sin(theta)
        x, y = cx + u * c - v * s, cy + u * s + v * c
        if 2 <= x < SIZE - 2 and 2 <= y < SIZE - 2:
            return float(y), float(x)
    return float(cy), float(cx)


# ---------------------------------------------------------------------------------------------------------
# CT chest, axial slice, lung window


def _ct_chest(rng, lesion):
    hu = np.full((SIZE, SIZE), -1000.0, dtype=np.float32)
    cy, cx = 64 + rng.uniform(-6, 6), 64 + rng.uniform(-6, 6)
    brx, bry = rng.uniform(46, 60), rng.uniform(32, 46)
    th = rng.uniform(-0.12, 0.12)
    body = _ellipse(cy, cx, bry, brx, th)
    hu += body * (-100.0 + 1000.0)  # fat rim
    inner = _ellipse(cy, cx, bry * rng.uniform(0.86, 0.93), brx * rng.uniform(0.88, 0.94), th)
    hu += inner * (rng.uniform(30, 50) + 100.0)
    hu += _smooth_noise(rng, 2.0, 8.0) * inner

    lungs = []
    lrx, lry = brx * rng.uniform(0.28, 0.36), bry * rng.uniform(0.55, 0.72)
    for side in (-1, 1):
        ly = cy - bry * rng.uniform(0.0, 0.12)
        lx = cx + side * brx * rng.uniform(0.40, 0.50)
        rx, ry = lrx * rng.uniform(0.9, 1.1), lry * rng.uniform(0.9, 1.1)
        lt = th + side * rng.uniform(0.0, 0.3)
        m = _ellipse(ly, lx, ry, rx, lt, soft=1.5)
        lung_hu = rng.uniform(-880, -820) + _smooth_noise(rng, 3.0, 25.0)
        hu = hu * (1 - m) + lung_hu * m
        lungs.append((ly, lx, ry, rx, lt))

    # Heart/mediastinum between the lungs (soft tissue), vertebral body behind, ribs on the outline.
    _stamp_disk(hu, cy + bry * 0.15, cx + rng.uniform(-4, 4), bry * rng.uniform(0.25, 0.35), 40.0, 1.5)
    vy, vr = cy + bry * rng.uniform(0.62, 0.72), rng.uniform(5, 8)
    _stamp_disk(hu, vy, cx, vr, rng.uniform(600, 800))
    _stamp_disk(hu, vy, cx, vr * 0.6, rng.uniform(250, 400))
    for _ in range(rng.integers(6, 13)):
        a = rng.uniform(0, 2 * np.pi)
        k = rng.uniform(0.86, 0.95)
        ry_, rx_ = bry * k, brx * k
        _stamp_disk(
            hu,
            cy + ry_ * np.sin(a),
            cx + rx_ * np.cos(a),
            rng.uniform(1.5, 3.0),
            rng.uniform(400, 900),
        )

    # Vessels: small bright dots and short lines in the lungs (negatives must not fire on them).
    for ly, lx, ry, rx, lt in lungs:
        for _ in range(rng.integers(4, 22)):
            py, px = _point_in_ellipse(rng, ly, lx, ry, rx, lt, 2)
            value = rng.uniform(-150, 40)
            if rng.uniform() < 0.5:
                _stamp_disk(hu, py, px, rng.uniform(0.6, 1.5), value)
            else:
                a, length = rng.uniform(0, 2 * np.pi), rng.uniform(4, 12)
                _stamp_line(hu, py, px, py + length * np.sin(a), px + length * np.cos(a),
                            rng.uniform(0.8, 1.8), value)

    info = None
    if lesion is not None:
        ly, lx, ry, rx, lt = lungs[rng.integers(0, 2)]
        r = lesion
        py, px = _point_in_ellipse(rng, ly, lx, ry, rx, lt, r + 1)
        # Partial volume: a small cross-section (edge of the sphere) is fainter.
        value = rng.uniform(20, 40) if r >= 3 else rng.uniform(-250, 20)
        _stamp_disk(hu, py, px, r, value, soft=rng.uniform(0.8, 1.5))
        info = (py, px, r)

    hu += rng.normal(0, rng.uniform(8, 35), hu.shape).astype(np.float32)
    hu = _blur(hu, rng.uniform(0.0, 0.9))
    centre, width = -600 + rng.uniform(-60, 60), 1500 * rng.uniform(0.9, 1.1)
    img = (hu - (centre - width / 2)) / width
    return np.clip(img, 0, 1), info


# ---------------------------------------------------------------------------------------------------------
# Chest radiograph, PA, MONOCHROME2 (bright = dense)


def _cr_chest(rng, lesion):
    img = np.full((SIZE, SIZE), rng.uniform(0.02, 0.10), dtype=np.float32)
    cy, cx = 66 + rng.uniform(-5, 5), 64 + rng.uniform(-5, 5)
    bry, brx = rng.uniform(52, 64), rng.uniform(44, 56)
    body = _ellipse(cy, cx, bry, brx, rng.uniform(-0.05, 0.05), soft=3.0)
    img += body * (rng.uniform(0.55, 0.75) - img)
    lung_level = rng.uniform(0.22, 0.38)
    lungs = []
    for side in (-1, 1):
        ly = cy - bry * rng.uniform(0.05, 0.15)
        lx = cx + side * brx * rng.uniform(0.40, 0.50)
        ry, rx = bry * rng.uniform(0.62, 0.78), brx * rng.uniform(0.30, 0.38)
        lt = side * rng.uniform(0.0, 0.15)
        m = _ellipse(ly, lx, ry, rx, lt, soft=3.0)
        img += m * (lung_level + _smooth_noise(rng, 4.0, 0.02) - img)
        lungs.append((ly, lx, ry, rx, lt))
    # Mediastinum and spine: a bright vertical band; heart: a bright blob low and to the patient's left.
    band = np.clip(1 - np.abs(_XX - cx) / rng.uniform(7, 11), 0, 1) * _ellipse(cy, cx, bry, brx)
    img += band * (rng.uniform(0.72, 0.85) - img)
    _stamp_disk(img, cy + bry * 0.3, cx + rng.uniform(5, 14), rng.uniform(14, 20), rng.uniform(0.62, 0.78), 3.0)
    # Ribs: faint bright arcs over the lung fields; vessels: faint lines from the hila.
    ribs = np.zeros_like(img)
    lung_mask = np.zeros_like(img)
    for ly, lx, ry, rx, lt in lungs:
        lung_mask = np.maximum(lung_mask, _ellipse(ly, lx, ry, rx, lt, soft=3.0))
        for k in range(rng.integers(5, 8)):
            y = ly - ry * 0.9 + k * ry * rng.uniform(0.26, 0.32)
            _stamp_line(ribs, y, lx - rx * 1.1, y + rng.uniform(4, 9), lx + rx * 1.1, rng.uniform(1.5, 2.5), 1.0)
    img += ribs * lung_mask * rng.uniform(0.04, 0.09)
    for ly, lx, ry, rx, lt in lungs:
        for _ in range(rng.integers(4, 12)):
            a, length = rng.uniform(0, 2 * np.pi), rng.uniform(5, 14)
            hy, hx = ly + rng.uniform(-4, 4), lx + (cx - lx) * 0.5
            _stamp_line(img, hy, hx, hy + length * np.sin(a), hx + length * np.cos(a), rng.uniform(0.8, 1.6),
                        lung_level + rng.uniform(0.03, 0.08))
            if rng.uniform() < 0.4:
                py, px = _point_in_ellipse(rng, ly, lx, ry, rx, lt, 2)
                _stamp_disk(img, py, px, rng.uniform(0.8, 1.8), lung_level + rng.uniform(0.04, 0.1))

    info = None
    if lesion is not None:
        ly, lx, ry, rx, lt = lungs[rng.integers(0, 2)]
        r = lesion
        py, px = _point_in_ellipse(rng, ly, lx, ry, rx, lt, r + 1)
        _stamp_disk(img, py, px, r, lung_level + rng.uniform(0.14, 0.32), soft=rng.uniform(1.0, 2.5),
                    profile="dome")
        info = (py, px, r)

    img = _blur(img, rng.uniform(0.4, 1.4))
    img += rng.normal(0, rng.uniform(0.008, 0.035), img.shape).astype(np.float32)
    return np.clip(img, 0, 1), info


# ---------------------------------------------------------------------------------------------------------
# Head MR, axial slice


def _mr_head(rng, lesion):
    img = np.zeros((SIZE, SIZE), dtype=np.float32)
    cy, cx = 64 + rng.uniform(-5, 5), 64 + rng.uniform(-5, 5)
    ry, rx = rng.uniform(48, 58), rng.uniform(38, 48)
    th = rng.uniform(-0.15, 0.15)
    scalp = rng.uniform(0.75, 1.0)
    img += _ellipse(cy, cx, ry, rx, th) * scalp
    t1 = rng.uniform(3, 6)
    bone = _ellipse(cy, cx, ry - t1, rx - t1, th)
    img += bone * (rng.uniform(0.03, 0.12) - img)
    t2 = t1 + rng.uniform(1.5, 3.0)
    brain_r = (ry - t2, rx - t2)
    brain = _ellipse(cy, cx, brain_r[0], brain_r[1], th)
    grey = rng.uniform(0.42, 0.6)
    img += brain * (grey + _smooth_noise(rng, 2.5, 0.04) - img)
    # Ventricles: two darker ellipses either side of the midline; sulci: short dark lines at the edge.
    vr = rng.uniform(0.7, 1.3)
    for side in (-1, 1):
        _stamp_disk(img, cy + rng.uniform(-6, 2), cx + side * rng.uniform(4, 7), 4.5 * vr, rng.uniform(0.1, 0.25))
    for _ in range(rng.integers(6, 14)):
        a = rng.uniform(0, 2 * np.pi)
        y0, x0 = cy + brain_r[0] * 0.95 * np.sin(a), cx + brain_r[1] * 0.95 * np.cos(a)
        y1, x1 = cy + brain_r[0] * 0.75 * np.sin(a), cx + brain_r[1] * 0.75 * np.cos(a)
        _stamp_line(img, y0, x0, y1, x1, rng.uniform(0.8, 1.5), grey * 0.5)
    # Flow voids / small bright vessels that are not lesions.
    for _ in range(rng.integers(0, 6)):
        py, px = _point_in_ellipse(rng, cy, cx, brain_r[0], brain_r[1], th, 4)
        _stamp_disk(img, py, px, rng.uniform(0.6, 1.4), rng.uniform(0.7, 0.95))

    info = None
    if lesion is not None:
        r = lesion
        py, px = _point_in_ellipse(rng, cy, cx, brain_r[0], brain_r[1], th, r + 3)
        _stamp_disk(img, py, px, r, rng.uniform(0.78, 1.0), soft=rng.uniform(0.8, 2.0))
        info = (py, px, r)

    img = _blur(img, rng.uniform(0.3, 1.2))
    noise = rng.uniform(0.01, 0.04)
    img = np.sqrt((img + rng.normal(0, noise, img.shape)) ** 2 + rng.normal(0, noise, img.shape) ** 2)
    return np.clip(img.astype(np.float32), 0, 1), info


_GENERATORS = {"ct_chest": _ct_chest, "cr_chest": _cr_chest, "mr_head": _mr_head}
_LESION_RADIUS = {"ct_chest": (3.0, 10.0), "cr_chest": (4.0, 12.0), "mr_head": (3.0, 10.0)}


def _fit_contain(img, info, h, w):
    """Squeeze the square image into h x w (bilinear) centred on black: the worker's `fit: contain`."""
    if h == SIZE and w == SIZE:
        return img, info
    ys = (np.arange(h) + 0.5) * SIZE / h - 0.5
    xs = (np.arange(w) + 0.5) * SIZE / w - 0.5
    y0 = np.clip(np.floor(ys).astype(int), 0, SIZE - 1)
    x0 = np.clip(np.floor(xs).astype(int), 0, SIZE - 1)
    y1, x1 = np.clip(y0 + 1, 0, SIZE - 1), np.clip(x0 + 1, 0, SIZE - 1)
    fy = np.clip(ys - y0, 0, 1)[:, None]
    fx = np.clip(xs - x0, 0, 1)[None, :]
    small = (img[y0][:, x0] * (1 - fy) * (1 - fx) + img[y0][:, x1] * (1 - fy) * fx
             + img[y1][:, x0] * fy * (1 - fx) + img[y1][:, x1] * fy * fx)
    out = np.zeros((SIZE, SIZE), dtype=np.float32)
    oy, ox = (SIZE - h) // 2, (SIZE - w) // 2
    out[oy:oy + h, ox:ox + w] = small
    if info is not None:
        py, px, r = info
        info = (oy + (py + 0.5) * h / SIZE - 0.5, ox + (px + 0.5) * w / SIZE - 0.5, r * min(h, w) / SIZE)
    return out, info


def make_image(rng, kind, positive):
    """One 128x128 uint8 image. Returns (image, label, (cy, cx, r) of the lesion or None)."""
    lesion = None
    if positive:
        lo, hi = _LESION_RADIUS[kind]
        lesion = rng.uniform(lo, hi)
        if kind == "ct_chest" and rng.uniform() < 0.2:
            lesion = rng.uniform(MIN_LESION_RADIUS, 3.0)  # edge of a sphere: a small cross-section
    elif kind == "ct_chest" and rng.uniform() < 0.1:
        lesion = rng.uniform(0.8, 1.5)  # a sliver of nodule below the size that counts

    img, info = _GENERATORS[kind](rng, lesion)
    # Display jitter: contrast, brightness and gamma, as different windows and devices give.
    img = np.clip((img - 0.5) * rng.uniform(0.85, 1.15) + 0.5 + rng.uniform(-0.05, 0.05), 0, 1) ** rng.uniform(
        0.8, 1.25
    )
    # Non-square sources letterboxed on black (portrait radiographs, cropped slices).
    if rng.uniform() < 0.35:
        short = int(rng.integers(88, SIZE))
        h, w = (SIZE, short) if (kind == "cr_chest" or rng.uniform() < 0.5) else (short, SIZE)
        img, info = _fit_contain(img, info, h, w)
    # Positive only when a lesion was drawn to count and is still >= MIN_LESION_RADIUS after the resize.
    label = int(positive and info is not None and info[2] >= MIN_LESION_RADIUS)
    out = np.clip(np.round(img * 255), 0, 255).astype(np.uint8)
    return out, label, info if label else None


def make_dataset(seed, n):
    """n images, balanced labels and kinds. Returns images uint8 [n,128,128], labels uint8 [n],
    kinds uint8 [n] (index into KINDS), lesions float32 [n,3] (cy, cx, r; -1 for negatives)."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, SIZE, SIZE), dtype=np.uint8)
    labels = np.zeros(n, dtype=np.uint8)
    kinds = np.zeros(n, dtype=np.uint8)
    lesions = np.full((n, 3), -1.0, dtype=np.float32)
    for i in range(n):
        k = i % len(KINDS)
        positive = (i // len(KINDS)) % 2 == 0
        img, label, info = make_image(rng, KINDS[k], positive)
        images[i], labels[i], kinds[i] = img, label, k
        if info is not None:
            lesions[i] = info
    return images, labels, kinds, lesions
