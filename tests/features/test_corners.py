"""vision_ext.features corner API: defaults equal OpenCV's, numpy convenience, the
Keypoints result and its converters, nn.Module wrappers, argument errors."""
import cv2
import numpy as np
import pytest
import torch

from helpers.opencv import no_ipp  # noqa: F401  (autouse)
from vision_ext import features


def test_defaults_match_cv2_defaults(camera):
    np.testing.assert_allclose(features.harris_response(camera), cv2.cornerHarris(camera, 2, 3, 0.04),
                               rtol=0, atol=1e-5 * np.abs(cv2.cornerHarris(camera, 2, 3, 0.04)).max())
    r = features.min_eigen_response(camera)
    assert isinstance(r, np.ndarray) and r.dtype == np.float32  # numpy in, numpy out
    kp = features.fast(camera)
    ref = cv2.FastFeatureDetector_create().detect(camera)
    assert int(kp.counts[0]) == len(ref) > 0
    g = features.good_features_to_track(camera)
    np.testing.assert_array_equal(g.numpy(0), cv2.goodFeaturesToTrack(camera, 1000, 0.01, 1.0).reshape(-1, 2))


def test_border_names_and_tensor_shapes(checkerboard):
    img = torch.from_numpy(checkerboard).float()
    for name, code in [("reflect101", 4), ("reflect", 2), ("replicate", 1), ("constant", 0)]:
        out = features.harris_response(img[None, None], border=name)
        assert out.shape == (1, 1, 200, 200)
        ref = cv2.cornerHarris(checkerboard.astype(np.float32), 2, 3, 0.04, borderType=code)
        np.testing.assert_allclose(out[0, 0].numpy(), ref, rtol=0, atol=1e-5 * np.abs(ref).max())
    with pytest.raises(ValueError, match="border: expected one of"):
        features.harris_response(img, border="wrap")


def test_keypoints_to_cv2_and_back(camera):
    kp = features.fast(camera, threshold=30)
    cv_kps = kp.to_cv2(0)
    assert len(cv_kps) == int(kp.counts[0]) and all(k.size == 7 for k in cv_kps)
    ref = cv2.FastFeatureDetector_create(30).detect(camera)
    assert sorted((k.pt, k.response) for k in cv_kps) == sorted((k.pt, k.response) for k in ref)
    back = features.Keypoints.from_cv2(cv_kps)
    torch.testing.assert_close(back.xy, kp.xy, rtol=0, atol=0)
    torch.testing.assert_close(back.scores, kp.scores, rtol=0, atol=0)
    two = features.Keypoints.from_cv2([ref, ref[:3]])
    assert two.counts.tolist() == [len(ref), 3] and two.xy.shape == (2, len(ref), 2)
    pts = cv2.goodFeaturesToTrack(camera, 50, 0.01, 5)
    g = features.Keypoints.from_cv2(pts)
    np.testing.assert_array_equal(g.numpy(0), pts.reshape(-1, 2))
    assert features.Keypoints.from_cv2(None).counts.tolist() == [0]


def test_fast_types_and_max_keypoints(camera):
    for name, cv_type in [("9_16", 2), ("7_12", 1), ("5_8", 0)]:
        kp = features.fast(camera, 25, type=name)
        assert int(kp.counts[0]) == len(cv2.FastFeatureDetector_create(25, True, cv_type).detect(camera))
    kp = features.fast(camera, 25, max_keypoints=10)
    assert kp.xy.shape == (1, 10, 2) and (kp.scores[0, :-1] >= kp.scores[0, 1:]).all()
    with pytest.raises(ValueError, match="type: expected one of"):
        features.fast(camera, type="10_16")


def test_modules_match_functions(camera):
    img = torch.from_numpy(camera)
    torch.testing.assert_close(features.HarrisResponse(3, 5, 0.05)(img), features.harris_response(img, 3, 5, 0.05))
    torch.testing.assert_close(features.MinEigenResponse(border="replicate")(img),
                               features.min_eigen_response(img, border="replicate"))
    a, b = features.FAST(20)(img), features.fast(img, 20)
    torch.testing.assert_close(a.xy, b.xy)
    g = features.GoodFeaturesToTrack(100, min_distance=7)(img)
    np.testing.assert_array_equal(g.numpy(0), cv2.goodFeaturesToTrack(camera, 100, 0.01, 7).reshape(-1, 2))


def test_harris_module_trains_on_float_input():
    img = torch.rand(2, 1, 16, 16, requires_grad=True)
    features.HarrisResponse()(img).pow(2).sum().backward()
    assert img.grad is not None and img.grad.abs().sum() > 0


def test_colour_numpy_gets_a_hint(astronaut):
    with pytest.raises(ValueError, match="COLOR_RGB2GRAY"):
        features.harris_response(astronaut)
    with pytest.raises(RuntimeError, match="single channel"):
        features.harris_response(torch.from_numpy(astronaut).permute(2, 0, 1))
