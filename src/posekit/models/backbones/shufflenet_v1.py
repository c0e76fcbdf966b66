"""ShuffleNetV1 (MMPose 1.x ``ShuffleNetV1``: same arguments and state_dict keys).

`ShuffleNet: An Extremely Efficient Convolutional Neural Network for Mobile Devices
<https://arxiv.org/abs/1707.01083>`__: pointwise *group* convolutions plus a channel shuffle between them.

Layout: ``conv1`` (3x3 s2 ConvModule) -> 3x3 s2 max pool -> ``layers.0..2`` (4, 8, 4 :class:`ShuffleUnit` s; the
first unit of each stage halves the resolution and concatenates an average-pooled shortcut). Output strides
8, 16, 32; the 256x192 COCO config returns ``layers.2`` (960 channels for ``groups=3``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp

from ..utils.layers import ConvModule, build_activation_layer, make_divisible, to_builtin
from .base import BaseBackbone
from .litehrnet import channel_shuffle

__all__ = ["ShuffleNetV1", "ShuffleUnit"]


class ShuffleUnit(nn.Module):
    """1x1 group conv (``g_conv_1x1_compress``) -> 3x3 depthwise (``depthwise_conv3x3_bn``)
    -> channel shuffle -> 1x1 group conv (``g_conv_1x1_expand``), combined with the input.

    Args:
        in_channels: input channels.
        out_channels: output channels (with ``combine='concat'`` the branch makes ``out - in`` of them).
        groups: groups of the 1x1 convolutions. Defaults to 3.
        first_block: the first unit of the network uses a dense first 1x1 conv. Defaults to True.
        combine: ``'add'`` (stride 1, residual sum) or ``'concat'`` (stride 2, concatenated with a 3x3 s2
            average-pooled shortcut). Defaults to ``'add'``.
        conv_cfg / norm_cfg / act_cfg: layer configs (``None`` norm/act: BN / ReLU).
        with_cp: gradient checkpointing.

    ``forward(x (B, in, H, W)) -> (B, out, H/s, W/s)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        groups: int = 3,
        first_block: bool = True,
        combine: str = "add",
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        act_cfg = dict(type="ReLU") if act_cfg is None else to_builtin(act_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.first_block = first_block
        self.combine = combine
        self.groups = groups
        self.bottleneck_channels = out_channels // 4
        self.with_cp = with_cp
        if combine == "add":
            if in_channels != out_channels:
                raise ValueError(
                    f"ShuffleUnit: combine='add' needs in_channels == out_channels, "
                    f"got {in_channels} and {out_channels}"
                )
            self.depthwise_stride = 1
        elif combine == "concat":
            self.depthwise_stride = 2
            self.out_channels -= in_channels
            self.avgpool = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)
        else:
            raise ValueError(f"ShuffleUnit: combine must be 'add' or 'concat', got {combine!r}")
        self.first_1x1_groups = 1 if first_block else groups
        kw = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        self.g_conv_1x1_compress = ConvModule(
            in_channels, self.bottleneck_channels, 1, groups=self.first_1x1_groups, act_cfg=act_cfg, **kw
        )
        self.depthwise_conv3x3_bn = ConvModule(
            self.bottleneck_channels,
            self.bottleneck_channels,
            3,
            stride=self.depthwise_stride,
            padding=1,
            groups=self.bottleneck_channels,
            act_cfg=None,
            **kw,
        )
        self.g_conv_1x1_expand = ConvModule(
            self.bottleneck_channels, self.out_channels, 1, groups=groups, act_cfg=None, **kw
        )
        self.act = build_activation_layer(act_cfg)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.depthwise_conv3x3_bn(self.g_conv_1x1_compress(x))
        if self.groups > 1:
            out = channel_shuffle(out, self.groups)
        out = self.g_conv_1x1_expand(out)
        if self.combine == "concat":
            return torch.cat((self.avgpool(x), self.act(out)), dim=1)
        return self.act(x + out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)


class ShuffleNetBase(BaseBackbone):
    """What ShuffleNetV1 and V2 share (as MMPose's two classes do, line for line): ``conv1`` + ``maxpool`` stem,
    ``layers`` stages, normal(0, 1/fan_in) init of the convs after ``conv1``, frozen stages, outputs ``out_indices``.

    Forward: (B, 3, H, W) -> the stages of ``out_indices``, each (B, C_i, H / 2^(i+3), W / 2^(i+3)).
    """

    def _post_init(self, pretrained: bool) -> None:
        if pretrained:
            return
        for name, m in self.named_modules():
            if isinstance(m, nn.Conv2d) and "conv1" not in name:
                nn.init.normal_(m.weight, mean=0, std=1.0 / m.weight.shape[1])

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for param in self.conv1.parameters():
                param.requires_grad = False
        for i in range(self.frozen_stages):
            self._freeze_module(self.layers[i])

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.maxpool(self.conv1(x))
        outs = []
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


class ShuffleNetV1(ShuffleNetBase):
    """ShuffleNetV1 backbone, as MMPose's ``ShuffleNetV1``.

    Args:
        groups: groups of the 1x1 convs (1, 2, 3, 4 or 8; sets the stage widths). Defaults to 3.
        widen_factor: width multiplier (stage widths rounded to multiples of 8). Defaults to 1.0.
        out_indices: stages to return, from ``0..2``. Defaults to ``(2,)``.
        frozen_stages: freeze ``conv1`` and stages ``0..frozen_stages-1`` (-1: nothing frozen).
        conv_cfg / norm_cfg / act_cfg: layer configs (``None`` norm/act: BN / ReLU).
        norm_eval: keep BatchNorm layers in eval mode during training.
        with_cp: gradient checkpointing.
        init_cfg: see :class:`BaseBackbone`; MMPose's default: convs ~ N(0, 0.01), norms 1 / 1e-4, then every conv
            but ``conv1`` ~ N(0, 1 / fan_in_channels).
    """

    stage_channels = {
        1: (144, 288, 576),
        2: (200, 400, 800),
        3: (240, 480, 960),
        4: (272, 544, 1088),
        8: (384, 768, 1536),
    }
    default_init_cfg = (
        dict(type="Normal", std=0.01, layer=["Conv2d"]),
        dict(type="Constant", val=1, bias=0.0001, layer=["_BatchNorm", "GroupNorm"]),
    )

    def __init__(
        self,
        groups: int = 3,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (2,),
        frozen_stages: int = -1,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        norm_eval: bool = False,
        with_cp: bool = False,
        init_cfg: dict | Sequence[dict] | None = None,
    ) -> None:
        super().__init__(init_cfg)
        self.stage_blocks = [4, 8, 4]
        self.groups = groups
        out_indices = tuple(to_builtin(out_indices))
        for index in out_indices:
            if index not in range(0, 3):
                raise ValueError(f"ShuffleNetV1: the items of out_indices must be in range(0, 3), got {index}")
        if frozen_stages not in range(-1, 3):
            raise ValueError(f"ShuffleNetV1: frozen_stages must be in range(-1, 3), got {frozen_stages}")
        if groups not in self.stage_channels:
            raise ValueError(f"ShuffleNetV1: groups must be one of {sorted(self.stage_channels)}, got {groups}")
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.conv_cfg = to_builtin(conv_cfg)
        self.norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        self.act_cfg = dict(type="ReLU") if act_cfg is None else to_builtin(act_cfg)
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        channels = [make_divisible(ch * widen_factor, 8) for ch in self.stage_channels[groups]]
        self.in_channels = int(24 * widen_factor)
        self.conv1 = ConvModule(
            3,
            self.in_channels,
            3,
            stride=2,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layers = nn.ModuleList(
            self.make_layer(channels[i], num_blocks, first_block=i == 0)
            for i, num_blocks in enumerate(self.stage_blocks)
        )
        self.reset_parameters()
        self._freeze_stages()

    def make_layer(self, out_channels: int, num_blocks: int, first_block: bool = False) -> nn.Sequential:
        """``num_blocks`` units: the first one ``'concat'`` (stride 2), the others ``'add'``."""
        layers = []
        for i in range(num_blocks):
            layers.append(
                ShuffleUnit(
                    self.in_channels,
                    out_channels,
                    groups=self.groups,
                    first_block=first_block and i == 0,
                    combine="concat" if i == 0 else "add",
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                    with_cp=self.with_cp,
                )
            )
            self.in_channels = out_channels
        return nn.Sequential(*layers)
