"""Our schedulers swapped into real diffusers pipelines (tiny random UNet2DModel): the same images
as with diffusers' own scheduler for the same generator."""
import numpy as np
import pytest
import torch
from helpers.scheduler_loops import tiny_unet

diffusers = pytest.importorskip("diffusers")

import vision_ext.diffusion as vd  # noqa: E402

# Images are in [0, 1]; the schedules differ only by our float64 vs diffusers' float32 tables.
ATOL = 1e-4


@pytest.fixture(scope="module")
def unet():
    return tiny_unet()


def _images(pipe, **kwargs):
    pipe.set_progress_bar_config(disable=True)
    return pipe(batch_size=2, generator=torch.Generator().manual_seed(0), num_inference_steps=10, output_type="np",
                **kwargs).images


def _swap(pipe, cls):
    pipe.scheduler = cls.from_config(pipe.scheduler.config)
    assert type(pipe.scheduler) is cls


@pytest.mark.parametrize("pipeline,scheduler,ours,kwargs", [
    ("DDPMPipeline", "DDPMScheduler", vd.DDPMScheduler, {}),
    ("DDIMPipeline", "DDIMScheduler", vd.DDIMScheduler, dict(eta=0.0)),
    ("DDIMPipeline", "DDIMScheduler", vd.DDIMScheduler, dict(eta=1.0, use_clipped_model_output=True)),
    ("PNDMPipeline", "PNDMScheduler", vd.PLMSScheduler, {}),
], ids=["ddpm", "ddim", "ddim-eta1", "pndm-plms"])
@pytest.mark.parametrize("spacing", ["leading", "trailing"])
def test_pipeline_with_our_scheduler_makes_the_same_images(unet, pipeline, scheduler, ours, kwargs, spacing):
    cfg = dict(timestep_spacing=spacing, **({"skip_prk_steps": True} if ours is vd.PLMSScheduler else {}))
    pipe = getattr(diffusers, pipeline)(unet=unet, scheduler=getattr(diffusers, scheduler)(**cfg))
    want = _images(pipe, **kwargs)
    _swap(pipe, ours)
    got = _images(pipe, **kwargs)
    assert got.shape == want.shape == (2, 8, 8, 3)
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL)
    assert want.std() > 0.05  # real images, not a constant


@pytest.mark.parametrize("ref_cls,ours", [(diffusers.DDIMScheduler, vd.DDIMScheduler),
                                         (diffusers.PNDMScheduler, vd.PLMSScheduler),
                                         (diffusers.DDPMScheduler, vd.DDPMScheduler)], ids=["ddim", "plms", "ddpm"])
@pytest.mark.parametrize("strength", [0.3, 0.75])
@torch.no_grad()
def test_img2img_partial_loop_makes_the_same_image(unet, ref_cls, ours, strength):
    """diffusers' img2img recipe: noise the image to timesteps[t_start * order], denoise the rest."""
    ref = ref_cls(**({"skip_prk_steps": True} if ours is vd.PLMSScheduler else {}))
    image = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(1)) * 2 - 1
    results = []
    for sched in (ref, ours.from_config(ref.config)):
        steps = 10
        sched.set_timesteps(steps)
        t_start = steps - int(steps * strength)
        timesteps = sched.timesteps[t_start * sched.order:]
        gen = torch.Generator().manual_seed(2)
        x = sched.add_noise(image, torch.randn(image.shape, generator=gen), timesteps[:1])
        extra = {} if ours is vd.PLMSScheduler else {"generator": gen}
        for t in timesteps:
            out = unet(sched.scale_model_input(x, t), t).sample
            x = sched.step(out, t, x, **extra).prev_sample
        results.append(x)
    torch.testing.assert_close(results[1], results[0], rtol=0, atol=2 * ATOL)
