"""`vision-ext features` through `python -m vision_ext.cli`."""
import os
import subprocess
import sys

import cv2
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vision_ext.cli", "features", *args], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.mark.parametrize("method", ["harris", "fast"])
def test_cli_draws_keypoints(tmp_path, method):
    out = tmp_path / f"{method}.png"
    res = _cli("--method", method, "--max-corners", "50", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert f"{method}: 50 points on a 512x512 image" in res.stdout
    img = cv2.imread(str(out))
    assert img.shape == (512, 512, 3) and (img[..., 2] > img[..., 1]).any()  # red circles drawn


def test_cli_bad_arguments(tmp_path):
    res = _cli("--method", "gftt", "--quality", "0")
    assert res.returncode == 2 and "--quality must be > 0" in res.stderr
    res = _cli(str(tmp_path / "missing.png"))
    assert res.returncode == 2 and "cannot read" in res.stderr
