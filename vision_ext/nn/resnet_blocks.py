"""torchvision-style ResNet blocks (same structure and state_dict keys), on fused kernels.

Training mode runs conv + fused BN-add-ReLU; eval mode runs conv + one affine
epilogue; after vision_ext.nn.fuse() the BN is folded into the conv and the
conv, bias, add and ReLU run as one fused op.
"""
from typing import Optional

import torch
from torch import nn

from vision_ext.nn.functional import batch_norm_act, conv_bias_act, layout_for


def conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=dilation, groups=groups,
                     bias=False, dilation=dilation)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


def conv_bn(x: torch.Tensor, conv: nn.Conv2d, bn: nn.Module, residual: Optional[torch.Tensor] = None,
            relu: bool = True) -> torch.Tensor:
    """relu(bn(conv(x)) + residual); a folded block has bn = Identity and a conv bias."""
    if isinstance(bn, nn.BatchNorm2d):
        return batch_norm_act(conv_bias_act(x, conv), bn, residual=residual, relu=relu)
    return conv_bias_act(x, conv, residual=residual, outer_relu=relu)


def shortcut(x: torch.Tensor, downsample: Optional[nn.Module]) -> torch.Tensor:
    if downsample is None:
        return x
    if isinstance(downsample, nn.Sequential) and len(downsample) == 2 and isinstance(downsample[0], nn.Conv2d):
        return conv_bn(x, downsample[0], downsample[1], relu=False)
    return downsample(x)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1, norm_layer=None):
        super().__init__()
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64 (as torchvision)")
        if dilation > 1:
            raise NotImplementedError("BasicBlock: dilation > 1 is not supported (as torchvision)")
        norm_layer = norm_layer or nn.BatchNorm2d
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = layout_for(x, self.conv2)
        identity = shortcut(x, self.downsample)
        out = conv_bn(x, self.conv1, self.bn1)
        return conv_bn(out, self.conv2, self.bn2, residual=identity)


class Bottleneck(nn.Module):
    """ResNet v1.5 bottleneck (stride on the 3x3 conv), as torchvision."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Optional[nn.Module] = None,
                 groups: int = 1, base_width: int = 64, dilation: int = 1, norm_layer=None):
        super().__init__()
        norm_layer = norm_layer or nn.BatchNorm2d
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = layout_for(x, self.conv2)
        identity = shortcut(x, self.downsample)
        out = conv_bn(x, self.conv1, self.bn1)
        out = conv_bn(out, self.conv2, self.bn2)
        return conv_bn(out, self.conv3, self.bn3, residual=identity)
