"""step() finds (t, t_prev) for views of `timesteps` by their index: the result must be what the
timestep's value gives, also after the schedule changes or is edited in place."""
import pytest
import torch

from vision_ext.diffusion import DDIMScheduler, DDPMScheduler


def _by_value(sched, t, m, x, noise):
    return sched.step(m, int(t), x, variance_noise=noise).prev_sample


def _by_view(sched, t, m, x, noise):
    return sched.step(m, t, x, variance_noise=noise).prev_sample


@pytest.mark.parametrize("cls", [DDPMScheduler, DDIMScheduler])
def test_views_of_timesteps_step_like_their_values(cls):
    sched = cls(timestep_spacing="trailing")
    x, m = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    noise = torch.randn(2, 3, 4, 4)
    for steps in (10, 7):  # a new schedule rebuilds the index table
        sched.set_timesteps(steps)
        for t in sched.timesteps:
            torch.testing.assert_close(_by_view(sched, t, m, x, noise), _by_value(sched, t, m, x, noise),
                                       rtol=0, atol=0)


def test_in_place_edit_or_replaced_timesteps_are_read_by_value():
    sched = DDPMScheduler()
    sched.set_timesteps(10)
    x, m, noise = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    first = sched.timesteps[0]
    before = _by_view(sched, first, m, x, noise)
    sched.timesteps[0] = 850  # in place: the view now holds 850 and the table is stale
    edited = _by_view(sched, sched.timesteps[0], m, x, noise)
    torch.testing.assert_close(edited, _by_value(sched, torch.tensor(850), m, x, noise), rtol=0, atol=0)
    assert not torch.equal(edited, before)
    sched.timesteps = torch.tensor([600, 300, 0])  # replaced without set_timesteps
    got = _by_view(sched, sched.timesteps[1], m, x, noise)
    torch.testing.assert_close(got, _by_value(sched, torch.tensor(300), m, x, noise), rtol=0, atol=0)


def test_strided_views_of_timesteps_step_like_their_values():
    # a view of a view has the root as its _base: the storage offset still names the right element
    sched = DDPMScheduler()
    sched.set_timesteps(20)
    x, m, noise = torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4), torch.randn(1, 3, 4, 4)
    for t in sched.timesteps[1::3]:
        torch.testing.assert_close(_by_view(sched, t, m, x, noise), _by_value(sched, t, m, x, noise), rtol=0, atol=0)
