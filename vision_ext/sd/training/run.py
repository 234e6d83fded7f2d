"""A whole `vision-ext sd train` run: the three stages in order, per-stage metrics (DIR/metrics.json), an
atomic checkpoint (DIR/train_state.pt) every few steps and at each stage's end, exact resume, Ctrl-C that
saves, and at the end the diffusers-format folder in DIR.

Exactness of --resume: every stage draws its randomness from its own generator, saved with its weights,
optimiser and step; a stage's frozen inputs are rebuilt from the saved weights of the stages before it,
and the metrics' running sums are saved too. So a resumed run computes what an uninterrupted one does."""
import os
import time
from typing import Callable, Optional

import torch

from vision_ext.sd import CLIPTokenizer
from vision_ext.sd.training import export, models, stages, vocab
from vision_ext.sd.training.config import MAX_TOKENS, STAGES, SDTrainConfig
from vision_ext.sd.training.data import CaptionedDigits, caption_words
from vision_ext.training.checkpoint import CheckpointError, atomic_save, load
from vision_ext.training.interrupt import StopRequest, TrainingInterrupted
from vision_ext.training.metrics import write_json_atomic

FORMAT = "vision-ext sd train"
STATE_NAME = "train_state.pt"
METRICS_NAME = "metrics.json"
DONE = "done"


def read_state(out: str) -> dict:
    """DIR/train_state.pt, checked to be an `sd train` checkpoint (CheckpointError otherwise)."""
    path = os.path.join(out, STATE_NAME)
    state = load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a `{FORMAT}` checkpoint")
    return state


class SDTrainRun:
    def __init__(self, cfg: SDTrainConfig, out: str, state: Optional[dict] = None):
        self.cfg, self.out = cfg, out
        self.token_ids = vocab.write_tokenizer(os.path.join(out, "tokenizer"), caption_words(), MAX_TOKENS)
        self.tokenizer = CLIPTokenizer.from_pretrained(os.path.join(out, "tokenizer"))
        self.data = CaptionedDigits(train=True)
        self.finished = {}  # stage name -> its trained modules' state dicts
        self.stage_name, stage_state = STAGES[0], None
        self.metrics = {"config": cfg.to_dict(), "stages": {}}
        self.acc = {}  # running sums of the metrics since the last record
        if state is not None:
            try:
                self.finished, self.stage_name = state["finished"], state["stage"]
                stage_state, self.metrics, self.acc = state["stage_state"], state["metrics"], state["acc"]
            except KeyError as err:
                raise CheckpointError(f"the checkpoint lacks {err}") from None
        self.stage = None if self.stage_name == DONE else self._build(self.stage_name)
        if stage_state is not None:
            try:
                self.stage.load(stage_state)
            except (KeyError, RuntimeError, ValueError) as err:
                raise CheckpointError(f"the checkpoint does not fit its config ({type(err).__name__}: "
                                      f"{(str(err).splitlines() or [''])[0]})") from None

    # -- the frozen results of finished stages --------------------------------------------------------
    def vae(self):
        m = models.build_vae(self.cfg)
        m.load_state_dict(self.finished["vae"]["vae"])
        return m.eval()

    def text_encoder(self):
        m = models.build_text_encoder(self.cfg, self.token_ids)
        m.load_state_dict(self.finished["text"]["text_encoder"])
        return m.eval()

    def _build(self, name: str) -> stages.Stage:
        if name == "vae":
            return stages.VAEStage(self.cfg, self.data)
        if name == "text":
            return stages.TextStage(self.cfg, self.data, self.tokenizer, self.token_ids)
        return stages.UNetStage(self.cfg, self.data, self.vae(), self.text_encoder(), self.tokenizer)

    # -- progress -------------------------------------------------------------------------------------
    @property
    def global_step(self) -> int:
        if self.stage is None:
            return self.cfg.total_steps()
        done = sum(self.cfg.steps(s) for s in STAGES[:STAGES.index(self.stage_name)])
        return done + self.stage.step

    def state(self) -> dict:
        return {"format": FORMAT, "config": self.cfg.to_dict(), "stage": self.stage_name,
                "stage_state": None if self.stage is None else self.stage.state(), "finished": self.finished,
                "metrics": self.metrics, "acc": self.acc}

    def save(self) -> None:
        atomic_save(self.state(), os.path.join(self.out, STATE_NAME))
        write_json_atomic(self.metrics, os.path.join(self.out, METRICS_NAME))

    def _record(self, values: dict, seconds: float, log_every: int) -> None:
        entry = self.metrics["stages"].setdefault(self.stage_name, {"steps": self.cfg.steps(self.stage_name),
                                                                     "seconds": 0.0, "records": []})
        entry["seconds"] += seconds
        for k, v in values.items():
            self.acc[k] = self.acc.get(k, 0.0) + v
        self.acc["n"] = self.acc.get("n", 0) + 1
        step = self.stage.step
        if step % log_every == 0 or step == self.cfg.steps(self.stage_name):
            n = self.acc.pop("n")
            entry["records"].append({"step": step, **{k: v / n for k, v in self.acc.items()}})
            self.acc = {}

    def _finish_stage(self) -> None:
        entry = self.metrics["stages"][self.stage_name]
        recs = entry["records"]
        entry["summary"] = {"first_loss": recs[0]["loss"], "last_loss": recs[-1]["loss"],
                            "steps_per_s": entry["steps"] / max(entry["seconds"], 1e-9)}
        self.finished[self.stage_name] = {k: m.state_dict() for k, m in self.stage.trained().items()}
        if self.stage_name == "unet":
            self.finished["unet"]["scaling_factor"] = self.stage.scaling_factor
            self.export()
        i = STAGES.index(self.stage_name) + 1
        self.stage_name = STAGES[i] if i < len(STAGES) else DONE
        self.stage = None  # the next one is built after the save, from the finished weights
        self.save()
        if self.stage_name != DONE:
            self.stage = self._build(self.stage_name)

    def export(self) -> None:
        unet = models.build_unet(self.cfg)
        unet.load_state_dict(self.finished["unet"]["ema"])
        export.write_pipeline(self.out, self.vae(), self.finished["unet"]["scaling_factor"], self.text_encoder(),
                              unet, self.cfg.num_train_timesteps)

    # -- the loop -------------------------------------------------------------------------------------
    def run(self, stop_after: Optional[int] = None, checkpoint_every: int = 200, log_every: int = 25,
            on_step: Optional[Callable[[str, int, dict], None]] = None) -> bool:
        """Train to the end (True) or until global step `stop_after` (False, as if interrupted, saved).
        Ctrl-C saves after the current step and raises TrainingInterrupted."""
        path = os.path.join(self.out, STATE_NAME)
        with StopRequest("saving after this step") as stop:
            while self.stage is not None:
                if self.stage.step >= self.cfg.steps(self.stage_name):
                    self._finish_stage()
                    continue
                if stop_after is not None and self.global_step >= stop_after:
                    self.save()
                    return False
                t0 = time.perf_counter()
                values = self.stage.train_step()
                self._record(values, time.perf_counter() - t0, log_every)
                if on_step:
                    on_step(self.stage_name, self.global_step, values)
                if stop.requested:
                    self.save()
                    raise TrainingInterrupted(path, f"{self.stage_name} step {self.stage.step} "
                                                    f"(overall {self.global_step} of {self.cfg.total_steps()})")
                if self.stage.step % checkpoint_every == 0:
                    self.save()
        return True
