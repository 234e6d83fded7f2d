"""Texture features per grid block (vision_ext/features/grid_texture.py) against scikit-image on each crop."""
import math

import numpy as np
import pytest
import torch
from skimage import data, feature

import vision_ext.features as F


def _blocks(img, g):
    rows = np.array_split(np.arange(img.shape[0]), g)
    cols = np.array_split(np.arange(img.shape[1]), g)
    return [[img[r[0]:r[-1] + 1, c[0]:c[-1] + 1] for c in cols] for r in rows]


@pytest.mark.parametrize("g", [2, 3])
def test_lbp_and_glcm_blocks_equal_skimage_on_each_crop(g):
    img = data.astronaut()[::2, ::2]  # 256 x 256 x 3, odd splits at g = 3
    out, names = F.grid_features(torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))), (g, g),
                                 ["lbp", "glcm"])
    assert out.shape == (g, g, 10 + len(F.GLCM_GRID_PROPS)) and names[0] == "lbp.u0" and names[-1] == "glcm.ASM"
    angles = [0, math.pi / 4, math.pi / 2, 3 * math.pi / 4]
    for i, row in enumerate(_blocks(img, g)):
        for j, crop in enumerate(row):
            grey = np.round(crop.astype(np.float64).mean(-1)).astype(np.uint8)
            codes = feature.local_binary_pattern(grey, 8, 1.0, "uniform").astype(int)
            np.testing.assert_allclose(out[i, j, :10].numpy(), np.bincount(codes.ravel(), minlength=10) / codes.size,
                                       rtol=1e-6)  # float32 output
            glcm = feature.graycomatrix(grey, [1], angles, levels=256, symmetric=True, normed=True)
            want = [feature.graycoprops(glcm, p).mean() for p in F.GLCM_GRID_PROPS]
            np.testing.assert_allclose(out[i, j, 10:].numpy(), want, rtol=1e-6, atol=1e-9)  # float32 output


def test_grey_blocks_and_options():
    img = data.camera()[:128, :128]
    out, names = F.grid_features(torch.from_numpy(img)[None], 2, [("lbp", {"P": 16, "R": 2.0})])
    assert out.shape == (2, 2, 18) and len(names) == 18
    codes = feature.local_binary_pattern(img[:64, 64:], 16, 2.0, "uniform").astype(int)
    np.testing.assert_allclose(out[0, 1].numpy(), np.bincount(codes.ravel(), minlength=18) / codes.size, rtol=1e-12)
