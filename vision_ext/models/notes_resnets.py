"""The study notes' ResNetV1 / ResNetV2 (section 4): same layers, names, order and outputs."""
import torch
from torch import nn

from vision_ext.nn.functional import conv_bias_act, preferred_layout
from vision_ext.nn.notes_blocks import BottleneckBlock, ResidualBlock


def _stem_convs(net: nn.Module, block, names) -> None:
    """conv(3->32) relu, block(32), conv(32->64) relu, block(64), conv(64->128), in the notes' order."""
    net.conv1 = nn.Conv2d(in_channels=3, out_channels=32, kernel_size=3, stride=1)
    net.relu1 = nn.ReLU()
    setattr(net, names[0], block(32))
    net.conv2 = nn.Conv2d(in_channels=32, out_channels=64, kernel_size=3, stride=1)
    net.relu2 = nn.ReLU()
    setattr(net, names[1], block(64))
    net.conv3 = nn.Conv2d(in_channels=64, out_channels=128, kernel_size=3, stride=1)
    net.to(memory_format=torch.channels_last)  # weights in the activations' layout (no per-call copies)


def _forward(net: nn.Module, first: nn.Module, second: nn.Module, x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"{type(net).__name__} expects x of shape (N, 3, H, W), got {tuple(x.shape)}")
    out = first(conv_bias_act(preferred_layout(x), net.conv1, outer_relu=True))
    out = second(conv_bias_act(out, net.conv2, outer_relu=True))
    return conv_bias_act(out, net.conv3)


class ResNetV1(nn.Module):
    """The notes' ResNetV1: 128-channel feature map of size H-6 x W-6 (unpadded 3x3 convs)."""

    def __init__(self):
        super().__init__()
        _stem_convs(self, ResidualBlock, ("resnet_block1", "resnet_block2"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _forward(self, self.resnet_block1, self.resnet_block2, x)


class ResNetV2(nn.Module):
    """The notes' ResNetV2: as ResNetV1 with bottleneck blocks."""

    def __init__(self):
        super().__init__()
        _stem_convs(self, BottleneckBlock, ("bottleneck_block1", "bottleneck_block2"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _forward(self, self.bottleneck_block1, self.bottleneck_block2, x)
