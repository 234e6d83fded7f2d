"""Label images for the shape tests: random ellipses (overlapping ones merge, so some regions are
concave or hold holes), squares, single pixels, lines and regions that touch."""
import numpy as np


def ellipses(h, w, n, seed, rmin=2.0, rmax=12.0):
    """(H, W) int64 labels 1..n of n random rotated ellipses painted in order (later ones on top)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros((h, w), np.int64)
    for lab in range(1, n + 1):
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        a, b = rng.uniform(rmin, rmax, 2)
        t = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(t) + (yy - cy) * np.sin(t)
        v = -(xx - cx) * np.sin(t) + (yy - cy) * np.cos(t)
        out[(u / a) ** 2 + (v / b) ** 2 <= 1] = lab
    return out


def mixed(seed=0):
    """96x80 labels with sparse label values: ellipses, a ring around a blob, a single pixel, a
    one-pixel line, a diagonal line, two touching squares and a region split in two parts."""
    lab = ellipses(96, 80, 8, seed) * 3  # labels 3, 6, ..., 24
    lab[60:90, 5:35] = 0
    yy, xx = np.mgrid[0:96, 0:80]
    d = np.hypot(yy - 75, xx - 20)
    lab[(d >= 9) & (d <= 13)] = 40  # ring
    lab[d <= 4] = 41                # blob in its hole
    lab[2, 77] = 50                 # single pixel
    lab[0, 0:9] = 51                # one-pixel line at the border
    for i in range(12):
        lab[40 + i, 60 + i] = 52    # diagonal line
    lab[80:86, 50:56] = 53
    lab[80:86, 56:62] = 54          # touches 53 along an edge
    lab[87:90, 62:65] = 55          # touches 54 only at a corner
    lab[93:95, 0:3] = 56
    lab[93:95, 77:80] = 56          # one label, two parts
    return lab
