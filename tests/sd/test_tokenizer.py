"""Our CLIP tokenizer against transformers' CLIPTokenizer on the same folders: the hub layout
(vocab.json + merges.txt) and transformers 5's save_pretrained layout (tokenizer.json)."""
import json
import os
import random

import pytest
import torch
from transformers import CLIPTokenizer as PeerTokenizer

from vision_ext.sd import CLIPTokenizer

TRICKY = [
    "a photo of an astronaut riding a horse on the moon", "", " ", "   leading and trailing   ",
    "A Photo Of A CAT", "UPPER lower MiXeD", "caf\u00e9 cr\u00e8me", "cafe\u0301 (combining accent: NFC)",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "emoji \U0001f642\U0001f680 and \u2603",
    "\uff26\uff55\uff4c\uff4c width",
    "tabs\tand\nnewlines\r\nand\u00a0nbsp", "it's isn't we're they've I'm you'll he'd",
    "IT'S SHOUTED", "punctuation!!! ...?? --- ,,, ;;", "(parens) [brackets] {braces} <angles>", "numbers 1999 3.14 42%",
    "<|endoftext|> in the middle", "<|startoftext|>at the start", "<|ENDOFTEXT|> upper-case special",
    "no<|endoftext|>space", "unknown symbols \u00a7\u00b6\u2020 \u0416\u0418\u0412", "x" * 300,
    " ".join(["horse"] * 100), "a, " * 60, "\u200b zero width \ufeff bom",
]


def random_strings(n: int, seed: int = 0):
    pool = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;:!?'\"-_()[]/\\#@&*\t\n") + \
        list("\u00e9\u00e8\u00fc\u00df\u00f1\u0416\u65e5\U0001f642\u2603\u0301") + ["'s", "'t", "<|endoftext|>"]
    rng = random.Random(seed)
    return ["".join(rng.choice(pool) for _ in range(rng.randint(0, 120))) for _ in range(n)]


CALLS = [dict(padding="max_length", max_length=77, truncation=True), dict(),
         dict(padding=True, truncation=True, max_length=12), dict(padding="max_length", max_length=20)]


@pytest.fixture(params=["hub", "saved"])
def folder(request, hub_tokenizer_dir, saved_tokenizer_dir):
    return hub_tokenizer_dir if request.param == "hub" else saved_tokenizer_dir


def test_files_are_the_two_layouts(hub_tokenizer_dir, saved_tokenizer_dir):
    assert {"vocab.json", "merges.txt"} <= set(os.listdir(hub_tokenizer_dir))
    assert "tokenizer.json" not in os.listdir(hub_tokenizer_dir)
    assert "tokenizer.json" in os.listdir(saved_tokenizer_dir)


def test_special_tokens_and_length(folder):
    ours, peer = CLIPTokenizer.from_pretrained(folder), PeerTokenizer.from_pretrained(folder)
    assert (ours.bos_token_id, ours.pad_token_id, ours.eos_token_id) == (0, 1, 2)
    assert (ours.bos_token_id, ours.pad_token_id, ours.eos_token_id) == \
        (peer.bos_token_id, peer.pad_token_id, peer.eos_token_id)
    assert ours.model_max_length == peer.model_max_length == 77


@pytest.mark.parametrize("kwargs", CALLS, ids=["sd", "plain", "longest", "pad-only"])
def test_equal_to_transformers(folder, kwargs):
    ours, peer = CLIPTokenizer.from_pretrained(folder), PeerTokenizer.from_pretrained(folder)
    for text in TRICKY + random_strings(150):
        a, b = ours(text, **kwargs), peer(text, **kwargs)
        assert a["input_ids"] == b["input_ids"], repr(text)
        assert a["attention_mask"] == b["attention_mask"], repr(text)


def test_batches_and_tensors(folder):
    ours, peer = CLIPTokenizer.from_pretrained(folder), PeerTokenizer.from_pretrained(folder)
    texts = TRICKY + random_strings(40, seed=1)
    a = ours(texts, padding="max_length", max_length=77, truncation=True, return_tensors="pt")
    b = peer(texts, padding="max_length", max_length=77, truncation=True, return_tensors="pt")
    assert a.input_ids.shape == (len(texts), 77)
    torch.testing.assert_close(a.input_ids, b.input_ids)
    torch.testing.assert_close(a.attention_mask, b.attention_mask)
    a, b = ours(texts, padding=True), peer(texts, padding=True)
    assert a["input_ids"] == b["input_ids"]


def test_long_prompt_is_cut_to_77_with_end_token(folder):
    ids = CLIPTokenizer.from_pretrained(folder)(" ".join(["horse"] * 100), padding="max_length", max_length=77,
                                                truncation=True).input_ids
    assert len(ids) == 77 and ids[0] == 0 and ids[-1] == 2 and 1 not in ids


def test_decode_equal_to_transformers(folder):
    ours, peer = CLIPTokenizer.from_pretrained(folder), PeerTokenizer.from_pretrained(folder)
    for text in TRICKY[:12]:
        ids = peer(text)["input_ids"]
        assert ours.decode(ids) == peer.decode(ids, skip_special_tokens=True), repr(text)


def test_pad_equal_to_end_token_as_in_sd(tmp_path):
    """SD 1.x folders pad with <|endoftext|> itself."""
    from helpers.sd_tiny import write_hub_tokenizer

    folder = write_hub_tokenizer(str(tmp_path), pad_token="<|endoftext|>")
    ours, peer = CLIPTokenizer.from_pretrained(folder), PeerTokenizer.from_pretrained(folder)
    assert ours.pad_token_id == ours.eos_token_id == peer.pad_token_id
    for text in TRICKY:
        assert ours(text, padding="max_length", max_length=77, truncation=True)["input_ids"] == \
            peer(text, padding="max_length", max_length=77, truncation=True)["input_ids"]


def test_unset_length_means_clip_context(tmp_path, hub_tokenizer_dir):
    """A config without model_max_length (or with transformers' huge sentinel) gives CLIP's 77."""
    for name in os.listdir(hub_tokenizer_dir):
        (tmp_path / name).write_bytes(open(os.path.join(hub_tokenizer_dir, name), "rb").read())
    cfg = json.loads((tmp_path / "tokenizer_config.json").read_text())
    cfg["model_max_length"] = int(1e30)
    (tmp_path / "tokenizer_config.json").write_text(json.dumps(cfg))
    assert CLIPTokenizer.from_pretrained(str(tmp_path)).model_max_length == 77


def test_bad_inputs(tmp_path, hub_tokenizer_dir):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        CLIPTokenizer.from_pretrained(str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match="tokenizer.json nor vocab.json"):
        CLIPTokenizer.from_pretrained(str(tmp_path))
    tok = CLIPTokenizer.from_pretrained(hub_tokenizer_dir)
    with pytest.raises(ValueError, match="padding"):
        tok(["a", "b c d"], return_tensors="pt")
    with pytest.raises(ValueError, match="padding: expected"):
        tok("a", padding="max")
    with pytest.raises(TypeError, match="text"):
        tok(["a", 3])
