"""pytest-benchmark over the shared cases in vision_ext/bench/cases: each case becomes a
group with `ours` and every peer side by side, so one run gives the ratios.

  pytest benchmarks --benchmark-only                  # full CPU suite
  pytest benchmarks --benchmark-only --bench-quick    # small shapes
  pytest benchmarks --benchmark-only --bench-device cuda
"""
import pytest
import torch

from vision_ext.bench.core import collect_cases


def pytest_addoption(parser):
    parser.addoption("--bench-quick", action="store_true", help="small shapes (vision-ext bench --quick)")
    parser.addoption("--bench-device", default="cpu", choices=["cpu", "cuda"])


def family_params(config, family):
    """(case, implementation name) pairs of one op family, as pytest params."""
    device = config.getoption("--bench-device")
    if device == "cuda" and not torch.cuda.is_available():
        return [pytest.param(None, None, marks=pytest.mark.skip(reason="no CUDA device"))]
    params = []
    for case in collect_cases(config.getoption("--bench-quick"), device, [family]):
        for impl in ["ours", *case.peers]:
            params.append(pytest.param(case, impl, id=f"{case.op}-{case.shape}-{impl}".replace(" ", "_")))
    return params


def run_benchmark(benchmark, case, impl):
    fn = case.ours if impl == "ours" else case.peers[impl]
    args = case.args()
    benchmark.group = f"{case.op} {case.shape} {case.device}"
    with torch.set_grad_enabled(case.needs_grad):
        if case.device == "cuda":
            def timed(*a):
                out = fn(*a)
                torch.cuda.synchronize()
                return out
        else:
            timed = fn
        out = benchmark(timed, *args)
        if impl != "ours":
            assert case.compare(case.ours(*args), out), f"{impl} output differs from ours"
