"""Gaussian noise drawn the way diffusers' pipelines draw it, so the same torch.Generator gives the
same latents: on the generator's device (CPU generators draw on the CPU, then move), and one
draw per sample when a list of generators is given."""
from typing import List, Optional, Sequence, Union

import torch

Generator = Optional[Union[torch.Generator, List[torch.Generator]]]


def randn(shape: Sequence[int], generator: Generator, device, dtype: torch.dtype) -> torch.Tensor:
    device = torch.device(device)
    if isinstance(generator, (list, tuple)):
        if len(generator) != shape[0]:
            raise ValueError(f"generator: a list of {len(generator)} generators for a batch of {shape[0]}; "
                             "pass one generator per sample")
        return torch.cat([randn((1, *shape[1:]), g, device, dtype) for g in generator])
    draw_device = device if generator is None else generator.device
    if draw_device.type != device.type and draw_device.type != "cpu":
        raise ValueError(f"generator: a {draw_device.type} generator cannot make {device.type} noise; "
                         "use a CPU generator or one on the model's device")
    return torch.randn(tuple(shape), generator=generator, device=draw_device, dtype=dtype).to(device)
