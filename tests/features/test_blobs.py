"""vision_ext.features blob_log / blob_dog / blob_doh: the same (y, x, sigma) rows as scikit-image 0.26, in
the same order, on real images and edge cases; batching, CPU levels, opcheck, bad input."""
import numpy as np
import pytest
import torch
from skimage import color, data, feature
from skimage.feature import blob as skblob

from tests.conftest import cpu_and_cuda, run_at_every_level
from vision_ext import features
from vision_ext.features import blobs as vblobs

ops = torch.ops.vision_ext


def _hubble():
    """A 200x200 float64 grey crop of the Hubble deep field (scikit-image's blob example)."""
    return np.ascontiguousarray(color.rgb2gray(data.hubble_deep_field()[:200, :200]))


IMAGES = {
    "camera": lambda: data.camera()[100:292, 150:342],
    "coins": lambda: data.coins()[:160, :224],
    "coins 303x384": data.coins,
    "hubble": _hubble,
}

# (image, detector, kwargs): every rule of both detectors on real images (max_sigma kept small:
# scikit-image's filters take seconds at 50).
CASES = [
    ("camera", "log", dict(max_sigma=20, threshold=0.05)),
    ("coins", "log", dict(min_sigma=3, max_sigma=25, num_sigma=8, threshold=0.05, overlap=0.3)),
    ("hubble", "log", dict(max_sigma=20, num_sigma=8, threshold=0.1)),
    ("hubble", "log", dict(max_sigma=20, threshold=None, threshold_rel=0.2, log_scale=True, exclude_border=3)),
    ("camera", "dog", dict(max_sigma=20, threshold=0.05)),
    ("coins", "dog", dict(min_sigma=2, max_sigma=25, sigma_ratio=1.4, threshold=0.02, overlap=0.7)),
    ("hubble", "dog", dict(max_sigma=30, threshold=0.1, exclude_border=(2, 5))),
    ("coins 303x384", "doh", dict()),  # scikit-image's docstring example
    ("camera", "doh", dict(max_sigma=20, threshold=0.002, overlap=0.2)),
    ("hubble", "doh", dict(min_sigma=2, max_sigma=25, num_sigma=7, threshold=None, threshold_rel=0.05,
                           log_scale=True)),
]

DETECTORS = {"log": (lambda: features.blob_log, lambda: feature.blob_log),
             "dog": (lambda: features.blob_dog, lambda: feature.blob_dog),
             "doh": (lambda: features.blob_doh, lambda: feature.blob_doh)}


def _detect(kind, image, **kwargs):
    ours_fn, ref_fn = DETECTORS[kind]
    return ours_fn()(image, **kwargs), ref_fn()(image, **kwargs)


@pytest.mark.parametrize("name,kind,kwargs", CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_same_blobs_as_skimage(name, kind, kwargs):
    ours, ref = _detect(kind, IMAGES[name](), **kwargs)
    assert len(ref) > 5  # a case that tests something
    # Same filters, same sums, same pruning order: the very same rows, in the same order.
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (5, 1), (3, 3), (2, 9), (7, 4)])
@pytest.mark.parametrize("threshold", [None, -1.0])
def test_tiny_images_match_skimage(shape, threshold):
    img = np.random.default_rng(sum(shape)).random(shape)
    for kind, kw in (("log", dict(max_sigma=4, num_sigma=3)), ("dog", dict(max_sigma=4)),
                     ("doh", dict(max_sigma=4, num_sigma=4))):
        ours, ref = _detect(kind, img, threshold=threshold, **kw)
        np.testing.assert_array_equal(ours, ref)
    # One scale of a 1x1 image: peak_local_max's one-voxel rule (a peak iff above the threshold).
    ours, ref = _detect("log", np.full((1, 1), 0.5), max_sigma=1, num_sigma=1, threshold=threshold)
    np.testing.assert_array_equal(ours, ref)


def test_constant_and_empty_images():
    # A flat image's responses are rounding noise (skimage finds "blobs" in it with threshold=None:
    # so do we, the same ones); an all-zero image's stack is constant: no peak at all.
    for kind in ("log", "dog", "doh"):
        # (small: 20x30 already has 1200 noise peaks and 316k close pairs, past PAIR_ORDER_LIMIT)
        for flat in (np.full((12, 16), 0.25), np.zeros((12, 16))):
            ours, ref = _detect(kind, flat, max_sigma=5, threshold=None)
            np.testing.assert_array_equal(ours, ref)
        assert ours.shape == (0, 3)
    out = features.blob_log(torch.zeros(0, 1, 8, 8), max_sigma=3)
    assert len(out) == 0 and out.blobs.shape == (0, 0, 3)
    out = features.blob_log(torch.zeros(2, 0, 5), max_sigma=3)
    assert out.counts.tolist() == [0, 0]


def test_batch_equals_single_images():
    crops = [data.camera()[i * 60:i * 60 + 96, 200:296] for i in range(3)]
    batch = torch.from_numpy(np.stack(crops))
    for fn in (features.blob_log, features.blob_dog, features.blob_doh):
        kw = dict(max_sigma=12, threshold=0.03 if fn is not features.blob_doh else 0.002)
        together = fn(batch, **kw)
        four_d = fn(batch[:, None], **kw)
        assert torch.equal(together.blobs, four_d.blobs) and torch.equal(together.counts, four_d.counts)
        as_list = fn(np.stack(crops), **kw)
        for i, crop in enumerate(crops):
            alone = fn(crop, **kw)
            np.testing.assert_array_equal(together.numpy(i), alone)
            np.testing.assert_array_equal(as_list[i], alone)
            assert together.blobs[i, together.counts[i]:].abs().sum() == 0  # zero padding


def test_dtypes_read_like_img_as_float():
    img = data.camera()[:128, :128]
    as_u8 = features.blob_log(img, max_sigma=10, threshold=0.05)
    as_f64 = features.blob_log(img.astype(np.float64) / 255, max_sigma=10, threshold=0.05)
    np.testing.assert_array_equal(as_u8, feature.blob_log(img, max_sigma=10, threshold=0.05))
    assert as_u8.shape == as_f64.shape
    # float32 images are computed in float64 (scikit-image keeps float32): same blobs here.
    f32 = (img / 255).astype(np.float32)
    ours = features.blob_log(f32, max_sigma=10, threshold=0.05)
    np.testing.assert_array_equal(ours, features.blob_log(f32.astype(np.float64), max_sigma=10, threshold=0.05))


def test_every_cpu_level_gives_the_same_bits():
    img = torch.from_numpy(data.coins()[40:140, 60:190].copy())
    # Widths that leave vector tails at every level.
    imgs = [img, img[:, :37].contiguous(), img[:9, :13].contiguous()]

    def run():
        out = []
        for im in imgs:
            out.append(features.blob_log(im, max_sigma=15, threshold=None).blobs)
            out.append(features.blob_dog(im, max_sigma=15, threshold=0.01).blobs)
            out.append(features.blob_doh(im, max_sigma=15, threshold=None).blobs)
        return out

    results = run_at_every_level(run)
    first = next(iter(results.values()))
    for level, got in results.items():
        for a, b in zip(got, first):
            assert torch.equal(a, b), level


def test_prune_without_a_pair_order_matches_skimage_on_chain_free_blobs():
    # Isolated overlapping pairs (no chains): the visiting order cannot matter.
    rows = np.array([[10, 10, 3.0], [11, 12, 2.0], [40, 40, 2.0], [40, 41, 2.0], [80, 80, 1.0], [30, 90, 5.0],
                     [33, 93, 5.0]])
    ours = ops.blob_prune(torch.from_numpy(rows), None, 0.5).numpy()
    np.testing.assert_array_equal(ours, skblob._prune_blobs(rows.copy(), 0.5))


def test_module_forms():
    img = torch.from_numpy(data.camera()[:96, :96].copy())
    assert torch.equal(features.BlobLoG(max_sigma=8, threshold=0.05)(img).blobs,
                       features.blob_log(img, max_sigma=8, threshold=0.05).blobs)
    assert torch.equal(features.BlobDoG(max_sigma=8, threshold=0.05)(img).blobs,
                       features.blob_dog(img, max_sigma=8, threshold=0.05).blobs)
    assert torch.equal(features.BlobDoH(max_sigma=8, threshold=0.001)(img).blobs,
                       features.blob_doh(img, max_sigma=8, threshold=0.001).blobs)


def _op_args(image, kind):
    rows = vblobs._scale_list(1.0, 4.0, 3, False) if kind == "log" else np.array([[1.0, 1.0], [1.6, 1.6], [2.56, 2.56]])
    radii, taps = vblobs._taps(rows, (0, 2) if kind == "log" else (0,))
    sig = rows[:, 0].tolist()
    if kind == "log":
        return (image, sig, radii, taps[0], taps[1], [float(s) ** 2 for s in sig], 0.01, None, [0, 0])
    return (image, sig, radii, taps[0], [1 / 0.6] * 2, None, 0.1, [1, 1])


def test_opcheck():
    img = torch.from_numpy(data.camera()[:24, :20].copy())
    torch.library.opcheck(ops.blob_log.default, _op_args(img, "log"))
    torch.library.opcheck(ops.blob_dog.default, _op_args(img[None].double() / 255, "dog"))
    torch.library.opcheck(ops.blob_doh.default, (img[None, None], [1.0, 2.0, 3.0], 0.001, None))
    rows = torch.tensor([[3.0, 4.0, 2.0], [4.0, 5.0, 1.5], [10.0, 10.0, 1.0]], dtype=torch.float64)
    torch.library.opcheck(ops.blob_prune.default, (rows, None, 0.5))
    torch.library.opcheck(ops.blob_prune.default, (rows, torch.tensor([[0, 1]]), 0.5))


@pytest.mark.parametrize("call,match", [
    (lambda: features.blob_log(torch.rand(2, 3, 8, 8)), "single channel"),
    (lambda: features.blob_log(torch.rand(8)), "must have shape"),
    (lambda: features.blob_log(torch.rand(8, 8).half()), "dtype must be"),
    (lambda: features.blob_log(np.zeros((8, 8)), min_sigma=0), "min_sigma: must be"),
    (lambda: features.blob_log(np.zeros((8, 8)), min_sigma=(1, 2)), "per-axis"),
    (lambda: features.blob_log(np.zeros((8, 8)), min_sigma=5, max_sigma=2), "max_sigma: must be >= min_sigma"),
    (lambda: features.blob_log(np.zeros((8, 8)), num_sigma=0), "num_sigma"),
    (lambda: features.blob_log(np.zeros((8, 8)), overlap=1.5), "overlap"),
    (lambda: features.blob_log(np.zeros((8, 8)), threshold=float("nan")), "threshold"),
    (lambda: features.blob_log(np.zeros((8, 8)), exclude_border=-1), "exclude_border"),
    (lambda: features.blob_log(np.zeros((8, 8)), exclude_border=(1, 2, 3)), "exclude_border"),
    (lambda: features.blob_dog(np.zeros((8, 8)), sigma_ratio=1.0), "sigma_ratio"),
    (lambda: features.blob_doh(np.zeros((8, 8)), num_sigma=0), "num_sigma"),
    (lambda: ops.blob_doh(torch.zeros(8, 8), [], 0.1, None), "at least one sigma"),
    (lambda: ops.blob_log(torch.zeros(8, 8), [1.0], [1], [1.0], [1.0, 0.0], [1.0], 0.1, None, [0, 0]), "smooth_taps"),
    (lambda: ops.blob_log(torch.zeros(8, 8), [-1.0], [0], [1.0], [1.0], [1.0], 0.1, None, [0, 0]), "sigma"),
    (lambda: ops.blob_prune(torch.zeros(3, 2, dtype=torch.float64), None, 0.5), r"\(N, 3\)"),
    (lambda: ops.blob_prune(torch.zeros(3, 3, dtype=torch.float64), torch.tensor([[0, 5]]), 0.5), "out of range"),
])
def test_bad_input_is_a_clear_error(call, match):
    with pytest.raises((ValueError, RuntimeError), match=match):
        call()


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_cuda_matches_cpu(device):
    img = torch.from_numpy(data.coins()[:96, :128].copy())
    for fn, kw in ((features.blob_log, dict(max_sigma=12, threshold=None, threshold_rel=0.1)),
                   (features.blob_dog, dict(max_sigma=12, threshold=0.02, exclude_border=2)),
                   (features.blob_doh, dict(max_sigma=12, threshold=0.002))):
        ours = fn(img.to(device), **kw)
        ref = fn(img, **kw)
        assert torch.equal(ours.blobs.cpu(), ref.blobs) and torch.equal(ours.counts.cpu(), ref.counts)
