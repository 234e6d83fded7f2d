"""Fused drop-in modules: the notes' blocks and torchvision-style ResNet blocks."""
from vision_ext.nn.notes_blocks import BottleneckBlock, ResidualBlock
from vision_ext.nn.resnet_blocks import BasicBlock, Bottleneck

__all__ = ["BasicBlock", "Bottleneck", "BottleneckBlock", "ResidualBlock"]
from vision_ext.nn.fuse import fuse, fold_conv_bn  # noqa: E402

__all__ += ["fuse", "fold_conv_bn"]
from vision_ext.nn.conv_choice import conv_choices, set_conv_autotune  # noqa: E402

__all__ += ["conv_choices", "set_conv_autotune"]
