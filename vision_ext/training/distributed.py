"""DistributedDataParallel set-up from torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK).

NCCL on GPU, gloo on CPU; without torchrun everything degrades to one process.
"""
import gc
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def pick_device(requested: str, ctx: DistContext) -> torch.device:
    if requested == "cuda" or (requested == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("--device cuda: no CUDA device is visible to PyTorch; use --device cpu")
        return torch.device("cuda", ctx.local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def init(requested_device: str):
    """(DistContext, device); joins the process group when launched by torchrun with WORLD_SIZE > 1."""
    if not launched_by_torchrun():
        ctx = DistContext()
        return ctx, pick_device(requested_device, ctx)
    ctx = DistContext(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ.get("LOCAL_RANK", 0)))
    device = pick_device(requested_device, ctx)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo",
                                rank=ctx.rank, world_size=ctx.world_size,
                                device_id=device if device.type == "cuda" else None)
    return ctx, device


def all_reduce(tensor: torch.Tensor, op=None) -> torch.Tensor:
    """In-place sum (or op) across processes; a no-op without a process group."""
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(tensor, op=op or dist.ReduceOp.SUM)
    return tensor


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shutdown() -> None:
    """Leaves the process group; the caller has dropped its DistributedDataParallel wrapper first.

    DDP's C++ reducer holds a reference to the group. Were it the last one, freeing the wrapper
    would run ~ProcessGroupGloo while holding the GIL: that joins gloo's worker thread, which may
    still need the GIL to free the tensor of the last all_reduce, and the process hangs (2 of 12
    torchrun exits on a 2-core machine). Collected here, the reducer lets the group go first, and
    destroy_process_group frees it through the Python binding, which drops the GIL.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()  # a wrapper caught in a reference cycle still holds the reducer
        dist.destroy_process_group()
