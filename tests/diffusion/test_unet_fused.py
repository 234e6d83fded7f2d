"""The U-Net's residual paths on our fused kernels: outputs and gradients equal the plain-PyTorch
formulas of the same blocks (on CUDA the skip adds run in our conv op), vision_ext.nn.fuse() moves
eligible 3x3 convs onto Winograd on the CPU, and autocast runs the fused convs in its
low-precision dtype as F.conv2d would."""
import pytest
import torch
import torch.nn.functional as F
from tests.conftest import cpu_and_cuda

import vision_ext.nn as vnn
import vision_ext.nn.functional as vf
from vision_ext.diffusion import UNet
from vision_ext.diffusion import unet as U


def _resblock_ref(self, x, temb):
    h = F.conv2d(F.silu(self.norm1(x)), self.conv1.weight, self.conv1.bias, padding=1)
    h = h + F.linear(F.silu(temb), self.temb.weight, self.temb.bias)[:, :, None, None]
    h = F.conv2d(self.drop(F.silu(self.norm2(h))), self.conv2.weight, self.conv2.bias, padding=1)
    skip = x if isinstance(self.skip, torch.nn.Identity) else F.conv2d(x, self.skip.weight, self.skip.bias)
    return skip + h


def _attn_ref(self, x):
    b, c, h, w = x.shape
    q, k, v = F.conv2d(self.norm(x), self.qkv.weight, self.qkv.bias).reshape(b, 3, c, h * w).transpose(-1, -2).unbind(1)
    a = torch.softmax(q @ k.transpose(-1, -2) / c ** 0.5, dim=-1) @ v
    return x + F.conv2d(a.transpose(-1, -2).reshape(b, c, h, w), self.proj.weight, self.proj.bias)


def _up_ref(self, x):
    return F.conv2d(F.interpolate(x, scale_factor=2.0, mode="nearest"), self.conv.weight, self.conv.bias, padding=1)


@pytest.fixture
def reference_blocks(monkeypatch):
    """Calling this swaps the blocks' forwards for the plain formulas until the test ends."""
    def swap():
        monkeypatch.setattr(U.ResBlock, "forward", _resblock_ref)
        monkeypatch.setattr(U.AttnBlock, "forward", _attn_ref)
        monkeypatch.setattr(U.Up, "forward", _up_ref)
    return swap


def _unet(dtype=torch.float32, base=64):
    torch.manual_seed(0)
    return UNet(in_channels=3, base_channels=base, channel_mults=(1, 2), num_res_blocks=1,
                attention_resolutions=(8,), dropout=0.0, image_size=16).to(dtype)


@pytest.mark.parametrize("device", cpu_and_cuda())
def test_forward_and_gradients_match_plain_formulas_float64(reference_blocks, device):
    net = _unet(torch.float64, base=16).to(device)
    x, t = torch.randn(2, 3, 16, 16, dtype=torch.float64, device=device), torch.tensor([3, 800], device=device)
    out = net(x, t)
    out.square().sum().backward()
    grads = {n: p.grad.clone() for n, p in net.named_parameters()}
    net.zero_grad()
    reference_blocks()
    want = net(x, t)
    want.square().sum().backward()
    torch.testing.assert_close(out, want, rtol=1e-10, atol=1e-10)
    for n, p in net.named_parameters():
        torch.testing.assert_close(grads[n], p.grad, rtol=1e-9, atol=1e-10, msg=n)


def test_fuse_runs_3x3_convs_on_winograd(reference_blocks, monkeypatch):
    net = _unet().eval()
    # Batch 16: the 8x8 level has 16 * 2 * 2 = 64 output tiles, at least vf.INFERENCE_WINOGRAD_MIN_TILES
    x, t = torch.randn(16, 3, 16, 16), torch.randint(0, 1000, (16,))
    vnn.fuse(net)
    packed = [m for m in net.modules() if getattr(m, "winograd_weight", None) is not None]
    assert packed and all(m.in_channels >= 64 and m.kernel_size == (3, 3) for m in packed)
    calls = []
    real = vf.ops.conv3x3_winograd
    monkeypatch.setattr(vf.ops, "conv3x3_winograd", lambda *a: calls.append(1) or real(*a))
    with torch.no_grad():
        out = net(x, t)
        assert len(calls) >= len(packed)  # every packed conv ran on Winograd
        reference_blocks()
        want = net(x, t)
    torch.testing.assert_close(out, want, rtol=1e-4, atol=1e-4)


def test_autocast_runs_fused_convs_in_low_precision():
    net = _unet(base=32)
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([10, 999])
    with torch.no_grad():
        want = net(x, t)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            got = net(x, t)
            conv = net.down[0][0].conv2
            h = torch.randn(2, conv.in_channels, 16, 16)
            fused = vf.conv_bias_act(h, conv, residual=h[:, :conv.out_channels])
            plain = F.conv2d(h, conv.weight, conv.bias, padding=1) + h[:, :conv.out_channels]
    assert got.dtype == fused.dtype == torch.bfloat16
    torch.testing.assert_close(fused.float(), plain.float(), rtol=2e-2, atol=2e-2)
    assert (got.float() - want).norm() / want.norm() < 3e-2  # bf16-level agreement over the whole U-Net


def test_set_fused_false_is_eager_pytorch_with_the_same_weights(reference_blocks):
    net = _unet(torch.float64, base=16)
    x, t = torch.randn(2, 3, 16, 16, dtype=torch.float64), torch.tensor([0, 500])
    with torch.no_grad():
        fused = net(x, t)
        eager = net.set_fused(False)(x, t)
        assert not any(getattr(m, "fused", False) for m in net.modules())
        reference_blocks()
        want = net(x, t)
    torch.testing.assert_close(fused, want, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(eager, want, rtol=1e-10, atol=1e-10)


def test_autocast_keeps_non_zero_padding_modes():
    # a reflect-padded conv is not ours to fuse: under autocast it must still reflect
    conv = torch.nn.Conv2d(8, 8, 3, padding=1, padding_mode="reflect")
    x = torch.randn(1, 8, 6, 6)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        got, want = vf.conv_bias_act(x, conv, residual=x), conv(x) + x
    torch.testing.assert_close(got.float(), want.float(), rtol=0, atol=0)


def test_compile_fullgraph_fused_unet(reference_blocks):
    net = vnn.fuse(_unet(base=64).eval())  # packed convs: the Winograd op inside the compiled graph
    x, t = torch.randn(2, 3, 16, 16), torch.tensor([3, 900])
    with torch.no_grad():
        got = torch.compile(net, fullgraph=True, backend="aot_eager")(x, t)
        reference_blocks()
        want = net(x, t)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
