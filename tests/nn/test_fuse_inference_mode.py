"""vision_ext.nn.fuse and the fused forward inside torch.inference_mode (issue 15): inference tensors carry no
version counter, which the stale-packed-weight check reads."""
import pytest
import torch

import vision_ext.nn as vnn
from vision_ext import models
from vision_ext.diffusion import UNet, make_scheduler, sample
from vision_ext.models import reference
from helpers.reference_nets import randomize_bn


def _pair():
    torch.manual_seed(0)
    ref = reference.resnet18(num_classes=10, cifar_stem=True)
    randomize_bn(ref)
    ours = models.resnet18(num_classes=10, cifar_stem=True)
    ours.load_state_dict(ref.state_dict(), strict=True)
    return ours.eval(), ref.eval()


@pytest.mark.parametrize("built_inside", [False, True], ids=["model-built-outside", "model-built-inside"])
def test_fuse_and_forward_inside_inference_mode_match_plain_torch(built_inside):
    ours, ref = _pair()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expect = ref(x)
    with torch.inference_mode():
        if built_inside:  # every parameter an inference tensor
            fresh = models.resnet18(num_classes=10, cifar_stem=True).eval()
            fresh.load_state_dict(ours.state_dict())
            ours = fresh
        vnn.fuse(ours)
        got = ours(x)
    assert any(getattr(m, "winograd_weight", None) is not None for m in ours.modules())
    torch.testing.assert_close(got, expect, rtol=1e-4, atol=1e-4)


def test_stale_weight_check_still_fires_after_fusing_in_inference_mode():
    ours, _ = _pair()
    with torch.inference_mode():
        vnn.fuse(ours)
    conv = next(m for m in ours.modules() if getattr(m, "winograd_weight", None) is not None)
    with torch.no_grad():
        conv.weight.mul_(2)
    with pytest.raises(RuntimeError, match="call fuse"):
        with torch.inference_mode():
            ours(torch.randn(1, 3, 32, 32))


def test_unet_without_batchnorm_fused_and_sampled_inside_inference_mode():
    """No BN to fold: the packed convs keep the model's own (here inference-tensor) weights."""
    torch.manual_seed(0)
    plain = UNet(1, 64, (1,), 1, (), 0.0, 8).eval()
    with torch.inference_mode():
        unet = UNet(1, 64, (1,), 1, (), 0.0, 8).eval()
        unet.load_state_dict(plain.state_dict())
        vnn.fuse(unet)
        assert any(getattr(m, "winograd_weight", None) is not None for m in unet.modules())
        got = sample(unet, make_scheduler("ddim"), (2, 1, 8, 8), 4, generator=torch.Generator().manual_seed(0))
    plain.set_fused(False)
    with torch.no_grad():
        expect = sample(plain, make_scheduler("ddim"), (2, 1, 8, 8), 4, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(got, expect, rtol=1e-4, atol=1e-4)
