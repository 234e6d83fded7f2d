"""Bad arguments to the diffusion API get an error that names them and the fix (issue 15):
Philox seeds/offsets outside [0, 2^63 - 1], timesteps outside the schedule, U-Net inputs it cannot carry."""
import pytest
import torch

from vision_ext.diffusion import DDIMScheduler, DDPMScheduler, UNet
from vision_ext.ops import ddpm as ops
from helpers import philox_reference as R


def _ab():
    return DDPMScheduler().alphas_cumprod


STEP_OPS = {
    "philox_normal_like": lambda x, seed, offset: ops.philox_normal_like(x, seed, offset),
    "ddpm_step": lambda x, seed, offset: ops.ddpm_step(x, x, 500, 400, _ab(), seed=seed, offset=offset),
    "ddim_step": lambda x, seed, offset: ops.ddim_step(x, x, 500, 400, _ab(), seed=seed, offset=offset, eta=1.0),
}


@pytest.mark.parametrize("op", STEP_OPS, ids=list(STEP_OPS))
@pytest.mark.parametrize("arg", ["seed", "offset"])
@pytest.mark.parametrize("value", [2 ** 63, 2 ** 64 - 1, 2 ** 64, 2 ** 100, -1, -(2 ** 63)])
def test_philox_seed_and_offset_outside_int63_name_the_range(op, arg, value):
    kw = {"seed": 1, "offset": 0, arg: value}
    with pytest.raises(ValueError, match=rf"{arg}: {value} is outside \[0, 2\^63 - 1\]"):
        STEP_OPS[op](torch.randn(2, 3, 4, 4), **kw)


@pytest.mark.parametrize("value", [1.5, "3", True, None])
def test_philox_seed_of_another_type_is_a_type_error(value):
    with pytest.raises(TypeError, match="seed: expected an int"):
        ops.philox_normal_like(torch.randn(4), value, 0)


def test_largest_seed_and_offset_are_accepted_and_match_the_reference():
    top = 2 ** 63 - 1
    got = ops.philox_normal_like(torch.empty(8), top, top)
    assert torch.equal(got, torch.from_numpy(R.normals(top, top, 8)))


def test_scheduler_set_seed_checks_the_range():
    with pytest.raises(ValueError, match=r"seed: 9223372036854775808 is outside \[0, 2\^63 - 1\]"):
        DDPMScheduler().set_seed(2 ** 63)


@pytest.mark.parametrize("cls", [DDPMScheduler, DDIMScheduler])
@pytest.mark.parametrize("timestep", [1000, 5000, -1, torch.tensor(5000), torch.tensor([3, 1000])],
                         ids=["T", "5000", "-1", "tensor-5000", "tensor-batch"])
def test_step_with_a_timestep_beyond_the_schedule_is_a_value_error(cls, timestep):
    sched = cls()
    sched.set_timesteps(10)
    x = torch.randn(2, 1, 4, 4)
    with pytest.raises(ValueError, match=r"timestep: -?\d+ is outside the schedule's \[0, 999\]"):
        sched.step(x, timestep, x)


def test_unet_rejects_sizes_its_skips_cannot_join_and_accepts_other_multiples():
    torch.manual_seed(0)
    net = UNet(1, 16, (1, 2, 2), 1, (), 0.0, 8).eval()
    t = torch.tensor([3])
    with pytest.raises(ValueError, match=r"image size 9x9 must be a multiple of 4 .* built for 8x8"):
        net(torch.randn(1, 1, 9, 9), t)
    with pytest.raises(ValueError, match=r"image size 8x10 must be a multiple of 4"):
        net(torch.randn(1, 1, 8, 10), t)
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 1, H, W\), got \(1, 3, 8, 8\)"):
        net(torch.randn(1, 3, 8, 8), t)
    with torch.no_grad():
        out = net(torch.randn(2, 1, 12, 16), torch.tensor([3, 5]))  # a fully convolutional net: fine
    assert out.shape == (2, 1, 12, 16) and torch.isfinite(out).all()
