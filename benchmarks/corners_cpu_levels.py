"""Corner-family speed vs cv2 at the active CPU level, on the bench cases of
vision_ext/bench/cases/corners.py: medians of interleaved rounds (1 thread: per-thread CPU time,
more threads: wall time). Usage:
  PYTHONPATH=. python benchmarks/corners_cpu_levels.py THREADS
  VISION_EXT_CPU_CAPABILITY=avx2 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 \
  OPENCV_CPU_DISABLE=AVX512_SKX,AVX512_COMMON,AVX512_ICL PYTHONPATH=. python benchmarks/corners_cpu_levels.py THREADS"""
import statistics
import sys
import time

threads = int(sys.argv[1])
import torch, cv2
torch.set_num_threads(threads)
import vision_ext
from vision_ext.bench.cases.corners import cases
cv2.setNumThreads(threads)
want = ("min_eigen_response u8", "fast 9_16 t=10", "fast 9_16 t=20", "good_features_to_track", "harris_response u8")
clock = time.thread_time if threads == 1 else time.perf_counter
rows = []
for c in cases(False, "cpu"):
    if c.op not in want:
        continue
    args = c.setup()
    peer_name, peer = next((k, v) for k, v in c.peers.items() if k.startswith("cv2"))
    cv2.setNumThreads(threads)
    ours_out, peer_out = c.ours(*args), peer(*args)
    ok = c.matches(ours_out, peer_out) if c.matches else None
    budget = 0.6 if "512" in c.shape else 2.5
    n = 0; to, tp = [], []
    t_end = time.perf_counter() + budget
    while n < 7 or (time.perf_counter() < t_end and n < 400):
        a = clock(); c.ours(*args); to.append(clock() - a)
        a = clock(); peer(*args); tp.append(clock() - a)
        n += 1
    mo, mp = statistics.median(to), statistics.median(tp)
    rows.append(dict(case=c.op, shape=c.shape, level=vision_ext.build_info()["cpu_capability"],
                     threads=threads, ours_ms=mo * 1e3, cv2_ms=mp * 1e3, speedup=mp / mo, match=ok, rounds=n))
    r = rows[-1]
    print(f"{r['case']:24s} {r['shape']:15s} {r['level']:7s} t={threads} ours {r['ours_ms']:8.3f} ms  cv2 {r['cv2_ms']:8.3f} ms  x{r['speedup']:.2f}  match={ok}", flush=True)
