"""Property-based tests of the issue-12/13 feature ops against their peers: tiny and odd image sizes (1x1,
below every stencil), strided layouts and parameter extremes. Each call runs in the sandbox child, so a
crash or an out-of-bounds access (under `make sanitize`) fails its example with a reproducer; where the
peer refuses an input, ours must refuse it with an error, not crash."""
import cv2
import numpy as np
import pytest
import torch
from fuzzing import sandbox  # noqa: F401  (fixture)
from hypothesis import given
from hypothesis import strategies as st
from sandbox import OpError
from skimage import feature as skf
from skimage import measure

F = "vision_ext.features:"
LBP_METHODS = ("default", "ror", "uniform", "nri_uniform", "var")
GLCM_PROPS = ("contrast", "dissimilarity", "homogeneity", "ASM", "energy", "correlation", "mean", "variance",
              "std", "entropy")


@st.composite
def u8_images(draw, max_side=24, colour=False, low=0, high=256):
    h, w = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31 - 1)))
    shape = (h, w, 3) if colour else (h, w)
    img = rng.integers(low, high, shape, dtype=np.uint8)
    if draw(st.booleans()):  # blocky: long runs and flat areas, where ties and plateaus live
        img = np.repeat(np.repeat(img[::3, ::3], 3, 0), 3, 1)[:h, :w]
    return np.ascontiguousarray(img)


def _strided(img: np.ndarray, strided: bool):
    """The same pixels as a tensor whose rows are not contiguous (a column slice of a wider one)."""
    t = torch.from_numpy(img)
    if not strided:
        return t
    wide = torch.zeros((t.shape[0], 2 * t.shape[1]) + tuple(t.shape[2:]), dtype=t.dtype)
    wide[:, ::2] = t
    return wide[:, ::2]


def _peer(fn, *args, **kwargs):
    """The peer's answer, or the exception type it raised (then ours must raise too)."""
    try:
        return fn(*args, **kwargs), None
    except (ValueError, IndexError, RuntimeError) as e:
        return None, e


@given(img=u8_images(colour=False) | u8_images(colour=True), low=st.integers(0, 300), high=st.integers(0, 300),
       aperture=st.sampled_from([3, 5, 7]), l2=st.booleans(), strided=st.booleans())
def test_canny_equals_cv2(sandbox, img, low, high, aperture, l2, strided):
    t = _strided(img, strided)
    if img.ndim == 3:  # torch images are (C, H, W): here a channels-last view of the (H, W, 3) pixels
        t = t.permute(2, 0, 1)
    got = sandbox.call(F + "canny", t, float(low), float(high), aperture, l2)
    want = cv2.Canny(img, low, high, apertureSize=aperture, L2gradient=l2)
    np.testing.assert_array_equal(np.asarray(got).reshape(want.shape), want)


@given(img=u8_images(max_side=20), P=st.integers(1, 16), R=st.floats(0.5, 4.0), method=st.sampled_from(LBP_METHODS),
       strided=st.booleans())
def test_lbp_equals_skimage(sandbox, img, P, R, method, strided):
    want, refused = _peer(skf.local_binary_pattern, img, P, R, method)
    if refused is not None:
        with pytest.raises(OpError):
            sandbox.call(F + "local_binary_pattern", _strided(img, strided), P, R, method)
        return
    got = np.asarray(sandbox.call(F + "local_binary_pattern", _strided(img, strided), P, R, method))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, equal_nan=True)


@given(img=u8_images(max_side=16, high=8), distances=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       angles=st.lists(st.sampled_from([0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4, 1.0]), min_size=1, max_size=3),
       symmetric=st.booleans(), normed=st.booleans())
def test_glcm_and_props_equal_skimage(sandbox, img, distances, angles, symmetric, normed):
    want = skf.graycomatrix(img, distances, angles, levels=8, symmetric=symmetric, normed=normed)
    got = np.asarray(sandbox.call(F + "graycomatrix", img, distances, angles, 8, symmetric, normed))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    for prop in GLCM_PROPS:
        with np.errstate(all="ignore"):
            ref = skf.graycoprops(want, prop)
        np.testing.assert_allclose(np.asarray(sandbox.call(F + "graycoprops", got, prop)), ref, rtol=1e-10,
                                   atol=1e-12, equal_nan=True, err_msg=prop)


@given(img=u8_images(max_side=40) | u8_images(max_side=40, colour=True), ppc=st.integers(1, 9), cpb=st.integers(1, 4),
       norm=st.sampled_from(["L1", "L1-sqrt", "L2", "L2-Hys"]), orientations=st.integers(1, 12))
def test_hog_equals_skimage_or_refuses(sandbox, img, ppc, cpb, norm, orientations):
    axis = -1 if img.ndim == 3 else None
    kwargs = dict(orientations=orientations, pixels_per_cell=(ppc, ppc), cells_per_block=(cpb, cpb), block_norm=norm,
                  channel_axis=axis)
    with np.errstate(all="ignore"):
        want, refused = _peer(skf.hog, img, **kwargs)
    if refused is not None or want.size == 0:
        try:  # skimage raises, or returns nothing, when no block fits: ours raises or returns nothing too
            got = sandbox.call(F + "hog", img, **kwargs)
        except OpError:
            return
        assert np.asarray(got).size == 0
        return
    got = np.asarray(sandbox.call(F + "hog", img, **kwargs))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


@given(img=u8_images(max_side=20), level=st.floats(0.5, 254.5) | st.none(), strided=st.booleans())
def test_find_contours_equal_skimage(sandbox, img, level, strided):
    f64 = img.astype(np.float64)
    if min(img.shape) < 2:  # skimage refuses these; ours has no cell to march: no contours (batch semantics)
        assert sandbox.call(F + "find_contours", _strided(f64, strided), level) == []
        return
    want = measure.find_contours(f64, level)
    got = sandbox.call(F + "find_contours", _strided(f64, strided), level)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(np.asarray(a), b, rtol=0, atol=1e-12)


@given(batch=st.integers(1, 3), h=st.integers(1, 12), w=st.integers(1, 12), bins=st.integers(1, 300),
       seed=st.integers(0, 2 ** 31 - 1), masked=st.booleans())
def test_color_histogram_equals_numpy(sandbox, batch, h, w, bins, seed, masked):
    rng = np.random.default_rng(seed)
    imgs = rng.integers(0, 256, (batch, 3, h, w), dtype=np.uint8)
    mask = rng.integers(0, 2, (batch, h, w), dtype=np.uint8) if masked else None
    got = np.asarray(sandbox.call(F + "color_histogram", torch.from_numpy(imgs), bins,
                                  mask=None if mask is None else torch.from_numpy(mask)))
    for n in range(batch):
        for c in range(3):
            px = imgs[n, c][mask[n] > 0] if masked else imgs[n, c].ravel()
            want = cv2.calcHist([np.ascontiguousarray(px.reshape(-1, 1))], [0], None, [bins], [0, 256]).ravel()
            np.testing.assert_array_equal(got[n, c], want)


@given(h=st.integers(1, 16), w=st.integers(1, 16), labels=st.integers(1, 5), seed=st.integers(0, 2 ** 31 - 1))
def test_shape_features_moments_equal_cv2(sandbox, h, w, labels, seed):
    lab = np.random.default_rng(seed).integers(0, labels + 1, (h, w)).astype(np.int32)
    got = sandbox.call(F + "shape_features", torch.from_numpy(lab))
    present = [v for v in range(1, labels + 1) if (lab == v).any()]
    assert list(np.asarray(got.label)) == present
    keys = ("m00", "m10", "m01", "m20", "m11", "m02", "m30", "m21", "m12", "m03")
    for row, v in enumerate(present):
        m = cv2.moments((lab == v).astype(np.uint8), binaryImage=True)
        np.testing.assert_array_equal(np.asarray(got.moments)[row], [m[k] for k in keys])
        np.testing.assert_allclose(np.asarray(got.moments_hu)[row], cv2.HuMoments(m).ravel(), rtol=1e-9, atol=1e-12)


@given(img=u8_images(max_side=80), n_features=st.integers(1, 60), levels=st.integers(1, 4),
       edge=st.integers(1, 31), patch=st.sampled_from([7, 15, 31]), fast=st.integers(1, 60))
def test_orb_never_crashes_and_repeats_itself(sandbox, img, n_features, levels, edge, patch, fast):
    args = (torch.from_numpy(img), n_features, 1.2, levels, edge, fast, patch)
    kp, desc = sandbox.call(F + "orb", *args)
    again = sandbox.call(F + "orb", *args)
    count = int(np.asarray(kp.counts).reshape(-1)[0])
    assert 0 <= count <= n_features and desc.shape[-1] == 32
    assert torch.equal(desc, again[1]) and torch.equal(kp.xy, again[0].xy)


@given(n1=st.integers(0, 40), n2=st.integers(0, 40), seed=st.integers(0, 2 ** 31 - 1), few_bits=st.booleans())
def test_match_descriptors_equal_bfmatcher(sandbox, n1, n2, seed, few_bits):
    rng = np.random.default_rng(seed)
    high = 2 if few_bits else 256  # few distinct bits: many equal distances, where the tie rule decides
    d1, d2 = (rng.integers(0, high, (n, 32), dtype=np.uint8) for n in (n1, n2))
    got = sandbox.call(F + "match_descriptors", torch.from_numpy(d1), torch.from_numpy(d2))
    index, distance = np.asarray(got.index).reshape(-1), np.asarray(got.distance).reshape(-1)
    want = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(d1, d2) if n1 and n2 else []
    assert {(m.queryIdx, m.trainIdx, int(m.distance)) for m in want} == \
        {(q, int(index[q]), int(distance[q])) for q in range(n1) if index[q] >= 0}


@given(h=st.integers(1, 16), w=st.integers(1, 16), seed=st.integers(0, 2 ** 31 - 1), max_sigma=st.floats(1.0, 6.0),
       num_sigma=st.integers(1, 5), threshold=st.floats(0.01, 0.3), log_scale=st.booleans())
def test_blob_log_equals_skimage(sandbox, h, w, seed, max_sigma, num_sigma, threshold, log_scale):
    img = np.random.default_rng(seed).random((h, w))
    want, refused = _peer(skf.blob_log, img, 1.0, max_sigma, num_sigma, threshold, 0.5, log_scale)
    if refused is not None:
        with pytest.raises(OpError):
            sandbox.call(F + "blob_log", img, 1.0, max_sigma, num_sigma, threshold, 0.5, log_scale)
        return
    got = np.asarray(sandbox.call(F + "blob_log", img, 1.0, max_sigma, num_sigma, threshold, 0.5, log_scale))
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-12, atol=1e-12)
