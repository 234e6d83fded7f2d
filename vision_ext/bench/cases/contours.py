"""Benchmark cases of find_contours against skimage.measure.find_contours (single-threaded numpy /
Cython; ours at torch's thread count), on real 512x512 photographs and a binary silhouette, and of
contour_curvature (ours only has the two methods; no peer).

matches=: the same number of contours, each with the same points (float64, 1e-12).
"""
import numpy as np
import torch

from vision_ext.bench.core import Case


def _same_contours(ours, ref):
    points, contour_offsets, _ = ours
    ce = contour_offsets.tolist()
    if len(ce) - 1 != len(ref):
        return False
    pts = points.detach().cpu().numpy()
    return all(pts[ce[k]:ce[k + 1]].shape == r.shape and np.allclose(pts[ce[k]:ce[k + 1]], r, rtol=0, atol=1e-12)
               for k, r in enumerate(ref))


def cases(quick: bool, device: str):
    from skimage import data
    from skimage.measure import find_contours as sk_find_contours

    ops = torch.ops.vision_ext
    images = [("camera", None), ("coins", 100.5)] if quick else \
        [("camera", None), ("camera", 50.0), ("coins", 100.5), ("astronaut grey", None), ("horse", None)]
    out = []
    for name, level in images:
        def setup(name=name):
            if name == "astronaut grey":
                from skimage.color import rgb2gray

                img = rgb2gray(data.astronaut())
            else:
                img = getattr(data, name)()
            return torch.from_numpy(np.ascontiguousarray(img)).to(device), img

        shape = f"{name} {'level=None' if level is None else f'level={level}'}"
        out.append(Case("find_contours", shape, device,
                        lambda t, g, lv=level: ops.find_contours(t, lv, False, False, None),
                        {"skimage.find_contours": lambda t, g, lv=level: sk_find_contours(g, lv)},
                        setup=setup, matches=_same_contours))
    return out
