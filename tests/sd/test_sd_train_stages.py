"""The stages of `vision-ext sd train` on the real digits at tiny sizes: each reduces its loss; the U-Net stage
leaves the VAE and text encoder bit for bit unchanged; captions, tokenizer and caption dropout behave."""
import dataclasses
import math

import pytest
import torch

from vision_ext.sd import CLIPTokenizer
from vision_ext.sd.training import data, models, stages, vocab
from vision_ext.sd.training.config import MAX_TOKENS, SDTrainConfig

TINY = SDTrainConfig(vae_channels=(8, 8, 8), vae_batch=16, vae_lr=3e-3, text_width=16, text_layers=1, text_heads=2,
                     text_batch=32, text_lr=3e-3, unet_channels=(16, 16), unet_heads=2, unet_batch=16, unet_lr=2e-3)


@pytest.fixture(scope="module")
def digits():
    return data.CaptionedDigits(train=True)


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("tok"))
    return folder, vocab.write_tokenizer(folder, data.caption_words(), MAX_TOKENS)


def _mean(xs):
    return sum(xs) / len(xs)


def _losses(stage, n):
    return [stage.train_step()["loss"] for _ in range(n)]


def test_captions_and_attributes(digits):
    assert data.caption(7) == "a handwritten digit seven"
    assert data.caption(0, "thick") == "a thick handwritten digit zero"
    caps = data.all_captions()
    assert caps[0] == "" and len(caps) == len(set(caps)) == 31
    for i in (0, 100, 1000):
        plain, word = (caps[j] for j in digits.captions[i])
        assert plain == data.caption(int(digits.labels[i]))
        assert word.endswith(data.NAMES[int(digits.labels[i])])
    # Thickness terciles: per digit, the "thick" images carry more ink than the "thin" ones.
    ink = digits.images.mean(dim=(1, 2, 3))
    for d in range(10):
        mine = digits.labels == d
        assert ink[mine & (digits.thickness == 2)].min() >= ink[mine & (digits.thickness == 0)].max()


def test_tokenizer_folder_matches_transformers(tokenizer_dir):
    from transformers import CLIPTokenizer as PeerTokenizer

    folder, ids = tokenizer_dir
    ours, peer = CLIPTokenizer.from_pretrained(folder), PeerTokenizer.from_pretrained(folder)
    caps = data.all_captions() + ["a handwritten digit 7, unknown words!"]
    assert ours(caps).input_ids == peer(caps).input_ids
    for word in data.caption_words():  # every caption word is one token
        assert len(ours(word).input_ids) == 3
    assert ids["eos_token_id"] == peer.eos_token_id and ids["bos_token_id"] == peer.bos_token_id
    assert ours.model_max_length == peer.model_max_length == MAX_TOKENS


def test_caption_dropout_rate(digits):
    g = torch.Generator().manual_seed(0)
    n, p = 40000, 0.25
    idx, ids, dropped = digits.batch(n, g, drop=p)
    rate = dropped.float().mean().item()
    assert abs(rate - p) < 4 * math.sqrt(p * (1 - p) / n)
    assert (ids[dropped] == 0).all()
    kept = ~dropped
    own = digits.captions[idx[kept]]
    assert ((ids[kept, None] == own).any(dim=1)).all()  # one of the image's own two captions
    assert (ids[kept] != own[:, 0]).any() and (ids[kept] == own[:, 0]).any()  # both captions drawn
    _, ids0, dropped0 = digits.batch(5000, g, drop=0.0)
    assert not dropped0.any() and (ids0 != 0).all()


def test_vae_stage_reduces_loss(digits):
    stage = stages.VAEStage(TINY, digits)
    losses = _losses(stage, 40)
    assert _mean(losses[-5:]) < 0.5 * _mean(losses[:5]), losses


def test_text_stage_reduces_loss(digits, tokenizer_dir):
    folder, ids = tokenizer_dir
    stage = stages.TextStage(TINY, digits, CLIPTokenizer.from_pretrained(folder), ids)
    losses = _losses(stage, 40)
    assert _mean(losses[-5:]) < 0.9 * _mean(losses[:5]), losses


def test_unet_stage_reduces_loss_and_keeps_vae_and_text_encoder_frozen(digits, tokenizer_dir):
    folder, ids = tokenizer_dir
    torch.manual_seed(1)
    vae, text = models.build_vae(TINY), models.build_text_encoder(TINY, ids)
    before = {name: {k: v.clone() for k, v in m.state_dict().items()} for name, m in (("vae", vae), ("text", text))}
    cfg = dataclasses.replace(TINY, unet_lr=5e-3)
    stage = stages.UNetStage(cfg, digits, vae, text, CLIPTokenizer.from_pretrained(folder))
    unet_before = {k: v.clone() for k, v in stage.unet.state_dict().items()}
    losses = _losses(stage, 80)
    assert _mean(losses[-10:]) < 0.85 * _mean(losses[:10]), losses
    for name, m in (("vae", vae), ("text", text)):
        for k, v in m.state_dict().items():
            assert torch.equal(v, before[name][k]), (name, k)
        assert all(p.grad is None and not p.requires_grad for p in m.parameters())
    assert any(not torch.equal(v, unet_before[k]) for k, v in stage.unet.state_dict().items())
    # The optimiser holds the U-Net's parameters only.
    optimised = {id(p) for group in stage.opt.param_groups for p in group["params"]}
    assert optimised == {id(p) for p in stage.unet.parameters()}
    # EMA moved towards the trained weights, and is not them.
    ema, live = stage.ema.conv_in.weight, stage.unet.conv_in.weight
    assert not torch.equal(ema, live) and not torch.equal(ema, unet_before["conv_in.weight"])
