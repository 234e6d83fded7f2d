"""The training loop behind `vision-ext train`: SGD + momentum, cosine schedule (per step),
per-epoch metrics, an atomic checkpoint each epoch and exact resume.

Exactness of --resume on CPU rests on three things: the data order and
augmentation of epoch e depend only on (seed, e) (vision_ext.data.loaders);
the checkpoint holds every piece of mutable state (weights, BN buffers,
momentum, schedule, grad scaler, RNGs); and nothing else is random.
"""
import dataclasses
import os
import random
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F

from vision_ext.training import checkpoint as ckpt
from vision_ext.training import distributed as dist_util
from vision_ext.training.interrupt import StopRequest, TrainingInterrupted
from vision_ext.training.metrics import MetricsLog, peak_memory, reset_peak_memory
from vision_ext.training.models import build_model, count_parameters

# Fields that define the run: a resumed run must agree on all of them, or it is a different run.
RECIPE_FIELDS = ("model", "dataset", "epochs", "batch_size", "subset", "seed", "lr", "momentum", "weight_decay",
                 "fused", "amp", "channels_last", "world_size")


@dataclass
class TrainConfig:
    model: str = "resnet18"
    dataset: str = "digits"
    out: str = "runs/train"
    data_dir: Optional[str] = None
    epochs: int = 5
    batch_size: int = 128        # per process
    subset: Optional[int] = None  # first N train (and test) images
    seed: int = 0
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    fused: bool = True
    amp: bool = False
    channels_last: bool = False
    device: str = "auto"
    workers: int = 2
    resume: bool = False
    overwrite: bool = False
    stop_after: Optional[int] = None  # stop after this many epochs in total, as if interrupted
    progress: bool = True
    world_size: int = field(default=1, repr=False)  # filled in from torchrun's environment


class RunStateError(Exception):
    """The output folder does not fit the request (nothing to resume, or a run already there)."""


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _autocast(device: torch.device, enabled: bool):
    # fp16 + GradScaler on CUDA; bf16 on CPU (no scaler needed: bf16 has fp32's range).
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device.type, dtype=dtype, enabled=enabled)


def _to_device(x, y, device, channels_last):
    x = x.to(device, non_blocking=True)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(device, non_blocking=True)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _check_out_dir(cfg: TrainConfig, path: str) -> Optional[dict]:
    """The checkpoint to resume from (or None for a fresh run); raises RunStateError when they disagree."""
    exists = os.path.exists(path)
    if os.path.isdir(path):
        raise RunStateError(f"{path} is a folder, not a checkpoint; remove it or use another --out")
    if cfg.resume:
        if not exists:
            raise RunStateError(f"--resume: no checkpoint at {path}; run without --resume to start training there")
        state = ckpt.load(path, "vision-ext train")
        mine = {k: getattr(cfg, k) for k in RECIPE_FIELDS}
        theirs = {k: state["recipe"].get(k) for k in RECIPE_FIELDS}
        diff = [f"--{k.replace('_', '-')} {theirs[k]} (checkpoint) vs {mine[k]} (now)"
                for k in RECIPE_FIELDS if mine[k] != theirs[k]]
        if diff:
            raise RunStateError("--resume: the checkpoint was trained with another recipe: " + "; ".join(diff)
                                + ". Pass the same options as the original run, or another --out")
        return state
    if exists and not cfg.overwrite:
        raise RunStateError(f"{cfg.out} already holds a run ({path}); pass --resume to continue it, "
                            "--overwrite to start again there, or another --out")
    return None


def train(cfg: TrainConfig) -> dict:
    """Train as configured; returns {"config": ..., "epochs": [...]} (the contents of metrics.json)."""
    from tqdm import tqdm

    from vision_ext.data import load_dataset, make_loader

    ctx, device = dist_util.init(cfg.device)
    cfg = dataclasses.replace(cfg, world_size=ctx.world_size)
    os.makedirs(cfg.out, exist_ok=True)
    ckpt_path = os.path.join(cfg.out, ckpt.CHECKPOINT_NAME)
    state = _check_out_dir(cfg, ckpt_path)
    dist_util.barrier()  # every rank has read the checkpoint before rank 0 may replace it

    train_set = load_dataset(cfg.dataset, True, cfg.data_dir, cfg.subset)
    test_set = load_dataset(cfg.dataset, False, cfg.data_dir, cfg.subset)
    # Workers only help when the model runs elsewhere (GPU); on CPU they compete with it for cores.
    train_loader = make_loader(train_set, cfg.batch_size, True, cfg.seed, ctx.rank, ctx.world_size, cfg.workers,
                               pin_memory=device.type == "cuda")
    test_loader = make_loader(test_set, cfg.batch_size, False, cfg.seed, ctx.rank, ctx.world_size, cfg.workers,
                              pin_memory=device.type == "cuda")

    _seed_everything(cfg.seed)
    model = build_model(cfg.model, train_set.num_classes, fused=cfg.fused)
    n_params = count_parameters(model)
    model.to(device)
    if cfg.channels_last:
        model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum,
                                weight_decay=cfg.weight_decay, nesterov=False)
    steps = cfg.epochs * len(train_loader)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    scaler = torch.amp.GradScaler(device.type, enabled=cfg.amp and device.type == "cuda")

    start_epoch = 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        ckpt.restore_rng_states(state["rng"])
        start_epoch = state["epoch"]
    net = model
    if ctx.enabled:
        net = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    config = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in ("resume", "overwrite", "progress")}
    config.update(parameters=n_params, device=str(device), torch=torch.__version__,
                  threads=torch.get_num_threads(), train_images=len(train_set), test_images=len(test_set))
    log = MetricsLog(cfg.out, config, keep_epochs=start_epoch) if ctx.is_main else None
    last = cfg.epochs if cfg.stop_after is None else min(cfg.epochs, cfg.stop_after)
    if ctx.is_main and start_epoch >= last:
        print(f"vision-ext train: {cfg.out} is already at epoch {start_epoch} of {cfg.epochs}; nothing to do")

    # After a Ctrl-C the loop stops once the epoch in progress is checkpointed.
    with StopRequest("stopping after this epoch's checkpoint") as stop:
        for epoch in range(start_epoch, last):
            reset_peak_memory(device)
            _sync(device)
            t0 = time.perf_counter()
            train_loader.set_epoch(epoch)
            net.train()
            sums = torch.zeros(3, dtype=torch.float64, device=device)  # loss * n, correct, n
            bar = tqdm(train_loader, desc=f"{cfg.model} epoch {epoch + 1}/{cfg.epochs}", leave=False,
                       disable=not (cfg.progress and ctx.is_main), dynamic_ncols=True)
            for x, y in bar:
                x, y = _to_device(x, y, device, cfg.channels_last)
                with _autocast(device, cfg.amp):
                    logits = net(x)
                    loss = F.cross_entropy(logits, y)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                with torch.no_grad():
                    sums += torch.stack([loss.detach().double() * len(y), (logits.argmax(1) == y).sum().double(),
                                         torch.tensor(float(len(y)), dtype=torch.float64, device=device)])
            _sync(device)
            train_time = time.perf_counter() - t0
            dist_util.all_reduce(sums)
            if ctx.enabled:
                # Evaluate (and checkpoint) with rank 0's BN statistics on every rank.
                for buf in model.buffers():
                    torch.distributed.broadcast(buf, 0)
            # The bare model, not DDP: test shards may differ by one batch, and DDP's forward is collective.
            test_loss, test_acc = evaluate(model, test_loader, device, cfg)
            _sync(device)
            epoch_time = time.perf_counter() - t0
            memory = peak_memory(device)
            peak = dist_util.all_reduce(torch.tensor([memory["peak_memory_mib"]], device=device),
                                        op=torch.distributed.ReduceOp.MAX if ctx.enabled else None)
            memory["peak_memory_mib"] = float(peak.item())
            record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"],
                      "train_loss": (sums[0] / sums[2]).item(), "train_acc": (sums[1] / sums[2]).item(),
                      "test_loss": test_loss, "test_acc": test_acc, "train_time_s": train_time,
                      "epoch_time_s": epoch_time, "images_per_s": sums[2].item() / train_time, **memory}
            if ctx.is_main:
                # Checkpoint first: a metrics record never describes an epoch that a resume would redo.
                ckpt.atomic_save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                  "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict(),
                                  "epoch": epoch + 1, "rng": ckpt.rng_states(),
                                  "data": {"seed": cfg.seed, "next_epoch": epoch + 1},
                                  "recipe": {k: getattr(cfg, k) for k in RECIPE_FIELDS}}, ckpt_path)
                log.append(record)
                tqdm.write(f"epoch {epoch + 1}/{cfg.epochs}  train loss {record['train_loss']:.4f} "
                           f"acc {record['train_acc']:.4f}  test loss {test_loss:.4f} acc {test_acc:.4f}  "
                           f"{epoch_time:.1f} s  {record['images_per_s']:.0f} img/s  "
                           f"peak {memory['peak_memory_mib']:.0f} MiB")
            dist_util.barrier()
            # Every rank stops after the same epoch if any of them was asked to.
            asked = dist_util.all_reduce(torch.tensor([float(stop.requested)], device=device),
                                         op=torch.distributed.ReduceOp.MAX if ctx.enabled else None)
            if asked.item() and epoch + 1 < last:
                del net  # before the process group: see distributed.shutdown
                dist_util.shutdown()
                raise TrainingInterrupted(ckpt_path, f"epoch {epoch + 1} of {cfg.epochs}")
    result = log.data if ctx.is_main else None
    del net  # before the process group: see distributed.shutdown
    dist_util.shutdown()
    return result


@torch.no_grad()
def evaluate(net, loader, device, cfg: TrainConfig):
    """(mean loss, accuracy) over the whole test split, summed across processes."""
    net.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=device)
    for x, y in loader:
        x, y = _to_device(x, y, device, cfg.channels_last)
        with _autocast(device, cfg.amp):
            logits = net(x)
        loss = F.cross_entropy(logits.float(), y, reduction="sum")
        sums += torch.stack([loss.double(), (logits.argmax(1) == y).sum().double(),
                             torch.tensor(float(len(y)), dtype=torch.float64, device=device)])
    dist_util.all_reduce(sums)
    return (sums[0] / sums[2]).item(), (sums[1] / sums[2]).item()
