"""Benchmark cases of the corner family against OpenCV (same thread count), kornia and scikit-image.

Peers that define the response differently (kornia's and skimage's Harris use other
windows and scales) are timed only; their outputs are reported as not matching.
"""
import numpy as np
import torch

from vision_ext.bench.core import Case


def _gray(size=None):
    import cv2
    from skimage import data

    img = data.camera()
    return img if size is None else cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)


def _fast_set(kp_or_list):
    if isinstance(kp_or_list, tuple) and len(kp_or_list) == 3:  # our op's (xy, scores, counts)
        xy, sc, cnt = kp_or_list
        n = int(cnt[0])
        return sorted(zip(map(tuple, xy[0, :n].tolist()), sc[0, :n].tolist()))
    return sorted((kp.pt, kp.response) for kp in kp_or_list)


def _same_points(ours, peer):
    xy, _, cnt = ours
    peer = np.asarray(peer).reshape(-1, 2)
    return np.array_equal(xy[0, :int(cnt[0])].cpu().numpy(), peer)


def cases(quick: bool, device: str):
    import cv2

    cv2.setNumThreads(torch.get_num_threads())
    ops = torch.ops.vision_ext
    sizes = [("camera 512x512", None)] if quick else [("camera 512x512", None), ("3840x2160", (3840, 2160))]
    out = []
    for label, size in sizes:
        def setup(size=size):
            g = _gray(size)
            return torch.from_numpy(g).to(device), g

        def setup_f32(size=size):
            g = _gray(size).astype(np.float32) / 255
            return torch.from_numpy(g).to(device), g

        peers = {"cv2.cornerHarris": lambda t, g: cv2.cornerHarris(g, 2, 3, 0.04)}
        if not quick:
            peers["kornia.harris_response"] = _kornia_harris
            peers["skimage.corner_harris"] = lambda t, g: _skimage_harris(g)
        out.append(Case("harris_response f32", label, device, lambda t, g: ops.harris_response(t, 2, 3, 0.04, 4),
                        peers, setup=setup_f32, matches=_close_to_cv2))
        out.append(Case("harris_response u8", label, device, lambda t, g: ops.harris_response(t, 2, 3, 0.04, 4),
                        {"cv2.cornerHarris": lambda t, g: cv2.cornerHarris(g, 2, 3, 0.04)}, setup=setup,
                        matches=_close_to_cv2))
        out.append(Case("min_eigen_response u8", label, device, lambda t, g: ops.min_eigen_response(t, 3, 3, 4),
                        {"cv2.cornerMinEigenVal": lambda t, g: cv2.cornerMinEigenVal(g, 3)}, setup=setup,
                        matches=_close_to_cv2))
        for thr in (10, 20):  # 10: OpenCV's default (the floor); 20: fewer candidates
            out.append(Case(f"fast 9_16 t={thr}", label, device, lambda t, g, thr=thr: ops.fast(t, thr, True, 16, 0),
                            {"cv2.FAST": lambda t, g, thr=thr: cv2.FastFeatureDetector_create(thr, True).detect(g)},
                            setup=setup, matches=lambda a, b: _fast_set(a) == _fast_set(b)))
        out.append(Case("good_features_to_track", label, device,
                        lambda t, g: ops.good_features_to_track(t, 1000, 0.01, 10.0, 3, 3, False, 0.04, None),
                        {"cv2.goodFeaturesToTrack": lambda t, g: cv2.goodFeaturesToTrack(g, 1000, 0.01, 10.0)},
                        setup=setup, matches=_same_points))

    batch = 4 if quick else 16

    def setup_batch():
        g = _gray().astype(np.float32) / 255
        stack = np.stack([np.roll(g, i * 7, axis=1) for i in range(batch)])
        return torch.from_numpy(stack)[:, None].to(device), stack

    out.append(Case("harris_response f32 batch", f"{batch}x1x512x512", device,
                    lambda t, g: ops.harris_response(t, 2, 3, 0.04, 4),
                    {"cv2 loop": lambda t, g: np.stack([cv2.cornerHarris(x, 2, 3, 0.04) for x in g])[:, None]},
                    setup=setup_batch, matches=_close_to_cv2))
    return out


def _close_to_cv2(ours, ref):
    ours = ours.detach().cpu().numpy()
    ref = np.asarray(ref)
    return ours.shape == ref.shape and float(np.abs(ours - ref).max()) <= 1e-5 * float(np.abs(ref).max())


def _kornia_harris(t, g):
    import kornia

    return kornia.feature.harris_response(t.reshape(1, 1, *t.shape[-2:]).float(), k=0.04)


def _skimage_harris(g):
    from skimage.feature import corner_harris

    return corner_harris(g, k=0.04)
