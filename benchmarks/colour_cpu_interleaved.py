"""Colour ops vs their cv2 peers on the CPU (issue 12), interleaved rounds (median of 15):
python benchmarks/colour_cpu_interleaved.py THREADS [grad,u8,joint,f32]. One thread: per-thread CPU
time (time.thread_time); more: wall time. Shapes: the histograms on 32x3x512x512 (the issue's floor),
the gradient on 2x3x512x512 (vision-ext bench --quick). For the AVX2 column set, before Python starts,
VISION_EXT_CPU_CAPABILITY=avx2 ATEN_CPU_CAPABILITY=avx2 OPENCV_CPU_DISABLE=<vision_ext/bench/cpu_level.py's
AVX-512 list> (docs/ARCHITECTURE.md)."""
import statistics
import sys
import time

import cv2
import numpy as np
import torch

import vision_ext  # noqa: F401  (registers the ops)
from vision_ext.bench.cases import colour as cc

threads = int(sys.argv[1])
which = sys.argv[2].split(",") if len(sys.argv) > 2 else None
torch.set_num_threads(threads)
cv2.setNumThreads(threads)
clock = time.thread_time if threads == 1 else time.perf_counter
ops = torch.ops.vision_ext
x32 = cc._batch(32)
t32 = torch.from_numpy(x32)
f32 = x32.astype(np.float32) / 255
tf32 = torch.from_numpy(f32)
hwc = np.ascontiguousarray(x32.transpose(0, 2, 3, 1))
g = cc._batch(2)
tg = torch.from_numpy(g)
cases = {
    "grad": (lambda: ops.color_gradient(tg, 3), lambda: cc._gradient_cv2(g)),
    "u8": (lambda: ops.color_histogram(t32, [256] * 3, [0.0] * 3, [256.0] * 3, None, False, 0),
           lambda: cc._calchist_loop(x32, 256, 0, 256)),
    "joint": (lambda: ops.color_histogram(t32, [8] * 3, [0.0] * 3, [256.0] * 3, None, True, 0),
              lambda: [cv2.calcHist([i], [0, 1, 2], None, [8] * 3, [0, 256] * 3) for i in hwc]),
    "f32": (lambda: ops.color_histogram(tf32, [64] * 3, [0.0] * 3, [1.0] * 3, None, False, 0),
            lambda: cc._calchist_loop(f32, 64, 0, 1)),
}
for name, (ours, peer) in cases.items():
    if which and name not in which:
        continue
    ours()
    peer()
    to, tp = [], []
    for _ in range(15):
        for f, acc in ((ours, to), (peer, tp)):
            t0 = clock()
            f()
            acc.append(clock() - t0)
    mo, mp = statistics.median(to) * 1e3, statistics.median(tp) * 1e3
    print(f"{vision_ext.build_info()['cpu_capability']:7s} t={threads} {name:6s} ours {mo:8.2f} ms  "
          f"peer {mp:8.2f} ms  ratio {mp / mo:5.2f}x", flush=True)
