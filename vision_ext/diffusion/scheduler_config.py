"""Scheduler configs in diffusers' format: a read-only mapping with attribute access, built from
the constructor's arguments, loaded from and saved to `scheduler_config.json`.

A config is a dict (so diffusers' `from_config` takes ours), frozen, and readable as
`config.num_train_timesteps` or `config["num_train_timesteps"]`. Like diffusers', it lists under
`_use_default_values` the arguments that were left at their defaults, and `from_config` drops those
so the target class's own defaults apply. A saved folder loads in diffusers and theirs in ours.
"""
import functools
import inspect
import json
import os
import warnings
from collections.abc import Mapping
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

CONFIG_NAME = "scheduler_config.json"
# The diffusers release whose file format we write (`_diffusers_version` in saved configs).
DIFFUSERS_FORMAT_VERSION = "0.42.1"
_DEFAULTS_KEY = "_use_default_values"


class FrozenConfig(dict):
    """A read-only dict whose keys are also attributes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Entries as instance attributes too: a step reads several, and a failed normal lookup
        # before __getattr__ costs about a microsecond each (names of dict methods stay methods).
        self.__dict__.update({k: v for k, v in self.items() if isinstance(k, str) and not hasattr(dict, k)})

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"config has no entry {name!r}") from None

    def _frozen(self, *args, **kwargs):
        raise TypeError("scheduler config is read-only: build a new scheduler with "
                        "Cls.from_config(config, name=value) to change an entry")

    __setattr__ = __delattr__ = __setitem__ = __delitem__ = _frozen
    update = pop = popitem = setdefault = clear = __ior__ = _frozen

    def __reduce__(self):  # pickle/deepcopy rebuild it whole (item assignment is refused)
        return FrozenConfig, (dict(self),)

    def __repr__(self) -> str:
        return f"FrozenConfig({dict.__repr__(self)})"


def records_config(init):
    """Decorator for a scheduler's __init__: registers every argument (defaults filled in) as the
    scheduler's config before the body runs, and notes which were defaults."""
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        given = set(bound.arguments) - {"self"}
        bound.apply_defaults()
        values = {k: v for k, v in bound.arguments.items() if k != "self"}
        defaults = sorted(set(values) - given)
        self.register_to_config(**values, **({_DEFAULTS_KEY: defaults} if defaults else {}))
        init(self, *args, **kwargs)

    return wrapper


def init_keys(cls) -> set:
    return set(inspect.signature(cls.__init__).parameters) - {"self", "args", "kwargs"}


def split_config(cls, config: Mapping, kwargs: Dict[str, Any], related_keys: set):
    """(init kwargs, unused kwargs, hidden entries) for `cls` from a config mapping plus overrides,
    as diffusers splits them: entries that were defaults where the config was made are dropped,
    overrides win, entries private ('_...') or known to a related class are passed over silently,
    and any other unknown entry gets a warning."""
    config = dict(config)
    defaults = set(config.pop(_DEFAULTS_KEY, None) or ())
    config = {k: v for k, v in config.items() if k not in defaults}
    original = dict(config)
    expected = init_keys(cls)
    kwargs = dict(kwargs)
    init = {}
    for key in expected:
        if key in kwargs:
            init[key] = kwargs.pop(key)
            config.pop(key, None)
        elif key in config:
            init[key] = config.pop(key)
    unknown = {k: v for k, v in config.items() if not k.startswith("_") and k not in related_keys}
    if unknown:
        warnings.warn(f"{cls.__name__}.from_config: the config entries {unknown} are not arguments of "
                      f"{cls.__name__} and are ignored", stacklevel=3)
    hidden = {k: v for k, v in original.items() if k not in init}
    return init, {**unknown, **kwargs}, hidden


def _json_value(value):
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def to_json_string(config: Mapping, class_name: str) -> str:
    """diffusers' scheduler_config.json text: sorted keys, 2-space indent, `_class_name` and
    `_diffusers_version` added, `_use_default_values` left out (as diffusers leaves it out)."""
    out = {k: _json_value(v) for k, v in config.items() if k not in (_DEFAULTS_KEY, "_ignore_files")}
    out["_class_name"] = class_name
    out["_diffusers_version"] = DIFFUSERS_FORMAT_VERSION
    return json.dumps(out, indent=2, sort_keys=True) + "\n"


def config_file(path, subfolder: Optional[str] = None) -> str:
    """The scheduler_config.json for a file or a folder (looked for in `subfolder` first, then the
    folder itself, as diffusers looks)."""
    path = os.fspath(path)
    if os.path.isfile(path):
        return path
    if os.path.isdir(path):
        candidates = [os.path.join(path, subfolder, CONFIG_NAME)] if subfolder else []
        candidates.append(os.path.join(path, CONFIG_NAME))
        for c in candidates:
            if os.path.isfile(c):
                return c
        raise FileNotFoundError(f"pretrained_model_name_or_path: no {CONFIG_NAME} in {' or '.join(candidates)}")
    raise FileNotFoundError(f"pretrained_model_name_or_path: {path!r} is not a local file or folder (hub ids "
                            "are not fetched here: download the folder first, e.g. huggingface_hub.snapshot_download)")


def read_config(path, subfolder: Optional[str] = None) -> Dict[str, Any]:
    file = config_file(path, subfolder)
    with open(file, encoding="utf-8") as f:
        try:
            config = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{file}: not a valid JSON scheduler config ({e})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{file}: expected a JSON object, got {type(config).__name__}")
    return config


class ConfigMixin:
    """config / from_config / save_config / save_pretrained / from_pretrained / load_config with
    diffusers' signatures (local folders only)."""

    config_name = CONFIG_NAME
    # Name written as `_class_name`: the diffusers class this one drops in for.
    _diffusers_class_name: str = ""
    # Classes whose arguments from_config passes over without a warning (a DDPM config given to DDIM).
    _related: Tuple[type, ...] = ()

    @property
    def config(self) -> FrozenConfig:
        return self._config

    @property
    def _internal_dict(self) -> FrozenConfig:
        return self._config

    @_internal_dict.setter
    def _internal_dict(self, value: Mapping) -> None:
        # diffusers' Stable Diffusion pipelines repair old configs (steps_offset, clip_sample) by
        # assigning scheduler._internal_dict; set_timesteps and step read the repaired entries.
        object.__setattr__(self, "_config", FrozenConfig(value))

    def register_to_config(self, **entries) -> None:
        """Add or replace config entries (the config itself stays read-only)."""
        object.__setattr__(self, "_config", FrozenConfig({**getattr(self, "_config", {}), **entries}))

    @classmethod
    def from_config(cls, config: Optional[Mapping] = None, return_unused_kwargs: bool = False, **kwargs):
        """A scheduler from a config mapping (ours, a plain dict, or a diffusers scheduler's `config`);
        `kwargs` override entries. Unknown entries are ignored with a warning."""
        if config is None:
            config = kwargs.pop("pretrained_model_name_or_path", None)
        if isinstance(config, (str, os.PathLike)):
            raise TypeError(f"config: {cls.__name__}.from_config takes a config mapping; to read a folder use "
                            f"{cls.__name__}.from_pretrained({os.fspath(config)!r})")
        if not isinstance(config, Mapping):
            raise TypeError("config: expected a mapping such as scheduler.config or a dict, got "
                            f"{type(config).__name__}")
        related = set().union(*(init_keys(c) for c in cls._related)) if cls._related else set()
        init, unused, hidden = split_config(cls, config, kwargs, related)
        scheduler = cls(**init)
        if "_class_name" in hidden:
            hidden["_class_name"] = cls._diffusers_class_name
        scheduler.register_to_config(**hidden)
        return (scheduler, {**unused, **hidden}) if return_unused_kwargs else scheduler

    @classmethod
    def load_config(cls, pretrained_model_name_or_path, subfolder: Optional[str] = None,
                    return_unused_kwargs: bool = False, **kwargs):
        """The config dict stored in a folder (or its `subfolder`, e.g. 'scheduler') or a JSON file."""
        config = read_config(pretrained_model_name_or_path, subfolder)
        return (config, kwargs) if return_unused_kwargs else config

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, subfolder: Optional[str] = None,
                        return_unused_kwargs: bool = False, **kwargs):
        """A scheduler from a folder written by save_pretrained here or in diffusers."""
        return cls.from_config(read_config(pretrained_model_name_or_path, subfolder),
                               return_unused_kwargs=return_unused_kwargs, **kwargs)

    def to_json_string(self) -> str:
        return to_json_string(self.config, self._diffusers_class_name)

    def save_config(self, save_directory, push_to_hub: bool = False, **kwargs) -> None:
        """Write `save_directory/scheduler_config.json` in diffusers' format."""
        if push_to_hub:
            raise ValueError("push_to_hub: not supported here; save locally and upload with huggingface_hub")
        save_directory = os.fspath(save_directory)
        if os.path.isfile(save_directory):
            raise ValueError(f"save_directory: {save_directory!r} is a file; expected a folder")
        os.makedirs(save_directory, exist_ok=True)
        with open(os.path.join(save_directory, self.config_name), "w", encoding="utf-8") as f:
            f.write(self.to_json_string())

    def save_pretrained(self, save_directory, push_to_hub: bool = False, **kwargs) -> None:
        """The same as save_config (a scheduler has no weights)."""
        self.save_config(save_directory, push_to_hub=push_to_hub, **kwargs)
