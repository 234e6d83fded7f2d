"""FAST at every CPU level this machine runs (vectors of 64, 32 or 16 pixels of a row, and the
scalar path of rows narrower than one vector) against cv2 on images made to hit their edges:
widths around each level's block, corners next to the tested border, saturated values, score
ties, tiny images, and a large image split over threads."""
import cv2
import numpy as np
import pytest
import torch

import vision_ext  # noqa: F401
from tests.conftest import at_cpu_level, cpu_levels

ops = torch.ops.vision_ext
CV_TYPES = {16: cv2.FAST_FEATURE_DETECTOR_TYPE_9_16, 12: cv2.FAST_FEATURE_DETECTOR_TYPE_7_12,
            8: cv2.FAST_FEATURE_DETECTOR_TYPE_5_8}


@pytest.fixture(params=cpu_levels())
def fast_path(request):
    with at_cpu_level(request.param):
        yield request.param


def _assert_same(img, threshold, nonmax, pattern=16):
    kps = cv2.FastFeatureDetector_create(threshold, nonmax, CV_TYPES[pattern]).detect(img)
    ref = sorted((-kp.response, kp.pt[1], kp.pt[0]) for kp in kps)  # score, then raster order
    xy, sc, cnt = ops.fast(torch.from_numpy(np.ascontiguousarray(img)), threshold, nonmax, pattern, 0)
    n = int(cnt[0])
    ours = [(-float(sc[0, j]), float(xy[0, j, 1]), float(xy[0, j, 0])) for j in range(n)]
    assert ours == ref, (img.shape, threshold, nonmax, pattern)
    return n


@pytest.mark.parametrize("width", [7, 8, 21, 22, 23, 37, 38, 39, 63, 64, 69, 70, 71, 127, 133, 134, 200])
def test_widths_around_the_vector_block(fast_path, width):
    rng = np.random.default_rng(width)
    noise = rng.integers(0, 256, (23, width), dtype=np.uint8)
    # Few distinct levels: many corners, many equal scores (ties broken by raster order).
    levels = (rng.integers(0, 4, (23, width)) * 60).astype(np.uint8)
    for img in (noise, levels):
        for threshold in (0, 10, 40):
            for nonmax in (True, False):
                for pattern in (16, 12, 8):
                    _assert_same(img, threshold, nonmax, pattern)


def test_saturated_values_and_extreme_thresholds(fast_path):
    rng = np.random.default_rng(3)
    img = (rng.integers(0, 2, (40, 150)) * 255).astype(np.uint8)
    img[::7] = 254
    for threshold in (0, 1, 128, 253, 254, 255):
        for nonmax in (True, False):
            _assert_same(img, threshold, nonmax)


def test_corners_on_the_tested_border(fast_path):
    # Isolated bright dots whose circles touch the image edge: the first and last tested
    # columns/rows, and both ends of a short last vector block.
    for w in (7, 64, 70, 131):
        img = np.full((20, w), 90, np.uint8)
        for x in sorted({3, w - 4, min(66, w - 4)}):
            for y in (3, 16):
                img[y, x] = 200
        n = _assert_same(img, 20, True)
        assert n > 0
        _assert_same(img, 20, False)


def test_tiny_images_have_no_tested_pixels(fast_path):
    for shape in [(1, 1), (6, 6), (6, 40), (40, 6), (7, 7)]:
        img = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
        _assert_same(img, 0, True)
        _assert_same(img, 0, False)


def test_real_images_odd_widths(fast_path, camera, astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    for img in (camera[:, :333], gray[7:, 5:], camera[1:, :449]):
        for threshold in (10, 20):
            assert _assert_same(img, threshold, True) > 0
            _assert_same(img, threshold, False)


def test_large_image_split_over_threads(fast_path, camera):
    # Over a million pixels: rows are split into chunks that run in parallel and are merged.
    big = cv2.resize(camera, (1500, 1100), interpolation=cv2.INTER_LINEAR)
    big = cv2.add(big, np.random.default_rng(0).integers(0, 3, big.shape, dtype=np.uint8))
    for threshold in (10, 25):
        assert _assert_same(big, threshold, True) > 100
    _assert_same(big, 10, False)
