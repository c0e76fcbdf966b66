"""CSPNeXt, the RTMDet / RTMPose backbone (MMPose's ``models/backbones/cspnext.py``).

A 3-conv stem (stride 2) then four (P5) or five (P6) stages, each a stride-2 ConvModule, an optional
:class:`~posekit.models.utils.csp_layer.SPPBottleneck` (last stage) and a
:class:`~posekit.models.utils.csp_layer.CSPLayer` of :class:`CSPNeXtBlock` s with channel attention. Output
``i`` of ``out_indices`` is the stem (``0``) or stage ``i``; stage ``i`` has stride ``2 ** (i + 1)``
(RTMPose uses ``out_indices=(4,)``: stride 32, ``(B, 1024 * widen_factor, H/32, W/32)``).

RTMPose sizes (``deepen_factor`` / ``widen_factor``): t 0.167/0.375, s 0.33/0.5, m 0.67/0.75, l 1.0/1.0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from posekit.models.backbones.base import BaseBackbone
from posekit.models.utils.csp_layer import CSPLayer, SPPBottleneck
from posekit.models.utils.layers import ConvModule, DepthwiseSeparableConvModule, to_builtin

__all__ = ["CSPNeXt"]

#: MMPose's default ``init_cfg`` of CSPNeXt (PyTorch's default conv init, with zero biases).
_KAIMING_INIT = {
    "type": "Kaiming",
    "layer": "Conv2d",
    "a": math.sqrt(5),
    "distribution": "uniform",
    "mode": "fan_in",
    "nonlinearity": "leaky_relu",
}


class CSPNeXt(BaseBackbone):
    """CSPNeXt backbone used in RTMDet and RTMPose.

    Args:
        arch: ``'P5'`` (4 stages) or ``'P6'`` (5 stages). Defaults to ``'P5'``.
        deepen_factor: multiplier of the number of blocks per CSP layer. Defaults to 1.0.
        widen_factor: multiplier of the channels. Defaults to 1.0.
        out_indices: which outputs to return (0 = stem, i = stage i). Defaults to (2, 3, 4).
        frozen_stages: freeze the stem and the first ``frozen_stages`` stages (-1: none). Defaults to -1.
        use_depthwise: depthwise-separable convs in the downsampling convs and blocks. Defaults to False.
        expand_ratio: CSP branch width ratio. Defaults to 0.5.
        arch_ovewrite: replaces the arch table (rows ``[in, out, num_blocks, add_identity, use_spp]``); the
            spelling is MMPose's. Defaults to None.
        spp_kernel_sizes: SPP max-pool kernels. Defaults to (5, 9, 13).
        channel_attention: channel attention in each CSP layer. Defaults to True.
        conv_cfg: conv config (``None`` = Conv2d).
        norm_cfg: norm config. Defaults to ``dict(type='BN', momentum=0.03, eps=0.001)``. MMPose's RTMPose configs
            use ``dict(type='SyncBN')`` (momentum 0.1, eps 1e-5; plain BatchNorm outside distributed training).
        act_cfg: activation config. Defaults to ``dict(type='SiLU')``.
        norm_eval: keep BatchNorm layers in eval mode while training. Defaults to False.
        init_cfg: initialisation (Kaiming-uniform convs as MMPose by default), or
            ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    ``forward(x (B, 3, H, W)) -> tuple`` of the ``out_indices`` feature maps.
    """

    default_init_cfg = (_KAIMING_INIT,)

    # in_channels, out_channels, num_blocks, add_identity, use_spp
    arch_settings = {
        "P5": [
            [64, 128, 3, True, False],
            [128, 256, 6, True, False],
            [256, 512, 6, True, False],
            [512, 1024, 3, False, True],
        ],
        "P6": [
            [64, 128, 3, True, False],
            [128, 256, 6, True, False],
            [256, 512, 6, True, False],
            [512, 768, 3, True, False],
            [768, 1024, 3, False, True],
        ],
    }

    def __init__(
        self,
        arch: str = "P5",
        deepen_factor: float = 1.0,
        widen_factor: float = 1.0,
        out_indices: Sequence[int] = (2, 3, 4),
        frozen_stages: int = -1,
        use_depthwise: bool = False,
        expand_ratio: float = 0.5,
        arch_ovewrite: Sequence[Sequence[Any]] | None = None,
        spp_kernel_sizes: Sequence[int] = (5, 9, 13),
        channel_attention: bool = True,
        conv_cfg: dict | None = None,
        norm_cfg: dict = {"type": "BN", "momentum": 0.03, "eps": 0.001},  # noqa: B006 - MMPose's default
        act_cfg: dict = {"type": "SiLU"},  # noqa: B006
        norm_eval: bool = False,
        init_cfg: dict | list | None = _KAIMING_INIT,
    ) -> None:
        super().__init__(init_cfg=to_builtin(init_cfg))
        if arch not in self.arch_settings and not arch_ovewrite:
            raise ValueError(f"CSPNeXt: arch must be one of {sorted(self.arch_settings)}, got {arch!r}")
        arch_setting = to_builtin(arch_ovewrite) if arch_ovewrite else self.arch_settings[arch]
        out_indices = tuple(int(i) for i in out_indices)
        if not set(out_indices).issubset(range(len(arch_setting) + 1)):
            raise ValueError(f"CSPNeXt: out_indices {out_indices} must be in [0, {len(arch_setting)}]")
        if frozen_stages not in range(-1, len(arch_setting) + 1):
            raise ValueError(
                f"CSPNeXt: frozen_stages must be in range(-1, {len(arch_setting) + 1}), got {frozen_stages}"
            )
        conv_cfg = to_builtin(conv_cfg)
        norm_cfg = to_builtin(norm_cfg)
        act_cfg = to_builtin(act_cfg)

        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.use_depthwise = use_depthwise
        self.norm_eval = norm_eval
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule

        stem_half = int(arch_setting[0][0] * widen_factor // 2)
        stem_out = int(arch_setting[0][0] * widen_factor)
        self.stem = nn.Sequential(
            ConvModule(3, stem_half, 3, padding=1, stride=2, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(stem_half, stem_half, 3, padding=1, stride=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(stem_half, stem_out, 3, padding=1, stride=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
        )
        self.layers = ["stem"]

        for i, (in_channels, out_channels, num_blocks, add_identity, use_spp) in enumerate(arch_setting):
            in_channels = int(in_channels * widen_factor)
            out_channels = int(out_channels * widen_factor)
            num_blocks = max(round(num_blocks * deepen_factor), 1)
            stage: list[nn.Module] = [
                conv(
                    in_channels,
                    out_channels,
                    3,
                    stride=2,
                    padding=1,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
            ]
            if use_spp:
                stage.append(
                    SPPBottleneck(
                        out_channels,
                        out_channels,
                        kernel_sizes=spp_kernel_sizes,
                        conv_cfg=conv_cfg,
                        norm_cfg=norm_cfg,
                        act_cfg=act_cfg,
                    )
                )
            stage.append(
                CSPLayer(
                    out_channels,
                    out_channels,
                    num_blocks=num_blocks,
                    add_identity=add_identity,
                    use_depthwise=use_depthwise,
                    use_cspnext_block=True,
                    expand_ratio=expand_ratio,
                    channel_attention=channel_attention,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                )
            )
            self.add_module(f"stage{i + 1}", nn.Sequential(*stage))
            self.layers.append(f"stage{i + 1}")

        self.reset_parameters()
        self._freeze_stages()

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for i in range(self.frozen_stages + 1):
                self._freeze_module(getattr(self, self.layers[i]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outs = []
        for i, layer_name in enumerate(self.layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
