"""`vision-ext sd generate`: text-to-image with a Stable Diffusion checkpoint in diffusers' folder layout."""
import argparse
import os

from vision_ext.cli import UsageError

DTYPES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}


def register(sub):
    p = sub.add_parser("sd", help="Stable Diffusion: generate images from a diffusers-format SD folder",
                       description=("Stable Diffusion 1.x/2.x on vision_ext's models (vision_ext.sd); the checkpoint "
                                    "is a local diffusers-format folder (nothing is downloaded).\n\nExamples:\n"
                                    "  vision-ext sd generate \"a photo of a cat\" "
                                    "--checkpoint ./stable-diffusion-v1-5 -o cat.png\n"
                                    "  vision-ext sd generate \"a castle\" --checkpoint SD --sampler ddim --steps 30 "
                                    "--num-images 4 --seed 1 -o castle.png"),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    cmds = p.add_subparsers(dest="sd_command", metavar="ACTION")
    g = cmds.add_parser("generate", help="write PNG images for a prompt")
    g.add_argument("prompt", help="the text prompt")
    g.add_argument("--checkpoint", required=True, help="diffusers-format SD folder (model_index.json, unet/, ...)")
    g.add_argument("--negative-prompt", default=None, help="what to steer away from (default: the empty prompt)")
    g.add_argument("--height", type=int, default=None, help="pixels (default: the U-Net's sample size x 8)")
    g.add_argument("--width", type=int, default=None)
    g.add_argument("--steps", type=int, default=50, help="inference steps (default 50)")
    g.add_argument("--guidance-scale", "--guidance", dest="guidance_scale", type=float, default=7.5,
                   help="classifier-free guidance (default 7.5)")
    g.add_argument("--sampler", default=None, choices=["ddim", "ddpm", "plms"],
                   help="default: the folder's scheduler (PNDM -> plms), ddim for other classes")
    g.add_argument("--eta", type=float, default=0.0, help="DDIM eta (default 0)")
    g.add_argument("-n", "--num-images", type=int, default=1, help="images for the prompt (default 1)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    g.add_argument("--dtype", default="fp32", choices=list(DTYPES), help="weights' dtype (default fp32)")
    g.add_argument("-o", "--output", default="sd.png",
                   help="PNG path; with several images NAME-0.png, NAME-1.png, ... (default sd.png)")
    g.add_argument("--grid", action=argparse.BooleanOptionalAction, default=None,
                   help="write the images as one grid PNG at -o (default: a grid when -o's name holds 'grid')")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.set_defaults(func=run_generate)
    from vision_ext.commands import _sd_train

    t = cmds.add_parser("train", help="train a small SD on bundled digits into a diffusers-format folder",
                        description=_sd_train.EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _sd_train.add_arguments(t)
    t.set_defaults(func=_sd_train.run_train)
    from vision_ext.commands import _sd_evaluate

    e = cmds.add_parser("evaluate", help="share of generated digits a classifier reads as the prompt's digit",
                        description=_sd_evaluate.DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    _sd_evaluate.add_arguments(e)
    e.set_defaults(func=_sd_evaluate.run_evaluate)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def output_paths(output: str, n: int):
    if n == 1:
        return [output]
    stem, ext = os.path.splitext(output)
    return [f"{stem}-{i}{ext or '.png'}" for i in range(n)]


def run_generate(args):
    import torch

    from vision_ext.sd import StableDiffusionPipeline

    if not os.path.isfile(os.path.join(args.checkpoint, "model_index.json")):
        raise UsageError(f"--checkpoint: {args.checkpoint} is not a diffusers-format Stable Diffusion folder "
                         "(no model_index.json)")
    if args.steps < 1 or args.num_images < 1:
        raise UsageError("--steps and --num-images must be at least 1")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available; use --device cpu")
    pipe = StableDiffusionPipeline.from_pretrained(args.checkpoint, torch_dtype=getattr(torch, DTYPES[args.dtype]),
                                                   sampler=args.sampler).to(args.device)
    pipe.set_progress_bar_config(disable=args.no_progress, desc="sd generate")
    try:
        images = pipe(args.prompt, negative_prompt=args.negative_prompt, height=args.height, width=args.width,
                      num_inference_steps=args.steps, guidance_scale=args.guidance_scale,
                      num_images_per_prompt=args.num_images, eta=args.eta,
                      generator=torch.Generator().manual_seed(args.seed)).images
    except ValueError as err:
        raise UsageError(str(err)) from None
    grid = args.grid if args.grid is not None else "grid" in os.path.basename(args.output).lower()
    if grid:
        images, paths = [image_grid(images)], [args.output]
    else:
        paths = output_paths(args.output, len(images))
    for image, path in zip(images, paths):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        image.save(path)
    what = f"a grid of {args.num_images}" if grid else f"{image.size[0]}x{image.size[1]}"
    print(f"wrote {', '.join(paths)} ({what}, {args.steps} steps)")
    return 0


def image_grid(images):
    """PIL images of one size -> one PIL image, near-square, with a 1-pixel white border between them."""
    import math

    from PIL import Image

    w, h = images[0].size
    cols = int(math.ceil(math.sqrt(len(images))))
    rows = int(math.ceil(len(images) / cols))
    grid = Image.new(images[0].mode, (cols * (w + 1) + 1, rows * (h + 1) + 1), "white")
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        grid.paste(im, (1 + c * (w + 1), 1 + r * (h + 1)))
    return grid
