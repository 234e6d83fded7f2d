"""pytest-benchmark: corner / keypoint ops next to OpenCV (same thread count), kornia and
scikit-image, one group per case so one run gives the ratios.

    PYTHONPATH=. python -m pytest benchmarks/test_bench_corners.py --benchmark-only
    VE_BENCH_QUICK=1 PYTHONPATH=. python -m pytest benchmarks/test_bench_corners.py --benchmark-only
"""
import os

import pytest
import torch

from vision_ext.bench.cases import corners as corner_cases

QUICK = os.environ.get("VE_BENCH_QUICK", "0") == "1"
CASES = corner_cases.cases(quick=QUICK, device="cpu")  # also sets cv2.setNumThreads(torch.get_num_threads())
PARAMS = [pytest.param(c, impl, id=f"{c.name}-{impl}".replace(" ", "_")) for c in CASES
          for impl in ["vision_ext", *c.peers]]


@pytest.mark.parametrize("case,impl", PARAMS)
def test_corners(benchmark, case, impl):
    args = case.args()
    fn = case.ours if impl == "vision_ext" else case.peers[impl]
    benchmark.group = f"{case.op} {case.shape}"
    out = benchmark(fn, *args)
    if impl != "vision_ext" and impl.startswith("cv2"):
        # OpenCV is the exactness oracle: its output must match ours in every timed case.
        assert case.compare(case.ours(*args), out)
