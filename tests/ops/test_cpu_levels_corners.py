"""The corner family at every CPU level this machine runs (default / avx2 / avx512): each op gives
the same bits at every level, and OpenCV's answer (uint8 and float inputs, odd sizes, tiny
images). Also the two good_features_to_track regressions of issue 15: an infinite or huge
min_distance, and even windows on natural images (corners on row / column 1); and its selection rule
with NaN responses, against a NumPy statement of the rule on our own response plane."""
import cv2
import numpy as np
import pytest
import torch
from skimage import data

import vision_ext  # noqa: F401
from helpers.opencv import no_ipp  # noqa: F401  (autouse)
from tests.conftest import run_at_every_level

ops = torch.ops.vision_ext
FAST_TYPES = {16: cv2.FAST_FEATURE_DETECTOR_TYPE_9_16, 12: cv2.FAST_FEATURE_DETECTOR_TYPE_7_12,
              8: cv2.FAST_FEATURE_DETECTOR_TYPE_5_8}
SHAPES = [(1, 1), (2, 9), (5, 3), (8, 8), (37, 53), (61, 131)]


def _natural():
    """skimage's natural grayscale images (uint8)."""
    return {"astronaut": cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY), "camera": data.camera(),
            "coins": data.coins(), "chelsea": cv2.cvtColor(data.chelsea(), cv2.COLOR_RGB2GRAY),
            "coffee": cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2GRAY)}


def _image(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    crop = data.camera()[100:100 + shape[0], 50:50 + shape[1]]  # textured: no near-flat cancellation
    if dtype == "uint8":
        return np.ascontiguousarray(crop)
    return np.ascontiguousarray(crop.astype(np.float32) / 255 + rng.random(crop.shape, dtype=np.float32) * 0.01)


def _same_at_every_level(fn):
    outs = run_at_every_level(fn)
    first = next(iter(outs.values()))
    for level, out in outs.items():
        for a, b in zip(first if isinstance(first, tuple) else (first,), out if isinstance(out, tuple) else (out,)):
            assert torch.equal(a, b), level
    return first


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("shape", SHAPES)
def test_responses_same_bits_at_every_level_and_match_cv2(dtype, shape):
    img = _image(shape, dtype, sum(shape))
    t = torch.from_numpy(img)
    for block in (2, 3, 4, 5, 7, 9):
        for ksize in (3, 5, -1):
            for border in (0, 1, 4):
                eig = _same_at_every_level(lambda: ops.min_eigen_response(t, block, ksize, border))
                har = _same_at_every_level(lambda: ops.harris_response(t, block, ksize, 0.04, border))
                ref_e = cv2.cornerMinEigenVal(img, block, ksize=ksize, borderType=border)
                ref_h = cv2.cornerHarris(img, block, ksize, 0.04, borderType=border)
                # Both scores cancel against the larger eigenvalue (Harris against its square).
                # Images smaller than the filters: OpenCV's scalar paths round in another order
                # and the cancellation amplifies it (main's kernel was 8e-5 off there too).
                rel = 1e-5 if min(shape) > 8 else 2e-4
                l1 = float(np.abs(cv2.cornerEigenValsAndVecs(img, block, ksize, borderType=border)[..., 0]).max())
                assert float(np.abs(eig.numpy() - ref_e).max()) <= rel * max(l1, 1e-30), (block, ksize, border)
                assert float(np.abs(har.numpy() - ref_h).max()) <= rel * max(l1 * l1, 1e-30), (block, ksize, border)


def _window_sums(cov, block, border):
    """Window sums in double: each row left to right, then the rows top to bottom, rounded once."""
    lo, (h, w) = block // 2, cov.shape[:2]
    mode = {1: "edge", 4: "reflect"}[border]
    pad = np.pad(cov.astype(np.float64), ((lo, block - 1 - lo), (lo, block - 1 - lo), (0, 0)), mode=mode)
    rows = pad[:, 0:w].copy()
    for j in range(1, block):
        rows += pad[:, j:j + w]
    out = rows[0:h].copy()
    for i in range(1, block):
        out += rows[i:i + h]
    return out.astype(np.float32)


@pytest.mark.parametrize("block", [2, 3, 4, 5, 6, 7])
def test_min_eigen_is_bit_exact_with_cv2_sobel_and_exact_window_sums(block):
    # OpenCV's derivatives (its row pass, column pass and fused multiply-adds reproduced), the
    # window sums in double (OpenCV sums in double too, as running sums that round now and then)
    # and OpenCV's float min-eigenvalue formula: the bits match at every level. GFTT's ties
    # and order on natural images depend on exactly this.
    img = _natural()["astronaut"]
    scale = 1.0 / (4 * block * 255.0)
    for border in (1, 4):
        dx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3, scale=scale, borderType=border)
        dy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3, scale=scale, borderType=border)
        box = _window_sums(np.dstack([dx * dx, dx * dy, dy * dy]), block, border)
        a, b, c = box[..., 0] * np.float32(0.5), box[..., 1], box[..., 2] * np.float32(0.5)
        ref = (a + c) - np.sqrt((a - c) * (a - c) + b * b)
        ours = _same_at_every_level(lambda: ops.min_eigen_response(torch.from_numpy(img), block, 3, border))
        np.testing.assert_array_equal(ours.numpy(), ref)
        # and OpenCV's own response, but for its running sums' rare last-bit roundings
        assert np.mean(ours.numpy() == cv2.cornerMinEigenVal(img, block, ksize=3, borderType=border)) > 0.98


@pytest.mark.parametrize("pattern", [16, 12, 8])
def test_fast_same_at_every_level_and_matches_cv2(pattern):
    imgs = [_image(s, "uint8", 0) for s in SHAPES] + [np.random.default_rng(5).integers(0, 256, (29, 83), np.uint8)]
    imgs += [g[3:, 1:] for g in list(_natural().values())[:2]]
    for img in imgs:
        for threshold in (5, 20):
            for nonmax in (True, False):
                xy, sc, cnt = _same_at_every_level(lambda: ops.fast(torch.from_numpy(img), threshold, nonmax, pattern, 0))
                kps = cv2.FastFeatureDetector_create(threshold, nonmax, FAST_TYPES[pattern]).detect(img)
                ref = sorted((-kp.response, kp.pt[1], kp.pt[0]) for kp in kps)
                n = int(cnt[0])
                ours = [(-float(sc[0, j]), float(xy[0, j, 1]), float(xy[0, j, 0])) for j in range(n)]
                assert ours == ref, (img.shape, threshold, nonmax)


def _gftt_cv2(img, max_corners, quality, min_distance, block, harris=False):
    ref = cv2.goodFeaturesToTrack(img, max_corners, quality, min_distance, blockSize=block, useHarrisDetector=harris)
    return np.zeros((0, 2), np.float32) if ref is None else ref.reshape(-1, 2)


@pytest.mark.parametrize("block", [2, 3, 4, 5, 6, 7])
def test_gftt_matches_cv2_on_natural_images_at_every_level(block):
    # Even windows used to lose corners on row / column 1, where OpenCV's responses tie with
    # row / column 0 (e.g. astronaut, block 6: (1, 480) and (34, 1)).
    for name, img in _natural().items():
        for min_distance in (1.0, 10.0):
            xy, sc, cnt = _same_at_every_level(lambda: ops.good_features_to_track(
                torch.from_numpy(img), 1000, 0.01, min_distance, block, 3, False, 0.04, None))
            ref = _gftt_cv2(img, 1000, 0.01, min_distance, block)
            np.testing.assert_array_equal(xy[0, :int(cnt[0])].numpy(), ref, err_msg=f"{name} {min_distance}")


def test_gftt_finds_the_tied_border_corners_of_issue_15():
    img = _natural()["astronaut"]
    xy, _, cnt = ops.good_features_to_track(torch.from_numpy(img), 1000, 0.01, 1.0, 6, 3, False, 0.04, None)
    found = {tuple(p) for p in xy[0, :int(cnt[0])].tolist()}
    assert {(1.0, 480.0), (34.0, 1.0)} <= found


@pytest.mark.parametrize("min_distance", [float("inf"), 1e10, 2147483647.0, 1e6])
def test_gftt_huge_min_distance_keeps_only_the_best_corner(min_distance):
    # OpenCV itself crashes from 1e10 up; below that a distance past the image keeps one corner.
    for seed, shape in ((0, (12, 12)), (1, (40, 57))):
        img = np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
        xy, sc, cnt = _same_at_every_level(lambda: ops.good_features_to_track(
            torch.from_numpy(img), 100, 0.01, min_distance, 3, 3, False, 0.04, None))
        ref = _gftt_cv2(img, 100, 0.01, 1e6, 3)
        assert len(ref) == 1
        np.testing.assert_array_equal(xy[0, :int(cnt[0])].numpy(), ref)


def test_gftt_nan_min_distance_is_a_clear_error():
    img = torch.randint(0, 256, (12, 12), dtype=torch.uint8)
    with pytest.raises(RuntimeError, match="min_distance must be a number >= 0"):
        ops.good_features_to_track(img, 100, 0.01, float("nan"), 3, 3, False, 0.04, None)


def _gftt_rule(resp, max_corners, quality, min_distance):
    """keypoints_cpu.h's selection rule in NumPy, on a response plane: the threshold from the scan
    "m = resp[0], then any greater value" (NaN after the first never wins), interior pixels > the
    threshold that no 8-neighbour beats (a NaN neighbour never beats), best first (ties: larger raster
    index first), greedy minimum distance."""
    flat = resp.ravel()
    top = flat[0] if np.isnan(flat[0]) else np.nanmax(flat)
    thr = np.float32(top * np.float64(quality)) if resp.dtype == np.float32 else top * quality
    h, w = resp.shape
    cand = []
    for y in range(1, h - 1):
        for x in range(1, w - 1):
            v = resp[y, x]
            if v > thr and not (resp[y - 1:y + 2, x - 1:x + 2] > v).any():
                cand.append((-v, -(y * w + x), x, y))
    kept = []
    for _, _, x, y in sorted(cand):
        if all((x - a) ** 2 + (y - b) ** 2 >= min_distance ** 2 for a, b in kept):
            kept.append((x, y))
            if len(kept) == max_corners:
                break
    return np.array(kept, np.float32).reshape(-1, 2)


@pytest.mark.parametrize("nan_at", [(20, 30), (6, 40), (0, 0)])
def test_gftt_with_nan_responses_follows_its_rule_at_every_level(nan_at):
    # A NaN pixel makes NaN responses around it: the vector candidate test must compare exactly as
    # the rule does (NaN neighbours never beat a value), and the threshold scan skip NaN after resp[0]
    # (a NaN at (0, 0) makes resp[0] NaN: no corners at all).
    img = _image((45, 70), "float32", 3).copy()
    img[nan_at] = np.nan
    t = torch.from_numpy(img)
    xy, _, cnt = _same_at_every_level(lambda: ops.good_features_to_track(t, 500, 1e-5, 1.0, 3, 3, False, 0.04, None))
    resp = vision_ext.features.min_eigen_response(t, block_size=3, ksize=3).numpy()
    resp = resp.reshape(resp.shape[-2:])
    ref = _gftt_rule(resp, 500, 1e-5, 1.0)
    np.testing.assert_array_equal(xy[0, :int(cnt[0])].numpy(), ref)
    nan = np.isnan(resp)
    beside_nan = sum(bool(nan[y - 1:y + 2, x - 1:x + 2].any()) for x, y in ref.astype(int))
    assert beside_nan > 0 if nan_at != (0, 0) else len(ref) == 0  # the case the rule is about is exercised
