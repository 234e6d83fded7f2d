"""Model configs: the constructor's arguments kept as a dict with attribute access
(`model.config.scaling_factor`, as diffusers' and transformers' configs read)."""
import inspect


class Config(dict):
    """A dict whose keys also read as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def init_args(cls, config: dict) -> dict:
    """The entries of `config` that cls.__init__ accepts (metadata such as _class_name dropped)."""
    params = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in config.items() if k in params and k != "self"}


def record(cls, values: dict) -> Config:
    """Config holding every __init__ argument of cls: the given values over the defaults."""
    params = inspect.signature(cls.__init__).parameters
    out = {k: p.default for k, p in params.items() if k != "self" and p.default is not inspect.Parameter.empty}
    out.update(values)
    return Config(out)


def per_block(name: str, value, n: int) -> tuple:
    """An int/str config entry repeated for n blocks, or a sequence checked to have n entries."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name}: expected {n} entries (one per block), got {len(value)}")
        return tuple(value)
    return (value,) * n
