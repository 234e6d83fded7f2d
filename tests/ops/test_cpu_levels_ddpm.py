"""The DDPM family at every runnable CPU level (csrc/ops/cpu/simd/ddpm_simd.cpp): the same bits at the FMA
levels (avx2, avx512), and at the base level too where the maths has no ddpm_fma (PLMS, Philox: its fmas
are real FMAs or the scalar header code); equal to the float64 reference formulas, and the Philox noise
equal bit for bit to the independent NumPy model of the header (tests/helpers/philox_reference.py)."""
import numpy as np
import pytest
import torch
from tests.conftest import run_at_every_level, tol
from helpers import philox_reference as R
from test_ddpm_ops import bcast, ref_ddpm

import vision_ext  # noqa: F401
from vision_ext.diffusion import alphas_cumprod, make_betas
from vision_ext.ops import ddpm as D

AB = alphas_cumprod(make_betas("linear"))
LOW_TOL = {torch.float16: dict(rtol=2e-2, atol=2e-2), torch.bfloat16: dict(rtol=5e-2, atol=5e-2)}


FMA_LEVELS = ("avx2", "avx512")  # the levels where ddpm.h's ddpm_fma is one rounding
LEVEL_TOL = {torch.float32: dict(rtol=1e-5, atol=1e-4), torch.float64: dict(rtol=1e-12, atol=1e-12)}


def _same_at_every_level(fn, fused=True):
    """fn() at every level; returns one output. Outputs are bit-identical between levels, except that
    with `fused` maths (ddpm_fma) the base level, which rounds a * b + c twice, is within dtype tolerance."""
    outs = run_at_every_level(fn)
    flat = lambda o: o if isinstance(o, (tuple, list)) else (o,)  # noqa: E731
    levels = sorted(outs, key=lambda lv: lv not in FMA_LEVELS)  # an FMA level first, where there is one
    first = outs[levels[0]]
    for level in levels[1:]:
        for a, b in zip(flat(first), flat(outs[level])):
            if fused and (level in FMA_LEVELS) != (levels[0] in FMA_LEVELS):
                torch.testing.assert_close(b, a, **LEVEL_TOL.get(a.dtype, LOW_TOL.get(a.dtype, {})))
            else:
                assert torch.equal(a, b), f"{levels[0]} and {level} differ"
    return first


def _dtype_tol(dtype):
    return LOW_TOL.get(dtype, tol(torch.float32) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12))


@pytest.mark.parametrize("n,first_split", [(1, 1), (5, 1), (131, 1), (1000, 1), (70001, 2)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_philox_normal_like(n, first_split, dtype):
    old = torch.get_num_threads()
    torch.set_num_threads(first_split)  # two threads start a range mid-block
    try:
        got = _same_at_every_level(lambda: D.philox_normal_like(torch.empty(n, dtype=dtype), 0x123456789, 77),
                                    fused=False)
    finally:
        torch.set_num_threads(old)
    want = torch.from_numpy(R.normals(0x123456789, 77, n))
    if dtype == torch.float32:
        assert np.array_equal(got.numpy().view(np.uint32), want.numpy().view(np.uint32))
    else:
        assert torch.equal(got, want.to(dtype))


def _step_inputs(var, dtype, shape=(3, 4, 5, 7)):
    x = torch.randn(shape)
    m = torch.randn(shape[0], 2 * shape[1], *shape[2:]) if var.startswith("learned") else torch.randn(shape)
    if var == "learned":
        m[:, shape[1]:] = m[:, shape[1]:].abs() * 1e-3  # a variance
    return x.to(dtype), m.to(dtype)


def _ref_learned(m, x, t, tp, z, pred, clip):
    """ref_ddpm for variance_type 'learned' (sigma = sqrt of the predicted variance)."""
    mean, x0 = ref_ddpm(m[:, : x.shape[1]], x, t, tp, torch.zeros_like(z), pred, "fixed_small", clip)
    return mean + m[:, x.shape[1]:].double().sqrt() * z.double() * bcast((t > 0).double(), x), x0


@pytest.mark.parametrize("pred", ["epsilon", "sample", "v_prediction"])
@pytest.mark.parametrize("var", ["fixed_small", "fixed_large", "learned", "learned_range"])
@pytest.mark.parametrize("clip", [1.0, 0.0])
@pytest.mark.parametrize("philox", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16])
def test_ddpm_step(pred, var, clip, philox, dtype):
    x, m = _step_inputs(var, dtype)
    t, tp = torch.tensor([999, 500, 0]), torch.tensor([998, 400, -1])
    z = D.philox_normal_like(x.float(), 3, 9).to(dtype) if philox else torch.randn(x.shape).to(dtype)
    kw = dict(prediction_type=pred, variance_type=var, clip_sample_range=clip)
    noise_kw = dict(seed=3, offset=9) if philox else dict(noise=z)
    got = _same_at_every_level(lambda: D.ddpm_step(m, x, t, tp, AB, **noise_kw, **kw))
    if var == "learned":
        want = _ref_learned(m, x, t, tp, z, pred, clip)
    else:
        want = ref_ddpm(m, x, t, tp, z, pred, var, clip)
    for g, w in zip(got, want):
        assert g.dtype == dtype
        torch.testing.assert_close(g.double(), w, **_dtype_tol(dtype))
    if philox and dtype in (torch.float32, torch.float64):  # in-kernel Philox = the same normals as a tensor
        given = _same_at_every_level(lambda: D.ddpm_step(m, x, t, tp, AB, noise=z, **kw))  # the same level as got
        assert all(torch.equal(a, b) for a, b in zip(got, given))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ddpm_step_threshold(dtype):
    x, m = _step_inputs("fixed_small", dtype, (2, 3, 9, 9))
    t, tp = torch.tensor([900, 20]), torch.tensor([880, 0])
    th = torch.tensor([1.5, 0.7])
    got, got_x0 = _same_at_every_level(lambda: D.ddpm_step(m, x, t, tp, AB, threshold=th, seed=1, offset=2))
    ab = bcast(AB[t], x)
    x0 = (x.double() - (1 - ab).sqrt() * m.double()) / ab.sqrt()
    s = bcast(th.double(), x)
    torch.testing.assert_close(got_x0.double(), torch.maximum(torch.minimum(x0, s), -s) / s, **_dtype_tol(dtype))


@pytest.mark.parametrize("eta", [0.0, 0.7])
@pytest.mark.parametrize("use_clipped", [False, True])
@pytest.mark.parametrize("pred", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_ddim_step(eta, use_clipped, pred, dtype):
    x, m = _step_inputs("fixed_small", dtype, (2, 3, 11, 13))
    t, tp = torch.tensor([800, 100]), torch.tensor([700, -1])
    got, got_x0 = _same_at_every_level(
        lambda: D.ddim_step(m, x, t, tp, AB, seed=4, offset=1, eta=eta, use_clipped_model_output=use_clipped,
                            prediction_type=pred, clip_sample_range=1.0))
    ab = bcast(AB[t], x)
    abp = bcast(torch.where(tp >= 0, AB[tp.clamp(min=0)], torch.tensor(1.0, dtype=torch.float64)), x)
    xd, md = x.double(), m.double()
    if pred == "epsilon":
        x0, eps = (xd - (1 - ab).sqrt() * md) / ab.sqrt(), md
    else:
        x0, eps = ab.sqrt() * xd - (1 - ab).sqrt() * md, (1 - ab).sqrt() * xd + ab.sqrt() * md
    x0 = x0.clamp(-1, 1)
    if use_clipped:
        eps = (xd - ab.sqrt() * x0) / (1 - ab).sqrt()
    sigma = eta * ((1 - abp) / (1 - ab) * (1 - ab / abp)).sqrt()
    z = torch.from_numpy(R.normals(4, 1, x.numel())).double().reshape(x.shape)
    want = abp.sqrt() * x0 + (1 - abp - sigma ** 2).clamp(min=0).sqrt() * eps + sigma * z
    torch.testing.assert_close(got_x0.double(), x0, **_dtype_tol(dtype))
    torch.testing.assert_close(got.double(), want, **_dtype_tol(dtype))


@pytest.mark.parametrize("count", [1, 2, 3, 4])
@pytest.mark.parametrize("pred", ["epsilon", "v_prediction"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_plms_step(count, pred, dtype):
    x = torch.randn(2, 3, 7, 9).to(dtype)
    es = [torch.randn(2, 3, 7, 9).to(dtype) for _ in range(count)]
    w = [55 / 24, -59 / 24, 37 / 24, -9 / 24][:count]
    t, tp = torch.tensor([600, 20]), torch.tensor([580, 0])
    got = _same_at_every_level(lambda: D.plms_step(x, es, w, t, tp, AB, prediction_type=pred), fused=False)
    ab, abp = bcast(AB[t], x), bcast(AB[tp], x)
    e = sum(wk * ek.double() for wk, ek in zip(w, es))
    if pred == "v_prediction":
        e = ab.sqrt() * e + (1 - ab).sqrt() * x.double()
    denom = ab * (1 - abp).sqrt() + (ab * (1 - ab) * abp).sqrt()
    want = (abp / ab).sqrt() * x.double() - (abp - ab) / denom * e
    torch.testing.assert_close(got.double(), want, **_dtype_tol(dtype))


@pytest.mark.parametrize("shape", [(3, 5, 7, 9), (3, 3, 411, 409)])  # the second: streaming stores
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.float16])
def test_add_noise_and_training_target(shape, dtype):
    if shape[-1] > 100 and dtype != torch.float32:
        pytest.skip("streaming stores are an fp32 path")
    x, n = torch.randn(shape).to(dtype), torch.randn(shape).to(dtype)
    t = torch.tensor([0, 500, 999])
    ab = bcast(AB[t], x)
    a, s = ab.sqrt(), (1 - ab).sqrt()
    want = a * x.double() + s * n.double()
    got = _same_at_every_level(lambda: D.add_noise(x, n, t, AB))
    torch.testing.assert_close(got.double(), want, **_dtype_tol(dtype))
    for pred, target in [("epsilon", n.double()), ("sample", x.double()), ("v_prediction", a * n - s * x)]:
        xt, tg, wt = _same_at_every_level(lambda: D.training_target(x, n, t, AB, pred, min_snr_gamma=5.0))
        assert torch.equal(xt, got)
        torch.testing.assert_close(tg.double(), target, **_dtype_tol(dtype))
