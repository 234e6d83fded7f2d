"""Benchmark cases of the Canny edge detector against cv2.Canny (same thread count).

The 4K (3840x2160) grey image is skimage's camera photo resized; the colour case uses astronaut.
"""
import numpy as np
import torch

from vision_ext.bench.core import Case


def _image(name, size):
    import cv2
    from skimage import data

    img = getattr(data, name)()
    return img if size is None else cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)


def _same_edges(ours, ref):
    return np.array_equal(ours.detach().cpu().numpy().reshape(np.shape(ref)), np.asarray(ref))


def cases(quick: bool, device: str):
    import cv2

    cv2.setNumThreads(torch.get_num_threads())
    ops = torch.ops.vision_ext
    sizes = [("camera 512x512", None)] if quick else [("camera 512x512", None), ("3840x2160", (3840, 2160))]
    out = []
    for label, size in sizes:
        def setup(size=size):
            g = _image("camera", size)
            return torch.from_numpy(g).to(device), g

        for aperture, l2, low, high in [(3, False, 50.0, 150.0), (3, True, 50.0, 150.0), (5, False, 400.0, 1200.0)]:
            name = f"canny a={aperture} {'L2' if l2 else 'L1'}"
            out.append(Case(name, label, device,
                            lambda t, g, a=aperture, l2=l2, lo=low, hi=high: ops.canny(t, lo, hi, a, l2),
                            {"cv2.Canny": lambda t, g, a=aperture, l2=l2, lo=low, hi=high:
                             cv2.Canny(g, lo, hi, apertureSize=a, L2gradient=l2)},
                            setup=setup, matches=_same_edges))

    def setup_colour():
        c = _image("astronaut", None if quick else (3840, 2160))
        return torch.from_numpy(np.ascontiguousarray(np.moveaxis(c, 2, 0))).to(device), c

    out.append(Case("canny colour a=3 L1", "astronaut" + ("" if quick else " 3840x2160"), device,
                    lambda t, g: ops.canny(t, 50.0, 150.0, 3, False),
                    {"cv2.Canny": lambda t, g: cv2.Canny(g, 50.0, 150.0)}, setup=setup_colour, matches=_same_edges))
    return out
