"""Networks built from vision_ext.nn blocks."""
from vision_ext.models.notes_resnets import ResNetV1, ResNetV2
from vision_ext.models.resnet import ResNet, resnet18, resnet101

__all__ = ["ResNet", "ResNetV1", "ResNetV2", "resnet18", "resnet101"]
