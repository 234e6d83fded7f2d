"""A quality measure for a trained digits SD folder: a digit classifier (a ResNet trained by `vision-ext train`'s
loop on the real digits, its held-out accuracy reported) reads the images generated for "a handwritten digit
<name>" and counts how many are the digit asked for, with classifier-free guidance and without it."""
import os
from typing import Dict, Optional

import torch

from vision_ext.sd.training.data import NAMES, caption

CLASSIFIER_MODEL = "resnet-v1"


def digit_classifier(folder: str, epochs: int = 3, seed: int = 0, progress: bool = False):
    """(classifier in eval mode, its held-out accuracy): the run in `folder` (a `vision-ext train` output
    folder), trained there first when it holds no finished run of `epochs` epochs."""
    from vision_ext.training import checkpoint as ckpt
    from vision_ext.training.metrics import read_metrics
    from vision_ext.training.models import build_model
    from vision_ext.training.trainer import TrainConfig, train

    path = os.path.join(folder, ckpt.CHECKPOINT_NAME)
    state = ckpt.load(path, "vision-ext train") if os.path.exists(path) else None
    if state is None or state["epoch"] < state["recipe"]["epochs"]:
        cfg = TrainConfig(model=CLASSIFIER_MODEL, dataset="digits", out=folder, epochs=epochs, batch_size=64,
                          seed=seed, device="cpu", workers=0, progress=progress, resume=state is not None)
        train(cfg)
        state = ckpt.load(path, "vision-ext train")
    model = build_model(state["recipe"]["model"], 10, fused=state["recipe"]["fused"])
    model.load_state_dict(state["model"])
    test_acc = read_metrics(folder)["epochs"][-1]["test_acc"]
    return model.eval(), test_acc


@torch.no_grad()
def classify(model, images: torch.Tensor) -> torch.Tensor:
    """Predicted digits of uint8 images [N, 3, 32, 32] (normalised as `vision-ext train` trains on digits)."""
    from vision_ext.data.transforms import normalization_for

    return model(normalization_for("digits")(images)).argmax(dim=1)


def to_digit_images(images: torch.Tensor) -> torch.Tensor:
    """Pipeline output [N, 3, H, W] in [0, 1] -> uint8 grey images [N, 3, 32, 32], as a PNG of it would hold."""
    import torch.nn.functional as F

    if images.shape[-1] != 32:
        images = F.interpolate(images, size=(32, 32), mode="bilinear", align_corners=False)
    grey = images.mean(dim=1, keepdim=True).expand(-1, 3, -1, -1)
    return (grey * 255).round().to(torch.uint8)


def generate(pipe, per_digit: int, guidance: float, steps: int, sampler: str, seed: int) -> torch.Tensor:
    """uint8 images [10 * per_digit, 3, 32, 32]: per_digit for each digit's prompt, digit-major. The initial
    latents depend on the seed only, so runs with different guidance start from the same noise."""
    g = torch.Generator().manual_seed(seed)
    shape = (10 * per_digit, pipe.unet.config.in_channels, pipe.unet.config.sample_size,
             pipe.unet.config.sample_size)
    latents = torch.randn(shape, generator=g)
    out = pipe([caption(d) for d in range(10)], num_images_per_prompt=per_digit, guidance_scale=guidance,
               num_inference_steps=steps, sampler=sampler, latents=latents, output_type="pt",
               generator=torch.Generator().manual_seed(seed + 1)).images
    return to_digit_images(out)


def accuracy(pred: torch.Tensor, per_digit: int) -> Dict[str, float]:
    """{'zero': ..., ..., 'nine': ..., 'overall': ...}: the share of each prompt's images read as its digit."""
    want = torch.arange(10).repeat_interleave(per_digit)
    hit = (pred == want).float()
    out = {NAMES[d]: hit[want == d].mean().item() for d in range(10)}
    out["overall"] = hit.mean().item()
    return out


def evaluate(folder: str, guidances=(5.0, 1.0), per_digit: int = 20, steps: int = 50, sampler: str = "ddim",
             seed: int = 0, classifier_dir: Optional[str] = None, classifier_epochs: int = 3,
             progress: bool = False) -> dict:
    """{'classifier': {...}, 'results': [{'guidance': g, 'accuracy': {...}}, ...]} for the SD folder."""
    from vision_ext.sd import StableDiffusionPipeline

    classifier_dir = classifier_dir or os.path.join(folder, "classifier")
    model, test_acc = digit_classifier(classifier_dir, classifier_epochs, seed, progress)
    pipe = StableDiffusionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=not progress, desc="sd evaluate")
    results = []
    for guidance in guidances:
        pred = classify(model, generate(pipe, per_digit, guidance, steps, sampler, seed))
        results.append({"guidance": guidance, "accuracy": accuracy(pred, per_digit)})
    return {"checkpoint": folder, "per_digit": per_digit, "steps": steps, "sampler": sampler, "seed": seed,
            "classifier": {"model": CLASSIFIER_MODEL, "folder": classifier_dir, "held_out_accuracy": test_acc},
            "results": results}


def format_table(report: dict) -> str:
    cols = [f"g={r['guidance']:g}" for r in report["results"]]
    lines = [f"classifier {report['classifier']['model']}: held-out accuracy "
             f"{report['classifier']['held_out_accuracy']:.4f} on the real digits",
             f"{report['per_digit']} images per digit, {report['sampler']} {report['steps']} steps; share classified "
             "as the digit asked for:", f"{'digit':<8}" + "".join(f"{c:>9}" for c in cols)]
    for key in (*NAMES, "overall"):
        lines.append(f"{key:<8}" + "".join(f"{r['accuracy'][key]:>9.3f}" for r in report["results"]))
    return "\n".join(lines)


def write_report(report: dict, path: str) -> None:
    from vision_ext.training.metrics import write_json_atomic

    write_json_atomic(report, path)
