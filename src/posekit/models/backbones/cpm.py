"""CPM (MMPose 1.x ``CPM``): Convolutional Pose Machines, one heatmap tensor per stage."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..utils.layers import ConvModule, to_builtin
from .base import BaseBackbone

__all__ = ["CPM", "CpmBlock"]


class CpmBlock(nn.Module):
    """A stack of ``ConvModule`` s (``model.{i}``), each ``kernels[i]`` wide with 'same' padding.

    Args:
        in_channels: input channels.
        channels: output channels of each conv.
        kernels: kernel size of each conv.
        norm_cfg: norm layer config (``None``: no norm, convs with bias).
    """

    def __init__(
        self,
        in_channels: int,
        channels: Sequence[int] = (128, 128, 128),
        kernels: Sequence[int] = (11, 11, 11),
        norm_cfg: dict | None = None,
    ):
        super().__init__()
        if len(channels) != len(kernels):
            raise ValueError(f"CpmBlock: channels {tuple(channels)} and kernels {tuple(kernels)} differ in length")
        layers = []
        for out_channels, k in zip(channels, kernels):
            layers.append(ConvModule(in_channels, out_channels, k, padding=(k - 1) // 2, norm_cfg=norm_cfg))
            in_channels = out_channels
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _pooled_features(in_channels: int, norm_cfg: dict) -> list[nn.Module]:
    """Three 9x9 ``ConvModule`` (128 channels) each followed by a stride-2 max-pool (the image at 1/8)."""
    layers: list[nn.Module] = []
    for c_in in (in_channels, 128, 128):
        layers += [ConvModule(c_in, 128, 9, padding=4, norm_cfg=norm_cfg), nn.MaxPool2d(3, stride=2, padding=1)]
    return layers


class CPM(BaseBackbone):
    """CPM backbone (`Convolutional Pose Machines <https://arxiv.org/abs/1602.00134>`__).

    Stage 1 (``stem``) predicts ``out_channels`` belief maps at 1/8 resolution; every later stage refines the
    previous stage's maps with image features (``middle`` -> ``middle_conv[i]``) through a :class:`CpmBlock`
    (``cpm_stages[i]``) and two 1x1 convs (``out_convs[i]``).

    Args:
        in_channels: input image channels (must be 3).
        out_channels: belief maps per stage (the keypoint count).
        feat_channels: channels of each refinement stage.
        middle_channels: channels of the image features fed to each refinement stage.
        num_stages: stages (>= 1).
        norm_cfg: norm layer config.
        init_cfg: see :class:`BaseBackbone`; default Normal(0.001) convs, ones for norms.

    ``forward(x)`` returns a list of ``num_stages`` tensors ``(B, out_channels, H/8, W/8)``.
    """

    default_init_cfg = (
        dict(type="Normal", std=0.001, layer=["Conv2d"]),
        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
    )

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        feat_channels: int = 128,
        middle_channels: int = 32,
        num_stages: int = 6,
        norm_cfg: dict | None = dict(type="BN", requires_grad=True),  # noqa: B006 - never mutated
        init_cfg: dict | Sequence[dict] | None = None,
    ):
        super().__init__(init_cfg)
        if in_channels != 3:
            raise ValueError(f"CPM: in_channels must be 3, got {in_channels}")
        if num_stages < 1:
            raise ValueError(f"CPM: num_stages must be >= 1, got {num_stages}")
        norm_cfg = to_builtin(norm_cfg)
        self.num_stages = num_stages
        self.stem = nn.Sequential(
            *_pooled_features(in_channels, norm_cfg),
            ConvModule(128, 32, 5, padding=2, norm_cfg=norm_cfg),
            ConvModule(32, 512, 9, padding=4, norm_cfg=norm_cfg),
            ConvModule(512, 512, 1, padding=0, norm_cfg=norm_cfg),
            ConvModule(512, out_channels, 1, padding=0, act_cfg=None),
        )
        self.middle = nn.Sequential(*_pooled_features(in_channels, norm_cfg))
        self.cpm_stages = nn.ModuleList(
            CpmBlock(middle_channels + out_channels, [feat_channels] * 3, [11, 11, 11], norm_cfg=norm_cfg)
            for _ in range(num_stages - 1)
        )
        self.middle_conv = nn.ModuleList(
            nn.Sequential(ConvModule(128, middle_channels, 5, padding=2, norm_cfg=norm_cfg))
            for _ in range(num_stages - 1)
        )
        self.out_convs = nn.ModuleList(
            nn.Sequential(
                ConvModule(feat_channels, feat_channels, 1, padding=0, norm_cfg=norm_cfg),
                ConvModule(feat_channels, out_channels, 1, act_cfg=None),
            )
            for _ in range(num_stages - 1)
        )
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        middle_out = self.middle(x)
        out_feats = [self.stem(x)]
        for cpm_stage, middle_conv, out_conv in zip(self.cpm_stages, self.middle_conv, self.out_convs):
            feat = torch.cat([out_feats[-1], middle_conv(middle_out)], 1)
            out_feats.append(out_conv(cpm_stage(feat)))
        return out_feats
