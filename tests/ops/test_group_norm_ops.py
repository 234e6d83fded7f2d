"""Fused GroupNorm (+ SiLU) against F.silu(F.group_norm(...)) in float64: forward and backward in every
dtype and layout, the CPU levels bit-identical where they have FMA (the base level within fp32
tolerance), SiLU to a few ulp, opcheck, gradcheck,
torch.compile and bad inputs."""
import pytest
import torch
import torch.nn.functional as F
from tests.conftest import cpu_and_cuda, run_at_every_level, tol

from vision_ext.ops import norm as N

FMA_LEVELS = ("avx2", "avx512")  # the levels where group_norm.h's gn_fma is one rounding
DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16]


def _reference(x, groups, weight, bias, eps, act):
    """The float64 eager formula the op fuses."""
    w = None if weight is None else weight.double()
    b = None if bias is None else bias.double()
    y = F.group_norm(x.double(), groups, w, b, eps)
    return F.silu(y) if act == "silu" else y


def _inputs(shape, dtype, device, layout="nchw", affine=True):
    x = torch.randn(shape, device=device).mul_(1.5).add_(0.3)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == "strided":
        x = torch.randn(shape[0], shape[1], shape[2], 2 * shape[3], device=device)[..., ::2]
    x = x.to(dtype)
    c = shape[1]
    w = torch.randn(c, device=device, dtype=dtype) if affine else None
    b = torch.randn(c, device=device, dtype=dtype) if affine else None
    return x, w, b


def _check_close(out, want, dtype):
    # The reference rounds the same float64 value the op rounds: allow the dtype's tolerance.
    torch.testing.assert_close(out.double(), want, **tol(dtype))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["nchw", "channels_last", "strided"])
@pytest.mark.parametrize("act", ["silu", None])
def test_forward_matches_float64_reference(device, dtype, layout, act):
    x, w, b = _inputs((2, 24, 9, 7), dtype, device, layout)
    out = N.group_norm(x, 6, w, b, 1e-5, act)
    assert out.dtype == dtype and out.shape == x.shape
    want_cl = layout == "channels_last"
    assert out.is_contiguous(memory_format=torch.channels_last if want_cl else torch.contiguous_format)
    _check_close(out, _reference(x, 6, w, b, 1e-5, act), dtype)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("groups", [1, 2, 3, 6, 12, 24])
def test_every_group_count(device, groups):
    for layout in ("nchw", "channels_last"):
        x, w, b = _inputs((3, 24, 5, 6), torch.float32, device, layout)
        out = N.group_norm(x, groups, w, b, 1e-6, "silu")
        _check_close(out, _reference(x, groups, w, b, 1e-6, "silu"), torch.float32)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("shape", [(1, 4, 1, 1), (0, 8, 4, 4), (2, 8, 0, 3), (1, 70, 3, 5), (2, 6, 33), (4, 6)])
def test_tiny_empty_and_other_ranks(device, shape):
    x = torch.randn(shape, device=device)
    w, b = torch.randn(shape[1], device=device), torch.randn(shape[1], device=device)
    groups = 2 if shape[1] % 2 == 0 else 1
    out = N.group_norm(x, groups, w, b, 1e-5, "silu")
    assert out.shape == x.shape
    _check_close(out, _reference(x, groups, w, b, 1e-5, "silu"), torch.float32)
    if x.dim() == 4:
        out_cl = N.group_norm(x.contiguous(memory_format=torch.channels_last), groups, w, b, 1e-5, "silu")
        _check_close(out_cl, _reference(x, groups, w, b, 1e-5, "silu"), torch.float32)


def test_statistics_outputs_and_no_affine():
    x, _, _ = _inputs((2, 12, 6, 6), torch.float32, "cpu", "channels_last", affine=False)
    out, mean, rstd = torch.ops.vision_ext.group_norm(x, 4, None, None, 1e-5, "none")
    xd = x.double().reshape(2, 4, -1)
    torch.testing.assert_close(mean.double(), xd.mean(-1), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(rstd.double(), (xd.var(-1, unbiased=False) + 1e-5).rsqrt(), rtol=1e-6, atol=1e-6)
    assert mean.dtype == torch.float32 and mean.shape == (2, 4)
    _check_close(out, _reference(x, 4, None, None, 1e-5, None), torch.float32)


def test_large_offset_statistics_at_least_as_accurate_as_torch():
    # |mean| / std = 3e4: the statistics must not lose the variance to cancellation.
    x = (torch.randn(2, 32, 24, 24, dtype=torch.float64) * 0.01 + 300.0).float()
    xd = x.double().reshape(2, 8, -1)
    want_mean, want_rstd = xd.mean(-1), (xd.var(-1, unbiased=False) + 1e-6).rsqrt()
    _, t_mean, t_rstd = torch.ops.aten.native_group_norm(x, None, None, 2, 32, 24 * 24, 8, 1e-6)
    for xx in (x, x.contiguous(memory_format=torch.channels_last)):
        _, mean, rstd = torch.ops.vision_ext.group_norm(xx, 8, None, None, 1e-6, "none")
        assert (mean.double() - want_mean).abs().max() <= max((t_mean.double() - want_mean).abs().max(), 3e-5)
        ours = ((rstd.double() - want_rstd) / want_rstd).abs().max()
        theirs = ((t_rstd.double() - want_rstd) / want_rstd).abs().max()
        assert ours <= max(theirs, 1e-6), (ours, theirs)
        # The output's error is the fp32 mean's rounding (half an ulp of 300) times rstd (100).
        out = N.group_norm(xx, 8, None, None, 1e-6)
        torch.testing.assert_close(out.double(), _reference(x, 8, None, None, 1e-6, None), rtol=0, atol=2e-3)


def test_nan_propagates_like_torch():
    x = torch.randn(2, 8, 4, 4)
    x[1, 3, 2, 2] = float("nan")
    for xx in (x, x.contiguous(memory_format=torch.channels_last)):
        out = N.group_norm(xx, 4, None, None, 1e-5, "silu")
        want = F.silu(F.group_norm(xx, 4, None, None, 1e-5))
        assert torch.equal(out.isnan(), want.isnan())
        assert out.isnan().sum() == 2 * 4 * 4  # the NaN's group, and nothing else


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_silu_is_accurate_to_a_few_ulp(layout):
    # weight 0, bias v: the normalised value is exactly v, so out = silu(v) through our sigmoid, on
    # vectors (runs of 32 pixels per channel in NCHW, channels in channels_last) and scalar tails.
    v = torch.cat([torch.linspace(-87.0, 88.0, 50001), torch.linspace(-1, 1, 2001)])
    c = v.numel()
    x = torch.randn(1, c, 4, 8)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    out = N.group_norm(x, c, torch.zeros(c), v, 1e-5, "silu")
    assert torch.equal(out, out[:, :, :1, :1].expand_as(out))
    out = out[0, :, 0, 0].double()
    vd = v.double()
    want = vd / (1 + torch.exp(-vd))  # float64 exp
    ulp = (torch.nextafter(want.float(), torch.tensor(float("inf"))).double() - want.float().double()).abs()
    err = ((out - want).abs() / ulp.clamp_min(torch.finfo(torch.float32).tiny)).max()
    assert err <= 4, err  # exp within ~1 ulp, then the sigmoid's addition and division, and y * s


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cpu_levels_agree(layout, dtype):
    x, w, b = _inputs((2, 40, 11, 13), dtype, "cpu", layout)
    x.requires_grad_(True)
    w.requires_grad_(True)
    b.requires_grad_(True)
    g = torch.randn(x.shape, dtype=dtype)

    def run():
        out = N.group_norm(x, 8, w, b, 1e-5, "silu")
        gx, gw, gb = torch.autograd.grad(out, (x, w, b), g)
        return out.detach(), gx, gw, gb

    results = run_at_every_level(run)
    # FMA levels first: they give the same bits; the x86-64 base level rounds gn_fma twice
    # (vision_ext/group_norm.h), so it is within fp32 tolerance of them (fp64 has no fused steps).
    levels = sorted(results, key=lambda lv: lv not in FMA_LEVELS)
    first = results[levels[0]]
    for level in levels[1:]:
        for a, e in zip(results[level], first):
            if dtype == torch.float32 and (level in FMA_LEVELS) != (levels[0] in FMA_LEVELS):
                torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-5)
            else:
                assert torch.equal(a, e), level


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("act", ["silu", None])
def test_backward_matches_float64_reference(device, dtype, layout, act):
    x, w, b = _inputs((2, 12, 6, 5), dtype, device, layout)
    g = torch.randn(x.shape, device=device, dtype=dtype)
    xs = [t.detach().clone().requires_grad_(True) for t in (x, w, b)]
    out = N.group_norm(xs[0], 3, xs[1], xs[2], 1e-5, act)
    got = torch.autograd.grad(out, xs, g)
    ref = [t.detach().double().requires_grad_(True) for t in (x, w, b)]
    want = torch.autograd.grad(_reference(ref[0], 3, ref[1], ref[2], 1e-5, act), ref, g.double())
    rtol, atol = tol(dtype)["rtol"], tol(dtype)["atol"]
    for a, e, name in zip(got, want, ("x", "weight", "bias")):
        assert a.dtype == dtype, name
        # Parameter gradients sum over the batch and pixels: scale the tolerance by the summed magnitude.
        scale = 1.0 if name == "x" else float(e.abs().max()) + 1.0
        torch.testing.assert_close(a.double(), e, rtol=rtol, atol=atol * scale * 4, msg=name)
    assert got[0].is_contiguous(memory_format=torch.channels_last if layout == "channels_last"
                                else torch.contiguous_format)


def test_backward_without_weight_and_bias():
    x = torch.randn(2, 8, 5, 5, dtype=torch.float64, requires_grad=True)
    out = N.group_norm(x, 4, None, None, 1e-5, "silu")
    (gx,) = torch.autograd.grad(out, x, torch.ones_like(out))
    xr = x.detach().clone().requires_grad_(True)
    (want,) = torch.autograd.grad(_reference(xr, 4, None, None, 1e-5, "silu"), xr, torch.ones_like(out))
    torch.testing.assert_close(gx, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
@pytest.mark.parametrize("act", ["silu", None])
def test_gradcheck_float64(layout, act):
    x, w, b = _inputs((2, 6, 3, 4), torch.float64, "cpu", layout)
    args = [t.requires_grad_(True) for t in (x, w, b)]
    assert torch.autograd.gradcheck(lambda x, w, b: N.group_norm(x, 3, w, b, 1e-5, act), args)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("layout", ["nchw", "channels_last"])
def test_opcheck(device, requires_grad, layout):
    x, w, b = _inputs((2, 8, 4, 3), torch.float32, device, layout)
    for t in (x, w, b):
        t.requires_grad_(requires_grad)
    torch.library.opcheck(torch.ops.vision_ext.group_norm.default, (x, 4, w, b, 1e-5, "silu"))
    torch.library.opcheck(torch.ops.vision_ext.group_norm.default, (x, 2, None, None, 1e-5, "none"))
    _, mean, rstd = torch.ops.vision_ext.group_norm(x.detach(), 4, w.detach(), b.detach(), 1e-5, "silu")
    torch.library.opcheck(torch.ops.vision_ext._group_norm_backward.default,
                          (torch.randn_like(x).detach(), x.detach(), mean, rstd, w.detach(), b.detach(), 4, "silu"))


def test_torch_compile_fullgraph():
    x, w, b = _inputs((2, 16, 8, 8), torch.float32, "cpu", "channels_last")

    def f(x, w, b):
        return N.group_norm(x, 4, w, b, 1e-5, "silu") * 2

    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    xs = [t.clone().requires_grad_(True) for t in (x, w, b)]
    out = compiled(*xs)
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, f(x, w, b))
    out.sum().backward()
    ref = [t.clone().requires_grad_(True) for t in (x, w, b)]
    f(*ref).sum().backward()
    for a, e in zip(xs, ref):
        torch.testing.assert_close(a.grad, e.grad)


def test_bad_inputs_have_clear_errors():
    x = torch.randn(2, 6, 4, 4)
    with pytest.raises(RuntimeError, match="groups must divide the channels.*C = x.shape\\[1\\] = 6"):
        N.group_norm(x, 4)
    with pytest.raises(RuntimeError, match="weight must have shape \\(C,\\) = \\(6,\\)"):
        N.group_norm(x, 3, torch.ones(5))
    with pytest.raises(RuntimeError, match="bias must have shape"):
        N.group_norm(x, 3, None, torch.ones(6, 1))
    with pytest.raises(ValueError, match="act must be None, 'none' or 'silu', got 'relu'"):
        N.group_norm(x, 3, act="relu")
    with pytest.raises(RuntimeError, match="act must be \"silu\" or \"none\""):
        torch.ops.vision_ext.group_norm(x, 3, None, None, 1e-5, "relu")
    with pytest.raises(RuntimeError, match="groups must be >= 1"):
        N.group_norm(x, 0)
    with pytest.raises(RuntimeError, match="x must be float32, float64, float16 or bfloat16"):
        N.group_norm(x.to(torch.int32), 3)
    with pytest.raises(RuntimeError, match="x must have shape \\(N, C, \\*\\)"):
        N.group_norm(torch.randn(6), 3)
