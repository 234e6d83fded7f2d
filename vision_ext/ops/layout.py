"""Contract of the layout op (csrc/ops/layout.cpp): channels_last copies of CPU activations.

ATen's strided copy moves about 1 GB/s from NCHW to NHWC on our CPUs; the op's register transpose runs
at memory speed. The fused inference paths convert once at block entry with it."""
import torch

_ops = torch.ops.vision_ext


@torch.library.register_fake("vision_ext::_to_channels_last")
def _to_channels_last_fake(x):
    torch._check(x.dim() == 4, lambda: f"vision_ext::_to_channels_last: expected a 4-D tensor, got {x.dim()}-D")
    return torch.empty_like(x, memory_format=torch.channels_last)


def to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """x in channels_last memory format: x itself when it already is, else a copy (the fast CPU transpose
    where the op applies: CPU, 4-D, no autograd; otherwise Tensor.contiguous)."""
    if x.dim() != 4 or x.is_contiguous(memory_format=torch.channels_last):
        return x
    if x.device.type == "cpu" and not (torch.is_grad_enabled() and x.requires_grad):
        return _ops._to_channels_last(x)
    return x.contiguous(memory_format=torch.channels_last)
