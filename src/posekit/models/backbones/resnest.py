"""ResNeSt (MMPose 1.x ``ResNeSt``): ResNetV1d with split-attention 3x3 convolutions.

`ResNeSt: Split-Attention Networks <https://arxiv.org/abs/2004.08955>`__. Bottleneck keys: ``conv1, bn1,
conv2.{conv, bn0, fc1, bn1, fc2}, conv3, bn3, downsample`` (no ``bn2``: the split-attention conv holds its norms).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.layers import build_conv_layer, build_norm_layer
from .resnet import Bottleneck as _Bottleneck
from .resnet import ResLayer, ResNetV1d

__all__ = ["Bottleneck", "RSoftmax", "ResNeSt", "SplitAttentionConv2d"]


class RSoftmax(nn.Module):
    """Softmax over the ``radix`` splits of each group (sigmoid when ``radix == 1``); ``(B, C, 1, 1) -> (B, C)``."""

    def __init__(self, radix: int, groups: int):
        super().__init__()
        self.radix = radix
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.size(0)
        if self.radix > 1:
            x = x.view(b, self.groups, self.radix, -1).transpose(1, 2)
            return F.softmax(x, dim=1).reshape(b, -1)
        return torch.sigmoid(x)


class SplitAttentionConv2d(nn.Module):
    """Split-attention conv: a grouped conv makes ``radix`` splits, a squeeze path weighs them, the weighted sum out.

    Args:
        in_channels: input channels.
        channels: output channels.
        kernel_size, stride, padding, dilation: of the grouped conv.
        groups: cardinality.
        radix: splits per group.
        reduction_factor: the attention's hidden width is ``max(in_channels * radix // reduction_factor, 32)``.
        conv_cfg: conv layer config of the grouped conv.
        norm_cfg: norm layer config.
    """

    def __init__(
        self,
        in_channels: int,
        channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        groups: int = 1,
        radix: int = 2,
        reduction_factor: int = 4,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
    ):
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        inter_channels = max(in_channels * radix // reduction_factor, 32)
        self.radix = radix
        self.groups = groups
        self.channels = channels
        self.conv = build_conv_layer(
            conv_cfg,
            in_channels,
            channels * radix,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups * radix,
            bias=False,
        )
        self.norm0_name, norm0 = build_norm_layer(norm_cfg, channels * radix, postfix=0)
        self.add_module(self.norm0_name, norm0)
        self.relu = nn.ReLU(inplace=True)
        self.fc1 = build_conv_layer(None, channels, inter_channels, 1, groups=groups)
        self.norm1_name, norm1 = build_norm_layer(norm_cfg, inter_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.fc2 = build_conv_layer(None, inter_channels, channels * radix, 1, groups=groups)
        self.rsoftmax = RSoftmax(radix, groups)

    @property
    def norm0(self) -> nn.Module:
        return getattr(self, self.norm0_name)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.norm0(self.conv(x)))
        b = x.shape[0]
        if self.radix > 1:
            splits = x.view(b, self.radix, -1, *x.shape[2:])
            gap = splits.sum(dim=1)
        else:
            gap = x
        gap = self.relu(self.norm1(self.fc1(F.adaptive_avg_pool2d(gap, 1))))
        atten = self.rsoftmax(self.fc2(gap)).view(b, -1, 1, 1)
        if self.radix > 1:
            out = (atten.view(b, self.radix, -1, *atten.shape[2:]) * splits).sum(dim=1)
        else:
            out = atten * x
        return out.contiguous()


class Bottleneck(_Bottleneck):
    """ResNeSt bottleneck: ``conv1 -> split-attention conv2 -> [avg-pool stride] -> conv3``.

    Args:
        in_channels, out_channels: as ResNet's bottleneck.
        groups: cardinality of the split-attention conv.
        width_per_group: channels per group when ``groups > 1``.
        base_channels: the plain ResNet middle width the grouped width scales from.
        radix: splits per group.
        reduction_factor: see :class:`SplitAttentionConv2d`.
        avg_down_stride: stride with a 3x3 ``AvgPool2d`` (``avd_layer``) after the split-attention conv instead of
            striding the conv.
        **kwargs: :class:`posekit.models.backbones.resnet.Bottleneck`'s arguments.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        groups: int = 1,
        width_per_group: int = 4,
        base_channels: int = 64,
        radix: int = 2,
        reduction_factor: int = 4,
        avg_down_stride: bool = True,
        **kwargs,
    ):
        super().__init__(in_channels, out_channels, **kwargs)
        self.groups = groups
        self.width_per_group = width_per_group
        if groups != 1:
            if self.mid_channels % base_channels != 0:
                raise ValueError(
                    f"ResNeSt Bottleneck: mid channels {self.mid_channels} must be a multiple of base_channels "
                    f"{base_channels}"
                )
            self.mid_channels = groups * width_per_group * self.mid_channels // base_channels
        self.avg_down_stride = avg_down_stride and self.conv2_stride > 1

        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, self.mid_channels, postfix=1)
        self.norm3_name, norm3 = build_norm_layer(self.norm_cfg, self.out_channels, postfix=3)
        self.conv1 = build_conv_layer(
            self.conv_cfg, self.in_channels, self.mid_channels, kernel_size=1, stride=self.conv1_stride, bias=False
        )
        self.add_module(self.norm1_name, norm1)
        self.conv2 = SplitAttentionConv2d(
            self.mid_channels,
            self.mid_channels,
            kernel_size=3,
            stride=1 if self.avg_down_stride else self.conv2_stride,
            padding=self.dilation,
            dilation=self.dilation,
            groups=groups,
            radix=radix,
            reduction_factor=reduction_factor,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
        )
        delattr(self, self.norm2_name)
        if self.avg_down_stride:
            self.avd_layer = nn.AvgPool2d(3, self.conv2_stride, padding=1)
        self.conv3 = build_conv_layer(self.conv_cfg, self.mid_channels, self.out_channels, kernel_size=1, bias=False)
        self.add_module(self.norm3_name, norm3)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.conv2(self.relu(self.norm1(self.conv1(x))))
        if self.avg_down_stride:
            out = self.avd_layer(out)
        out = self.norm3(self.conv3(out))
        return out + identity


class ResNeSt(ResNetV1d):
    """ResNeSt backbone, as MMPose's ``ResNeSt`` (a :class:`ResNetV1d`: deep stem, average-pool shortcuts).

    Args:
        depth: 50, 101, 152, 200 or 269.
        groups: cardinality (default 1).
        width_per_group: channels per group when ``groups > 1`` (default 4).
        radix: splits per group (default 2).
        reduction_factor: attention reduction (default 4).
        avg_down_stride: stride with an average pool after the split-attention conv (default True).
        **kwargs: :class:`ResNet`'s arguments.
    """

    arch_settings = {
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
        200: (Bottleneck, (3, 24, 36, 3)),
        269: (Bottleneck, (3, 30, 48, 8)),
    }

    def __init__(
        self,
        depth: int,
        groups: int = 1,
        width_per_group: int = 4,
        radix: int = 2,
        reduction_factor: int = 4,
        avg_down_stride: bool = True,
        **kwargs,
    ):
        self.groups = groups
        self.width_per_group = width_per_group
        self.radix = radix
        self.reduction_factor = reduction_factor
        self.avg_down_stride = avg_down_stride
        super().__init__(depth=depth, **kwargs)

    def make_res_layer(self, **kwargs) -> ResLayer:
        return ResLayer(
            groups=self.groups,
            width_per_group=self.width_per_group,
            base_channels=self.base_channels,
            radix=self.radix,
            reduction_factor=self.reduction_factor,
            avg_down_stride=self.avg_down_stride,
            **kwargs,
        )
