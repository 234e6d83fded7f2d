"""The digits as captioned images: scikit-learn's 8x8 digits upsampled to 32x32 RGB (vision_ext.data.digits,
its fixed train split), each with captions built from what is known about it: its label and its stroke
thickness (ink per digit class: the lightest third "thin", the heaviest third "thick")."""
from typing import List, Tuple

import torch

NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
THICKNESS = ("thin", "thick")


def caption(label: int, thickness: str = "") -> str:
    """'a handwritten digit seven', or with a thickness word 'a thick handwritten digit seven'."""
    return f"a {thickness + ' ' if thickness else ''}handwritten digit {NAMES[label]}"


def all_captions() -> List[str]:
    """Every caption the data uses, index 0 the empty (unconditional) one: [''] + 10 plain + 20 with thickness."""
    plain = [caption(d) for d in range(10)]
    return [""] + plain + [caption(d, t) for d in range(10) for t in THICKNESS]


def caption_words() -> List[str]:
    """The words of all captions (the tokenizer's vocabulary)."""
    return sorted({w for c in all_captions() for w in c.split()})


def thickness_classes(images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per image: 0 thin, 1 medium, 2 thick, by terciles of the ink (mean intensity) within its digit."""
    ink = images.float().mean(dim=(1, 2, 3))
    out = torch.ones(len(labels), dtype=torch.long)
    for d in range(10):
        idx = (labels == d).nonzero().flatten()
        order = idx[ink[idx].argsort(stable=True)]
        third = len(order) // 3
        out[order[:third]] = 0
        out[order[len(order) - third:]] = 2
    return out


class CaptionedDigits:
    """images [N, 3, 32, 32] in [-1, 1]; labels [N]; captions[i] = (plain id, attribute id) into all_captions()
    (the same id twice for medium strokes, which get no thickness word)."""

    def __init__(self, train: bool = True):
        from vision_ext.data.digits import load_digits32

        images, labels = load_digits32(train)
        self.images = images.float() / 127.5 - 1.0
        self.labels = labels
        thick = thickness_classes(images, labels)
        index = {c: i for i, c in enumerate(all_captions())}
        plain = torch.tensor([index[caption(int(d))] for d in labels])
        word = torch.tensor([index[caption(int(d), THICKNESS[min(int(t), 1)])] if t != 1 else index[caption(int(d))]
                             for d, t in zip(labels, thick)])
        self.captions = torch.stack([plain, word], dim=1)
        self.thickness = thick

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, batch_size: int, gen: torch.Generator, drop: float = 0.0) -> Tuple[torch.Tensor, torch.Tensor,
                                                                                          torch.Tensor]:
        """(indices, caption ids, dropped mask): random images, each with one of its two captions (a fair
        coin), replaced by the empty caption (id 0) with probability `drop` (classifier-free guidance)."""
        idx = torch.randint(0, len(self), (batch_size,), generator=gen)
        pick = torch.randint(0, 2, (batch_size,), generator=gen)
        ids = self.captions[idx, pick]
        dropped = torch.rand(batch_size, generator=gen) < drop
        return idx, ids.masked_fill(dropped, 0), dropped
