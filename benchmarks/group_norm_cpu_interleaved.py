"""Fused GroupNorm + SiLU vs F.silu(F.group_norm(x)) on the CPU, interleaved rounds (median of 7):
python benchmarks/group_norm_cpu_interleaved.py THREADS [SHAPES], SHAPES e.g. 2x512x32x32,2x128x256x256
(default 2x320x64x64,2x640x32x32). One thread: per-thread CPU time
(time.thread_time); more: wall time. For the AVX2 column set, before Python starts,
VISION_EXT_CPU_CAPABILITY=avx2 ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 (docs/ARCHITECTURE.md)."""
import statistics
import sys
import time

import torch
import torch.nn.functional as F

nt = int(sys.argv[1])
torch.set_num_threads(nt)
import vision_ext  # noqa: E402
from vision_ext.ops.norm import group_norm  # noqa: E402

clock = time.thread_time if nt == 1 else time.perf_counter


def timed(f, reps):
    f()
    t0 = clock()
    for _ in range(reps):
        f()
    return (clock() - t0) / reps


def train(fn, x, w, b, g):
    def step():
        for t in (x, w, b):
            t.grad = None
        fn(x, w, b).backward(g)
    return step


print("level", vision_ext.build_info()["cpu_capability"], "aten", torch.backends.cpu.get_cpu_capability(),
      "threads", nt)
shapes = sys.argv[2] if len(sys.argv) > 2 else "2x320x64x64,2x640x32x32"
for shape in [tuple(int(v) for v in s.split("x")) for s in shapes.split(",")]:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen)
    w, b, g = torch.randn(shape[1], generator=gen), torch.randn(shape[1], generator=gen), torch.randn(shape)
    xcl = x.contiguous(memory_format=torch.channels_last)
    ours = lambda x, w, b: group_norm(x, 32, w, b, 1e-5, "silu")  # noqa: E731
    eager = lambda x, w, b: F.silu(F.group_norm(x, 32, w, b, 1e-5))  # noqa: E731
    xr, wr, br = (t.clone().requires_grad_(True) for t in (x, w, b))
    fs = {"fwd NCHW": (lambda: ours(x, w, b), lambda: eager(x, w, b)),
          "fwd channels_last": (lambda: ours(xcl, w, b), lambda: eager(xcl, w, b)),
          "fwd+bwd NCHW": (train(ours, xr, wr, br, g), train(eager, xr, wr, br, g))}
    with torch.no_grad():
        assert torch.allclose(ours(x, w, b), eager(x, w, b), rtol=1e-4, atol=1e-4)
    for name, (fo, fe) in fs.items():
        ro, re = [], []
        for _ in range(7):
            ro.append(timed(fo, 5))
            re.append(timed(fe, 5))
        mo, me = statistics.median(ro), statistics.median(re)
        print(f"{'x'.join(map(str, shape))} {name:18s} ours {mo * 1e3:7.2f} ms  eager {me * 1e3:7.2f} ms  x{me / mo:.2f}")
