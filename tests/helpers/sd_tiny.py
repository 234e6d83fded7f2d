"""Tiny Stable Diffusion components of the peers (diffusers, transformers) with random weights,
sized as diffusers' own SD pipeline tests, and a tiny CLIP BPE vocabulary trained for the tests."""
import json
import os

import torch

SPECIALS = ["<|startoftext|>", "<|pad|>", "<|endoftext|>"]  # ids 0, 1, 2: bos, pad, eos
CORPUS = ["a photo of an astronaut riding a horse on the moon", "a painting of a cat, oil on canvas",
          "the quick brown fox jumps over the lazy dog", "portrait of a woman, 4k, trending on artstation",
          "don't stop me now; it's 1999!", "caf\u00e9 cr\u00e8me br\u00fbl\u00e9e, na\u00efve r\u00e9sum\u00e9"] * 10
SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""


def randomize(module: torch.nn.Module, scale: float = 0.1, seed: int = 0) -> torch.nn.Module:
    """Add noise to every parameter, so unit norms, zero biases and any zero init stop hiding errors."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn(p.shape, generator=g) * scale)
    return module.eval()


def write_hub_tokenizer(folder: str, pad_token: str = "<|pad|>", model_max_length: int = 77) -> str:
    """vocab.json + merges.txt (+ configs naming the special tokens as hub folders do), trained here
    with the tokenizers library on CORPUS (about 400 entries: bytes, </w> ends and merges)."""
    from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(end_of_word_suffix="</w>", unk_token="<|endoftext|>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False)])
    trainer = trainers.BpeTrainer(vocab_size=1000, special_tokens=SPECIALS, end_of_word_suffix="</w>",
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, trainer)
    model = json.loads(tok.to_str())["model"]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(model["vocab"], f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(" ".join(m) + "\n" for m in model["merges"]))
    token = lambda t: {"__type": "AddedToken", "content": t, "lstrip": False, "normalized": True,  # noqa: E731
                       "rstrip": False, "single_word": False}
    specials = {"bos_token": token(SPECIALS[0]), "eos_token": token(SPECIALS[2]), "pad_token": pad_token,
                "unk_token": token(SPECIALS[2])}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"model_max_length": model_max_length, "tokenizer_class": "CLIPTokenizer", **specials}, f)
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump(specials, f)
    return folder


def unet(seed: int = 0, **overrides):
    from diffusers import UNet2DConditionModel

    cfg = dict(block_out_channels=(4, 8), layers_per_block=1, sample_size=8, in_channels=4, out_channels=4,
               down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
               up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32, norm_num_groups=2)
    cfg.update(overrides)
    torch.manual_seed(seed)
    return randomize(UNet2DConditionModel(**cfg), seed=seed)


def vae(seed: int = 0, **overrides):
    from diffusers import AutoencoderKL

    cfg = dict(block_out_channels=[4, 8], in_channels=3, out_channels=3, latent_channels=4, norm_num_groups=2,
               down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2)
    cfg.update(overrides)
    torch.manual_seed(seed)
    return randomize(AutoencoderKL(**cfg), seed=seed)


def text_encoder(seed: int = 0, **overrides):
    from transformers import CLIPTextConfig, CLIPTextModel

    cfg = dict(bos_token_id=0, eos_token_id=2, hidden_size=32, intermediate_size=37, layer_norm_eps=1e-5,
               num_attention_heads=4, num_hidden_layers=5, pad_token_id=1, vocab_size=1000)
    cfg.update(overrides)
    torch.manual_seed(seed)
    return randomize(CLIPTextModel(CLIPTextConfig(**cfg)), seed=seed)


def sd_scheduler_config() -> dict:
    """The schedule of the SD 1.x checkpoints (scaled-linear betas, leading spacing, offset 1)."""
    return dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                set_alpha_to_one=False, steps_offset=1, timestep_spacing="leading")


def pipeline(tokenizer_folder: str):
    """diffusers.StableDiffusionPipeline from the tiny components, DDIM scheduler, no safety checker."""
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    from transformers import CLIPTokenizer

    pipe = StableDiffusionPipeline(vae=vae(1), text_encoder=text_encoder(2),
                                   tokenizer=CLIPTokenizer.from_pretrained(tokenizer_folder),
                                   unet=unet(3), scheduler=DDIMScheduler(**sd_scheduler_config()),
                                   safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe
