"""Winograd or oneDNN for one CPU conv, chosen by measuring both once (as cudnn.benchmark does).

Which kernel wins depends on the layer's shape, the thread count and the CPU level (our Winograd
kernel's register tile is per level; oneDNN has its own ISA paths), so nothing is assumed: the first
call at a new (kind, shapes, layout, threads, level) times both candidates on that very input and
the faster one serves every later call. ``VISION_EXT_CONV_AUTOTUNE=0`` (or
``set_conv_autotune(False)``) replaces the measurement by a fixed rule: Winograd for every eligible
layer (fp32, 3x3 stride 1, >= 64 channels in and out). Under torch.compile a choice already
measured is used; an unmeasured one follows the rule. `kernel_wins` is the same measurement for any
pair of kernels (the small-head attention against ATen's, vision_ext/ops/attention.py). Training
always follows the rule: a measured choice can differ between two processes, and a resumed run must
equal an uninterrupted one bit for bit.
"""
import os
import time
from typing import Callable, Dict, Tuple

import torch

_choices: Dict[Tuple, bool] = {}
_enabled = os.environ.get("VISION_EXT_CONV_AUTOTUNE", "1") != "0"

_ROUNDS = 3


def set_conv_autotune(enabled: bool) -> bool:
    """Measure Winograd against oneDNN per layer (True, the default) or follow the fixed rule; returns
    the previous setting. Turning it off or on forgets the choices measured so far."""
    global _enabled
    previous, _enabled = _enabled, bool(enabled)
    _choices.clear()
    return previous


def conv_choices() -> Dict[Tuple, bool]:
    """The measured choices so far: key -> True where Winograd won (a copy, for inspection)."""
    return dict(_choices)


@torch.compiler.assume_constant_result
def _machine() -> Tuple[int, str]:
    """(threads, CPU level): part of every key; a constant of the graph under torch.compile."""
    from vision_ext import _build

    return torch.get_num_threads(), _build.cpu_capability()


def _key(kind: str, x: torch.Tensor, conv: torch.nn.Module, residual) -> Tuple:
    return (kind, tuple(x.shape), x.is_contiguous(memory_format=torch.channels_last), conv.out_channels,
            conv.padding[0], residual is not None)


def _best_time(fn: Callable[[], object]) -> float:
    fn()  # warm-up: first-touch allocations, oneDNN's primitive cache
    best = float("inf")
    for _ in range(_ROUNDS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def kernel_wins(key: Tuple, ours: Callable[[], object], peer: Callable[[], object]) -> bool:
    """Whether `ours()` beats `peer()` (two kernels computing the same thing on the same inputs) for `key`,
    extended by the thread count and CPU level; measured on the first call with a new key, then cached.
    With autotuning off, or an unmeasured key under torch.compile: True (the fixed rule takes ours)."""
    if not _enabled:
        return True
    key = tuple(key) + _machine()
    choice = _choices.get(key)
    if choice is None:
        if torch.compiler.is_compiling():
            return True
        # Interleaved rounds, best of each, so a burst of load on a shared machine hits both alike.
        o, p = [], []
        for _ in range(2):
            o.append(_best_time(ours))
            p.append(_best_time(peer))
        choice = _choices[key] = min(o) < min(p)
    return choice


def winograd_wins(kind: str, x: torch.Tensor, conv: torch.nn.Module, residual,
                  winograd: Callable[[], object], onednn: Callable[[], object]) -> bool:
    """Whether `winograd()` beats `onednn()` for this call's configuration (both compute the same conv on
    the same inputs); measured on the first call with a new key, then cached."""
    return kernel_wins(_key(kind, x, conv, residual), winograd, onednn)
