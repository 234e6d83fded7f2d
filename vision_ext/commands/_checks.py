"""Up-front checks of command-line values: each failure is a UsageError that names the option and the fix
(one line and exit status 2 from vision_ext.cli, never a traceback or a run on NaN)."""
import math
import os

from vision_ext.cli import UsageError

SEED_MAX = 2 ** 63 - 1


def at_least(option: str, value: int, low: int = 1, example=None) -> None:
    if value < low:
        raise UsageError(f"{option} must be an integer >= {low}, got {value}"
                         + (f"; e.g. {option} {example}" if example is not None else ""))


def number(option: str, value: float, low: float = None, high: float = None, low_open: bool = False,
           example=None) -> None:
    """A finite float within [low, high] ((low, high] with low_open); either bound may be absent."""
    bad = not math.isfinite(value) or (low is not None and (value <= low if low_open else value < low)) \
        or (high is not None and value > high)
    if bad:
        if low is not None and high is not None:
            span = f" in {'(' if low_open else '['}{low}, {high}]"
        elif low is not None:
            span = f" {'>' if low_open else '>='} {low}"
        else:
            span = f" <= {high}" if high is not None else ""
        raise UsageError(f"{option} must be a finite number{span}, got {value}"
                         + (f"; e.g. {option} {example}" if example is not None else ""))


def seed(option: str, value: int) -> None:
    if not 0 <= value <= SEED_MAX:
        raise UsageError(f"{option} must be in [0, 2^63 - 1], got {value}")


def output_dir(option: str, path: str) -> None:
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{option} {path}: an existing file, not a folder; give a folder path (created if missing)")


def output_file(option: str, path: str, extensions) -> None:
    """A file path to write: not a folder, with an extension the writer knows, in a folder that exists or
    can be made (the parent is not a file)."""
    if os.path.isdir(path):
        raise UsageError(f"{option} {path}: a folder; give a file path such as {os.path.join(path, 'out.png')}")
    ext = os.path.splitext(path)[1].lower().lstrip(".")
    if ext not in extensions:
        raise UsageError(f"{option} {path}: unknown image extension {('.' + ext) if ext else '(none)'}; "
                         f"use one of {', '.join('.' + e for e in sorted(extensions))}")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise UsageError(f"{option} {path}: {parent} is a file, so the folder cannot be made")


def device(option: str, text: str):
    """A torch.device from text, usable on this machine."""
    import torch

    try:
        dev = torch.device(text)
    except RuntimeError:
        raise UsageError(f"{option} {text!r}: not a device; use cpu or cuda (cuda:N)") from None
    if dev.type not in ("cpu", "cuda"):
        raise UsageError(f"{option} {text!r}: vision_ext runs on cpu or cuda")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(f"{option} {text}: no CUDA device is visible to PyTorch; use {option} cpu")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UsageError(f"{option} {text}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return dev
