"""DDPM training on a dataset that needs no download (scikit-learn's digits, resized),
with EMA weights, atomic checkpoints and exact resume (model, EMA, optimiser, step and
every random generator are saved, so a resumed run equals an uninterrupted one)."""
import copy
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Tuple

import torch
import torch.nn.functional as F

from vision_ext.diffusion.schedulers import DDPMScheduler
from vision_ext.diffusion.unet import UNet
from vision_ext.ops import ddpm as ops
from vision_ext.training.checkpoint import CheckpointError, atomic_save, load
from vision_ext.training.interrupt import StopRequest, TrainingInterrupted


@dataclass
class TrainConfig:
    image_size: int = 16
    base_channels: int = 32
    channel_mults: Tuple[int, ...] = (1, 2)
    num_res_blocks: int = 1
    attention_resolutions: Tuple[int, ...] = (8,)
    dropout: float = 0.0
    num_train_timesteps: int = 1000
    beta_schedule: str = "linear"
    prediction_type: str = "epsilon"
    batch_size: int = 64
    lr: float = 2e-4
    ema_decay: float = 0.995
    steps: int = 2000
    seed: int = 0
    min_snr_gamma: float = 0.0
    extra: dict = field(default_factory=dict)


def load_digits(image_size: int = 16) -> torch.Tensor:
    """scikit-learn's bundled 8x8 digits (1797 images), bilinearly resized, scaled to [-1, 1]: [N, 1, S, S]."""
    from sklearn.datasets import load_digits as sk_digits

    x = torch.tensor(sk_digits().images, dtype=torch.float32)[:, None] / 16.0
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    return x.clamp(0, 1) * 2 - 1


def build_model(cfg: TrainConfig) -> UNet:
    return UNet(1, cfg.base_channels, cfg.channel_mults, cfg.num_res_blocks, cfg.attention_resolutions, cfg.dropout,
                cfg.image_size)


def build_scheduler(cfg: TrainConfig) -> DDPMScheduler:
    return DDPMScheduler(num_train_timesteps=cfg.num_train_timesteps, beta_schedule=cfg.beta_schedule,
                         prediction_type=cfg.prediction_type)


class Trainer:
    """Owns model, EMA, optimiser and generators; `train_step` is one optimisation step."""

    def __init__(self, cfg: TrainConfig, data: Optional[torch.Tensor] = None):
        self.cfg = cfg
        torch.manual_seed(cfg.seed)
        self.data = data if data is not None else load_digits(cfg.image_size)
        self.model = build_model(cfg)
        self.ema = copy.deepcopy(self.model).requires_grad_(False)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.sched = build_scheduler(cfg)
        self.gen = torch.Generator().manual_seed(cfg.seed)  # batches, timesteps, noise, dropout-free
        self.step = 0
        self.losses = []

    def train_step(self) -> float:
        cfg, g = self.cfg, self.gen
        idx = torch.randint(0, len(self.data), (cfg.batch_size,), generator=g)
        x0 = self.data[idx]
        t = torch.randint(0, cfg.num_train_timesteps, (cfg.batch_size,), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        xt, target, w = ops.training_target(x0, noise, t, self.sched.alphas_cumprod, cfg.prediction_type,
                                            cfg.min_snr_gamma)
        loss = ((self.model(xt, t) - target) ** 2).mean(dim=(1, 2, 3)).mul(w).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        with torch.no_grad():
            for pe, pm in zip(self.ema.parameters(), self.model.parameters()):
                pe.lerp_(pm, 1 - cfg.ema_decay)
        self.step += 1
        self.losses.append(loss.item())
        return self.losses[-1]

    def state(self) -> dict:
        return {"config": asdict(self.cfg), "model": self.model.state_dict(), "ema": self.ema.state_dict(),
                "opt": self.opt.state_dict(), "step": self.step, "gen": self.gen.get_state(),
                "torch_rng": torch.get_rng_state(), "losses": self.losses}

    def load(self, state: dict) -> None:
        try:
            self.model.load_state_dict(state["model"])
            self.ema.load_state_dict(state["ema"])
            self.opt.load_state_dict(state["opt"])
            self.step = int(state["step"])
            self.gen.set_state(state["gen"])
            torch.set_rng_state(state["torch_rng"])
            self.losses = list(state["losses"])
        except (KeyError, RuntimeError, TypeError, ValueError) as err:
            raise CheckpointError(f"the checkpoint does not fit this model ({type(err).__name__}: "
                                  f"{(str(err).splitlines() or [''])[0]})") from None

    def save(self, path: str) -> None:
        atomic_save(self.state(), path)

    def run(self, until: int, checkpoint: Optional[str] = None, every: int = 500,
            on_step: Optional[Callable[[int, float], None]] = None) -> None:
        """Train up to step `until`, saving `checkpoint` every `every` steps and at the end. With a
        checkpoint, Ctrl-C saves after the current step and raises TrainingInterrupted."""
        if every < 1:
            raise ValueError(f"every: checkpoint interval must be >= 1 step, got {every}")
        if not checkpoint:
            while self.step < until:
                loss = self.train_step()
                if on_step:
                    on_step(self.step, loss)
            return
        with StopRequest("saving after this step") as stop:
            while self.step < until:
                loss = self.train_step()
                if on_step:
                    on_step(self.step, loss)
                if self.step % every == 0 or self.step == until or stop.requested:
                    self.save(checkpoint)
                if stop.requested and self.step < until:
                    raise TrainingInterrupted(checkpoint, f"step {self.step} of {until}")


def config_from_checkpoint(state: dict) -> TrainConfig:
    try:
        cfg = dict(state["config"])
        for k in ("channel_mults", "attention_resolutions"):
            cfg[k] = tuple(cfg[k])
        return TrainConfig(**cfg)
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"the checkpoint's config does not describe a DDPM run ({type(err).__name__}: "
                              f"{err})") from None


def load_checkpoint(path: str) -> dict:
    """A `Trainer.save` checkpoint, checked (CheckpointError with a one-line reason otherwise)."""
    return load(path, "vision-ext ddpm train")


def load_ema_model(path: str):
    """(EMA U-Net in eval mode, its TrainConfig) from a checkpoint written by Trainer.save."""
    state = load_checkpoint(path)
    cfg = config_from_checkpoint(state)
    model = build_model(cfg)
    try:
        model.load_state_dict(state["ema"])
    except RuntimeError as err:
        raise CheckpointError(f"{path}: its EMA weights do not fit its config "
                              f"({str(err).splitlines()[0]})") from None
    return model.eval(), cfg
