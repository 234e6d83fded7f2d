"""torchvision-compatible ResNets (same structure, state_dict keys and init) on fused blocks."""
from typing import List, Optional, Type, Union

import torch
from torch import nn

from vision_ext.nn.functional import preferred_layout
from vision_ext.nn.resnet_blocks import BasicBlock, Bottleneck, conv1x1, conv_bn


class ResNet(nn.Module):
    def __init__(self, block: Type[Union[BasicBlock, Bottleneck]], layers: List[int], num_classes: int = 1000,
                 zero_init_residual: bool = False, cifar_stem: bool = False, in_channels: int = 3):
        super().__init__()
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        self.inplanes = 64
        if cifar_stem:
            # 32x32 inputs: a 3x3 stride-1 stem and no max-pool (key names unchanged; Identity has no params).
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        self.cifar_stem = cifar_stem
        self._init_weights(zero_init_residual)
        # Weights in the activations' layout: otherwise every conv, its backward and the
        # gradient accumulation copy them (the layout does not change values or state_dict keys).
        self.to(memory_format=torch.channels_last)

    def _init_weights(self, zero_init_residual: bool) -> None:
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)

    def _make_layer(self, block, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample: Optional[nn.Module] = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"ResNet expects x of shape (N, C, H, W), got {tuple(x.shape)}")
        if x.shape[1] != self.conv1.in_channels:
            raise ValueError(f"ResNet expects x with {self.conv1.in_channels} channels (dim 1), "
                             f"got {x.shape[1]}; convert the image or build the model with in_channels=")
        x = self.maxpool(conv_bn(preferred_layout(x), self.conv1, self.bn1))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def resnet18(num_classes: int = 1000, cifar_stem: bool = False, **kwargs) -> ResNet:
    """ResNet-18 (11,689,512 parameters at 1000 classes), torchvision's structure and keys."""
    return ResNet(BasicBlock, [2, 2, 2, 2], num_classes=num_classes, cifar_stem=cifar_stem, **kwargs)


def resnet101(num_classes: int = 1000, cifar_stem: bool = False, **kwargs) -> ResNet:
    """ResNet-101 (44,549,160 parameters at 1000 classes), torchvision's structure and keys."""
    return ResNet(Bottleneck, [3, 4, 23, 3], num_classes=num_classes, cifar_stem=cifar_stem, **kwargs)
