"""Reading diffusers/transformers component folders from disk (never a download).

A component folder holds `config.json` and its weights as `<name>.safetensors`, `<name>.bin`,
a variant such as `<name>.fp16.safetensors`, or shards listed in `<name>.safetensors.index.json`.
"""
import json
import os
from typing import Callable, Dict, Iterable, Optional

import torch
from torch import nn

WEIGHT_NAMES = ("diffusion_pytorch_model", "model", "pytorch_model")


def check_folder(path, what: str) -> str:
    """`path` as a str, or a clear error when it is not a local folder."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise FileNotFoundError(f"{what}: {path!r} is not a folder; from_pretrained reads a local "
                                "diffusers-format folder (it never downloads): pass the folder's path")
    return path


def read_json(path: str) -> dict:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path} is missing: the folder is not a diffusers/transformers component folder")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def read_config(folder, what: str) -> dict:
    """config.json of a component folder."""
    return read_json(os.path.join(check_folder(folder, what), "config.json"))


def _load_file(path: str) -> Dict[str, torch.Tensor]:
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, map_location="cpu", weights_only=True)


def read_weights(folder: str, variant: Optional[str] = None) -> Dict[str, torch.Tensor]:
    """The state dict stored in a component folder (safetensors preferred over .bin)."""
    suffix = f".{variant}" if variant else ""
    tried = []
    for ext in (".safetensors", ".bin"):
        for name in WEIGHT_NAMES:
            file = os.path.join(folder, name + suffix + ext)
            index = file + ".index.json"
            tried.append(os.path.basename(file))
            if os.path.isfile(file):
                return _load_file(file)
            if os.path.isfile(index):
                shards = sorted(set(read_json(index)["weight_map"].values()))
                state = {}
                for shard in shards:
                    state.update(_load_file(os.path.join(folder, shard)))
                return state
    raise FileNotFoundError(f"{folder}: no weights file found (looked for {', '.join(tried)} and their "
                            ".index.json shards); pass variant= if the files are named e.g. *.fp16.safetensors")


def load_state(module: nn.Module, state: Dict[str, torch.Tensor], what: str,
               rename: Optional[Callable[[str], Optional[str]]] = None) -> None:
    """Load `state` into `module` exactly (every key used, every parameter filled); `rename` maps a
    stored key to ours, or to None to drop it."""
    if rename is not None:
        state = {new: v for new, v in ((rename(k), v) for k, v in state.items()) if new is not None}
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    bad_shape = [f"{k} {tuple(state[k].shape)} (expected {tuple(own[k].shape)})"
                 for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or bad_shape:
        raise ValueError(f"{what}: the weights do not match the config: missing {_few(missing)}; "
                         f"unexpected {_few(unexpected)}; wrong shape {_few(bad_shape)}")
    module.load_state_dict(state, strict=True)


def _few(keys: Iterable[str], n: int = 5) -> str:
    keys = list(keys)
    if not keys:
        return "none"
    return ", ".join(keys[:n]) + (f" and {len(keys) - n} more" if len(keys) > n else "")


def load_component(cls, folder, variant=None, torch_dtype=None, rename=None):
    """cls.from_config(config.json) with the folder's weights loaded, in eval mode."""
    what = f"{cls.__name__}.from_pretrained"
    config = read_config(folder, what)
    model = cls.from_config(config)
    load_state(model, read_weights(os.fspath(folder), variant), what, rename)
    if torch_dtype is not None:
        model = model.to(torch_dtype)
    return model.eval()


class FromPretrained:
    """from_config / from_pretrained for a model whose __init__ takes the config's keys.
    `_rename` maps stored state-dict keys to ours (None: they already match)."""

    _rename = None

    @classmethod
    def from_config(cls, config: dict):
        from vision_ext.sd.config import init_args

        return cls(**init_args(cls, config))

    @classmethod
    def from_pretrained(cls, folder, subfolder: Optional[str] = None, variant: Optional[str] = None,
                        torch_dtype: Optional[torch.dtype] = None):
        """Load a component folder from disk: config.json plus its weights (variant='fp16' for
        *.fp16.safetensors); torch_dtype casts the loaded model."""
        folder = os.path.join(folder, subfolder) if subfolder else folder
        return load_component(cls, folder, variant, torch_dtype, cls._rename)
