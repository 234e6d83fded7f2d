"""torch.ops.vision_ext.canny: byte equality with cv2.Canny (grey and colour, every aperture, L1/L2,
borders, tiny and odd sizes, threshold edge cases), every CPU level, batching, opcheck, bad inputs,
CPU/CUDA parity."""
import cv2
import numpy as np
import pytest
import torch
from skimage import data

import vision_ext  # noqa: F401
from tests.conftest import cpu_and_cuda, run_at_every_level

ops = torch.ops.vision_ext
APERTURES = [3, 5, 7]
# (low, high) per aperture: aperture 5 / 7 gradients are ~16x / ~64x (then /16) larger than 3's.
THRESHOLDS = {3: (50, 150), 5: (400, 1200), 7: (1600, 4800)}


@pytest.fixture(params=[False, True], ids=["no_ipp", "ipp"])
def ipp(request):
    """cv2.Canny with and without the wheel's IPP path: ours must match what users get either way."""
    old = cv2.ipp.useIPP()
    cv2.ipp.setUseIPP(request.param)
    yield request.param
    cv2.ipp.setUseIPP(old)


def _ours(img, low, high, aperture=3, l2=False):
    """Our op on an OpenCV-layout numpy image ((H, W) or (H, W, 3)) -> (H, W) numpy."""
    t = torch.from_numpy(np.ascontiguousarray(img if img.ndim == 2 else np.moveaxis(img, 2, 0)))
    return ops.canny(t, float(low), float(high), aperture, l2).reshape(img.shape[:2]).numpy()


def _assert_equal_cv2(img, low, high, aperture=3, l2=False):
    ref = cv2.Canny(img, low, high, apertureSize=aperture, L2gradient=l2)
    ours = _ours(img, low, high, aperture, l2)
    assert ours.dtype == np.uint8 and ours.shape == ref.shape
    diff = np.argwhere(ours != ref)
    assert diff.size == 0, f"{len(diff)} pixels differ, first at (y, x) = {diff[:5].tolist()}"
    return ref


def _noise(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.mark.parametrize("l2", [False, True], ids=["L1", "L2"])
@pytest.mark.parametrize("aperture", APERTURES)
def test_photographs_match_cv2(camera, astronaut, aperture, l2, ipp):
    low, high = THRESHOLDS[aperture]
    for img in (camera, data.coins(), astronaut):
        ref = _assert_equal_cv2(img, low, high, aperture, l2)
        assert 0.001 < (ref > 0).mean() < 0.5  # a real edge map, not all or nothing


@pytest.mark.parametrize("l2", [False, True], ids=["L1", "L2"])
@pytest.mark.parametrize("aperture", APERTURES)
def test_synthetic_match_cv2(checkerboard, aperture, l2):
    low, high = THRESHOLDS[aperture]
    _assert_equal_cv2(checkerboard, low, high, aperture, l2)
    _assert_equal_cv2(_noise((67, 131)), low, high, aperture, l2)           # odd sizes, row tails
    _assert_equal_cv2(_noise((45, 37, 3), 1), low, high, aperture, l2)      # colour noise
    # Blocks of constant colour: long weak chains, ties between channels.
    blocks = np.kron(_noise((9, 13, 3), 2) // 64 * 64, np.ones((7, 5, 1), np.uint8))
    _assert_equal_cv2(np.ascontiguousarray(blocks), low, high, aperture, l2)
    _assert_equal_cv2(np.ascontiguousarray(blocks[..., 0]), low // 2, high, aperture, l2)


@pytest.mark.parametrize("aperture", APERTURES)
def test_tiny_images_match_cv2(aperture):
    low, high = THRESHOLDS[aperture]
    for i, shape in enumerate([(1, 1), (2, 2), (3, 5), (5, 3), (1, 17), (17, 1), (2, 40), (4, 4, 3)]):
        for scale in (1, 8):  # full-range noise and faint noise
            _assert_equal_cv2(_noise(shape, i) // scale, low // 4, high // 4, aperture)
            _assert_equal_cv2(_noise(shape, i) // scale, low // 4, high // 4, aperture, True)


def test_threshold_edge_cases_match_cv2(camera):
    crop = np.ascontiguousarray(camera[200:300, 150:290])
    for low, high in [(150, 50), (0, 0), (0, 100), (-10, 100), (-20, -5), (100, 100), (1e6, 2e6), (40.7, 120.2),
                      (2e9, 2.1e9)]:
        for aperture in APERTURES:
            for l2 in (False, True):
                _assert_equal_cv2(crop, low, high, aperture, l2)
    # L2 clamps thresholds at 32767 before squaring: huge values give no edges, like OpenCV.
    assert not _assert_equal_cv2(crop, 1e12, 1e12, 3, True).any()


def test_every_cpu_level_identical(camera, astronaut):
    imgs = [camera, astronaut, _noise((61, 77)), _noise((13, 9, 3), 3)]

    def run():
        return [_ours(img, *THRESHOLDS[a], a, l2) for img in imgs for a in APERTURES for l2 in (False, True)]

    outs = run_at_every_level(run)
    first = next(iter(outs.values()))
    for level, out in outs.items():
        for a, b in zip(out, first):
            np.testing.assert_array_equal(a, b, err_msg=f"level {level}")


def test_batch_and_shapes(camera, astronaut):
    g = torch.from_numpy(camera)
    col = torch.from_numpy(np.ascontiguousarray(np.moveaxis(astronaut, 2, 0)))
    ref_g = torch.from_numpy(cv2.Canny(camera, 50, 150))
    ref_c = torch.from_numpy(cv2.Canny(astronaut, 50, 150))
    assert torch.equal(ops.canny(g, 50, 150, 3, False), ref_g)
    assert torch.equal(ops.canny(g[None], 50, 150, 3, False), ref_g[None])
    assert torch.equal(ops.canny(col, 50, 150, 3, False), ref_c[None])
    batch = torch.stack([col, col.flip(-1), col.roll(5, -2)])
    out = ops.canny(batch, 50, 150, 3, False)
    assert out.shape == (3, 1, 512, 512) and out.dtype == torch.uint8
    for i in range(3):
        ref = cv2.Canny(np.ascontiguousarray(batch[i].permute(1, 2, 0).numpy()), 50, 150)
        assert torch.equal(out[i, 0], torch.from_numpy(ref))
    # A non-contiguous view (every other column) and an empty batch.
    view = g[:, ::2]
    ref = torch.from_numpy(cv2.Canny(view.contiguous().numpy(), 50, 150))
    assert torch.equal(ops.canny(view, 50, 150, 3, False), ref)
    assert ops.canny(torch.zeros(0, 3, 8, 8, dtype=torch.uint8), 1, 2, 3, False).shape == (0, 1, 8, 8)
    assert ops.canny(torch.zeros(0, 8, dtype=torch.uint8), 1, 2, 3, False).shape == (0, 8)


def test_opcheck(camera):
    g = torch.from_numpy(camera[:40, :50].copy())
    for args in [(g, 50.0, 150.0, 3, False), (g[None, None], 10.0, 30.0, 5, True),
                 (torch.from_numpy(_noise((2, 3, 12, 9))), 100.0, 300.0, 7, False)]:
        torch.library.opcheck(ops.canny.default, args)


def test_compile(camera):
    g = torch.from_numpy(camera[:64, :64].copy())
    fn = torch.compile(lambda x: ops.canny(x, 50.0, 150.0, 3, False), fullgraph=True, backend="eager")
    assert torch.equal(fn(g), ops.canny(g, 50.0, 150.0, 3, False))


def test_bad_inputs():
    u8 = torch.zeros(8, 8, dtype=torch.uint8)
    cases = [
        (lambda: ops.canny(u8.float(), 1, 2, 3, False), r"image dtype must be uint8"),
        (lambda: ops.canny(torch.zeros(8, dtype=torch.uint8), 1, 2, 3, False), r"image must have shape \(H, W\)"),
        (lambda: ops.canny(torch.zeros(1, 1, 1, 8, 8, dtype=torch.uint8), 1, 2, 3, False), r"image must have shape"),
        (lambda: ops.canny(torch.zeros(2, 8, 8, dtype=torch.uint8), 1, 2, 3, False), r"1 or 3 channels"),
        (lambda: ops.canny(torch.zeros(1, 4, 8, 8, dtype=torch.uint8), 1, 2, 3, False), r"1 or 3 channels"),
        (lambda: ops.canny(u8, 1, 2, 4, False), r"aperture must be 3, 5 or 7"),
        (lambda: ops.canny(u8, 1, 2, 1, False), r"aperture must be 3, 5 or 7"),
        (lambda: ops.canny(u8, float("nan"), 2, 3, False), r"low threshold must be a finite number"),
        (lambda: ops.canny(u8, 1, float("nan"), 3, False), r"high threshold must be a finite number"),
        (lambda: ops.canny(u8, 1, float("inf"), 3, True), r"high threshold must be a finite number"),
        (lambda: ops.canny(u8, 1, 3e9, 3, False), r"high threshold is too large"),
        (lambda: ops.canny(u8, -3e9, 1, 3, False), r"low threshold is too large"),
    ]
    for fn, msg in cases:
        with pytest.raises(RuntimeError, match=msg):
            fn()
    # OpenCV refuses the same apertures.
    with pytest.raises(cv2.error):
        cv2.Canny(u8.numpy(), 1, 2, apertureSize=4)


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_cpu_cuda_parity(device, camera, astronaut):
    col = torch.from_numpy(np.ascontiguousarray(np.moveaxis(astronaut, 2, 0)))
    for img in (torch.from_numpy(camera), col, torch.from_numpy(_noise((2, 1, 37, 70)))):
        for a in APERTURES:
            for l2 in (False, True):
                low, high = THRESHOLDS[a]
                ours = ops.canny(img.to(device), low, high, a, l2)
                assert ours.device.type == device
                assert torch.equal(ours.cpu(), ops.canny(img, low, high, a, l2))
