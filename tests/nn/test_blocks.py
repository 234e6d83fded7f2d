"""Fused blocks against the notes' originals and plain torchvision-style blocks:
same state_dict keys, outputs, gradients, running statistics; fuse(); compile; errors."""
import copy

import pytest
import torch
from helpers.reference_nets import (NotesBottleneckBlock, NotesResidualBlock, PlainBasicBlock, PlainBottleneck,
                                    randomize_bn)
from torch import nn

import vision_ext.nn as vnn


def _pair(ours_cls, ref_cls, *args):
    ref = ref_cls(*args)
    ours = ours_cls(*args)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


def _downsample(cin, cout, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))


BLOCKS = [
    ("residual", lambda: _pair(vnn.ResidualBlock, NotesResidualBlock, 16), (4, 16, 8, 8)),
    ("bottleneck-notes", lambda: _pair(vnn.BottleneckBlock, NotesBottleneckBlock, 32), (4, 32, 8, 8)),
    ("basic", lambda: _pair(vnn.BasicBlock, PlainBasicBlock, 16, 16), (4, 16, 8, 8)),
    ("basic-down", lambda: _pair(lambda *a: vnn.BasicBlock(16, 32, 2, _downsample(16, 32, 2)),
                                 lambda *a: PlainBasicBlock(16, 32, 2, _downsample(16, 32, 2))), (4, 16, 8, 8)),
    ("bottleneck", lambda: _pair(lambda: vnn.Bottleneck(32, 8, 1), lambda: PlainBottleneck(32, 8, 1)), (4, 32, 8, 8)),
    ("bottleneck-down", lambda: _pair(lambda: vnn.Bottleneck(16, 8, 2, _downsample(16, 32, 2)),
                                      lambda: PlainBottleneck(16, 8, 2, _downsample(16, 32, 2))), (4, 16, 9, 9)),
]


def _make(factory):
    torch.manual_seed(1)
    ours, ref = factory()
    randomize_bn(ref)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours, ref


@pytest.mark.parametrize("name,factory,shape", BLOCKS, ids=[b[0] for b in BLOCKS])
@pytest.mark.parametrize("layout", [torch.contiguous_format, torch.channels_last])
def test_training_step_matches_reference(name, factory, shape, layout):
    ours, ref = _make(factory)
    ours.train(), ref.train()
    x = torch.randn(*shape).contiguous(memory_format=layout)
    xo, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, expect = ours(xo), ref(xr)
    torch.testing.assert_close(out, expect, rtol=1e-4, atol=1e-4)
    g = torch.randn_like(expect)
    out.backward(g)
    expect.backward(g)
    torch.testing.assert_close(xo.grad, xr.grad, rtol=1e-4, atol=1e-4)
    for (n, p), (_, q) in zip(ours.named_parameters(), ref.named_parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-3, atol=1e-4, msg=f"grad of {n}")
    for (n, b), (_, c) in zip(ours.named_buffers(), ref.named_buffers()):
        torch.testing.assert_close(b, c, rtol=1e-5, atol=1e-6, msg=f"buffer {n}")


@pytest.mark.parametrize("name,factory,shape", BLOCKS, ids=[b[0] for b in BLOCKS])
def test_eval_and_fused_match_reference(name, factory, shape):
    ours, ref = _make(factory)
    ours.eval(), ref.eval()
    x = torch.randn(*shape)
    with torch.no_grad():
        expect = ref(x)
        torch.testing.assert_close(ours(x), expect, rtol=1e-4, atol=1e-5)
        fused = vnn.fuse(copy.deepcopy(ours))
        assert not any(isinstance(m, nn.BatchNorm2d) for m in fused.modules())
        got = fused(x)
    assert ((got - expect).norm() / expect.norm()).item() <= 1e-4


def test_fuse_swaps_foreign_blocks_in_place():
    torch.manual_seed(2)
    model = nn.Sequential(randomize_bn(PlainBasicBlock(8, 8)), NotesResidualBlock(8), NotesBottleneckBlock(8)).eval()
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        expect = model(x)
        vnn.fuse(model)
        got = model(x)
    assert isinstance(model[0], vnn.BasicBlock) and isinstance(model[1], vnn.ResidualBlock)
    assert isinstance(model[2], vnn.BottleneckBlock)
    assert ((got - expect).norm() / expect.norm()).item() <= 1e-4


def test_fuse_requires_eval_and_finite_stats():
    block = vnn.BasicBlock(4, 4)
    with pytest.raises(RuntimeError, match="model.eval"):
        vnn.fuse(block)
    block.eval()
    block.bn1.running_var[0] = float("nan")
    with pytest.raises(ValueError, match="non-finite or negative running_var"):
        vnn.fuse(block)


def test_momentum_none_cumulative_average():
    torch.manual_seed(3)
    ours, ref = _make(lambda: _pair(vnn.BasicBlock, PlainBasicBlock, 8, 8))
    for m in list(ours.modules()) + list(ref.modules()):
        if isinstance(m, nn.BatchNorm2d):
            m.momentum = None
    ours.train(), ref.train()
    for _ in range(3):
        x = torch.randn(4, 8, 5, 5)
        ours(x), ref(x)
    torch.testing.assert_close(ours.bn2.running_var, ref.bn2.running_var, rtol=1e-5, atol=1e-6)
    assert int(ours.bn1.num_batches_tracked) == 3


def test_compile_fullgraph_on_fused_block():
    ours, ref = _make(BLOCKS[2][1])
    ours.eval(), ref.eval()
    vnn.fuse(ours)
    x = torch.randn(2, 16, 8, 8)
    compiled = torch.compile(ours, fullgraph=True)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), ref(x), rtol=1e-4, atol=1e-4)


def test_bad_inputs():
    block = vnn.BasicBlock(8, 8).eval()
    with pytest.raises(ValueError, match="8 channels"):
        block(torch.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match="4-D"):
        block(torch.randn(8, 5, 5))
    with pytest.raises(RuntimeError, match="weight dtype"):
        block(torch.randn(2, 8, 5, 5, dtype=torch.float64))
    with pytest.raises(ValueError, match="at least 4"):
        vnn.BottleneckBlock(2)
