"""Fused residual blocks and ResNets vs eager NCHW, eager channels_last and torch.compile."""
import copy
import functools

import torch

from vision_ext import models
from vision_ext import nn as vnn
from vision_ext.bench.core import Case
from vision_ext.bench.models import EagerTwin


def _randomize_bn(model):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    return model


@functools.lru_cache(maxsize=None)
def _compiled(key, model):
    return torch.compile(model)


def _inference_case(op, shape, build, device, compile_peer=True, dtype=torch.float32):
    torch.manual_seed(0)
    model = _randomize_bn(build()).to(device=device, dtype=dtype).eval()
    fused = vnn.fuse(copy.deepcopy(model))
    eager = EagerTwin(model).eval().to(memory_format=torch.contiguous_format)
    eager_cl = copy.deepcopy(eager).to(memory_format=torch.channels_last)
    x = torch.randn(*shape, device=device, dtype=dtype)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    peers = {"eager NCHW": lambda x: eager(x), "eager channels_last": lambda x: eager_cl(x_cl)}
    if compile_peer:
        compiled = _compiled((op, shape, device), eager)
        peers["torch.compile"] = lambda x: compiled(x)
    # Each side gets its input in the layout it runs in, as inside a network, where the previous block
    # hands it over: the fused model and the channels_last peer channels_last, eager NCHW NCHW (the
    # conversion of a network's input is part of the whole-network cases, whose input has 3 channels).
    ours_x = x_cl if device == "cpu" else x
    return Case(op=op, shape="x".join(map(str, shape)), device=device, ours=lambda x: fused(ours_x), peers=peers,
                setup=lambda: (x,), rtol=1e-3, atol=1e-3)


def _train_step_case(op, shape, build, device, num_classes=10):
    torch.manual_seed(0)
    ours = build().to(device)
    eager = EagerTwin(ours).to(memory_format=torch.contiguous_format)
    eager_cl = copy.deepcopy(eager).to(memory_format=torch.channels_last)
    x = torch.randn(*shape, device=device)
    y = torch.randint(0, num_classes, (shape[0],), device=device)

    def stepper(model, inp):
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)

        def step(_):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(model(inp), y)
            loss.backward()
            opt.step()
            return loss.detach()
        return step

    return Case(op=op, shape="x".join(map(str, shape)), device=device, ours=stepper(ours, x),
                peers={"eager NCHW": stepper(eager, x),
                       "eager channels_last": stepper(eager_cl, x.contiguous(memory_format=torch.channels_last))},
                setup=lambda: (None,), needs_grad=True,
                matches=lambda a, b: bool(torch.isfinite(a)) and bool(torch.isfinite(b)))


def cases(quick: bool, device: str):
    n = 8 if quick else 32
    out = [
        _inference_case("BasicBlock inference", (n, 64, 32, 32), lambda: vnn.BasicBlock(64, 64), device),
        _inference_case("notes ResidualBlock inference", (n, 64, 32, 32), lambda: vnn.ResidualBlock(64), device,
                        compile_peer=not quick),
        _inference_case("notes BottleneckBlock inference", (n, 64, 32, 32), lambda: vnn.BottleneckBlock(64),
                        device, compile_peer=not quick),
        _inference_case("resnet18-CIFAR inference", (n, 3, 32, 32),
                        lambda: models.resnet18(10, cifar_stem=True), device, compile_peer=not quick),
    ]
    if not quick:
        out += [
            _inference_case("notes ResNetV1 inference", (n, 3, 32, 32), models.ResNetV1, device),
            _inference_case("notes ResNetV2 inference", (n, 3, 32, 32), models.ResNetV2, device),
            _inference_case("resnet101 inference", (4, 3, 224, 224), lambda: models.resnet101(1000), device,
                            compile_peer=False),
        ]
    out.append(_train_step_case("resnet18-CIFAR train step", (8 if quick else 32, 3, 32, 32),
                                lambda: models.resnet18(10, cifar_stem=True), device))
    if device == "cuda" and not quick:
        out.append(_inference_case("resnet18 inference bf16 CL", (256, 3, 224, 224), lambda: models.resnet18(),
                                   device, compile_peer=False, dtype=torch.bfloat16))
    return out
