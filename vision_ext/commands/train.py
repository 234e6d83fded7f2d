"""`vision-ext train`: train one model, with metrics, checkpoints, exact --resume and DDP under torchrun."""
import argparse

from vision_ext.cli import UsageError
from vision_ext.commands import _checks as checks

EXAMPLES = """Examples:
  vision-ext train --out runs/r18                      # resnet18 on bundled digits, 5 epochs, CPU minutes
  vision-ext train --model resnet-v1 --epochs 2 --subset 256 --out runs/v1
  vision-ext train --model resnet18 --out runs/r18 --epochs 5 --resume    # continue after an interruption
  vision-ext train --model resnet101 --dataset cifar10 --data-dir ~/data/cifar-10-batches-py \\
      --epochs 100 --amp --channels-last --out runs/r101
  vision-ext train --no-fused --out runs/r18-ref       # the same net from plain torch layers, to compare
  torchrun --nproc_per_node 2 -m vision_ext.cli train --model resnet-v1 --subset 512 --out runs/ddp

Writes DIR/metrics.json (one record per epoch: loss, accuracy, time, images/s, peak memory) and
DIR/checkpoint.pt (model, optimiser, schedule, RNG states, epoch; replaced atomically each epoch).
Under torchrun each process uses --batch-size images per step and only rank 0 writes."""


def register(sub):
    p = sub.add_parser("train", help="train a ResNet on digits / CIFAR-10 with metrics, checkpoints and resume",
                       description="Train one model with SGD + momentum and a cosine learning-rate schedule.\n\n"
                                   + EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_recipe_arguments(p)
    p.add_argument("--out", required=True, metavar="DIR", help="output folder for metrics.json and checkpoint.pt")
    p.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt (same options as before)")
    p.add_argument("--overwrite", action="store_true", help="start afresh in a DIR that already holds a run")
    p.add_argument("--stop-after", type=int, default=None, metavar="E",
                   help="stop once E epochs are done, as if interrupted (the schedule still spans --epochs); "
                        "--resume continues")
    p.set_defaults(func=run)


def subset_arg(text: str):
    """A positive integer, or 'all' for the whole dataset."""
    if text.strip().lower() == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of images or 'all', got {text!r}") from None


def add_recipe_arguments(p, model=True, default_epochs=5, default_subset=None):
    """Options shared by train and compare-resnets."""
    from vision_ext.data import DATASETS
    from vision_ext.training import MODELS

    if model:
        p.add_argument("--model", default="resnet18", metavar="NAME",
                       help=f"one of {', '.join(MODELS)} (default resnet18)")
    p.add_argument("--dataset", default="digits", metavar="NAME",
                   help=f"one of {', '.join(DATASETS)} (default digits: bundled with scikit-learn, no download)")
    p.add_argument("--data-dir", default=None, metavar="D", help="folder with CIFAR-10's python batches")
    p.add_argument("--epochs", type=int, default=None, metavar="N", help=f"epochs to train (default {default_epochs})")
    p.add_argument("--batch-size", type=int, default=128, metavar="B", help="images per step per process (128)")
    p.add_argument("--subset", type=subset_arg, default=default_subset, metavar="N",
                   help=f"use only the first N training and first N test images, or 'all' "
                        f"(default {default_subset or 'all'})")
    p.add_argument("--seed", type=int, default=0, help="seed for initialisation, data order and augmentation")
    p.add_argument("--lr", type=float, default=0.05, help="peak learning rate of the cosine schedule (0.05)")
    p.add_argument("--momentum", type=float, default=0.9, help="SGD momentum (0.9)")
    p.add_argument("--weight-decay", type=float, default=5e-4, help="SGD weight decay (5e-4)")
    p.add_argument("--fused", action=argparse.BooleanOptionalAction, default=True,
                   help="vision_ext's fused blocks (default) or, with --no-fused, the same net in plain torch layers")
    p.add_argument("--amp", action="store_true", help="mixed precision (fp16 + grad scaling on CUDA, bf16 on CPU)")
    p.add_argument("--channels-last", action="store_true", help="NHWC memory format for model and inputs")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"],
                   help="auto: CUDA when visible, else CPU")
    p.add_argument("--workers", type=int, default=2, help="DataLoader worker processes (2; 0 loads in-process)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no tqdm progress bar")


def validate_recipe(args, default_epochs: int = 5) -> None:
    """Raise UsageError naming the fix for any bad recipe option (fills in the epochs default)."""
    import math
    import os

    from vision_ext.data import DATASETS
    from vision_ext.training import MODELS

    if getattr(args, "model", None) is not None and args.model not in MODELS:
        raise UsageError(f"unknown model {args.model!r}; use --model with one of {', '.join(MODELS)}")
    if args.dataset not in DATASETS:
        raise UsageError(f"unknown dataset {args.dataset!r}; use --dataset with one of {', '.join(DATASETS)}")
    if args.epochs is None:
        args.epochs = default_epochs
    for name in ("epochs", "batch_size", "subset"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be a positive integer, got {value}; e.g. --{name.replace('_', '-')} 2")
    if not (args.lr > 0 and math.isfinite(args.lr)):
        raise UsageError(f"--lr must be positive, got {args.lr}; e.g. --lr 0.05")
    checks.number("--momentum", args.momentum, 0, example=0.9)
    checks.number("--weight-decay", args.weight_decay, 0, example=5e-4)
    checks.seed("--seed", args.seed)
    checks.output_dir("--out", args.out)
    if args.workers < 0:
        raise UsageError(f"--workers must be 0 or more, got {args.workers}")
    if args.dataset == "cifar10":
        from vision_ext.data import DatasetNotFoundError
        from vision_ext.data.cifar10 import find_batches_dir
        if not args.data_dir:
            raise UsageError("--dataset cifar10 needs --data-dir D, the extracted cifar-10-batches-py folder "
                             "(https://www.cs.toronto.edu/~kriz/cifar.html); or use --dataset digits (no download)")
        try:
            find_batches_dir(os.path.expanduser(args.data_dir))
        except DatasetNotFoundError as err:
            raise UsageError(str(err)) from None
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            raise UsageError("--device cuda: no CUDA device is visible to PyTorch; use --device cpu or auto")


def config_from_args(args):
    import os

    from vision_ext.training import TrainConfig

    return TrainConfig(model=args.model, dataset=args.dataset, out=args.out,
                       data_dir=os.path.expanduser(args.data_dir) if args.data_dir else None,
                       epochs=args.epochs, batch_size=args.batch_size, subset=args.subset, seed=args.seed,
                       lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay, fused=args.fused,
                       amp=args.amp, channels_last=args.channels_last, device=args.device, workers=args.workers,
                       resume=getattr(args, "resume", False), overwrite=getattr(args, "overwrite", False),
                       stop_after=getattr(args, "stop_after", None), progress=args.progress)


def run(args):
    from vision_ext.training.checkpoint import CheckpointError
    from vision_ext.training.trainer import RunStateError, train

    validate_recipe(args)
    if args.stop_after is not None and args.stop_after < 1:
        raise UsageError(f"--stop-after must be a positive number of epochs, got {args.stop_after}")
    try:
        train(config_from_args(args))
    except RunStateError as err:
        raise UsageError(str(err)) from None
    except CheckpointError as err:
        raise UsageError(f"--resume: {err}; pass --overwrite to start afresh, or another --out") from None
    return 0
