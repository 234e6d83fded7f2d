"""The in-kernel Philox normals on CPU (vectors at the avx2 and avx512 levels, the scalar header code at the
base level and for heads and tails) against an independent
bit-exact NumPy model of the shared header (tests/helpers/philox_reference.py), their accuracy against
float64 Box-Muller, and their distribution."""
import numpy as np
import pytest
import torch
from helpers import philox_reference as R
from scipy import stats

import vision_ext  # noqa: F401
from vision_ext.diffusion import alphas_cumprod, make_betas
from vision_ext.ops import ddpm as D

AB = alphas_cumprod(make_betas("linear"))
SEEDS_OFFSETS = [(0, 0), (7, 3), (0x123456789ABCDEF, 0xFFFFFFFF), (2 ** 62 + 5, 2 ** 40 + 1)]


def _bits_equal(got: torch.Tensor, want: np.ndarray) -> None:
    g = got.numpy().view(np.uint32)
    w = want.view(np.uint32)
    bad = np.flatnonzero(g != w)
    assert bad.size == 0, f"{bad.size} of {w.size} differ, first {bad[:5]}: {g[bad[:5]]} vs {w[bad[:5]]}"


@pytest.mark.parametrize("seed,offset", SEEDS_OFFSETS)
@pytest.mark.parametrize("n", [1, 3, 4, 5, 127, 128, 129, 1000, 4099, 70001])
@pytest.mark.parametrize("threads", [1, 2])
def test_philox_normal_like_is_bit_exact(seed, offset, n, threads):
    # Lengths around the 128-number vector step leave scalar tails; two threads split the range at
    # arbitrary (unaligned) indices, which start mid-block.
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        got = D.philox_normal_like(torch.empty(n), seed, offset)
    finally:
        torch.set_num_threads(old)
    _bits_equal(got, R.normals(seed, offset, n))


@pytest.mark.parametrize("shape", [(7, 3, 5, 5), (3, 1, 333), (2, 3, 64, 65)])
@pytest.mark.parametrize("seed,offset", SEEDS_OFFSETS[1:3])
def test_step_noise_is_the_stream_at_unaligned_sample_starts(shape, seed, offset):
    # Samples of 75 / 333 / 12480 elements start their noise mid-block: DDPM and DDIM (eta > 0) must draw
    # the same numbers as the flat stream, so they equal the steps given that stream as a noise tensor.
    x, m = torch.randn(shape), torch.randn(shape)
    z = torch.from_numpy(R.normals(seed, offset, x.numel()).reshape(shape))
    t, tp = torch.tensor(500), torch.tensor(480)
    a = D.ddpm_step(m, x, t, tp, AB, seed=seed, offset=offset, clip_sample_range=1.0)
    b = D.ddpm_step(m, x, t, tp, AB, noise=z, clip_sample_range=1.0)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    a = D.ddim_step(m, x, t, tp, AB, seed=seed, offset=offset, eta=0.7, use_clipped_model_output=True)
    b = D.ddim_step(m, x, t, tp, AB, noise=z, eta=0.7, use_clipped_model_output=True)
    torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_normals_are_accurate_against_float64_box_muller():
    n = 1 << 20
    got = D.philox_normal_like(torch.empty(n), 99, 4).double().numpy()
    want = R.normals_float64(99, 4, n)
    err = np.abs(got - want)
    assert err.max() <= 1e-6  # the largest |z| is about 5.6
    assert (err / (1 + np.abs(want))).max() <= 2.5e-7  # about 2 float32 ulps of max(1, |z|)


def test_normals_are_standard_normal():
    z = D.philox_normal_like(torch.empty(1 << 18), 2024, 0).double().numpy()
    assert abs(z.mean()) < 4 / 512 and abs(z.var() - 1) < 0.01  # 4 sigma of the mean's spread
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert stats.kstest(z[::4], "norm").pvalue > 1e-3  # each of the four outputs of a block
    assert stats.kstest(z[3::4], "norm").pvalue > 1e-3
