"""Our UNet2DConditionModel against diffusers' on the tiny configs of diffusers' SD pipeline tests."""
import json

import pytest
import torch

from helpers import sd_tiny
from vision_ext.sd import UNet2DConditionModel

CONFIGS = {
    "sd-test-4-8": dict(),
    "32-64-two-layers": dict(block_out_channels=(32, 64), layers_per_block=2, cross_attention_dim=8,
                             down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                             up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), attention_head_dim=(2, 4)),
    "linear-proj-three-stages": dict(block_out_channels=(8, 8, 16), layers_per_block=1, cross_attention_dim=8,
                                     down_block_types=("CrossAttnDownBlock2D",) * 2 + ("DownBlock2D",),
                                     up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 2,
                                     use_linear_projection=True, attention_head_dim=2,
                                     transformer_layers_per_block=2, flip_sin_to_cos=False, freq_shift=1),
}


def _close(ours, theirs):
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4 * float(theirs.abs().max()))


@pytest.mark.parametrize("name", CONFIGS)
def test_equal_to_diffusers(name, tmp_path):
    peer = sd_tiny.unet(**CONFIGS[name])
    peer.save_pretrained(tmp_path)
    ours = UNet2DConditionModel.from_pretrained(tmp_path)
    dim = peer.config.cross_attention_dim
    # Sizes a multiple of 2^stages and not (diffusers then upsamples to the skip's size).
    for size, t in (((8, 8), 981), ((7, 10), torch.tensor([3, 500]))):
        x, context = torch.randn(2, 4, *size), torch.randn(2, 7, dim)
        with torch.no_grad():
            _close(ours(x, t, context).sample, peer(x, t, encoder_hidden_states=context).sample)


def test_config_and_return_tuple(tmp_path):
    peer = sd_tiny.unet()
    peer.save_pretrained(tmp_path)
    ours = UNet2DConditionModel.from_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert ours.config.block_out_channels == saved["block_out_channels"]
    assert ours.config.in_channels == ours.config["in_channels"] == 4
    x, c = torch.randn(1, 4, 8, 8), torch.randn(1, 3, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x, 5, c, return_dict=False)[0], ours(x, 5, c).sample)


def test_bad_configs_and_inputs(tmp_path):
    with pytest.raises(ValueError, match="class_embed_type"):
        UNet2DConditionModel(block_out_channels=(4, 8), class_embed_type="timestep")
    with pytest.raises(ValueError, match="heads do not divide"):
        UNet2DConditionModel(block_out_channels=(4, 6), norm_num_groups=2, cross_attention_dim=8,
                             down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                             up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=4)
    with pytest.raises(ValueError, match="block type"):
        UNet2DConditionModel(block_out_channels=(4, 8), norm_num_groups=2,
                             down_block_types=("DownBlock2D", "SimpleCrossAttnDownBlock2D"),
                             up_block_types=("UpBlock2D", "UpBlock2D"))
    ours = UNet2DConditionModel(block_out_channels=(4, 8), layers_per_block=1, cross_attention_dim=32,
                                norm_num_groups=2, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"))
    with pytest.raises(ValueError, match="encoder_hidden_states"):
        ours(torch.randn(2, 4, 8, 8), 1, torch.randn(1, 3, 32))
    with pytest.raises(ValueError, match="timestep"):
        ours(torch.randn(2, 4, 8, 8), torch.tensor([1, 2, 3]), torch.randn(2, 3, 32))
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        UNet2DConditionModel.from_pretrained(tmp_path)


def test_fp16_variant_files(tmp_path):
    """diffusion_pytorch_model.fp16.safetensors: variant= finds it, torch_dtype= sets the dtype."""
    peer = sd_tiny.unet().half()
    peer.save_pretrained(tmp_path, variant="fp16")
    with pytest.raises(FileNotFoundError, match="variant="):
        UNet2DConditionModel.from_pretrained(tmp_path)
    ours = UNet2DConditionModel.from_pretrained(tmp_path, variant="fp16", torch_dtype=torch.float16)
    assert ours.dtype == torch.float16
    theirs = peer.state_dict()
    for key, value in ours.state_dict().items():
        assert torch.equal(value, theirs[key]), key


def test_reuse_context_gives_the_same_output(tmp_path):
    """Inside reuse_context the cross-attentions' key/value projections of that context are computed once;
    a call with any other context tensor (even an equal one) projects its own."""
    peer = sd_tiny.unet(**CONFIGS["32-64-two-layers"])
    peer.save_pretrained(tmp_path)
    ours = UNet2DConditionModel.from_pretrained(tmp_path)
    x, context, other = torch.randn(2, 4, 8, 8), torch.randn(2, 7, 8), torch.randn(2, 7, 8)
    with torch.no_grad():
        plain, plain_other = ours(x, 10, context).sample, ours(x, 10, other).sample
        with ours.reuse_context(context):
            assert torch.allclose(ours(x, 10, context).sample, plain, rtol=1e-6, atol=1e-7)
            assert torch.allclose(ours(x, 10, other).sample, plain_other, rtol=1e-6, atol=1e-7)
    assert all(m._kv is None for m in ours.modules() if hasattr(m, "_kv"))  # released on exit
