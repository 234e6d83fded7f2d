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
    import argparse

    import pytest

    from vision_ext.cli import UsageError
    from vision_ext.commands._feature_methods import texture

    p = argparse.ArgumentParser()
    texture.add_arguments(p)
    for argv, said in ((["--lbp-points", "40"], "--lbp-points must be in [1, 31]"),
                       (["--pixels-per-cell", "1"], "--pixels-per-cell must be >= 2"),
                       (["--glcm-levels", "300"], "--glcm-levels must be in [2, 256]")):
        args = p.parse_args(argv)
        args.method = {"--lbp-points": "lbp", "--pixels-per-cell": "hog", "--glcm-levels": "glcm"}[argv[0]]
        with pytest.raises(UsageError, match=said.replace("[", r"\[").replace("]", r"\]")):
            texture.check(args)
