"""The `vision-ext` command (also `python -m vision_ext.cli`).

Subcommands live in vision_ext/commands/<name>.py; each defines
`register(subparsers)` adding its parser with `func=` set to its handler.
"""
import argparse
import sys

from vision_ext._discover import import_submodules


def build_parser() -> argparse.ArgumentParser:
    from vision_ext import commands

    parser = argparse.ArgumentParser(
        prog="vision-ext",
        description="vision_ext: fast classic computer vision and ResNet/diffusion kernels for PyTorch.",
        epilog="Examples:\n  vision-ext info\n  vision-ext bench --quick\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in import_submodules(commands.__name__, commands.__path__):
        module.register(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UsageError as err:
        parser.exit(2, f"vision-ext {args.command}: error: {err}\n")
    except KeyboardInterrupt as err:
        # Training saves before it raises (vision_ext.training.interrupt); anything else just stops.
        parser.exit(130, f"vision-ext {args.command}: {err or 'interrupted'}\n")


class UsageError(Exception):
    """A bad argument; the message names it and the fix."""


if __name__ == "__main__":
    # Under `python -m` this file is __main__: run the imported module so that the
    # UsageError the commands raise (vision_ext.cli.UsageError) is the one caught.
    from vision_ext.cli import main as _main

    sys.exit(_main())
