"""Benchmark cases of the texture family against scikit-image (single-threaded numpy/Cython; ours at
the bench's thread count): LBP (default and uniform), GLCM with every graycoprops property, and HOG
(grayscale and colour). Every case checks that the outputs are equal (GLCM properties within 1e-11)."""
import numpy as np
import torch

from vision_ext.bench.core import Case

ANGLES = [0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4]


def _equal(ours, ref):
    if isinstance(ours, torch.Tensor):
        ours = ours.detach().cpu().numpy()
    ref = np.asarray(ref)
    return ours.shape == ref.shape and np.array_equal(ours, ref, equal_nan=True)


def _glcm_all_ours(t, g):
    from vision_ext import features
    from vision_ext.ops.texture import GLCM_PROPS

    P = features.graycomatrix(t, [1], ANGLES, symmetric=True, normed=True)
    return features.graycoprops(P, list(GLCM_PROPS))


def _glcm_all_skimage(t, g):
    from skimage.feature import graycomatrix, graycoprops

    from vision_ext.ops.texture import GLCM_PROPS

    P = graycomatrix(g, [1], ANGLES, symmetric=True, normed=True)
    return np.stack([graycoprops(P, p) for p in GLCM_PROPS])


def _props_close(ours, ref):
    ours = ours.detach().cpu().numpy()
    return ours.shape == ref.shape and np.allclose(ours, ref, rtol=1e-11, atol=1e-13)


def _hog_equal(ours, ref):
    return _equal(ours[0] if isinstance(ours, tuple) else ours, ref)


def cases(quick: bool, device: str):
    from skimage import data
    from skimage.feature import hog, local_binary_pattern

    from vision_ext import features

    def setup_gray():
        g = data.camera()
        return torch.from_numpy(g).to(device), g

    def setup_rgb():
        g = data.astronaut()
        return torch.from_numpy(g).to(device), g

    label = "camera 512x512"
    out = []
    for method in ("default", "uniform"):
        out.append(Case(f"local_binary_pattern P=8 R=1 {method}", label, device,
                        lambda t, g, m=method: features.local_binary_pattern(t, 8, 1.0, m),
                        {"skimage.local_binary_pattern": lambda t, g, m=method: local_binary_pattern(g, 8, 1.0, m)},
                        setup=setup_gray, matches=_equal))
    if not quick:
        out.append(Case("local_binary_pattern P=16 R=2 var", label, device,
                        lambda t, g: features.local_binary_pattern(t, 16, 2.0, "var"),
                        {"skimage.local_binary_pattern": lambda t, g: local_binary_pattern(g, 16, 2.0, "var")},
                        setup=setup_gray, matches=_equal))
    out.append(Case("graycomatrix+graycoprops (10 props)", label + " d=1, 4 angles", device, _glcm_all_ours,
                    {"skimage.graycomatrix+graycoprops": _glcm_all_skimage}, setup=setup_gray, matches=_props_close))
    out.append(Case("hog 9x(8,8)x(3,3) L2-Hys", label, device, lambda t, g: features.hog(t),
                    {"skimage.hog": lambda t, g: hog(g)}, setup=setup_gray, matches=_equal))
    if not quick:
        out.append(Case("hog visualize", label, device, lambda t, g: features.hog(t, visualize=True)[1],
                        {"skimage.hog": lambda t, g: hog(g, visualize=True)[1]}, setup=setup_gray, matches=_equal))
        out.append(Case("hog rgb channel_axis=-1", "astronaut 512x512x3", device,
                        lambda t, g: features.hog(t, channel_axis=-1),
                        {"skimage.hog": lambda t, g: hog(g, channel_axis=-1)}, setup=setup_rgb, matches=_equal))
    return out
