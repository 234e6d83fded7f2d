"""Plain eager-PyTorch twins of our blocks and networks: the peers our fused paths race.

Built from the same parameters (load_state_dict) so outputs can be compared.
"""
import copy

import torch
import torch.nn.functional as F
from torch import nn


def _conv(c, x):
    return F.conv2d(x, c.weight, c.bias, c.stride, c.padding, c.dilation, c.groups)


class EagerTwin(nn.Module):
    """Runs a vision_ext module tree with plain torch ops (conv, BatchNorm2d, relu, add)."""

    def __init__(self, module: nn.Module):
        super().__init__()
        self.inner = copy.deepcopy(module)

    def forward(self, x):
        return _run(self.inner, x)


def _basic(b, x):
    identity = x if b.downsample is None else b.downsample(x)
    out = F.relu(b.bn1(_conv(b.conv1, x)))
    return F.relu(b.bn2(_conv(b.conv2, out)) + identity)


def _bottleneck(b, x):
    identity = x if b.downsample is None else b.downsample(x)
    out = F.relu(b.bn1(_conv(b.conv1, x)))
    out = F.relu(b.bn2(_conv(b.conv2, out)))
    return F.relu(b.bn3(_conv(b.conv3, out)) + identity)


def _residual(b, x):
    return F.relu(_conv(b.conv2, F.relu(_conv(b.conv1, x))) + x)


def _notes_bottleneck(b, x):
    out = F.relu(_conv(b.conv2, F.relu(_conv(b.conv1, x))))
    return F.relu(F.relu(_conv(b.conv3, out)) + x)


def _resnet(m, x):
    x = m.maxpool(F.relu(m.bn1(_conv(m.conv1, x))))
    for layer in (m.layer1, m.layer2, m.layer3, m.layer4):
        for block in layer:
            x = _run(block, x)
    return m.fc(torch.flatten(m.avgpool(x), 1))


def _notes_net(m, x):
    blocks = [c for n, c in m.named_children() if "block" in n]
    out = _run(blocks[0], F.relu(_conv(m.conv1, x)))
    out = _run(blocks[1], F.relu(_conv(m.conv2, out)))
    return _conv(m.conv3, out)


_RUNNERS = {"BasicBlock": _basic, "Bottleneck": _bottleneck, "ResidualBlock": _residual,
            "BottleneckBlock": _notes_bottleneck, "ResNet": _resnet, "ResNetV1": _notes_net, "ResNetV2": _notes_net}


def _run(module, x):
    return _RUNNERS[type(module).__name__](module, x)
