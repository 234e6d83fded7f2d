"""OpenCV settings shared by the tests that compare with it."""
import cv2
import pytest


@pytest.fixture(autouse=True)
def no_ipp():
    """Pip wheels shift even windows on their IPP path (ksize 3/5, constant or replicate border):
    compare without it.
    Import this fixture into a test module to apply it to every test there."""
    old = cv2.ipp.useIPP()
    cv2.ipp.setUseIPP(False)
    yield
    cv2.ipp.setUseIPP(old)
