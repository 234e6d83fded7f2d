"""contour_curvature against analytic curvature: discs found by find_contours (1 / r), a sampled ellipse,
a straight line; the sign convention; float64 gradcheck of the numerical method; opcheck; errors."""
import numpy as np
import pytest
import torch

from vision_ext.features import contour_curvature, find_contours


def disc_contour(radius, bright=True):
    size = int(2 * radius + 12)
    yy, xx = np.mgrid[:size, :size].astype(np.float64)
    c = (size - 1) / 2 + 0.3
    cone = radius - np.hypot(yy - c, xx - c)  # high inside; its 0-level set is the circle of `radius`
    (contour,) = find_contours(cone if bright else -cone, 0.0)
    return contour


@pytest.mark.parametrize("radius", [20.0, 30.0])
@pytest.mark.parametrize("method", ["numerical", "circle"])
def test_disc_curvature_is_one_over_r(radius, method):
    contour = disc_contour(radius)
    assert np.array_equal(contour[0], contour[-1])  # closed
    k = contour_curvature(contour, smoothing=2.0, method=method)
    assert k.shape == (len(contour),)
    # A bright disc: find_contours runs clockwise around it (low values on the left) -> negative.
    np.testing.assert_allclose(k, -1.0 / radius, rtol=0.01)
    k_dark = contour_curvature(disc_contour(radius, bright=False), smoothing=2.0, method=method)
    np.testing.assert_allclose(k_dark, 1.0 / radius, rtol=0.01)


@pytest.mark.parametrize("method", ["numerical", "circle"])
def test_ellipse_matches_analytic_curvature(method):
    a, b = 40.0, 20.0
    t = np.linspace(0, 2 * np.pi, 401)  # closed: the last point repeats the first
    pts = np.stack([a * np.cos(t), b * np.sin(t)], 1)
    pts[-1] = pts[0]
    exact = a * b / (a * a * np.sin(t) ** 2 + b * b * np.cos(t) ** 2) ** 1.5  # counter-clockwise: positive
    k = contour_curvature(pts, smoothing=1.0, method=method)
    np.testing.assert_allclose(k, exact, rtol=0.02)


def test_open_line_and_arc():
    line = np.stack([np.linspace(0, 10, 21), np.linspace(3, -7, 21)], 1)
    for method in ("numerical", "circle"):
        np.testing.assert_allclose(contour_curvature(line, method=method), 0.0, atol=1e-9)
    t = np.linspace(0, np.pi / 2, 60)
    arc = np.stack([25 * np.cos(t), 25 * np.sin(t)], 1)  # open quarter circle, counter-clockwise
    for method in ("numerical", "circle"):
        k = contour_curvature(arc, smoothing=0.0, method=method)
        np.testing.assert_allclose(k, 1 / 25, rtol=0.01)


def test_batched_padded_form():
    c1 = torch.from_numpy(disc_contour(12.0))
    c2 = torch.from_numpy(disc_contour(20.0))
    n = max(len(c1), len(c2))
    batch = torch.zeros(2, n, 2, dtype=torch.float64)
    batch[0, :len(c1)], batch[1, :len(c2)] = c1, c2
    k = contour_curvature(batch, lengths=torch.tensor([len(c1), len(c2)]))
    assert k.shape == (2, n)
    assert torch.equal(k[0, :len(c1)], contour_curvature(c1))
    assert torch.equal(k[1, :len(c2)], contour_curvature(c2))
    assert torch.all(k[0, len(c1):] == 0)


def test_gradcheck_numerical_method():
    t = torch.linspace(0, 2 * np.pi, 14, dtype=torch.float64)[:-1]
    closed = torch.stack([8 * torch.cos(t), 5 * torch.sin(t)], 1)
    closed = torch.cat([closed, closed[:1]]) + 0.1 * torch.rand(14, 2, dtype=torch.float64)
    closed[-1] = closed[0]
    x = closed[:-1].clone().requires_grad_(True)  # the free points; the closing point repeats the first
    torch.autograd.gradcheck(lambda p: contour_curvature(torch.cat([p, p[:1]]), 1.0), (x,))
    open_ = (torch.rand(9, 2, dtype=torch.float64) * 4).cumsum(0).requires_grad_(True)
    torch.autograd.gradcheck(lambda p: contour_curvature(p, 0.8), (open_,))


def test_opcheck():
    c = torch.from_numpy(disc_contour(6.0))
    torch.library.opcheck(torch.ops.vision_ext.contour_curvature.default, (c, 1.5, 0, 3, True))
    torch.library.opcheck(torch.ops.vision_ext.contour_curvature.default, (c[:-5].float(), 1.5, 1, 3, False))
    torch.library.opcheck(torch.ops.vision_ext.contour_curvature.default, (c.requires_grad_(), 0.0, 0, 3, True))


def test_errors():
    with pytest.raises(ValueError, match="at least 3"):
        contour_curvature(np.array([[0.0, 0.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="at least 3"):
        contour_curvature(np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]]))  # closed, 2 distinct points
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        contour_curvature(np.zeros((5, 3)))
    with pytest.raises(TypeError, match="floating"):
        contour_curvature(torch.zeros(5, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="method"):
        contour_curvature(np.zeros((5, 2)), method="spline")
    with pytest.raises(ValueError, match="smoothing"):
        contour_curvature(np.zeros((5, 2)), smoothing=-1.0)
    with pytest.raises(ValueError, match="window"):
        contour_curvature(np.zeros((5, 2)), method="circle", window=1)
    with pytest.raises(ValueError, match="lengths"):
        contour_curvature(torch.zeros(2, 5, 2), lengths=[5, 6])
