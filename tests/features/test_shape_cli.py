"""`vision-ext features --method shape / relations`: region counts and summaries against skimage on the
same Otsu threshold, the drawing, and option errors."""
import os
import subprocess
import sys

import cv2
import numpy as np
from skimage import data, measure

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _cli(*args):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "vision_ext.cli", "features", *args], capture_output=True, text=True,
                          env=env, timeout=120)


def test_cli_shape_and_relations(tmp_path):
    coins = data.coins()
    img = tmp_path / "coins.png"
    cv2.imwrite(str(img), coins)
    _, mask = cv2.threshold(coins, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    props = [p for p in measure.regionprops(measure.label(mask, connectivity=2)) if p.area >= 30]
    out = tmp_path / "shape.png"
    res = _cli(str(img), "--method", "shape", "--min-area", "30", "-o", str(out))
    assert res.returncode == 0, res.stderr
    assert f"shape: {len(props)} regions of >= 30 pixels" in res.stdout
    biggest = max(props, key=lambda p: p.area)
    assert f"area {int(biggest.area):6d}  centroid ({biggest.centroid[0]:7.1f}, {biggest.centroid[1]:7.1f})" in res.stdout
    drawn = cv2.imread(str(out))
    assert drawn.shape == coins.shape + (3,) and not np.array_equal(drawn[..., 0], drawn[..., 2])
    res = _cli(str(img), "--method", "relations", "--top", "3", "--min-area", "30", "-o", str(tmp_path / "rel.png"))
    assert res.returncode == 0, res.stderr
    assert "relations of the 3 largest regions" in res.stdout and res.stdout.count(" deg, distance ") == 3
    res = _cli(str(img), "--method", "relations", "--top", "1")
    assert res.returncode == 2 and "--top must be >= 2" in res.stderr
