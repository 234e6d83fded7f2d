"""Op contract of the Canny edge detector (csrc/ops/canny.cpp): the raw wrapper over
torch.ops.vision_ext.canny and its fake kernel for torch.compile. Not differentiable (uint8 in,
0/255 out). User-facing defaults and numpy handling live in vision_ext.features.edges."""
import torch

from vision_ext._build import register_cuda_missing

Tensor = torch.Tensor


def canny(image: Tensor, low: float, high: float, aperture: int, l2_gradient: bool) -> Tensor:
    return torch.ops.vision_ext.canny(image, low, high, aperture, l2_gradient)


@torch.library.register_fake("vision_ext::canny")
def _canny_fake(image, low, high, aperture, l2_gradient):
    torch._check(image.dim() in (2, 3, 4), lambda: f"canny: image must be (H, W), (C, H, W) or (B, C, H, W), got "
                                                   f"{tuple(image.shape)}")
    h, w = image.shape[-2:]
    if image.dim() == 2:
        return image.new_empty((h, w), dtype=torch.uint8)
    if image.dim() == 3:
        return image.new_empty((1, h, w), dtype=torch.uint8)
    return image.new_empty((image.shape[0], 1, h, w), dtype=torch.uint8)


register_cuda_missing("vision_ext::canny")
