"""vision_ext.features.canny: equal to cv2.Canny on numpy (grey and channels-last colour) and tensors,
the nn.Module wrapper, argument errors, and the CLI's canny method."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from vision_ext import features

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_numpy_in_numpy_out(camera, astronaut):
    for img in (camera, astronaut, np.ascontiguousarray(astronaut[..., :1])):
        for aperture, l2 in [(3, False), (5, True), (7, False)]:
            scale = {3: 1, 5: 8, 7: 32}[aperture]
            out = features.canny(img, 40 * scale, 120 * scale, aperture=aperture, l2_gradient=l2)
            ref = cv2.Canny(img, 40 * scale, 120 * scale, apertureSize=aperture, L2gradient=l2)
            assert isinstance(out, np.ndarray) and out.dtype == np.uint8
            np.testing.assert_array_equal(out, ref)
    # A non-contiguous numpy view (cv2 copies it too).
    view = astronaut[::2, 1::3]
    np.testing.assert_array_equal(features.canny(view, 50, 150), cv2.Canny(np.ascontiguousarray(view), 50, 150))


def test_tensor_shapes_and_module(camera, astronaut):
    ref = torch.from_numpy(cv2.Canny(astronaut, 60, 180, L2gradient=True))
    chw = torch.from_numpy(astronaut).permute(2, 0, 1)
    assert torch.equal(features.canny(chw, 60, 180, l2_gradient=True), ref[None])
    batch = torch.stack([chw, chw])
    module = features.Canny(60, 180, l2_gradient=True)
    out = module(batch)
    assert out.shape == (2, 1, 512, 512) and torch.equal(out[1, 0], ref)
    assert "l2_gradient=True" in repr(module)
    assert torch.equal(features.canny(torch.from_numpy(camera), 50, 150), torch.from_numpy(cv2.Canny(camera, 50, 150)))


def test_argument_errors(camera):
    with pytest.raises(TypeError, match="image: expected a torch.Tensor or numpy array"):
        features.canny(camera.tolist(), 50, 150)
    with pytest.raises(ValueError, match=r"image: expected a grey \(H, W\) or colour \(H, W, 3\)"):
        features.canny(np.zeros((8, 8, 4), np.uint8), 50, 150)
    with pytest.raises(ValueError, match=r"shape \(H, W\) or \(H, W, C\)"):
        features.canny(np.zeros((1, 8, 8, 3), np.uint8), 50, 150)
    with pytest.raises(RuntimeError, match="image dtype must be uint8"):
        features.canny(camera.astype(np.float32), 50, 150)
    with pytest.raises(RuntimeError, match="aperture must be 3, 5 or 7"):
        features.canny(camera, 50, 150, aperture=4)
    with pytest.raises(RuntimeError, match="low threshold must be a finite number"):
        features.canny(camera, float("nan"), 150)


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vision_ext.cli", "features", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_canny(tmp_path, camera):
    out = tmp_path / "edges.png"
    res = _cli("--method", "canny", "--low", "50", "--high", "150", "-o", str(out))
    assert res.returncode == 0, res.stderr
    ref = cv2.Canny(camera, 50, 150)
    assert f"canny: {int((ref > 0).sum())} edge pixels on a 512x512 image" in res.stdout
    np.testing.assert_array_equal(cv2.imread(str(out), cv2.IMREAD_GRAYSCALE), ref)
    res = _cli("--method", "canny", "--ksize", "1")
    assert res.returncode == 2 and "--ksize must be 3, 5 or 7 for canny" in res.stderr
