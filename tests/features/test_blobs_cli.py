"""`vision-ext features --method blob-*` through `python -m vision_ext.cli`: the blobs drawn are
scikit-image's. (One subprocess per method is slow: two calls in all.)"""
import os
import subprocess
import sys

import cv2
from skimage import data, feature

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vision_ext.cli", "features", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_draws_skimage_blobs(tmp_path):
    src = tmp_path / "coins.png"
    cv2.imwrite(str(src), data.coins()[:96, :128])
    out = tmp_path / "blobs.png"
    res = _cli(str(src), "--method", "blob-log", "--max-sigma", "8", "--threshold", "0.05", "-o", str(out))
    assert res.returncode == 0, res.stderr
    n = len(feature.blob_log(cv2.imread(str(src), cv2.IMREAD_GRAYSCALE), max_sigma=8, threshold=0.05))
    assert n > 10 and f"blob-log: {n} blobs on a 128x96 image" in res.stdout
    img = cv2.imread(str(out))
    assert img.shape == (96, 128, 3) and (img[..., 2] > img[..., 1]).any()  # red circles


def test_cli_bad_blob_arguments():
    res = _cli("--method", "blob-dog", "--sigma-ratio", "1")
    assert res.returncode == 2 and "--sigma-ratio must be" in res.stderr
