"""Batch throughput of ORB (issue 13): 16 640x480 images (skimage camera, rolled) through
torch.ops.vision_ext.orb vs a loop of cv2.ORB_create(500).detectAndCompute, interleaved rounds,
medians. `--threads 1` reports per-thread CPU time (time.thread_time), `--threads 2` wall time.
Run with VISION_EXT_CPU_CAPABILITY / OPENCV_CPU_DISABLE set to hold both to a CPU level."""
import argparse
import time

import cv2
import numpy as np
import skimage.data
import torch

import vision_ext  # noqa: F401


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=9)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    cv2.setNumThreads(a.threads)
    img = cv2.resize(skimage.data.camera(), (640, 480))
    imgs = np.stack([np.roll(img, 37 * i, axis=1) for i in range(16)])
    t = torch.from_numpy(imgs)[:, None].contiguous()
    orb = cv2.ORB_create(500)
    clock = time.thread_time if a.threads == 1 else time.perf_counter

    def ours():
        torch.ops.vision_ext.orb(t, 500, 1.2, 8, 31, 20, 31, True)

    def peer():
        for im in imgs:
            orb.detectAndCompute(im, None)

    ours(), peer()
    ta, tb = [], []
    for _ in range(a.rounds):
        s = clock(); ours(); ta.append(clock() - s)
        s = clock(); peer(); tb.append(clock() - s)
    o, p = np.median(ta) * 1e3, np.median(tb) * 1e3
    print(f"threads {a.threads} level {vision_ext.build_info().get('cpu_capability')}: ours {o:.1f} ms  "
          f"cv2 {p:.1f} ms  ratio {p / o:.2f}")


if __name__ == "__main__":
    main()
