"""Benchmark cases of the shape family: shape_features of every region in one call against
skimage.measure.regionprops (every property we compute accessed: regionprops is lazy) and against a
cv2.moments + cv2.HuMoments loop over per-region masks (moments only)."""
import numpy as np
import torch

from vision_ext.bench.core import Case

# The regionprops properties shape_features also returns.
PROPS = ("area", "bbox", "centroid", "moments_central", "moments_normalized", "moments_hu", "eccentricity",
         "orientation", "axis_major_length", "axis_minor_length", "perimeter", "area_convex", "solidity", "extent")


def blobs(h=512, w=512, n=100, seed=0):
    """(H, W) int32 labels 1..n of n random rotated ellipses, painted in order."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    out = np.zeros((h, w), np.int32)
    for lab in range(1, n + 1):
        cy, cx, t = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(0, np.pi)
        a, b = rng.uniform(4, 22, 2)
        u = (xx - cx) * np.cos(t) + (yy - cy) * np.sin(t)
        v = -(xx - cx) * np.sin(t) + (yy - cy) * np.cos(t)
        out[(u / a) ** 2 + (v / b) ** 2 <= 1] = lab
    return out


def coins_labels():
    from skimage import data, filters, measure

    img = data.coins()
    return measure.label(img > filters.threshold_otsu(img)).astype(np.int32)


def regionprops_all(lab):
    from skimage import measure

    out = []
    for p in measure.regionprops(lab):
        out.append({k: getattr(p, k) for k in PROPS})
    return out


def cv2_moments_loop(lab):
    import cv2

    out = []
    for label in np.unique(lab[lab > 0]):
        m = cv2.moments((lab == label).astype(np.uint8), binaryImage=True)
        out.append((m, cv2.HuMoments(m).ravel()))
    return out


def _hu_close(ours_hu, nu, ref_hu, rtol=1e-9):
    """Hu invariants equal to rtol of the magnitudes they are built from (nu: cv2-order normalised
    moments); near-zero invariants of near-symmetric regions carry the peer's cancellation error."""
    s2 = 4 * np.abs(nu[:, :3]).max(1, keepdims=True)
    s3 = 4 * np.abs(nu[:, 3:]).max(1, keepdims=True)
    scale = np.concatenate([s2, s2 * s2, s3 * s3, s3 * s3, s3 ** 4, s2 * s3 * s3, s3 ** 4], 1) + 1e-300
    return bool(np.all(np.abs(ours_hu - ref_hu) <= rtol * scale))


def _matches_regionprops(ours, ref):
    regions, bbox, v, _, _ = ours
    v = v.cpu().numpy()
    if len(ref) != len(v):
        return False
    area = np.array([p["area"] for p in ref])
    per = np.array([p["perimeter"] for p in ref])
    sol = np.array([p["solidity"] for p in ref])
    hu = np.array([p["moments_hu"] for p in ref]) * [1, 1, 1, 1, 1, 1, -1]  # skimage's rows-first axes flip hu7
    box = np.array([p["bbox"] for p in ref])
    return (np.array_equal(v[:, 0], area) and np.allclose(v[:, 1], per, rtol=1e-12)
            and np.allclose(v[:, 38], sol, rtol=1e-12) and _hu_close(v[:, 29:36], v[:, 22:29], hu)
            and np.array_equal(bbox.cpu().numpy(), box))


def _matches_cv2(ours, ref):
    v = ours[2].cpu().numpy()
    if len(ref) != len(v):
        return False
    raw = np.array([[m[k] for k in ("m00", "m10", "m01", "m20", "m11", "m02", "m30", "m21", "m12", "m03")]
                    for m, _ in ref])
    hu = np.array([h for _, h in ref])
    # cv2 centres its moments as m20 - m10 * cx: far from the origin that costs it ~1e-8 of the
    # invariants' magnitude on a 512x512 image (ours are exact sums, centred without cancellation).
    return np.array_equal(v[:, 5:15], raw) and _hu_close(v[:, 29:36], v[:, 22:29], hu, rtol=1e-7)


def cases(quick: bool, device: str):
    import cv2

    cv2.setNumThreads(torch.get_num_threads())
    ops = torch.ops.vision_ext
    scenes = [("512x512 100 ellipses", blobs)] + ([] if quick else [("coins otsu labels", coins_labels)])
    out = []
    for label, make in scenes:
        def setup(make=make):
            lab = make()
            return torch.from_numpy(lab).to(device), lab

        out.append(Case("shape_features vs regionprops", label, device, lambda t, lab: ops.shape_features(t),
                        {"skimage.regionprops": lambda t, lab: regionprops_all(lab)}, setup=setup,
                        matches=_matches_regionprops))
        out.append(Case("shape_features vs cv2.moments", label, device, lambda t, lab: ops.shape_features(t),
                        {"cv2.moments loop": lambda t, lab: cv2_moments_loop(lab)}, setup=setup,
                        matches=_matches_cv2))
    return out
