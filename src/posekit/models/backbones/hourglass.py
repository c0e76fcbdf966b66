"""HourglassNet (MMPose 1.x ``HourglassNet``): stacked hourglass modules built from ResNet basic blocks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..utils.layers import ConvModule, to_builtin
from .base import BaseBackbone
from .resnet import BasicBlock, ResLayer

__all__ = ["HourglassModule", "HourglassNet"]


class HourglassModule(nn.Module):
    """One hourglass, built recursively: ``up1(x) + upsample(low3(low2(low1(x))))``.

    Args:
        depth: remaining recursion depth (``low2`` is a nested module while ``depth > 1``).
        stage_channels: channels of this level and the deeper ones.
        stage_blocks: basic blocks of this level and the deeper ones.
        norm_cfg: norm layer config of this level (nested levels use the default BN, as in MMPose).
    """

    def __init__(
        self,
        depth: int,
        stage_channels: Sequence[int],
        stage_blocks: Sequence[int],
        norm_cfg: dict | None = dict(type="BN", requires_grad=True),  # noqa: B006 - never mutated
    ):
        super().__init__()
        norm_cfg = to_builtin(norm_cfg)
        self.depth = depth
        cur_block, next_block = stage_blocks[0], stage_blocks[1]
        cur_channel, next_channel = stage_channels[0], stage_channels[1]
        self.up1 = ResLayer(BasicBlock, cur_block, cur_channel, cur_channel, norm_cfg=norm_cfg)
        self.low1 = ResLayer(BasicBlock, cur_block, cur_channel, next_channel, stride=2, norm_cfg=norm_cfg)
        if depth > 1:
            self.low2: nn.Module = HourglassModule(depth - 1, stage_channels[1:], stage_blocks[1:])
        else:
            self.low2 = ResLayer(BasicBlock, next_block, next_channel, next_channel, norm_cfg=norm_cfg)
        self.low3 = ResLayer(
            BasicBlock, cur_block, next_channel, cur_channel, norm_cfg=norm_cfg, downsample_first=False
        )
        self.up2 = nn.Upsample(scale_factor=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.up1(x) + self.up2(self.low3(self.low2(self.low1(x))))


class HourglassNet(BaseBackbone):
    """HourglassNet backbone (`Stacked Hourglass Networks <https://arxiv.org/abs/1603.06937>`__).

    Args:
        downsample_times: down-samplings inside each hourglass.
        num_stacks: stacked hourglasses (1 for Hourglass-52, 2 for Hourglass-104).
        stage_channels: channels of each hourglass level.
        stage_blocks: basic blocks of each hourglass level.
        feat_channel: channels of each stack's output.
        norm_cfg: norm layer config.
        init_cfg: see :class:`BaseBackbone`; default Normal(0.001) convs, ones for norms.

    The stem (``stem.0`` conv, ``stem.1`` basic block) outputs ``stage_channels[0]`` channels through
    ``stage_channels[0] // 2``: MMPose writes 128 / 256 there, so it builds only ``stage_channels[0] == 256``, where
    the two agree; narrower first stages work here too.

    ``forward(x)`` returns a list of ``num_stacks`` maps ``(B, feat_channel, H/4, W/4)``.
    """

    default_init_cfg = (
        dict(type="Normal", std=0.001, layer=["Conv2d"]),
        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
    )

    def __init__(
        self,
        downsample_times: int = 5,
        num_stacks: int = 2,
        stage_channels: Sequence[int] = (256, 256, 384, 384, 384, 512),
        stage_blocks: Sequence[int] = (2, 2, 2, 2, 2, 4),
        feat_channel: int = 256,
        norm_cfg: dict | None = dict(type="BN", requires_grad=True),  # noqa: B006 - never mutated
        init_cfg: dict | Sequence[dict] | None = None,
    ):
        super().__init__(init_cfg)
        norm_cfg = to_builtin(norm_cfg)
        if num_stacks < 1:
            raise ValueError(f"HourglassNet: num_stacks must be >= 1, got {num_stacks}")
        if len(stage_channels) != len(stage_blocks):
            raise ValueError(
                f"HourglassNet: stage_channels {tuple(stage_channels)} and stage_blocks {tuple(stage_blocks)} differ "
                "in length"
            )
        if len(stage_channels) <= downsample_times:
            raise ValueError(
                f"HourglassNet: needs more than downsample_times ({downsample_times}) stage_channels entries"
            )
        self.num_stacks = num_stacks
        cur_channel = stage_channels[0]
        self.stem = nn.Sequential(
            ConvModule(3, cur_channel // 2, 7, padding=3, stride=2, norm_cfg=norm_cfg),
            ResLayer(BasicBlock, 1, cur_channel // 2, cur_channel, stride=2, norm_cfg=norm_cfg),
        )
        self.hourglass_modules = nn.ModuleList(
            HourglassModule(downsample_times, stage_channels, stage_blocks) for _ in range(num_stacks)
        )
        # num_stacks - 1 blocks, but a ResLayer always has at least one (MMPose's layout)
        self.inters = ResLayer(BasicBlock, num_stacks - 1, cur_channel, cur_channel, norm_cfg=norm_cfg)
        self.conv1x1s = nn.ModuleList(
            ConvModule(cur_channel, cur_channel, 1, norm_cfg=norm_cfg, act_cfg=None) for _ in range(num_stacks - 1)
        )
        self.out_convs = nn.ModuleList(
            ConvModule(cur_channel, feat_channel, 3, padding=1, norm_cfg=norm_cfg) for _ in range(num_stacks)
        )
        self.remap_convs = nn.ModuleList(
            ConvModule(feat_channel, cur_channel, 1, norm_cfg=norm_cfg, act_cfg=None) for _ in range(num_stacks - 1)
        )
        self.relu = nn.ReLU(inplace=True)
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        inter_feat = self.stem(x)
        out_feats = []
        for i in range(self.num_stacks):
            out_feat = self.out_convs[i](self.hourglass_modules[i](inter_feat))
            out_feats.append(out_feat)
            if i < self.num_stacks - 1:
                inter_feat = self.conv1x1s[i](inter_feat) + self.remap_convs[i](out_feat)
                inter_feat = self.inters[i](self.relu(inter_feat))
        return out_feats
