"""Fused residual ops against float64 pure-PyTorch references, opcheck, gradcheck, compile, errors."""
import itertools

import pytest
import torch
import torch.nn.functional as F
from tests.conftest import cpu_and_cuda, tol

from vision_ext.ops import residual as R

DTYPES = [torch.float32, torch.float64, torch.bfloat16, torch.float16]
LAYOUTS = [torch.contiguous_format, torch.channels_last]


def _ref_epilogue(x, scale, shift, res, inner, outer):
    v = x.double()
    if scale is not None:
        v = v * scale.double().view(1, -1, 1, 1)
    if shift is not None:
        v = v + shift.double().view(1, -1, 1, 1)
    if inner:
        v = F.relu(v)
    if res is not None:
        v = v + res.double()
    return F.relu(v) if outer else v


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_epilogue_matches_reference(device, dtype, layout):
    for has_scale, has_shift, has_res, inner, outer in itertools.product([0, 1], repeat=5):
        x = torch.randn(3, 5, 6, 7, device=device).to(dtype).contiguous(memory_format=layout)
        scale = torch.randn(5, device=device) if has_scale else None
        shift = torch.randn(5, device=device) if has_shift else None
        res = torch.randn(3, 5, 6, 7, device=device).to(dtype) if has_res else None
        out = R.residual_epilogue(x, scale, shift, res, bool(inner), bool(outer))
        assert out.dtype == dtype and out.shape == x.shape
        assert out.is_contiguous(memory_format=layout)
        ref = _ref_epilogue(x, scale, shift, res, inner, outer)
        torch.testing.assert_close(out.double(), ref, **tol(dtype))


def test_epilogue_non_contiguous_input():
    x = torch.randn(2, 8, 10, 12)[:, ::2, :, 1:]  # neither NCHW- nor NHWC-contiguous
    res = torch.randn(2, 4, 10, 11)
    scale, shift = torch.randn(4), torch.randn(4)
    out = R.residual_epilogue(x, scale, shift, res, True, True)
    torch.testing.assert_close(out.double(), _ref_epilogue(x, scale, shift, res, True, True), **tol(torch.float32))


def _ref_conv(x, w, b, res, stride, padding, dilation, groups, inner, outer):
    v = F.conv2d(x.double(), w.double(), None if b is None else b.double(), stride, padding, dilation, groups)
    return _ref_epilogue(v, None, None, res, inner, outer)


CONV_CASES = [  # (C_in, C_out, k, stride, padding, dilation, groups, H, W)
    (8, 8, 3, 1, 1, 1, 1, 9, 11),
    (6, 12, 3, 2, 1, 1, 1, 10, 7),
    (8, 16, 1, 1, 0, 1, 1, 5, 5),
    (8, 8, 3, 1, 2, 2, 2, 9, 9),
    (4, 4, 3, 1, 1, 1, 4, 6, 6),
    (3, 5, 5, 3, 0, 1, 1, 13, 17),
]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_bias_act_matches_reference(device, dtype, layout, case):
    cin, cout, k, s, p, d, g, h, w_ = case
    x = torch.randn(2, cin, h, w_, device=device).to(dtype).contiguous(memory_format=layout)
    w = (torch.randn(cout, cin // g, k, k, device=device) / (cin * k)).to(dtype)
    b = torch.randn(cout, device=device).to(dtype)
    out_hw = [(n + 2 * p - d * (k - 1) - 1) // s + 1 for n in (h, w_)]
    for has_res, inner, outer, has_bias in itertools.product([0, 1], repeat=4):
        res = torch.randn(2, cout, *out_hw, device=device).to(dtype) if has_res else None
        bias = b if has_bias else None
        out = R.conv_bias_act(x, w, bias, res, s, p, d, g, bool(inner), bool(outer))
        ref = _ref_conv(x, w, bias, res, s, p, d, g, inner, outer)
        rtol, atol = {torch.float32: (1e-4, 1e-4), torch.float64: (1e-10, 1e-10),
                      torch.bfloat16: (2e-2, 2e-2)}[dtype]
        torch.testing.assert_close(out.double(), ref, rtol=rtol, atol=atol)


def _bn_inputs(device, dtype, layout, shape=(4, 6, 5, 7), residual=True):
    x = (torch.randn(*shape, device=device) * 2 + 3).to(dtype).contiguous(memory_format=layout)
    w = torch.rand(shape[1], device=device) + 0.5
    b = torch.randn(shape[1], device=device)
    res = torch.randn(*shape, device=device).to(dtype).contiguous(memory_format=layout) if residual else None
    return x, w, b, res


def _ref_bn(x, w, b, res, eps, relu):
    xd = x.double()
    mean = xd.mean((0, 2, 3))
    var = xd.var((0, 2, 3), unbiased=False)
    v = (xd - mean.view(1, -1, 1, 1)) * torch.rsqrt(var + eps).view(1, -1, 1, 1) * w.double().view(1, -1, 1, 1) \
        + b.double().view(1, -1, 1, 1)
    if res is not None:
        v = v + res.double()
    return (F.relu(v) if relu else v), mean, var


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("residual,relu", [(True, True), (False, True), (True, False), (False, False)])
def test_bn_add_relu_forward_backward(device, dtype, layout, residual, relu):
    x, w, b, res = _bn_inputs(device, dtype, layout, residual=residual)
    xs = [t.detach().clone().requires_grad_() if t is not None else None for t in (x, w, b, res)]
    out, mean, var = R.bn_add_relu(*xs, eps=1e-5, relu=relu)
    ref_x = [t.detach().double().requires_grad_() if t is not None else None for t in (x, w, b, res)]
    ref, ref_mean, ref_var = _ref_bn(*ref_x, 1e-5, relu)
    assert out.is_contiguous(memory_format=layout) and out.dtype == dtype
    t = tol(dtype)
    torch.testing.assert_close(out.double(), ref.detach(), **t)
    torch.testing.assert_close(mean.double(), ref_mean.detach(), **t)
    torch.testing.assert_close(var.double(), ref_var.detach(), rtol=t["rtol"] * 10, atol=t["atol"] * 10)
    grad = torch.randn_like(out)
    out.backward(grad)
    ref.backward(grad.double())
    for ours, theirs in zip(xs, ref_x):
        if ours is not None:
            torch.testing.assert_close(ours.grad.double(), theirs.grad, rtol=t["rtol"] * 10, atol=t["atol"] * 20)


def test_bn_mask_is_one_bit_per_element():
    x, w, b, res = _bn_inputs("cpu", torch.float32, torch.contiguous_format, shape=(2, 3, 5, 5))
    out, _, _, mask = torch.ops.vision_ext.bn_add_relu(x, w, b, res, 1e-5, True)
    assert mask.dtype == torch.uint8 and mask.numel() == 2 * 3 * 4  # 25 bits -> 4 bytes per plane
    bits = ((mask.view(6, 4, 1) >> torch.arange(8, dtype=torch.uint8)) & 1).view(6, 32)[:, :25]
    assert torch.equal(bits.bool(), (out > 0).view(6, 25))


def test_bn_is_deterministic_across_thread_counts():
    x, w, b, res = _bn_inputs("cpu", torch.float32, torch.channels_last, shape=(8, 16, 9, 9))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = R.bn_add_relu(x, w, b, res)
        torch.set_num_threads(2)
        two = R.bn_add_relu(x, w, b, res)
    finally:
        torch.set_num_threads(before)
    for a, b_ in zip(one, two):
        assert torch.equal(a, b_)


# ---- opcheck / gradcheck / compile -------------------------------------------------------------
def _op_samples(device, requires_grad):
    x, w, b, res = _bn_inputs(device, torch.float32, torch.contiguous_format)
    xc, _, _, resc = _bn_inputs(device, torch.float32, torch.channels_last)
    conv_w = torch.randn(6, 6, 3, 3, device=device)
    rg = (lambda t: t.requires_grad_(requires_grad)) if requires_grad else (lambda t: t)
    return [
        (torch.ops.vision_ext.residual_epilogue.default, (rg(x.clone()), rg(w.clone()), rg(b.clone()),
                                                          rg(res.clone()), True, True)),
        (torch.ops.vision_ext.residual_epilogue.default, (rg(xc.clone()), None, rg(b.clone()), None, False, True)),
        (torch.ops.vision_ext.conv_bias_act.default, (rg(x.clone()), rg(conv_w.clone()), rg(b.clone()),
                                                      rg(res.clone()), [1, 1], [1, 1], [1, 1], 1, True, True)),
        (torch.ops.vision_ext.conv_bias_act.default, (rg(xc.clone()), rg(conv_w.clone()), None, None, [2, 2],
                                                      [0, 0], [1, 1], 1, False, False)),
        (torch.ops.vision_ext.bn_add_relu.default, (rg(x.clone()), rg(w.clone()), rg(b.clone()), rg(res.clone()),
                                                    1e-5, True)),
        (torch.ops.vision_ext.bn_add_relu.default, (rg(xc.clone()), rg(w.clone()), rg(b.clone()), None, 1e-3,
                                                    False)),
    ]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("requires_grad", [False, True])
def test_opcheck(device, requires_grad):
    for op, args in _op_samples(device, requires_grad):
        torch.library.opcheck(op, args)
    x, w, b, res = _bn_inputs(device, torch.float32, torch.channels_last)
    out, mean, var, mask = torch.ops.vision_ext.bn_add_relu(x, w, b, res, 1e-5, True)
    torch.library.opcheck(torch.ops.vision_ext._bn_add_relu_backward.default,
                          (torch.randn_like(out), x, w, mean, var, mask, 1e-5, True))


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_gradcheck_float64(device):
    d = dict(device=device, dtype=torch.float64)
    x = torch.randn(2, 3, 5, 4, **d, requires_grad=True)
    res = torch.randn(2, 3, 5, 4, **d, requires_grad=True)
    s, t = torch.randn(3, **d, requires_grad=True), torch.randn(3, **d, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *a: R.residual_epilogue(*a, inner_relu=True, outer_relu=True),
                                    (x, s, t, res))
    w = torch.randn(3, 3, 3, 3, **d, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w, t, r: R.conv_bias_act(x, w, t, r, 1, 1, inner_relu=True, outer_relu=True), (x, w, t, res))
    g = (torch.rand(3, **d) + 0.5).requires_grad_()
    for layout in LAYOUTS:
        xl = x.detach().contiguous(memory_format=layout).requires_grad_()
        assert torch.autograd.gradcheck(lambda *a: R.bn_add_relu(*a, eps=1e-5, relu=True)[0], (xl, g, t, res))


def test_compile_fullgraph_matches_eager():
    x, w, b, res = _bn_inputs("cpu", torch.float32, torch.channels_last)
    conv_w = torch.randn(6, 6, 3, 3)

    def block(x, res):
        y = R.conv_bias_act(x, conv_w, b, None, 1, 1, outer_relu=True)
        y, _, _ = R.bn_add_relu(y, w, b, res)
        return R.residual_epilogue(y, w, b, res, False, True)

    compiled = torch.compile(block, fullgraph=True, backend="aot_eager")
    torch.testing.assert_close(compiled(x, res), block(x, res))


# ---- bad input -----------------------------------------------------------------------------------
def test_errors_name_the_argument():
    x = torch.randn(2, 4, 5, 5)
    with pytest.raises(RuntimeError, match="x must be a 4-D"):
        R.residual_epilogue(torch.randn(4, 5, 5))
    with pytest.raises(RuntimeError, match="scale must have shape"):
        R.residual_epilogue(x, torch.randn(3))
    with pytest.raises(RuntimeError, match="residual must have the output's shape"):
        R.residual_epilogue(x, residual=torch.randn(2, 4, 5, 4))
    with pytest.raises(RuntimeError, match="float32, float64"):
        R.residual_epilogue(x.to(torch.int32))
    with pytest.raises(RuntimeError, match="weight expects C_in"):
        R.conv_bias_act(x, torch.randn(4, 3, 3, 3), padding=1)
    with pytest.raises(RuntimeError, match="too small for kernel"):
        R.conv_bias_act(torch.randn(1, 4, 2, 2), torch.randn(4, 4, 3, 3))
    with pytest.raises(RuntimeError, match="stride and dilation must be positive"):
        R.conv_bias_act(x, torch.randn(4, 4, 3, 3), stride=0)
    with pytest.raises(RuntimeError, match="weight dtype"):
        R.conv_bias_act(x, torch.randn(4, 4, 3, 3, dtype=torch.float64))
    with pytest.raises(RuntimeError, match="residual must have the output's shape"):
        R.conv_bias_act(x, torch.randn(4, 4, 3, 3), residual=torch.randn(2, 4, 5, 5))
    with pytest.raises(RuntimeError, match="more than 1 value per channel"):
        R.bn_add_relu(torch.randn(1, 4, 1, 1), torch.ones(4), torch.zeros(4))
    with pytest.raises(RuntimeError, match="bias must have shape"):
        R.bn_add_relu(x, torch.ones(4), torch.zeros(5))
    with pytest.raises(RuntimeError, match="residual dtype"):
        R.bn_add_relu(x, torch.ones(4), torch.zeros(4), torch.randn(2, 4, 5, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="padding must be an int"):
        R.conv_bias_act(x, torch.randn(4, 4, 3, 3), padding="same")


def test_empty_batch():
    x = torch.randn(0, 4, 5, 5)
    assert R.residual_epilogue(x, torch.ones(4), None, None, False, True).shape == (0, 4, 5, 5)
    assert R.conv_bias_act(x, torch.randn(8, 4, 3, 3), padding=1).shape == (0, 8, 5, 5)


def test_cpu_only_build_gives_rebuild_hint_for_cuda():
    import vision_ext

    if vision_ext.build_info()["cuda_kernels"]:
        pytest.skip("this build has CUDA kernels")
    x = torch.randn(1, 2, 3, 3)
    cuda_only = torch._C.DispatchKeySet(torch._C.DispatchKey.CUDA)
    with pytest.raises(RuntimeError, match="no CUDA kernels.*FORCE_CUDA=1"):
        torch.ops.vision_ext.residual_epilogue.default.redispatch(cuda_only, x, None, None, None, False, True)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("layout", LAYOUTS)
def test_bn_backward_precise_when_mean_dwarfs_std(device, layout):
    # Regression: folding the mean into a constant term cancelled in fp32 (5% error deep in a ResNet).
    x = (100 + 0.01 * torch.randn(8, 16, 6, 6, device=device)).contiguous(memory_format=layout).requires_grad_()
    w, b = torch.rand(16, device=device) + 0.5, torch.randn(16, device=device)
    out, _, _ = R.bn_add_relu(x, w, b, relu=False)
    g = torch.randn_like(out)
    out.backward(g)
    xd = x.detach().double().requires_grad_()
    ref, _, _ = _ref_bn(xd, w, b, None, 1e-5, False)
    ref.backward(g.double())
    rel = ((x.grad.double() - xd.grad).norm() / xd.grad.norm()).item()
    assert rel < 1e-3, rel


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("layout", LAYOUTS)
def test_bn_forward_precise_when_mean_dwarfs_std(device, layout):
    # Issue 15: normalising as x * a + (beta - mean * a) in fp32 lost u|x||a| (0.077 here, 11x the
    # error of F.batch_norm in fp32); bn_fold_centred (vision_ext/batch_norm.h) normalises around
    # the rounded mean and carries the rest of the mean in double.
    x = (torch.randn(2, 3, 8, 8, device=device) * 1e-3 + 1e4).contiguous(memory_format=layout)
    w, b = torch.rand(3, device=device) + 0.5, torch.randn(3, device=device)
    ref, ref_mean, _ = _ref_bn(x, w, b, None, 1e-5, False)
    ours, mean, _ = R.bn_add_relu(x, w, b, relu=False)
    theirs = F.batch_norm(x, None, None, w, b, training=True, eps=1e-5)
    err = (ours.double() - ref).abs().max().item()
    torch_err = (theirs.double() - ref).abs().max().item()
    assert err <= torch_err, (err, torch_err)
    assert err < 1e-5, err  # a few fp32 ulps of outputs of size ~1
    assert torch.equal(mean, ref_mean.float())  # the returned mean is the float64 mean rounded once


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("relu", [False, True])
def test_bn_propagates_nan_and_inf_like_torch(device, layout, bad, relu):
    x = torch.randn(2, 4, 3, 5, device=device)
    x[1, 1, 2, 3] = bad  # inside channel 1
    x[0, 2, 0, 0] = bad  # channel 2's first element, the statistics' shift
    x = x.contiguous(memory_format=layout)
    w, b = torch.rand(4, device=device) + 0.5, torch.randn(4, device=device)
    ours, mean, var = R.bn_add_relu(x, w, b, relu=relu)
    theirs = F.batch_norm(x, None, None, w, b, training=True, eps=1e-5)
    theirs = F.relu(theirs) if relu else theirs
    torch.testing.assert_close(ours, theirs, equal_nan=True, **tol(torch.float32))
    torch.testing.assert_close(mean, x.mean((0, 2, 3)), equal_nan=True, **tol(torch.float32))
    torch.testing.assert_close(var, x.var((0, 2, 3), unbiased=False), equal_nan=True, **tol(torch.float32))
    assert ours[:, [0, 3]].isfinite().all()


# ---- CUDA review regressions (run on CPU here; the cuda cases need a GPU) ------------------------
@pytest.mark.parametrize("device", cpu_and_cuda())
def test_bn_backward_of_empty_batch_gives_zero_parameter_grads(device):
    x = torch.randn(0, 3, 4, 4, device=device)
    w, m, v = torch.rand(3, device=device) + 0.5, torch.randn(3, device=device), torch.rand(3, device=device)
    mask = torch.empty(0, dtype=torch.uint8, device=device)
    gx, gw, gb, _ = torch.ops.vision_ext._bn_add_relu_backward(x.clone(), x, w, m, v, mask, 1e-5, False)
    assert gx.shape == x.shape
    assert torch.equal(gw, torch.zeros(3, device=device)) and torch.equal(gb, torch.zeros(3, device=device))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("layout", LAYOUTS)
def test_epilogue_on_misaligned_slices(device, layout):
    # Storage offsets of one element: the 16-byte vector path must fall back, not misread.
    shape = (2, 8, 4, 6)
    x = torch.randn(2 * 8 * 4 * 6 + 1, device=device)[1:].view(shape).contiguous(memory_format=layout)
    res = torch.randn(2 * 8 * 4 * 6 + 3, device=device)[3:].view(shape)
    scale, shift = torch.randn(8, device=device), torch.randn(8, device=device)
    out = R.residual_epilogue(x, scale, shift, res, True, True)
    torch.testing.assert_close(out.double(), _ref_epilogue(x, scale, shift, res, True, True), **tol(torch.float32))


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_conv_bias_act_keeps_x_layout_with_channels_last_weight(device):
    x = torch.randn(2, 8, 6, 6, device=device)
    w = torch.randn(8, 8, 3, 3, device=device).contiguous(memory_format=torch.channels_last)
    out = R.conv_bias_act(x, w, None, torch.randn(2, 8, 6, 6, device=device), 1, 1, outer_relu=True)
    assert out.is_contiguous()
    torch.library.opcheck(torch.ops.vision_ext.conv_bias_act.default,
                          (x, w, None, None, [1, 1], [1, 1], [1, 1], 1, False, True))


def test_bn_backward_rejects_a_mask_that_is_not_uint8():
    x, w, b, _ = _bn_inputs("cpu", torch.float32, torch.contiguous_format, residual=False)
    out, mean, var, mask = torch.ops.vision_ext.bn_add_relu(x, w, b, None, 1e-5, True)
    with pytest.raises(RuntimeError, match="mask must be bn_add_relu's uint8 mask"):
        torch.ops.vision_ext._bn_add_relu_backward(out, x, w, mean, var, mask.float(), 1e-5, False)


@pytest.mark.cuda
def test_cuda_ops_report_device_mismatches_like_the_cpu_ops():
    x, w, b, res = _bn_inputs("cuda", torch.float32, torch.contiguous_format)
    out, mean, var, mask = torch.ops.vision_ext.bn_add_relu(x, w, b, res, 1e-5, True)
    with pytest.raises(RuntimeError, match="grad_out is on cpu"):
        torch.ops.vision_ext._bn_add_relu_backward(out.cpu(), x, w, mean, var, mask, 1e-5, True)
    with pytest.raises(RuntimeError, match="mask must be bn_add_relu's uint8 mask"):
        torch.ops.vision_ext._bn_add_relu_backward(out, x, w, mean, var, mask.cpu(), 1e-5, True)
    # x on the CPU, another argument on CUDA: dispatch picks the CUDA impl; the message names the argument.
    with pytest.raises(RuntimeError, match="scale is on cuda"):
        R.residual_epilogue(x.cpu(), w)
    with pytest.raises(RuntimeError, match="weight is on cuda"):
        R.bn_add_relu(x.cpu(), w, b.cpu())


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_relus_pass_nan_like_torch_relu(device, dtype):
    # a NaN turned into 0 would hide a diverging model
    special = torch.tensor([float("nan"), -0.0, 0.0, -2.0, 3.0, float("-inf"), float("inf"), -1e-30], dtype=dtype)
    x = special.repeat(2 * 4 * 3).reshape(2, 4, 4, 6).to(device)  # rows of 24: vector body and tail
    for inner, outer in [(True, False), (False, True), (True, True)]:
        got = R.residual_epilogue(x, None, None, None, inner, outer)
        want = torch.relu(torch.relu(x) if inner else x) if outer else torch.relu(x)
        torch.testing.assert_close(got, want, rtol=0, atol=0, equal_nan=True)
    out, _, _ = R.bn_add_relu(x.nan_to_num(nan=1.0, posinf=1.0, neginf=-1.0), torch.ones(4, dtype=dtype, device=device),
                              torch.zeros(4, dtype=dtype, device=device), x, 1e-5, True)
    assert out.isnan().sum() == x.isnan().sum()  # the residual's NaNs survive the fused add + ReLU


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_bn_float64_tiny_positive_outputs_keep_their_gradient(device):
    # weight 0, bias 1e-300: every output is 1e-300 > 0 in float64 (0 in float32), so ReLU passes the gradient
    x = torch.randn(3, 2, 4, 4, dtype=torch.float64, device=device)
    w = torch.zeros(2, dtype=torch.float64, device=device, requires_grad=True)
    b = torch.full((2,), 1e-300, dtype=torch.float64, device=device, requires_grad=True)
    out, _, _ = R.bn_add_relu(x, w, b, None, 1e-5, True)
    out.sum().backward()
    torch.testing.assert_close(b.grad, torch.full_like(b, 3 * 4 * 4))


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bn_channel_with_an_infinity_is_nan_like_batch_norm(device, dtype):
    # F.batch_norm gives the whole channel NaN (its variance is inf - inf); a clamp to 0 would hide it
    x = torch.randn(2, 4, 4, 6, dtype=dtype)
    x[0, 1, 2, 3], x[1, 2, 0, 0] = float("inf"), float("-inf")
    w, b = torch.rand(4, dtype=dtype) + 0.5, torch.randn(4, dtype=dtype)
    out, _, _ = R.bn_add_relu(x.to(device), w.to(device), b.to(device), None, 1e-5, True)
    want = F.relu(F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5))
    assert want[:, 1:3].isnan().all()
    torch.testing.assert_close(out.cpu(), want, equal_nan=True, **tol(dtype))


def test_conv_bias_act_rejects_an_integer_bias():
    x, w = torch.randn(1, 4, 5, 5), torch.randn(4, 4, 3, 3)
    with pytest.raises(RuntimeError, match="bias must be a floating-point tensor"):
        R.conv_bias_act(x, w, torch.ones(4, dtype=torch.int64), None, 1, 1)
