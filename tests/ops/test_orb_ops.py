"""torch.ops.vision_ext.orb / match_descriptors: opcheck, the matcher against cv2.BFMatcher (cross
check on and off, ties, ratio test against knnMatch, batches with counts), the same bits at every CPU
level and thread count, bad inputs."""
import cv2
import numpy as np
import pytest
import torch

import vision_ext  # noqa: F401
from tests.conftest import run_at_every_level
from vision_ext import features

ops = torch.ops.vision_ext


def _random_desc(n, seed, flips=None, base=None):
    rng = np.random.default_rng(seed)
    if base is None:
        return rng.integers(0, 256, (n, 32), dtype=np.uint8)
    bits = np.unpackbits(base, axis=1)
    mask = rng.random(bits.shape) < flips
    return np.packbits(bits ^ mask, axis=1)


def _cv2_pairs(d1, d2, cross_check):
    ms = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=cross_check).match(d1, d2)
    return sorted((m.queryIdx, m.trainIdx, int(m.distance)) for m in ms)


def _our_pairs(m, i=0):
    p = m.pairs(i).tolist()
    return sorted((q, t, int(m.distance[i, q])) for q, t in p)


@pytest.mark.parametrize("cross_check", [True, False])
@pytest.mark.parametrize("n1,n2", [(1, 1), (7, 300), (300, 7), (513, 389)])
def test_matches_equal_cv2_bfmatcher(cross_check, n1, n2):
    d2 = _random_desc(n2, n2)
    # Queries: noisy copies of some trains (true matches) plus unrelated descriptors.
    near = _random_desc(n1, n1 + 1, flips=0.1, base=d2[np.arange(n1) % n2])
    d1 = np.where(np.arange(n1)[:, None] % 3 == 0, _random_desc(n1, 5), near).astype(np.uint8)
    ours = features.match_descriptors(d1, d2, cross_check=cross_check)
    assert _our_pairs(ours) == _cv2_pairs(d1, d2, cross_check)


def test_ties_go_to_the_lowest_index_like_cv2():
    # Many exact duplicates and equal distances: every query has several nearest trains.
    base = _random_desc(6, 0)
    d2 = base[np.array([0, 1, 0, 2, 1, 3, 3, 4, 5, 5])]
    d1 = base[np.array([3, 0, 0, 1, 5, 2, 4, 4])]
    for cross in (True, False):
        assert _our_pairs(features.match_descriptors(d1, d2, cross_check=cross)) == _cv2_pairs(d1, d2, cross)
    # Coarse descriptors (few distinct distances) give ties that are not duplicates.
    rng = np.random.default_rng(3)
    d1 = (rng.integers(0, 2, (200, 32)) * 255).astype(np.uint8)
    d2 = (rng.integers(0, 2, (150, 32)) * 255).astype(np.uint8)
    for cross in (True, False):
        assert _our_pairs(features.match_descriptors(d1, d2, cross_check=cross)) == _cv2_pairs(d1, d2, cross)


def test_ratio_test_and_distance_cap_equal_cv2_knn():
    d2 = _random_desc(400, 1)
    d1 = _random_desc(250, 2, flips=0.15, base=d2[:250])
    knn = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(d1, d2, k=2)
    want = sorted((a.queryIdx, a.trainIdx, int(a.distance)) for a, b in knn if a.distance < 0.7 * b.distance)
    ours = features.match_descriptors(d1, d2, cross_check=False, max_ratio=0.7)
    assert _our_pairs(ours) == want
    capped = features.match_descriptors(d1, d2, cross_check=True, max_distance=40)
    assert _our_pairs(capped) == [p for p in _cv2_pairs(d1, d2, True) if p[2] <= 40]


def test_batched_with_counts_equals_per_image():
    sets = [(_random_desc(n1, 10 + n1), _random_desc(n2, 20 + n2)) for n1, n2 in ((50, 80), (80, 20), (0, 30))]
    k1, k2 = 80, 80
    d1 = torch.zeros(3, k1, 32, dtype=torch.uint8)
    d2 = torch.zeros(3, k2, 32, dtype=torch.uint8)
    for i, (a, b) in enumerate(sets):
        d1[i, :len(a)] = torch.from_numpy(a)
        d2[i, :len(b)] = torch.from_numpy(b)
    c1 = torch.tensor([len(a) for a, _ in sets])
    c2 = torch.tensor([len(b) for _, b in sets])
    m = features.match_descriptors(d1, d2, counts1=c1, counts2=c2)
    for i, (a, b) in enumerate(sets):
        want = _cv2_pairs(a, b, True) if len(a) and len(b) else []
        assert _our_pairs(m, i) == want
        assert (m.index[i, len(a):] == -1).all()


def test_to_cv2_dmatch_and_cv2_descriptors_accepted(camera):
    kp, desc = features.orb(camera, n_features=200)
    n = int(kp.counts[0])
    d = desc[0, :n].numpy()
    m = features.match_descriptors(d, d[::-1].copy())
    dm = m.to_cv2(0)
    assert [(x.queryIdx, x.trainIdx) for x in dm] == [(q, n - 1 - q) for q in range(n)] or len(set(map(bytes, d))) < n
    assert all(isinstance(x, cv2.DMatch) for x in dm)


def test_same_bits_at_every_level_and_thread_count():
    d1 = torch.from_numpy(_random_desc(700, 7))
    d2 = torch.from_numpy(_random_desc(900, 8))
    outs = run_at_every_level(lambda: ops.match_descriptors(d1, d2, None, None, True, 0.9, -1))
    first = next(iter(outs.values()))
    for out in outs.values():
        assert all(torch.equal(a, b) for a, b in zip(first, out))
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = ops.match_descriptors(d1, d2, None, None, True, 0.9, -1)
    finally:
        torch.set_num_threads(threads)
    assert all(torch.equal(a, b) for a, b in zip(first, one))


def test_opcheck(camera):
    img = torch.from_numpy(np.ascontiguousarray(camera[100:260, 120:300]))
    torch.library.opcheck(ops.orb.default, (img, 50, 1.2, 3, 31, 20, 31, True))
    torch.library.opcheck(ops.orb.default, (img[None, None].expand(2, 1, -1, -1).contiguous(), 20, 1.3, 2, 25, 15,
                                            31, False))
    d1 = torch.from_numpy(_random_desc(30, 1))
    d2 = torch.from_numpy(_random_desc(40, 2))
    torch.library.opcheck(ops.match_descriptors.default, (d1, d2, None, None, True, -1.0, -1))
    torch.library.opcheck(ops.match_descriptors.default, (d1[None], d2[None], torch.tensor([20]), torch.tensor([33]),
                                                          False, 0.8, 60))


def test_bad_inputs():
    img = torch.zeros(64, 64, dtype=torch.uint8)
    with pytest.raises(RuntimeError, match="n_features"):
        ops.orb(img, 0, 1.2, 8, 31, 20, 31, True)
    with pytest.raises(RuntimeError, match="scale_factor"):
        ops.orb(img, 10, 1.0, 8, 31, 20, 31, True)
    with pytest.raises(RuntimeError, match="n_levels"):
        ops.orb(img, 10, 1.2, 0, 31, 20, 31, True)
    with pytest.raises(RuntimeError, match="fast_threshold"):
        ops.orb(img, 10, 1.2, 8, 31, 300, 31, True)
    with pytest.raises(RuntimeError, match="patch_size"):
        ops.orb(img, 10, 1.2, 8, 31, 20, 1, True)
    with pytest.raises(RuntimeError, match="uint8"):
        ops.orb(img.float(), 10, 1.2, 8, 31, 20, 31, True)
    with pytest.raises(RuntimeError, match="single channel"):
        ops.orb(torch.zeros(1, 3, 64, 64, dtype=torch.uint8), 10, 1.2, 8, 31, 20, 31, True)
    d = torch.zeros(4, 32, dtype=torch.uint8)
    with pytest.raises(RuntimeError, match=r"\(N, 32\)"):
        ops.match_descriptors(torch.zeros(4, 16, dtype=torch.uint8), d, None, None, True, -1.0, -1)
    with pytest.raises(RuntimeError, match="uint8"):
        ops.match_descriptors(d.float(), d, None, None, True, -1.0, -1)
    with pytest.raises(RuntimeError, match="batch size"):
        ops.match_descriptors(d[None].expand(2, 4, 32), d[None], None, None, True, -1.0, -1)
    with pytest.raises(RuntimeError, match="counts"):
        ops.match_descriptors(d, d, torch.tensor([1, 2]), None, True, -1.0, -1)
    with pytest.raises(ValueError, match="max_ratio"):
        features.match_descriptors(d, d, max_ratio=1.5)
    with pytest.raises(ValueError, match="max_distance"):
        features.match_descriptors(d, d, max_distance=-3)
