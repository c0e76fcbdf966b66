"""ShuffleNetV2 (MMPose 1.x ``ShuffleNetV2``: same arguments and state_dict keys).

`ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design <https://arxiv.org/abs/1807.11164>`__.

Layout: ``conv1`` (3x3 s2) -> 3x3 s2 max pool -> ``layers.0..2`` (4, 8, 4 :class:`InvertedResidual` s, the first
of each with stride 2) -> ``layers.3`` (1x1 ConvModule to 1024 / 2048 channels). Output strides 8, 16, 32, 32;
the COCO configs return ``layers.3`` (1024 channels at ``widen_factor=1.0``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp

from ..utils.layers import ConvModule, to_builtin
from .litehrnet import channel_shuffle
from .shufflenet_v1 import ShuffleNetBase

__all__ = ["InvertedResidual", "ShuffleNetV2"]


class InvertedResidual(nn.Module):
    """ShuffleNetV2 unit. Stride 1: split the channels in two, transform one half (``branch2``: 1x1 -> 3x3
    depthwise -> 1x1), concatenate, shuffle. Stride > 1: both branches see the whole input (``branch1``: 3x3
    depthwise s2 -> 1x1; ``branch2`` as above with a strided depthwise conv), concatenate, shuffle.

    Args:
        in_channels / out_channels: channels (stride 1 needs ``in_channels == out_channels``).
        stride: stride of the depthwise convs. Defaults to 1.
        conv_cfg / norm_cfg / act_cfg: layer configs (``None`` norm/act: BN / ReLU).
        with_cp: gradient checkpointing.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        with_cp: bool = False,
    ) -> None:
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        act_cfg = dict(type="ReLU") if act_cfg is None else to_builtin(act_cfg)
        self.stride = stride
        self.with_cp = with_cp
        branch_features = out_channels // 2
        if stride == 1 and in_channels != branch_features * 2:
            raise ValueError(
                f"InvertedResidual: with stride 1 in_channels ({in_channels}) must equal 2 * (out_channels // 2) "
                f"({branch_features * 2})"
            )
        kw = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if stride > 1:
            self.branch1 = nn.Sequential(
                ConvModule(
                    in_channels, in_channels, 3, stride=stride, padding=1, groups=in_channels, act_cfg=None, **kw
                ),
                ConvModule(in_channels, branch_features, 1, act_cfg=act_cfg, **kw),
            )
        self.branch2 = nn.Sequential(
            ConvModule(in_channels if stride > 1 else branch_features, branch_features, 1, act_cfg=act_cfg, **kw),
            ConvModule(
                branch_features,
                branch_features,
                3,
                stride=stride,
                padding=1,
                groups=branch_features,
                act_cfg=None,
                **kw,
            ),
            ConvModule(branch_features, branch_features, 1, act_cfg=act_cfg, **kw),
        )

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        else:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        return channel_shuffle(out, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            return cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        return self._inner_forward(x)


class ShuffleNetV2(ShuffleNetBase):
    """ShuffleNetV2 backbone, as MMPose's ``ShuffleNetV2``.

    Args:
        widen_factor: 0.5, 1.0, 1.5 or 2.0 (picks the stage widths). Defaults to 1.0.
        out_indices: outputs from ``0..3`` (three stages and the final 1x1 conv). Defaults to ``(3,)``.
        frozen_stages: freeze ``conv1`` and ``layers[0..frozen_stages-1]`` (-1: nothing frozen).
        conv_cfg / norm_cfg / act_cfg: layer configs (``None`` norm/act: BN / ReLU).
        norm_eval: keep BatchNorm layers in eval mode during training.
        with_cp: gradient checkpointing.
        init_cfg: see :class:`BaseBackbone`; MMPose's default: convs ~ N(0, 0.01), norms 1 / 1e-4, then every conv
            but ``conv1`` ~ N(0, 1 / fan_in_channels).
    """

    widen_channels = {
        0.5: (48, 96, 192, 1024),
        1.0: (116, 232, 464, 1024),
        1.5: (176, 352, 704, 1024),
        2.0: (244, 488, 976, 2048),
    }
    default_init_cfg = (
        dict(type="Normal", std=0.01, layer=["Conv2d"]),
        dict(type="Constant", val=1, bias=0.0001, layer=["_BatchNorm", "GroupNorm"]),
    )

    def __init__(
        self,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (3,),
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
        out_indices = tuple(to_builtin(out_indices))
        for index in out_indices:
            if index not in range(0, 4):
                raise ValueError(f"ShuffleNetV2: the items of out_indices must be in range(0, 4), got {index}")
        if frozen_stages not in range(-1, 4):
            raise ValueError(f"ShuffleNetV2: frozen_stages must be in range(-1, 4), got {frozen_stages}")
        if widen_factor not in self.widen_channels:
            raise ValueError(
                f"ShuffleNetV2: widen_factor must be one of {sorted(self.widen_channels)}, got {widen_factor}"
            )
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.conv_cfg = to_builtin(conv_cfg)
        self.norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        self.act_cfg = dict(type="ReLU") if act_cfg is None else to_builtin(act_cfg)
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        channels = self.widen_channels[widen_factor]
        kw = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

        self.in_channels = 24
        self.conv1 = ConvModule(3, self.in_channels, 3, stride=2, padding=1, **kw)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layers = nn.ModuleList(
            self._make_layer(channels[i], num_blocks) for i, num_blocks in enumerate(self.stage_blocks)
        )
        self.layers.append(ConvModule(self.in_channels, channels[-1], 1, **kw))
        self.reset_parameters()
        self._freeze_stages()

    def _make_layer(self, out_channels: int, num_blocks: int) -> nn.Sequential:
        layers = []
        for i in range(num_blocks):
            layers.append(
                InvertedResidual(
                    self.in_channels,
                    out_channels,
                    stride=2 if i == 0 else 1,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                    with_cp=self.with_cp,
                )
            )
            self.in_channels = out_channels
        return nn.Sequential(*layers)
