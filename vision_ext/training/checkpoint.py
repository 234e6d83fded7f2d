"""Atomic checkpoints, their checked loading, and the RNG states that make a resumed run bit-identical."""
import glob
import os
import random
import tempfile
from typing import Optional

import numpy as np
import torch

CHECKPOINT_NAME = "checkpoint.pt"

# The top-level keys each kind of checkpoint holds, by the command that writes it.
KINDS = {
    "vision-ext train": ("model", "optimizer", "scheduler", "scaler", "epoch", "rng", "recipe"),
    "vision-ext ddpm train": ("config", "model", "ema", "opt", "step", "gen", "torch_rng", "losses"),
}


class CheckpointError(ValueError):
    """A checkpoint path that cannot be resumed or sampled from; the message says why and what to do."""


def _fsync_dir(folder: str) -> None:
    # The rename itself is durable only once the folder's entry is on disk (power loss, not just a kill).
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str, write, mode: str = "wb") -> None:
    """write(file) into a temp file in path's folder, then os.replace: a crash or kill at any moment
    leaves either the previous file or the new one, never half a file."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    prefix = os.path.basename(path) + "."
    fd, tmp = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, mode) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_dir(folder)
    # Temp files of writes that were killed (SIGKILL skips the cleanup above): one process writes a path.
    for stale in glob.glob(os.path.join(glob.escape(folder), glob.escape(prefix) + "*.tmp")):
        os.remove(stale)


def atomic_save(obj, path: str) -> None:
    """torch.save through atomic_write."""
    if os.path.isdir(path):
        raise CheckpointError(f"{path} is a folder; give a checkpoint file path")
    atomic_write(path, lambda f: torch.save(obj, f))


def _kind_of(state) -> str:
    for kind, keys in KINDS.items():
        if isinstance(state, dict) and all(k in state for k in keys):
            return kind
    return ""


def load(path: str, kind: Optional[str] = None) -> dict:
    """The checkpoint at `path`, checked to be readable and, given `kind` (a key of KINDS), of that kind;
    otherwise a one-line CheckpointError naming the file and the problem."""
    if not os.path.exists(path):
        raise CheckpointError(f"{path} does not exist")
    if os.path.isdir(path):
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"{path} is empty (0 bytes), not a checkpoint")
    try:
        # weights_only=False: the checkpoint holds numpy/python RNG states, written by us.
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # truncated zip, foreign pickle, text...: all mean "not a readable checkpoint"
        reason = (str(err).strip().splitlines() or [""])[0][:160]
        raise CheckpointError(f"{path} is not a readable PyTorch checkpoint (truncated or another kind of file: "
                              f"{type(err).__name__}: {reason})") from None
    found = _kind_of(state)
    if kind is not None and found != kind:
        what = f"a `{found}` checkpoint" if found else "not a vision_ext checkpoint"
        raise CheckpointError(f"{path} is {what}; expected one written by `{kind}`")
    return state


def rng_states() -> dict:
    states = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict) -> None:
    torch.set_rng_state(states["torch"])
    np.random.set_state(states["numpy"])
    random.setstate(states["python"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
