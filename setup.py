"""Build the vision_ext extension.

CPU kernels are always built. CUDA kernels are built when PyTorch has CUDA and
nvcc is found, or when FORCE_CUDA=1. TORCH_CUDA_ARCH_LIST is honoured by
torch.utils.cpp_extension. Use `pip install --no-build-isolation .` so that the
already-installed torch is used (build isolation would fetch another one).
"""
import concurrent.futures
import glob
import os
import platform
import shlex
import shutil
import subprocess

from setuptools import find_packages, setup

import torch
from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension

ROOT = os.path.dirname(os.path.abspath(__file__))


def _rel(pattern):
    return sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, pattern)))


# Runtime CPU dispatch (docs/ARCHITECTURE.md): every csrc/ops/cpu/simd/*.cpp is compiled once per
# level into its own namespace; the baseline sources get no ISA flags, so the library loads on any
# CPU of its architecture and picks the best level at run time.
_X86_LEVELS = [
    ("base", []),
    ("avx2", ["-mavx2", "-mfma", "-mf16c", "-mbmi", "-mbmi2", "-mpopcnt", "-mlzcnt"]),
    ("avx512", ["-mavx2", "-mfma", "-mf16c", "-mbmi", "-mbmi2", "-mpopcnt", "-mlzcnt",
                "-mavx512f", "-mavx512bw", "-mavx512dq", "-mavx512vl"]),
]
_LEVEL_FLAGS = ["-O3", "-std=c++20", "-fPIC", "-fvisibility=hidden", "-ffp-contract=off", "-fno-math-errno",
                "-fopenmp-simd", "-Wall", "-Wno-unknown-pragmas"]


def cpu_levels():
    """(namespace, flags) of every level this architecture builds."""
    machine = platform.machine().lower()
    return _X86_LEVELS if machine in ("x86_64", "amd64") else [("base", [])]


def _stale(obj, dep):
    if not (os.path.exists(obj) and os.path.exists(dep)):
        return True
    with open(dep) as f:
        inputs = shlex.split(f.read().replace("\\\n", " ").split(":", 1)[1])
    built = os.path.getmtime(obj)
    return any(not os.path.exists(i) or os.path.getmtime(i) > built for i in inputs)


def _foreign_weak_symbols(obj, namespace):
    """Weak (mergeable) symbols of a level's object outside its namespace. The linker keeps one copy
    of each, possibly the AVX-512 one, for every caller: such a symbol could crash another CPU."""
    out = subprocess.run(["nm", "-C", "--defined-only", obj], check=True, capture_output=True, text=True).stdout
    mine = f"vision_ext::cpu::{namespace}::"
    bad = []
    for line in out.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[1] in ("W", "V", "u") and mine not in parts[2]:
            bad.append(parts[2])
    return bad


def compile_cpu_levels(build_dir, jobs):
    """Compile the per-level kernel sources; returns the object files (fails on a shared weak symbol)."""
    cxx = shlex.split(os.environ.get("CXX", "c++"))
    includes = ["-I" + os.path.join(ROOT, "csrc", "include")]
    tasks = []
    for namespace, flags in cpu_levels():
        for src in _rel("csrc/ops/cpu/simd/*.cpp"):
            obj = os.path.join(build_dir, namespace, os.path.basename(src)[:-4] + ".o")
            tasks.append((namespace, src, obj, cxx + _LEVEL_FLAGS + flags + includes +
                          [f"-DVE_CPU_NS={namespace}", "-MMD", "-MF", obj + ".d", "-c", src, "-o", obj]))

    def build(task):
        namespace, src, obj, cmd = task
        if _stale(obj, obj + ".d"):
            os.makedirs(os.path.dirname(obj), exist_ok=True)
            print(f"[vision_ext] {namespace:6s} {src}", flush=True)
            subprocess.run(cmd, check=True, cwd=ROOT)
        bad = _foreign_weak_symbols(obj, namespace)
        if bad:
            raise RuntimeError(f"{src} ({namespace}) defines weak symbols outside vision_ext::cpu::{namespace}, "
                               "which the linker may share with code built for another CPU: " + "; ".join(bad[:8]))
        return obj

    with concurrent.futures.ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(build, tasks))


def _want_cuda():
    if os.environ.get("FORCE_CUDA", "0") == "1":
        return True
    nvcc = CUDA_HOME is not None or shutil.which("nvcc") is not None
    return torch.version.cuda is not None and nvcc


def _extension():
    with_cuda = _want_cuda()
    sources = ["csrc/module.cpp"] + _rel("csrc/ops/*.cpp") + _rel("csrc/ops/cpu/*.cpp")
    cxx = ["-O3", "-std=c++20", "-fopenmp", "-Wall", "-Wno-unknown-pragmas"]
    if os.environ.get("VE_NATIVE", "0") == "1":
        # Opt-in: the glue for this host's ISA (the library then runs only on CPUs like it).
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
        f" | {len(sources)} sources | CPU levels: {', '.join(n for n, _ in cpu_levels())}",
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


class _BuildExt(BuildExtension.with_options(use_ninja=True)):
    """torch's build, after the per-level CPU kernel objects (compiled here: one source, several flags)."""

    def build_extensions(self):
        jobs = int(os.environ.get("MAX_JOBS", os.cpu_count() or 1))
        objects = compile_cpu_levels(os.path.join(os.path.abspath(self.build_temp), "cpu_levels"), jobs)
        for ext in self.extensions:
            ext.extra_objects = list(ext.extra_objects or []) + objects
        super().build_extensions()


setup(
    name="vision_ext",
    version="0.1.0",
    packages=find_packages(include=["vision_ext", "vision_ext.*"]),
    ext_modules=[_extension()],
    cmdclass={"build_ext": _BuildExt},
    entry_points={"console_scripts": ["vision-ext=vision_ext.cli:main"]},
    python_requires=">=3.10",
)
