"""Backbones: ``forward(x) -> tuple[Tensor, ...]``, MMPose's class names, arguments and state_dict keys."""

from .base import BaseBackbone
from .cspnext import CSPNeXt
from .hrnet import HRNet
from .litehrnet import LiteHRNet
from .mobilenet_v2 import MobileNetV2
from .resnet import ResNet, ResNetV1d
from .torchvision_backbone import TorchvisionBackbone
from .vit import VisionTransformer

__all__ = [
    "BaseBackbone",
    "CSPNeXt",
    "HRNet",
    "LiteHRNet",
    "MobileNetV2",
    "ResNet",
    "ResNetV1d",
    "TorchvisionBackbone",
    "VisionTransformer",
]
