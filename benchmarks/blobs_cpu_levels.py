"""Blob-family speed vs scikit-image at the active CPU level, on the bench cases of
vision_ext/bench/cases/blobs.py (camera 512x512): medians of interleaved rounds (1 thread:
per-thread CPU time, more threads: wall time; scikit-image is single-threaded). Few rounds:
skimage's blob_log takes seconds. Usage:
  PYTHONPATH=. python benchmarks/blobs_cpu_levels.py THREADS [ROUNDS]
  VISION_EXT_CPU_CAPABILITY=avx2 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 \
  PYTHONPATH=. python benchmarks/blobs_cpu_levels.py THREADS"""
import statistics
import sys
import time

threads = int(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
import torch

torch.set_num_threads(threads)
import vision_ext
from vision_ext.bench.cases.blobs import cases

clock = time.thread_time if threads == 1 else time.perf_counter
for c in cases(True, "cpu"):
    args = c.setup()
    peer_name, peer = next(iter(c.peers.items()))
    ok = c.matches(c.ours(*args), peer(*args))
    to, tp = [], []
    for _ in range(rounds):
        a = clock(); c.ours(*args); to.append(clock() - a)
        a = clock(); peer(*args); tp.append(clock() - a)
    mo, mp = statistics.median(to), statistics.median(tp)
    print(f"{c.op:28s} {c.shape:15s} {vision_ext.build_info()['cpu_capability']:7s} t={threads} "
          f"ours {mo * 1e3:9.2f} ms  {peer_name} {mp * 1e3:9.2f} ms  x{mp / mo:.2f}  matches={ok}", flush=True)
