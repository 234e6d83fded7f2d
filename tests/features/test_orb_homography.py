"""ORB judged by what it is for (tests/features/orb_homography.py): on skimage's camera and
astronaut (grey) warped by known homographies (rotations 0-180 degrees, scales 0.5-2, perspective,
noise; the subset H.TEST_WARPS here, the full table in benchmarks/RESULTS.md), keypoint
repeatability and the fraction of correct cross-checked matches (reprojection within 3 px) are at
least those of cv2.ORB_create with the same n_features, at every warp.

Margin: each figure is a proportion over n keypoints or matches, n ~ 150 at a 2x zoom (most of the
zoomed image's keypoints have no counterpart) to 500, whose sampling spread is sqrt(p (1 - p) / n)
<= 0.5 / sqrt(150) ~ 0.04: two equally good detectors differ by that much on one warp by chance. We
allow 0.04 on a single warp and require the mean over all warps to be at least cv2's (no margin), so
a systematic loss fails. (Measured: at zooms of 1.8-2.2 our repeatability is 0.00-0.04 below cv2's
while our match precision is 0.01-0.11 above; benchmarks/RESULTS.md.)"""
import numpy as np
import pytest

from tests.features import orb_homography as H

MARGIN = 0.04


@pytest.fixture(scope="module")
def table():
    return H.table(500, H.TEST_WARPS)


def test_repeatability_and_match_precision_at_least_cv2(table):
    lows = []
    for name, warp, ours, cv2 in table:
        for k, what in ((0, "repeatability"), (1, "correct matches")):
            if ours[k] < cv2[k] - MARGIN:
                lows.append(f"{name} {warp}: {what} {ours[k]:.3f} < cv2 {cv2[k]:.3f} - {MARGIN}")
    assert not lows, "\n".join(lows)
    mean = np.array([[o[0], o[1], c[0], c[1]] for _, _, o, c in table]).mean(0)
    assert mean[0] >= mean[2] and mean[1] >= mean[3], mean


def test_the_evaluation_can_fail(table):
    # The measure itself: a wrong homography gives ~no correct matches, identity gives ~all.
    img = H.images()["camera"]
    warped, h = H.warp(img, dict(angle=90))
    wrong = H.run_ours(img, warped, np.eye(3))
    right = H.run_ours(img, warped, h)
    assert wrong[1] < 0.05 < 0.8 < right[1]
    ident = [row for row in table if row[1] == "identity"]
    assert all(o[0] > 0.95 and o[1] > 0.95 for _, _, o, _ in ident)
