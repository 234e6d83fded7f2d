"""Benchmark cases of the colour family against cv2.calcHist / np.histogram / numpy / cv2.Sobel
(same thread count). The per-channel histogram peer is a loop of cv2.calcHist over the batch's
contiguous channel planes (its fastest input: no channel stride), one call per plane."""
import numpy as np
import torch

from vision_ext.bench.core import Case


def _batch(n, size=(512, 512)):
    """n colour images (n, 3, H, W) uint8: astronaut, resized, flipped and rolled so they differ."""
    import cv2
    from skimage import data

    base = cv2.resize(data.astronaut(), size, interpolation=cv2.INTER_AREA)
    imgs = [np.roll(base[:, ::-1] if i % 2 else base, 17 * i, axis=0) for i in range(n)]
    return np.ascontiguousarray(np.stack(imgs).transpose(0, 3, 1, 2))


def _equal_counts(ours, ref):
    return np.array_equal(ours.cpu().numpy().reshape(-1), np.asarray(ref, dtype=np.int64).reshape(-1))


def _close(rtol):
    def same(ours, ref):
        a = ours[0] if isinstance(ours, tuple) else ours
        return np.allclose(a.double().cpu().numpy().reshape(-1), np.asarray(ref, dtype=np.float64).reshape(-1),
                           rtol=rtol, atol=1e-6)
    return same


def _calchist_loop(x, bins, lo, hi):
    import cv2

    return [cv2.calcHist([plane], [0], None, [bins], [lo, hi]) for img in x for plane in img]


def _moments_numpy(x):
    v = x.reshape(x.shape[0], x.shape[1], -1).astype(np.float64)
    mu = v.mean(-1, keepdims=True)
    d = v - mu
    return np.stack([mu[..., 0], (d * d).mean(-1), (d * d * d).mean(-1)], -1)


def _gradient_cv2(x, ksize=3):
    import cv2

    out = []
    for img in x:
        sxx = sxy = syy = 0.0
        for plane in img:
            dx = cv2.Sobel(plane, cv2.CV_64F, 1, 0, ksize=ksize, borderType=cv2.BORDER_REFLECT_101)
            dy = cv2.Sobel(plane, cv2.CV_64F, 0, 1, ksize=ksize, borderType=cv2.BORDER_REFLECT_101)
            sxx, sxy, syy = sxx + dx * dx, sxy + dx * dy, syy + dy * dy
        out.append(np.sqrt(0.5 * (sxx + syy + np.sqrt((sxx - syy) ** 2 + 4 * sxy ** 2))))
    return np.stack(out)


def cases(quick: bool, device: str):
    import cv2

    cv2.setNumThreads(torch.get_num_threads())
    ops = torch.ops.vision_ext
    n = 8 if quick else 32
    label = f"{n}x3x512x512"

    def setup():
        x = _batch(n)
        return torch.from_numpy(x).to(device), x

    def setup_f32():
        x = _batch(n).astype(np.float32) / 255
        return torch.from_numpy(x).to(device), x

    def setup_hwc():
        x = _batch(n)
        return torch.from_numpy(x).to(device), np.ascontiguousarray(x.transpose(0, 2, 3, 1))

    out = [
        Case("color_histogram u8 256 bins", label, device,
             lambda t, x: ops.color_histogram(t, [256] * 3, [0.0] * 3, [256.0] * 3, None, False, 0),
             {"cv2.calcHist loop": lambda t, x: _calchist_loop(x, 256, 0, 256),
              "np.bincount loop": lambda t, x: [np.bincount(p.reshape(-1), minlength=256) for i in x for p in i]},
             setup=setup, matches=_equal_counts),
        Case("color_histogram f32 64 bins cv2", label, device,
             lambda t, x: ops.color_histogram(t, [64] * 3, [0.0] * 3, [1.0] * 3, None, False, 0),
             {"cv2.calcHist loop": lambda t, x: _calchist_loop(x, 64, 0, 1)}, setup=setup_f32, matches=_equal_counts),
        Case("color_histogram f32 64 bins numpy", label, device,
             lambda t, x: ops.color_histogram(t, [64] * 3, [0.0] * 3, [1.0] * 3, None, False, 1),
             {"np.histogram loop": lambda t, x: [np.histogram(p, 64, (0.0, 1.0))[0] for i in x for p in i]},
             setup=setup_f32, matches=_equal_counts),
        Case("color_histogram u8 joint 8x8x8", label, device,
             lambda t, x: ops.color_histogram(t, [8] * 3, [0.0] * 3, [256.0] * 3, None, True, 0),
             {"cv2.calcHist loop": lambda t, x: [cv2.calcHist([i], [0, 1, 2], None, [8] * 3, [0, 256] * 3) for i in x]},
             setup=setup_hwc, matches=_equal_counts),
        Case("color_moments f32", label, device, lambda t, x: ops.color_moments(t, None),
             {"numpy float64": lambda t, x: _moments_numpy(x)}, setup=setup_f32, matches=_close(1e-5)),
    ]
    g = 2 if quick else 8

    def setup_grad():
        x = _batch(g)
        return torch.from_numpy(x).to(device), x

    out.append(Case("color_gradient u8 ksize 3", f"{g}x3x512x512", device, lambda t, x: ops.color_gradient(t, 3),
                    {"cv2.Sobel float64 formula": lambda t, x: _gradient_cv2(x)}, setup=setup_grad,
                    matches=_close(1e-5)))
    return out
