"""`vision-ext sd train`: the options and the run (vision_ext.sd.training)."""
import os

from vision_ext.cli import UsageError
from vision_ext.commands import _checks as checks

EXAMPLES = """Trains on scikit-learn's digits (no download), in three stages: the KL autoencoder, a CLIP-style
text encoder (contrastive, on captions such as "a thick handwritten digit seven"), then the U-Net on latents
with both frozen. DIR becomes a diffusers-format folder for `vision-ext sd generate --checkpoint DIR`;
DIR/metrics.json holds per-stage metrics, DIR/train_state.pt the checkpoint that --resume continues.

Examples:
  vision-ext sd train --out runs/sd-digits                 # defaults: tens of minutes on a laptop CPU
  vision-ext sd train --quick --out runs/sd-quick          # smaller and shorter: a few minutes
  vision-ext sd train --out runs/sd-digits --resume        # continue an interrupted run exactly"""


def add_arguments(t) -> None:
    t.add_argument("--out", required=True, metavar="DIR", help="output folder (the SD folder, metrics, checkpoint)")
    t.add_argument("--quick", action="store_true", help="smaller models and fewer steps (a few CPU minutes)")
    t.add_argument("--seed", type=int, default=0)
    for stage in ("vae", "text", "unet"):
        t.add_argument(f"--{stage}-steps", type=int, default=None, metavar="N",
                       help=f"optimisation steps of the {stage} stage (default: the preset's)")
    t.add_argument("--caption-dropout", type=float, default=None, metavar="P",
                   help="probability of training the U-Net on the empty caption (default 0.1)")
    t.add_argument("--checkpoint-every", type=int, default=200, metavar="N", help="steps between checkpoints (200)")
    t.add_argument("--stop-after", type=int, default=None, metavar="STEP",
                   help="stop at this overall step (all stages counted), saved as if interrupted; --resume goes on")
    t.add_argument("--resume", action="store_true", help="continue the run in DIR with its saved settings")
    t.add_argument("--overwrite", action="store_true", help="start afresh in a DIR that already holds a run")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")


def _config(args):
    from vision_ext.sd.training.config import SDTrainConfig, quick_config

    checks.seed("--seed", args.seed)
    cfg = quick_config(args.seed) if args.quick else SDTrainConfig(seed=args.seed)
    for stage in ("vae", "text", "unet"):
        value = getattr(args, f"{stage}_steps")
        if value is not None:
            checks.at_least(f"--{stage}-steps", value, example=100)
            setattr(cfg, f"{stage}_steps", value)
    if args.caption_dropout is not None:
        checks.number("--caption-dropout", args.caption_dropout, 0, 0.99, example=0.1)
        cfg.caption_dropout = args.caption_dropout
    return cfg


def _check_out(args) -> None:
    from vision_ext.sd.training.run import STATE_NAME

    checks.output_dir("--out", args.out)
    state = os.path.join(args.out, STATE_NAME)
    if args.resume and not os.path.isfile(state):
        raise UsageError(f"--resume: {args.out} holds no run ({STATE_NAME} is missing); train without --resume")
    if args.resume and args.overwrite:
        raise UsageError("--resume and --overwrite contradict each other; pass one")
    if not args.resume and not args.overwrite and os.path.isdir(args.out) and (
            os.path.exists(state) or os.path.exists(os.path.join(args.out, "model_index.json"))):
        raise UsageError(f"--out {args.out} already holds a run; pass --resume to continue it, --overwrite to "
                         "start again, or another --out")


def run_train(args):
    from vision_ext.sd.training.config import SDTrainConfig
    from vision_ext.sd.training.run import DONE, SDTrainRun, read_state
    from vision_ext.training.checkpoint import CheckpointError

    checks.at_least("--checkpoint-every", args.checkpoint_every, example=200)
    if args.stop_after is not None:
        checks.at_least("--stop-after", args.stop_after, example=500)
    _check_out(args)
    if args.resume:
        try:
            state = read_state(args.out)
            cfg = SDTrainConfig.from_dict(state["config"])
            run = SDTrainRun(cfg, args.out, state)
        except (CheckpointError, KeyError, TypeError, ValueError) as err:
            raise UsageError(f"--resume: {err}") from None
        if run.stage_name == DONE:
            raise UsageError(f"--resume: the run in {args.out} is already finished")
    else:
        cfg = _config(args)
        run = SDTrainRun(cfg, args.out)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.total_steps(), initial=run.global_step, desc="sd train")

    def on_step(stage, step, values):
        if bar:
            bar.update(1)
            bar.set_description(f"sd train [{stage}]")
            bar.set_postfix(loss=f"{values['loss']:.4f}")

    try:
        finished = run.run(stop_after=args.stop_after, checkpoint_every=args.checkpoint_every, on_step=on_step)
    finally:
        if bar:
            bar.close()
    for name, s in run.metrics["stages"].items():
        recs = s["records"]
        losses = f"loss {recs[0]['loss']:.4f} -> {recs[-1]['loss']:.4f}" if recs else "no metrics record yet"
        print(f"{name}: {losses} ({s['seconds']:.0f} s)")
    if finished:
        print(f"wrote the Stable Diffusion folder {args.out} (metrics in {args.out}/metrics.json)")
    else:
        print(f"stopped at overall step {run.global_step} of {cfg.total_steps()}; --resume continues")
    return 0
