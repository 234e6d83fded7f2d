"""The study notes' ResNetV1 / ResNetV2 (section 4): same layers, names and outputs."""
import torch
from torch import nn

from vision_ext.nn.functional import conv_bias_act, preferred_layout
from vision_ext.nn.notes_blocks import BottleneckBlock, ResidualBlock


class _NotesResNet(nn.Module):
    """conv(3->32) relu, block(32), conv(32->64) relu, block(64), conv(64->128); unpadded 3x3 convs."""

    def __init__(self, block):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=3, out_channels=32, kernel_size=3, stride=1)
        self.relu1 = nn.ReLU()
        self._block_names = self._add_blocks(block)
        self.conv2 = nn.Conv2d(in_channels=32, out_channels=64, kernel_size=3, stride=1)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(in_channels=64, out_channels=128, kernel_size=3, stride=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first, second = (getattr(self, n) for n in self._block_names)
        x = preferred_layout(x)
        out = first(conv_bias_act(x, self.conv1, outer_relu=True))
        out = second(conv_bias_act(out, self.conv2, outer_relu=True))
        return conv_bias_act(out, self.conv3)


class ResNetV1(_NotesResNet):
    def __init__(self):
        super().__init__(ResidualBlock)

    def _add_blocks(self, block):
        self.resnet_block1 = block(32)
        self.resnet_block2 = block(64)
        return ("resnet_block1", "resnet_block2")


class ResNetV2(_NotesResNet):
    def __init__(self):
        super().__init__(BottleneckBlock)

    def _add_blocks(self, block):
        self.bottleneck_block1 = block(32)
        self.bottleneck_block2 = block(64)
        return ("bottleneck_block1", "bottleneck_block2")
