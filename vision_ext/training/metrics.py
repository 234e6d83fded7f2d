"""Per-epoch metrics in DIR/metrics.json ({"config": ..., "epochs": [...]}) and peak-memory probes."""
import json
import os
import resource
import sys

import torch

METRICS_NAME = "metrics.json"


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB.

    Linux: VmHWM, which belongs to this address space (ru_maxrss survives fork + exec, so a
    child started from a big parent would report the parent's peak). Elsewhere: ru_maxrss.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> dict:
    """CUDA: peak allocated/reserved by PyTorch since the last reset; CPU: the process's peak RSS."""
    if device.type == "cuda":
        return {"peak_memory_mib": torch.cuda.max_memory_allocated(device) / 2**20,
                "peak_reserved_mib": torch.cuda.max_memory_reserved(device) / 2**20,
                "memory_kind": "cuda_max_allocated"}
    return {"peak_memory_mib": peak_rss_mib(), "memory_kind": "cpu_peak_rss"}


def write_json_atomic(obj, path: str) -> None:
    """obj as indented JSON at path, written through checkpoint.atomic_write (never half a file)."""
    from vision_ext.training.checkpoint import atomic_write

    def write(f):
        json.dump(obj, f, indent=2)
        f.write("\n")

    atomic_write(path, write, mode="w")


class MetricsLog:
    """DIR/metrics.json, rewritten atomically after each epoch with the new record appended."""

    def __init__(self, out_dir: str, config: dict, keep_epochs: int = 0):
        self.path = os.path.join(out_dir, METRICS_NAME)
        self.data = {"config": config, "epochs": []}
        if keep_epochs and os.path.exists(self.path):
            with open(self.path) as f:
                previous = json.load(f)
            # Drop records past the checkpoint (an epoch logged but not checkpointed is re-run).
            self.data["epochs"] = [r for r in previous.get("epochs", []) if r["epoch"] <= keep_epochs]

    def append(self, record: dict) -> None:
        self.data["epochs"].append(record)
        write_json_atomic(self.data, self.path)


def read_metrics(out_dir: str) -> dict:
    with open(os.path.join(out_dir, METRICS_NAME)) as f:
        return json.load(f)
