"""Runtime CPU dispatch: levels reported, forced, refused; the override variable; per-level parity of
the Winograd kernels (the other families' parity tests sit with their ops)."""
import os
import subprocess
import sys

import pytest
import torch

import vision_ext
from tests.conftest import at_cpu_level, cpu_levels, run_at_every_level
from vision_ext.ops import residual as R

LEVELS = ["default", "avx2", "avx512"]


def test_build_info_reports_levels():
    info = vision_ext.build_info()
    compiled, supported = info["cpu_capabilities_compiled"], info["cpu_capabilities_supported"]
    assert compiled[0] == "default" and set(compiled) <= set(LEVELS)
    assert supported == compiled[:len(supported)], "supported levels are a prefix of the compiled ones"
    assert info["cpu_capability"] in supported


def test_set_level_round_trip_and_errors():
    start = vision_ext.cpu_capability()
    for level in cpu_levels():
        with at_cpu_level(level):
            assert vision_ext.cpu_capability() == level
    assert vision_ext.cpu_capability() == start
    with pytest.raises(RuntimeError, match="unknown CPU capability 'sse9'.*expected one of"):
        vision_ext.set_cpu_capability("sse9")
    for level in set(LEVELS) - set(cpu_levels()):
        with pytest.raises(RuntimeError, match=f"cannot run the '{level}' kernels"):
            vision_ext.set_cpu_capability(level)


def _level_in_subprocess(value):
    env = dict(os.environ, VISION_EXT_CPU_CAPABILITY=value)
    code = "import vision_ext; print(vision_ext.cpu_capability())"
    return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def test_environment_override():
    best = cpu_levels()[-1]
    for level in cpu_levels():
        assert _level_in_subprocess(level) == level
    for level in set(LEVELS) - set(cpu_levels()):  # a level the CPU lacks: the best it has
        assert _level_in_subprocess(level) == best
    assert _level_in_subprocess("bogus") == best


@pytest.mark.parametrize("shape", [(2, 64, 13, 11), (1, 37, 6, 9), (3, 80, 4, 4)])
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_winograd_levels_agree(shape, layout):
    n, c, h, w = shape
    k = c + 5  # odd output channels reach every column tail of the GEMM
    x = torch.randn(n, c, h, w)
    if layout == "nhwc":
        x = x.contiguous(memory_format=torch.channels_last)
    weight, bias, res = torch.randn(k, c, 3, 3) / (3 * c) ** 0.5, torch.randn(k), torch.randn(n, k, h, w)
    packed = R.winograd_pack_weight(weight)
    ref = torch.relu(torch.nn.functional.conv2d(x.double(), weight.double(), bias.double(), padding=1)
                     + res.double())
    outs = run_at_every_level(lambda: R.conv3x3_winograd(x, packed, bias, res, 1, False, True))
    for level, y in outs.items():
        # The levels differ only where a fused multiply-add rounds once (the GEMM): fp32 tolerance.
        torch.testing.assert_close(y.double(), ref, rtol=1e-4, atol=1e-4, msg=f"level {level}")
        torch.testing.assert_close(y, outs["default"], rtol=1e-4, atol=1e-4, msg=f"level {level} vs default")


@pytest.mark.parametrize("shape,k", [((2, 64, 13, 11), 69), ((1, 37, 6, 9), 42), ((3, 80, 4, 4), 85)])
def test_winograd_weight_grad_levels_agree(shape, k):
    n, c, h, w = shape
    x, dy = torch.randn(n, c, h, w), torch.randn(n, k, h, w)
    ref = torch.ops.aten.convolution_backward(dy.double(), x.double(), torch.zeros(k, c, 3, 3, dtype=torch.float64),
                                              None, [1, 1], [1, 1], [1, 1], False, [0, 0], 1, [False, True, False])[1]
    outs = run_at_every_level(lambda: R.conv3x3_winograd_weight_grad(x, dy, 1))
    for level, g in outs.items():
        assert ((g.double() - ref).norm() / ref.norm()).item() < 1e-5, level
    # Every element sums its tiles in the same order at every width; only the base level, without
    # hardware FMA, rounds the GEMM's multiply-adds twice.
    if "avx2" in outs and "avx512" in outs:
        assert torch.equal(outs["avx2"], outs["avx512"])
