"""Run cases, print the peer-comparison table, write results/bench.json and bench.png."""
import json
import os
from typing import List

import torch

from vision_ext.bench.core import Case, time_interleaved


def run_cases(cases: List[Case], min_time: float) -> List[dict]:
    rows = []
    for case in cases:
        args = case.args()
        if case.measure is not None:
            rows.append(_measured_row(case, args))
            continue
        with torch.set_grad_enabled(case.needs_grad):
            ours_out = case.ours(*args)
            peers, runnable = {}, {"ours": case.ours}
            for peer, fn in case.peers.items():
                try:
                    peers[peer] = {"matches": case.compare(ours_out, fn(*args))}
                    runnable[peer] = fn
                except Exception as err:  # a peer that cannot run this case is reported, not fatal
                    peers[peer] = {"seconds": None, "matches": None, "error": f"{type(err).__name__}: {err}"}
            times = time_interleaved(runnable, args, case.device, min_time=min_time * len(runnable))
            ours_t = times.pop("ours")
            for peer, seconds in times.items():
                peers[peer]["seconds"] = seconds
        row = {"family": case.family, "op": case.op, "shape": case.shape, "device": case.device,
               "ours_seconds": ours_t, "peers": peers}
        for p in peers.values():
            p["speedup"] = (p["seconds"] / ours_t) if p["seconds"] else None
        rows.append(row)
    return rows


def _measured_row(case: Case, args: tuple) -> dict:
    """A row from the case's own measurement: times as usual, its other figures under 'metrics'."""
    with torch.set_grad_enabled(case.needs_grad):
        figures = case.measure(*args)
    ours = dict(figures.pop("ours"))
    ours_t = ours.pop("seconds")
    metrics = {"ours": ours}
    peers = {}
    for peer, fig in figures.items():
        fig = dict(fig)
        seconds = fig.pop("seconds")
        peers[peer] = {"seconds": seconds, "matches": None, "speedup": seconds / ours_t if seconds else None}
        metrics[peer] = fig
    return {"family": case.family, "op": case.op, "shape": case.shape, "device": case.device,
            "ours_seconds": ours_t, "peers": peers, "metrics": metrics}


def _fmt_time(s):
    if s is None:
        return "n/a"
    return f"{s * 1e3:.3f} ms" if s < 1 else f"{s:.2f} s"


def format_row(row) -> str:
    peer_txt = "  ".join(
        f"{name}: {_fmt_time(p['seconds'])} "
        f"({'x%.2f' % p['speedup'] if p['speedup'] else p.get('error', 'n/a')[:40]}, "
        f"{'match' if p['matches'] else ('MISMATCH' if p['matches'] is False else '-')})"
        for name, p in row["peers"].items()
    )
    line = f"{row['op']:<34} {row['shape']:<26} {row['device']:<5} ours {_fmt_time(row['ours_seconds']):>10}"
    line += f"  {peer_txt}"
    if row.get("metrics"):  # a measured case's own figures, on a second line
        line += "\n" + " " * 36 + "  ".join(f"{impl}: " + ", ".join(f"{k} {v:.3g}" for k, v in figs.items())
                                             for impl, figs in row["metrics"].items())
    return line


def print_table(rows, out=print) -> None:
    out(f"{'operation':<34} {'shape':<26} {'dev':<5} {'ours':>15}  peers (time, our speed-up, output match)")
    for row in rows:
        out(format_row(row))


def write_results(rows, out_dir: str, meta: dict) -> tuple:
    os.makedirs(out_dir, exist_ok=True)
    json_path = os.path.join(out_dir, "bench.json")
    tmp = json_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"meta": meta, "results": rows}, f, indent=2)
    os.replace(tmp, json_path)
    png_path = os.path.join(out_dir, "bench.png")
    plot_speedups(rows, png_path)
    return json_path, png_path


def plot_speedups(rows, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, values, peers = [], [], []
    for row in rows:
        for peer, p in row["peers"].items():
            if p["speedup"]:
                labels.append(f"{row['op']} {row['shape']} ({row['device']})")
                peers.append(peer)
                values.append(p["speedup"])
    names = sorted(set(peers))
    colors = {n: plt.cm.tab10(i % 10) for i, n in enumerate(names)}
    fig, ax = plt.subplots(figsize=(12, max(3, 0.32 * len(values) + 1.5)))
    ax.barh(range(len(values)), values, color=[colors[p] for p in peers])
    ax.set_yticks(range(len(values)))
    ax.set_yticklabels([f"{lab} vs {p}" for lab, p in zip(labels, peers)], fontsize=7)
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xscale("log")
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if min(values, default=1) / 2 <= t <= max(values, default=1) * 2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.set_xticklabels([f"{t:g}x" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("speed-up of vision_ext over peer (x, log scale; >1 is faster)")
    ax.invert_yaxis()
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)
