"""`vision-ext compare-resnets`: the notes' resnet18 vs resnet101 table and curves, reproduced with one command."""
import argparse

from vision_ext.cli import UsageError

EXAMPLES = """Examples:
  vision-ext compare-resnets --out runs/cmp                 # digits, 3 epochs, 512 images: minutes on a CPU
  vision-ext compare-resnets --dataset cifar10 --data-dir ~/data/cifar-10-batches-py --epochs 100 \\
      --subset all --amp --channels-last --out runs/cmp-cifar   # the notes' experiment, on a GPU
  vision-ext compare-resnets --models resnet18,resnet-v1,resnet-v2 --epochs 2 --out runs/cmp-small
  vision-ext compare-resnets --impls fused,reference --models resnet18 --out runs/cmp-fused
                                                           # what our fused kernels change

Prints the table (parameters, peak memory, total time, mean epoch time, best test accuracy), and
writes DIR/comparison.json, DIR/comparison.png (loss and accuracy curves) and DIR/<model>/ per run."""


def register(sub):
    from vision_ext.commands.train import add_recipe_arguments

    p = sub.add_parser("compare-resnets", help="train resnet18 and resnet101 with one recipe and compare them",
                       description="Train several models with one recipe, each in its own process, and compare "
                                   "them as the notes' section 3 does.\n\n" + EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="resnet18,resnet101", metavar="A,B",
                   help="comma-separated models to compare (default resnet18,resnet101)")
    p.add_argument("--impls", default="fused", metavar="LIST",
                   help="fused, reference or fused,reference (each model in both builds); overrides --fused")
    add_recipe_arguments(p, model=False, default_epochs=3, default_subset=512)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder for comparison.{json,png}")
    p.set_defaults(func=run)


def recipe_argv(args) -> list:
    argv = ["--dataset", args.dataset, "--epochs", str(args.epochs), "--batch-size", str(args.batch_size),
            "--seed", str(args.seed), "--lr", repr(args.lr), "--momentum", repr(args.momentum),
            "--weight-decay", repr(args.weight_decay), "--device", args.device, "--workers", str(args.workers)]
    if args.data_dir:
        argv += ["--data-dir", args.data_dir]
    if args.subset is not None:
        argv += ["--subset", str(args.subset)]
    argv += ["--amp"] * args.amp + ["--channels-last"] * args.channels_last + ["--no-progress"] * (not args.progress)
    return argv


def run(args):
    import datetime
    import platform

    import torch

    from vision_ext.commands.train import validate_recipe
    from vision_ext.training import MODELS
    from vision_ext.training.compare import compare

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS]
    if not models or unknown:
        raise UsageError(f"unknown model(s) {', '.join(unknown) or '(none given)'} in --models; "
                         f"use a comma-separated list of {', '.join(MODELS)}")
    impl_names = [i.strip() for i in args.impls.split(",") if i.strip()]
    if not impl_names or any(i not in ("fused", "reference") for i in impl_names):
        raise UsageError(f"--impls {args.impls!r}: use fused, reference or fused,reference")
    impls = [i == "fused" for i in impl_names]
    if args.impls == "fused" and not args.fused:
        impls = [False]  # --no-fused alone means the reference build
    validate_recipe(args, default_epochs=3)
    device = "cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()) else "cpu"
    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "dataset": args.dataset,
            "epochs": args.epochs, "subset": args.subset, "batch_size": args.batch_size, "device": device,
            "platform": platform.platform(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    result = compare(models, impls, recipe_argv(args), args.out, meta)
    print()
    print(result["table"])
    print(f"\nwrote {args.out}/comparison.json and {args.out}/comparison.png")
    return 0
