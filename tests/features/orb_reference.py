"""A plain NumPy ORB written from the paper (Rublee et al., ICCV 2011) and the definitions in
csrc/include/vision_ext/orb.h, independent of the extension: the oracle of tests/features/test_orb.py.

Detection uses OpenCV's FAST and cornerHarris (the corner family equals them), everything after
(pyramid, budgets, ranking, intensity-centroid angle, smoothing, rotated BRIEF) is NumPy.
"""
import math
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
BLUR_TAPS = np.array([18, 34, 49, 54, 49, 34, 18], np.int64)  # orb.h orb_blur_tap(-3..3)
MIN_BORDER = 22  # orb.h kOrbMinBorder: 19 (rotated pattern reach) + 3 (smoothing)


def pattern():
    """(256, 4) int pairs (x1, y1, x2, y2), read from the header the kernels compile."""
    text = (ROOT / "csrc/include/vision_ext/orb_pattern.h").read_text()
    body = text[text.index("kOrbPattern[kOrbPairs * 4] = {") + 31:]
    body = body[:body.index("};")]
    values = [int(v) for v in re.findall(r"-?\d+", body)]
    assert len(values) == 1024
    return np.array(values, np.int64).reshape(256, 4)


def level_budgets(n_features, scale_factor, n_levels):
    factor = 1.0 / scale_factor
    per = n_features * (1 - factor) / (1 - factor ** n_levels)
    out, total = [], 0
    for _ in range(n_levels - 1):
        out.append(int(np.rint(per)))
        total += out[-1]
        per *= factor
    out.append(max(n_features - total, 0))
    return out


def _taps(n_dst, n_src):
    d = np.arange(n_dst, dtype=np.int64)
    num = (2 * d + 1) * n_src - n_dst
    q = np.where(num > 0, (np.maximum(num, 0) << 11) // (2 * n_dst), 0)
    i0, f = q >> 11, q & 2047
    clamp = i0 >= n_src - 1
    i0 = np.where(clamp, n_src - 1, i0)
    f = np.where(clamp, 0, f)
    return i0, np.where(f > 0, i0 + 1, i0), f


def resize(src, dw, dh):
    """Centre-aligned bilinear with 11-bit weights, rounded once (orb.h orb_resize_pixel)."""
    sh, sw = src.shape
    s = src.astype(np.int64)
    y0, y1, fy = _taps(dh, sh)
    x0, x1, fx = _taps(dw, sw)
    v = s[y0] * (2048 - fy)[:, None] + s[y1] * fy[:, None]
    out = v[:, x0] * (2048 - fx) + v[:, x1] * fx
    return ((out + (1 << 21)) >> 22).astype(np.uint8)


def pyramid(img, scale_factor, n_levels):
    h, w = img.shape
    levels = [img]
    for lv in range(1, n_levels):
        s = scale_factor ** lv
        lw, lh = int(np.rint(w / s)), int(np.rint(h / s))
        if lw < 1 or lh < 1:
            break
        levels.append(resize(levels[-1], lw, lh))
    return levels


def smooth(img):
    """The 7x7 integer Gaussian of orb.h: horizontal then vertical sums, (v + 2^15) >> 16."""
    p = np.pad(img.astype(np.int64), 3, mode="reflect")
    h = sum(BLUR_TAPS[k] * p[:, k:k + img.shape[1]] for k in range(7))
    v = sum(BLUR_TAPS[k] * h[k:k + img.shape[0], :] for k in range(7))
    return ((v + 32768) >> 16).astype(np.int64)


def moments(img, x, y, r):
    v, u = np.mgrid[-r:r + 1, -r:r + 1]
    disc = u * u + v * v <= r * r
    patch = img[y - r:y + r + 1, x - r:x + r + 1].astype(np.int64) * disc
    return int((u * patch).sum()), int((v * patch).sum())


def describe(level_img, x, y, half_patch, pairs=None):
    """(angle in degrees, 32-byte descriptor) of the keypoint at level pixel (x, y)."""
    pairs = pattern() if pairs is None else pairs
    m10, m01 = moments(level_img, x, y, half_patch)
    angle = math.degrees(math.atan2(m01, m10)) % 360.0
    r = math.sqrt(float(m10) * m10 + float(m01) * m01)
    c, s = (1.0, 0.0) if r == 0 else (m10 / r, m01 / r)
    g = smooth(level_img)

    def rot(px, py):
        # Half up as orb.h writes it: trunc(v + 64.5) - 64 (= floor(v + 0.5) but within 2^-46 of a half).
        rx = ((px * c - py * s) + 64.5).astype(np.int64) - 64
        ry = ((px * s + py * c) + 64.5).astype(np.int64) - 64
        return g[y + ry, x + rx]

    bits = rot(pairs[:, 0].astype(np.float64), pairs[:, 1].astype(np.float64)) < \
        rot(pairs[:, 2].astype(np.float64), pairs[:, 3].astype(np.float64))
    return angle, np.packbits(bits.reshape(32, 8), axis=1, bitorder="little").reshape(32)


def detect(img, n_features=500, scale_factor=1.2, n_levels=8, edge_threshold=31, fast_threshold=20,
           patch_size=31, score="harris"):
    """[(response, y0, x0, level, x, y)] best first: FAST corners per level inside the border, the
    level's budget (x2 before Harris) by (score desc, y, x), ranked overall by the total order."""
    import cv2

    border = max(edge_threshold, patch_size // 2, MIN_BORDER)
    budgets = level_budgets(n_features, scale_factor, n_levels)
    h0, w0 = img.shape
    out = []
    for lv, im in enumerate(pyramid(img, scale_factor, n_levels)):
        h, w = im.shape
        if w <= 2 * border or h <= 2 * border:
            break
        kps = cv2.FastFeatureDetector_create(fast_threshold, True).detect(im)
        pts = [(-kp.response, int(kp.pt[1]), int(kp.pt[0])) for kp in kps]
        pts = sorted(p for p in pts if border <= p[2] < w - border and border <= p[1] < h - border)
        cap = 2 * budgets[lv] if score == "harris" else budgets[lv]
        pts = pts[:cap]
        if score == "harris":
            resp = cv2.cornerHarris(im, 7, 3, 0.04)
            pts = sorted((-float(resp[y, x]), y, x) for _, y, x in pts)
        for neg, y, x in pts[:budgets[lv]]:
            rx, ry = w0 / w, h0 / h
            out.append((-neg, np.float32((y + 0.5) * ry - 0.5), np.float32((x + 0.5) * rx - 0.5), lv, x, y))
    out.sort(key=lambda t: (-t[0], t[1], t[2], t[3]))
    return out[:n_features]


def level_pixel(xy0, level, shape, scale_factor):
    """The level pixel (x, y) a level-0 keypoint position came from."""
    h0, w0 = shape
    s = scale_factor ** level
    w, h = (w0, h0) if level == 0 else (int(np.rint(w0 / s)), int(np.rint(h0 / s)))
    return int(round((xy0[0] + 0.5) * w / w0 - 0.5)), int(round((xy0[1] + 0.5) * h / h0 - 0.5))
