"""pytest-benchmark: our fused DDPM step and add_noise next to diffusers, in one run, and the
schedulers' share of a 1000-step sampling loop (in each row's extra_info).

    PYTHONPATH=. python -m pytest benchmarks/test_bench_ddpm.py --benchmark-group-by=param:name
"""
import pytest
import torch

from vision_ext.bench.cases import ddpm as ddpm_cases

CASES = ddpm_cases.cases(quick=False, device="cpu")
# A measured case (the sampling loop) runs every implementation inside one measurement.
PARAMS = [pytest.param(c, impl, id=f"{c.name}-{impl}") for c in CASES
          for impl in (["vision_ext"] if c.measure else ["vision_ext", *c.peers])]


@pytest.mark.parametrize("case,impl", PARAMS)
def test_ddpm(benchmark, case, impl):
    args = case.args()
    if case.measure is not None:  # a whole sampling loop: measured once, its share of time reported
        figures = benchmark.pedantic(case.measure, args=args, rounds=1, iterations=1)
        benchmark.group = case.name
        benchmark.extra_info.update({f"{name}.{k}": v for name, figs in figures.items() for k, v in figs.items()})
        return
    fn = case.ours if impl == "vision_ext" else case.peers[impl]
    benchmark.group = case.name
    out = benchmark(fn, *args)
    if impl != "vision_ext":
        assert case.compare(case.ours(*args), out)
    assert torch.isfinite(out).all()
