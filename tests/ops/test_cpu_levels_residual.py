"""The residual family's CPU kernels at every runnable CPU level: bit-identical across levels (no
kernel of the family uses mul_add) and equal to float64 references."""
import itertools

import pytest
import torch
import torch.nn.functional as F

from tests.conftest import run_at_every_level, tol
from tests.ops.test_residual_ops import _ref_bn, _ref_conv, _ref_epilogue
from vision_ext.ops import residual as R

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
LAYOUTS = [torch.contiguous_format, torch.channels_last]
# Rows of 35 (NCHW) and 37 (NHWC) elements: whole 16-lane vectors, then a tail of 3 or 5, and mask
# rows that end mid-byte.
SHAPE = (3, 37, 5, 7)


def _assert_levels_equal(outs):
    base = outs["default"]
    for level, got in outs.items():
        for i, (a, b) in enumerate(zip(got, base)):
            assert torch.equal(a, b), f"level {level} differs from default in output {i}"


def _data(dtype, layout, shape=SHAPE, loc=3.0):
    return (torch.randn(*shape) * 2 + loc).to(dtype).contiguous(memory_format=layout)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("residual,relu", [(True, True), (False, True), (True, False)])
def test_bn_add_relu_levels(dtype, layout, residual, relu):
    x = _data(dtype, layout)
    w, b = torch.rand(SHAPE[1]) + 0.5, torch.randn(SHAPE[1])
    res = _data(dtype, layout, loc=0.0) if residual else None
    grad = torch.randn(SHAPE).to(dtype).contiguous(memory_format=layout)

    def run():
        out, mean, var, mask = torch.ops.vision_ext.bn_add_relu(x, w, b, res, 1e-5, relu)
        gx, gw, gb, gres = torch.ops.vision_ext._bn_add_relu_backward(grad, x, w, mean, var, mask, 1e-5,
                                                                       residual)
        return out, mean, var, mask, gx, gw, gb, gres

    outs = run_at_every_level(run)
    _assert_levels_equal(outs)
    out, mean, var, mask, gx, gw, gb, gres = outs["default"]
    assert out.is_contiguous(memory_format=layout)
    refs = [t.detach().double().requires_grad_() if t is not None else None for t in (x, w, b, res)]
    ref, ref_mean, ref_var = _ref_bn(*refs, 1e-5, relu)
    t = tol(dtype)
    torch.testing.assert_close(out.double(), ref.detach(), **t)
    torch.testing.assert_close(mean.double(), ref_mean.detach(), **t)
    torch.testing.assert_close(var.double(), ref_var.detach(), rtol=t["rtol"] * 10, atol=t["atol"] * 10)
    if relu:  # the mask holds out > 0, one bit per element, rows padded to whole bytes
        rows = out.permute(0, 2, 3, 1).reshape(-1, SHAPE[1]) if layout == torch.channels_last \
            else out.reshape(-1, SHAPE[2] * SHAPE[3])
        bits = torch.cat([rows > 0, torch.zeros(rows.shape[0], (-rows.shape[1]) % 8, dtype=torch.bool)], 1)
        want = (bits.reshape(rows.shape[0], -1, 8).to(torch.uint8) << torch.arange(8, dtype=torch.uint8)).sum(-1)
        assert torch.equal(mask, want.to(torch.uint8).flatten())
    ref.backward(grad.double())
    for ours, theirs in zip((gx, gw, gb, gres), (refs[0].grad, refs[1].grad, refs[2].grad,
                                                 refs[3].grad if residual else None)):
        if theirs is not None:
            torch.testing.assert_close(ours.double(), theirs, rtol=t["rtol"] * 10, atol=t["atol"] * 20)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_residual_epilogue_levels(dtype, layout):
    x = _data(dtype, layout, loc=0.0)
    for has_scale, has_shift, has_res, inner, outer in itertools.product([0, 1], repeat=5):
        scale = torch.randn(SHAPE[1]) if has_scale else None
        shift = torch.randn(SHAPE[1]) if has_shift else None
        res = _data(dtype, layout, loc=0.0) if has_res else None
        outs = run_at_every_level(lambda: (R.residual_epilogue(x, scale, shift, res, bool(inner), bool(outer)),))
        _assert_levels_equal(outs)
        torch.testing.assert_close(outs["default"][0].double(), _ref_epilogue(x, scale, shift, res, inner, outer),
                                   **tol(dtype))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
@pytest.mark.parametrize("layout", LAYOUTS)
def test_conv_bias_act_levels(dtype, layout):
    # fp32 with an inner ReLU and a residual: oneDNN's conv + ReLU, our epilogue for the rest;
    # float64/bf16: ATen's conv, our epilogue for bias, residual and both ReLUs.
    x = _data(dtype, layout, shape=(2, 19, 9, 11), loc=0.0)
    w = (torch.randn(21, 19, 3, 3) / 19).to(dtype)
    b = torch.randn(21).to(dtype)
    res = _data(dtype, layout, shape=(2, 21, 9, 11), loc=0.0)
    outs = run_at_every_level(lambda: (R.conv_bias_act(x, w, b, res, 1, 1, 1, 1, True, True),))
    _assert_levels_equal(outs)
    rtol, atol = {torch.float32: (1e-4, 1e-4), torch.float64: (1e-10, 1e-10), torch.bfloat16: (2e-2, 2e-2)}[dtype]
    torch.testing.assert_close(outs["default"][0].double(), _ref_conv(x, w, b, res, 1, 1, 1, 1, True, True),
                               rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_winograd_pack_weight_levels(dtype):
    # 37 output channels: two full 16-lane groups and a tail; a transposed (non-contiguous) weight.
    w = torch.randn(23, 37, 3, 3, dtype=dtype).transpose(0, 1)
    outs = run_at_every_level(lambda: (R.winograd_pack_weight(w),))
    _assert_levels_equal(outs)
    packed = outs["default"][0]
    assert packed.shape == (36, 23, 37) and packed.dtype == dtype
    # Packed in float64, rounded once: the float32 packing is the float64 one rounded.
    packed64 = R.winograd_pack_weight(w.double())
    torch.testing.assert_close(packed, packed64.to(dtype), rtol=0, atol=0)
    # The packing is right when the Winograd conv (float64: the ATen path) equals F.conv2d.
    x = torch.randn(2, 23, 10, 9, dtype=torch.float64)
    torch.testing.assert_close(R.conv3x3_winograd(x, packed64, None, None, 1, False, False),
                               F.conv2d(x, w.double(), padding=1), rtol=1e-10, atol=1e-10)


def _bits(t):
    return t.view(torch.int16)


def test_half_conversions_round_like_torch():
    # fp32 values at every fp16/bf16 rounding case: ties to even, subnormals, overflow to inf, NaN,
    # signed zero, then random magnitudes.
    special = torch.tensor([0.0, 1.0, 65504.0, 65519.0, 65520.0, 1e5, 2.0 ** -24, 2.0 ** -25, 3 * 2.0 ** -26,
                            2.0 ** -14, 6.1e-5, 1e-40, float("inf"), float("nan"), 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11,
                            1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8, 3.4e38])
    vals = torch.cat([special, -special, torch.randn(400) * 10.0 ** torch.randint(-12, 8, (400,)).float()])
    c = vals.numel()
    for dtype in (torch.float16, torch.bfloat16):
        # fp32 -> dtype: out = 1 * scale[c] stored as dtype is the kernel's rounding of scale[c].
        ones = torch.ones(2, c, 1, 3, dtype=dtype)
        # dtype -> fp32: x + residual in fp32, both decoded from dtype (subnormals and specials included).
        x = vals.to(dtype).view(1, c, 1, 1).expand(2, c, 1, 3).contiguous()
        r = vals.flip(0).to(dtype).view(1, c, 1, 1).expand(2, c, 1, 3).contiguous()
        outs = run_at_every_level(lambda: (_bits(R.residual_epilogue(ones, vals, None, None, False, False)),
                                           _bits(R.residual_epilogue(x, None, None, r, False, False))))
        _assert_levels_equal(outs)
        rounded, summed = (t.view(dtype) for t in outs["default"])
        exact = dict(rtol=0, atol=0, equal_nan=True)
        torch.testing.assert_close(rounded, vals.view(1, c, 1, 1).expand_as(ones).to(dtype), **exact)
        torch.testing.assert_close(summed, (x.float() + r.float()).to(dtype), **exact)
