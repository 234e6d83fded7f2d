"""Fuzz settings: fixed seeds and few examples in CI; `make fuzz` (VE_FUZZ_EXAMPLES) runs many more."""
import os
import sys

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, os.path.dirname(__file__))

settings.register_profile(
    "vision_ext", max_examples=int(os.environ.get("VE_FUZZ_EXAMPLES", "30")), derandomize=True, database=None,
    deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("vision_ext")


@pytest.fixture(scope="session")
def sandbox():
    from sandbox import SANDBOX

    yield SANDBOX
    SANDBOX.close()
