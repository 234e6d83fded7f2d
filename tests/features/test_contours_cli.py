"""`vision-ext features --method contours` through `python -m vision_ext.cli`: counts equal to skimage's."""
import os
import subprocess
import sys

import cv2
import numpy as np
from skimage import data
from skimage.measure import find_contours

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vision_ext.cli", "features", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_draws_contours_coloured_by_curvature(tmp_path):
    out = tmp_path / "contours.png"
    res = _cli("--method", "contours", "--level", "100", "--smoothing", "1.5", "-o", str(out))
    assert res.returncode == 0, res.stderr
    ref = find_contours(data.camera(), 100.0)
    closed = sum(bool(np.array_equal(c[0], c[-1])) for c in ref)
    assert (f"contours: {len(ref)} contours ({closed} closed, {len(ref) - closed} open), "
            f"{sum(len(c) for c in ref)} points at level 100 on a 512x512 image") in res.stdout
    img = cv2.imread(str(out))
    assert img.shape == (512, 512, 3)
    assert (img[..., 2].astype(int) - img[..., 0] > 100).any() and (img[..., 0].astype(int) - img[..., 2] > 100).any()


def test_cli_bad_arguments():
    res = _cli("--method", "contours", "--smoothing", "-1")
    assert res.returncode == 2 and "--smoothing must be a finite number >= 0" in res.stderr
    res = _cli("--method", "contours", "--level", "nan")
    assert res.returncode == 2 and "--level must be a finite number" in res.stderr
