"""Shared test matrix: devices (CUDA skipped when absent, never queried at import),
dtype tolerances, and real images from skimage.data."""
import os
import tempfile

# torch.compile's on-disk kernel cache, private to this test session: a cache shared with other builds
# and runs on the machine (other CPU levels, sanitizer builds) once handed a test a kernel that crashed.
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="vision_ext_inductor_"))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

# (rtol, atol) per dtype, after kornia's table.
TOLERANCES = {
    torch.float64: (1e-7, 1e-7),
    torch.float32: (1e-4, 1e-5),
    torch.float16: (1e-3, 1e-3),
    torch.bfloat16: (7.8e-3, 7.8e-3),
}


def tol(dtype):
    rtol, atol = TOLERANCES[dtype]
    return {"rtol": rtol, "atol": atol}


def _cuda_ready():
    import vision_ext

    return torch.cuda.is_available() and vision_ext.build_info()["cuda_kernels"]


def cpu_and_cuda():
    """Parametrize values for a `device` argument; the CUDA case skips itself when unusable."""
    return [
        pytest.param("cpu", id="cpu"),
        pytest.param("cuda", id="cuda", marks=pytest.mark.cuda),
    ]


def pytest_collection_modifyitems(config, items):
    skip = None
    for item in items:
        if "cuda" in item.keywords:
            if skip is None:
                skip = pytest.mark.skip(reason="no CUDA device, or vision_ext built without CUDA kernels") \
                    if not _cuda_ready() else False
            if skip:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)
    np.random.seed(0)


@pytest.fixture(scope="session")
def camera():
    """512x512 uint8 grayscale photograph (skimage.data.camera)."""
    from skimage import data

    return data.camera()


@pytest.fixture(scope="session")
def astronaut():
    """512x512x3 uint8 colour photograph (skimage.data.astronaut)."""
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def checkerboard():
    """200x200 uint8 checkerboard (skimage.data.checkerboard): sharp corners."""
    from skimage import data

    return data.checkerboard()


def cpu_levels():
    """Every CPU kernel level this machine can run ("default", "avx2", "avx512" on x86-64)."""
    import vision_ext

    return vision_ext.build_info()["cpu_capabilities_supported"]


class at_cpu_level:
    """Run the CPU kernels at `level` inside the block, then restore the previous level."""

    def __init__(self, level):
        self.level = level

    def __enter__(self):
        import vision_ext

        self.previous = vision_ext.set_cpu_capability(self.level)

    def __exit__(self, *exc):
        import vision_ext

        vision_ext.set_cpu_capability(self.previous)


def run_at_every_level(fn):
    """{level: fn()} for every runnable CPU level (outputs to compare across levels)."""
    out = {}
    for level in cpu_levels():
        with at_cpu_level(level):
            out[level] = fn()
    return out
