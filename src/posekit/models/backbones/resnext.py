"""ResNeXt (MMPose 1.x ``ResNeXt``: same arguments and state_dict keys as :class:`ResNet`).

`Aggregated Residual Transformations <https://arxiv.org/abs/1611.05431>`__: the 3x3 conv of every bottleneck is a
grouped conv (``groups`` x ``width_per_group`` channels per 64 base channels).
"""

from __future__ import annotations

from ..utils.layers import build_conv_layer, build_norm_layer
from .resnet import Bottleneck as _Bottleneck
from .resnet import ResLayer, ResNet

__all__ = ["Bottleneck", "ResNeXt"]


class Bottleneck(_Bottleneck):
    """ResNet's bottleneck with a grouped 3x3 conv.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        base_channels: middle channels of the first stage of a plain ResNet (64); the grouped width scales from it.
        groups: groups of the 3x3 conv (32 for ResNeXt-32x4d); 1 gives a plain ResNet bottleneck.
        width_per_group: channels per group at ``base_channels`` middle channels.
        **kwargs: :class:`posekit.models.backbones.resnet.Bottleneck`'s arguments.

    The middle width is ``groups * width_per_group * (out_channels / expansion) / base_channels``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        base_channels: int = 64,
        groups: int = 32,
        width_per_group: int = 4,
        **kwargs,
    ):
        super().__init__(in_channels, out_channels, **kwargs)
        self.groups = groups
        self.width_per_group = width_per_group
        if groups != 1:
            if self.mid_channels % base_channels != 0:
                raise ValueError(
                    f"ResNeXt Bottleneck: mid channels {self.mid_channels} must be a multiple of base_channels "
                    f"{base_channels}"
                )
            self.mid_channels = groups * width_per_group * self.mid_channels // base_channels

        # the same layers (and state_dict positions) as the parent's, rebuilt at the grouped width
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, self.mid_channels, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(self.norm_cfg, self.mid_channels, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(self.norm_cfg, self.out_channels, postfix=3)
        self.conv1 = build_conv_layer(
            self.conv_cfg, self.in_channels, self.mid_channels, kernel_size=1, stride=self.conv1_stride, bias=False
        )
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(
            self.conv_cfg,
            self.mid_channels,
            self.mid_channels,
            kernel_size=3,
            stride=self.conv2_stride,
            padding=self.dilation,
            dilation=self.dilation,
            groups=groups,
            bias=False,
        )
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(self.conv_cfg, self.mid_channels, self.out_channels, kernel_size=1, bias=False)
        self.add_module(self.norm3_name, norm3)


class ResNeXt(ResNet):
    """ResNeXt backbone, as MMPose's ``ResNeXt``.

    Args:
        depth: 50, 101 or 152.
        groups: groups of the 3x3 convs (default 32).
        width_per_group: channels per group (default 4).
        **kwargs: :class:`ResNet`'s arguments (``out_indices``, ``frozen_stages``, ``norm_cfg`` ...).

    Example:
        >>> m = ResNeXt(50, base_channels=16, stem_channels=16, groups=4, width_per_group=4).eval()
        >>> [tuple(o.shape) for o in m(torch.rand(1, 3, 64, 64))]
        [(1, 512, 2, 2)]
    """

    arch_settings = {
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }

    def __init__(self, depth: int, groups: int = 32, width_per_group: int = 4, **kwargs):
        self.groups = groups
        self.width_per_group = width_per_group
        super().__init__(depth, **kwargs)

    def make_res_layer(self, **kwargs) -> ResLayer:
        return ResLayer(
            groups=self.groups, width_per_group=self.width_per_group, base_channels=self.base_channels, **kwargs
        )
