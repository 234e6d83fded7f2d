"""Property-based tests of the fused residual ops against float64 torch (issue 15): batches of 0 and 1, spatial
sizes below the 3x3 stencil, fp32/fp64/fp16/bf16, contiguous / channels_last / sliced / expanded inputs, NaN and
inf values, every combination of the optional operands. Calls run in the sandbox child (crash isolation)."""
import pytest
import torch
import torch.nn.functional as F
from fuzzing import sandbox  # noqa: F401  (fixture)
from tolerances import close
from hypothesis import given
from hypothesis import strategies as st
from strategies import FLOATS, LAYOUTS, arrange, nchw, tensors

R = "vision_ext.ops.residual:"


def _epilogue(v, scale, shift, res, inner, outer):
    c = (1, -1, 1, 1)
    v = v * scale.double().view(c) if scale is not None else v
    v = v + shift.double().view(c) if shift is not None else v
    v = F.relu(v) if inner else v
    v = v + res.double() if res is not None else v
    return F.relu(v) if outer else v


@st.composite
def activations(draw, max_c=5, max_hw=7, min_n=0, dtypes=FLOATS):
    special, layout = draw(st.booleans()), draw(st.sampled_from(LAYOUTS))
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(nchw(min_n=min_n, max_c=max_c, max_hw=max_hw))
    same = layout == "expanded"
    x = arrange(draw(tensors(shape, dtype, special=special, same_rows=same)), layout)
    res = draw(st.none() | st.just(1).map(lambda _: arrange(
        draw(tensors(shape, dtype, special=special, same_rows=same)), layout)))
    return x, res, dtype, special


@given(data=activations(), scaled=st.booleans(), shifted=st.booleans(), inner=st.booleans(), outer=st.booleans())
def test_residual_epilogue_matches_torch(sandbox, data, scaled, shifted, inner, outer):
    x, res, dtype, special = data
    c = x.shape[1]
    scale = torch.rand(c) + 0.5 if scaled else None
    shift = torch.randn(c) if shifted else None
    got = sandbox.call(R + "residual_epilogue", x, scale, shift, res, inner, outer)
    close(got, _epilogue(x.double(), scale, shift, res, inner, outer), dtype, non_finite_inputs=special)


@given(data=activations(), c_out=st.integers(1, 5), k=st.integers(1, 3), stride=st.integers(1, 2),
       padding=st.integers(0, 2), dilation=st.integers(1, 2), depthwise=st.booleans(), bias=st.booleans(),
       inner=st.booleans(), outer=st.booleans())
def test_conv_bias_act_matches_torch(sandbox, data, c_out, k, stride, padding, dilation, depthwise, bias, inner,
                                     outer):
    from sandbox import OpError

    x, res, dtype, special = data
    c_in = x.shape[1]
    groups = c_in if depthwise else 1
    c_out = c_in if depthwise else c_out
    w = torch.randn(c_out, c_in // groups, k, k).to(dtype)
    b = torch.randn(c_out).to(dtype) if bias else None
    try:
        ref = F.conv2d(x.double(), w.double(), None if b is None else b.double(), stride, padding, dilation, groups)
    except RuntimeError:
        with pytest.raises(OpError) as err:  # a size torch refuses: a clear error from us too
            sandbox.call(R + "conv_bias_act", x, w, b, None, stride, padding, dilation, groups, inner, outer)
        assert err.value.type_name in ("RuntimeError", "ValueError"), err.value
        return
    if res is not None and res.shape != ref.shape:
        res = arrange(torch.randn(ref.shape).to(dtype), "contiguous")
    got = sandbox.call(R + "conv_bias_act", x, w, b, res, stride, padding, dilation, groups, inner, outer)
    scale = max(1.0, (c_in // groups) * k * k / 4)  # accumulation length
    close(got, _epilogue(ref, None, None, res, inner, outer), dtype, scale=scale, non_finite_inputs=special)


@given(data=activations(min_n=1), relu=st.booleans(), eps=st.sampled_from([1e-5, 1e-3, 0.5]))
def test_bn_add_relu_matches_batch_statistics(sandbox, data, relu, eps):
    from sandbox import OpError

    x, res, dtype, special = data
    c = x.shape[1]
    w, b = torch.rand(c) + 0.5, torch.randn(c)
    if x.numel() == c:  # one value per channel: torch's batch norm refuses it, and so do we
        with pytest.raises(OpError, match="more than 1 value per channel"):
            sandbox.call(R + "bn_add_relu", x, w, b, res, eps, relu)
        return
    out, mean, var = sandbox.call(R + "bn_add_relu", x, w, b, res, eps, relu)
    xd = x.double()
    want_mean, want_var = xd.mean((0, 2, 3)), xd.var((0, 2, 3), unbiased=False)
    v = (xd - want_mean.view(1, -1, 1, 1)) * torch.rsqrt(want_var + eps).view(1, -1, 1, 1) * w.double().view(
        1, -1, 1, 1) + b.double().view(1, -1, 1, 1)
    want = _epilogue(v, None, None, res, False, relu)
    # Normalised values carry the statistics' error times 1/std: scale the tolerance by the spread of x.
    spread = float((want_mean.abs() / (want_var + eps).sqrt()).nan_to_num(0, 0, 0).max()) + 1
    close(mean, want_mean, torch.float32 if dtype != torch.float64 else dtype, non_finite_inputs=special)
    close(var, want_var, torch.float32 if dtype != torch.float64 else dtype, scale=spread,
          non_finite_inputs=special)
    close(out, want, dtype, scale=spread, non_finite_inputs=special)


# fp16/bf16: test_winograd_half_precision_is_as_accurate_as_conv2d.
@given(data=activations(max_c=6, max_hw=9, dtypes=(torch.float32, torch.float64)), c_out=st.integers(1, 6),
       padding=st.integers(0, 2), bias=st.booleans(), inner=st.booleans(), outer=st.booleans())
def test_conv3x3_winograd_matches_conv2d(sandbox, data, c_out, padding, bias, inner, outer):
    from sandbox import OpError

    x, res, dtype, special = data
    w = torch.randn(c_out, x.shape[1], 3, 3).to(dtype)
    b = torch.randn(c_out).to(dtype) if bias else None
    packed = sandbox.call(R + "winograd_pack_weight", w)
    out_hw = (x.shape[2] + 2 * padding - 2, x.shape[3] + 2 * padding - 2)
    if min(out_hw) < 1:  # below the stencil: torch refuses, so must we
        with pytest.raises(OpError) as err:
            sandbox.call(R + "conv3x3_winograd", x, packed, b, None, padding, inner, outer)
        assert err.value.type_name in ("RuntimeError", "ValueError"), err.value
        return
    ref = F.conv2d(x.double(), w.double(), None if b is None else b.double(), 1, padding)
    if res is not None and res.shape != ref.shape:
        res = torch.randn(ref.shape).to(dtype)
    got = sandbox.call(R + "conv3x3_winograd", x, packed, b, res, padding, inner, outer)
    # Winograd's transforms amplify rounding (~1e-6 relative in fp32): tolerance scaled by the 9 * C_in terms.
    close(got, _epilogue(ref, None, None, res, inner, outer), dtype, scale=9 * x.shape[1],
          non_finite_inputs=special)


@given(data=activations(max_c=6, max_hw=9, dtypes=(torch.float32, torch.float64)), c_out=st.integers(1, 6),
       padding=st.integers(0, 2))
def test_conv3x3_winograd_weight_grad_matches_convolution_backward(sandbox, data, c_out, padding):
    from sandbox import OpError

    x, _, dtype, special = data
    out_hw = (x.shape[2] + 2 * padding - 2, x.shape[3] + 2 * padding - 2)
    if min(out_hw) < 1:  # below the stencil: torch refuses, so must we
        with pytest.raises(OpError) as err:
            sandbox.call(R + "conv3x3_winograd_weight_grad", x, torch.randn(x.shape[0], c_out, 1, 1).to(dtype),
                         padding)
        assert err.value.type_name in ("RuntimeError", "ValueError"), err.value
        return
    dy = torch.randn(x.shape[0], c_out, *out_hw).to(dtype)
    w0 = torch.zeros(c_out, x.shape[1], 3, 3, dtype=torch.float64)
    ref = torch.ops.aten.convolution_backward(dy.double(), x.double(), w0, None, [1, 1], [padding, padding], [1, 1],
                                              False, [0, 0], 1, [False, True, False])[1]
    got = sandbox.call(R + "conv3x3_winograd_weight_grad", x, dy, padding)
    # Each tap sums N * H_out * W_out products, through transforms that amplify rounding: tolerance
    # scaled by the number of terms.
    close(got, ref, dtype, scale=9 * x.shape[0] * out_hw[0] * out_hw[1], non_finite_inputs=special)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("seed", range(4))
def test_winograd_half_precision_is_as_accurate_as_conv2d(dtype, seed):
    # Found by the fuzzers: weights packed in half precision made the output ~20x less accurate (max error
    # 1.4 against F.conv2d's 0.06 in bf16); they now pack to float32 (csrc/ops/winograd_generic.h).
    from vision_ext.ops import residual

    g = torch.Generator().manual_seed(seed)
    c = (6, 16, 32, 64)[seed]
    x, w = torch.randn(2, c, 9, 9, generator=g).to(dtype), torch.randn(6, c, 3, 3, generator=g).to(dtype)
    packed = residual.winograd_pack_weight(w)
    assert packed.dtype == torch.float32
    ref = F.conv2d(x.double(), w.double(), None, 1, 1)
    ours = residual.conv3x3_winograd(x, packed, None, None, 1)
    assert ours.dtype == dtype
    theirs = F.conv2d(x, w, None, 1, 1).double()
    assert (ours.double() - ref).abs().max() <= 2 * (theirs - ref).abs().max()


BAD = [
    ("residual_epilogue", lambda x: (x, torch.ones(5)), "scale"),
    ("residual_epilogue", lambda x: (x, None, None, x[:, :1]), "residual"),
    ("residual_epilogue", lambda x: (x[0],), ""),
    ("conv_bias_act", lambda x: (x, torch.randn(4, 2, 3, 3)), ""),
    ("conv_bias_act", lambda x: (x, torch.randn(4, 3, 3, 3), torch.ones(5)), "bias"),
    ("bn_add_relu", lambda x: (x, torch.ones(2), torch.zeros(3)), "weight"),
    ("bn_add_relu", lambda x: (x, torch.ones(3), torch.zeros(3), None, -1.0), "eps"),
    ("winograd_pack_weight", lambda x: (torch.randn(4, 3, 5, 5),), "weight"),
    ("conv3x3_winograd", lambda x: (x, torch.randn(36, 2, 4)), ""),
    ("conv3x3_winograd_weight_grad", lambda x: (x, torch.randn(2, 4, 5, 5), 1), "grad_output"),
]


@pytest.mark.parametrize("op,args,name", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_are_clear_errors(sandbox, op, args, name):
    err = sandbox.expect_error(R + op, *args(torch.randn(2, 3, 6, 6)))
    assert name in err.message, err.message


@pytest.mark.parametrize("inner,outer,with_res", [(False, True, False), (True, False, False), (True, True, True),
                                                  (False, True, True)])
def test_conv_bias_act_relu_keeps_nan(inner, outer, with_res):
    # Found by the fuzzers (2000 examples): oneDNN's ReLU post-op turned a NaN into 0, torch.relu keeps it.
    from vision_ext.ops import residual

    x = torch.randn(2, 3, 5, 5)
    x[0, 1, 2, 2] = float("nan")
    w, b = torch.randn(4, 3, 3, 3), torch.randn(4)
    res = torch.randn(2, 4, 5, 5) if with_res else None
    got = residual.conv_bias_act(x, w, b, res, 1, 1, 1, 1, inner, outer)
    want = F.conv2d(x, w, b, 1, 1)
    want = torch.relu(want) if inner else want
    want = want + res if with_res else want
    want = torch.relu(want) if outer else want
    assert torch.equal(torch.isnan(got), torch.isnan(want)) and torch.isnan(got).any()
    torch.testing.assert_close(got, want, equal_nan=True, rtol=1e-4, atol=1e-4)
