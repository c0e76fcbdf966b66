"""Backbones: ``forward(x) -> tuple[Tensor, ...]``, MMPose's class names, arguments and state_dict keys."""

from .base import BaseBackbone
from .cspnext import CSPNeXt
from .hrformer import HRFormer
from .hrnet import HRNet
from .litehrnet import LiteHRNet
from .mobilenet_v2 import MobileNetV2
from .pvt import PyramidVisionTransformer, PyramidVisionTransformerV2
from .resnet import ResNet, ResNetV1d
from .shufflenet_v1 import ShuffleNetV1
from .shufflenet_v2 import ShuffleNetV2
from .swin import SwinTransformer
from .torchvision_backbone import TorchvisionBackbone
from .vipnas_mbv3 import ViPNAS_MobileNetV3
from .vipnas_resnet import ViPNAS_ResNet
from .vit import VisionTransformer

__all__ = [
    "BaseBackbone",
    "CSPNeXt",
    "HRFormer",
    "HRNet",
    "LiteHRNet",
    "MobileNetV2",
    "PyramidVisionTransformer",
    "PyramidVisionTransformerV2",
    "ResNet",
    "ResNetV1d",
    "ShuffleNetV1",
    "ShuffleNetV2",
    "SwinTransformer",
    "TorchvisionBackbone",
    "ViPNAS_MobileNetV3",
    "ViPNAS_ResNet",
    "VisionTransformer",
]
