"""vision_ext.features colour API: shapes and conventions of color_histogram / color_moments /
color_gradient, and grid_features against a loop over np.array_split crops (peers: cv2.calcHist,
np.histogram, numpy moments)."""
import cv2
import numpy as np
import pytest
import scipy.stats
import torch
from skimage import data

from vision_ext import features
from vision_ext.features import colour


def _rgb(size=(67, 53)):
    return np.ascontiguousarray(np.moveaxis(cv2.resize(data.astronaut(), size, interpolation=cv2.INTER_AREA), 2, 0))


def test_histogram_shapes_and_peers():
    x = _rgb()
    h = features.color_histogram(x)  # (C, H, W) numpy: unbatched, 256 bins over (0, 256)
    assert h.shape == (3, 256) and h.dtype == torch.int64
    for c in range(3):
        np.testing.assert_array_equal(h[c].numpy(), cv2.calcHist([x[c]], [0], None, [256], [0, 256]).reshape(-1))
    parts = features.color_histogram(torch.from_numpy(x)[None], bins=[4, 5, 6], ranges=(0, 255), edges="numpy")
    assert [tuple(p.shape) for p in parts] == [(1, 4), (1, 5), (1, 6)]
    for c, p in enumerate(parts):
        np.testing.assert_array_equal(p[0].numpy(), np.histogram(x[c], bins=4 + c, range=(0, 255))[0])
    j = features.color_histogram(x, bins=4, joint=True, edges="numpy")
    ref, _ = np.histogramdd(x.reshape(3, -1).T, bins=4, range=[(0, 256)] * 3)
    np.testing.assert_array_equal(j.numpy(), ref)
    gray = features.color_histogram(x[0], bins=8)
    assert gray.shape == (1, 8) and int(gray.sum()) == x[0].size


def test_histogram_argument_errors():
    x = _rgb()
    with pytest.raises(ValueError, match="edges"):
        features.color_histogram(x, edges="matlab")
    with pytest.raises(ValueError, match="bins"):
        features.color_histogram(x, bins=[4, 4])
    with pytest.raises(ValueError, match="images"):
        features.color_histogram(torch.zeros(1, 1, 1, 2, 2))


def test_moments_definitions():
    x = (_rgb() / 255.0).astype(np.float64)
    m = features.color_moments(x)
    v = x.reshape(3, -1)
    mu = v.mean(1, keepdims=True)
    np.testing.assert_allclose(m.mean.numpy(), mu[:, 0], rtol=1e-12)
    np.testing.assert_allclose(m.std.numpy(), v.std(1), rtol=1e-12)
    np.testing.assert_allclose(m.skewness.numpy(), np.cbrt(((v - mu) ** 3).mean(1)), rtol=1e-10)
    np.testing.assert_allclose(m.skewness_standardised.numpy(), scipy.stats.skew(v, axis=1), rtol=1e-10)
    t = torch.from_numpy(x).requires_grad_()
    features.color_moments(t).std.sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), (x - mu.reshape(3, 1, 1)) / (v.size // 3 * v.std(1).reshape(3, 1, 1)),
                               rtol=1e-9)


def test_gradient_unbatched():
    x = _rgb()
    mag, direction = features.color_gradient(x)
    assert mag.shape == direction.shape == x.shape[1:] and mag.dtype == torch.float32


def _loop_over_crops(x, g, fn):
    rows = np.array_split(np.arange(x.shape[-2]), g)
    cols = np.array_split(np.arange(x.shape[-1]), g)
    return np.stack([np.stack([fn(x[..., r[0]:r[-1] + 1, c[0]:c[-1] + 1]) for c in cols]) for r in rows])


@pytest.mark.parametrize("g", [1, 3, 4])
def test_grid_features_equal_a_loop_over_crops(g):
    x = _rgb((67, 53))
    out, names = features.grid_features(x, grid=(g, g), features=[("histogram", {"bins": 8}), "moments"])
    assert out.shape == (g, g, 3 * 8 + 9) and len(names) == out.shape[-1]
    assert names[0] == "histogram.c0.b0" and names[24] == "moments.mean.c0"

    def ref(crop):
        hist = [cv2.calcHist([np.ascontiguousarray(crop[c])], [0], None, [8], [0, 256]).reshape(-1) for c in range(3)]
        v = crop.reshape(3, -1).astype(np.float64)
        mu = v.mean(1, keepdims=True)
        return np.concatenate(hist + [mu[:, 0], v.std(1), np.cbrt(((v - mu) ** 3).mean(1))])

    np.testing.assert_allclose(out.numpy(), _loop_over_crops(x, g, ref), rtol=2e-6, atol=1e-4)


def test_grid_bounds_follow_array_split():
    for n, g in [(10, 3), (7, 7), (100, 6), (5, 1)]:
        parts = np.array_split(np.arange(n), g)
        assert colour.grid_bounds(n, g) == [(int(p[0]), int(p[-1]) + 1) for p in parts]


def test_register_grid_feature_plugs_in():
    x = torch.from_numpy(_rgb((20, 18)))[None].repeat(2, 1, 1, 1)
    features.register_grid_feature("test_max", lambda imgs: imgs.amax(dim=(2, 3)).float())
    out, names = features.grid_features(x, grid=(2, 3), features=["test_max", "gradient"])
    assert out.shape == (2, 2, 3, 4) and names == ["test_max[0]", "test_max[1]", "test_max[2]",
                                                    "gradient.mean_magnitude"]
    rows, cols = colour.grid_bounds(18, 2), colour.grid_bounds(20, 3)
    crop = x[:, :, rows[1][0]:rows[1][1], cols[2][0]:cols[2][1]]
    assert torch.equal(out[:, 1, 2, :3], crop.amax(dim=(2, 3)).float())
    mag, _ = features.color_gradient(crop)
    torch.testing.assert_close(out[:, 1, 2, 3], mag.mean(dim=(1, 2)))
    with pytest.raises(ValueError, match="unknown feature"):
        features.grid_features(x, features=["nope"])
    with pytest.raises(ValueError, match="grid"):
        features.grid_features(x, grid=(0, 2))
