"""The three training stages. Each owns its trainable modules, optimiser and random generator; `train_step`
is one optimisation step returning its metrics, and `state` / `load` hold everything that makes a resumed
stage continue exactly where it stopped."""
import copy
from typing import Dict

import torch
import torch.nn.functional as F

from vision_ext.diffusion.schedulers import DDPMScheduler
from vision_ext.ops import ddpm as ops
from vision_ext.sd.training import models
from vision_ext.sd.training.config import MAX_TOKENS, STAGES, SDTrainConfig
from vision_ext.sd.training.data import CaptionedDigits, all_captions

ENCODE_CHUNK = 128  # frozen encoders run over the data in fixed chunks: the same sums on every run
SCHEDULE = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")  # SD 1.x's


class Stage:
    name = ""

    def __init__(self, cfg: SDTrainConfig, data: CaptionedDigits):
        self.cfg, self.data = cfg, data
        self.step = 0
        # One generator per stage (batches, captions, noise), seeded from the run's seed and the stage.
        self.gen = torch.Generator().manual_seed(cfg.seed * len(STAGES) + STAGES.index(self.name))
        torch.manual_seed(cfg.seed * len(STAGES) + STAGES.index(self.name))  # weight initialisation

    def trained(self) -> Dict[str, torch.nn.Module]:
        """The modules this stage optimises (and checkpoints), by name."""
        raise NotImplementedError

    def _setup_optimizer(self, lr: float) -> None:
        # (The U-Net stage's EMA copy is checkpointed with the trained modules but not optimised.)
        params = [p for m in self.trained().values() for p in m.parameters() if p.requires_grad]
        self.opt = torch.optim.Adam(params, lr=lr)

    def _update(self, loss: torch.Tensor) -> None:
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1

    def state(self) -> dict:
        return {"step": self.step, "gen": self.gen.get_state(), "opt": self.opt.state_dict(),
                "modules": {k: m.state_dict() for k, m in self.trained().items()}}

    def load(self, state: dict) -> None:
        for k, m in self.trained().items():
            m.load_state_dict(state["modules"][k])
        self.opt.load_state_dict(state["opt"])
        self.gen.set_state(state["gen"])
        self.step = int(state["step"])


class VAEStage(Stage):
    """(1) The KL autoencoder: per-pixel MSE of the reconstruction of a posterior sample + kl_weight x KL."""

    name = "vae"

    def __init__(self, cfg, data):
        super().__init__(cfg, data)
        self.vae = models.build_vae(cfg).train()
        self._setup_optimizer(cfg.vae_lr)

    def trained(self):
        return {"vae": self.vae}

    def train_step(self) -> dict:
        idx = torch.randint(0, len(self.data), (self.cfg.vae_batch,), generator=self.gen)
        x = self.data.images[idx]
        dist = self.vae.encode(x).latent_dist
        rec = self.vae.decode(dist.sample(self.gen)).sample
        mse = F.mse_loss(rec, x)
        kl = dist.kl().mean() / dist.mean[0].numel()
        loss = mse + self.cfg.kl_weight * kl
        self._update(loss)
        return {"loss": loss.item(), "mse": mse.item(), "kl": kl.item()}


class TextStage(Stage):
    """(2) The text encoder, CLIP's way: a symmetric InfoNCE between image and caption embeddings of a batch;
    images that share a caption are all positives of it (the captions come from a small set)."""

    name = "text"

    def __init__(self, cfg, data, tokenizer, token_ids: dict):
        super().__init__(cfg, data)
        self.text = models.build_text_encoder(cfg, token_ids).train()
        self.heads = models.ContrastiveHeads(cfg.text_width).train()
        self.ids = caption_token_ids(tokenizer)
        self._setup_optimizer(cfg.text_lr)

    def trained(self):
        return {"text_encoder": self.text, "heads": self.heads}

    def train_step(self) -> dict:
        idx, caps, _ = self.data.batch(self.cfg.text_batch, self.gen)
        txt = F.normalize(self.heads.text_projection(self.text(self.ids).pooler_output), dim=-1)
        img = F.normalize(self.heads.image_encoder(self.data.images[idx]), dim=-1)
        logits = self.heads.logit_scale.exp().clamp(max=100) * img @ txt[caps].T
        same = (caps[:, None] == caps[None, :]).float()
        targets = same / same.sum(dim=1, keepdim=True)
        loss = 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))
        self._update(loss)
        with torch.no_grad():  # which of the ten plain captions each image is closest to
            digit = (img @ txt[1:11].T).argmax(dim=1)
            acc = (digit == self.data.labels[idx]).float().mean()
        return {"loss": loss.item(), "digit_accuracy": acc.item()}


class UNetStage(Stage):
    """(3) The conditional U-Net: epsilon prediction on scaled VAE latents (posterior samples) with the frozen
    text encoder's states of the caption, the caption dropped to '' at cfg.caption_dropout; EMA weights."""

    name = "unet"

    def __init__(self, cfg, data, vae, text_encoder, tokenizer):
        super().__init__(cfg, data)
        self.vae, self.text = freeze(vae), freeze(text_encoder)
        with torch.no_grad():
            moments = [self.vae.encode(x).latent_dist for x in data.images.split(ENCODE_CHUNK)]
            self.lat_mean = torch.cat([m.mean for m in moments])
            self.lat_std = torch.cat([m.std for m in moments])
            self.embeddings = self.text(caption_token_ids(tokenizer)).last_hidden_state
        # Latents at unit variance, as SD's 0.18215 does for its VAE (computed on the training data).
        self.scaling_factor = float(1.0 / self.lat_mean.std())
        self.unet = models.build_unet(cfg).train()
        self.ema = copy.deepcopy(self.unet).requires_grad_(False).eval()
        self.sched = DDPMScheduler(num_train_timesteps=cfg.num_train_timesteps, **SCHEDULE)
        self._setup_optimizer(cfg.unet_lr)

    def trained(self):
        return {"unet": self.unet, "ema": self.ema}

    def train_step(self) -> dict:
        cfg, g = self.cfg, self.gen
        idx, caps, dropped = self.data.batch(cfg.unet_batch, g, cfg.caption_dropout)
        eps = torch.randn(self.lat_mean[idx].shape, generator=g)
        z = (self.lat_mean[idx] + self.lat_std[idx] * eps) * self.scaling_factor
        t = torch.randint(0, cfg.num_train_timesteps, (cfg.unet_batch,), generator=g)
        noise = torch.randn(z.shape, generator=g)
        xt, target, _ = ops.training_target(z, noise, t, self.sched.alphas_cumprod, "epsilon")
        loss = F.mse_loss(self.unet(xt, t, self.embeddings[caps]).sample, target)
        self._update(loss)
        decay = min(cfg.ema_decay, (1 + self.step) / (10 + self.step))  # short runs: EMA warm-up
        with torch.no_grad():
            for pe, pm in zip(self.ema.parameters(), self.unet.parameters()):
                pe.lerp_(pm, 1 - decay)
        return {"loss": loss.item(), "caption_dropout": dropped.float().mean().item()}


def freeze(module: torch.nn.Module) -> torch.nn.Module:
    return module.eval().requires_grad_(False)


def caption_token_ids(tokenizer) -> torch.Tensor:
    """[len(all_captions()), MAX_TOKENS] token ids, padded as the pipelines pad prompts."""
    return tokenizer(all_captions(), padding="max_length", max_length=MAX_TOKENS, truncation=True,
                     return_tensors="pt").input_ids
