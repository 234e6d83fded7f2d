"""vision_ext.features.region_relations on constructed scenes, each relation against a direct numpy
reference (centroids and boxes from the masks, scipy's convex hull of pixel-edge midpoints,
neighbour pairs from shifted masks)."""
import numpy as np
import torch
from scipy.spatial import ConvexHull

from shape_scenes import ellipses, mixed
from vision_ext import features


def _masks(lab):
    return [(int(v), lab == v) for v in np.unique(lab[lab > 0])]


def _diamond_hull(mask):
    """Vertices (row, col) and inequalities of the convex hull of every pixel's edge midpoints."""
    rr, cc = np.nonzero(mask)
    pts = np.concatenate([np.stack([rr + dr, cc + dc], 1) for dr, dc in ((-.5, 0), (.5, 0), (0, -.5), (0, .5))])
    h = ConvexHull(pts)
    return pts[h.vertices], h.equations


def _touch(a, b, diagonal):
    offs = [(0, 1), (1, 0), (0, -1), (-1, 0)] + ([(1, 1), (1, -1), (-1, 1), (-1, -1)] if diagonal else [])
    pa = np.pad(a, 1)
    for dy, dx in offs:
        shifted = pa[1 + dy:1 + dy + a.shape[0], 1 + dx:1 + dx + a.shape[1]]
        if np.any(shifted & b):
            return True
    return False


def _reference(lab):
    ms = _masks(lab)
    n = len(ms)
    cen = np.array([np.argwhere(m).mean(0) for _, m in ms])
    box = []
    for _, m in ms:
        rr, cc = np.nonzero(m)
        box.append((rr.min(), cc.min(), rr.max() + 1, cc.max() + 1))
    box = np.array(box)
    hulls = [_diamond_hull(m) for _, m in ms]
    ref = {k: np.zeros((n, n), bool) for k in ("above", "below", "left_of", "right_of", "strictly_above",
                                                "strictly_below", "strictly_left_of", "strictly_right_of",
                                                "inside_bbox", "inside_hull", "adjacent4", "adjacent8")}
    ref["direction"] = np.zeros((n, n))
    ref["distance"] = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            (ri, ci), (rj, cj) = cen[i], cen[j]
            ref["direction"][i, j] = np.arctan2(-(rj - ri), cj - ci)
            ref["distance"][i, j] = np.hypot(rj - ri, cj - ci)
            ref["above"][i, j], ref["below"][i, j] = ri < rj, ri > rj
            ref["left_of"][i, j], ref["right_of"][i, j] = ci < cj, ci > cj
            ri_rows = set(np.nonzero(ms[i][1].any(1))[0])
            rj_rows = set(np.nonzero(ms[j][1].any(1))[0])
            ci_cols = set(np.nonzero(ms[i][1].any(0))[0])
            cj_cols = set(np.nonzero(ms[j][1].any(0))[0])
            ref["strictly_above"][i, j] = max(ri_rows) < min(rj_rows)
            ref["strictly_below"][i, j] = min(ri_rows) > max(rj_rows)
            ref["strictly_left_of"][i, j] = max(ci_cols) < min(cj_cols)
            ref["strictly_right_of"][i, j] = min(ci_cols) > max(cj_cols)
            if i == j:
                continue
            ref["inside_bbox"][i, j] = bool(np.all(box[i][:2] >= box[j][:2]) and np.all(box[i][2:] <= box[j][2:]))
            vi, (_, eq) = hulls[i][0], hulls[j]
            ref["inside_hull"][i, j] = bool(np.all(vi @ eq[:, :2].T + eq[:, 2] <= 1e-9))
            ref["adjacent4"][i, j] = _touch(ms[i][1], ms[j][1], False)
            ref["adjacent8"][i, j] = _touch(ms[i][1], ms[j][1], True)
    return [v for v, _ in ms], ref


def _check(lab, rel):
    labels, ref = _reference(lab)
    assert rel.label.tolist() == labels
    np.testing.assert_allclose(rel.direction, ref["direction"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(rel.distance, ref["distance"], rtol=1e-12, atol=1e-12)
    for k, v in ref.items():
        if v.dtype == bool:
            np.testing.assert_array_equal(rel.__dict__[k], v, err_msg=k)
    return ref


def test_constructed_scene():
    lab = np.zeros((40, 50), np.int64)
    lab[2:8, 2:10] = 1        # top left
    lab[2:8, 10:14] = 2       # right of 1, touching along an edge
    lab[8:12, 14:18] = 3      # touches 2 only at a corner, strictly below 1 and 2
    yy, xx = np.mgrid[0:40, 0:50]
    d = np.hypot(yy - 26, xx - 30)
    lab[(d >= 8) & (d <= 11)] = 4  # ring
    lab[d <= 3] = 5                # inside the ring's hull and box, touching nothing
    lab[20:23, 2:5] = 6            # left of everything else on its rows
    rel = features.region_relations(lab)
    ref = _check(lab, rel)
    i = {v: k for k, v in enumerate(rel.label.tolist())}
    assert rel.adjacent4[i[1], i[2]] and not rel.adjacent4[i[2], i[3]] and rel.adjacent8[i[2], i[3]]
    assert rel.inside_hull[i[5], i[4]] and rel.inside_bbox[i[5], i[4]] and not rel.inside_hull[i[4], i[5]]
    assert rel.strictly_above[i[1], i[3]] and rel.strictly_left_of[i[1], i[2]]
    assert ref["inside_hull"].sum() >= 1


def test_random_scenes_and_batch():
    for seed in range(3):
        lab = ellipses(60, 70, 10, seed=10 + seed)
        _check(lab, features.region_relations(lab))
    lab = mixed(1)
    _check(lab, features.region_relations(torch.from_numpy(lab)).__class__(
        **{k: v.numpy() for k, v in vars(features.region_relations(torch.from_numpy(lab))).items()}))
    # A batch: pairs across images are unrelated (False / NaN); within an image as alone.
    a, b = ellipses(30, 30, 4, seed=20), ellipses(30, 30, 5, seed=21)
    rel = features.region_relations(np.stack([a, b]))
    ra = features.region_relations(a)
    na = len(ra)
    np.testing.assert_array_equal(rel.adjacent8[:na, :na], ra.adjacent8)
    np.testing.assert_array_equal(rel.direction[:na, :na], ra.direction)
    assert np.isnan(rel.distance[:na, na:]).all() and not rel.above[:na, na:].any() and not rel.adjacent8[na:, :na].any()
