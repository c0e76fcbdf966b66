"""ViPNAS MobileNetV3 (MMPose 1.x ``ViPNAS_MobileNetV3``: same arguments and state_dict keys).

`ViPNAS: Efficient Video Pose Estimation via Neural Architecture Search <https://arxiv.org/abs/2105.10154>`__.

Layout: ``conv1`` (``ks[0]`` x ``ks[0]`` stride ``stride[0]`` ConvModule) -> ``layer1 .. layerN``
(:class:`InvertedResidual` blocks with optional :class:`SELayer`; ``dep[i]`` blocks per stage, flat numbering).
``forward`` returns the last block's map only (stride 32 and 160 channels with the defaults).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp

from ..utils.layers import ConvModule, to_builtin
from .base import BaseBackbone

__all__ = ["InvertedResidual", "SELayer", "ViPNAS_MobileNetV3"]


class SELayer(nn.Module):
    """Squeeze-and-excitation (MMPose's ``SELayer``): global average pool -> ``conv1`` (1x1, ``channels / ratio``,
    act 0) -> ``conv2`` (1x1 back to ``channels``, act 1) -> scale the input.

    Args:
        channels: input / output channels.
        ratio: squeeze ratio. Defaults to 16.
        conv_cfg: conv layer config.
        act_cfg: one activation dict for both convs, or a pair. Defaults to ``(ReLU, Sigmoid)``.
    """

    def __init__(
        self,
        channels: int,
        ratio: int = 16,
        conv_cfg: dict | None = None,
        act_cfg: dict | Sequence[dict] = (dict(type="ReLU"), dict(type="Sigmoid")),
    ) -> None:
        super().__init__()
        act_cfg = to_builtin(act_cfg)
        if isinstance(act_cfg, dict):
            act_cfg = (act_cfg, act_cfg)
        if len(act_cfg) != 2 or not all(isinstance(a, dict) for a in act_cfg):
            raise ValueError(f"SELayer: act_cfg must be a dict or a pair of dicts, got {act_cfg!r}")
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        squeezed = int(channels / ratio)
        self.conv1 = ConvModule(channels, squeezed, 1, conv_cfg=conv_cfg, act_cfg=act_cfg[0])
        self.conv2 = ConvModule(squeezed, channels, 1, conv_cfg=conv_cfg, act_cfg=act_cfg[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv2(self.conv1(self.global_avgpool(x)))


class InvertedResidual(nn.Module):
    """MobileNetV3-style block (MMPose's ``backbones.utils.InvertedResidual``): optional 1x1 ``expand_conv`` ->
    ``kernel_size`` grouped ``depthwise_conv`` -> optional ``se`` -> 1x1 ``linear_conv`` (no activation), plus the
    input when the stride is 1 and the widths match.

    Args:
        in_channels / out_channels: block channels. mid_channels: hidden channels.
        kernel_size: kernel of the grouped conv. Defaults to 3.
        groups: groups of that conv; ``None`` means depthwise (``mid_channels``).
        stride: 1 or 2. Defaults to 1.
        se_cfg: :class:`SELayer` arguments, or ``None`` for no SE.
        with_expand_conv: use ``expand_conv`` (must be True unless ``mid_channels == in_channels``).
        conv_cfg / norm_cfg / act_cfg: layer configs (``None`` norm/act: BN / ReLU).
        with_cp: gradient checkpointing.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        mid_channels: int,
        kernel_size: int = 3,
        groups: int | None = None,
        stride: int = 1,
        se_cfg: dict | None = None,
        with_expand_conv: bool = True,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        act_cfg = dict(type="ReLU") if act_cfg is None else to_builtin(act_cfg)
        if stride not in (1, 2):
            raise ValueError(f"InvertedResidual: stride must be 1 or 2, got {stride}")
        if not with_expand_conv and mid_channels != in_channels:
            raise ValueError(
                f"InvertedResidual: without expand_conv mid_channels ({mid_channels}) must equal "
                f"in_channels ({in_channels})"
            )
        self.with_res_shortcut = stride == 1 and in_channels == out_channels
        self.with_cp = with_cp
        self.with_se = se_cfg is not None
        self.with_expand_conv = with_expand_conv
        groups = mid_channels if groups is None else groups
        kw = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if with_expand_conv:
            self.expand_conv = ConvModule(in_channels, mid_channels, 1, act_cfg=act_cfg, **kw)
        self.depthwise_conv = ConvModule(
            mid_channels,
            mid_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=groups,
            act_cfg=act_cfg,
            **kw,
        )
        if self.with_se:
            self.se = SELayer(**to_builtin(se_cfg))
        self.linear_conv = ConvModule(mid_channels, out_channels, 1, act_cfg=None, **kw)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.expand_conv(x) if self.with_expand_conv else x
        out = self.depthwise_conv(out)
        if self.with_se:
            out = self.se(out)
        out = self.linear_conv(out)
        return x + out if self.with_res_shortcut else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)


class ViPNAS_MobileNetV3(BaseBackbone):  # noqa: N801 - MMPose's class name
    """ViPNAS's searched MobileNetV3, as MMPose's ``ViPNAS_MobileNetV3``. Per-stage lists (index 0 = stem):

    Args:
        wid: output widths. expan: expansion ratios (``None`` for the stem). dep: blocks per stage.
        ks: kernel sizes. group: groups of the ``depthwise_conv`` s. att: SE on/off per stage.
        stride: strides. act: activation names (``'HSwish'``, ``'ReLU'`` ...).
        conv_cfg / norm_cfg: layer configs (``None`` norm: BN).
        frozen_stages: freeze ``conv1`` and ``layer1..layer{frozen_stages}`` (-1: nothing frozen).
        norm_eval: keep BatchNorm layers in eval mode during training.
        with_cp: gradient checkpointing.
        init_cfg: see :class:`BaseBackbone`; MMPose's default: convs ~ N(0, 0.001), norms 1.

    ``forward(x (B, 3, H, W)) -> (feat (B, wid[-1], H/32, W/32),)`` with the default strides.
    """

    default_init_cfg = (
        dict(type="Normal", std=0.001, layer=["Conv2d"]),
        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
    )

    def __init__(
        self,
        wid: Sequence[int] = (16, 16, 24, 40, 80, 112, 160),
        expan: Sequence[int | None] = (None, 1, 5, 4, 5, 5, 6),
        dep: Sequence[int | None] = (None, 1, 4, 4, 4, 4, 4),
        ks: Sequence[int] = (3, 3, 7, 7, 5, 7, 5),
        group: Sequence[int | None] = (None, 8, 120, 20, 100, 280, 240),
        att: Sequence[bool | None] = (None, True, True, False, True, True, True),
        stride: Sequence[int] = (2, 1, 2, 2, 2, 1, 2),
        act: Sequence[str] = ("HSwish", "ReLU", "ReLU", "ReLU", "HSwish", "HSwish", "HSwish"),
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        frozen_stages: int = -1,
        norm_eval: bool = False,
        with_cp: bool = False,
        init_cfg: dict | Sequence[dict] | None = None,
    ) -> None:
        super().__init__(init_cfg)
        self.wid, self.expan, self.dep = list(to_builtin(wid)), list(to_builtin(expan)), list(to_builtin(dep))
        self.ks, self.group, self.att = list(to_builtin(ks)), list(to_builtin(group)), list(to_builtin(att))
        self.stride, self.act = list(to_builtin(stride)), list(to_builtin(act))
        lengths = {
            len(v) for v in (self.wid, self.expan, self.dep, self.ks, self.group, self.att, self.stride, self.act)
        }
        if len(lengths) != 1:
            raise ValueError("ViPNAS_MobileNetV3: wid, expan, dep, ks, group, att, stride and act need equal lengths")
        self.conv_cfg = to_builtin(conv_cfg)
        self.norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self.conv1 = ConvModule(
            3,
            self.wid[0],
            self.ks[0],
            stride=self.stride[0],
            padding=self.ks[0] // 2,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=dict(type=self.act[0]),
        )
        self.layers = self._make_layer()
        self.reset_parameters()
        self._freeze_stages()

    def _make_layer(self) -> list[str]:
        layers: list[str] = []
        for i, num_blocks in enumerate(self.dep[1:]):
            mid_channels = self.wid[i + 1] * self.expan[i + 1]
            se_cfg = None
            if self.att[i + 1]:
                se_cfg = dict(
                    channels=mid_channels,
                    ratio=4,
                    act_cfg=(dict(type="ReLU"), dict(type="HSigmoid", bias=1.0, divisor=2.0)),
                )
            for j in range(num_blocks):
                layer = InvertedResidual(
                    in_channels=self.wid[i] if j == 0 else self.wid[i + 1],
                    out_channels=self.wid[i + 1],
                    mid_channels=mid_channels,
                    kernel_size=self.ks[i + 1],
                    groups=self.group[i + 1],
                    stride=self.stride[i + 1] if j == 0 else 1,
                    se_cfg=se_cfg,
                    with_expand_conv=self.expan[i + 1] != 1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=dict(type=self.act[i + 1]),
                    with_cp=self.with_cp,
                )
                name = f"layer{len(layers) + 1}"
                self.add_module(name, layer)
                layers.append(name)
        return layers

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for param in self.conv1.parameters():
                param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            self._freeze_module(getattr(self, f"layer{i}"))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        x = self.conv1(x)
        for name in self.layers:
            x = getattr(self, name)(x)
        return (x,)
