"""Test oracles: plain-PyTorch twins of our networks (vision_ext.models.reference, which
uses no vision_ext kernel: nn.Conv2d, nn.BatchNorm2d, ReLU, +), under the names the tests use."""
from torch import nn

from vision_ext.models import reference as ref

NotesResidualBlock = ref.ResidualBlock      # the notes' section 4 classes, as written there
NotesBottleneckBlock = ref.BottleneckBlock
NotesResNetV1 = ref.ResNetV1
NotesResNetV2 = ref.ResNetV2
PlainBasicBlock = ref.BasicBlock            # torchvision-style blocks and ResNet
PlainBottleneck = ref.Bottleneck
PlainResNet = ref.ResNet


def randomize_bn(model):
    """Non-trivial BN state so that folding and eval paths are really exercised."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_(0, 0.1)
    return model
