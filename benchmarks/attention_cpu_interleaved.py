"""Small-head attention on the CPU: vision_ext::small_head_attention vs ATen's flash kernel
(F.scaled_dot_product_attention), interleaved rounds, medians of per-thread CPU time, one thread.

    python benchmarks/attention_cpu_interleaved.py            # the SD U-Net's shapes
For the AVX2 column set, before Python starts, VISION_EXT_CPU_CAPABILITY=avx2 ATEN_CPU_CAPABILITY=avx2
ONEDNN_MAX_CPU_ISA=AVX2 (docs/ARCHITECTURE.md)."""
import statistics
import time

import torch
import torch.nn.functional as F

import vision_ext

# [B, H, N, d] queries x M keys: the 32x32 stage's self- and cross-attention, the 16x16 stage's, a long one
SHAPES = [(2, 8, 1024, 8, 1024), (2, 8, 1024, 8, 77), (2, 8, 256, 16, 256), (2, 8, 256, 16, 77), (2, 8, 1024, 8, 2048)]


def main(rounds: int = 15):
    torch.set_num_threads(1)
    print("level", vision_ext.build_info()["cpu_capability"], "aten", torch.backends.cpu.get_cpu_capability())
    for b, h, n, d, m in SHAPES:
        g = torch.Generator().manual_seed(0)
        q = torch.randn(b, h, n, d, generator=g)
        k, v = (torch.randn(b, h, m, d, generator=g) for _ in range(2))
        ours = lambda: torch.ops.vision_ext.small_head_attention(q, k, v, d ** -0.5)  # noqa: E731
        aten = lambda: F.scaled_dot_product_attention(q, k, v)  # noqa: E731
        torch.testing.assert_close(ours(), aten(), rtol=1e-4, atol=1e-5)
        times = {"ours": [], "aten": []}
        for _ in range(rounds):
            for name, f in (("ours", ours), ("aten", aten)):
                t0 = time.thread_time()
                f()
                f()
                times[name].append((time.thread_time() - t0) / 2 * 1e3)
        o, a = statistics.median(times["ours"]), statistics.median(times["aten"])
        print(f"[{b},{h},{n},{d}] x {m} keys  ours {o:7.3f} ms  aten {a:7.3f} ms  x{a / o:.2f}")


if __name__ == "__main__":
    main()
