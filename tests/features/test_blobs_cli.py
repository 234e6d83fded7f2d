"""`vision-ext features --method blob-*` through `python -m vision_ext.cli`: the blobs drawn are
scikit-image's."""
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
from skimage import feature

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vision_ext.cli", "features", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.parametrize("method,ref", [("blob-log", lambda g: feature.blob_log(g, max_sigma=8, threshold=0.1)),
                                        ("blob-dog", lambda g: feature.blob_dog(g, max_sigma=8, threshold=0.1)),
                                        ("blob-doh", lambda g: feature.blob_doh(g, max_sigma=8, threshold=0.1))])
def test_cli_draws_skimage_blobs(tmp_path, method, ref):
    src = tmp_path / "in.png"
    gray = (np.random.default_rng(3).random((64, 80)) > 0.97).astype(np.uint8) * 255  # bright dots
    gray = cv2.normalize(cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 2), None, 0, 255,
                         cv2.NORM_MINMAX).astype(np.uint8)
    cv2.imwrite(str(src), gray)
    out = tmp_path / "blobs.png"
    res = _cli(str(src), "--method", method, "--max-sigma", "8", "--threshold", "0.1", "-o", str(out))
    assert res.returncode == 0, res.stderr
    n = len(ref(cv2.imread(str(src), cv2.IMREAD_GRAYSCALE)))
    assert n > 3 and f"{method}: {n} blobs on a 80x64 image" in res.stdout
    img = cv2.imread(str(out))
    assert img.shape == (64, 80, 3) and (img[..., 2] > img[..., 1]).any()  # red circles


def test_cli_bad_blob_arguments():
    res = _cli("--method", "blob-log", "--min-sigma", "0")
    assert res.returncode == 2 and "--min-sigma must be" in res.stderr
    res = _cli("--method", "blob-dog", "--sigma-ratio", "1")
    assert res.returncode == 2 and "--sigma-ratio must be" in res.stderr
