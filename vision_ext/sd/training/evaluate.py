"""A quality measure for a trained digits SD folder: a digit classifier, trained here on the real digits (its
held-out accuracy reported), reads the images generated for "a handwritten digit <name>" and counts how many are
the digit asked for, with classifier-free guidance and without it.

The classifier is an RBF support-vector machine on the images brought back to the digits' 8x8 grid (4x4 means
of the 32x32 images): 99% on the held-out split, trained in a second. (`vision-ext train`'s ResNets were the
first choice; resnet-v1 was still at chance after 3 epochs of its recipe on the digits, at minutes per epoch.)"""
from typing import Dict

import numpy as np
import torch
import torch.nn.functional as F

from vision_ext.sd.training.data import NAMES, caption

CLASSIFIER = "RBF SVM (gamma 0.001, C 10) on 8x8 means"


def features(images: torch.Tensor) -> np.ndarray:
    """uint8 [N, 3, 32, 32] -> [N, 64]: the grey image as 4x4-pixel means, on the digits' 0..16 scale."""
    grey = images[:, :1].float() / 255.0
    return (F.avg_pool2d(grey, 4).flatten(1) * 16).numpy()


def digit_classifier():
    """(fitted classifier, its accuracy on the held-out split of vision_ext.data.digits)."""
    from sklearn.svm import SVC

    from vision_ext.data.digits import load_digits32

    (x, y), (xt, yt) = load_digits32(train=True), load_digits32(train=False)
    model = SVC(gamma=0.001, C=10.0).fit(features(x), y.numpy())
    return model, float((model.predict(features(xt)) == yt.numpy()).mean())


def classify(model, images: torch.Tensor) -> torch.Tensor:
    """Predicted digits of uint8 images [N, 3, 32, 32]."""
    return torch.from_numpy(model.predict(features(images)).astype(np.int64))


def to_digit_images(images: torch.Tensor) -> torch.Tensor:
    """Pipeline output [N, 3, H, W] in [0, 1] -> uint8 grey images [N, 3, 32, 32], as a PNG of it would hold."""
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
             seed: int = 0, progress: bool = False) -> dict:
    """{'classifier': {...}, 'results': [{'guidance': g, 'accuracy': {...}}, ...]} for the SD folder."""
    from vision_ext.sd import StableDiffusionPipeline

    model, test_acc = digit_classifier()
    pipe = StableDiffusionPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=not progress, desc="sd evaluate")
    results = []
    for guidance in guidances:
        pred = classify(model, generate(pipe, per_digit, guidance, steps, sampler, seed))
        results.append({"guidance": guidance, "accuracy": accuracy(pred, per_digit)})
    return {"checkpoint": folder, "per_digit": per_digit, "steps": steps, "sampler": sampler, "seed": seed,
            "classifier": {"model": CLASSIFIER, "held_out_accuracy": test_acc},
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
