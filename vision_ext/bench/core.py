"""Benchmark cases and a small timer.

A family adds `vision_ext/bench/cases/<family>.py` with
`cases(quick: bool, device: str) -> list[Case]`; nothing else to register.
"""
import dataclasses
import statistics
import time
from typing import Callable, Dict, List, Optional

import torch

from vision_ext._discover import import_submodules


@dataclasses.dataclass
class Case:
    """One operation at one shape: our callable and the peers' callables.

    `setup` (optional) builds the inputs lazily and returns the positional args
    passed to every callable, so that listing cases is cheap. `matches(ours, peer)`
    says whether two outputs agree; the default compares tensors with allclose.
    """

    op: str
    shape: str
    device: str
    ours: Callable
    peers: Dict[str, Callable]
    setup: Optional[Callable[[], tuple]] = None
    matches: Optional[Callable] = None
    family: str = ""
    rtol: float = 1e-4
    atol: float = 1e-4
    needs_grad: bool = False  # training-step cases run with autograd on
    # For figures that are not a per-call time (e.g. the scheduler's share of a whole sampling loop):
    # measure(*args) -> {"ours": {"seconds": s, metric: value, ...}, peer: {...}} replaces the timer,
    # runs once, and its other metrics are reported beside the times.
    measure: Optional[Callable[..., Dict[str, Dict[str, float]]]] = None

    @property
    def name(self) -> str:
        return f"{self.op}[{self.shape},{self.device}]"

    def args(self) -> tuple:
        return self.setup() if self.setup else ()

    def compare(self, ours_out, peer_out) -> bool:
        if self.matches is not None:
            return bool(self.matches(ours_out, peer_out))
        return _allclose(ours_out, peer_out, self.rtol, self.atol)


def _allclose(a, b, rtol, atol) -> bool:
    """Same shape, and relative error ||a - b|| / ||b|| <= rtol (or every element within atol)."""
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_allclose(x, y, rtol, atol) for x, y in zip(a, b))
    a = torch.as_tensor(a).detach().double().cpu()
    b = torch.as_tensor(b).detach().double().cpu()
    if a.shape != b.shape:
        return False
    return bool((a - b).abs().max() <= atol) or bool((a - b).norm() <= rtol * b.norm())


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def time_interleaved(fns: Dict[str, Callable], args: tuple, device: str, min_time: float = 0.2,
                     rounds: int = 5, warmup: int = 3) -> Dict[str, float]:
    """Median seconds per call of each callable, timed in alternating rounds.

    On a shared machine the load drifts; alternating ours and the peers round by round
    exposes every callable to the same drift, so ratios stay honest.
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn(*args)
    _sync(device)
    samples: Dict[str, List[float]] = {name: [] for name in fns}
    per_round = min_time / rounds
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                fn(*args)
                _sync(device)
                samples[name].append(time.perf_counter() - t0)
                if time.perf_counter() - start >= per_round or len(samples[name]) >= 400:
                    break
    return {name: statistics.median(v) for name, v in samples.items()}


def collect_cases(quick: bool, device: str, families=None) -> List[Case]:
    from vision_ext.bench import cases as pkg

    out: List[Case] = []
    for module in import_submodules(pkg.__name__, pkg.__path__):
        family = module.__name__.rsplit(".", 1)[1]
        if families and family not in families:
            continue
        for case in module.cases(quick=quick, device=device):
            case.family = family
            out.append(case)
    return out
