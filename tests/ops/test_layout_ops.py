"""_to_channels_last: the same values as Tensor.contiguous(channels_last), at every CPU level, for every
shape tail of the register transpose; opcheck; the wrapper's fallbacks."""
import pytest
import torch

from tests.conftest import run_at_every_level
from vision_ext.ops.layout import to_channels_last


@pytest.mark.parametrize("shape", [(2, 64, 16, 16), (1, 37, 5, 13), (3, 1, 1, 1), (0, 8, 4, 4), (2, 17, 33, 1)])
def test_matches_contiguous_at_every_level(shape):
    x = torch.randn(*shape)
    ref = x.contiguous(memory_format=torch.channels_last)
    for level, y in run_at_every_level(lambda: torch.ops.vision_ext._to_channels_last(x)).items():
        assert y.is_contiguous(memory_format=torch.channels_last), level
        assert torch.equal(y, ref), level


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_other_dtypes_and_strides(dtype):
    x = torch.randn(2, 20, 9, 7, dtype=torch.float64).to(dtype)[:, ::2]  # strided view
    y = torch.ops.vision_ext._to_channels_last(x)
    assert torch.equal(y, x) and y.is_contiguous(memory_format=torch.channels_last)
    torch.library.opcheck(torch.ops.vision_ext._to_channels_last, (torch.randn(2, 16, 5, 5),))


def test_never_returns_its_input_and_wrapper_fallbacks():
    x = torch.randn(1, 8, 4, 4).contiguous(memory_format=torch.channels_last)
    assert torch.ops.vision_ext._to_channels_last(x).data_ptr() != x.data_ptr()
    assert to_channels_last(x) is x
    g = torch.randn(1, 8, 4, 4, requires_grad=True)
    y = to_channels_last(g)
    y.sum().backward()  # autograd goes through Tensor.contiguous
    assert torch.equal(g.grad, torch.ones_like(g))
    with pytest.raises(RuntimeError, match="expected a 4-D"):
        torch.ops.vision_ext._to_channels_last(torch.randn(3, 4))
