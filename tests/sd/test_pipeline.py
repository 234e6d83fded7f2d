"""Our StableDiffusionPipeline against diffusers.StableDiffusionPipeline on the same tiny folder:
the same initial latents (or generator) and schedule give the same images."""
import os
import shutil

import numpy as np
import pytest
import torch

from vision_ext.diffusion import DDIMScheduler, DDPMScheduler, PLMSScheduler
from vision_ext.sd import StableDiffusionPipeline

PROMPTS = ["a photo of a cat", "an astronaut riding a horse on the moon"]
ARGS = dict(height=16, width=16, num_inference_steps=4, guidance_scale=6.0)


def _close(ours, theirs):
    ours, theirs = torch.as_tensor(np.asarray(ours)), torch.as_tensor(np.asarray(theirs))
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4 * float(theirs.abs().max()))


@pytest.fixture(scope="module")
def pipes(sd_pipeline_dir):
    peer, folder = sd_pipeline_dir
    ours = StableDiffusionPipeline.from_pretrained(folder)
    ours.set_progress_bar_config(disable=True)
    return ours, peer, folder


def _peer_with(peer, scheduler):
    from diffusers import StableDiffusionPipeline as Peer

    pipe = Peer(**{**peer.components, "scheduler": scheduler})
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_loads_the_folders_scheduler(pipes):
    ours, peer, _ = pipes
    assert isinstance(ours.scheduler, DDIMScheduler)
    assert ours.scheduler.config.steps_offset == 1 and ours.scheduler.config.beta_schedule == "scaled_linear"
    assert ours.vae_scale_factor == peer.vae_scale_factor == 2


def test_ddim_guidance_batched_prompts_equal_to_diffusers(pipes):
    ours, peer, _ = pipes
    latents = torch.randn(2, 4, 8, 8)
    kw = dict(ARGS, negative_prompt=["blurry, ugly", ""], latents=latents, output_type="np")
    a, b = ours(PROMPTS, **kw).images, peer(PROMPTS, **kw).images
    assert a.shape == b.shape == (2, 16, 16, 3)
    assert a.std() > 0.01  # an image, not a constant
    _close(a, b)


@pytest.mark.parametrize("sampler", ["ddpm", "plms"])
def test_other_samplers_equal_to_diffusers(pipes, sampler):
    """DDPM (step noise from the same generator) and PLMS (diffusers' PNDM with skip_prk_steps)."""
    from diffusers import DDPMScheduler as PeerDDPM
    from diffusers import PNDMScheduler as PeerPNDM

    ours, peer, _ = pipes
    config = peer.scheduler.config
    theirs = _peer_with(peer, PeerDDPM.from_config(config) if sampler == "ddpm"
                        else PeerPNDM.from_config(config, skip_prk_steps=True))
    latents = torch.randn(1, 4, 8, 8)
    a = ours(PROMPTS[0], **ARGS, latents=latents, sampler=sampler, output_type="pt",
             generator=torch.Generator().manual_seed(5)).images
    b = theirs(PROMPTS[0], **ARGS, latents=latents, output_type="pt", generator=torch.Generator().manual_seed(5)).images
    _close(a, b)


def test_generator_latents_and_images_per_prompt(pipes):
    ours, peer, _ = pipes
    kw = dict(ARGS, num_images_per_prompt=2, output_type="pt")
    a = ours(PROMPTS, generator=torch.Generator().manual_seed(11), **kw).images
    b = peer(PROMPTS, generator=torch.Generator().manual_seed(11), **kw).images
    assert a.shape == (4, 3, 16, 16)
    _close(a, b)


def test_no_guidance_and_pil_output(pipes):
    ours, peer, _ = pipes
    latents = torch.randn(1, 4, 8, 8)
    kw = dict(ARGS, guidance_scale=1.0, latents=latents)
    a = ours("horse", **kw, output_type="np").images
    _close(a, peer("horse", **kw, output_type="np").images)
    pil = ours("horse", **kw).images
    assert len(pil) == 1 and pil[0].size == (16, 16) and pil[0].mode == "RGB"
    np.testing.assert_array_equal(np.asarray(pil[0]), (a[0] * 255).round().astype(np.uint8))


def test_hub_tokenizer_layout_gives_the_same_images(pipes, hub_tokenizer_dir, tmp_path):
    """The same pipeline with tokenizer/ as SD 1.x hub folders ship it (vocab.json + merges.txt)."""
    ours, _, folder = pipes
    copy = tmp_path / "sd"
    shutil.copytree(folder, copy)
    shutil.rmtree(copy / "tokenizer")
    shutil.copytree(hub_tokenizer_dir, copy / "tokenizer")
    assert not os.path.exists(copy / "tokenizer" / "tokenizer.json")
    hub = StableDiffusionPipeline.from_pretrained(copy)
    hub.set_progress_bar_config(disable=True)
    latents = torch.randn(2, 4, 8, 8)
    torch.testing.assert_close(hub(PROMPTS, **ARGS, latents=latents, output_type="pt").images,
                               ours(PROMPTS, **ARGS, latents=latents, output_type="pt").images)


def test_sampler_choice_and_progress_bar(pipes, capsys):
    ours, _, folder = pipes
    assert isinstance(ours.make_scheduler("ddpm"), DDPMScheduler)
    assert isinstance(StableDiffusionPipeline.from_pretrained(folder, sampler="plms").scheduler, PLMSScheduler)
    ours.set_progress_bar_config(disable=False)
    try:
        ours("cat", **ARGS, output_type="latent")
    finally:
        ours.set_progress_bar_config(disable=True)
    assert "4/4" in capsys.readouterr().err


def test_bad_inputs(pipes, tmp_path):
    ours, _, _ = pipes
    with pytest.raises(ValueError, match="multiples of 2"):
        ours("cat", height=15, width=16)
    with pytest.raises(ValueError, match="sampler"):
        ours("cat", **ARGS, sampler="euler")
    with pytest.raises(ValueError, match="output_type"):
        ours("cat", **ARGS, output_type="jpg")
    with pytest.raises(ValueError, match="latents: expected shape"):
        ours(PROMPTS, **ARGS, latents=torch.randn(1, 4, 8, 8))
    with pytest.raises(ValueError, match="negative_prompt"):
        ours(PROMPTS, **ARGS, negative_prompt=["a", "b", "c"])
    with pytest.raises(TypeError, match="prompt"):
        ours(None, **ARGS)
    with pytest.raises(FileNotFoundError, match="never downloads"):
        StableDiffusionPipeline.from_pretrained("runwayml/stable-diffusion-v1-5")
    with pytest.raises(FileNotFoundError, match="model_index.json"):
        StableDiffusionPipeline.from_pretrained(tmp_path)


def test_long_prompt_warns_and_default_size(pipes):
    ours, peer, _ = pipes
    long = " ".join(["horse"] * 100)
    with pytest.warns(UserWarning, match="dropped"):
        a = ours(long, num_inference_steps=2, guidance_scale=1.0, output_type="np",
                 generator=torch.Generator().manual_seed(0)).images
    b = peer(long, num_inference_steps=2, guidance_scale=1.0, output_type="np",
             generator=torch.Generator().manual_seed(0)).images
    assert a.shape == b.shape == (1, 16, 16, 3)  # unet sample_size 8 x vae factor 2
    _close(a, b)
