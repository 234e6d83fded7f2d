"""DDPM CPU timings, ours vs diffusers, interleaved in rounds (medians), per CPU level and thread count.

    python benchmarks/ddpm_cpu_interleaved.py                    # every runnable level x 1 and 2 threads: table
    python benchmarks/ddpm_cpu_interleaved.py --level avx2 --threads 1   # one process (what the table runs)

Each (level, threads) runs in its own process with the level capped for the peers too (ATEN_CPU_CAPABILITY,
ONEDNN_MAX_CPU_ISA set before torch is imported), so the avx2 column is what an AVX2-only user sees.
Ours: vision_ext's DDPMScheduler.step without a generator (in-kernel Philox noise) and add_noise;
diffusers: DDPMScheduler.step with a torch.Generator and add_noise. One thread: median per-thread CPU
time (time.thread_time) of interleaved rounds; two threads: wall time, the fastest interleaved round
(on a shared machine another process's burst lands in some rounds of either side; the best round is
the least disturbed one).
"""
import argparse
import json
import statistics
import subprocess
import sys
import time

from vision_ext.bench.cpu_level import level_environment

SHAPES = [(16, 3, 32, 32), (8, 3, 256, 256)]


def measure(level, threads, rounds):
    import torch

    import diffusers
    import vision_ext
    from vision_ext.diffusion import DDPMScheduler

    torch.set_num_threads(threads)
    vision_ext.set_cpu_capability(level)
    clock = time.thread_time if threads == 1 else time.perf_counter
    ours, ref = DDPMScheduler(), diffusers.DDPMScheduler()
    ours.set_timesteps(1000)
    ref.set_timesteps(1000)
    rows = []
    for shape in SHAPES:
        g = torch.Generator().manual_seed(0)
        m, x, n = (torch.randn(shape, generator=g) for _ in range(3))
        t = torch.randint(0, 1000, (shape[0],), generator=g)
        gen = torch.Generator().manual_seed(0)
        cases = {
            "ddpm_step": (lambda: ours.step(m, 500, x).prev_sample,
                          lambda: ref.step(m, 500, x, generator=gen).prev_sample),
            "add_noise": (lambda: ours.add_noise(x, n, t), lambda: ref.add_noise(x, n, t)),
        }
        reps = max(1, int(2e6 // m.numel()))
        for name, (f_ours, f_ref) in cases.items():
            times = {"ours": [], "diffusers": []}
            for f in (f_ours, f_ref):
                f()  # warm up
            for _ in range(rounds):
                for who, f in (("ours", f_ours), ("diffusers", f_ref)):
                    t0 = clock()
                    for _ in range(reps):
                        f()
                    times[who].append((clock() - t0) / reps)
            pick = statistics.median if threads == 1 else min
            med = {k: pick(v) for k, v in times.items()}
            rows.append(dict(case=name, shape="x".join(map(str, shape)), level=level, threads=threads,
                             ours_ms=med["ours"] * 1e3, diffusers_ms=med["diffusers"] * 1e3,
                             ratio=med["diffusers"] / med["ours"]))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--level")
    ap.add_argument("--threads", type=int)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", help="write the rows here (table mode)")
    a = ap.parse_args()
    if a.level:
        print(json.dumps(measure(a.level, a.threads, a.rounds)))
        return
    import vision_ext

    rows = []
    for level in [lv for lv in vision_ext.build_info()["cpu_capabilities_supported"] if lv != "default"]:
        for threads in (1, 2):
            env = level_environment(level)  # ours and the peers held to the level
            out = subprocess.run([sys.executable, __file__, "--level", level, "--threads", str(threads),
                                  "--rounds", str(a.rounds)], env=env, check=True, capture_output=True, text=True)
            rows += json.loads(out.stdout.strip().splitlines()[-1])
    print("| case | shape | level | threads | ours ms | diffusers ms | ratio |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['shape']} | {r['level']} | {r['threads']} | {r['ours_ms']:.3f} | "
              f"{r['diffusers_ms']:.3f} | {r['ratio']:.1f}x |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
