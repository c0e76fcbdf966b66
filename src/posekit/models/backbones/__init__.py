"""Backbones: ``forward(x) -> tuple[Tensor, ...]``, MMPose's class names, arguments and state_dict keys."""

from .alexnet import AlexNet
from .base import BaseBackbone
from .cpm import CPM
from .cspnext import CSPNeXt
from .hourglass import HourglassNet
from .hrformer import HRFormer
from .hrnet import HRNet
from .litehrnet import LiteHRNet
from .mobilenet_v2 import MobileNetV2
from .mspn import MSPN
from .pvt import PyramidVisionTransformer, PyramidVisionTransformerV2
from .resnest import ResNeSt
from .resnet import ResNet, ResNetV1d
from .resnext import ResNeXt
from .rsn import RSN
from .scnet import SCNet
from .seresnet import SEResNet
from .shufflenet_v1 import ShuffleNetV1
from .shufflenet_v2 import ShuffleNetV2
from .swin import SwinTransformer
from .torchvision_backbone import TorchvisionBackbone
from .vgg import VGG
from .vipnas_mbv3 import ViPNAS_MobileNetV3
from .vipnas_resnet import ViPNAS_ResNet
from .vit import VisionTransformer

__all__ = [
    "AlexNet",
    "BaseBackbone",
    "CPM",
    "CSPNeXt",
    "HRFormer",
    "HRNet",
    "HourglassNet",
    "LiteHRNet",
    "MSPN",
    "MobileNetV2",
    "PyramidVisionTransformer",
    "PyramidVisionTransformerV2",
    "ResNeSt",
    "ResNet",
    "ResNetV1d",
    "ResNeXt",
    "RSN",
    "SCNet",
    "SEResNet",
    "ShuffleNetV1",
    "ShuffleNetV2",
    "SwinTransformer",
    "TorchvisionBackbone",
    "VGG",
    "ViPNAS_MobileNetV3",
    "ViPNAS_ResNet",
    "VisionTransformer",
]
