"""Training loop, checkpoints, metrics, DDP set-up and the ResNet comparison behind
`vision-ext train` and `vision-ext compare-resnets`."""
from vision_ext.training.models import MODELS, build_model, count_parameters
from vision_ext.training.trainer import TrainConfig, train

__all__ = ["MODELS", "TrainConfig", "build_model", "count_parameters", "train"]
