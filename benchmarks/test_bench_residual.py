"""Fused residual blocks and ResNets vs eager NCHW / channels_last / torch.compile (one run)."""
import pytest
from conftest import family_params, run_benchmark


def pytest_generate_tests(metafunc):
    if {"case", "impl"} <= set(metafunc.fixturenames):
        metafunc.parametrize("case,impl", family_params(metafunc.config, "residual"))


def test_residual(benchmark, case, impl):
    run_benchmark(benchmark, case, impl)
