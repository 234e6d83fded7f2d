"""find_contours speed vs skimage.measure.find_contours at the active CPU level, on the bench cases of
vision_ext/bench/cases/contours.py: medians of interleaved rounds (1 thread: per-thread CPU time,
more threads: wall time; skimage is single-threaded Cython + Python either way). Usage:
  PYTHONPATH=. python benchmarks/contours_cpu_levels.py THREADS
  VISION_EXT_CPU_CAPABILITY=avx2 ATEN_CPU_CAPABILITY=avx2 PYTHONPATH=. python benchmarks/contours_cpu_levels.py THREADS"""
import statistics
import sys
import time

threads = int(sys.argv[1])
import torch  # noqa: E402

torch.set_num_threads(threads)
import vision_ext  # noqa: E402
from vision_ext.bench.cases.contours import cases  # noqa: E402

clock = time.thread_time if threads == 1 else time.perf_counter
for c in cases(False, "cpu"):
    args = c.setup()
    peer_name, peer = next(iter(c.peers.items()))
    ok = c.matches(c.ours(*args), peer(*args))
    to, tp = [], []
    t_end = time.perf_counter() + 2.0
    while len(to) < 7 or (time.perf_counter() < t_end and len(to) < 200):
        a = clock(); c.ours(*args); to.append(clock() - a)
        a = clock(); peer(*args); tp.append(clock() - a)
    mo, mp = statistics.median(to), statistics.median(tp)
    print(f"{c.op} {c.shape:28s} {vision_ext.cpu_capability():7s} t={threads} ours {mo * 1e3:8.3f} ms  "
          f"{peer_name} {mp * 1e3:8.3f} ms  x{mp / mo:.1f}  match={ok} rounds={len(to)}", flush=True)
