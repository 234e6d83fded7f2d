"""`vision-ext bench`: run the peer-comparison suite and write results/bench.{json,png}."""
import datetime
import os
import platform

from vision_ext.cli import UsageError


def register(sub):
    p = sub.add_parser(
        "bench", help="compare vision_ext with its peers (eager PyTorch, torch.compile, OpenCV, ...)",
        description=("Run the benchmark cases of every op family, print one table (operation, shape, device, "
                     "our time, each peer's time, our speed-up, whether outputs matched) and write "
                     "results/bench.json and results/bench.png.\n\nExamples:\n  vision-ext bench --quick\n"
                     "  vision-ext bench --device cuda --family residual --out results/gpu"),
        formatter_class=__import__("argparse").RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small shapes and short timing (about a minute)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="device to benchmark (default cpu)")
    p.add_argument("--family", action="append", help="only this op family (repeatable), e.g. residual")
    p.add_argument("--out", default="results", help="output folder for bench.json and bench.png (default results)")
    p.add_argument("--min-time", type=float, default=None, help="seconds of timing per callable")
    p.add_argument("--threads", type=int, default=None, help="threads for ours and the peers (default: torch's)")
    p.add_argument("--cpu-capability", choices=["default", "avx2", "avx512"], default=None,
                   help="run ours AND the peers (ATen, oneDNN, OpenCV) at this CPU level, e.g. avx2 on an "
                        "AVX-512 machine to see an AVX2-only CPU's figures")
    p.set_defaults(func=run)


def run(args):
    if args.cpu_capability is not None:
        import sys

        from vision_ext.bench.cpu_level import reexec_at

        reexec_at(args.cpu_capability, sys.argv[1:])  # returns once the caps are in force
    import torch

    import vision_ext
    from vision_ext.bench.core import collect_cases
    from vision_ext.bench.report import print_table, run_cases, write_results

    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is visible to PyTorch; use --device cpu")
    if args.min_time is not None and not (0 < args.min_time < float("inf")):
        raise UsageError(f"--min-time must be a positive number of seconds, got {args.min_time}; e.g. --min-time 0.2")
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"--out {args.out}: an existing file, not a folder; give a folder path (created if missing)")
    if args.cpu_capability is not None and args.cpu_capability not in vision_ext.build_info()[
            "cpu_capabilities_supported"]:
        raise UsageError(f"--cpu-capability {args.cpu_capability}: this CPU supports only "
                         f"{', '.join(vision_ext.build_info()['cpu_capabilities_supported'])}")
    if args.threads is not None:
        if args.threads < 1:
            raise UsageError("--threads must be at least 1, e.g. --threads 2")
        torch.set_num_threads(args.threads)
    cases = collect_cases(args.quick, args.device, args.family)
    if not cases:
        raise UsageError(f"no benchmark cases for --family {args.family}; known families are in vision_ext/bench/cases")
    min_time = args.min_time if args.min_time is not None else (0.15 if args.quick else 1.0)
    print(f"vision-ext bench: {len(cases)} cases on {args.device}, {torch.get_num_threads()} threads, "
          f"CPU level {vision_ext.cpu_capability()} (torch: {torch.backends.cpu.get_cpu_capability()})")
    rows = run_cases(cases, min_time)
    print_table(rows)
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "device": args.device,
            "quick": args.quick, "platform": platform.platform(), "build": vision_ext.build_info()}
    json_path, png_path = write_results(rows, args.out, meta)
    print(f"wrote {json_path} and {png_path}")
    return 0
