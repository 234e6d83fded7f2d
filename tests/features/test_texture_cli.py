"""`vision-ext features --method lbp|hog|glcm` through `python -m vision_ext.cli`."""
import os
import subprocess
import sys

import cv2
import numpy as np
from skimage import data
from skimage.feature import graycomatrix, graycoprops

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vision_ext.cli", "features", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_lbp_and_hog_images(tmp_path):
    for method, extra, said in (("lbp", ["--lbp-method", "uniform"], "10 distinct uniform codes"),
                                ("hog", ["--pixels-per-cell", "16"], "HOG features")):
        out = tmp_path / f"{method}.png"
        res = _cli("--method", method, *extra, "-o", str(out))
        assert res.returncode == 0, res.stderr
        assert said in res.stdout
        img = cv2.imread(str(out), cv2.IMREAD_GRAYSCALE)
        assert img.shape == (512, 512) and img.max() == 255


def test_glcm_prints_skimage_props(tmp_path):
    out = tmp_path / "glcm.png"
    res = _cli("--method", "glcm", "--glcm-levels", "64", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert cv2.imread(str(out), cv2.IMREAD_GRAYSCALE).shape == (64, 64)
    q = (data.camera().astype(np.int32) * 64 // 256).astype(np.uint8)
    P = graycomatrix(q, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=64, symmetric=True, normed=True)
    line = next(ln for ln in res.stdout.splitlines() if ln.strip().startswith("contrast:"))
    printed = [float(v) for v in line.split(":")[1].split()]
    np.testing.assert_allclose(printed, graycoprops(P, "contrast")[0], rtol=1e-5)


def test_bad_arguments():
    res = _cli("--method", "lbp", "--lbp-points", "40")
    assert res.returncode == 2 and "--lbp-points must be in [1, 31]" in res.stderr
