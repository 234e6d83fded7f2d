"""Peer-comparison benchmark cases, shared by `vision-ext bench` and benchmarks/ (pytest-benchmark)."""
from vision_ext.bench.core import Case, collect_cases, time_interleaved

__all__ = ["Case", "collect_cases", "time_interleaved"]
