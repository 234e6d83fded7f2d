"""One op family's bench cases (vision_ext/bench/cases/FAMILY.py) at the active CPU level, ours vs
each case's first peer: medians of interleaved rounds (1 thread: per-thread CPU time, steady on a
shared machine; more threads: wall time). Usage:
  PYTHONPATH=. python benchmarks/family_cpu_interleaved.py FAMILY THREADS [--quick] [--rounds N] [--seconds S]
  VISION_EXT_CPU_CAPABILITY=avx2 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 \
    PYTHONPATH=. python benchmarks/family_cpu_interleaved.py contours 1
At least ROUNDS rounds (default 7), more while under SECONDS (default 2) of wall time, at most 200."""
import argparse
import importlib
import statistics
import time

ap = argparse.ArgumentParser()
ap.add_argument("family", help="a module of vision_ext/bench/cases, e.g. blobs, contours, texture")
ap.add_argument("threads", type=int)
ap.add_argument("--quick", action="store_true", help="the family's --quick cases")
ap.add_argument("--rounds", type=int, default=7)
ap.add_argument("--seconds", type=float, default=2.0)
a = ap.parse_args()

import torch  # noqa: E402

torch.set_num_threads(a.threads)
import vision_ext  # noqa: E402

cases = importlib.import_module(f"vision_ext.bench.cases.{a.family}").cases
clock = time.thread_time if a.threads == 1 else time.perf_counter
for c in cases(a.quick, "cpu"):
    args = c.args()
    peer_name, peer = next(iter(c.peers.items()))
    ok = c.compare(c.ours(*args), peer(*args))
    to, tp = [], []
    t_end = time.perf_counter() + a.seconds
    while len(to) < a.rounds or (time.perf_counter() < t_end and len(to) < 200):
        t0 = clock(); c.ours(*args); to.append(clock() - t0)
        t0 = clock(); peer(*args); tp.append(clock() - t0)
    mo, mp = statistics.median(to), statistics.median(tp)
    print(f"{c.op:30s} {c.shape:28s} {vision_ext.cpu_capability():7s} t={a.threads} ours {mo * 1e3:9.3f} ms  "
          f"{peer_name} {mp * 1e3:9.3f} ms  x{mp / mo:.2f}  match={ok} rounds={len(to)}", flush=True)
