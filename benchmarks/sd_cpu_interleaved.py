"""Stable Diffusion CPU timings, ours vs diffusers with the same weights, interleaved rounds, per level and
thread count (the cases of vision_ext/bench/cases/sd.py at their full sizes).

    python benchmarks/sd_cpu_interleaved.py                          # avx512 and avx2 x 1 and 2 threads
    python benchmarks/sd_cpu_interleaved.py --level avx2 --threads 1 # one process (what the table runs)
    python benchmarks/sd_cpu_interleaved.py --fuse                   # ours after vision_ext.nn.fuse

Each (level, threads) runs in its own process with the level capped for the peers too (ATEN_CPU_CAPABILITY,
ONEDNN_MAX_CPU_ISA set before torch is imported). One thread: median per-thread CPU time (time.thread_time);
two threads: wall time, the fastest round (the least disturbed one on a shared machine). Every output is
checked against diffusers' with tests/sd's tolerance before timing.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

from vision_ext.bench.cpu_level import level_environment


def measure(level, threads, rounds, fuse, only):
    import torch

    import vision_ext
    import vision_ext.nn as vnn
    from vision_ext.bench.cases import sd as S

    torch.set_num_threads(threads)
    vision_ext.set_cpu_capability(level)
    clock = time.thread_time if threads == 1 else time.perf_counter
    size = S.UNET_FULL["sample_size"]
    f = 2 ** (len(S.VAE_FULL["block_out_channels"]) - 1)
    builders = {
        "unet": lambda: (lambda o, p, a: (o, p, a, S.unet_call(o), S.unet_call(p)))(*S.unet_pair(S.UNET_FULL)),
        "vae_decode": lambda: (lambda o, p, a: (o, p, a, S.decode_call(o), S.decode_call(p)))(
            *S.vae_pair(S.VAE_FULL, 64)),
        "pipeline": lambda: (lambda o, p, a: (o, p, a, S.pipeline_call(o, S.STEPS_FULL, size * f),
                                              S.pipeline_call(p, S.STEPS_FULL, size * f)))(
            *S.pipeline_pair(S.UNET_FULL, S.VAE_FULL)),
    }
    rows = []
    for name, build in builders.items():
        if only and name not in only:
            continue
        ours, peer, args, f_ours, f_peer = build()
        if fuse:
            for m in ((ours.unet, ours.vae, ours.text_encoder) if name == "pipeline" else (ours,)):
                vnn.fuse(m)
        match = S.tests_close(f_ours(*args), f_peer(*args))  # also the warm-up
        times = {"ours": [], "diffusers": []}
        for _ in range(rounds):
            for who, fn in (("ours", f_ours), ("diffusers", f_peer)):
                t0 = clock()
                fn(*args)
                times[who].append(clock() - t0)
        pick = statistics.median if threads == 1 else min
        t = {k: pick(v) for k, v in times.items()}
        rows.append(dict(case=name, level=level, threads=threads, fuse=fuse, match=match, ours_s=t["ours"],
                         diffusers_s=t["diffusers"], ratio=t["diffusers"] / t["ours"]))
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--level")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--fuse", action="store_true", help="ours after vision_ext.nn.fuse (Winograd 3x3 convs)")
    ap.add_argument("--only", action="append", help="unet, vae_decode or pipeline (repeatable)")
    a = ap.parse_args()
    if a.level:
        print(json.dumps(measure(a.level, a.threads, a.rounds, a.fuse, a.only)))
        return
    rows = []
    for level in ("avx512", "avx2"):
        for threads in (1, 2):
            env = level_environment(level)  # ours and the peers held to the level
            cmd = [sys.executable, __file__, "--level", level, "--threads", str(threads), "--rounds", str(a.rounds)]
            cmd += ["--fuse"] if a.fuse else []
            for o in a.only or []:
                cmd += ["--only", o]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
            rows += json.loads(out.strip().splitlines()[-1])
    print("| case | level | threads | ours | diffusers | ratio | match |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['level']} | {r['threads']} | {r['ours_s'] * 1e3:.1f} ms | "
              f"{r['diffusers_s'] * 1e3:.1f} ms | **{r['ratio']:.2f}x** | {r['match']} |")


if __name__ == "__main__":
    main()
