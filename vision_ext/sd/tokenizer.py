"""CLIP's byte-level BPE tokenizer on the `tokenizers` library, read from a tokenizer folder:
`tokenizer.json` (what transformers 5 saves) or `vocab.json` + `merges.txt` (what SD 1.x hub folders
ship), with `tokenizer_config.json` / `special_tokens_map.json` naming the special tokens.

Text is NFC-normalised, whitespace runs collapsed, lower-cased, split into CLIP's word pieces and
byte-level BPE-encoded with `</w>` word ends; a sequence is <|startoftext|> ids <|endoftext|>,
truncated to and padded up to model_max_length (77) with the pad token, as transformers'
CLIPTokenizer does."""
import json
import os
from typing import List, Optional, Sequence, Union

import torch

from vision_ext.sd.config import Config
from vision_ext.sd.loading import check_folder

MAX_LENGTH = 77  # CLIP's text context
# CLIP's word pieces: special tokens, English contractions, letter runs, single digits, symbol runs.
SPLIT_PATTERN = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""
_DEFAULTS = {"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
             "pad_token": "<|endoftext|>"}


class BatchEncoding(Config):
    """{'input_ids', 'attention_mask'} with attribute access, as transformers' tokenizers return."""


_FLAGS = ("single_word", "lstrip", "rstrip", "normalized")


def _special_token(value):
    """A special token as the configs store it, a string or {'content': ..., 'normalized': ...}, as
    tokenizers.AddedToken (a normalized one also matches after lower-casing, as in transformers)."""
    from tokenizers import AddedToken

    if isinstance(value, dict):
        return AddedToken(value["content"], special=True, **{k: bool(value[k]) for k in _FLAGS if k in value})
    return AddedToken(value, special=True, normalized=False)


def _read_special(folder: str) -> dict:
    out = dict(_DEFAULTS, model_max_length=None)
    for name in ("special_tokens_map.json", "tokenizer_config.json"):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                cfg = json.load(f)
            for key in _DEFAULTS:
                if cfg.get(key) is not None:
                    out[key] = cfg[key]
            if cfg.get("model_max_length") is not None:
                out["model_max_length"] = cfg["model_max_length"]
    return out


def _bpe_from_files(folder: str, unk: str):
    """The CLIP pipeline around vocab.json + merges.txt."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import BPE

    with open(os.path.join(folder, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    with open(os.path.join(folder, "merges.txt"), encoding="utf-8") as f:
        lines = [line.rstrip("\n") for line in f]
    merges = [tuple(line.split(" ")) for line in lines if line and not line.startswith("#version")]
    tok = Tokenizer(BPE(vocab=vocab, merges=merges, continuing_subword_prefix="", end_of_word_suffix="</w>",
                        fuse_unk=False, unk_token=unk, dropout=None))
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(SPLIT_PATTERN), behavior="removed", invert=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False)])
    tok.decoder = decoders.ByteLevel()
    return tok


class CLIPTokenizer:
    """`tokenizer(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt")`."""

    def __init__(self, backend, bos_token="<|startoftext|>", eos_token="<|endoftext|>", pad_token="<|endoftext|>",
                 unk_token="<|endoftext|>", model_max_length: Optional[int] = None):
        """backend: a tokenizers.Tokenizer; the special tokens as strings (matched in the raw text) or
        config dicts ({'content': ..., 'normalized': ...})."""
        self.backend = backend
        self.backend.no_truncation()
        self.backend.no_padding()
        tokens = [_special_token(t) for t in (bos_token, eos_token, unk_token, pad_token)]
        # As transformers: tokens a tokenizer.json already lists keep their stored flags; when two names
        # share a token (SD pads with <|endoftext|>), the later name's flags win.
        known = {t.content for t in backend.get_added_tokens_decoder().values()}
        new = {t.content: t for t in tokens if t.content not in known}
        if new:
            backend.add_special_tokens(list(new.values()))
        self.bos_token, self.eos_token, self.unk_token, self.pad_token = [t.content for t in tokens]
        specials = [self.bos_token, self.eos_token, self.pad_token, self.unk_token]
        ids = [backend.token_to_id(t) for t in specials]
        missing = [t for t, i in zip(specials, ids) if i is None]
        if missing:
            raise ValueError(f"tokenizer: special token {missing[0]!r} is not in the vocabulary")
        self.bos_token_id, self.eos_token_id, self.pad_token_id, self.unk_token_id = ids
        # Configs that leave the length unset store a huge sentinel; CLIP's context is 77.
        huge = model_max_length is None or model_max_length > 10 ** 6
        self.model_max_length = MAX_LENGTH if huge else int(model_max_length)

    @classmethod
    def from_pretrained(cls, folder, subfolder: Optional[str] = None) -> "CLIPTokenizer":
        folder = check_folder(os.path.join(folder, subfolder) if subfolder else folder, "CLIPTokenizer.from_pretrained")
        special = _read_special(folder)
        if os.path.isfile(os.path.join(folder, "tokenizer.json")):
            from tokenizers import Tokenizer

            backend = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        elif all(os.path.isfile(os.path.join(folder, f)) for f in ("vocab.json", "merges.txt")):
            backend = _bpe_from_files(folder, _special_token(special["unk_token"]).content)
        else:
            raise FileNotFoundError(f"CLIPTokenizer.from_pretrained: {folder} has neither tokenizer.json nor "
                                    "vocab.json + merges.txt")
        return cls(backend, special["bos_token"], special["eos_token"], special["pad_token"],
                   special["unk_token"], special["model_max_length"])

    @property
    def vocab_size(self) -> int:
        return self.backend.get_vocab_size()

    def encode(self, text: str, add_special_tokens: bool = True) -> List[int]:
        ids = self.backend.encode(text, add_special_tokens=False).ids
        return [self.bos_token_id, *ids, self.eos_token_id] if add_special_tokens else ids

    def decode(self, ids, skip_special_tokens: bool = True) -> str:
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        text = self.backend.decode(ids, skip_special_tokens=skip_special_tokens)
        return text.replace("</w>", " ").strip()

    def __call__(self, text: Union[str, Sequence[str]], padding: Union[bool, str] = False,
                 max_length: Optional[int] = None, truncation: bool = False,
                 return_tensors: Optional[str] = None) -> BatchEncoding:
        single = isinstance(text, str)
        texts = [text] if single else list(text)
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("text: expected a string or a list of strings")
        if padding not in (False, True, "longest", "max_length", "do_not_pad"):
            raise ValueError(f"padding: expected False, True/'longest' or 'max_length', got {padding!r}")
        limit = max_length if max_length is not None else self.model_max_length
        if limit < 2 and (truncation or padding == "max_length"):
            raise ValueError(f"max_length: must leave room for the start and end tokens (>= 2), got {limit}")
        rows = []
        for enc in self.backend.encode_batch(texts, add_special_tokens=False):
            ids = enc.ids[:limit - 2] if truncation else enc.ids
            rows.append([self.bos_token_id, *ids, self.eos_token_id])
        if padding in (True, "longest"):
            width = max(len(r) for r in rows)
        elif padding == "max_length":
            width = max(limit, max(len(r) for r in rows))
        else:
            width = 0
        masks = [[1] * len(r) + [0] * (width - len(r)) if width > len(r) else [1] * len(r) for r in rows]
        rows = [r + [self.pad_token_id] * (width - len(r)) for r in rows]
        if return_tensors == "pt":
            if len({len(r) for r in rows}) > 1:
                raise ValueError("return_tensors='pt': sequences differ in length; pass padding='max_length' "
                                 "or padding=True")
            return BatchEncoding(input_ids=torch.tensor(rows, dtype=torch.long),
                                 attention_mask=torch.tensor(masks, dtype=torch.long))
        if return_tensors is not None:
            raise ValueError(f"return_tensors: only 'pt' or None are supported, got {return_tensors!r}")
        if single:
            return BatchEncoding(input_ids=rows[0], attention_mask=masks[0])
        return BatchEncoding(input_ids=rows, attention_mask=masks)
