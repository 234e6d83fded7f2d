"""Hypothesis strategies shared by the fuzzers: shapes down to 0 and 1, dtypes, memory layouts, and values
with NaN / inf sprinkled in."""
import torch
from hypothesis import strategies as st

LAYOUTS = ("contiguous", "channels_last", "sliced", "expanded")
FLOATS = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def arrange(t: torch.Tensor, layout: str) -> torch.Tensor:
    """The same values as `t` in another memory layout."""
    if t.dim() == 0:
        return t
    if layout == "channels_last" and t.dim() == 4:
        return t.contiguous(memory_format=torch.channels_last)
    if layout == "sliced":
        wide = torch.empty(*t.shape[:-1], 2 * t.shape[-1] + 1, dtype=t.dtype)
        wide[..., 1::2] = t
        return wide[..., 1::2]
    if layout == "expanded" and t.dim() >= 1 and t.shape[0] > 1 and bool((t == t[:1]).all()):
        return t[:1].expand_as(t)
    return t.contiguous()


@st.composite
def tensors(draw, shape, dtype=torch.float32, scale=1.0, special=True, same_rows=False):
    """Random values of `shape` (standard normal x scale, seeded by hypothesis), a few NaN/inf when `special`;
    same_rows repeats the first entry of dim 0 (so that an 'expanded' layout applies)."""
    seed = draw(st.integers(0, 2 ** 31 - 1))
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(shape, generator=g, dtype=torch.float64) * scale
    if special and v.numel() and draw(st.booleans()):
        flat = v.view(-1)
        for _ in range(draw(st.integers(1, 3))):
            flat[draw(st.integers(0, flat.numel() - 1))] = draw(st.sampled_from([float("nan"), float("inf"),
                                                                                  -float("inf")]))
    if same_rows and v.dim() and v.shape[0] > 1:
        v = v[:1].expand_as(v).clone()
    return v.to(dtype)


def nchw(min_n=0, max_n=3, max_c=4, max_hw=6):
    return st.tuples(st.integers(min_n, max_n), st.integers(1, max_c), st.integers(1, max_hw),
                     st.integers(1, max_hw))
