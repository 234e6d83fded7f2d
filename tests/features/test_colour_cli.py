"""`vision-ext features` colour methods through `python -m vision_ext.cli` (default image: astronaut)."""
import os
import subprocess
import sys

import cv2
import numpy as np
from skimage import data

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vision_ext.cli", "features", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_colour_methods(tmp_path):
    hist, grad, grid = tmp_path / "h.png", tmp_path / "g.png", tmp_path / "grid.png"
    res = _cli("--method", "color-histogram", "--hist-bins", "64", "-o", str(hist))
    assert res.returncode == 0, res.stderr
    assert "color-histogram: 64 bins per channel on a 512x512 image" in res.stdout
    assert cv2.imread(str(hist)).shape == (300, 512, 3)
    res = _cli("--method", "color-gradient", "-o", str(grad))
    assert res.returncode == 0, res.stderr
    g = cv2.imread(str(grad), cv2.IMREAD_GRAYSCALE)
    assert g.shape == (512, 512) and g.max() == 255
    res = _cli("--method", "grid", "--grid-size", "2", "-o", str(grid))
    assert res.returncode == 0, res.stderr
    img = cv2.imread(str(grid))
    rgb = data.astronaut()
    assert np.abs(img[128, 128, ::-1].astype(float) - rgb[:256, :256].reshape(-1, 3).mean(0)).max() <= 1.0


def test_cli_colour_bad_arguments():
    res = _cli("--method", "grid", "--grid-size", "0")
    assert res.returncode == 2 and "--grid-size must be >= 1" in res.stderr
    res = _cli("--method", "color-histogram", "--hist-bins", "0")
    assert res.returncode == 2 and "--hist-bins must be in" in res.stderr
