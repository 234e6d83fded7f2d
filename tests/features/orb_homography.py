"""What ORB is for, measured: keypoint repeatability and the fraction of correct matches between a
real image and itself warped by a known homography (rotation, scale, perspective, noise). Shared by
tests/features/test_orb_homography.py and the figures of benchmarks/RESULTS.md
(`python -m tests.features.orb_homography` prints the table)."""
import math

import cv2
import numpy as np

PIXELS = 3.0  # a keypoint repeats / a match is correct when it reprojects within this many pixels


def homography(angle=0.0, scale=1.0, perspective=0.0, size=(512, 512)):
    """H about the image centre: rotate by `angle` degrees, scale, then tilt by `perspective`."""
    w, h = size
    c = np.array([[1, 0, w / 2], [0, 1, h / 2], [0, 0, 1]], np.float64)
    ci = np.linalg.inv(c)
    a = math.radians(angle)
    r = np.array([[scale * math.cos(a), -scale * math.sin(a), 0], [scale * math.sin(a), scale * math.cos(a), 0],
                  [0, 0, 1]])
    p = np.array([[1, 0, 0], [0, 1, 0], [perspective / w, perspective / h * 0.5, 1]])
    return c @ p @ r @ ci


WARPS = {
    "identity": dict(),
    "rot 30": dict(angle=30),
    "rot 90": dict(angle=90),
    "rot 135": dict(angle=135),
    "rot 180": dict(angle=180),
    "scale 0.5": dict(scale=0.5),
    "scale 0.7 rot 20": dict(scale=0.7, angle=20),
    "scale 1.5": dict(scale=1.5),
    "scale 2": dict(scale=2.0),
    "perspective": dict(perspective=0.25),
    "perspective rot 45": dict(perspective=0.2, angle=45),
    "noise 8": dict(noise=8.0),
    "rot 60 noise 5": dict(angle=60, noise=5.0),
}


def warp(img, spec, seed=0):
    spec = dict(spec)
    noise = spec.pop("noise", 0.0)
    h, w = img.shape
    H = homography(size=(w, h), **spec)
    out = cv2.warpPerspective(img, H, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if noise:
        rng = np.random.default_rng(seed)
        out = np.clip(out.astype(np.float64) + rng.normal(0, noise, out.shape), 0, 255).round().astype(np.uint8)
    return out, H


def _project(H, pts):
    p = np.concatenate([pts, np.ones((len(pts), 1))], 1) @ H.T
    return p[:, :2] / p[:, 2:]


def _inside(pts, shape, margin=0):
    h, w = shape
    return (pts[:, 0] >= margin) & (pts[:, 1] >= margin) & (pts[:, 0] < w - margin) & (pts[:, 1] < h - margin)


def scores(pts1, d1, pts2, d2, H, shape, match):
    """(repeatability, correct-match fraction, #matches). Repeatability: of the keypoints of image 1
    whose projection falls inside image 2 (and of image 2's whose back-projection falls in image 1),
    the share with a keypoint of the other image within PIXELS, over the smaller of the two sets."""
    if len(pts1) == 0 or len(pts2) == 0:
        return 0.0, 0.0, 0
    proj = _project(H, pts1)
    back = _project(np.linalg.inv(H), pts2)
    in1, in2 = _inside(proj, shape), _inside(back, shape)
    dist = np.linalg.norm(proj[in1][:, None] - pts2[in2][None], axis=2)
    rep = (dist.min(1) < PIXELS).sum() / max(1, min(in1.sum(), in2.sum())) if dist.size else 0.0
    pairs = match(d1, d2)
    if len(pairs) == 0:
        return float(rep), 0.0, 0
    err = np.linalg.norm(_project(H, pts1[pairs[:, 0]]) - pts2[pairs[:, 1]], axis=1)
    return float(min(rep, 1.0)), float((err < PIXELS).mean()), len(pairs)


def _cv2_match(d1, d2):
    ms = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(d1, d2)
    return np.array([(m.queryIdx, m.trainIdx) for m in ms], np.int64).reshape(-1, 2)


def run_cv2(img, warped, H, n_features=500):
    orb = cv2.ORB_create(n_features)
    k1, d1 = orb.detectAndCompute(img, None)
    k2, d2 = orb.detectAndCompute(warped, None)
    p1 = np.array([k.pt for k in k1], np.float64).reshape(-1, 2)
    p2 = np.array([k.pt for k in k2], np.float64).reshape(-1, 2)
    if d1 is None or d2 is None:
        return 0.0, 0.0, 0
    return scores(p1, d1, p2, d2, H, img.shape, _cv2_match)


def run_ours(img, warped, H, n_features=500):
    import torch

    from vision_ext import features

    kp, desc = features.orb(torch.from_numpy(np.stack([img, warped]))[:, None], n_features=n_features)
    n1, n2 = int(kp.counts[0]), int(kp.counts[1])
    p1, p2 = kp.xy[0, :n1].double().numpy(), kp.xy[1, :n2].double().numpy()

    def match(d1, d2):
        return features.match_descriptors(d1, d2, cross_check=True).pairs(0).numpy()

    return scores(p1, desc[0, :n1], p2, desc[1, :n2], H, img.shape, match)


def images():
    from skimage import data

    return {"camera": data.camera(), "astronaut": cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)}


# The test's subset (tests/features/test_orb_homography.py): every kind of warp, fewer steps.
TEST_WARPS = ("identity", "rot 30", "rot 90", "rot 180", "scale 0.5", "scale 2", "perspective rot 45", "noise 8",
              "rot 60 noise 5")


def table(n_features=500, warps=None):
    rows = []
    for name, img in images().items():
        for wname, spec in WARPS.items():
            if warps is not None and wname not in warps:
                continue
            warped, H = warp(img, spec)
            rows.append((name, wname, run_ours(img, warped, H, n_features), run_cv2(img, warped, H, n_features)))
    return rows


if __name__ == "__main__":
    print("| image | warp | repeatability ours / cv2 | correct matches ours / cv2 | matches ours / cv2 |")
    print("|---|---|---|---|---|")
    for name, wname, o, c in table():
        print(f"| {name} | {wname} | {o[0]:.3f} / {c[0]:.3f} | {o[1]:.3f} / {c[1]:.3f} | {o[2]} / {c[2]} |")
