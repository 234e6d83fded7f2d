"""Model names accepted by `vision-ext train` and how to build them, fused or reference."""
from torch import nn

MODELS = ("resnet18", "resnet101", "resnet-v1", "resnet-v2")
NOTES_FEATURE_CHANNELS = 128  # ResNetV1/V2 end in conv(64 -> 128)


def build_model(name: str, num_classes: int = 10, fused: bool = True) -> nn.Module:
    """fused=True: vision_ext.models (our kernels); fused=False: the pure-PyTorch reference build.

    The ResNets use the CIFAR stem (32x32 inputs); the notes' nets get a global-average-pool + Linear head.
    Both builds have the same state_dict keys and, for the same torch seed, the same initial weights: the
    fused build is initialised from the reference one, so a comparison of the two starts from one point
    whatever order each registers its layers in.
    """
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    from vision_ext.models import reference as ref

    reference = _build(ref, name, num_classes)
    if not fused:
        return reference
    import vision_ext.models as zoo

    model = _build(zoo, name, num_classes)
    model.load_state_dict(reference.state_dict())
    return model


def _build(zoo, name: str, num_classes: int) -> nn.Module:
    from vision_ext.models import reference as ref

    if name == "resnet18":
        return zoo.resnet18(num_classes=num_classes, cifar_stem=True)
    if name == "resnet101":
        return zoo.resnet101(num_classes=num_classes, cifar_stem=True)
    features = zoo.ResNetV1() if name == "resnet-v1" else zoo.ResNetV2()
    return ref.FeatureClassifier(features, NOTES_FEATURE_CHANNELS, num_classes)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
