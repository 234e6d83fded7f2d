"""What a scheduler's `step` returns: the fields as attributes and as a read-only mapping, the way
diffusers' step outputs behave (`out.prev_sample`, `out["prev_sample"]`, `out[0]`, `out.keys()`,
`out.to_tuple()`); fields that are None are left out of the mapping and the tuple."""
from collections.abc import Mapping
from typing import Optional

from torch import Tensor

_FIELDS = ("prev_sample", "pred_original_sample")


class SchedulerOutput(Mapping):
    """The sample at the previous timestep and, for DDPM and DDIM, the predicted x0.

    Strings index the mapping (its keys are the fields that are not None); ints and slices index
    `to_tuple()`. Built on every step, so it stays a two-slot object with no per-call dict."""

    __slots__ = _FIELDS

    def __init__(self, prev_sample: Tensor, pred_original_sample: Optional[Tensor] = None):
        self.prev_sample = prev_sample
        self.pred_original_sample = pred_original_sample

    def keys(self):
        return [k for k in _FIELDS if getattr(self, k) is not None]

    def to_tuple(self) -> tuple:
        """The fields that are not None, in order: what step(..., return_dict=False) returns."""
        return tuple(getattr(self, k) for k in self.keys())

    def __getitem__(self, key):
        if isinstance(key, str):
            value = getattr(self, key, None) if key in _FIELDS else None
            if value is None:
                raise KeyError(key)
            return value
        return self.to_tuple()[key]

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}=<{tuple(getattr(self, k).shape)}>" for k in self.keys())
        return f"SchedulerOutput({shapes})"
