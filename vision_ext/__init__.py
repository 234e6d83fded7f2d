"""vision_ext: C++/CUDA kernels for classic computer vision and the networks around it.

Importing the package loads the compiled extension, which registers every op
under ``torch.ops.vision_ext``; the Python modules then add fake kernels,
autograd and the user-facing API on top.
"""
import torch  # noqa: F401  (the extension links against libtorch)

from vision_ext import _C  # noqa: F401  (registers torch.ops.vision_ext.*)
from vision_ext._build import build_info, cpu_capability, set_cpu_capability
from vision_ext import ops  # noqa: F401  (fake kernels, autograd, CPU-only CUDA errors)
from vision_ext import nn, models  # noqa: F401
from vision_ext import diffusion  # noqa: F401
from vision_ext import features  # noqa: F401
from vision_ext import sd  # noqa: F401

__all__ = ["build_info", "cpu_capability", "set_cpu_capability", "ops", "nn", "models", "diffusion", "features",
           "sd"]
__version__ = "0.1.0"
