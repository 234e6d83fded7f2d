"""What this build of the extension contains, and the error a missing CUDA build gives."""
import torch

from vision_ext import _C

REBUILD_HINT = (
    "this vision_ext build has no CUDA kernels. Rebuild on a machine whose PyTorch has CUDA and "
    "nvcc on the PATH: `FORCE_CUDA=1 TORCH_CUDA_ARCH_LIST=<your arch, e.g. 9.0> "
    "pip install --no-build-isolation --force-reinstall .`, or move the tensors to the CPU."
)


# The active level, mirrored here so Python code (and torch.compile's tracing) reads it without an op call.
_active_level = torch.ops.vision_ext._cpu_capability()


def cpu_capability() -> str:
    """The level the CPU kernels run at now: "default", "avx2" or "avx512" (x86-64; "default" elsewhere)."""
    return _active_level


def set_cpu_capability(level: str) -> str:
    """Run the CPU kernels at `level` (one this CPU supports); returns the previous level.

    The environment variable VISION_EXT_CPU_CAPABILITY=default|avx2|avx512 sets the starting level
    (a level the CPU lacks falls back to the best it has)."""
    global _active_level
    previous = torch.ops.vision_ext._set_cpu_capability(level)
    _active_level = torch.ops.vision_ext._cpu_capability()
    return previous


def build_info() -> dict:
    """Build facts: CUDA kernels present, CPU levels compiled / supported / selected, threading, versions, ops."""
    flags = _C.build_flags()
    ops = sorted(n.split("::", 1)[1] for n in torch._C._dispatch_get_all_op_names()
                 if n.startswith("vision_ext::") and "cpu_capabilit" not in n)
    return {
        "version": "0.1.0",
        "cuda_kernels": bool(flags["cuda"]),
        "cuda_archs": torch.cuda.get_arch_list() if flags["cuda"] else [],
        "cpu_capability": cpu_capability(),
        "cpu_capabilities_compiled": list(torch.ops.vision_ext._cpu_capabilities_compiled()),
        "cpu_capabilities_supported": list(torch.ops.vision_ext._cpu_capabilities_supported()),
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "threads": torch.get_num_threads(),
        "ops": ops,
    }


def has_cuda_kernels() -> bool:
    return bool(_C.build_flags()["cuda"])


def register_cuda_missing(qualname: str) -> None:
    """In a CPU-only build, make a CUDA call of `qualname` fail with the rebuild hint."""
    if has_cuda_kernels():
        return

    def _missing(*args, **kwargs):
        raise RuntimeError(f"{qualname}: got a CUDA tensor, but {REBUILD_HINT}")

    torch.library.impl(qualname, "CUDA")(_missing)
