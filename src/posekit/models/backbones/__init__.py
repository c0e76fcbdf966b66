"""Backbones: ``forward(x) -> tuple[Tensor, ...]``, MMPose's class names, arguments and state_dict keys."""

from .alexnet import AlexNet
from .base import BaseBackbone
from .cpm import CPM
from .cspnext import CSPNeXt
from .hourglass import HourglassNet
from .hrnet import HRNet
from .litehrnet import LiteHRNet
from .mobilenet_v2 import MobileNetV2
from .mspn import MSPN
from .resnest import ResNeSt
from .resnet import ResNet, ResNetV1d
from .resnext import ResNeXt
from .rsn import RSN
from .scnet import SCNet
from .seresnet import SEResNet
from .torchvision_backbone import TorchvisionBackbone
from .vgg import VGG
from .vit import VisionTransformer

__all__ = [
    "AlexNet",
    "BaseBackbone",
    "CPM",
    "CSPNeXt",
    "HRNet",
    "HourglassNet",
    "LiteHRNet",
    "MSPN",
    "MobileNetV2",
    "RSN",
    "ResNeSt",
    "ResNeXt",
    "ResNet",
    "ResNetV1d",
    "SCNet",
    "SEResNet",
    "TorchvisionBackbone",
    "VGG",
    "VisionTransformer",
]
