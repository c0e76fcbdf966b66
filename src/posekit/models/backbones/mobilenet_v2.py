"""MobileNetV2 (MMPose 1.x ``MobileNetV2``: same arguments and state_dict keys).

`MobileNetV2: Inverted Residuals and Linear Bottlenecks <https://arxiv.org/abs/1801.04381>`__.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp

from ..utils.layers import ConvModule, make_divisible, to_builtin
from .base import BaseBackbone

__all__ = ["InvertedResidual", "MobileNetV2"]


class InvertedResidual(nn.Module):
    """1x1 expansion (skipped when ``expand_ratio == 1``) -> 3x3 depthwise -> 1x1 linear projection (``conv``),
    with a residual connection when the shape is kept.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the depthwise conv (1 or 2).
        expand_ratio: hidden channels = ``round(in_channels * expand_ratio)``.
        conv_cfg: conv layer config.
        norm_cfg: norm layer config (``None``: ``dict(type='BN')``).
        act_cfg: activation config (``None``: ``dict(type='ReLU6')``).
        with_cp: gradient checkpointing.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expand_ratio: float,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        with_cp: bool = False,
    ):
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        act_cfg = dict(type="ReLU6") if act_cfg is None else act_cfg
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        self.stride = stride
        self.with_cp = with_cp
        self.use_res_connect = stride == 1 and in_channels == out_channels
        hidden_dim = int(round(in_channels * expand_ratio))
        kw = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)

        layers = []
        if expand_ratio != 1:
            layers.append(ConvModule(in_channels, hidden_dim, kernel_size=1, act_cfg=act_cfg, **kw))
        layers += [
            ConvModule(
                hidden_dim,
                hidden_dim,
                kernel_size=3,
                stride=stride,
                padding=1,
                groups=hidden_dim,
                act_cfg=act_cfg,
                **kw,
            ),
            ConvModule(hidden_dim, out_channels, kernel_size=1, act_cfg=None, **kw),
        ]
        self.conv = nn.Sequential(*layers)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)


class MobileNetV2(BaseBackbone):
    """MobileNetV2 backbone, as MMPose's ``MobileNetV2``.

    Args:
        widen_factor: width multiplier of every layer.
        out_indices: outputs to return, from ``0..7``: ``layer1..layer7`` (strides 2, 4, 8, 16, 16, 32, 32) and
            ``7`` = the final 1x1 ``conv2`` (1280 channels, or ``int(1280 * widen_factor)`` when widened).
        frozen_stages: freeze ``conv1`` and ``layer1..layer{frozen_stages}`` (-1: nothing frozen).
        conv_cfg: conv layer config.
        norm_cfg: norm layer config (``None``: ``dict(type='BN')``).
        act_cfg: activation config (``None``: ``dict(type='ReLU6')``).
        norm_eval: keep BatchNorm layers in eval mode during training.
        with_cp: gradient checkpointing.
        init_cfg: see :class:`BaseBackbone`; default Kaiming for convs, ones for norms.
    """

    # expand_ratio, channels, num_blocks, stride of each layer
    arch_settings = [
        [1, 16, 1, 1],
        [6, 24, 2, 2],
        [6, 32, 3, 2],
        [6, 64, 4, 2],
        [6, 96, 3, 1],
        [6, 160, 3, 2],
        [6, 320, 1, 1],
    ]
    default_init_cfg = (
        dict(type="Kaiming", layer=["Conv2d"]),
        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
    )

    def __init__(
        self,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (7,),
        frozen_stages: int = -1,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        norm_eval: bool = False,
        with_cp: bool = False,
        init_cfg: dict | Sequence[dict] | None = None,
    ):
        super().__init__(init_cfg)
        out_indices = tuple(out_indices)
        for index in out_indices:
            if index not in range(0, 8):
                raise ValueError(f"the items of out_indices must be in range(0, 8), got {index}")
        if frozen_stages not in range(-1, 8):
            raise ValueError(f"frozen_stages must be in range(-1, 8), got {frozen_stages}")
        self.widen_factor = widen_factor
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.conv_cfg = to_builtin(conv_cfg)
        self.norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        self.act_cfg = dict(type="ReLU6") if act_cfg is None else to_builtin(act_cfg)
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self.in_channels = make_divisible(32 * widen_factor, 8)
        self.conv1 = ConvModule(
            3,
            self.in_channels,
            kernel_size=3,
            stride=2,
            padding=1,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )

        self.layers: list[str] = []
        for i, (expand_ratio, channel, num_blocks, stride) in enumerate(self.arch_settings):
            out_channels = make_divisible(channel * widen_factor, 8)
            self.add_module(f"layer{i + 1}", self.make_layer(out_channels, num_blocks, stride, expand_ratio))
            self.layers.append(f"layer{i + 1}")

        self.out_channel = int(1280 * widen_factor) if widen_factor > 1.0 else 1280
        self.conv2 = ConvModule(
            self.in_channels,
            self.out_channel,
            kernel_size=1,
            stride=1,
            padding=0,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
        )
        self.layers.append("conv2")

        self.reset_parameters()
        self._freeze_stages()

    def make_layer(self, out_channels: int, num_blocks: int, stride: int, expand_ratio: float) -> nn.Sequential:
        """``num_blocks`` inverted residuals; the first one has ``stride``."""
        layers = []
        for i in range(num_blocks):
            layers.append(
                InvertedResidual(
                    self.in_channels,
                    out_channels,
                    stride if i == 0 else 1,
                    expand_ratio=expand_ratio,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                    with_cp=self.with_cp,
                )
            )
            self.in_channels = out_channels
        return nn.Sequential(*layers)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for param in self.conv1.parameters():
                param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            self._freeze_module(getattr(self, f"layer{i}"))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.conv1(x)
        outs = []
        for i, layer_name in enumerate(self.layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
