"""torch.ops.vision_ext corner ops: exact match with OpenCV, batching, strides, opcheck,
gradcheck, torch.compile, bad inputs, tiny shapes, CPU/CUDA parity."""
import cv2
import numpy as np
import pytest
import torch

import vision_ext  # noqa: F401
from tests.conftest import cpu_and_cuda, tol
from helpers.opencv import no_ipp  # noqa: F401  (autouse)
from vision_ext.ops import _corners_grad

ops = torch.ops.vision_ext
BORDERS = [0, 1, 2, 4]  # constant, replicate, reflect, reflect101
KSIZES = [1, 3, 5, 7, -1]
FAST_TYPES = {16: cv2.FAST_FEATURE_DETECTOR_TYPE_9_16, 12: cv2.FAST_FEATURE_DETECTOR_TYPE_7_12,
              8: cv2.FAST_FEATURE_DETECTOR_TYPE_5_8}


def _crop(camera, dtype):
    sub = camera[100:161, 50:127]
    if dtype == "uint8":
        return np.ascontiguousarray(sub)
    rng = np.random.default_rng(1)
    return np.ascontiguousarray(sub.astype(np.float32) / 255 + rng.random(sub.shape, dtype=np.float32) * 0.01)


def _max_rel(ours, ref, scale=None):
    scale = np.abs(ref).max() if scale is None else scale
    return float(np.abs(ours - ref).max() / max(scale, 1e-30))


# op -> (ours, OpenCV's, error scale). The smaller eigenvalue cancels against the larger:
# its error is measured against that scale.
RESPONSES = {
    "harris": (lambda t, bs, ks, b: ops.harris_response(t, bs, ks, 0.04, b),
               lambda img, bs, ks, b: cv2.cornerHarris(img, bs, ks, 0.04, borderType=b),
               lambda img, bs, ks, b, ref: np.abs(ref).max()),
    "min_eigen": (lambda t, bs, ks, b: ops.min_eigen_response(t, bs, ks, b),
                  lambda img, bs, ks, b: cv2.cornerMinEigenVal(img, bs, ksize=ks, borderType=b),
                  lambda img, bs, ks, b, ref: np.abs(cv2.cornerEigenValsAndVecs(img, bs, ks, borderType=b)[..., 0]).max()),
}


@pytest.mark.parametrize("op", sorted(RESPONSES))
@pytest.mark.parametrize("border", BORDERS)
@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_response_matches_cv2(camera, dtype, border, op):
    ours_fn, ref_fn, scale_fn = RESPONSES[op]
    img = _crop(camera, dtype)
    t = torch.from_numpy(img)
    for block_size in range(2, 8):
        for ksize in KSIZES:
            ref = ref_fn(img, block_size, ksize, border)
            ours = ours_fn(t, block_size, ksize, border).numpy()
            assert ours.dtype == np.float32 and ours.shape == ref.shape
            assert _max_rel(ours, ref, scale_fn(img, block_size, ksize, border, ref)) <= 1e-5, (block_size, ksize)


def test_response_matches_torch_reference_float64():
    img = torch.rand(2, 1, 23, 31, dtype=torch.float64)
    for border in BORDERS:
        for ksize in (1, 5, -1):
            for bs in (2, 3):
                ours = ops.harris_response(img, bs, ksize, 0.05, border)
                ref = _corners_grad.response_reference(img, bs, ksize, border, k=0.05, harris=True)
                torch.testing.assert_close(ours, ref, **tol(torch.float64))
                ours = ops.min_eigen_response(img, bs, ksize, border)
                ref = _corners_grad.response_reference(img, bs, ksize, border, harris=False)
                torch.testing.assert_close(ours, ref, **tol(torch.float64))


def test_response_batch_shapes_and_strides(camera):
    base = torch.from_numpy(camera[:64, :96].copy())
    single = ops.harris_response(base, 3, 3, 0.04, 4)
    assert ops.harris_response(base[None], 3, 3, 0.04, 4).shape == (1, 64, 96)
    batch = torch.stack([base, base.flip(0)])[:, None]
    out = ops.harris_response(batch, 3, 3, 0.04, 4)
    assert out.shape == (2, 1, 64, 96)
    torch.testing.assert_close(out[0, 0], single, rtol=0, atol=0)
    torch.testing.assert_close(out[1, 0], ops.harris_response(base.flip(0).contiguous(), 3, 3, 0.04, 4), rtol=0, atol=0)
    # Non-contiguous views give the same answer as their contiguous copies.
    view = base.t()
    assert not view.is_contiguous()
    torch.testing.assert_close(ops.min_eigen_response(view, 3, 5, 2), ops.min_eigen_response(view.contiguous(), 3, 5, 2),
                               rtol=0, atol=0)
    cl = batch.float().contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(ops.harris_response(cl, 2, 3, 0.04, 4), ops.harris_response(batch.float(), 2, 3, 0.04, 4),
                               rtol=0, atol=0)


@pytest.mark.parametrize("block_size", [2, 3, 7, 9])
def test_large_batch_split_over_threads_matches_cv2(camera, block_size):
    # Over a million pixels, so row tiles of every image are shared between threads; block
    # sizes 2..7 take the fused sum-and-score pass, 9 the general one.
    imgs = np.stack([np.roll(camera, 37 * i, axis=1) for i in range(5)]).astype(np.float32) / 255
    out = ops.harris_response(torch.from_numpy(imgs)[:, None], block_size, 3, 0.04, 4)
    for i, img in enumerate(imgs):
        ref = cv2.cornerHarris(img, block_size, 3, 0.04)
        assert _max_rel(out[i, 0].numpy(), ref) <= 1e-5
        torch.testing.assert_close(out[i, 0], ops.harris_response(torch.from_numpy(img), block_size, 3, 0.04, 4),
                                   rtol=0, atol=0)
    eig = ops.min_eigen_response(torch.from_numpy(imgs)[:, None], block_size, 3, 4)
    assert _max_rel(eig[2, 0].numpy(), cv2.cornerMinEigenVal(imgs[2], block_size, 3)) <= 1e-5


@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (2, 2), (3, 4), (5, 1)])
def test_tiny_images_match_cv2(shape):
    img = (np.random.default_rng(3).random(shape) * 255).astype(np.uint8)
    for border in BORDERS:
        for ksize in (3, 7):
            ref = cv2.cornerHarris(img, 5, ksize, 0.04, borderType=border)
            ours = ops.harris_response(torch.from_numpy(img), 5, ksize, 0.04, border).numpy()
            np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6 * max(np.abs(ref).max(), 1e-30))


def test_empty_inputs_give_empty_outputs():
    for shape in [(0, 1, 8, 8), (0, 5), (4, 0)]:
        img = torch.zeros(shape, dtype=torch.uint8)
        assert ops.harris_response(img, 2, 3, 0.04, 4).shape == shape
        xy, sc, cnt = ops.fast(img, 10, True, 16, 0)
        assert xy.shape[-1] == 2 and int(cnt.sum()) == 0
        xy, sc, cnt = ops.good_features_to_track(img, 10, 0.01, 1.0, 3, 3, False, 0.04, None)
        assert int(cnt.sum()) == 0
    xy, sc, cnt = ops.fast(torch.full((6, 6), 7, dtype=torch.uint8), 0, True, 16, 0)
    assert int(cnt[0]) == 0


def _fast_ref(img, threshold, nonmax, pattern):
    kps = cv2.FastFeatureDetector_create(threshold, nonmax, FAST_TYPES[pattern]).detect(img)
    return sorted((-kp.response, kp.pt[1], kp.pt[0]) for kp in kps)


def _fast_ours(img, threshold, nonmax, pattern, i=0):
    xy, sc, cnt = ops.fast(torch.from_numpy(img), threshold, nonmax, pattern, 0)
    n = int(cnt[i])
    return [(-float(sc[i, j]), float(xy[i, j, 1]), float(xy[i, j, 0])) for j in range(n)]


@pytest.mark.parametrize("pattern", [16, 12, 8])
def test_fast_matches_cv2(camera, astronaut, pattern):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    noise = (np.random.default_rng(5).random((90, 120)) * 255).astype(np.uint8)
    for img in (camera, gray, noise):
        for threshold in (0, 10, 35):
            for nonmax in (True, False):
                ref = _fast_ref(img, threshold, nonmax, pattern)
                ours = _fast_ours(img, threshold, nonmax, pattern)
                assert len(ref) > 0
                assert ours == ref, (threshold, nonmax)  # same points, same scores, score-then-raster order


def test_fast_batch_and_max_keypoints(camera):
    imgs = torch.stack([torch.from_numpy(camera), torch.from_numpy(camera).flip(1).contiguous()])[:, None]
    xy, sc, cnt = ops.fast(imgs, 20, True, 16, 0)
    for i in range(2):
        x1, s1, c1 = ops.fast(imgs[i, 0], 20, True, 16, 0)
        assert int(cnt[i]) == int(c1[0])
        torch.testing.assert_close(xy[i, :int(cnt[i])], x1[0, :int(c1[0])], rtol=0, atol=0)
    assert (xy[0, int(cnt[0]):] == 0).all()
    xy5, sc5, cnt5 = ops.fast(imgs, 20, True, 16, 5)
    assert xy5.shape == (2, 5, 2) and cnt5.tolist() == [5, 5]
    torch.testing.assert_close(xy5, xy[:, :5], rtol=0, atol=0)
    assert (sc5[:, :-1] >= sc5[:, 1:]).all()


def _gftt_ref(img, max_corners, q, md, bs, gs, harris, mask=None):
    ref = cv2.goodFeaturesToTrack(img, max_corners, q, md, mask=mask, blockSize=bs, gradientSize=gs,
                                  useHarrisDetector=harris, k=0.04)
    return np.zeros((0, 2), np.float32) if ref is None else ref.reshape(-1, 2)


GFTT_CASES = [(1000, 0.01, 1.0, 3, 3, False), (0, 0.02, 10.0, 3, 3, False), (50, 0.05, 5.5, 5, 5, True),
              (200, 0.001, 0.0, 2, 3, False), (100, 0.01, 3.0, 7, -1, True)]


@pytest.mark.parametrize("case", GFTT_CASES, ids=[str(c) for c in GFTT_CASES])
def test_gftt_matches_cv2(camera, astronaut, case):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    for img in (camera, gray, camera.astype(np.float32) / 255):
        ref = _gftt_ref(img, *case)
        xy, sc, cnt = ops.good_features_to_track(torch.from_numpy(img), *case, 0.04, None)
        ours = xy[0, :int(cnt[0])].numpy()
        assert len(ref) > 0
        np.testing.assert_array_equal(ours, ref)
        if case[0] > 0:
            assert xy.shape == (1, case[0], 2)


def test_gftt_mask_and_scores(camera):
    mask = np.zeros_like(camera)
    mask[100:300, 50:400] = 1
    ref = _gftt_ref(camera, 100, 0.01, 5.0, 3, 3, False, mask)
    xy, sc, cnt = ops.good_features_to_track(torch.from_numpy(camera), 100, 0.01, 5.0, 3, 3, False, 0.04,
                                             torch.from_numpy(mask).bool())
    np.testing.assert_array_equal(xy[0, :int(cnt[0])].numpy(), ref)
    eig = ops.min_eigen_response(torch.from_numpy(camera), 3, 3, 4)
    pts = xy[0, :int(cnt[0])].long()
    torch.testing.assert_close(sc[0, :int(cnt[0])], eig[pts[:, 1], pts[:, 0]], rtol=0, atol=0)


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_bad_inputs_have_clear_errors(device):
    # Both devices run the same checks (csrc/ops/corners_common.h), so the same words.
    img = torch.rand(3, 16, 16, device=device)
    with pytest.raises(RuntimeError, match=r"single channel .*C=1.*grayscale"):
        ops.harris_response(img, 2, 3, 0.04, 4)
    with pytest.raises(RuntimeError, match=r"image dtype must be uint8, float32 or float64, got Int"):
        ops.harris_response(torch.zeros(8, 8, dtype=torch.int32, device=device), 2, 3, 0.04, 4)
    with pytest.raises(RuntimeError, match=r"ksize must be 1, 3, 5, 7 or -1 \(Scharr\), got 2"):
        ops.harris_response(img[0], 2, 2, 0.04, 4)
    with pytest.raises(RuntimeError, match=r"block_size must be in \[1, 31\], got 0"):
        ops.min_eigen_response(img[0], 0, 3, 4)
    with pytest.raises(RuntimeError, match=r"border must be 0 \(constant\).*got 3"):
        ops.min_eigen_response(img[0], 3, 3, 3)
    with pytest.raises(RuntimeError, match=r"image must have shape \(H, W\)"):
        ops.harris_response(torch.rand(5, device=device), 2, 3, 0.04, 4)
    u8 = torch.zeros(16, 16, dtype=torch.uint8, device=device)
    with pytest.raises(RuntimeError, match=r"fast: threshold must be in \[0, 255\].*got -1"):
        ops.fast(u8, -1, True, 16, 0)
    with pytest.raises(RuntimeError, match=r"fast: image dtype must be uint8.*got Float.*to\(torch.uint8\)"):
        ops.fast(u8.float(), 10, True, 16, 0)
    with pytest.raises(RuntimeError, match=r"pattern must be 16 \(type 9_16\), 12 \(7_12\) or 8 \(5_8\), got 10"):
        ops.fast(u8, 10, True, 10, 0)
    with pytest.raises(RuntimeError, match=r"quality_level must be > 0"):
        ops.good_features_to_track(u8, 10, 0.0, 1.0, 3, 3, False, 0.04, None)
    with pytest.raises(RuntimeError, match=r"gradient_size must be 1, 3, 5, 7 or -1"):
        ops.good_features_to_track(u8, 10, 0.01, 1.0, 3, 4, False, 0.04, None)
    with pytest.raises(RuntimeError, match=r"mask must have shape \(H, W\) = \(16, 16\)"):
        ops.good_features_to_track(u8, 10, 0.01, 1.0, 3, 3, False, 0.04,
                                   torch.ones(8, 8, dtype=torch.uint8, device=device))


@pytest.mark.cuda
def test_mask_on_another_device_is_named():
    # A CUDA mask sends a CPU image to the CUDA kernel: the mask check, not a device guard, answers.
    u8 = torch.zeros(16, 16, dtype=torch.uint8)
    mask = torch.ones(16, 16, dtype=torch.bool)
    with pytest.raises(RuntimeError, match=r"mask must be on the image's device \(cpu\), got cuda"):
        ops.good_features_to_track(u8, 10, 0.01, 1.0, 3, 3, False, 0.04, mask.cuda())
    with pytest.raises(RuntimeError, match=r"mask must be on the image's device \(cuda:0\), got cpu"):
        ops.good_features_to_track(u8.cuda(), 10, 0.01, 1.0, 3, 3, False, 0.04, mask)


def _opcheck_inputs():
    img = torch.rand(2, 1, 12, 14)
    return img, img.clone().requires_grad_(True)


def test_opcheck_responses():
    for img in _opcheck_inputs():
        torch.library.opcheck(ops.harris_response.default, (img, 3, 3, 0.04, 4))
        torch.library.opcheck(ops.min_eigen_response.default, (img, 2, -1, 1))
    u8 = (torch.rand(12, 14) * 255).to(torch.uint8)
    torch.library.opcheck(ops.harris_response.default, (u8, 2, 3, 0.04, 0))


def test_opcheck_keypoints(camera):
    img = torch.from_numpy(camera[:64, :64].copy())
    for limit in (0, 7):
        torch.library.opcheck(ops.fast.default, (img, 20, True, 16, limit))
        torch.library.opcheck(ops.good_features_to_track.default, (img, limit, 0.01, 3.0, 3, 3, False, 0.04, None))


@pytest.mark.parametrize("border", [0, 2, 4])
def test_gradcheck_responses(border):
    img = torch.rand(1, 1, 7, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: ops.harris_response(x, 2, 3, 0.04, border), (img,))
    assert torch.autograd.gradcheck(lambda x: ops.harris_response(x, 3, -1, 0.06, border), (img,))
    assert torch.autograd.gradcheck(lambda x: ops.min_eigen_response(x, 3, 5, border), (img,))


def test_torch_compile_fullgraph():
    img = torch.rand(2, 1, 20, 24)

    @torch.compile(fullgraph=True, backend="eager")
    def pipeline(x):
        r = ops.harris_response(x, 2, 3, 0.04, 4)
        return r * 2.0, ops.fast((x[:, :] * 255).to(torch.uint8), 10, True, 16, 4)

    r, (xy, sc, cnt) = pipeline(img)
    torch.testing.assert_close(r, ops.harris_response(img, 2, 3, 0.04, 4) * 2.0)
    assert xy.shape == (2, 4, 2)


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_cpu_cuda_parity(device, camera):
    img = torch.from_numpy(camera)
    dev = img.to(device)
    for border in BORDERS:
        torch.testing.assert_close(ops.harris_response(dev, 3, 5, 0.04, border).cpu(),
                                   ops.harris_response(img, 3, 5, 0.04, border), rtol=0, atol=0)
        torch.testing.assert_close(ops.min_eigen_response(dev.float(), 4, -1, border).cpu(),
                                   ops.min_eigen_response(img.float(), 4, -1, border), rtol=0, atol=0)
    for pattern in (16, 12, 8):
        for a, b in zip(ops.fast(dev, 15, True, pattern, 0), ops.fast(img, 15, True, pattern, 0)):
            torch.testing.assert_close(a.cpu(), b, rtol=0, atol=0)
    for case in GFTT_CASES:
        for a, b in zip(ops.good_features_to_track(dev, *case, 0.04, None),
                        ops.good_features_to_track(img, *case, 0.04, None)):
            torch.testing.assert_close(a.cpu(), b, rtol=0, atol=0)


def _assert_same_on_cuda(fn, *args):
    """fn(*args) on CUDA equals fn(*args) on the CPU bit for bit (tensors moved, others as they are)."""
    cuda_args = [a.cuda() if isinstance(a, torch.Tensor) else a for a in args]
    ours, ref = fn(*cuda_args), fn(*args)
    for a, b in zip(ours if isinstance(ours, tuple) else (ours,), ref if isinstance(ref, tuple) else (ref,)):
        assert a.is_cuda
        torch.testing.assert_close(a.cpu(), b, rtol=0, atol=0)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32, torch.float64])
def test_cuda_response_every_window_and_border(dtype):
    # Images smaller than a 32x8 tile and ones crossing tile edges; windows up to 31 (the
    # shared tile needs more than 48 KiB in float64); a non-contiguous view.
    g = torch.Generator().manual_seed(7)
    for shape in [(1, 1), (3, 5), (9, 33), (2, 1, 37, 70)]:
        img = (torch.rand(shape, generator=g, dtype=torch.float64) * 255).to(dtype)
        for border in BORDERS:
            for ksize in KSIZES:
                for bs in (1, 2, 5, 8, 31):
                    _assert_same_on_cuda(ops.harris_response, img, bs, ksize, 0.04, border)
                    _assert_same_on_cuda(ops.min_eigen_response, img, bs, ksize, border)
    view = (torch.rand(40, 50, generator=g) * 255).to(dtype).t()
    _assert_same_on_cuda(ops.harris_response, view, 3, 3, 0.04, 4)


@pytest.mark.cuda
def test_cuda_grid_limits_large_batch_and_tall_image():
    # gridDim.y and gridDim.z stop at 65535: 70000 images, and an image of 66250 tile rows.
    g = torch.Generator().manual_seed(3)
    many = (torch.rand(70000, 1, 8, 8, generator=g) * 255).to(torch.uint8)
    tall = (torch.rand(530000, 8, generator=g) * 255).to(torch.uint8)
    for img in (many, tall):
        _assert_same_on_cuda(ops.harris_response, img, 3, 3, 0.04, 4)
        _assert_same_on_cuda(ops.fast, img, 10, True, 16, 0)
        _assert_same_on_cuda(ops.good_features_to_track, img, 5, 0.01, 1.0, 3, 3, False, 0.04, None)


@pytest.mark.cuda
def test_cuda_empty_batches_and_masks():
    for shape in [(0, 1, 8, 8), (0, 5), (4, 0), (2, 1, 5, 6)]:
        img = (torch.rand(shape) * 255).to(torch.uint8)
        mask = torch.ones(shape[-2:], dtype=torch.bool)
        _assert_same_on_cuda(ops.harris_response, img, 2, 3, 0.04, 4)
        _assert_same_on_cuda(ops.fast, img, 10, True, 16, 3)
        for limit in (0, 4):
            _assert_same_on_cuda(ops.good_features_to_track, img, limit, 0.01, 1.0, 3, 3, False, 0.04, mask)
