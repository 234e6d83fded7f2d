"""vision_ext.features.orb against the NumPy reference written from the paper (orb_reference.py):
the same keypoints, angles and bit-identical descriptors; the same bits at every CPU level, thread
count and batch layout; OpenCV interop (KeyPoint round trip, descriptors cv2 computes alike); bad
input and images too small for a patch."""
import cv2
import numpy as np
import pytest
import torch

import vision_ext  # noqa: F401
from tests.conftest import run_at_every_level
from tests.features import orb_reference as ref
from vision_ext import features


def _grey(astronaut):
    return cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)


@pytest.fixture(scope="module")
def images(camera, astronaut):
    return {"camera": camera, "astronaut": _grey(astronaut)}


@pytest.mark.parametrize("name", ["camera", "astronaut"])
@pytest.mark.parametrize("score", ["harris", "fast"])
def test_keypoints_and_descriptors_equal_the_reference(images, name, score):
    img = images[name]
    kp, desc = features.orb(img, n_features=300, score=score)
    n = int(kp.counts[0])
    want = ref.detect(img, n_features=300, score=score)
    ours = [(int(kp.levels[0, i]),) + ref.level_pixel(kp.xy[0, i].tolist(), int(kp.levels[0, i]), img.shape, 1.2)
            for i in range(n)]
    theirs = [(lv, x, y) for _, _, _, lv, x, y in want]
    # FAST equals OpenCV's exactly; the Harris scores equal cv2.cornerHarris to ~1e-6 relative, so
    # only a near-tie at a budget's edge could swap a point.
    assert len(ours) == len(theirs) and len(set(ours) ^ set(theirs)) <= 2 * max(1, n // 100)
    if score == "fast":
        assert ours == theirs
        assert torch.equal(kp.scores[0, :n], torch.tensor([w[0] for w in want], dtype=torch.float32))
    # Level-0 positions: the centre-aligned mapping of the level pixel.
    xy_ref = {(lv, x, y): (x0, y0) for _, y0, x0, lv, x, y in want}
    for i, key in enumerate(ours):
        if key in xy_ref:
            assert tuple(kp.xy[0, i].tolist()) == (float(xy_ref[key][0]), float(xy_ref[key][1]))
    # Angles and descriptors on our keypoints: the reference recomputes them from the level image.
    levels = ref.pyramid(img, 1.2, 8)
    pairs = ref.pattern()
    for i, (lv, x, y) in enumerate(ours):
        angle, d = ref.describe(levels[lv], x, y, 15, pairs)
        assert abs((float(kp.angles[0, i]) - angle + 180) % 360 - 180) < 1e-4, (i, lv, x, y)
        assert np.array_equal(desc[0, i].numpy(), d), (i, lv, x, y)
    assert not desc[0, n:].any() and not kp.xy[0, n:].any()


def test_pyramid_budgets_follow_opencv(camera):
    kp, _ = features.orb(camera, n_features=500)
    budgets = ref.level_budgets(500, 1.2, 8)
    assert sum(budgets) == 500
    counts = torch.bincount(kp.levels[0, :int(kp.counts[0])], minlength=8).tolist()
    assert all(c <= b for c, b in zip(counts, budgets)) and counts[0] == budgets[0]


def test_same_bits_at_every_level_thread_count_and_batch(images):
    a, b = images["camera"], images["astronaut"]
    batch = torch.from_numpy(np.stack([a, b]))[:, None]
    outs = run_at_every_level(lambda: torch.ops.vision_ext.orb(batch, 400, 1.2, 8, 31, 20, 31, True))
    first = next(iter(outs.values()))
    for level, out in outs.items():
        assert all(torch.equal(x, y) for x, y in zip(first, out)), level
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        single = [torch.ops.vision_ext.orb(torch.from_numpy(im), 400, 1.2, 8, 31, 20, 31, True) for im in (a, b)]
    finally:
        torch.set_num_threads(threads)
    for i, out in enumerate(single):
        assert all(torch.equal(x[i], y[0]) for x, y in zip(first, out))
    again = torch.ops.vision_ext.orb(batch, 400, 1.2, 8, 31, 20, 31, True)
    assert all(torch.equal(x, y) for x, y in zip(first, again))


def test_ranking_is_the_total_order(camera):
    kp, _ = features.orb(camera, n_features=500)
    n = int(kp.counts[0])
    keys = [(-float(kp.scores[0, i]), float(kp.xy[0, i, 1]), float(kp.xy[0, i, 0]), int(kp.levels[0, i]))
            for i in range(n)]
    assert keys == sorted(keys) and len(set(keys)) == n


def test_float_images_and_module(camera):
    f = torch.from_numpy(camera).float() / 255
    kp_u8, d_u8 = features.orb(camera, n_features=100)
    kp_f, d_f = features.orb(f, n_features=100)
    assert torch.equal(d_u8, d_f) and torch.equal(kp_u8.xy, kp_f.xy)
    kp_m, d_m = features.ORB(n_features=100)(torch.from_numpy(camera)[None, None])
    assert torch.equal(d_m, d_u8) and torch.equal(kp_m.angles, kp_u8.angles)


def test_cv2_interop(camera):
    kp, desc = features.orb(camera, n_features=300)
    n = int(kp.counts[0])
    cvk = kp.to_cv2(0)
    assert len(cvk) == n and all(isinstance(k, cv2.KeyPoint) for k in cvk)
    assert cvk[0].octave == int(kp.levels[0, 0]) and cvk[0].size == pytest.approx(31 * 1.2 ** cvk[0].octave)
    back = features.OrbKeypoints.from_cv2(cvk)
    assert torch.equal(back.counts, kp.counts)
    for f in ("xy", "scores", "levels", "angles"):
        assert torch.equal(getattr(back, f)[:, :n], getattr(kp, f)[:, :n]), f
    # OpenCV's own ORB, given our keypoints (angle included), computes descriptors from its own
    # pyramid and blur: most bits agree (random descriptors would agree on half), which checks the
    # pattern table, the bit order and the rotation convention.
    cv_kps, cv_desc = cv2.ORB_create(300).compute(camera, cvk)
    ours = {(round(k.pt[0], 3), round(k.pt[1], 3)): desc[0, i].numpy() for i, k in enumerate(cvk)}
    agree = [np.mean(np.unpackbits(ours[(round(k.pt[0], 3), round(k.pt[1], 3))]) == np.unpackbits(d))
             for k, d in zip(cv_kps, cv_desc) if (round(k.pt[0], 3), round(k.pt[1], 3)) in ours]
    assert len(agree) > n // 2 and np.median(agree) > 0.8
    # cv2's matcher takes our descriptors as they are.
    ms = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(desc[0, :n].numpy(), desc[0, :n].numpy())
    assert len(ms) > 0 and all(m.distance == 0 for m in ms)


@pytest.mark.parametrize("shape", [(0, 0), (1, 1), (20, 300), (44, 44), (62, 500), (63, 64)])
def test_images_smaller_than_the_patch_give_zero_keypoints(shape):
    img = (np.random.default_rng(0).random(shape) * 255).astype(np.uint8)
    kp, desc = features.orb(img, n_features=50)
    if min(shape) <= 2 * 31:  # edge_threshold 31 on each side leaves no pixel
        assert int(kp.counts[0]) == 0
    assert desc.shape == (1, 50, 32) and kp.xy.shape == (1, 50, 2)


def test_bad_input():
    with pytest.raises(ValueError, match="score"):
        features.orb(np.zeros((64, 64), np.uint8), score="sift")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        features.orb(torch.full((64, 64), 200.0))
    with pytest.raises(TypeError, match="uint8"):
        features.orb(torch.zeros(64, 64, dtype=torch.int32))
    with pytest.raises(ValueError, match="grayscale"):
        features.orb(np.zeros((64, 64, 3), np.uint8))


def test_harris_scores_are_the_corner_familys_bits(images):
    # The ORB kernel scores candidates 16 at a time (one vector lane each); every lane must give
    # the bits of the corner family's full-plane cv2.cornerHarris(level, 7, 3, 0.04) kernel, at
    # every CPU level (the budget cuts compare these scores exactly).
    img = images["astronaut"]
    levels = ref.pyramid(img, 1.2, 8)
    for level, (kp, _) in run_at_every_level(lambda: features.orb(img, n_features=500)).items():
        n = int(kp.counts[0])
        planes = {}
        for i in range(n):
            lv = int(kp.levels[0, i])
            x, y = ref.level_pixel(kp.xy[0, i].tolist(), lv, img.shape, 1.2)
            if lv not in planes:
                planes[lv] = np.asarray(features.harris_response(levels[lv], block_size=7, ksize=3, k=0.04))
            assert np.float32(planes[lv][y, x]) == np.float32(kp.scores[0, i]), (level, i, lv, x, y)


@pytest.mark.parametrize("patch_size,edge_threshold", [(51, 31), (15, 5)])
def test_other_patch_sizes_equal_the_reference(images, patch_size, edge_threshold):
    # patch 51: the disc (radius 25) is summed from the level (the kernel's general path);
    # patch 15 with edge 5: the smallest border (22, the pattern's reach + the blur).
    img = images["camera"]
    kp, desc = features.orb(img, n_features=200, patch_size=patch_size, edge_threshold=edge_threshold)
    levels = ref.pyramid(img, 1.2, 8)
    pairs = ref.pattern()
    n = int(kp.counts[0])
    assert n > 100
    for i in range(n):
        lv = int(kp.levels[0, i])
        x, y = ref.level_pixel(kp.xy[0, i].tolist(), lv, img.shape, 1.2)
        angle, d = ref.describe(levels[lv], x, y, patch_size // 2, pairs)
        assert abs((float(kp.angles[0, i]) - angle + 180) % 360 - 180) < 1e-4, (i, lv, x, y)
        assert np.array_equal(desc[0, i].numpy(), d), (i, lv, x, y)
