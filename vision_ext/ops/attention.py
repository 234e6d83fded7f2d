"""Contract of the small-head attention op (csrc/ops/attention.cpp): softmax(q k^T * scale) v on the CPU
for head_dim 8 and 16, where ATen's flash kernel is slowest (its GEMMs are 8 deep). Inference only (no
autograd formula): `attention` sends everything else to F.scaled_dot_product_attention."""
from typing import Optional

import torch
import torch.nn.functional as F

from vision_ext._build import register_cuda_missing

_ops = torch.ops.vision_ext
register_cuda_missing("vision_ext::small_head_attention")

SMALL_HEAD_DIMS = (8, 16)


@torch.library.register_fake("vision_ext::small_head_attention")
def _(q, k, v, scale):
    torch._check(q.dim() == 4, lambda: "vision_ext::small_head_attention: q must be [B, H, tokens, head_dim]")
    b, h, n, d = q.shape
    return q.new_empty((b, n, h, d)).transpose(1, 2)


def small_head_eligible(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> bool:
    """Whether `attention` takes our kernel: CPU fp32 4-D tensors, head_dim 8 or 16, nothing that needs a
    gradient."""
    needs_grad = torch.is_grad_enabled() and (q.requires_grad or k.requires_grad or v.requires_grad)
    return (q.device.type == "cpu" and q.dim() == 4 and q.dtype == k.dtype == v.dtype == torch.float32
            and q.shape[-1] in SMALL_HEAD_DIMS and k.device.type == "cpu" and v.device.type == "cpu"
            and not needs_grad and not torch.compiler.is_compiling())


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: Optional[float] = None) -> torch.Tensor:
    """F.scaled_dot_product_attention(q, k, v, scale=scale) (no mask, no dropout), [B, H, tokens, head_dim];
    on our kernel where small_head_eligible and it measured faster (vision_ext.nn.conv_choice.kernel_wins;
    VISION_EXT_CONV_AUTOTUNE=0 always takes it), with a few 1e-7 relative difference from ATen's."""
    if small_head_eligible(q, k, v):
        from vision_ext.nn.conv_choice import kernel_wins

        s = q.shape[-1] ** -0.5 if scale is None else float(scale)
        ours = lambda: _ops.small_head_attention(q, k, v, s)  # noqa: E731
        # Measured per shape, thread count and CPU level: which wins differs between CPUs and shapes (on a
        # Sapphire Rapids core ours wins at head_dim 8, ATen's flash kernel at 256 keys of head_dim 16).
        if kernel_wins(("small_head_attention", tuple(q.shape), tuple(k.shape)), ours,
                       lambda: F.scaled_dot_product_attention(q, k, v, scale=scale)):
            return ours()
    return F.scaled_dot_product_attention(q, k, v, scale=scale)
