"""Op contracts: one module per family in csrc/ops/<family>.cpp, each adding
public wrappers, fake kernels and autograd to torch.ops.vision_ext.<op>."""
from vision_ext._discover import import_submodules

import_submodules(__name__, __path__)
