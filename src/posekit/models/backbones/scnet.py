"""SCNet (MMPose 1.x ``SCNet``): ResNet with self-calibrated convolutions.

`Improving Convolutional Networks with Self-Calibrated Convolutions <http://mftp.mmcheng.net/Papers/20cvprSCNet.pdf>`__.
Every bottleneck splits into two half-width paths: a plain 3x3 (``k1``) and a self-calibrated one (``scconv``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.layers import build_conv_layer, build_norm_layer
from .resnet import Bottleneck, ResNet

__all__ = ["SCBottleneck", "SCConv", "SCNet"]


def _conv3x3_bn(conv_cfg: dict | None, channels: int, norm_cfg: dict, stride: int = 1) -> list[nn.Module]:
    return [
        build_conv_layer(conv_cfg, channels, channels, kernel_size=3, stride=stride, padding=1, bias=False),
        build_norm_layer(norm_cfg, channels)[1],
    ]


class SCConv(nn.Module):
    """Self-calibrated convolution.

    ``k4(k3(x) * sigmoid(x + upsample(k2(x))))`` where ``k2`` works on an ``pooling_r``-times average-pooled
    ``x`` (a larger field of view calibrates the full-resolution ``k3`` path).

    Args:
        in_channels: input channels (must equal ``out_channels``).
        out_channels: output channels.
        stride: stride of ``k4``.
        pooling_r: down-sampling rate of the calibration path.
        conv_cfg: conv layer config.
        norm_cfg: norm layer config.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        pooling_r: int,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
    ):
        super().__init__()
        if in_channels != out_channels:
            raise ValueError(f"SCConv needs in_channels == out_channels, got {in_channels} and {out_channels}")
        norm_cfg = dict(type="BN", momentum=0.1) if norm_cfg is None else norm_cfg
        self.k2 = nn.Sequential(
            nn.AvgPool2d(kernel_size=pooling_r, stride=pooling_r), *_conv3x3_bn(conv_cfg, in_channels, norm_cfg)
        )
        self.k3 = nn.Sequential(*_conv3x3_bn(conv_cfg, in_channels, norm_cfg))
        self.k4 = nn.Sequential(*_conv3x3_bn(conv_cfg, in_channels, norm_cfg, stride=stride), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        calibration = torch.sigmoid(x + F.interpolate(self.k2(x), x.shape[2:]))
        return self.k4(self.k3(x) * calibration)


class SCBottleneck(Bottleneck):
    """Bottleneck of SCNet: ``conv1 -> k1`` and ``conv2 -> scconv`` half-width paths, concatenated into ``conv3``.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        **kwargs: :class:`posekit.models.backbones.resnet.Bottleneck`'s arguments.

    State-dict keys as MMPose: ``conv1, bn1, conv2, bn2, conv3, bn3, downsample, k1, scconv``.
    """

    pooling_r = 4

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__(in_channels, out_channels, **kwargs)
        self.mid_channels = out_channels // self.expansion // 2
        mid = self.mid_channels
        # rebuilt at half width; re-assigned names keep their state_dict position, new ones come last
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, mid, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(self.norm_cfg, mid, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(self.norm_cfg, out_channels, postfix=3)
        self.conv1 = build_conv_layer(self.conv_cfg, in_channels, mid, kernel_size=1, stride=1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.k1 = nn.Sequential(
            build_conv_layer(self.conv_cfg, mid, mid, kernel_size=3, stride=self.stride, padding=1, bias=False),
            build_norm_layer(self.norm_cfg, mid)[1],
            nn.ReLU(inplace=True),
        )
        self.conv2 = build_conv_layer(self.conv_cfg, in_channels, mid, kernel_size=1, stride=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.scconv = SCConv(mid, mid, self.stride, self.pooling_r, self.conv_cfg, self.norm_cfg)
        self.conv3 = build_conv_layer(self.conv_cfg, mid * 2, out_channels, kernel_size=1, stride=1, bias=False)
        self.add_module(self.norm3_name, norm3)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out_a = self.k1(self.relu(self.norm1(self.conv1(x))))
        out_b = self.scconv(self.relu(self.norm2(self.conv2(x))))
        out = self.norm3(self.conv3(torch.cat([out_a, out_b], dim=1)))
        return out + identity


class SCNet(ResNet):
    """SCNet backbone, as MMPose's ``SCNet``.

    Args:
        depth: 50 or 101.
        **kwargs: :class:`ResNet`'s arguments.

    Example:
        >>> m = SCNet(50, base_channels=16, stem_channels=16).eval()
        >>> [tuple(o.shape) for o in m(torch.rand(1, 3, 64, 64))]
        [(1, 512, 2, 2)]
    """

    arch_settings = {
        50: (SCBottleneck, (3, 4, 6, 3)),
        101: (SCBottleneck, (3, 4, 23, 3)),
    }

    def __init__(self, depth: int, **kwargs):
        if depth not in self.arch_settings:
            raise KeyError(f"invalid depth {depth} for SCNet; choose from {sorted(self.arch_settings)}")
        super().__init__(depth, **kwargs)
