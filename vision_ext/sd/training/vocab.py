"""A CLIP tokenizer folder (vocab.json + merges.txt + configs, the files SD 1.x hub folders ship) for a small
closed vocabulary: CLIP's 256 byte symbols, each also as a word end (`</w>`), then for every word the merges
that join its letters left to right, so that each caption word encodes to one token; any other text still
encodes, byte by byte."""
import json
import os
from typing import Iterable, List, Tuple

BOS, EOS = "<|startoftext|>", "<|endoftext|>"


def _byte_symbols() -> List[str]:
    from tokenizers import pre_tokenizers

    return sorted(pre_tokenizers.ByteLevel.alphabet())


def build_vocab(words: Iterable[str]) -> Tuple[dict, List[Tuple[str, str]]]:
    """(vocab {token: id}, merges in rank order) for lower-case ASCII words."""
    symbols = _byte_symbols()
    tokens = symbols + [s + "</w>" for s in symbols]
    merges = []
    for word in words:
        if not word.isascii() or not word.isalpha() or word != word.lower():
            raise ValueError(f"words: {word!r} is not a lower-case ASCII word")
        pieces = list(word[:-1]) + [word[-1] + "</w>"]
        cur = pieces[0]
        for nxt in pieces[1:]:
            pair = (cur, nxt)
            cur = cur + nxt
            if pair not in merges:
                merges.append(pair)
                if cur not in tokens:
                    tokens.append(cur)
        if len(pieces) == 1 and cur not in tokens:
            tokens.append(cur)
    tokens += [BOS, EOS]
    return {t: i for i, t in enumerate(tokens)}, merges


def write_tokenizer(folder: str, words: Iterable[str], model_max_length: int) -> dict:
    """Write the tokenizer folder; returns {'vocab_size', 'bos_token_id', 'eos_token_id', 'pad_token_id'}."""
    vocab, merges = build_vocab(words)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    specials = {"bos_token": BOS, "eos_token": EOS, "unk_token": EOS, "pad_token": EOS}
    with open(os.path.join(folder, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "CLIPTokenizer", "model_max_length": model_max_length, **specials}, f,
                  indent=2)
    with open(os.path.join(folder, "special_tokens_map.json"), "w") as f:
        json.dump(specials, f, indent=2)
    return {"vocab_size": len(vocab), "bos_token_id": vocab[BOS], "eos_token_id": vocab[EOS],
            "pad_token_id": vocab[EOS]}
