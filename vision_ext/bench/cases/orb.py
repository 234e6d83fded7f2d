"""Benchmark cases of the ORB family against OpenCV at the same thread count: detect + describe on
a 1080p image and on a batch of 640x480 images (cv2 in a loop), and brute-force Hamming matching
with cross check against cv2.BFMatcher.

Our ORB is not OpenCV's pixel for pixel (its own pyramid, smoothing and ranking: vision_ext/features/
orb.py), so the ORB cases report timing with `matches` checking the outputs are the same kind (as
many keypoints, 32-byte descriptors); the matcher case is checked for equality with cv2.
"""
import numpy as np
import torch

from vision_ext.bench.core import Case


def _gray(size):
    import cv2
    from skimage import data

    return cv2.resize(data.camera(), size, interpolation=cv2.INTER_LINEAR)


def _same_kind(ours, peer):
    desc, counts = ours[4], ours[5]
    kps = peer if isinstance(peer, list) else [peer]
    n_peer = [len(k[0]) for k in kps]
    return desc.shape[-1] == 32 and all(abs(int(c) - n) <= 0.1 * max(n, 1) for c, n in zip(counts.tolist(), n_peer))


def _same_matches(ours, peer):
    index, distance = ours
    got = sorted((q, int(index[0, q]), int(distance[0, q])) for q in torch.nonzero(index[0] >= 0).flatten().tolist())
    return got == sorted((m.queryIdx, m.trainIdx, int(m.distance)) for m in peer)


def cases(quick: bool, device: str):
    import cv2

    cv2.setNumThreads(torch.get_num_threads())
    ops = torch.ops.vision_ext
    orb = cv2.ORB_create(500)
    out = []

    def setup_hd():
        g = _gray((1920, 1080))
        return torch.from_numpy(g).to(device), g

    out.append(Case("orb 500", "1920x1080", device, lambda t, g: ops.orb(t, 500, 1.2, 8, 31, 20, 31, True),
                    {"cv2.ORB_create(500).detectAndCompute": lambda t, g: orb.detectAndCompute(g, None)},
                    setup=setup_hd, matches=_same_kind))
    batch = 4 if quick else 16

    def setup_batch():
        g = _gray((640, 480))
        stack = np.stack([np.roll(g, i * 7, axis=1) for i in range(batch)])
        return torch.from_numpy(stack)[:, None].to(device), stack

    out.append(Case("orb 500 batch", f"{batch}x1x480x640", device,
                    lambda t, g: ops.orb(t, 500, 1.2, 8, 31, 20, 31, True),
                    {"cv2 loop": lambda t, g: [orb.detectAndCompute(x, None) for x in g]},
                    setup=setup_batch, matches=_same_kind))
    n = 1000 if quick else 5000

    def setup_match():
        rng = np.random.default_rng(0)
        d2 = rng.integers(0, 256, (n, 32), dtype=np.uint8)
        bits = np.unpackbits(d2, axis=1) ^ (rng.random((n, 256)) < 0.1)
        d1 = np.packbits(bits, axis=1)[rng.permutation(n)]
        return torch.from_numpy(d1).to(device), torch.from_numpy(d2).to(device), d1, d2

    bf = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
    out.append(Case("match_descriptors cross-check", f"{n}x{n}", device,
                    lambda a, b, x, y: ops.match_descriptors(a, b, None, None, True, -1.0, -1),
                    {"cv2.BFMatcher(NORM_HAMMING, crossCheck)": lambda a, b, x, y: bf.match(x, y)},
                    setup=setup_match, matches=_same_matches))
    return out
