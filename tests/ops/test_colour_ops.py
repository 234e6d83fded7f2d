"""torch.ops.vision_ext colour ops: histograms equal to cv2.calcHist and np.histogram / np.histogramdd,
moments equal to a float64 numpy formula and scipy.stats, the Di Zenzo gradient equal to a float64
cv2.Sobel formula; opcheck, gradcheck, bad inputs, tiny images, every CPU level."""
import cv2
import numpy as np
import pytest
import scipy.stats
import torch
from skimage import data

import vision_ext  # noqa: F401
from helpers.opencv import no_ipp  # noqa: F401  (autouse)
from tests.conftest import run_at_every_level

ops = torch.ops.vision_ext
CV2, NUMPY = 0, 1


def _astronaut(size=None):
    img = data.astronaut()
    if size is not None:
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
    return img  # HxWx3 uint8


def _chw(img):
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(img, 2, 0)))


def _edge_floats(shape, bins, lo, hi, seed, dtype=np.float32):
    """Random values plus values exactly on bin edges, on both range ends and outside the range."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(lo - 0.2 * (hi - lo), hi + 0.2 * (hi - lo), size=shape)
    edges = np.linspace(lo, hi, bins + 1)
    flat = x.reshape(-1)
    flat[: 4 * (bins + 1)] = np.tile(edges, 4)
    flat[-3:] = [lo, hi, np.nextafter(hi, lo)]
    return x.astype(dtype)


def _cv2_hist(plane, bins, lo, hi, mask=None):
    return cv2.calcHist([plane], [0], mask, [bins], [lo, hi]).reshape(-1).astype(np.int64)


# ---- per-channel histograms -------------------------------------------------------------------------

@pytest.mark.parametrize("bins,lo,hi", [(256, 0, 256), (10, 5.5, 200.3), (7, 0, 255), (300, -20, 280)])
def test_histogram_uint8_equals_calchist(bins, lo, hi):
    img = _astronaut((97, 83))
    out = ops.color_histogram(_chw(img)[None], [bins] * 3, [lo] * 3, [hi] * 3, None, False, CV2)
    ref = np.concatenate([_cv2_hist(np.ascontiguousarray(img[..., c]), bins, lo, hi) for c in range(3)])
    assert out.dtype == torch.int64 and out.shape == (1, 3 * bins)
    np.testing.assert_array_equal(out[0].numpy(), ref)


@pytest.mark.parametrize("bins,lo,hi", [(16, 0.0, 1.0), (10, -1.3, 2.7), (255, 0.1, 0.9)])
def test_histogram_float32_equals_calchist(bins, lo, hi):
    x = _edge_floats((3, 41, 57), bins, lo, hi, seed=bins)
    out = ops.color_histogram(torch.from_numpy(x)[None], [bins] * 3, [lo] * 3, [hi] * 3, None, False, CV2)
    ref = np.concatenate([_cv2_hist(x[c], bins, lo, hi) for c in range(3)])
    np.testing.assert_array_equal(out[0].numpy(), ref)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("bins,lo,hi", [(16, 0.0, 1.0), (10, -1.3, 2.7), (256, 0.0, 255.0), (37, 3.0, 200.0)])
def test_histogram_equals_np_histogram(dtype, bins, lo, hi):
    if dtype == np.uint8:
        x = _chw(_astronaut((61, 47))).numpy()
    else:
        x = _edge_floats((3, 29, 31), bins, lo, hi, seed=7, dtype=dtype)
    out = ops.color_histogram(torch.from_numpy(x)[None], [bins] * 3, [lo] * 3, [hi] * 3, None, False, NUMPY)
    ref = np.concatenate([np.histogram(x[c], bins=bins, range=(lo, hi))[0] for c in range(3)])
    np.testing.assert_array_equal(out[0].numpy(), ref)


def test_histogram_bins_and_ranges_per_channel():
    x = _edge_floats((3, 23, 19), 8, 0.0, 1.0, seed=3)
    bins, ranges = [4, 9, 13], [(0.0, 1.0), (-0.5, 0.5), (0.25, 1.2)]
    for code, ref_fn in [(CV2, lambda p, n, r: _cv2_hist(p, n, *r)),
                         (NUMPY, lambda p, n, r: np.histogram(p, bins=n, range=r)[0])]:
        out = ops.color_histogram(torch.from_numpy(x)[None], bins, [r[0] for r in ranges], [r[1] for r in ranges],
                                  None, False, code)
        ref = np.concatenate([ref_fn(x[c], bins[c], ranges[c]) for c in range(3)])
        np.testing.assert_array_equal(out[0].numpy(), ref)


def test_histogram_batch_and_mask_equal_calchist():
    imgs = [_astronaut((45, 38)), np.ascontiguousarray(_astronaut((45, 38))[::-1])]
    batch = torch.stack([_chw(i) for i in imgs])
    rng = np.random.default_rng(0)
    masks = (rng.random((2, *imgs[0].shape[:2])) > 0.4).astype(np.uint8)
    for mask in (torch.from_numpy(masks), torch.from_numpy(masks).bool()[:, None]):
        out = ops.color_histogram(batch, [32] * 3, [0.0] * 3, [256.0] * 3, mask, False, CV2)
        for b in range(2):
            ref = np.concatenate([_cv2_hist(np.ascontiguousarray(imgs[b][..., c]), 32, 0, 256, masks[b])
                                  for c in range(3)])
            np.testing.assert_array_equal(out[b].numpy(), ref)
    shared = ops.color_histogram(batch, [32] * 3, [0.0] * 3, [256.0] * 3, torch.from_numpy(masks[0]), False, CV2)
    ref = np.concatenate([_cv2_hist(np.ascontiguousarray(imgs[1][..., c]), 32, 0, 256, masks[0]) for c in range(3)])
    np.testing.assert_array_equal(shared[1].numpy(), ref)


def test_histogram_float_mask_and_nan():
    """NaN is never counted (documented: cv2.calcHist puts NaN in bin 0, numpy drops it)."""
    x = _edge_floats((2, 17, 23), 12, 0.0, 1.0, seed=5)
    mask = np.random.default_rng(1).random((17, 23)) > 0.5
    x[0, 3, 4] = np.nan
    out = ops.color_histogram(torch.from_numpy(x)[None], [12, 12], [0.0] * 2, [1.0] * 2,
                              torch.from_numpy(mask), False, NUMPY)
    ref = np.concatenate([np.histogram(x[c][mask & ~np.isnan(x[c])], bins=12, range=(0, 1))[0] for c in range(2)])
    np.testing.assert_array_equal(out[0].numpy(), ref)


def test_histogram_empty_mask_is_zeros():
    img = _chw(_astronaut((16, 16)))[None]
    out = ops.color_histogram(img, [8] * 3, [0.0] * 3, [256.0] * 3, torch.zeros(16, 16, dtype=torch.bool), False, CV2)
    assert out.shape == (1, 24) and int(out.abs().sum()) == 0
    ref = _cv2_hist(np.ascontiguousarray(_astronaut((16, 16))[..., 0]), 8, 0, 256, np.zeros((16, 16), np.uint8))
    assert ref.sum() == 0


def test_histogram_large_plane_is_chunked():
    """One 1024x700 plane splits into private histograms merged at the end (the chunked path)."""
    img = _astronaut((700, 1024))
    out = ops.color_histogram(_chw(img)[None], [256] * 3, [0.0] * 3, [256.0] * 3, None, False, CV2)
    ref = np.concatenate([_cv2_hist(np.ascontiguousarray(img[..., c]), 256, 0, 256) for c in range(3)])
    np.testing.assert_array_equal(out[0].numpy(), ref)
    f = img.astype(np.float32) / 255.0
    out = ops.color_histogram(_chw(f)[None], [50] * 3, [0.0] * 3, [1.0] * 3, None, False, CV2)
    ref = np.concatenate([_cv2_hist(np.ascontiguousarray(f[..., c]), 50, 0, 1) for c in range(3)])
    np.testing.assert_array_equal(out[0].numpy(), ref)


# ---- joint histograms -------------------------------------------------------------------------------

@pytest.mark.parametrize("bins", [[8, 8, 8], [4, 6, 5]])
def test_joint_uint8_equals_calchist(bins):
    img = _astronaut((53, 61))
    mask = (np.random.default_rng(2).random(img.shape[:2]) > 0.3).astype(np.uint8)
    out = ops.color_histogram(_chw(img)[None], bins, [0.0] * 3, [256.0] * 3, torch.from_numpy(mask), True, CV2)
    ref = cv2.calcHist([img], [0, 1, 2], mask, bins, [0, 256] * 3)
    np.testing.assert_array_equal(out[0].numpy().reshape(bins), ref.astype(np.int64))


def test_joint_float32_equals_calchist():
    x = _edge_floats((3, 31, 37), 6, 0.0, 1.0, seed=11)
    bins = [6, 5, 7]
    out = ops.color_histogram(torch.from_numpy(x)[None], bins, [0.0, -0.1, 0.2], [1.0, 0.9, 1.1], None, True, CV2)
    ref = cv2.calcHist([np.ascontiguousarray(np.moveaxis(x, 0, 2))], [0, 1, 2], None, bins,
                       [0.0, 1.0, -0.1, 0.9, 0.2, 1.1])
    np.testing.assert_array_equal(out[0].numpy().reshape(bins), ref.astype(np.int64))


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_joint_equals_histogramdd(dtype):
    if dtype == np.uint8:
        x = _chw(_astronaut((40, 44))).numpy()
        ranges = [(0.0, 255.0), (10.0, 200.0), (0.0, 256.0)]
    else:
        x = _edge_floats((3, 27, 33), 5, 0.0, 1.0, seed=13, dtype=dtype)
        ranges = [(0.0, 1.0), (-0.2, 0.8), (0.1, 1.0)]
    bins = [5, 4, 3]
    out = ops.color_histogram(torch.from_numpy(x)[None], bins, [r[0] for r in ranges], [r[1] for r in ranges],
                              None, True, NUMPY)
    ref, _ = np.histogramdd(x.reshape(3, -1).T, bins=bins, range=ranges)
    np.testing.assert_array_equal(out[0].numpy().reshape(bins), ref.astype(np.int64))


# ---- moments ----------------------------------------------------------------------------------------

def _np_moments(x, mask=None):
    """(C, 3): mean, mean((x - mean)^2), mean((x - mean)^3) per channel in float64."""
    out = []
    for plane in x:
        v = plane.astype(np.float64)[mask] if mask is not None else plane.astype(np.float64).reshape(-1)
        mu = v.mean()
        out.append([mu, ((v - mu) ** 2).mean(), ((v - mu) ** 3).mean()])
    return np.array(out)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_moments_equal_numpy_and_scipy(dtype):
    img = _chw(_astronaut((71, 59))).numpy()
    x = img if dtype == np.uint8 else (img / 255.0).astype(dtype)
    out = ops.color_moments(torch.from_numpy(x)[None], None)[0].double().numpy()
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(out, _np_moments(x), rtol=rtol, atol=1e-12)
    v = x.reshape(3, -1).astype(np.float64)
    np.testing.assert_allclose(np.sqrt(out[:, 1]), v.std(axis=1), rtol=rtol)
    np.testing.assert_allclose(out[:, 2] / out[:, 1] ** 1.5, scipy.stats.skew(v, axis=1), rtol=max(rtol, 1e-10))


def test_moments_mask_batch_and_empty():
    x = np.random.default_rng(4).random((2, 3, 19, 23))
    mask = np.random.default_rng(5).random((2, 19, 23)) > 0.6
    mask[1] = False
    out = ops.color_moments(torch.from_numpy(x), torch.from_numpy(mask)).numpy()
    np.testing.assert_allclose(out[0], _np_moments(x[0], mask[0]), rtol=1e-12)
    assert np.isnan(out[1]).all()  # no kept pixel: NaN, as numpy's mean of an empty array


def test_moments_gradcheck():
    x = torch.rand(2, 3, 6, 5, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(2, 1, 6, 5) > 0.3
    assert torch.autograd.gradcheck(lambda t: ops.color_moments(t, None), (x,))
    assert torch.autograd.gradcheck(lambda t: ops.color_moments(t, mask), (x,))
    assert torch.autograd.gradgradcheck(lambda t: ops.color_moments(t, None), (x,))


# ---- Di Zenzo gradient ------------------------------------------------------------------------------

def _np_gradient(x, ksize):
    """Float64 reference: cv2.Sobel per channel (BORDER_REFLECT_101), the structure tensor, its eigenvalue."""
    sxx = sxy = syy = 0.0
    for plane in x.astype(np.float64):
        dx = cv2.Sobel(plane, cv2.CV_64F, 1, 0, ksize=ksize, borderType=cv2.BORDER_REFLECT_101)
        dy = cv2.Sobel(plane, cv2.CV_64F, 0, 1, ksize=ksize, borderType=cv2.BORDER_REFLECT_101)
        sxx, sxy, syy = sxx + dx * dx, sxy + dx * dy, syy + dy * dy
    lam = 0.5 * (sxx + syy + np.sqrt((sxx - syy) ** 2 + 4 * sxy ** 2))
    return np.sqrt(lam), 0.5 * np.arctan2(2 * sxy, sxx - syy)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("ksize", [3, 1, 5, 7, -1])
def test_gradient_equals_sobel_formula(dtype, ksize):
    img = _chw(_astronaut((37, 45))).numpy()
    x = img if dtype == np.uint8 else (img / 255.0).astype(dtype)
    mag, direction = ops.color_gradient(torch.from_numpy(x)[None], ksize)
    rmag, rdir = _np_gradient(x, ksize)
    rtol = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(mag[0].double().numpy(), rmag, rtol=rtol, atol=1e-9 * rmag.max())
    ok = rmag > 1e-6 * rmag.max()  # the direction of a zero gradient is atan2(0, 0) on both sides
    diff = np.abs(direction[0].double().numpy() - rdir)[ok]
    diff = np.minimum(diff, np.pi - diff)  # +-pi/2 are the same orientation
    assert diff.max() < (1e-9 if dtype == np.float64 else 1e-5)


def test_gradient_gradcheck():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 7, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: ops.color_gradient(t, 3), (x,))
    assert torch.autograd.gradcheck(lambda t: ops.color_gradient(t, 5)[0], (x,))


def test_gradient_batch_and_tiny_images():
    x = torch.from_numpy(np.random.default_rng(6).random((3, 2, 9, 4)))
    mag, _ = ops.color_gradient(x, 3)
    for b in range(3):
        np.testing.assert_allclose(mag[b].numpy(), _np_gradient(x[b].numpy(), 3)[0], rtol=1e-12, atol=1e-12)
    one = torch.full((1, 3, 1, 1), 7, dtype=torch.uint8)
    m1, d1 = ops.color_gradient(one, 3)
    assert m1.shape == (1, 1, 1) and float(m1) == 0.0 and float(d1) == 0.0
    h = ops.color_histogram(one, [4] * 3, [0.0] * 3, [256.0] * 3, None, False, CV2)
    assert h.tolist() == [[1, 0, 0, 0] * 3]
    np.testing.assert_array_equal(ops.color_moments(one, None)[0].numpy(), [[7, 0, 0]] * 3)


# ---- contract: opcheck, errors, levels --------------------------------------------------------------

def test_opcheck():
    u8 = _chw(_astronaut((12, 10)))[None].repeat(2, 1, 1, 1)
    f = (u8.double() / 255).requires_grad_()
    mask = torch.rand(2, 10, 12) > 0.5
    for img in (u8, f.detach().float()):
        torch.library.opcheck(ops.color_histogram.default, (img, [4, 5, 6], [0.0] * 3, [200.0] * 3, mask, False, CV2))
        torch.library.opcheck(ops.color_histogram.default, (img, [3, 2, 4], [0.0] * 3, [1.0] * 3, None, True, NUMPY))
    torch.library.opcheck(ops.color_moments.default, (f, mask))
    torch.library.opcheck(ops.color_moments.default, (u8, None))
    torch.library.opcheck(ops.color_gradient.default, (f, 3))
    torch.library.opcheck(ops.color_gradient.default, (u8, -1))


@pytest.mark.parametrize("call,match", [
    (lambda x: ops.color_histogram(x, [0] * 3, [0.0] * 3, [1.0] * 3, None, False, CV2), "bins must be in"),
    (lambda x: ops.color_histogram(x, [4] * 3, [1.0] * 3, [1.0] * 3, None, False, CV2), "low < high"),
    (lambda x: ops.color_histogram(x, [4] * 2, [0.0] * 3, [1.0] * 3, None, False, CV2), "one count per channel"),
    (lambda x: ops.color_histogram(x, [4] * 3, [0.0] * 3, [1.0] * 3, torch.ones(5, 6, dtype=torch.bool), False, CV2),
     "mask must have shape"),
    (lambda x: ops.color_histogram(x, [4] * 3, [0.0] * 3, [1.0] * 3, torch.ones(8, 9), False, CV2), "mask dtype"),
    (lambda x: ops.color_histogram(x, [4] * 3, [0.0] * 3, [1.0] * 3, None, False, 3), "edges must be"),
    (lambda x: ops.color_histogram(x, [512] * 3, [0.0] * 3, [1.0] * 3, None, True, CV2), "at most 2.24 bins"),
    (lambda x: ops.color_histogram(x, [10 ** 5] * 3, [1.0] * 3, [1.0 + 1e-12] * 3, None, False, NUMPY), "too many bins"),
    (lambda x: ops.color_histogram(x[0], [4] * 3, [0.0] * 3, [1.0] * 3, None, False, CV2), r"shape \(B, C, H, W\)"),
    (lambda x: ops.color_moments(x.int(), None), "dtype must be uint8, float32 or float64"),
    (lambda x: ops.color_gradient(x, 4), "ksize must be 1, 3, 5, 7 or -1"),
])
def test_bad_inputs(call, match):
    x = torch.rand(2, 3, 8, 9)
    with pytest.raises(RuntimeError, match=match):
        call(x)


def test_every_cpu_level_gives_the_same_bits():
    u8 = _chw(_astronaut((301, 257)))[None]
    f = (u8.float() / 255)
    mask = torch.rand(1, 257, 301, generator=torch.Generator().manual_seed(0)) > 0.5

    def run():
        return [ops.color_histogram(u8, [256] * 3, [0.0] * 3, [256.0] * 3, None, False, CV2),
                ops.color_histogram(u8, [8] * 3, [0.0] * 3, [256.0] * 3, mask, True, CV2),
                ops.color_histogram(f, [30] * 3, [0.0] * 3, [1.0] * 3, mask, False, NUMPY),
                ops.color_histogram(f, [30] * 3, [0.1] * 3, [0.9] * 3, None, False, CV2),
                ops.color_moments(f, mask), ops.color_moments(f.double(), None),
                *ops.color_gradient(f, 3), *ops.color_gradient(u8, 5)]

    results = run_at_every_level(run)
    first = next(iter(results.values()))
    for level, outs in results.items():
        for a, b in zip(first, outs):
            assert torch.equal(a, b), level
