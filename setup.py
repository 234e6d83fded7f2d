"""Build the vision_ext extension.

CPU kernels are always built. CUDA kernels are built when PyTorch has CUDA and
nvcc is found, or when FORCE_CUDA=1. TORCH_CUDA_ARCH_LIST is honoured by
torch.utils.cpp_extension. Use `pip install --no-build-isolation .` so that the
already-installed torch is used (build isolation would fetch another one).
"""
import glob
import os
import shutil

from setuptools import find_packages, setup

import torch
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension

ROOT = os.path.dirname(os.path.abspath(__file__))


def _rel(pattern):
    return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, pattern)))


def _want_cuda():
    if os.environ.get("FORCE_CUDA", "0") == "1":
        return True
    nvcc = CUDA_HOME is not None or shutil.which("nvcc") is not None
    return torch.version.cuda is not None and nvcc


def _extension():
    with_cuda = _want_cuda()
    sources = ["csrc/module.cpp"] + _rel("csrc/ops/*.cpp") + _rel("csrc/ops/cpu/*.cpp")
    cxx = ["-O3", "-std=c++20", "-fopenmp", "-Wall", "-Wno-unknown-pragmas"]
    if os.environ.get("VE_NATIVE", "1") == "1":
        # The CPU kernels are written to auto-vectorise; let them use the host ISA.
        cxx.append("-march=native")
    macros = []
    build_cls = CppExtension
    extra = {"cxx": cxx}
    if with_cuda:
        sources += _rel("csrc/ops/cuda/*.cpp") + _rel("csrc/kernels/cuda/*.cu")
        macros.append(("VE_WITH_CUDA", None))
        extra["nvcc"] = ["-O3", "-std=c++20", "--expt-relaxed-constexpr", "-lineinfo"]
        build_cls = CUDAExtension
    archs = os.environ.get("TORCH_CUDA_ARCH_LIST", "(torch default)")
    print(
        f"[vision_ext] building {'CPU + CUDA' if with_cuda else 'CPU only'}"
        f" | torch {torch.__version__} | CUDA archs: {archs if with_cuda else 'n/a'}"
        f" | {len(sources)} sources",
        flush=True,
    )
    return build_cls(
        name="vision_ext._C",
        sources=sources,
        include_dirs=[os.path.join(ROOT, "csrc", "include")],
        define_macros=macros,
        extra_compile_args=extra,
        extra_link_args=["-fopenmp"],
        py_limited_api=False,
    )


setup(
    name="vision_ext",
    version="0.1.0",
    packages=find_packages(include=["vision_ext", "vision_ext.*"]),
    ext_modules=[_extension()],
    cmdclass={"build_ext": BuildExtension.with_options(use_ninja=True)},
    entry_points={"console_scripts": ["vision-ext=vision_ext.cli:main"]},
    python_requires=">=3.10",
)
