"""Our AutoencoderKL against diffusers' on tiny configs loaded from save_pretrained folders."""
import pytest
import torch
from safetensors.torch import load_file, save_file

from helpers import sd_tiny
from vision_ext.sd import AutoencoderKL

CONFIGS = {"4-8": dict(), "32-64-two-layers": dict(block_out_channels=[32, 64], layers_per_block=2, norm_num_groups=4),
           "no-mid-attention": dict(mid_block_add_attention=False, act_fn="silu", latent_channels=2)}


def _close(ours, theirs):
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4 * float(theirs.abs().max()))


@pytest.fixture(params=list(CONFIGS))
def pair(request, tmp_path):
    peer = sd_tiny.vae(**CONFIGS[request.param])
    peer.save_pretrained(tmp_path)
    return AutoencoderKL.from_pretrained(tmp_path), peer


def test_encode_decode_equal_to_diffusers(pair):
    ours, peer = pair
    x = torch.rand(2, 3, 16, 20) * 2 - 1
    z = torch.randn(2, peer.config.latent_channels, 8, 10)
    with torch.no_grad():
        a, b = ours.encode(x).latent_dist, peer.encode(x).latent_dist
        for name in ("mean", "logvar", "std", "var"):
            _close(getattr(a, name), getattr(b, name))
        _close(a.mode(), b.mode())
        _close(a.sample(torch.Generator().manual_seed(7)), b.sample(torch.Generator().manual_seed(7)))
        _close(a.kl(), b.kl())
        # Cross-KL of two equal distributions is ~0 (rounding noise): compare on the prior KL's scale.
        torch.testing.assert_close(a.kl(b), b.kl(a), rtol=0, atol=1e-4 * float(b.kl().abs().max()))
        _close(ours.decode(z).sample, peer.decode(z).sample)
        _close(ours(x).sample, peer(x).sample)
        gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
        peer_gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
        _close(a.sample(gens), b.sample(peer_gens))


def test_scaling_factor_and_factor(pair):
    ours, peer = pair
    assert ours.config.scaling_factor == peer.config.scaling_factor
    assert ours.encode(torch.randn(1, 3, 8, 8)).latent_dist.mean.shape[-1] == 8 // 2 ** (
        len(peer.config.block_out_channels) - 1)


def test_legacy_attention_keys(tmp_path):
    """Older VAE checkpoints name the mid-block attention query/key/value/proj_attn."""
    peer = sd_tiny.vae()
    peer.save_pretrained(tmp_path)
    file = tmp_path / "diffusion_pytorch_model.safetensors"
    state = load_file(file)
    legacy = {k.replace(".to_q.", ".query.").replace(".to_k.", ".key.").replace(".to_v.", ".value.")
              .replace(".to_out.0.", ".proj_attn."): v for k, v in state.items()}
    assert any(".proj_attn." in k for k in legacy)
    file.unlink()
    save_file(legacy, file)
    z = torch.randn(1, 4, 6, 6)
    with torch.no_grad():
        _close(AutoencoderKL.from_pretrained(tmp_path).decode(z).sample, peer.decode(z).sample)


def test_bad_inputs():
    vae = AutoencoderKL(block_out_channels=(4, 8), norm_num_groups=2, down_block_types=["DownEncoderBlock2D"] * 2,
                        up_block_types=["UpDecoderBlock2D"] * 2)
    with pytest.raises(ValueError, match="x: expected"):
        vae.encode(torch.randn(1, 4, 8, 8))
    with pytest.raises(ValueError, match="z: expected"):
        vae.decode(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="down_block_types"):
        AutoencoderKL(block_out_channels=(4, 8), down_block_types=["DownEncoderBlock2D"])
    with pytest.raises(ValueError, match="generator"):
        vae.encode(torch.randn(2, 3, 8, 8)).latent_dist.sample([torch.Generator()])
