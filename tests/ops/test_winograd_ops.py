"""Winograd F(4x4,3x3) conv: against float64 F.conv2d, generic and fast paths, opcheck, fuse() guards."""
import copy

import pytest
import torch
import torch.nn.functional as F
from conftest import cpu_and_cuda

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
    x = torch.randn(2, 64, 8, 8)
    with torch.no_grad():
        expect = block(x)
        got = fused(x)
    assert ((got - expect).norm() / expect.norm()).item() < 1e-4
    with torch.no_grad():
        fused.conv2.weight.mul_(2)
        with pytest.raises(RuntimeError, match="call fuse\\(\\) again"):
            fused(x)
    assert not hasattr(vnn.fuse(copy.deepcopy(block), winograd=False).conv2, "winograd_weight")


@pytest.mark.parametrize("shape,k", [
    ((2, 64, 13, 11), 64),   # channel vectors of 16, GEMM rows that are not a multiple of the register tile
    ((1, 256, 4, 4), 256),   # one tile per image: output channels split between threads
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
