"""The study notes' blocks (section 4), same parameter names and maths, on fused kernels."""
import torch
from torch import nn

from vision_ext.nn.functional import conv_bias_act, layout_for


class ResidualBlock(nn.Module):
    """relu(conv2(relu(conv1(x))) + x); C, H, W unchanged (3x3 convs, padding 1, with bias)."""

    def __init__(self, c: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels=c, out_channels=c, kernel_size=3, stride=1, padding=1)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(in_channels=c, out_channels=c, kernel_size=3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = layout_for(x, self.conv2)
        out = conv_bias_act(x, self.conv1, outer_relu=True)
        return conv_bias_act(out, self.conv2, residual=x, outer_relu=True)


class BottleneckBlock(nn.Module):
    """relu(relu(conv3(relu(conv2(relu(conv1(x)))))) + x) with a c -> c/4 -> c/4 -> c bottleneck.

    The notes apply a ReLU to conv3's output before the add; kept, as their outputs are the contract.
    """

    def __init__(self, c: int):
        super().__init__()
        if c < 4:
            raise ValueError(f"BottleneckBlock: c must be at least 4 (it is divided by 4), got c={c}")
        self.conv1 = nn.Conv2d(in_channels=c, out_channels=c // 4, kernel_size=1)
        self.conv2 = nn.Conv2d(in_channels=c // 4, out_channels=c // 4, kernel_size=3, padding=1)
        self.conv3 = nn.Conv2d(in_channels=c // 4, out_channels=c, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = layout_for(x, self.conv2)
        out = conv_bias_act(x, self.conv1, outer_relu=True)
        out = conv_bias_act(out, self.conv2, outer_relu=True)
        return conv_bias_act(out, self.conv3, residual=x, inner_relu=True, outer_relu=True)
