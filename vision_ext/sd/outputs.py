"""Output objects with diffusers' and transformers' attribute names, also indexable like their tuples."""
import dataclasses
from typing import Any, Optional

import torch


class _Indexable:
    def __getitem__(self, i):
        if isinstance(i, str):
            return getattr(self, i)
        return tuple(getattr(self, f.name) for f in dataclasses.fields(self))[i]


@dataclasses.dataclass
class UNet2DConditionOutput(_Indexable):
    sample: torch.Tensor


@dataclasses.dataclass
class DecoderOutput(_Indexable):
    sample: torch.Tensor


@dataclasses.dataclass
class AutoencoderKLOutput(_Indexable):
    latent_dist: Any


@dataclasses.dataclass
class CLIPTextOutput(_Indexable):
    last_hidden_state: torch.Tensor
    pooler_output: torch.Tensor
    hidden_states: Optional[tuple] = None


@dataclasses.dataclass
class StableDiffusionPipelineOutput(_Indexable):
    images: Any
    nsfw_content_detected: Optional[list] = None
