"""What a `vision-ext sd train` run is: model sizes, steps and optimiser settings per stage. A resumed run
reads this back from its checkpoint, so every field that shapes the result lives here."""
from dataclasses import asdict, dataclass, fields
from typing import Tuple

STAGES = ("vae", "text", "unet")
MAX_TOKENS = 16  # the captions have at most 6 words: CLIP's 77 positions would only slow cross-attention


@dataclass
class SDTrainConfig:
    seed: int = 0
    # (1) KL autoencoder: 32x32 RGB -> 8x8x4 latents.
    vae_channels: Tuple[int, ...] = (32, 64, 64)
    vae_steps: int = 1000
    vae_batch: int = 32
    vae_lr: float = 1e-3
    kl_weight: float = 1e-4  # KL per latent element, against the per-pixel MSE
    # (2) CLIP-style text encoder (+ a small image encoder for the contrastive loss).
    text_width: int = 64
    text_layers: int = 2
    text_heads: int = 4
    text_steps: int = 600
    text_batch: int = 64
    text_lr: float = 1e-3
    # (3) conditional U-Net on latents.
    unet_channels: Tuple[int, ...] = (48, 96)
    unet_heads: int = 4
    unet_steps: int = 4000
    unet_batch: int = 64
    unet_lr: float = 5e-4
    caption_dropout: float = 0.1
    ema_decay: float = 0.999
    num_train_timesteps: int = 1000

    def steps(self, stage: str) -> int:
        return getattr(self, f"{stage}_steps")

    def total_steps(self) -> int:
        return sum(self.steps(s) for s in STAGES)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "SDTrainConfig":
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown config fields {unknown}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def quick_config(seed: int = 0) -> SDTrainConfig:
    """A few minutes on a laptop CPU: smaller models, fewer steps."""
    return SDTrainConfig(seed=seed, vae_channels=(16, 32, 32), vae_steps=300, text_width=32, text_steps=150,
                         text_batch=32, unet_channels=(32, 64), unet_steps=1000, unet_batch=32, unet_lr=1e-3,
                         ema_decay=0.995)
