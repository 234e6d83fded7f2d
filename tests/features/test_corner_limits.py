"""Keypoint limits and min_distance extremes (issue 15): a clear error instead of a 34 GB allocation, and
cv2's result (only the best corner survives) for a min_distance beyond the image, where the kernel used to
crash on inf / 1e10 / 2147483647."""
import cv2
import numpy as np
import pytest
import torch

from vision_ext import features
from vision_ext.ops.corners import KEYPOINT_LIMIT_FLOOR


def _img():
    return torch.from_numpy(np.random.default_rng(0).integers(0, 256, (12, 12), dtype=np.uint8))


@pytest.mark.parametrize("value", [2 ** 32 + 3, 2 ** 63, 2 ** 64 + 1, KEYPOINT_LIMIT_FLOOR + 1])
def test_fast_max_keypoints_beyond_the_pixel_count_is_a_value_error(value):
    with pytest.raises(ValueError, match=rf"max_keypoints: {value} is more than a 12x12 image can hold; "
                                         rf"at most .* = {KEYPOINT_LIMIT_FLOOR}"):
        features.fast(_img(), 20, max_keypoints=value)


@pytest.mark.parametrize("value", [2 ** 32 + 2, 2 ** 70])
def test_gftt_max_corners_beyond_the_pixel_count_is_a_value_error(value):
    with pytest.raises(ValueError, match=rf"max_corners: {value} is more than a 12x12 image can hold"):
        features.good_features_to_track(_img(), max_corners=value)


def test_limits_at_the_cap_still_pad_to_k():
    img = _img()
    kp = features.fast(img, 20, max_keypoints=KEYPOINT_LIMIT_FLOOR)
    assert kp.xy.shape == (1, KEYPOINT_LIMIT_FLOOR, 2)
    big = torch.from_numpy(np.random.default_rng(1).integers(0, 256, (300, 300), dtype=np.uint8))
    assert features.good_features_to_track(big, max_corners=300 * 300).xy.shape == (1, 300 * 300, 2)


@pytest.mark.parametrize("min_distance", [float("inf"), 1e10, 2147483647.0, 1e6, 17.5])
def test_min_distance_beyond_the_image_keeps_the_best_corner_like_cv2(min_distance):
    img = _img()
    # cv2 itself segfaults from 1e10 on; any distance past the 12x12 diagonal gives its result at 1e6.
    want = cv2.goodFeaturesToTrack(img.numpy(), 100, 0.01, 1e6).reshape(-1, 2)
    got = features.good_features_to_track(img, 100, 0.01, min_distance)
    np.testing.assert_array_equal(got.numpy(0), want)
    assert len(want) == 1


@pytest.mark.parametrize("min_distance", [0.0, 1.0, 3.0, 5.0, 11.0, 15.0, 16.0])
def test_min_distance_within_the_image_is_unchanged_against_cv2(min_distance):
    img = _img()
    want = cv2.goodFeaturesToTrack(img.numpy(), 100, 0.01, min_distance).reshape(-1, 2)
    np.testing.assert_array_equal(features.good_features_to_track(img, 100, 0.01, min_distance).numpy(0), want)


@pytest.mark.parametrize("min_distance", [float("nan"), -1.0, -float("inf")])
def test_nan_or_negative_min_distance_is_a_value_error(min_distance):
    with pytest.raises(ValueError, match="min_distance: must be a number >= 0"):
        features.good_features_to_track(_img(), 100, 0.01, min_distance)
