"""Fuzz settings and the sandbox fixture, imported by each fuzz module (a conftest.py here would shadow
tests/conftest.py, which other test modules import by name). Fixed seeds and few examples in CI;
`make fuzz` (VE_FUZZ_EXAMPLES) runs many more."""
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "vision_ext", max_examples=int(os.environ.get("VE_FUZZ_EXAMPLES", "30")), derandomize=True, database=None,
    deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("vision_ext")


@pytest.fixture(scope="module")
def sandbox():
    from sandbox import SANDBOX

    yield SANDBOX
    SANDBOX.close()
