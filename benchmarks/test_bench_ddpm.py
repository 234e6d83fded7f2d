"""pytest-benchmark: our fused DDPM step and add_noise next to diffusers, in one run.

    PYTHONPATH=. python -m pytest benchmarks/test_bench_ddpm.py --benchmark-group-by=param:name
"""
import pytest
import torch

from vision_ext.bench.cases import ddpm as ddpm_cases

CASES = ddpm_cases.cases(quick=False, device="cpu")
PARAMS = [pytest.param(c, impl, id=f"{c.name}-{impl}") for c in CASES for impl in ["vision_ext", *c.peers]]


@pytest.mark.parametrize("case,impl", PARAMS)
def test_ddpm(benchmark, case, impl):
    args = case.args()
    fn = case.ours if impl == "vision_ext" else case.peers[impl]
    benchmark.group = case.name
    out = benchmark(fn, *args)
    if impl != "vision_ext":
        assert case.compare(case.ours(*args), out)
    assert torch.isfinite(out).all()
