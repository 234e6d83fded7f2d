"""ResNets: torchvision's parameter counts and keys, the notes' nets, train/eval/fused parity."""
import copy

import pytest
import torch
from helpers.reference_nets import (NotesResNetV1, NotesResNetV2, PlainBasicBlock, PlainBottleneck, PlainResNet,
                                    randomize_bn)

import vision_ext.nn as vnn
from vision_ext import models


def _count(m):
    return sum(p.numel() for p in m.parameters())


def test_parameter_counts_match_torchvision():
    assert _count(models.resnet18()) == 11_689_512
    assert _count(models.resnet101()) == 44_549_160


@pytest.mark.parametrize("cifar", [False, True])
def test_state_dict_keys_match_plain_resnet(cifar):
    ours = models.resnet18(num_classes=10, cifar_stem=cifar)
    ref = PlainResNet(PlainBasicBlock, [2, 2, 2, 2], 10, cifar_stem=cifar)
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert list(models.resnet18(cifar_stem=True).state_dict()) == list(models.resnet18().state_dict())


@pytest.mark.parametrize("ours_fn,ref_fn", [(models.ResNetV1, NotesResNetV1), (models.ResNetV2, NotesResNetV2)])
def test_notes_networks_same_outputs_and_gradients(ours_fn, ref_fn):
    ref = ref_fn()
    ours = ours_fn()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(2, 3, 20, 20)
    xo, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, expect = ours(xo), ref(xr)
    assert out.shape == (2, 128, 14, 14)
    torch.testing.assert_close(out, expect, rtol=1e-4, atol=1e-5)
    out.sum().backward()
    expect.sum().backward()
    torch.testing.assert_close(xo.grad, xr.grad, rtol=1e-4, atol=1e-5)
    for p, q in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-3, atol=1e-4)


def test_resnet18_cifar_train_steps_match_plain():
    # float64: a small-batch ResNet amplifies fp32 rounding ~1e-2 in its gradients, which would
    # hide the question asked here (is the maths the same?); fp32 parity is tested per block.
    torch.manual_seed(0)
    ref = randomize_bn(PlainResNet(PlainBasicBlock, [2, 2, 2, 2], 10, cifar_stem=True)).double()
    ours = models.resnet18(num_classes=10, cifar_stem=True).double()
    ours.load_state_dict(ref.state_dict(), strict=True)
    opt_o = torch.optim.SGD(ours.parameters(), lr=0.05, momentum=0.9)
    opt_r = torch.optim.SGD(ref.parameters(), lr=0.05, momentum=0.9)
    for _ in range(2):
        x, y = torch.randn(8, 3, 16, 16, dtype=torch.float64), torch.randint(0, 10, (8,))
        for model, opt in ((ours, opt_o), (ref, opt_r)):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
    for (n, a), (_, b) in zip(ours.state_dict().items(), ref.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10, msg=n)


@pytest.mark.parametrize("build,ref_build,shape", [
    (lambda: models.resnet18(10, cifar_stem=True), lambda: PlainResNet(PlainBasicBlock, [2, 2, 2, 2], 10, True),
     (4, 3, 32, 32)),
    (lambda: models.resnet101(10), lambda: PlainResNet(PlainBottleneck, [3, 4, 23, 3], 10), (2, 3, 64, 64)),
], ids=["resnet18-cifar", "resnet101"])
def test_fused_inference_matches_plain(build, ref_build, shape):
    torch.manual_seed(0)
    ref = randomize_bn(ref_build()).eval()
    ours = build().eval()
    ours.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(*shape)
    with torch.no_grad():
        expect = ref(x)
        torch.testing.assert_close(ours(x), expect, rtol=1e-4, atol=1e-4)
        fused = vnn.fuse(copy.deepcopy(ours))
        got = fused(x)
    assert ((got - expect).norm() / expect.norm()).item() <= 1e-4


def test_resnet_rejects_bad_input():
    m = models.resnet18(num_classes=10, cifar_stem=True).eval()
    with pytest.raises(ValueError, match="3 channels"):
        m(torch.randn(1, 1, 32, 32))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        m(torch.randn(3, 32, 32))
    with pytest.raises(ValueError, match="num_classes"):
        models.resnet18(num_classes=0)


def test_resnet18_fp32_gradients_close_to_float64():
    # fp32 training gradients against a float64 plain network: eager PyTorch itself is ~5e-4
    # (NCHW) to ~6e-3 (channels_last) off here; a 5e-2 error once came from cancellation.
    torch.manual_seed(0)
    ref64 = PlainResNet(PlainBasicBlock, [2, 2, 2, 2], 10, cifar_stem=True).double()
    ours = models.resnet18(num_classes=10, cifar_stem=True)
    ours.load_state_dict(ref64.state_dict(), strict=True)
    x, y = torch.randn(16, 3, 32, 32), torch.randint(0, 10, (16,))
    torch.nn.functional.cross_entropy(ours(x), y).backward()
    torch.nn.functional.cross_entropy(ref64(x.double()), y).backward()
    for (name, p), q in zip(ours.named_parameters(), ref64.parameters()):
        rel = ((p.grad.double() - q.grad).norm() / q.grad.norm()).item()
        assert rel < 1.5e-2, (name, rel)
