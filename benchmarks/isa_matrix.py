"""The per-ISA table of benchmarks/RESULTS.md: `vision-ext bench` at every CPU level this machine runs
(ours and the peers held to the level, vision_ext/bench/cpu_level.py) and at 1 and 2 threads, then one
row per case with our worst speed-up against its peers in each column.

    python benchmarks/isa_matrix.py [--quick] [--family residual ...] [--levels avx2 avx512] [--out results/isa]
"""
import argparse
import json
import os
import subprocess
import sys


def run_column(level, threads, args):
    out = os.path.join(args.out, f"{level}-t{threads}")
    cmd = [sys.executable, "-m", "vision_ext.cli", "bench", "--cpu-capability", level, "--threads", str(threads),
           "--out", out] + (["--quick"] if args.quick else [])
    for family in args.family or []:
        cmd += ["--family", family]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    with open(os.path.join(out, "bench.json")) as f:
        return json.load(f)


def worst_ratio(row):
    peers = {name: p for name, p in row["peers"].items() if p.get("speedup") is not None}
    if not peers:
        return None, None
    name = min(peers, key=lambda n: peers[n]["speedup"])
    return peers[name]["speedup"], name


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--family", action="append")
    parser.add_argument("--levels", nargs="+", default=None, help="default: every level this CPU supports above 'default'")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--out", default="results/isa")
    args = parser.parse_args()
    import vision_ext

    levels = args.levels or [lv for lv in vision_ext.build_info()["cpu_capabilities_supported"] if lv != "default"]
    columns = [(lv, t) for lv in levels for t in args.threads]
    tables = {col: run_column(*col, args) for col in columns}
    cases = {}
    for col, data in tables.items():
        for row in data["results"]:
            key = (row["family"], row["op"], row["shape"])
            cases.setdefault(key, {})[col] = worst_ratio(row)
    head = "| case | shape | " + " | ".join(f"{lv} {t}T" for lv, t in columns) + " |"
    lines = [head, "|" + "---|" * (2 + len(columns))]
    for (family, op, shape), by_col in cases.items():
        cells = []
        for col in columns:
            ratio, peer = by_col.get(col, (None, None))
            cells.append("" if ratio is None else f"x{ratio:.2f} ({peer})")
        lines.append(f"| {op} | {shape} | " + " | ".join(cells) + " |")
    print("\nWorst speed-up against the case's peers (peer named), per CPU level and thread count:\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
