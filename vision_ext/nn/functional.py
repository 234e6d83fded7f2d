"""The fused residual primitives the blocks are written in.

Training: conv, then batch-stat BN + residual add + ReLU in one kernel (saving a
bit mask, not the pre-activation). Eval: conv, then BN's running-stat affine +
add + ReLU in one epilogue pass. Fused (vision_ext.nn.fuse): BN folded into the
conv and bias + add + ReLU fused into the convolution itself.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from vision_ext.nn.conv_choice import winograd_wins
from vision_ext.ops import residual as ops
from vision_ext.ops.layout import to_channels_last


def preferred_layout(x: torch.Tensor) -> torch.Tensor:
    """channels_last for CPU activations (oneDNN and our Winograd path work in NHWC).

    Networks call this once on their (3-channel, cheap) input; blocks keep the caller's layout.
    """
    if x.device.type == "cpu" and x.dim() == 4 and x.is_floating_point():
        return to_channels_last(x)
    return x


def layout_for(x: torch.Tensor, conv: nn.Conv2d) -> torch.Tensor:
    """A block's input in channels_last for CPU inference (oneDNN's NHWC convolutions and our packed
    Winograd kernel both work in NHWC; NCHW 1x1 convs reorder on every call, 5x slower on AVX2),
    converted once at block entry so the residual does not get converted again."""
    if getattr(conv, "winograd_weight", None) is not None or not torch.is_grad_enabled():
        return preferred_layout(x)
    return x


def _check_conv_input(x: torch.Tensor, conv: nn.Conv2d) -> None:
    if x.dim() != 4:
        raise ValueError(f"expected a 4-D (N, C, H, W) input, got shape {tuple(x.shape)}")
    if x.shape[1] != conv.in_channels:
        raise ValueError(f"expected input with {conv.in_channels} channels (dim 1), got {x.shape[1]} "
                         f"(input shape {tuple(x.shape)})")


def winograd_eligible(conv: nn.Conv2d) -> bool:
    """3x3, stride 1, no dilation or groups, zero padding, fp32 on the CPU, >= 64 channels in and
    out: where Winograd beats oneDNN's direct conv (below 64 channels its transforms dominate)."""
    return (conv.kernel_size == (3, 3) and conv.in_channels >= 64 and conv.out_channels >= 64 and conv.stride == (1, 1) and conv.dilation == (1, 1) and conv.groups == 1
            and conv.padding_mode == "zeros" and not isinstance(conv.padding, str)
            and conv.padding[0] == conv.padding[1] and conv.weight.device.type == "cpu"
            and conv.weight.dtype == torch.float32)


def pack_winograd(conv: nn.Conv2d) -> None:
    """Attach Winograd-packed weights to an inference conv (vision_ext.nn.fuse calls this)."""
    if conv.weight.is_inference():
        # An inference tensor has no version counter, so edits to it could not be detected: give the
        # conv a normal copy (vision_ext.nn.fuse calls this outside inference mode).
        conv.weight = nn.Parameter(conv.weight.clone(), requires_grad=conv.weight.requires_grad)
    with torch.no_grad():
        conv.register_buffer("winograd_weight", ops.winograd_pack_weight(conv.weight.detach()), persistent=False)
        # The layers that measure faster on oneDNN get channels_last activations here (the packed path
        # works in NHWC): an NCHW weight would be copied to channels_last on every such call.
        conv.weight.data = conv.weight.data.contiguous(memory_format=torch.channels_last)
    conv.winograd_source = (conv.weight.data_ptr(), conv.weight._version)


# Inference Winograd reads 36 * C_in * C_out packed weights (4x the 3x3 weights) and reuses each once
# per 4x4 output tile; in a whole network those weights come from memory, not from the cache that a
# one-layer timing warms. DDPM U-Net (base 128, batch 4, 32x32; a Xeon, 1 thread, avx512): its 8x8
# and 4x4 levels (16 and 4 tiles) took 2.1 / 1.3 ms a conv in the network against 0.95 / 0.49 ms
# alone, and oneDNN 1.5 / 0.75 ms in the eager network, so the measured choice (hot weights) picked
# the slower kernel there; the network ran 248 -> 238 ms with them on oneDNN. resnet18-CIFAR's 4x4
# level at batch 32 (32 tiles) stays faster on Winograd in the network (a minimum of 64 cost it 19%),
# resnet101's 7x7 level at batch 4 (16 tiles) is even either way. Shape-based, before any timing.
INFERENCE_WINOGRAD_MIN_TILES = 32


def _winograd_tiles(x: torch.Tensor, conv: nn.Conv2d) -> int:
    """4x4 output tiles of conv(x): N * ceil(H_out / 4) * ceil(W_out / 4)."""
    h = x.shape[2] + 2 * conv.padding[0] - 2
    w = x.shape[3] + 2 * conv.padding[1] - 2
    return x.shape[0] * -(-h // 4) * -(-w // 4)


def _use_winograd(x: torch.Tensor, conv: nn.Conv2d) -> bool:
    """A packed inference conv on the CPU in fp32 with at least INFERENCE_WINOGRAD_MIN_TILES output tiles
    (the kernel's domain; whether it is faster than oneDNN there is conv_bias_act's measured choice)."""
    if getattr(conv, "winograd_weight", None) is None or x.device.type != "cpu" or x.dtype != torch.float32:
        return False
    if torch.is_grad_enabled() and (x.requires_grad or conv.weight.requires_grad):
        return False  # the packed path is inference-only
    if not torch.compiler.is_compiling() and conv.winograd_source != (conv.weight.data_ptr(), conv.weight._version):
        raise RuntimeError("conv weights changed after vision_ext.nn.fuse() packed them; call fuse() again "
                           "(or train the unfused model) so inference does not use stale weights")
    return _winograd_tiles(x, conv) >= INFERENCE_WINOGRAD_MIN_TILES  # x is 4-D: _check_conv_input


class _WinogradConv3x3(torch.autograd.Function):
    """A training-time 3x3 stride-1 conv on the CPU Winograd kernel, weights packed per call.

    Grad-input is the same kind of conv (flipped, transposed kernel, padding 2 - p), and grad-weight
    is Winograd's transposed form (conv3x3_winograd_weight_grad), so all three convolutions of a
    training step run on Winograd.
    """

    @staticmethod
    def forward(x, weight, bias, padding):
        return ops.conv3x3_winograd(x, ops.winograd_pack_weight(weight), bias, None, padding, False, False)

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, weight, bias, padding = inputs
        ctx.save_for_backward(x, weight)
        ctx.padding, ctx.has_bias = padding, bias is not None

    @staticmethod
    def backward(ctx, grad):
        x, weight = ctx.saved_tensors
        p = ctx.padding
        grad_x = grad_w = grad_b = None
        if ctx.needs_input_grad[0]:
            flipped = ops.winograd_pack_weight(weight.flip(2, 3).transpose(0, 1))
            grad_x = ops.conv3x3_winograd(grad, flipped, None, None, 2 - p, False, False)
        if ctx.needs_input_grad[1]:
            grad_w = ops.conv3x3_winograd_weight_grad(x, grad, p)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_b = grad.sum((0, 2, 3))
        return grad_x, grad_w, grad_b, None


# Training packs the weights on every step, which only pays off over enough output positions
# (N * H * W). resnet18-CIFAR train steps vs eager channels_last on a Zen 4 (avx512), once the weight
# gradient ran on Winograd too, limit 8192 -> 2048: batch 32 x1.27 -> x1.36 (2 threads), x1.40 ->
# x1.41 (1 thread); batch 8 x1.06 -> x1.12 / x1.07 -> x1.13; a limit of 512 was slower at batch 8
# (x0.92 at 2 threads). Shape-based, never timed: a training run must take the same arithmetic every
# time it is resumed.
TRAIN_WINOGRAD_MIN_POSITIONS = 2048


def _train_winograd(x: torch.Tensor, conv: nn.Conv2d) -> bool:
    """A differentiable conv that Winograd can carry: eligible shape, CPU fp32, padding <= 2, at
    least TRAIN_WINOGRAD_MIN_POSITIONS output positions, and at most 256x256 channels: wider
    layers' per-step packs (36 * C_in * C_out floats, twice) would raise training's peak memory
    above eager PyTorch's for little gain on their small images."""
    return (torch.is_grad_enabled() and (x.requires_grad or conv.weight.requires_grad)
            and x.device.type == "cpu" and x.dtype == torch.float32 and winograd_eligible(conv)
            and conv.padding[0] <= 2 and conv.in_channels * conv.out_channels <= 256 * 256
            and x.dim() == 4 and x.shape[0] * x.shape[2] * x.shape[3] >= TRAIN_WINOGRAD_MIN_POSITIONS)


def _autocast_dtype(x: torch.Tensor) -> Optional[torch.dtype]:
    """The dtype autocast gives a conv on x's device, or None outside autocast."""
    dev = x.device.type
    if dev not in ("cpu", "cuda") or not torch.is_autocast_enabled(dev):
        return None
    return torch.get_autocast_dtype(dev)


def conv_bias_act(x: torch.Tensor, conv: nn.Conv2d, residual: Optional[torch.Tensor] = None,
                  inner_relu: bool = False, outer_relu: bool = False) -> torch.Tensor:
    """post(pre(conv(x) + b) + residual) as one fused op (zero-padded Conv2d). Under autocast the
    conv runs in autocast's dtype, as F.conv2d would (our op has no autocast kernel of its own)."""
    _check_conv_input(x, conv)
    if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
        out = conv(x)  # padding modes our op does not cover: eager, same maths (autocast included)
        out = F.relu(out) if inner_relu else out
        out = out + residual if residual is not None else out
        return F.relu(out) if outer_relu else out
    amp = _autocast_dtype(x)
    if amp is not None and x.is_floating_point():
        with torch.autocast(x.device.type, enabled=False):
            cast = lambda t: t.to(amp) if t is not None and t.dtype != amp else t  # noqa: E731
            return ops.conv_bias_act(cast(x), cast(conv.weight), cast(conv.bias), cast(residual), conv.stride,
                                     conv.padding, conv.dilation, conv.groups, inner_relu, outer_relu)
    def onednn():
        return ops.conv_bias_act(x, conv.weight, conv.bias, residual, conv.stride, conv.padding, conv.dilation,
                                 conv.groups, inner_relu, outer_relu)

    if _use_winograd(x, conv):
        def winograd():
            return ops.conv3x3_winograd(x, conv.winograd_weight, conv.bias, residual, conv.padding[0], inner_relu,
                                        outer_relu)

        if winograd_wins("inference", x, conv, residual, winograd, onednn):
            return winograd()
    elif residual is None and not inner_relu and not outer_relu and _train_winograd(x, conv):
        # Training follows the fixed rule, never a timing: a choice that could differ between two runs
        # would break bit-exact resume (the kernels round differently).
        return _WinogradConv3x3.apply(x, conv.weight, conv.bias, conv.padding[0])
    return onednn()


def _update_running_stats(bn: nn.BatchNorm2d, mean: torch.Tensor, var: torch.Tensor, count: int) -> None:
    """nn.BatchNorm2d's update: exponential (momentum) or cumulative (momentum=None) average,
    with the unbiased variance."""
    with torch.no_grad():
        bn.num_batches_tracked.add_(1)
        factor = bn.momentum if bn.momentum is not None else 1.0 / float(bn.num_batches_tracked)
        unbiased = var * (count / max(count - 1, 1))
        bn.running_mean.mul_(1 - factor).add_(mean.to(bn.running_mean.dtype), alpha=factor)
        bn.running_var.mul_(1 - factor).add_(unbiased.to(bn.running_var.dtype), alpha=factor)


def batch_norm_act(x: torch.Tensor, bn: nn.BatchNorm2d, residual: Optional[torch.Tensor] = None,
                   relu: bool = True) -> torch.Tensor:
    """relu(bn(x) + residual) with nn.BatchNorm2d's train/eval semantics, in one kernel."""
    if x.dim() != 4 or x.shape[1] != bn.num_features:
        raise ValueError(f"BatchNorm2d({bn.num_features}) expects a 4-D input with {bn.num_features} channels, "
                         f"got shape {tuple(x.shape)}")
    weight = bn.weight if bn.affine else torch.ones(bn.num_features, device=x.device)
    bias = bn.bias if bn.affine else torch.zeros(bn.num_features, device=x.device)
    use_batch_stats = bn.training or not bn.track_running_stats
    if use_batch_stats:
        out, mean, var = ops.bn_add_relu(x, weight, bias, residual, bn.eps, relu)
        if bn.training and bn.track_running_stats:
            _update_running_stats(bn, mean.detach(), var.detach(), x.numel() // x.shape[1])
        return out
    scale = weight * torch.rsqrt(bn.running_var + bn.eps)
    shift = bias - bn.running_mean * scale
    return ops.residual_epilogue(x, scale, shift, residual, False, relu)
