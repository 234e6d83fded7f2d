"""Winograd F(4x4,3x3) conv: against float64 F.conv2d, generic and fast paths, opcheck, fuse() guards."""
import copy

import pytest
import torch
import torch.nn.functional as F
from tests.conftest import cpu_and_cuda

import vision_ext.nn as vnn
from vision_ext.ops import residual as R


def _ref(x, w, b, res, pad, inner, outer):
    v = F.conv2d(x.double(), w.double(), None if b is None else b.double(), 1, pad)
    v = F.relu(v) if inner else v
    v = v + res.double() if res is not None else v
    return F.relu(v) if outer else v


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape,pad", [((2, 64, 13, 11), 1), ((1, 8, 6, 6), 0), ((3, 5, 4, 9), 2), ((1, 3, 1, 1), 1)])
def test_matches_direct_convolution(device, dtype, shape, pad):
    n, c, h, w_ = shape
    x = torch.randn(*shape, device=device, dtype=dtype)
    w = torch.randn(7, c, 3, 3, device=device, dtype=dtype) / (3 * c ** 0.5)
    b = torch.randn(7, device=device, dtype=dtype)
    packed = R.winograd_pack_weight(w)
    assert packed.shape == (36, c, 7)
    out_hw = (h + 2 * pad - 2, w_ + 2 * pad - 2)
    for inner, outer, with_res, with_bias in [(0, 0, 0, 0), (0, 1, 1, 1), (1, 1, 1, 1), (1, 0, 0, 1)]:
        res = torch.randn(n, 7, *out_hw, device=device, dtype=dtype) if with_res else None
        bias = b if with_bias else None
        got = R.conv3x3_winograd(x, packed, bias, res, pad, bool(inner), bool(outer))
        ref = _ref(x, w, bias, res, pad, inner, outer)
        rel = ((got.double() - ref).norm() / ref.norm().clamp_min(1e-12)).item()
        assert rel < (1e-5 if dtype == torch.float32 else 1e-12), rel


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_opcheck(device):
    x = torch.randn(2, 64, 9, 10, device=device)
    w = torch.randn(16, 64, 3, 3, device=device)
    packed = R.winograd_pack_weight(w)
    torch.library.opcheck(torch.ops.vision_ext.winograd_pack_weight.default, (w,))
    torch.library.opcheck(torch.ops.vision_ext.conv3x3_winograd.default,
                          (x, packed, torch.randn(16, device=device), torch.randn(2, 16, 9, 10, device=device), 1,
                           True, True))
    torch.library.opcheck(torch.ops.vision_ext.conv3x3_winograd.default, (x.double(), packed.double(), None, None,
                                                                          0, False, False))


def test_errors():
    x = torch.randn(1, 8, 6, 6)
    with pytest.raises(RuntimeError, match="packed_weight must come from winograd_pack_weight"):
        R.conv3x3_winograd(x, torch.randn(8, 8, 3, 3))
    with pytest.raises(RuntimeError, match=r"weight must be \(C_out, C_in, 3, 3\)"):
        R.winograd_pack_weight(torch.randn(8, 8, 5, 5))
    packed = R.winograd_pack_weight(torch.randn(4, 8, 3, 3))
    with pytest.raises(RuntimeError, match="too small for a 3x3 kernel"):
        R.conv3x3_winograd(torch.randn(1, 8, 2, 2), packed, padding=0)
    with pytest.raises(RuntimeError, match="residual must have the output's shape"):
        R.conv3x3_winograd(x, packed, residual=torch.randn(1, 4, 5, 5), padding=1)


def test_fused_block_uses_winograd_and_refuses_stale_weights():
    block = vnn.BasicBlock(64, 64).eval()
    fused = vnn.fuse(copy.deepcopy(block))
    assert fused.conv2.winograd_weight.shape == (36, 64, 64)
    x = torch.randn(2, 64, 16, 16)  # 32 output tiles: Winograd's (vf.INFERENCE_WINOGRAD_MIN_TILES)
    with torch.no_grad():
        expect = block(x)
        got = fused(x)
    assert ((got - expect).norm() / expect.norm()).item() < 1e-4
    with torch.no_grad():
        fused.conv2.weight.mul_(2)
        for shape in ((2, 64, 16, 16), (1, 64, 4, 4)):  # refused on either kernel's side of the tile minimum
            with pytest.raises(RuntimeError, match="call fuse\\(\\) again"):
                fused(torch.randn(shape))
    assert not hasattr(vnn.fuse(copy.deepcopy(block), winograd=False).conv2, "winograd_weight")


@pytest.mark.parametrize("shape,k", [
    ((2, 64, 13, 11), 64),   # channel vectors of 16, GEMM rows that are not a multiple of the register tile
    ((1, 256, 4, 4), 256),   # one tile per image: output channels split between threads
    ((2, 256, 20, 20), 512), # U outweighs the 50 tiles: two equal blocks, threads on channel slices
    ((3, 40, 7, 5), 24),     # channels not a multiple of 16 (vector tails)
    ((2, 128, 9, 8), 80),    # output channels in 64- and 16-wide GEMM column groups
])
def test_cpu_fast_path_layouts_and_thread_counts(shape, k):
    n, c, h, w_ = shape
    x = torch.randn(*shape)
    w = torch.randn(k, c, 3, 3) / (3 * c ** 0.5)
    b = torch.randn(k)
    res = torch.randn(n, k, h, w_)
    packed = R.winograd_pack_weight(w)
    ref = _ref(x, w, b, res, 1, False, True)
    threads = torch.get_num_threads()
    outs = []
    try:
        for t in (1, 2):
            torch.set_num_threads(t)
            for fmt in (torch.contiguous_format, torch.channels_last):
                got = R.conv3x3_winograd(x.contiguous(memory_format=fmt), packed, b,
                                         res.contiguous(memory_format=fmt), 1, False, True)
                assert ((got.double() - ref).norm() / ref.norm()).item() < 1e-5
                outs.append(got)
    finally:
        torch.set_num_threads(threads)
    for got in outs[1:]:  # the work split changes with threads; each output's sum order does not
        assert torch.equal(got, outs[0])


@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_cpu_pack_kernel_matches_float64_transform(layout):
    # G w G^T from the 1-D transform's matrix, in float64, against the CPU packing kernel.
    g = torch.tensor([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
                      [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=torch.float64)
    w = torch.randn(21, 19, 3, 3).contiguous(memory_format=layout)  # 8-lane groups plus tails
    expect = (g @ w.double() @ g.T).permute(2, 3, 1, 0).reshape(36, 19, 21)
    for dtype in (torch.float32, torch.float64):
        got = R.winograd_pack_weight(w.to(dtype))
        assert got.dtype == dtype and got.is_contiguous()
        torch.testing.assert_close(got.double(), expect.to(dtype).double(), rtol=0, atol=1e-6 if dtype == torch.float32 else 1e-14)


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_training_conv_gradients(padding):
    from vision_ext.nn.functional import _WinogradConv3x3
    x = torch.randn(2, 4, 6, 5, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: _WinogradConv3x3.apply(x, w, b, padding), (x, w, b))
    # fp32 against the float64 direct convolution's gradients
    x32, w32 = (torch.randn(2, 64, 9, 7), torch.randn(64, 64, 3, 3) / 24)
    x32.requires_grad_(), w32.requires_grad_()
    y = _WinogradConv3x3.apply(x32, w32, None, padding)
    grad = torch.randn_like(y)
    y.backward(grad)
    xd, wd = x32.detach().double().requires_grad_(), w32.detach().double().requires_grad_()
    gx, gw = torch.autograd.grad(F.conv2d(xd, wd, None, 1, padding), (xd, wd), grad.double())
    assert ((x32.grad - gx).norm() / gx.norm()).item() < 1e-5
    assert ((w32.grad - gw).norm() / gw.norm()).item() < 1e-5


def test_training_block_runs_winograd_and_matches_eager():
    from vision_ext.nn import functional as vf
    previous = vnn.set_conv_autotune(False)  # the fixed rule: Winograd for eligible layers, no measurement
    try:
        _training_block_runs_winograd_and_matches_eager(vf)
    finally:
        vnn.set_conv_autotune(previous)


def _training_block_runs_winograd_and_matches_eager(vf):
    torch.manual_seed(0)
    block = vnn.BasicBlock(64, 64).train()
    ref = copy.deepcopy(block)
    x = torch.randn(2, 64, 64, 64, requires_grad=True)  # vf.TRAIN_WINOGRAD_MIN_POSITIONS output positions
    assert 2 * 64 * 64 >= vf.TRAIN_WINOGRAD_MIN_POSITIONS
    calls = []
    orig = vf._WinogradConv3x3.apply
    try:
        vf._WinogradConv3x3.apply = lambda *a: calls.append(1) or orig(*a)
        out = block(x)
    finally:
        vf._WinogradConv3x3.apply = orig
    assert len(calls) == 2
    out.sum().backward()
    x2 = x.detach().clone().requires_grad_()
    expect = F.relu(ref.bn2(F.conv2d(F.relu(ref.bn1(F.conv2d(x2, ref.conv1.weight, None, 1, 1))), ref.conv2.weight,
                                     None, 1, 1)) + x2)
    expect.sum().backward()
    torch.testing.assert_close(out, expect, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-3, atol=1e-4)
    # The weight gradients (Winograd's transposed form) against the same block in float64: a sum over
    # 8192 positions reaches ~600, so the error is judged relative to the whole gradient.
    ref64 = copy.deepcopy(ref).double()
    x64 = x.detach().double()
    F.relu(ref64.bn2(F.conv2d(F.relu(ref64.bn1(F.conv2d(x64, ref64.conv1.weight, None, 1, 1))), ref64.conv2.weight,
                              None, 1, 1)) + x64).sum().backward()
    for conv, conv64 in ((block.conv1, ref64.conv1), (block.conv2, ref64.conv2)):
        g64 = conv64.weight.grad
        assert ((conv.weight.grad.double() - g64).norm() / g64.norm()).item() < 1e-5


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_float64_bias_keeps_the_output_dtype(device):
    x = torch.randn(1, 4, 6, 6, device=device)
    w = torch.randn(5, 4, 3, 3, device=device)
    b = torch.randn(5, device=device, dtype=torch.float64)
    got = R.conv3x3_winograd(x, R.winograd_pack_weight(w), b, None, 1)
    assert got.dtype == torch.float32
    ref = _ref(x, w, b, None, 1, False, False)
    assert ((got.double() - ref).norm() / ref.norm()).item() < 1e-5


@pytest.mark.cuda
def test_cuda_bias_on_another_device_is_named():
    x = torch.randn(1, 4, 6, 6, device="cuda")
    packed = R.winograd_pack_weight(torch.randn(5, 4, 3, 3, device="cuda"))
    with pytest.raises(RuntimeError, match="bias is on cpu"):
        R.conv3x3_winograd(x, packed, torch.randn(5), None, 1)
    with pytest.raises(RuntimeError, match="packed_weight must be winograd_pack_weight of a weight of x's dtype, on x's device"):
        R.conv3x3_winograd(x.cpu(), packed, None, None, 1)


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_runs_transforms_in_float32(device, dtype):
    # the inputs are rounded to half precision once; the transforms' sums must not add much more error
    x = torch.randn(2, 32, 12, 10, device=device).to(dtype)
    w = (torch.randn(16, 32, 3, 3, device=device) / (3 * 32 ** 0.5)).to(dtype)
    b, res = torch.randn(16, device=device), torch.randn(2, 16, 12, 10, device=device).to(dtype)
    got = R.conv3x3_winograd(x, R.winograd_pack_weight(w), b, res, 1, False, True)  # an fp32 bias
    assert got.dtype == dtype
    ref = _ref(x, w, b, res, 1, False, True)
    rel = ((got.double() - ref).norm() / ref.norm()).item()
    eps = torch.finfo(dtype).eps
    assert rel < 4 * eps, (rel, eps)


def _ref_weight_grad(x, dy, padding):
    k, c = dy.shape[1], x.shape[1]
    w0 = torch.zeros(k, c, 3, 3, dtype=torch.float64, device=x.device)
    return torch.ops.aten.convolution_backward(dy.double(), x.double(), w0, None, [1, 1], [padding, padding], [1, 1],
                                               False, [0, 0], 1, [False, True, False])[1]


@pytest.mark.parametrize("device", cpu_and_cuda())
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape,k,pad", [
    ((2, 64, 13, 11), 70, 1),   # 16-lane channel vectors; 70 rows: a register-tile remainder of 4
    ((1, 8, 6, 6), 5, 0),       # no padding, fewer rows than one register tile
    ((3, 5, 4, 9), 7, 2),       # channels below one vector (scalar columns), padding 2
    ((1, 3, 1, 1), 4, 1),       # a 1x1 image: one tile, mostly padding
    ((4, 37, 33, 30), 42, 1),   # 4 x 9 x 8 tiles: several 64-tile blocks and per-thread parts
])
def test_weight_grad_matches_convolution_backward(device, dtype, shape, k, pad):
    n, c, h, w_ = shape
    x = torch.randn(*shape, device=device, dtype=dtype)
    dy = torch.randn(n, k, h + 2 * pad - 2, w_ + 2 * pad - 2, device=device, dtype=dtype)
    ref = _ref_weight_grad(x, dy, pad)
    for fmt in (torch.contiguous_format, torch.channels_last):
        got = R.conv3x3_winograd_weight_grad(x.contiguous(memory_format=fmt), dy.contiguous(memory_format=fmt), pad)
        assert got.shape == (k, c, 3, 3) and got.dtype == dtype and got.is_contiguous()
        rel = ((got.double() - ref).norm() / ref.norm()).item()
        assert rel < (1e-5 if dtype == torch.float32 else 1e-12), rel


@pytest.mark.parametrize("shape,k", [
    ((4, 48, 32, 32), 64),  # many tiles: one part of the tiles per thread, summed in order
    ((2, 96, 8, 8), 80),    # few tiles, wide layer: shared transformed tiles, the planes' rows split
])
def test_weight_grad_threads_and_repeats(shape, k):
    # Each thread count gives one answer every time, within fp32 accuracy of the float64 reference.
    x, dy = torch.randn(*shape), torch.randn(shape[0], k, *shape[2:])
    ref = _ref_weight_grad(x, dy, 1)
    threads = torch.get_num_threads()
    try:
        for t in (1, 2, 3):
            torch.set_num_threads(t)
            first = R.conv3x3_winograd_weight_grad(x, dy, 1)
            assert torch.equal(first, R.conv3x3_winograd_weight_grad(x, dy, 1))
            assert ((first.double() - ref).norm() / ref.norm()).item() < 1e-5
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_weight_grad_opcheck(device):
    x, dy = torch.randn(2, 19, 9, 10, device=device), torch.randn(2, 21, 9, 10, device=device)
    torch.library.opcheck(torch.ops.vision_ext.conv3x3_winograd_weight_grad.default, (x, dy, 1))
    torch.library.opcheck(torch.ops.vision_ext.conv3x3_winograd_weight_grad.default,
                          (x.double(), torch.randn(2, 21, 7, 8, device=device, dtype=torch.float64), 0))


def test_weight_grad_errors():
    x = torch.randn(1, 8, 6, 6)
    wg = R.conv3x3_winograd_weight_grad
    with pytest.raises(RuntimeError, match=r"grad_output must be \(N, C_out, H \+ 2 padding - 2"):
        wg(x, torch.randn(1, 4, 5, 5), 1)
    with pytest.raises(RuntimeError, match="grad_output must have x's dtype and device"):
        wg(x, torch.randn(1, 4, 6, 6, dtype=torch.float64), 1)
    with pytest.raises(RuntimeError, match="padding must be non-negative"):
        wg(x, torch.randn(1, 4, 8, 8), -1)
    with pytest.raises(RuntimeError, match="too small for a 3x3 kernel"):
        wg(torch.randn(1, 8, 2, 2), torch.randn(1, 4, 0, 0), 0)
    with pytest.raises(RuntimeError, match="grad_output must be a 4-D"):
        wg(x, torch.randn(4, 6, 6), 1)
