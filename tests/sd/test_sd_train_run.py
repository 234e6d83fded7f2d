"""`vision-ext sd train` end to end at --quick sizes and a few steps: an interrupted and resumed run ends bit for
bit equal to an uninterrupted one; the output folder loads in our StableDiffusionPipeline and in diffusers', and
both make the same images from the same latents; the metrics file holds every stage."""
import json
import os

import numpy as np
import pytest
import torch

from vision_ext.cli import main

STEPS = ["--quick", "--vae-steps", "4", "--text-steps", "4", "--unet-steps", "6", "--checkpoint-every", "3",
         "--no-progress"]
WEIGHTS = ["vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors",
           "unet/diffusion_pytorch_model.safetensors"]
CONFIGS = ["model_index.json", "vae/config.json", "text_encoder/config.json", "unet/config.json",
           "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sd") / "run")
    assert main(["sd", "train", "--out", out, *STEPS]) == 0
    return out


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def test_resumed_run_equals_uninterrupted(trained, tmp_path, capsys):
    out = str(tmp_path / "run")
    # Stop inside the text stage (overall step 6 of 14), then inside the U-Net stage, then finish.
    assert main(["sd", "train", "--out", out, *STEPS, "--stop-after", "6"]) == 0
    assert "stopped at overall step 6" in capsys.readouterr().out
    assert not os.path.exists(os.path.join(out, "model_index.json"))
    assert main(["sd", "train", "--out", out, "--resume", "--stop-after", "11", "--no-progress"]) == 0
    assert main(["sd", "train", "--out", out, "--resume", "--no-progress"]) == 0
    for name in WEIGHTS + CONFIGS:
        assert _read(os.path.join(out, name)) == _read(os.path.join(trained, name)), name
    a, b = (json.load(open(os.path.join(d, "metrics.json")))["stages"] for d in (out, trained))
    for stage in ("vae", "text", "unet"):
        strip = lambda recs: [{k: v for k, v in r.items()} for r in recs]  # noqa: E731
        assert strip(a[stage]["records"]) == strip(b[stage]["records"]), stage


def test_metrics_per_stage(trained):
    m = json.load(open(os.path.join(trained, "metrics.json")))
    assert m["config"]["vae_steps"] == 4 and m["config"]["unet_steps"] == 6
    for stage, steps in (("vae", 4), ("text", 4), ("unet", 6)):
        entry = m["stages"][stage]
        assert entry["steps"] == steps and entry["records"][-1]["step"] == steps
        assert math_finite(entry["summary"]["last_loss"]) and entry["seconds"] > 0
    assert 0 <= m["stages"]["unet"]["records"][-1]["caption_dropout"] <= 1


def math_finite(x):
    return np.isfinite(x)


def test_folder_loads_in_ours_and_diffusers_with_the_same_images(trained):
    from diffusers import StableDiffusionPipeline as PeerPipeline
    from transformers import CLIPTextModel as PeerText

    from vision_ext.sd import StableDiffusionPipeline

    ours = StableDiffusionPipeline.from_pretrained(trained)
    peer = PeerPipeline.from_pretrained(trained, safety_checker=None)
    for p in (ours, peer):
        p.set_progress_bar_config(disable=True)
    assert type(peer.scheduler).__name__ == "DDIMScheduler"
    # transformers reads every text-encoder weight (no freshly initialised ones).
    _, info = PeerText.from_pretrained(os.path.join(trained, "text_encoder"), output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    prompts = ["a handwritten digit seven", "a thick handwritten digit two"]
    latents = torch.randn(2, 4, 8, 8, generator=torch.Generator().manual_seed(3))
    for guidance in (5.0, 1.0):
        kw = dict(latents=latents, num_inference_steps=5, guidance_scale=guidance, output_type="np")
        a, b = ours(prompts, **kw).images, peer(prompts, **kw).images
        assert a.shape == b.shape == (2, 32, 32, 3)
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_generate_cli_on_the_trained_folder(trained, tmp_path, capsys):
    from PIL import Image

    grid = tmp_path / "grid.png"
    assert main(["sd", "generate", "a handwritten digit seven", "--checkpoint", trained, "--sampler", "ddim",
                 "--steps", "3", "--guidance", "5", "-n", "4", "-o", str(grid), "--no-progress"]) == 0
    assert "a grid of 4" in capsys.readouterr().out
    assert Image.open(grid).size == (2 * 33 + 1, 2 * 33 + 1)
    assert main(["sd", "generate", "a handwritten digit one", "--checkpoint", trained, "--steps", "2", "-n", "2",
                 "-o", str(tmp_path / "one.png"), "--no-progress"]) == 0
    assert (tmp_path / "one-0.png").exists() and (tmp_path / "one-1.png").exists()
