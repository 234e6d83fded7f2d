"""Residual family on the CPU at the avx512 and avx2 levels (peers capped to AVX2 there, as PORTING
notes say): resnet18-CIFAR training step (batch 32) ours vs eager torch, and bn_add_relu fwd+bwd vs
F.batch_norm + add + relu. Interleaved rounds, medians of CPU time (time.thread_time with 1 thread,
time.process_time, all threads, with 2) and of wall time.

    python benchmarks/residual_cpu_levels.py [--rounds 5] [--bn-only]

Each (level, threads) runs in its own process: the caps must be set before torch is imported.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

AVX2_CAPS = {"VISION_EXT_CPU_CAPABILITY": "avx2", "ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
             "OPENCV_CPU_DISABLE": "AVX512_SKX,AVX512_COMMON,AVX512_ICL"}
AVX512 = {"VISION_EXT_CPU_CAPABILITY": "avx512"}


def child(threads, rounds, bn_only=False):
    import time

    import torch
    import torch.nn.functional as F

    import vision_ext
    from vision_ext import models
    from vision_ext.bench.cases.residual import _train_step_case
    from vision_ext.ops import residual as R

    torch.set_num_threads(threads)
    cpu_clock = time.thread_time if threads == 1 else time.process_time
    train = _train_step_case("train", (32, 3, 32, 32), lambda: models.resnet18(10, cifar_stem=True), "cpu")
    x = torch.randn(32, 64, 32, 32)
    res, g = torch.randn_like(x), torch.randn_like(x)
    w, b = torch.rand(64) + 0.5, torch.randn(64)

    def bn_ours(inp):
        xi, ri = inp.detach().requires_grad_(), res.requires_grad_()
        out, _, _ = R.bn_add_relu(xi, w, b, ri)
        out.backward(g)

    def bn_torch(inp):
        xi, ri = inp.detach().requires_grad_(), res.requires_grad_()
        out = torch.relu(F.batch_norm(xi, None, None, w, b, training=True) + ri)
        out.backward(g)

    xcl = x.contiguous(memory_format=torch.channels_last)
    fns = {
        "train ours": lambda: train.ours(None),
        "train eager NCHW": lambda: train.peers["eager NCHW"](None),
        "bn fwd+bwd ours NCHW": lambda: bn_ours(x),
        "bn fwd+bwd torch NCHW": lambda: bn_torch(x),
        "bn fwd+bwd ours NHWC": lambda: bn_ours(xcl),
        "bn fwd+bwd torch NHWC": lambda: bn_torch(xcl),
    }
    if bn_only:
        fns = {k: f for k, f in fns.items() if not k.startswith("train")}
    reps = {k: (1 if k.startswith("train") else 10) for k in fns}
    for f in fns.values():
        f()  # warm-up: allocator, oneDNN primitives
    cpu, wall = {k: [] for k in fns}, {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            c0, w0 = cpu_clock(), time.perf_counter()
            for _ in range(reps[k]):
                f()
            cpu[k].append((cpu_clock() - c0) / reps[k])
            wall[k].append((time.perf_counter() - w0) / reps[k])
    print(json.dumps({"level": vision_ext.cpu_capability(), "aten": torch.backends.cpu.get_cpu_capability(),
                      "cpu_ms": {k: statistics.median(v) * 1e3 for k, v in cpu.items()},
                      "wall_ms": {k: statistics.median(v) * 1e3 for k, v in wall.items()}}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--bn-only", action="store_true", help="only bn_add_relu fwd+bwd (skip the train step)")
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        return child(a.child, a.rounds, a.bn_only)
    rows = []
    for name, env in (("avx512", AVX512), ("avx2", AVX2_CAPS)):
        for threads in (1, 2):
            out = subprocess.run([sys.executable, __file__, "--child", str(threads), "--rounds", str(a.rounds)]
                                 + (["--bn-only"] if a.bn_only else []),
                                 env=dict(os.environ, **env), check=True, capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            rows.append((name, threads, r))
    print("| level (ours / ATen) | threads | case | CPU ms | wall ms | ours/peer (CPU) |")
    print("|---|---|---|---|---|---|")
    for name, threads, r in rows:
        for k, v in r["cpu_ms"].items():
            peer = k.replace("ours", "torch").replace("train torch", "train eager NCHW")
            ratio = f"{v / r['cpu_ms'][peer]:.2f}" if "ours" in k else ""
            print(f"| {r['level']} / {r['aten']} | {threads} | {k} | {v:.2f} | {r['wall_ms'][k]:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
