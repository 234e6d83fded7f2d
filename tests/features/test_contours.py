"""find_contours against skimage.measure.find_contours (same contours, same order, same points), on
real images and random ones with exact ties (pixels at the level), at every CPU level; errors."""
import numpy as np
import pytest
import torch
from skimage import data
from skimage.measure import find_contours as sk_find_contours

from tests.conftest import cpu_and_cuda, run_at_every_level
from vision_ext.features import find_contours


def assert_same(ours, ref, atol=1e-12):
    assert len(ours) == len(ref), f"{len(ours)} contours, skimage has {len(ref)}"
    for i, (a, b) in enumerate(zip(ours, ref)):
        a = np.asarray(a.cpu() if isinstance(a, torch.Tensor) else a)
        assert a.shape == b.shape, f"contour {i}: shape {a.shape}, skimage {b.shape}"
        np.testing.assert_allclose(a, b, rtol=0, atol=atol, err_msg=f"contour {i}")


@pytest.fixture(scope="module")
def real_images():
    from skimage.transform import resize

    horse = data.horse()  # bool silhouette
    shapes = resize(data.binary_blobs(96, rng=1).astype(float), (96, 96), order=0) > 0.5
    return {"camera": data.camera(), "coins": data.coins(), "horse": horse, "blobs": shapes}


@pytest.mark.parametrize("name, level", [("camera", None), ("camera", 80.0), ("coins", 120.5), ("horse", None),
                                         ("blobs", 0.5)])
def test_real_images_match_skimage(real_images, name, level):
    img = real_images[name]
    assert_same(find_contours(img, level), sk_find_contours(img, level))


def test_camera_float32_and_options_match_skimage(real_images):
    img = real_images["camera"][128:384, 128:384].astype(np.float32) / 255
    for fc in ("low", "high"):
        for po in ("low", "high"):
            ref = sk_find_contours(img, None, fully_connected=fc, positive_orientation=po)
            ours = find_contours(img, None, fully_connected=fc, positive_orientation=po)
            assert all(c.dtype == np.float32 for c in ours)
            assert_same(ours, ref, atol=1e-5)
    t = torch.from_numpy(img.astype(np.float64))
    assert_same(find_contours(t, 0.4), sk_find_contours(img.astype(np.float64), 0.4))


@pytest.mark.parametrize("seed", range(6))
def test_random_images_with_ties_match_skimage(seed):
    # Small integer images with the level at a pixel value: degenerate segments, contours meeting
    # at pixels, saddles: the cases where the assembly's dict bookkeeping matters.
    rng = np.random.default_rng(seed)
    h, w = rng.integers(2, 24, size=2)
    img = rng.integers(0, 4, size=(h, w)).astype(np.float64)
    for level in (1.0, 1.5, 2.0):
        for fc in ("low", "high"):
            assert_same(find_contours(img, level, fully_connected=fc), sk_find_contours(img, level, fully_connected=fc))
    smooth = rng.standard_normal((h, w))
    assert_same(find_contours(smooth, 0.1), sk_find_contours(smooth, 0.1))


def test_nan_and_mask_match_skimage(real_images):
    img = real_images["coins"][:120, :160].astype(np.float64)
    rng = np.random.default_rng(3)
    nan = img.copy()
    nan[rng.random(img.shape) < 0.01] = np.nan
    assert_same(find_contours(nan), sk_find_contours(nan))
    mask = rng.random(img.shape) > 0.05
    assert_same(find_contours(img, 100.0, mask=mask), sk_find_contours(img, 100.0, mask=mask))
    ours = find_contours(torch.from_numpy(img), 100.0, mask=torch.from_numpy(mask))
    assert_same(ours, sk_find_contours(img, 100.0, mask=mask))


def test_batch_returns_one_list_per_image(real_images):
    cam = real_images["camera"]
    # float64: skimage's own uint8 level sum wraps past 255 (docs/EXACTNESS.md)
    batch = np.stack([cam[:100, :100], cam[200:300, 50:150], np.zeros((100, 100), np.uint8)]).astype(np.float64)
    out = find_contours(torch.from_numpy(batch))
    assert len(out) == 3
    for img, ours in zip(batch, out):
        assert_same(ours, sk_find_contours(img))  # level None: each image's own (min + max) / 2
    assert out[2] == []


def test_cpu_levels_give_identical_contours(real_images):
    img = torch.from_numpy(real_images["coins"]).double()
    outs = run_at_every_level(lambda: torch.ops.vision_ext.find_contours(img, 110.0, False, False, None))
    base = next(iter(outs.values()))
    for level, out in outs.items():
        assert all(torch.equal(a, b) for a, b in zip(out, base)), level


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_opcheck(device):
    img = torch.rand(2, 9, 11, dtype=torch.float64, device=device)
    mask = torch.rand(2, 9, 11, device=device) > 0.1
    torch.library.opcheck(torch.ops.vision_ext.find_contours.default, (img, 0.5, False, True, mask))
    torch.library.opcheck(torch.ops.vision_ext.find_contours.default, (img[0].float(), None, True, False, None))


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_cuda_matches_cpu(device, real_images):
    img = torch.from_numpy(real_images["coins"]).to(device)
    ours = find_contours(img, 90.5)
    assert_same(ours, sk_find_contours(real_images["coins"], 90.5))


def test_no_contours_cases():
    img = np.random.default_rng(0).random((5, 6))
    assert find_contours(img, 2.0) == [] == sk_find_contours(img, 2.0)
    assert find_contours(img, -1.0) == [] == sk_find_contours(img, -1.0)
    assert find_contours(np.ones((1, 1))) == []
    assert find_contours(torch.ones(3, 1, 5)) == [[], [], []]
    assert find_contours(np.full((4, 4), np.nan)) == []


def test_errors():
    img = torch.rand(6, 6, dtype=torch.float64)
    with pytest.raises(ValueError, match="level"):
        find_contours(img, float("nan"))
    with pytest.raises(RuntimeError, match="level must be a number"):
        torch.ops.vision_ext.find_contours(img, float("nan"), False, False, None)
    with pytest.raises(RuntimeError, match=r"shape \(H, W\) or \(B, H, W\)"):
        find_contours(torch.rand(1, 1, 6, 6))
    with pytest.raises(RuntimeError, match="must be real"):
        find_contours(torch.rand(6, 6, dtype=torch.complex64))
    with pytest.raises(RuntimeError, match="mask must be a bool"):
        find_contours(img, 0.5, mask=torch.ones(6, 6))
    with pytest.raises(RuntimeError, match="mask must have the image's shape"):
        find_contours(img, 0.5, mask=torch.ones(5, 6, dtype=torch.bool))
    with pytest.raises(ValueError, match="fully_connected"):
        find_contours(img, 0.5, fully_connected="8")
    with pytest.raises(ValueError, match="positive_orientation"):
        find_contours(img, 0.5, positive_orientation="ccw")
    with pytest.raises(TypeError, match="image"):
        find_contours([[0, 1], [1, 0]])
