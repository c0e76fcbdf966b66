"""VGG (MMPose 1.x ``VGG``): 3x3 ``ConvModule`` stages separated by max-pools, all in one ``features`` Sequential."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..utils.layers import ConvModule, to_builtin
from .base import BaseBackbone

__all__ = ["VGG", "make_vgg_layer"]


def make_vgg_layer(
    in_channels: int,
    out_channels: int,
    num_blocks: int,
    conv_cfg: dict | None = None,
    norm_cfg: dict | None = None,
    act_cfg: dict | None = dict(type="ReLU"),  # noqa: B006 - MMPose's signature; never mutated
    dilation: int = 1,
    with_norm: bool = False,
    ceil_mode: bool = False,
) -> list[nn.Module]:
    """``num_blocks`` 3x3 ``ConvModule`` s (with bias, even with a norm) and a 2x2 max-pool."""
    layers: list[nn.Module] = []
    for _ in range(num_blocks):
        layers.append(
            ConvModule(
                in_channels,
                out_channels,
                kernel_size=3,
                dilation=dilation,
                padding=dilation,
                bias=True,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
            )
        )
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=ceil_mode))
    return layers


class VGG(BaseBackbone):
    """VGG backbone (`Very Deep Convolutional Networks <https://arxiv.org/abs/1409.1556>`__).

    Args:
        depth: 11, 13, 16 or 19.
        num_classes: classes of the classifier (needs 224x224 inputs); ``-1`` for features only.
        num_stages: stages (1-5); stage ``i`` has ``64 * 2**i`` channels (512 from the fifth on).
        dilations: dilation of each stage.
        out_indices: stages whose outputs are returned; ``None``: ``(4,)`` without classifier, ``(5,)`` (the logits)
            with one.
        frozen_stages: stages ``0..frozen_stages-1`` are frozen (-1: none).
        conv_cfg: conv layer config.
        norm_cfg: norm layer config; ``None`` for the plain VGG, ``dict(type='BN')`` for VGG-BN.
        act_cfg: activation config.
        norm_eval: keep BatchNorm layers in eval mode during training.
        ceil_mode: ``ceil_mode`` of the max-pools.
        with_last_pool: keep the max-pool of the last stage.
        init_cfg: see :class:`BaseBackbone`; default Kaiming convs, ones for norms, Normal(0.01) linears.

    State-dict keys: ``features.{i}.conv.*`` / ``features.{i}.bn.*`` (pools take indices too), ``classifier.*``.
    """

    arch_settings = {
        11: (1, 1, 2, 2, 2),
        13: (2, 2, 2, 2, 2),
        16: (2, 2, 3, 3, 3),
        19: (2, 2, 4, 4, 4),
    }
    default_init_cfg = (
        dict(type="Kaiming", layer=["Conv2d"]),
        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
        dict(type="Normal", std=0.01, layer=["Linear"]),
    )

    def __init__(
        self,
        depth: int,
        num_classes: int = -1,
        num_stages: int = 5,
        dilations: Sequence[int] = (1, 1, 1, 1, 1),
        out_indices: Sequence[int] | None = None,
        frozen_stages: int = -1,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = dict(type="ReLU"),  # noqa: B006 - MMPose's signature; never mutated
        norm_eval: bool = False,
        ceil_mode: bool = False,
        with_last_pool: bool = True,
        init_cfg: dict | Sequence[dict] | None = None,
    ):
        super().__init__(init_cfg)
        if depth not in self.arch_settings:
            raise KeyError(f"invalid depth {depth} for vgg; choose from {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 5:
            raise ValueError(f"VGG: num_stages must be in 1..5, got {num_stages}")
        self.stage_blocks = self.arch_settings[depth][:num_stages]
        if len(dilations) != num_stages:
            raise ValueError(f"VGG: dilations {tuple(dilations)} need one entry per stage ({num_stages})")
        self.num_classes = num_classes
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        conv_cfg, norm_cfg, act_cfg = to_builtin(conv_cfg), to_builtin(norm_cfg), to_builtin(act_cfg)
        if out_indices is None:
            out_indices = (5,) if num_classes > 0 else (4,)
        if max(out_indices) > num_stages:
            raise ValueError(f"VGG: out_indices {tuple(out_indices)} must be <= num_stages ({num_stages})")
        self.out_indices = tuple(out_indices)

        self.in_channels = 3
        start = 0
        layers: list[nn.Module] = []
        self.range_sub_modules: list[list[int]] = []
        for i, num_blocks in enumerate(self.stage_blocks):
            out_channels = 64 * 2**i if i < 4 else 512
            layers += make_vgg_layer(
                self.in_channels,
                out_channels,
                num_blocks,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg,
                dilation=dilations[i],
                with_norm=norm_cfg is not None,
                ceil_mode=ceil_mode,
            )
            self.in_channels = out_channels
            self.range_sub_modules.append([start, start + num_blocks + 1])
            start += num_blocks + 1
        if not with_last_pool:
            layers.pop(-1)
            self.range_sub_modules[-1][1] -= 1
        self.module_name = "features"
        self.features = nn.Sequential(*layers)
        if self.num_classes > 0:
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096),
                nn.ReLU(True),
                nn.Dropout(),
                nn.Linear(4096, 4096),
                nn.ReLU(True),
                nn.Dropout(),
                nn.Linear(4096, num_classes),
            )
        self.reset_parameters()
        self._freeze_stages()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for i, (start, end) in enumerate(self.range_sub_modules):
            for j in range(start, end):
                x = self.features[j](x)
            if i in self.out_indices:
                outs.append(x)
        if self.num_classes > 0:
            outs.append(self.classifier(x.view(x.size(0), -1)))
        return tuple(outs)

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages):
            start, end = self.range_sub_modules[i]
            for j in range(start, end):
                self._freeze_module(self.features[j])
