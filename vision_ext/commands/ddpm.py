"""`vision-ext ddpm train|sample`: train a small DDPM on scikit-learn's digits, and sample from it."""
import argparse
import os

from vision_ext.cli import UsageError
from vision_ext.commands import _checks as checks

# What matplotlib's imsave writes the grid as.
GRID_EXTENSIONS = ("png", "jpg", "jpeg", "tiff", "webp", "bmp", "gif", "ppm", "pdf", "svg", "eps", "ps")


def register(sub):
    p = sub.add_parser("ddpm", help="train a DDPM on bundled digits, or sample an image grid from a checkpoint",
                       description=("Denoising diffusion on scikit-learn's digits (no download).\n\nExamples:\n"
                                    "  vision-ext ddpm train --steps 2000 --out results/ddpm.pt\n"
                                    "  vision-ext ddpm train --steps 4000 --out results/ddpm.pt --resume\n"
                                    "  vision-ext ddpm sample --checkpoint results/ddpm.pt --sampler ddim --steps 50 "
                                    "-o grid.png"),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = p.add_subparsers(dest="ddpm_command", metavar="ACTION")
    t = cmds.add_parser("train", help="train (or --resume) and write an atomic checkpoint")
    t.add_argument("--out", default="results/ddpm.pt", help="checkpoint path (default results/ddpm.pt)")
    t.add_argument("--steps", type=int, default=2000, help="total optimisation steps (default 2000)")
    t.add_argument("--batch-size", type=int, default=64)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--image-size", type=int, default=16, help="digits are resized to this (default 16)")
    t.add_argument("--base-channels", type=int, default=32)
    t.add_argument("--prediction-type", default="epsilon", choices=["epsilon", "v_prediction", "sample"])
    t.add_argument("--min-snr-gamma", type=float, default=0.0, help="min-SNR loss weighting (0 = off)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--checkpoint-every", type=int, default=250)
    t.add_argument("--resume", action="store_true", help="continue exactly from --out up to --steps")
    t.add_argument("--overwrite", action="store_true", help="start afresh even if --out holds a checkpoint")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.set_defaults(func=run_train)
    s = cmds.add_parser("sample", help="sample a grid of digits from a checkpoint's EMA weights")
    s.add_argument("--checkpoint", default="results/ddpm.pt")
    s.add_argument("--sampler", default="ddpm", choices=["ddpm", "ddim", "plms"])
    s.add_argument("--steps", type=int, default=100, help="inference steps (default 100)")
    s.add_argument("--num", type=int, default=64, help="number of images (default 64)")
    s.add_argument("--eta", type=float, default=0.0, help="DDIM eta (default 0)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("-o", "--output", default="grid.png", help="PNG to write (default grid.png)")
    s.set_defaults(func=run_sample)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_train(args):
    from vision_ext.diffusion.train import TrainConfig, Trainer, config_from_checkpoint, load_checkpoint
    from vision_ext.training.checkpoint import CheckpointError

    if args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    if args.image_size < 4 or args.image_size % 2:
        raise UsageError(f"--image-size must be an even number >= 4, got {args.image_size}")
    checks.at_least("--batch-size", args.batch_size, example=64)
    checks.at_least("--base-channels", args.base_channels, example=32)
    checks.at_least("--checkpoint-every", args.checkpoint_every, example=250)
    checks.number("--lr", args.lr, 0, low_open=True, example=2e-4)
    checks.number("--min-snr-gamma", args.min_snr_gamma, 0, example=5.0)
    checks.seed("--seed", args.seed)
    if os.path.isdir(args.out):
        raise UsageError(f"--out {args.out}: a folder; give the checkpoint's file path, e.g. {args.out}/ddpm.pt")
    if args.resume:
        if not os.path.exists(args.out):
            raise UsageError(f"--resume: no checkpoint at {args.out}; train without --resume first")
        try:
            state = load_checkpoint(args.out)
            cfg = config_from_checkpoint(state)
            cfg.steps = args.steps
            trainer = Trainer(cfg)
            trainer.load(state)
        except CheckpointError as err:
            raise UsageError(f"--resume: {err}") from None
        if trainer.step >= args.steps:
            raise UsageError(f"--steps {args.steps}: the checkpoint is already at step {trainer.step}")
    else:
        if os.path.exists(args.out) and not args.overwrite:
            raise UsageError(f"--out {args.out} already holds a checkpoint; pass --resume to continue it, "
                             "--overwrite to start again, or another --out")
        cfg = TrainConfig(image_size=args.image_size, base_channels=args.base_channels, batch_size=args.batch_size,
                          lr=args.lr, steps=args.steps, seed=args.seed, prediction_type=args.prediction_type,
                          min_snr_gamma=args.min_snr_gamma, attention_resolutions=(args.image_size // 2,))
        trainer = Trainer(cfg)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=args.steps, initial=trainer.step, desc="ddpm train")

    def on_step(step, loss):
        if bar:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}")

    try:
        trainer.run(args.steps, checkpoint=args.out, every=args.checkpoint_every, on_step=on_step)
    finally:
        if bar:
            bar.close()
    print(f"step {trainer.step}: loss {sum(trainer.losses[-50:]) / len(trainer.losses[-50:]):.4f} "
          f"(first 50 steps: {sum(trainer.losses[:50]) / len(trainer.losses[:50]):.4f}); wrote {args.out}")
    return 0


def run_sample(args):
    import torch

    import vision_ext.nn
    from vision_ext.diffusion.pipeline import make_scheduler, sample
    from vision_ext.diffusion.train import load_ema_model
    from vision_ext.training.checkpoint import CheckpointError

    if not os.path.exists(args.checkpoint):
        raise UsageError(f"--checkpoint: {args.checkpoint} does not exist; run `vision-ext ddpm train` first")
    if args.num < 1 or args.steps < 1:
        raise UsageError("--num and --steps must be at least 1")
    checks.number("--eta", args.eta, 0, 1, example=0.5)
    if args.eta and args.sampler != "ddim":
        raise UsageError(f"--eta applies to --sampler ddim only (got --sampler {args.sampler})")
    checks.seed("--seed", args.seed)
    checks.output_file("-o/--output", args.output, GRID_EXTENSIONS)
    try:
        model, cfg = load_ema_model(args.checkpoint)
    except CheckpointError as err:
        raise UsageError(f"--checkpoint: {err}") from None
    vision_ext.nn.fuse(model)  # eval weights are final: 3x3 convs of >= 64 channels go onto Winograd
    if args.steps > cfg.num_train_timesteps:
        raise UsageError(f"--steps must be at most {cfg.num_train_timesteps} (the training timesteps)")
    sched = make_scheduler(args.sampler, num_train_timesteps=cfg.num_train_timesteps,
                           beta_schedule=cfg.beta_schedule, prediction_type=cfg.prediction_type)
    g = torch.Generator().manual_seed(args.seed)
    x = sample(model, sched, (args.num, 1, cfg.image_size, cfg.image_size), args.steps, generator=g, eta=args.eta,
               progress=True)
    save_grid(x, args.output)
    print(f"wrote {args.output} ({args.num} samples, {args.sampler}, {args.steps} steps)")
    return 0


def save_grid(x, path: str) -> None:
    import math

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    imgs = ((x.clamp(-1, 1) + 1) / 2)[:, 0].numpy()
    n = len(imgs)
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / cols))
    h, w = imgs.shape[1:]
    import numpy as np
    grid = np.ones((rows * (h + 1) + 1, cols * (w + 1) + 1))
    for i, im in enumerate(imgs):
        r, c = divmod(i, cols)
        grid[1 + r * (h + 1):1 + r * (h + 1) + h, 1 + c * (w + 1):1 + c * (w + 1) + w] = im
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    plt.imsave(path, grid, cmap="gray", vmin=0, vmax=1)
