"""torch.ops.vision_ext texture ops (LBP, GLCM, graycoprops, HOG): opcheck (schemas, fake kernels),
the same bits at every CPU level (graycoprops: the same to float64 rounding), non-contiguous inputs, torch.compile, and the raw ops' errors."""
import numpy as np
import pytest
import torch
from skimage import data
from skimage.feature import hog as sk_hog
from skimage.feature import local_binary_pattern as sk_lbp

import vision_ext  # noqa: F401
from tests.conftest import run_at_every_level

ops = torch.ops.vision_ext


def _camera(h=64, w=72):
    return torch.from_numpy(np.ascontiguousarray(data.camera()[200:200 + h, 100:100 + w]))


def test_opcheck():
    img = _camera(20, 23)
    for method in range(5):
        torch.library.opcheck(ops.local_binary_pattern.default, (img, 8, 1.5, method))
    torch.library.opcheck(ops.local_binary_pattern.default, (img[None].repeat(2, 1, 1).float(), 6, 2.0, 2))
    torch.library.opcheck(ops.graycomatrix.default, (img, [1.0, 2.0], [0.0, 0.8], -1, True, False))
    torch.library.opcheck(ops.graycomatrix.default, ((img // 16)[None].repeat(2, 1, 1), [1.0], [0.0], 16, False, True))
    P = ops.graycomatrix(img // 8, [1.0], [0.0, 1.5], 32, True, True)
    torch.library.opcheck(ops.graycoprops.default, (P, [0, 4, 9]))
    f = img.double()[None]
    torch.library.opcheck(ops.hog.default, (f, 9, [8, 8], [2, 2], 3, False, True))
    torch.library.opcheck(ops.hog.default, (f.float().repeat(2, 1, 1)[:, None], 6, [6, 5], [1, 2], 0, True, False))
    torch.library.opcheck(ops.hog.default, (img[None], 9, [4, 4], [2, 2], 2, True, True))


def _same_at_every_level(fn):
    outs = run_at_every_level(fn)
    first = next(iter(outs.values()))
    for level, out in outs.items():
        for a, b in zip(first, out):
            assert torch.equal(a, b) or (a.is_floating_point() and torch.equal(a.nan_to_num(-1), b.nan_to_num(-1))), \
                level


def test_every_level_same_bits():
    rng = np.random.default_rng(0)
    img = _camera(45, 77)
    noisy = torch.from_numpy(rng.random((33, 41)))
    _same_at_every_level(lambda: [ops.local_binary_pattern(img, P, R, m) for P, R in ((8, 1.0), (13, 2.3))
                                  for m in range(5)] + [ops.local_binary_pattern(noisy, 16, 2.0, 4)])
    _same_at_every_level(lambda: [ops.graycomatrix(img, [1.0, 2.0], [0.0, 0.7], -1, True, True)])
    # graycoprops sums a row a vector at a time: the lane count changes the order, so levels agree to rounding.
    props = run_at_every_level(lambda: ops.graycoprops(ops.graycomatrix(img, [1.0, 2.0], [0.0, 0.7], -1, True, True),
                                                       list(range(10))))
    first = next(iter(props.values()))
    for level, out in props.items():
        torch.testing.assert_close(out, first, rtol=1e-12, atol=1e-14, msg=level)
    rgb = torch.from_numpy(np.ascontiguousarray(np.moveaxis(data.astronaut()[:70, :90], -1, 0))).double()
    _same_at_every_level(lambda: list(ops.hog(img.double()[None], 9, [8, 8], [3, 3], 3, False, True)) +
                         list(ops.hog(rgb.float() / 255, 7, [5, 6], [2, 2], 1, True, True)))


def test_levels_match_skimage():
    img = _camera(40, 50).numpy()
    for level_out in run_at_every_level(lambda: ops.local_binary_pattern(torch.from_numpy(img), 8, 1.0, 3)).values():
        np.testing.assert_array_equal(level_out.numpy(), sk_lbp(img, 8, 1.0, "nri_uniform"))
    ref = sk_hog(img, pixels_per_cell=(5, 5), cells_per_block=(2, 2), feature_vector=False)
    for f, _ in run_at_every_level(lambda: ops.hog(torch.from_numpy(img).double()[None], 9, [5, 5], [2, 2], 3, False,
                                                   False)).values():
        np.testing.assert_array_equal(f.numpy(), ref)


def test_non_contiguous_inputs():
    img = _camera(40, 60)
    t = img.t()
    np.testing.assert_array_equal(ops.local_binary_pattern(t, 8, 1.0, 0).numpy(), sk_lbp(t.numpy(), 8, 1.0))
    np.testing.assert_array_equal(ops.graycomatrix(t, [1.0], [0.0], -1, False, False).numpy(),
                                  ops.graycomatrix(t.contiguous(), [1.0], [0.0], -1, False, False).numpy())
    f = t.double()[None]
    assert torch.equal(ops.hog(f, 9, [8, 8], [2, 2], 3, False, False)[0],
                       ops.hog(f.contiguous(), 9, [8, 8], [2, 2], 3, False, False)[0])


def test_torch_compile():
    img = _camera(32, 32).double()

    @torch.compile(backend="eager", fullgraph=True)
    def f(x):
        return ops.local_binary_pattern(x, 8, 1.0, 2) + 1, ops.hog(x[None], 9, [8, 8], [2, 2], 3, False, False)[0]

    a, b = f(img)
    assert torch.equal(a, ops.local_binary_pattern(img, 8, 1.0, 2) + 1)
    assert torch.equal(b, ops.hog(img[None], 9, [8, 8], [2, 2], 3, False, False)[0])


def test_no_gradient():
    img = _camera(32, 32).double().requires_grad_(True)
    assert not ops.local_binary_pattern(img, 8, 1.0, 0).requires_grad


def test_raw_errors():
    img = _camera(16, 16)
    with pytest.raises(RuntimeError, match="method must be"):
        ops.local_binary_pattern(img, 8, 1.0, 7)
    with pytest.raises(RuntimeError, match="shape"):
        ops.local_binary_pattern(img[None, None], 8, 1.0, 0)
    with pytest.raises(RuntimeError, match="R must be <="):
        ops.local_binary_pattern(img, 8, 1e6, 0)
    with pytest.raises(RuntimeError, match="P must be <= 64"):
        ops.local_binary_pattern(img, 65, 1.0, 2)
    with pytest.raises(RuntimeError, match="levels must be in"):
        ops.graycomatrix(img, [1.0], [0.0], 0, False, False)
    with pytest.raises(RuntimeError, match="prop index"):
        ops.graycoprops(torch.zeros(4, 4, 1, 1), [10])
    with pytest.raises(RuntimeError, match="uint8, float32 or float64"):
        ops.hog(img[None].short(), 9, [8, 8], [1, 1], 3, False, False)
    with pytest.raises(RuntimeError, match="block_norm"):
        ops.hog(img[None].double(), 9, [8, 8], [1, 1], 5, False, False)
    with pytest.raises(RuntimeError, match="cells_per_block"):
        ops.hog(img[None].double(), 9, [8, 8], [1], 3, False, False)
    with pytest.raises(RuntimeError, match="channel"):
        ops.hog(torch.zeros(1, 0, 16, 16), 9, [8, 8], [1, 1], 3, False, False)
