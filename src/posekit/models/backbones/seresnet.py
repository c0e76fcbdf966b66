"""SEResNet (MMPose 1.x ``SEResNet``): ResNet whose bottlenecks end with a squeeze-and-excitation layer.

`Squeeze-and-Excitation Networks <https://arxiv.org/abs/1709.01507>`__. State-dict keys are ResNet's plus
``layerX.Y.se_layer.conv{1,2}.conv.{weight,bias}``.
"""

from __future__ import annotations

import torch
from torch import nn

from ..utils.layers import ConvModule
from .resnet import Bottleneck, ResLayer, ResNet

__all__ = ["SEBottleneck", "SELayer", "SEResNet"]


class SELayer(nn.Module):
    """Squeeze-and-excitation: ``x * act2(conv2(act1(conv1(avgpool(x)))))`` (MMPose's ``SELayer``).

    Args:
        channels: input/output channels.
        ratio: squeeze ratio; the hidden width is ``int(channels / ratio)``.
        conv_cfg: conv layer config.
        act_cfg: one activation dict or a pair (after ``conv1``, after ``conv2``); default (ReLU, Sigmoid).
    """

    def __init__(
        self,
        channels: int,
        ratio: int = 16,
        conv_cfg: dict | None = None,
        act_cfg: dict | tuple[dict, dict] = (dict(type="ReLU"), dict(type="Sigmoid")),
    ):
        super().__init__()
        if isinstance(act_cfg, dict):
            act_cfg = (act_cfg, act_cfg)
        if len(act_cfg) != 2 or not all(isinstance(c, dict) for c in act_cfg):
            raise ValueError(f"SELayer: act_cfg must be a dict or a pair of dicts, got {act_cfg!r}")
        hidden = int(channels / ratio)
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = ConvModule(channels, hidden, kernel_size=1, stride=1, conv_cfg=conv_cfg, act_cfg=act_cfg[0])
        self.conv2 = ConvModule(hidden, channels, kernel_size=1, stride=1, conv_cfg=conv_cfg, act_cfg=act_cfg[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv2(self.conv1(self.global_avgpool(x)))


class SEBottleneck(Bottleneck):
    """ResNet bottleneck with an :class:`SELayer` (``se_layer``) on the residual branch, before the addition.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        se_ratio: squeeze ratio of the SE layer (default 16).
        **kwargs: :class:`posekit.models.backbones.resnet.Bottleneck`'s arguments.
    """

    def __init__(self, in_channels: int, out_channels: int, se_ratio: int = 16, **kwargs):
        super().__init__(in_channels, out_channels, **kwargs)
        self.se_layer = SELayer(out_channels, ratio=se_ratio)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.se_layer(self.norm3(self.conv3(out)))
        return out + identity


class SEResNet(ResNet):
    """SEResNet backbone, as MMPose's ``SEResNet``.

    Args:
        depth: 50, 101 or 152.
        se_ratio: squeeze ratio of every SE layer (default 16).
        **kwargs: :class:`ResNet`'s arguments.
    """

    arch_settings = {
        50: (SEBottleneck, (3, 4, 6, 3)),
        101: (SEBottleneck, (3, 4, 23, 3)),
        152: (SEBottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth: int, se_ratio: int = 16, **kwargs):
        if depth not in self.arch_settings:
            raise KeyError(f"invalid depth {depth} for SEResNet; choose from {sorted(self.arch_settings)}")
        self.se_ratio = se_ratio
        super().__init__(depth, **kwargs)

    def make_res_layer(self, **kwargs) -> ResLayer:
        return ResLayer(se_ratio=self.se_ratio, **kwargs)
