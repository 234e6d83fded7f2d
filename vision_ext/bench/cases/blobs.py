"""Benchmark cases of the blob family against scikit-image (single-threaded numpy/scipy).

`matches` checks that both return the very same (y, x, sigma) rows in the same order.
"""
import numpy as np
import torch

from vision_ext.bench.core import Case


def _camera():
    from skimage import data

    return data.camera()


def _same_rows(ours, ref):
    return np.array_equal(np.asarray(ours), np.asarray(ref))


def cases(quick: bool, device: str):
    from skimage import feature

    from vision_ext import features

    img = _camera()
    label = "camera 512x512"

    def setup():
        return torch.from_numpy(img).to(device), img

    def ours(fn, **kw):
        return lambda t, g: fn(t, **kw).numpy(0)

    runs = [("blob_log", features.blob_log, feature.blob_log, dict(threshold=0.1)),
            ("blob_dog", features.blob_dog, feature.blob_dog, dict(threshold=0.1)),
            ("blob_doh", features.blob_doh, feature.blob_doh, dict(threshold=0.005))]
    if not quick:
        runs.append(("blob_log threshold=None rel=0.1", features.blob_log, feature.blob_log,
                     dict(threshold=None, threshold_rel=0.1)))
    out = []
    for name, fn, peer, kw in runs:
        out.append(Case(f"{name} (sigma 1..{30 if name == 'blob_doh' else 50})", label, device, ours(fn, **kw),
                        {f"skimage.feature.{peer.__name__}": lambda t, g, peer=peer, kw=kw: peer(g, **kw)},
                        setup=setup, matches=_same_rows))
    return out
