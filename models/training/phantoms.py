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


def _ellipse_norm(cy, cx, ry, rx, theta=0.0):
    """Squared normalised radius of a rotated ellipse over the whole image: < 1 inside, 1 on its edge."""
    c, s = np.cos(theta), np.sin(theta)
    dy, dx = _YY - cy, _XX - cx
    u = (dx * c + dy * s) / rx
    v = (-dx * s + dy * c) / ry
    return (u * u + v * v).astype(np.float32)


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
    brx = rng.uniform(44, 60)
    bry = brx * rng.uniform(0.6, 0.82)
    th = rng.uniform(-0.12, 0.12)
    body = _ellipse(cy, cx, bry, brx, th)
    hu += body * (rng.uniform(-120, -80) + 1000.0)  # fat rim
    rim = rng.uniform(2.0, 5.5)
    inner = _ellipse(cy, cx, bry - rim, brx - rim, th)
    hu += inner * (rng.uniform(30, 50) - hu)
    hu += _smooth_noise(rng, 2.0, 8.0) * inner

    # Lungs: full size mid chest, smaller towards the apex and the base (the slice position varies).
    scale = 1.0 if rng.uniform() < 0.6 else rng.uniform(0.55, 1.0)
    lungs = []
    lrx, lry = brx * rng.uniform(0.27, 0.36) * scale, bry * rng.uniform(0.55, 0.72) * scale
    for side in (-1, 1):
        ly = cy - bry * rng.uniform(0.0, 0.12)
        lx = cx + side * brx * rng.uniform(0.40, 0.50)
        rx, ry = lrx * rng.uniform(0.9, 1.1), lry * rng.uniform(0.9, 1.1)
        lt = th + side * rng.uniform(-0.1, 0.3)
        m = _ellipse(ly, lx, ry, rx, lt, soft=rng.uniform(0.8, 1.8))
        lung_hu = rng.uniform(-880, -820) + _smooth_noise(rng, 3.0, rng.uniform(0, 25))
        hu = hu * (1 - m) + lung_hu * m
        lungs.append((ly, lx, ry, rx, lt))

    # Heart/mediastinum between the lungs (soft tissue, cutting into their inner edges): a disk low in the
    # chest or an upright ellipse in front of the spine.
    if rng.uniform() < 0.5:
        _stamp_disk(hu, cy + bry * 0.15, cx + rng.uniform(-4, 4), bry * rng.uniform(0.25, 0.35), 40.0, 1.5)
    else:
        heart = _ellipse(cy - bry * rng.uniform(0.05, 0.3), cx + rng.uniform(-1, 6), bry * rng.uniform(0.3, 0.45),
                         brx * rng.uniform(0.2, 0.27), rng.uniform(-0.2, 0.2))
        hu += heart * (rng.uniform(30, 50) - hu)
    # Vertebral body behind, with marrow inside or the spinal canal behind it.
    vy = cy + bry * rng.uniform(0.6, 0.75)
    vrx, vry = rng.uniform(4.5, 7.5), rng.uniform(4.0, 6.5)
    hu += _ellipse(vy, cx, vry, vrx) * (rng.uniform(600, 800) - hu)
    if rng.uniform() < 0.5:
        _stamp_disk(hu, vy, cx, min(vrx, vry) * 0.6, rng.uniform(250, 400))
    else:
        _stamp_disk(hu, vy + vry + rng.uniform(1.0, 3.0), cx, rng.uniform(1.8, 2.8), rng.uniform(0, 40))
    # Ribs near the outline: solid, or a cortical rim round marrow; some touch the lung edge.
    for _ in range(rng.integers(6, 13)):
        a = rng.uniform(0, 2 * np.pi)
        k = rng.uniform(0.80, 0.95)
        py, px, r = cy + bry * k * np.sin(a), cx + brx * k * np.cos(a), rng.uniform(1.5, 2.6)
        _stamp_disk(hu, py, px, r, rng.uniform(600, 950))
        if rng.uniform() < 0.5:
            _stamp_disk(hu, py, px, r * 0.55, rng.uniform(200, 350))

    # Vessels: small bright dots and short lines in the lungs, some slices have none (negatives must not fire
    # on them); fissures: long faint lines; bronchi: small dark rings with a bright wall.
    vessels = 0 if rng.uniform() < 0.25 else rng.integers(4, 22)
    for li, (ly, lx, ry, rx, lt) in enumerate(lungs):
        for _ in range(vessels):
            py, px = _point_in_ellipse(rng, ly, lx, ry, rx, lt, 2)
            value = rng.uniform(-150, 40)
            if rng.uniform() < 0.5:
                _stamp_disk(hu, py, px, rng.uniform(0.6, 1.5), value)
            else:
                a, length = rng.uniform(0, 2 * np.pi), rng.uniform(4, 14)
                _stamp_line(hu, py, px, py + length * np.sin(a), px + length * np.cos(a),
                            rng.uniform(0.8, 2.0), value)
        if rng.uniform() < 0.3:
            py, px = _point_in_ellipse(rng, ly, lx, ry, rx, lt, 3)
            a, length = rng.uniform(0, 2 * np.pi), rng.uniform(12, 30)
            _stamp_line(hu, py, px, py + length * np.sin(a), px + length * np.cos(a), rng.uniform(0.5, 1.0),
                        rng.uniform(-650, -350))
        if rng.uniform() < 0.3:
            for _ in range(rng.integers(1, 4)):
                py, px = _point_in_ellipse(rng, ly, lx, ry, rx, lt, 3)
                rb = rng.uniform(1.2, 2.2)
                _stamp_disk(hu, py, px, rb, rng.uniform(-200, 0))
                _stamp_disk(hu, py, px, rb * 0.55, -1000.0)

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
    if rng.uniform() < 0.6:
        hu = _blur(hu, rng.uniform(0.0, 0.9))
    # The lung window: exactly C -600 / W 1500 (what scanners write first), or jittered around it.
    centre, width = (-600.0, 1500.0) if rng.uniform() < 0.4 else (-600 + rng.uniform(-60, 60),
                                                                  1500 * rng.uniform(0.9, 1.1))
    img = (hu - (centre - width / 2)) / width
    return np.clip(img, 0, 1), info


# ---------------------------------------------------------------------------------------------------------
# Chest radiograph, PA, MONOCHROME2 (bright = dense)


def _cr_chest(rng, lesion):
    img = np.full((SIZE, SIZE), rng.uniform(0.0, 0.10), dtype=np.float32)
    cy, cx = 66 + rng.uniform(-5, 5), 64 + rng.uniform(-5, 5)
    bry, brx = rng.uniform(52, 64), rng.uniform(44, 56)
    if rng.uniform() < 0.5:  # rounded body outline
        body = _ellipse(cy, cx, bry, brx, rng.uniform(-0.05, 0.05), soft=3.0)
        img += body * (rng.uniform(0.55, 0.75) - img)
    else:  # torso widening towards the abdomen, shoulders at the top, darker at its sides
        half = brx * rng.uniform(0.8, 0.95) + (_YY - cy) * rng.uniform(0.0, 0.25)
        inside = np.clip((half - np.abs(_XX - cx)) / 1.0, 0, 1) * np.clip((_YY - (cy - bry)) / 1.0, 0, 1)
        ramp = np.clip((half - np.abs(_XX - cx)) / rng.uniform(4, 12), 0, 1)
        lo, hi = rng.uniform(0.3, 0.5), rng.uniform(0.55, 0.75)
        img += inside * (lo + (hi - lo) * ramp - img)
    lung_level = rng.uniform(0.18, 0.38)
    edge_gain = rng.uniform(0.0, 0.2)  # lungs denser towards their edges
    lungs = []
    lung_mask = np.zeros_like(img)
    for side in (-1, 1):
        ly = cy - bry * rng.uniform(0.05, 0.2)
        lx = cx + side * brx * rng.uniform(0.40, 0.50)
        ry, rx = bry * rng.uniform(0.62, 0.8), brx * rng.uniform(0.28, 0.38)
        lt = side * rng.uniform(0.0, 0.15)
        m = _ellipse(ly, lx, ry, rx, lt, soft=rng.uniform(1.0, 3.0))
        depth = np.clip(_ellipse_norm(ly, lx, ry, rx, lt), 0, 1)
        img += m * (lung_level + edge_gain * depth ** 3 + _smooth_noise(rng, 4.0, 0.02) - img)
        lung_mask = np.maximum(lung_mask, m)
        lungs.append((ly, lx, ry, rx, lt))
    # Ribs over the lung fields: straight-ish lines, or curved bands (posterior ribs) of varied spacing.
    rib_gain = rng.uniform(0.03, 0.1)
    if rng.uniform() < 0.5:
        ribs = np.zeros_like(img)
        for ly, lx, ry, rx, lt in lungs:
            for k in range(rng.integers(5, 8)):
                y = ly - ry * 0.9 + k * ry * rng.uniform(0.26, 0.32)
                _stamp_line(ribs, y, lx - rx * 1.1, y + rng.uniform(4, 9), lx + rx * 1.1, rng.uniform(1.5, 2.5), 1.0)
    else:
        period, bend, cut = rng.uniform(5.5, 9.0), rng.uniform(0.08, 0.3), rng.uniform(0.4, 0.85)
        wave = np.sin(((_YY - cy) + bend * np.abs(_XX - cx) ** 1.15) / period * np.pi + rng.uniform(0, 2 * np.pi))
        ribs = np.clip((wave - cut) / rng.uniform(0.02, 0.3), 0, 1)
    img += ribs * lung_mask * rib_gain
    # Mediastinum and spine: a bright vertical band (tapered or flat-topped); heart: a bright blob low and to
    # the patient's left; diaphragm and abdomen: bright below a line under the lungs.
    if rng.uniform() < 0.5:
        band = np.clip(1 - np.abs(_XX - cx) / rng.uniform(7, 11), 0, 1)
    else:
        band = np.clip((rng.uniform(5, 9) - np.abs(_XX - cx - rng.uniform(-1, 2))) / 0.8, 0, 1)
    band = band * (_YY > cy - bry)
    img += band * (rng.uniform(0.68, 0.85) - img)
    if rng.uniform() < 0.6:
        spine = np.clip((rng.uniform(3, 5) - np.abs(_XX - cx)) / 0.8, 0, 1) * (_YY > cy - bry)
        img += spine * (rng.uniform(0.78, 0.92) - img)
    hy = cy + bry * rng.uniform(0.2, 0.4)
    if rng.uniform() < 0.5:
        _stamp_disk(img, hy, cx + rng.uniform(4, 14), rng.uniform(14, 20), rng.uniform(0.62, 0.8), 3.0)
    else:  # an ellipse that always reaches across the midline (a heart, never a blob alone in a lung)
        shift = rng.uniform(3, 10)
        img += _ellipse(hy, cx + shift, rng.uniform(10, 18), rng.uniform(shift + 9, shift + 16), rng.uniform(-0.2, 0.2),
                        soft=rng.uniform(0.8, 3.0)) * (rng.uniform(0.62, 0.8) - img)
    if rng.uniform() < 0.6:
        yd = cy + bry * rng.uniform(0.4, 0.6)
        below = np.clip((_YY - yd - rng.uniform(0.0, 0.15) * np.abs(_XX - cx)) / rng.uniform(0.8, 3.0), 0, 1)
        img += below * (img > 0.15) * (rng.uniform(0.6, 0.8) - img)
    # Hilar vessels: faint lines from the hila, and small bright dots.
    for ly, lx, ry, rx, lt in lungs:
        for _ in range(rng.integers(0, 12)):
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

    if rng.uniform() < 0.7:
        img = _blur(img, rng.uniform(0.4, 1.4))
    img += rng.normal(0, rng.uniform(0.005, 0.035), img.shape).astype(np.float32)
    return np.clip(img, 0, 1), info


# ---------------------------------------------------------------------------------------------------------
# Head MR, axial slice


def _mr_head(rng, lesion):
    img = np.zeros((SIZE, SIZE), dtype=np.float32)
    cy, cx = 64 + rng.uniform(-5, 5), 64 + rng.uniform(-5, 5)
    # Mid-head slices are large; slices near the skull base or the vertex are smaller (and lack ventricles).
    s = 1.0 if rng.uniform() < 0.6 else rng.uniform(0.5, 1.0)
    ry = rng.uniform(46, 58) * s
    rx = ry * rng.uniform(0.72, 0.98)
    th = rng.uniform(-0.15, 0.15)
    img += _ellipse(cy, cx, ry, rx, th) * rng.uniform(0.72, 1.0)  # scalp
    # Skull: dark cortical bone, or brighter marrow (grey, below the scalp).
    t1 = rng.uniform(2.0, 5.0)
    bone = rng.uniform(0.02, 0.15) if rng.uniform() < 0.5 else rng.uniform(0.45, 0.82)
    img += _ellipse(cy, cx, ry - t1, rx - t1, th) * (bone - img)
    t2 = t1 + rng.uniform(1.5, 4.5)
    bry, brx = max(ry - t2, 8.0), max(rx - t2, 8.0)
    brain = _ellipse(cy, cx, bry, brx, th)
    # Brain: white matter, a darker (or equal) cortical band at the edge, gyral texture and smooth noise.
    wm = rng.uniform(0.42, 0.62)
    depth = _ellipse_norm(cy, cx, bry, brx, th)
    band = np.clip((depth - rng.uniform(0.5, 0.85)) / rng.uniform(0.01, 0.12) + 0.5, 0, 1)
    fx, fy = rng.uniform(2.5, 5.5), rng.uniform(2.5, 5.5)
    gyri = rng.uniform(0, 0.035) * np.sin((_XX - cx) / fx + rng.uniform(0, 6.3)) * np.cos(
        (_YY - cy) / fy + rng.uniform(0, 6.3))
    tissue = wm + rng.uniform(-0.15, 0.03) * band + gyri + _smooth_noise(rng, 2.5, rng.uniform(0, 0.04))
    img += brain * (tissue - img)

    def dark_ellipse(py, px, hh, hw, angle, value):
        img[:] += _ellipse(py, px, hh, hw, angle) * brain * (value - img)

    # Lateral ventricles on mid slices: a pair of thin upright slits (of varied length, width, spacing and
    # tilt), or rounder cavities; sometimes a third ventricle on the midline.
    if rng.uniform() < (0.8 if s > 0.7 else 0.25):
        vval = rng.uniform(0.05, 0.3)
        dy = rng.uniform(-10, 4) * s
        if rng.uniform() < 0.7:
            hw = rng.uniform(1.2, 4.0) * s
            hh = max(hw * 1.5, rng.uniform(4.0, 16.0) * s)
            sep = rng.uniform(hw + 0.8, 10.0 * s + 0.8)
            tilt = rng.uniform(-0.35, 0.35)
            for side in (-1, 1):
                dark_ellipse(cy + dy + rng.uniform(-1.5, 1.5), cx + side * sep, hh * rng.uniform(0.85, 1.15),
                             hw * rng.uniform(0.85, 1.15), th + side * tilt, vval + rng.uniform(-0.03, 0.03))
        else:
            vr = rng.uniform(0.6, 1.3) * s
            for side in (-1, 1):
                _stamp_disk(img, cy + dy + rng.uniform(-3, 3), cx + side * rng.uniform(4, 7), 4.5 * vr, vval)
        if rng.uniform() < 0.25:
            dark_ellipse(cy + dy + rng.uniform(6, 14), cx, rng.uniform(2.5, 7.0), rng.uniform(0.6, 1.4), th, vval)
    # Other normal structures: dark elongated cisterns and sulci, a thin falx on the midline, bright thin
    # vessels, sulci at the edge, small bright flow dots.
    for _ in range(rng.integers(0, 4) if rng.uniform() < 0.4 else 0):
        py, px = _point_in_ellipse(rng, cy, cx, bry, brx, th, 5)
        dark_ellipse(py, px, rng.uniform(3, 10), rng.uniform(0.8, 2.5), rng.uniform(0, np.pi), rng.uniform(0.05, 0.3))
    if rng.uniform() < 0.3:
        _stamp_line(img, cy - bry * 0.9, cx, cy - bry * rng.uniform(0.2, 0.5), cx, rng.uniform(0.6, 1.4),
                    rng.uniform(0.1, 0.3) if rng.uniform() < 0.5 else min(wm + rng.uniform(0.1, 0.3), 1.0))
    for _ in range(rng.integers(0, 4) if rng.uniform() < 0.35 else 0):
        py, px = _point_in_ellipse(rng, cy, cx, bry, brx, th, 4)
        a, length = rng.uniform(0, 2 * np.pi), rng.uniform(6, 18)
        _stamp_line(img, py, px, py + length * np.sin(a), px + length * np.cos(a), rng.uniform(0.8, 2.0),
                    min(wm + rng.uniform(0.1, 0.4), 1.0))
    for _ in range(rng.integers(0, 14)):
        a = rng.uniform(0, 2 * np.pi)
        y0, x0 = cy + bry * 0.95 * np.sin(a), cx + brx * 0.95 * np.cos(a)
        y1, x1 = cy + bry * 0.75 * np.sin(a), cx + brx * 0.75 * np.cos(a)
        _stamp_line(img, y0, x0, y1, x1, rng.uniform(0.8, 1.5), wm * 0.5)
    for _ in range(rng.integers(0, 6)):
        py, px = _point_in_ellipse(rng, cy, cx, bry, brx, th, 4)
        _stamp_disk(img, py, px, rng.uniform(0.6, 1.4), rng.uniform(0.7, 0.95))

    info = None
    if lesion is not None:
        r = min(lesion, max(min(bry, brx) * 0.5, MIN_LESION_RADIUS))
        py, px = _point_in_ellipse(rng, cy, cx, bry, brx, th, r + 3)
        _stamp_disk(img, py, px, r, max(rng.uniform(0.75, 1.0), wm + 0.2), soft=rng.uniform(0.8, 2.0))
        info = (py, px, r)

    if rng.uniform() < 0.5:  # sharp, Gaussian noise
        img = img + rng.normal(0, rng.uniform(0.004, 0.025), img.shape)
    else:  # blurred, Rician noise
        img = _blur(img, rng.uniform(0.3, 1.2))
        noise = rng.uniform(0.01, 0.04)
        img = np.sqrt((img + rng.normal(0, noise, img.shape)) ** 2 + rng.normal(0, noise, img.shape) ** 2)
    return np.clip(np.abs(img).astype(np.float32), 0, 1), info


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
