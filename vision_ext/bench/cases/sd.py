"""Stable Diffusion models (vision_ext.sd) against diffusers' with the same weights: the U-Net's forward,
the VAE's decode and the whole guided DDIM pipeline. diffusers builds each component with seeded random
weights and saves it (save_pretrained) to a temporary folder; ours loads that folder, so both sides run
the very same checkpoint. Outputs must agree as in tests/sd (rtol 1e-4, atol 1e-4 * max|theirs|).

Full sizes are issue 14's floors: a mid-sized U-Net (block_out_channels (64, 128, 256, 256), 32x32
latents, batch 2, 77 tokens of 768 dims), VAE decode of a 64x64 latent to 512x512 (SD's widths halved,
(64, 128, 256, 256), to fit a 2-core machine), and 20 DDIM steps with guidance at 32x32 latents.
diffusers (a benchmark peer, not a dependency) must be installed."""
import os
import tempfile

UNET_FULL = dict(block_out_channels=(64, 128, 256, 256), layers_per_block=2, cross_attention_dim=768,
                 attention_head_dim=8, sample_size=32, norm_num_groups=32)
UNET_QUICK = dict(block_out_channels=(32, 64), layers_per_block=1, cross_attention_dim=32, attention_head_dim=4,
                  sample_size=16, norm_num_groups=32, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                  up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))
VAE_FULL = dict(block_out_channels=(64, 128, 256, 256), layers_per_block=2, latent_channels=4, norm_num_groups=32,
                down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4)
VAE_QUICK = dict(block_out_channels=(32, 64), layers_per_block=1, latent_channels=4, norm_num_groups=32,
                 down_block_types=("DownEncoderBlock2D",) * 2, up_block_types=("UpDecoderBlock2D",) * 2)
TEXT = dict(hidden_size=None, intermediate_size=512, num_attention_heads=4, num_hidden_layers=2,
            max_position_embeddings=77, layer_norm_eps=1e-5)
STEPS_FULL, STEPS_QUICK = 20, 3
SD_SCHEDULE = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                   set_alpha_to_one=False, steps_offset=1, timestep_spacing="leading")
PROMPT, NEGATIVE = "a handwritten digit seven", ""


def _randomize(module, seed: int, scale: float = 0.02):
    """Seeded noise on every parameter, so zero-initialised layers (e.g. biases) carry values too."""
    import torch

    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return module.eval()


def peer_unet(cfg: dict, seed: int = 0):
    import torch
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    return _randomize(UNet2DConditionModel(in_channels=4, out_channels=4, **cfg), seed)


def peer_vae(cfg: dict, seed: int = 1):
    import torch
    from diffusers import AutoencoderKL

    torch.manual_seed(seed)
    return _randomize(AutoencoderKL(in_channels=3, out_channels=3, **cfg), seed)


def peer_pipeline(unet_cfg: dict, vae_cfg: dict, folder: str):
    """diffusers.StableDiffusionPipeline (DDIM, no safety checker) on seeded random components and a small
    CLIP text encoder whose width is the U-Net's cross_attention_dim; its tokenizer is written to `folder`."""
    import torch
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from vision_ext.sd.training.vocab import write_tokenizer

    ids = write_tokenizer(folder, ["a", "handwritten", "digit", "seven"], 77)
    torch.manual_seed(2)
    text = _randomize(CLIPTextModel(CLIPTextConfig(**{**TEXT, "hidden_size": unet_cfg["cross_attention_dim"]},
                                                   **ids)), 2)
    pipe = StableDiffusionPipeline(vae=peer_vae(vae_cfg), text_encoder=text,
                                   tokenizer=CLIPTokenizer.from_pretrained(folder), unet=peer_unet(unet_cfg, 3),
                                   scheduler=DDIMScheduler(**SD_SCHEDULE), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def tests_close(ours, theirs) -> bool:
    """tests/sd's criterion: |ours - theirs| <= 1e-4 * |theirs| + 1e-4 * max|theirs| everywhere."""
    import numpy as np
    import torch

    a = torch.as_tensor(np.asarray(ours)).double()
    b = torch.as_tensor(np.asarray(theirs)).double()
    return a.shape == b.shape and bool(((a - b).abs() <= 1e-4 * b.abs() + 1e-4 * b.abs().max()).all())


def _saved(peer, sub: str = ""):
    """The peer's save_pretrained folder (a fresh temporary one; removed when the process exits)."""
    folder = tempfile.mkdtemp(prefix="vision_ext_bench_sd_")
    peer.save_pretrained(os.path.join(folder, sub) if sub else folder)
    return folder


def unet_pair(cfg: dict):
    """(ours, diffusers') U-Nets with the same weights, and inputs (sample, timestep, context)."""
    import torch

    from vision_ext.sd import UNet2DConditionModel

    peer = peer_unet(cfg)
    ours = UNet2DConditionModel.from_pretrained(_saved(peer)).eval()
    g = torch.Generator().manual_seed(0)
    size = cfg["sample_size"]
    inputs = (torch.randn(2, 4, size, size, generator=g), torch.tensor(500),
              torch.randn(2, 77, cfg["cross_attention_dim"], generator=g))
    return ours, peer, inputs


def vae_pair(cfg: dict, latent: int):
    import torch

    from vision_ext.sd import AutoencoderKL

    peer = peer_vae(cfg)
    ours = AutoencoderKL.from_pretrained(_saved(peer)).eval()
    z = torch.randn(1, 4, latent, latent, generator=torch.Generator().manual_seed(0))
    return ours, peer, (z,)


def pipeline_pair(unet_cfg: dict, vae_cfg: dict):
    import torch

    from vision_ext.sd import StableDiffusionPipeline

    peer = peer_pipeline(unet_cfg, vae_cfg, tempfile.mkdtemp(prefix="vision_ext_bench_sd_tok_"))
    ours = StableDiffusionPipeline.from_pretrained(_saved(peer))
    ours.set_progress_bar_config(disable=True)
    size = unet_cfg["sample_size"]
    latents = torch.randn(1, 4, size, size, generator=torch.Generator().manual_seed(0))
    return ours, peer, (latents,)


def unet_call(model):
    import torch

    def call(x, t, context):
        with torch.no_grad():
            return model(x, t, encoder_hidden_states=context).sample
    return call


def decode_call(vae):
    import torch

    def call(z):
        with torch.no_grad():
            return vae.decode(z).sample
    return call


def pipeline_call(pipe, steps: int, size: int):
    def call(latents):
        return pipe(PROMPT, negative_prompt=NEGATIVE, height=size, width=size, num_inference_steps=steps,
                    guidance_scale=7.5, latents=latents, output_type="np").images
    return call


def _case(op: str, shape: str, device: str, build):
    """A case whose models are built on first use (listing cases stays cheap)."""
    from vision_ext.bench.core import Case

    made = {}

    def setup():
        made["pair"] = build()  # (ours, peer, args, our call, peer's call)
        return made["pair"][2]

    return Case(op=op, shape=shape, device=device, setup=setup, matches=tests_close,
                ours=lambda *a: made["pair"][3](*a), peers={"diffusers": lambda *a: made["pair"][4](*a)})


def cases(quick: bool, device: str):
    try:
        import diffusers  # noqa: F401  (a peer, not a dependency)
    except ImportError:
        return []
    if device != "cpu":
        return []  # the floors are CPU fp32 ones
    unet_cfg, vae_cfg = (UNET_QUICK, VAE_QUICK) if quick else (UNET_FULL, VAE_FULL)
    latent, steps = (16, STEPS_QUICK) if quick else (64, STEPS_FULL)
    size = unet_cfg["sample_size"]
    vae_f = 2 ** (len(vae_cfg["block_out_channels"]) - 1)

    def unet():
        ours, peer, args = unet_pair(unet_cfg)
        return ours, peer, args, unet_call(ours), unet_call(peer)

    def vae():
        ours, peer, args = vae_pair(vae_cfg, latent)
        return ours, peer, args, decode_call(ours), decode_call(peer)

    def pipe():
        ours, peer, args = pipeline_pair(unet_cfg, vae_cfg)
        return ours, peer, args, pipeline_call(ours, steps, size * vae_f), pipeline_call(peer, steps, size * vae_f)

    chans = "-".join(map(str, unet_cfg["block_out_channels"]))
    return [
        _case(f"sd_unet({chans})", f"2x4x{size}x{size},ctx77x{unet_cfg['cross_attention_dim']}", device, unet),
        _case(f"sd_vae_decode({'-'.join(map(str, vae_cfg['block_out_channels']))})",
              f"1x4x{latent}x{latent}->{latent * vae_f}", device, vae),
        _case(f"sd_pipeline(ddim {steps} steps, cfg)", f"1x4x{size}x{size}->{size * vae_f}", device, pipe),
    ]
