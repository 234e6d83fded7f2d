"""Train several models with one recipe and compare them the way the notes do (section 3):
parameters, peak memory, total time, mean epoch time, best test accuracy, plus loss/accuracy curves.

Each model trains in its own `vision-ext train` process, so that peak memory
(peak RSS on CPU) belongs to that model alone and no state leaks between runs.
"""
import json
import os
import subprocess
import sys
import time
from typing import Dict, List, Sequence

from vision_ext.training.metrics import read_metrics, write_json_atomic

# The notes' plot: purple for resnet18, orange for resnet101.
COLOURS = {"resnet18": "tab:purple", "resnet101": "tab:orange", "resnet-v1": "tab:blue", "resnet-v2": "tab:green"}
NOTES_TABLE = {  # section 3 of the notes: CIFAR-10, 100 epochs, one 4 GiB GPU
    "resnet18": {"peak_memory_mib": 1739, "total_time_h": 1.747, "mean_epoch_s": 62.9},
    "resnet101": {"peak_memory_mib": 2656, "total_time_h": 5.563, "mean_epoch_s": 200.2},
}


def run_label(model: str, fused: bool, both_impls: bool) -> str:
    return f"{model} ({'fused' if fused else 'reference'})" if both_impls else model


def train_in_subprocess(model: str, fused: bool, recipe_argv: List[str], out_dir: str) -> float:
    """`vision-ext train` for one model in a fresh interpreter; returns its wall time in seconds."""
    import vision_ext

    env = dict(os.environ)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(vision_ext.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "vision_ext.cli", "train", "--model", model, "--fused" if fused else "--no-fused",
           *recipe_argv, "--out", out_dir, "--overwrite"]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"training {model} failed (exit {done.returncode}): {' '.join(cmd)}")
    return time.perf_counter() - t0


def summarise(label: str, model: str, fused: bool, metrics: dict, wall_s: float) -> dict:
    epochs = metrics["epochs"]
    total = sum(r["epoch_time_s"] for r in epochs)
    return {
        "label": label, "model": model, "fused": fused,
        "parameters": metrics["config"]["parameters"],
        "peak_memory_mib": max(r["peak_memory_mib"] for r in epochs),
        "memory_kind": epochs[-1]["memory_kind"],
        "total_time_s": total,
        "mean_epoch_time_s": total / len(epochs),
        "best_test_acc": max(r["test_acc"] for r in epochs),
        "final_test_acc": epochs[-1]["test_acc"],
        "images_per_s": sum(r["images_per_s"] for r in epochs) / len(epochs),
        "wall_time_s": wall_s,
        "curves": {k: [r[k] for r in epochs] for k in ("train_loss", "test_loss", "train_acc", "test_acc")},
    }


def _fmt_time(seconds: float) -> str:
    return f"{seconds / 3600:.3f} h" if seconds >= 3600 else (f"{seconds / 60:.1f} min" if seconds >= 120
                                                              else f"{seconds:.1f} s")


def _n_epochs(row: dict) -> str:
    n = len(row["curves"]["test_acc"])
    return f"{n} epoch" + ("s" if n != 1 else "")


def format_table(rows: Sequence[dict]) -> str:
    """Models as columns, quantities as rows, like the notes' table."""
    memory_name = "peak CUDA memory" if rows[0]["memory_kind"].startswith("cuda") else "peak RSS (CPU)"
    lines = [("", [r["label"] for r in rows]),
             ("parameters", [f"{r['parameters'] / 1e6:.2f} M" for r in rows]),
             (memory_name, [f"{r['peak_memory_mib']:.0f} MiB" for r in rows]),
             (f"total time ({_n_epochs(rows[0])})", [_fmt_time(r["total_time_s"]) for r in rows]),
             ("mean epoch time", [f"{r['mean_epoch_time_s']:.1f} s" for r in rows]),
             ("images/s (train)", [f"{r['images_per_s']:.0f}" for r in rows]),
             ("best test accuracy", [f"{100 * r['best_test_acc']:.2f} %" for r in rows])]
    first = max(len(name) for name, _ in lines)
    widths = [max(len(cells[i]) for _, cells in lines) for i in range(len(rows))]
    return "\n".join(name.ljust(first) + "".join("  " + c.rjust(w) for c, w in zip(cells, widths))
                     for name, cells in lines)


def plot(rows: Sequence[dict], path: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, r in enumerate(rows):
        colour = COLOURS.get(r["model"], f"C{i}") if not r["label"].endswith("(reference)") else f"C{i + 4}"
        epochs = range(1, len(r["curves"]["train_loss"]) + 1)
        for ax, kind in ((ax_loss, "loss"), (ax_acc, "acc")):
            ax.plot(epochs, r["curves"][f"train_{kind}"], color=colour, marker="o", ms=3, label=f"{r['label']} train")
            ax.plot(epochs, r["curves"][f"test_{kind}"], color=colour, ls="--", marker="s", ms=3,
                    label=f"{r['label']} test")
    # Log scale: an early test loss (BN running statistics after a few steps) can dwarf the rest.
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss (log scale)", title="loss", yscale="log")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0, 1.02))
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def compare(models: Sequence[str], impls: Sequence[bool], recipe_argv: List[str], out_dir: str,
            meta: Dict) -> dict:
    """Train every (model, impl), then write out_dir/comparison.{json,png}; returns the JSON contents."""
    os.makedirs(out_dir, exist_ok=True)
    both = len(impls) > 1
    rows = []
    for model in models:
        for fused in impls:
            label = run_label(model, fused, both)
            run_dir = os.path.join(out_dir, label.replace(" ", "_").replace("(", "").replace(")", ""))
            print(f"== {label}: training in {run_dir}", flush=True)
            wall = train_in_subprocess(model, fused, recipe_argv, run_dir)
            rows.append(summarise(label, model, fused, read_metrics(run_dir), wall))
    result = {"meta": meta, "runs": rows, "notes_section_3": NOTES_TABLE, "table": format_table(rows)}
    write_json_atomic(result, os.path.join(out_dir, "comparison.json"))
    plot(rows, os.path.join(out_dir, "comparison.png"),
         f"{' vs '.join(r['label'] for r in rows)} on {meta.get('dataset')} ({meta.get('device', 'cpu')})")
    return result


def load_comparison(out_dir: str) -> dict:
    with open(os.path.join(out_dir, "comparison.json")) as f:
        return json.load(f)
