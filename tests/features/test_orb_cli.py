"""`vision-ext features --method orb` through `python -m vision_ext.cli`."""
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


def test_cli_draws_keypoints_and_matches(tmp_path):
    out = tmp_path / "orb.png"
    res = _cli("--method", "orb", "--n-features", "200", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert "orb: 200 keypoints on a 512x512 image" in res.stdout
    assert cv2.imread(str(out)).shape == (512, 512, 3)
    other = tmp_path / "rotated.png"
    cv2.imwrite(str(other), cv2.rotate(data.camera(), cv2.ROTATE_90_CLOCKWISE))
    res = _cli("--method", "orb", "--match", str(other), "-o", str(tmp_path / "m.png"))
    assert res.returncode == 0, res.stderr
    n = int(res.stdout.split("orb: ")[1].split()[0])
    assert n > 100  # a 90-degree rotation keeps most keypoints matchable
    assert cv2.imread(str(tmp_path / "m.png")).shape == (512, 1024, 3)


def test_cli_bad_arguments(tmp_path):
    res = _cli("--method", "orb", "--scale-factor", "1")
    assert res.returncode == 2 and "--scale-factor" in res.stderr
    res = _cli("--method", "orb", "--match", str(tmp_path / "missing.png"), "-o", str(tmp_path / "x.png"))
    assert res.returncode == 2 and "--match: cannot read" in res.stderr
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.zeros((8, 8), np.uint8))
    res = _cli(str(tiny), "--method", "orb", "-o", str(tmp_path / "t.png"))
    assert res.returncode == 0 and "orb: 0 keypoints on a 8x8 image" in res.stdout
