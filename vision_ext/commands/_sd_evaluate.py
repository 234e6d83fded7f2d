"""`vision-ext sd evaluate`: how often a digit classifier reads the generated images as the digit the prompt
asked for, with classifier-free guidance and without (vision_ext.sd.training.evaluate)."""
import os

from vision_ext.cli import UsageError
from vision_ext.commands import _checks as checks

DESCRIPTION = """For each digit, generates --per-digit images of "a handwritten digit <name>" with a folder from
`vision-ext sd train`, at --guidance and at guidance 1 (no guidance), from the same noise, and classifies them with
a digit classifier trained on the real digits' training split (an RBF SVM on the 8x8 grid; its held-out accuracy
is printed). Prints per-digit and overall accuracy; --json writes them.

Examples:
  vision-ext sd evaluate --checkpoint runs/sd-digits
  vision-ext sd evaluate --checkpoint runs/sd-digits --per-digit 50 --guidance 3 --json eval.json"""


def add_arguments(e) -> None:
    e.add_argument("--checkpoint", required=True, metavar="DIR", help="a folder written by `vision-ext sd train`")
    e.add_argument("--guidance", type=float, default=5.0, help="classifier-free guidance scale to measure (5)")
    e.add_argument("--per-digit", type=int, default=20, metavar="N", help="images per digit and guidance (20)")
    e.add_argument("--steps", type=int, default=50, help="inference steps (50)")
    e.add_argument("--sampler", default="ddim", choices=["ddim", "ddpm", "plms"])
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--json", default=None, metavar="PATH", help="also write the figures as JSON")
    e.add_argument("--no-progress", action="store_true", help="no progress bars")


def run_evaluate(args):
    from vision_ext.sd.training.data import caption_words
    from vision_ext.sd.training.evaluate import evaluate, format_table, write_report

    if not os.path.isfile(os.path.join(args.checkpoint, "model_index.json")):
        raise UsageError(f"--checkpoint: {args.checkpoint} is not a Stable Diffusion folder (no model_index.json); "
                         "train one with `vision-ext sd train --out DIR`")
    from vision_ext.sd import CLIPTokenizer

    try:
        tok = CLIPTokenizer.from_pretrained(os.path.join(args.checkpoint, "tokenizer"))
    except (OSError, ValueError) as err:
        raise UsageError(f"--checkpoint: {args.checkpoint}/tokenizer: {err}") from None
    if any(len(tok(w).input_ids) != 3 for w in caption_words()):
        raise UsageError(f"--checkpoint: {args.checkpoint}'s tokenizer does not know the digit captions; "
                         "evaluate a folder written by `vision-ext sd train`")
    checks.number("--guidance", args.guidance, 1, 100, low_open=True, example=5)
    checks.at_least("--per-digit", args.per_digit, example=20)
    checks.at_least("--steps", args.steps, example=50)
    checks.seed("--seed", args.seed)
    if args.json is not None and os.path.isdir(args.json):
        raise UsageError(f"--json {args.json}: a folder; give a file path such as "
                         f"{os.path.join(args.json, 'eval.json')}")
    report = evaluate(args.checkpoint, (args.guidance, 1.0), args.per_digit, args.steps, args.sampler, args.seed,
                      progress=not args.no_progress)
    print(format_table(report))
    if args.json:
        write_report(report, args.json)
        print(f"wrote {args.json}")
    return 0
