"""The measured Winograd-vs-oneDNN choice: made once per configuration, followed afterwards, correct either
way, and replaced by the fixed rule when autotuning is off."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import vision_ext.nn as vnn
from vision_ext.nn import conv_choice
from vision_ext.ops import residual as R


@pytest.fixture
def fresh_choices():
    previous = vnn.set_conv_autotune(True)
    yield
    vnn.set_conv_autotune(previous)


def _fused_block():
    block = vnn.BasicBlock(64, 64).eval()
    with torch.no_grad():
        for bn in (block.bn1, block.bn2):
            bn.running_mean.uniform_(-0.1, 0.1)
            bn.running_var.uniform_(0.5, 1.5)
    ref = vnn.BasicBlock(64, 64).eval()
    ref.load_state_dict(block.state_dict())
    return vnn.fuse(block), ref


def _count_winograd(monkeypatch):
    calls = {"n": 0}
    real = R.conv3x3_winograd

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(R, "conv3x3_winograd", counting)
    return calls


@pytest.mark.parametrize("winograd_faster", [True, False])
def test_choice_is_measured_once_and_followed(monkeypatch, fresh_choices, winograd_faster):
    block, ref = _fused_block()
    x = torch.randn(2, 64, 24, 24)  # 72 output tiles: at least INFERENCE_WINOGRAD_MIN_TILES
    # Time each candidate by a fixed figure instead of the clock: the choice must follow it.
    timings = {}

    def fake_time(fn):
        name = "winograd" if fn.__name__ == "winograd" else "onednn"
        timings[name] = timings.get(name, 0) + 1
        return 1.0 if (name == "winograd") == winograd_faster else 2.0

    monkeypatch.setattr(conv_choice, "_best_time", fake_time)
    calls = _count_winograd(monkeypatch)
    with torch.no_grad():
        out = block(x)
        measured = dict(timings)
        again = block(x)
    # conv1 and conv2 (with the residual) are two configurations: two interleaved rounds each.
    assert measured == {"winograd": 4, "onednn": 4}, "measured on the first call only"
    assert timings == measured, "a configuration is measured once"
    choices = vnn.conv_choices()
    assert len(choices) == 2 and set(choices.values()) == {winograd_faster}  # conv1 (plain), conv2 (+ residual)
    assert calls["n"] == (4 if winograd_faster else 0), "both convs of both calls follow the choice"
    with torch.no_grad():
        torch.testing.assert_close(out, ref(x), rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(again, out)


def test_real_measurement_gives_the_same_result(fresh_choices):
    block, ref = _fused_block()
    x = torch.randn(2, 64, 24, 24)
    with torch.no_grad():
        torch.testing.assert_close(block(x), ref(x), rtol=1e-4, atol=1e-4)
    assert len(vnn.conv_choices()) == 2


def test_few_output_tiles_take_onednn_unmeasured(monkeypatch, fresh_choices):
    # Below INFERENCE_WINOGRAD_MIN_TILES the packed weights' memory traffic outweighs Winograd's saving.
    from vision_ext.nn import functional as vf

    monkeypatch.setattr(conv_choice, "_best_time", lambda fn: pytest.fail("measured below the tile minimum"))
    calls = _count_winograd(monkeypatch)
    block, ref = _fused_block()
    x = torch.randn(4, 64, 8, 8)  # 4 * 2 * 2 = 16 tiles
    assert vf._winograd_tiles(x, block.conv1) < vf.INFERENCE_WINOGRAD_MIN_TILES
    with torch.no_grad():
        torch.testing.assert_close(block(x), ref(x), rtol=1e-4, atol=1e-4)
    assert calls["n"] == 0 and vnn.conv_choices() == {}
    # A ragged size counts partial tiles: 1 x 30 x 30 has ceil(30 / 4)^2 = 64.
    assert vf._winograd_tiles(torch.empty(1, 64, 30, 30), block.conv1) == 64


def test_autotune_off_follows_the_rule(monkeypatch):
    previous = vnn.set_conv_autotune(False)
    try:
        monkeypatch.setattr(conv_choice, "_best_time", lambda fn: pytest.fail("measured with autotuning off"))
        calls = _count_winograd(monkeypatch)
        block, _ = _fused_block()
        with torch.no_grad():
            block(torch.randn(1, 64, 32, 32))  # 64 output tiles
        assert calls["n"] == 2 and vnn.conv_choices() == {}
    finally:
        vnn.set_conv_autotune(previous)


def test_training_follows_the_fixed_rule_and_keeps_gradients(monkeypatch, fresh_choices):
    # Never timed in training: a choice that could differ between runs would break bit-exact resume.
    monkeypatch.setattr(conv_choice, "_best_time", lambda fn: pytest.fail("measured in training"))
    conv = nn.Conv2d(64, 64, 3, padding=1)
    ref = nn.Conv2d(64, 64, 3, padding=1)
    ref.load_state_dict(conv.state_dict())
    from vision_ext.nn import functional as vf

    calls = {"n": 0}
    real = vf._WinogradConv3x3.apply
    monkeypatch.setattr(vf._WinogradConv3x3, "apply", lambda *a: calls.__setitem__("n", calls["n"] + 1) or real(*a))
    x = torch.randn(2, 64, 64, 64, requires_grad=True)
    assert 2 * 64 * 64 >= vf.TRAIN_WINOGRAD_MIN_POSITIONS
    xr = x.detach().clone().requires_grad_()
    vf.conv_bias_act(x, conv).square().sum().backward()
    ref(xr).square().sum().backward()
    assert calls["n"] == 1 and vnn.conv_choices() == {}
    torch.testing.assert_close(x.grad, xr.grad, rtol=1e-4, atol=1e-4)
    # The weight gradient sums 8192 positions: judged against float64, relative to the whole gradient.
    xd, wd = x.detach().double(), conv.weight.detach().double().requires_grad_()
    F.conv2d(xd, wd, conv.bias.detach().double(), 1, 1).square().sum().backward()
    assert ((conv.weight.grad.double() - wd.grad).norm() / wd.grad.norm()).item() < 1e-5
    # Fewer output positions: oneDNN (the per-step weight packs would cost more than they save).
    vf.conv_bias_act(torch.randn(2, 64, 8, 8, requires_grad=True), conv).sum().backward()
    assert calls["n"] == 1
