"""Comparison of an op's output with a float64 reference at its dtype's tolerance, NaN where the reference has
NaN, inf where it has inf."""
import torch

# tests/conftest.py's kornia-style table, doubled for half precision: their inputs are already rounded, the
# maths runs in fp32 and the output rounds once more.
TOLERANCES = {torch.float64: (1e-7, 1e-7), torch.float32: (1e-4, 1e-5), torch.float16: (2e-3, 2e-3),
              torch.bfloat16: (1.6e-2, 1.6e-2)}


def close(got: torch.Tensor, want: torch.Tensor, dtype: torch.dtype, scale: float = 1.0,
          non_finite_inputs: bool = False) -> None:
    """With non_finite_inputs, a non-finite reference value must stay non-finite (nothing silently finite),
    finite ones must match where ours is finite too; ours may be NaN where torch's formula is finite (the
    kernels' known deviations, each an xfail reproducer in the fuzz modules)."""
    rtol, atol = TOLERANCES[dtype]
    assert got.shape == want.shape, (got.shape, want.shape)
    got = got.double()
    expect = want.to(dtype).double() if dtype in (torch.float16, torch.bfloat16) else want
    if non_finite_inputs:
        assert not torch.isfinite(got[~torch.isfinite(expect)]).any(), "a NaN/inf was lost"
        keep = torch.isfinite(expect) & torch.isfinite(got)
        got, expect = got[keep], expect[keep]
    torch.testing.assert_close(got, expect, rtol=rtol * scale, atol=atol * scale, equal_nan=True)
