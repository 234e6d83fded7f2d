"""`vision-ext sd generate` on the tiny diffusers folder: the PNGs hold our pipeline's images."""
import numpy as np
import pytest
import torch
from PIL import Image

from vision_ext.cli import main
from vision_ext.sd import StableDiffusionPipeline


def test_generate_writes_the_pipelines_images(sd_pipeline_dir, tmp_path, capsys):
    _, folder = sd_pipeline_dir
    out = tmp_path / "img" / "cat.png"
    argv = ["sd", "generate", "a photo of a cat", "--checkpoint", folder, "--height", "16", "--width", "16",
            "--steps", "3", "--num-images", "2", "--seed", "4", "--sampler", "ddim", "--no-progress", "-o", str(out)]
    assert main(argv) == 0
    assert "cat-0.png" in capsys.readouterr().out
    pipe = StableDiffusionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    expected = pipe("a photo of a cat", height=16, width=16, num_inference_steps=3, num_images_per_prompt=2,
                    generator=torch.Generator().manual_seed(4)).images
    for i in range(2):
        np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "img" / f"cat-{i}.png")),
                                      np.asarray(expected[i]))


def test_generate_bad_arguments(sd_pipeline_dir, tmp_path, capsys):
    _, folder = sd_pipeline_dir
    with pytest.raises(SystemExit) as exc:
        main(["sd", "generate", "cat", "--checkpoint", str(tmp_path)])
    assert exc.value.code == 2 and "model_index.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sd", "generate", "cat", "--checkpoint", folder, "--height", "15", "--no-progress"])
    assert "multiples of 2" in capsys.readouterr().err
