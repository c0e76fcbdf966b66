"""ViPNAS ResNet (MMPose 1.x ``ViPNAS_ResNet``: same arguments and state_dict keys).

`ViPNAS: Efficient Video Pose Estimation via Neural Architecture Search <https://arxiv.org/abs/2105.10154>`__.

A ResNet-50 layout with searched widths (``wid``), depths (``dep``), kernel sizes (``ks``), groups of the middle
conv (``group``) and optional global-context attention (``att``: mmcv's ``ContextBlock`` after ``norm3``).
Stem: ``conv1`` (``ks[0]`` x ``ks[0]`` s2) + ``bn1`` + ReLU + 3x3 s2 max pool; stages ``layer1..layer4``
(:class:`ViPNAS_Bottleneck` s). The COCO config returns ``layer4``: ``(B, 608, H/32, W/32)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp

from ..utils.layers import ConvModule, build_conv_layer, build_norm_layer, constant_init, kaiming_init, to_builtin
from .base import BaseBackbone

__all__ = ["ContextBlock", "ViPNAS_Bottleneck", "ViPNAS_ResLayer", "ViPNAS_ResNet"]


class ContextBlock(nn.Module):
    """Global-context block (`GCNet <https://arxiv.org/abs/1904.11492>`__, mmcv's ``ContextBlock``).

    Attention pooling (``conv_mask`` + softmax over positions) or average pooling gives a ``(B, C, 1, 1)``
    context, transformed by ``channel_add_conv`` (1x1 -> LayerNorm -> ReLU -> 1x1) and added to the input and/or
    by ``channel_mul_conv`` (same, sigmoid) multiplied with it.

    Args:
        in_channels: channels. ratio: bottleneck ratio (``planes = int(in_channels * ratio)``).
        pooling_type: ``'att'`` or ``'avg'``. Defaults to ``'att'``.
        fusion_types: subset of ``('channel_add', 'channel_mul')``. Defaults to ``('channel_add',)``.
    """

    def __init__(
        self,
        in_channels: int,
        ratio: float,
        pooling_type: str = "att",
        fusion_types: Sequence[str] = ("channel_add",),
    ) -> None:
        super().__init__()
        if pooling_type not in ("avg", "att"):
            raise ValueError(f"ContextBlock: pooling_type must be 'avg' or 'att', got {pooling_type!r}")
        fusion_types = tuple(fusion_types)
        if not fusion_types or not set(fusion_types) <= {"channel_add", "channel_mul"}:
            raise ValueError(
                f"ContextBlock: fusion_types must be a non-empty subset of ('channel_add', "
                f"'channel_mul'), got {fusion_types!r}"
            )
        self.in_channels = in_channels
        self.ratio = ratio
        self.planes = int(in_channels * ratio)
        self.pooling_type = pooling_type
        self.fusion_types = fusion_types
        if pooling_type == "att":
            self.conv_mask = nn.Conv2d(in_channels, 1, kernel_size=1)
            self.softmax = nn.Softmax(dim=2)
        else:
            self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.channel_add_conv = self._transform() if "channel_add" in fusion_types else None
        self.channel_mul_conv = self._transform() if "channel_mul" in fusion_types else None
        self.reset_parameters()

    def _transform(self) -> nn.Sequential:
        return nn.Sequential(
            nn.Conv2d(self.in_channels, self.planes, kernel_size=1),
            nn.LayerNorm([self.planes, 1, 1]),
            nn.ReLU(inplace=True),
            nn.Conv2d(self.planes, self.in_channels, kernel_size=1),
        )

    def reset_parameters(self) -> None:
        """mmcv's: Kaiming (fan_in) ``conv_mask``; the last conv of each transform zero (starts as identity)."""
        if self.pooling_type == "att":
            kaiming_init(self.conv_mask, mode="fan_in")
        for transform in (self.channel_add_conv, self.channel_mul_conv):
            if transform is not None:
                constant_init(transform[-1], val=0)

    def spatial_pool(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, C, 1, 1)`` context."""
        b, c, h, w = x.shape
        if self.pooling_type != "att":
            return self.avg_pool(x)
        weights = self.softmax(self.conv_mask(x).view(b, 1, h * w)).unsqueeze(-1)  # (B, 1, HW, 1)
        context = torch.matmul(x.view(b, c, h * w).unsqueeze(1), weights)  # (B, 1, C, 1)
        return context.view(b, c, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = self.spatial_pool(x)
        out = x
        if self.channel_mul_conv is not None:
            out = out * torch.sigmoid(self.channel_mul_conv(context))
        if self.channel_add_conv is not None:
            out = out + self.channel_add_conv(context)
        return out


class ViPNAS_Bottleneck(nn.Module):  # noqa: N801 - MMPose's class name
    """1x1 -> ``kernel_size`` grouped conv -> 1x1 bottleneck with optional :class:`ContextBlock` (``attention``).

    Args:
        in_channels / out_channels: block channels; ``mid_channels = out_channels // expansion``.
        expansion: bottleneck ratio. Defaults to 4 (ViPNAS_ResNet passes ``expan[i]``, 1 by default).
        stride / dilation: of the middle conv (``style='caffe'``: stride on ``conv1``).
        downsample: shortcut module (``None``: identity).
        with_cp: gradient checkpointing. conv_cfg / norm_cfg: layer configs (``None`` norm: BN).
        kernel_size / groups: of the middle conv. attention: add a ContextBlock after ``norm3``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expansion: int = 4,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        style: str = "pytorch",
        with_cp: bool = False,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        kernel_size: int = 3,
        groups: int = 1,
        attention: bool = False,
    ) -> None:
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        if style not in ("pytorch", "caffe"):
            raise ValueError(f"ViPNAS_Bottleneck: style must be 'pytorch' or 'caffe', got {style!r}")
        if out_channels % expansion != 0:
            raise ValueError(f"ViPNAS_Bottleneck: out_channels {out_channels} not divisible by expansion {expansion}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.expansion = expansion
        self.mid_channels = out_channels // expansion
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.with_cp = with_cp
        self.conv1_stride, self.conv2_stride = (1, stride) if style == "pytorch" else (stride, 1)

        self.norm1_name, norm1 = build_norm_layer(norm_cfg, self.mid_channels, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, self.mid_channels, postfix=2)
        self.norm3_name, norm3 = build_norm_layer(norm_cfg, out_channels, postfix=3)
        self.conv1 = build_conv_layer(
            conv_cfg, in_channels, self.mid_channels, kernel_size=1, stride=self.conv1_stride, bias=False
        )
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(
            conv_cfg,
            self.mid_channels,
            self.mid_channels,
            kernel_size=kernel_size,
            stride=self.conv2_stride,
            padding=kernel_size // 2,
            groups=groups,
            dilation=dilation,
            bias=False,
        )
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, self.mid_channels, out_channels, kernel_size=1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.attention = ContextBlock(out_channels, max(1.0 / 16, 16.0 / out_channels)) if attention else None
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    @property
    def norm3(self) -> nn.Module:
        return getattr(self, self.norm3_name)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.norm3(self.conv3(out))
        if self.attention is not None:
            out = self.attention(out)
        identity = x if self.downsample is None else self.downsample(x)
        return out + identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        else:
            out = self._inner_forward(x)
        return self.relu(out)


class ViPNAS_ResLayer(nn.Sequential):  # noqa: N801 - MMPose's class name
    """``num_blocks`` blocks; the first (``downsample_first``) or last one changes width / stride and gets a
    ``downsample`` shortcut (optionally average-pool first: ``avg_down``) of conv 1x1 + norm."""

    def __init__(
        self,
        block: type[nn.Module],
        num_blocks: int,
        in_channels: int,
        out_channels: int,
        expansion: int | None = None,
        stride: int = 1,
        avg_down: bool = False,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        downsample_first: bool = True,
        kernel_size: int = 3,
        groups: int = 1,
        attention: bool = False,
        **kwargs,
    ) -> None:
        norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        self.block = block
        self.expansion = _get_expansion(block, expansion)
        downsample = None
        if stride != 1 or in_channels != out_channels:
            parts: list[nn.Module] = []
            conv_stride = stride
            if avg_down and stride != 1:
                conv_stride = 1
                parts.append(nn.AvgPool2d(stride, stride=stride, ceil_mode=True, count_include_pad=False))
            parts += [
                build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size=1, stride=conv_stride, bias=False),
                build_norm_layer(norm_cfg, out_channels)[1],
            ]
            downsample = nn.Sequential(*parts)
        common = dict(
            expansion=self.expansion,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            kernel_size=kernel_size,
            groups=groups,
            attention=attention,
            **kwargs,
        )
        layers = []
        if downsample_first:
            layers.append(block(in_channels, out_channels, stride=stride, downsample=downsample, **common))
            layers += [block(out_channels, out_channels, stride=1, **common) for _ in range(1, num_blocks)]
        else:
            layers += [block(in_channels, in_channels, stride=1, **common) for _ in range(num_blocks - 1)]
            layers.append(block(in_channels, out_channels, stride=stride, downsample=downsample, **common))
        super().__init__(*layers)


def _get_expansion(block: type[nn.Module], expansion: int | None = None) -> int:
    if expansion is None:
        return int(getattr(block, "expansion", 1))
    if not isinstance(expansion, int) or expansion <= 0:
        raise TypeError(f"expansion must be a positive int or None, got {expansion!r}")
    return expansion


class ViPNAS_ResNet(BaseBackbone):  # noqa: N801 - MMPose's class name
    """ViPNAS's searched ResNet, as MMPose's ``ViPNAS_ResNet``.

    Args:
        depth: only 50.
        in_channels: input channels. Defaults to 3.
        num_stages: 1..4. strides / dilations: per stage. out_indices: stages to return. Defaults to ``(3,)``.
        style: ``'pytorch'`` (stride on the middle conv) or ``'caffe'``.
        deep_stem: three 3x3 ConvModules (``stem``) instead of ``conv1``.
        avg_down: average-pool in the shortcut instead of a strided conv.
        frozen_stages: freeze the stem and ``layer1..layer{frozen_stages}`` (-1: nothing frozen).
        conv_cfg / norm_cfg: layer configs (``None`` norm: BN). norm_eval: BatchNorms stay in eval mode.
        with_cp: gradient checkpointing. zero_init_residual: accepted for MMPose compatibility (unused there too).
        wid / expan / dep / ks / group / att: searched widths, expansions, depths, kernel sizes, groups and
            attention flags (index 0: stem).
        init_cfg: see :class:`BaseBackbone`; MMPose's default: convs ~ N(0, 0.001), norms 1.
    """

    arch_settings = {50: ViPNAS_Bottleneck}
    default_init_cfg = (
        dict(type="Normal", std=0.001, layer=["Conv2d"]),
        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
    )

    def __init__(
        self,
        depth: int,
        in_channels: int = 3,
        num_stages: int = 4,
        strides: Sequence[int] = (1, 2, 2, 2),
        dilations: Sequence[int] = (1, 1, 1, 1),
        out_indices: Sequence[int] = (3,),
        style: str = "pytorch",
        deep_stem: bool = False,
        avg_down: bool = False,
        frozen_stages: int = -1,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        norm_eval: bool = False,
        with_cp: bool = False,
        zero_init_residual: bool = True,
        wid: Sequence[int] = (48, 80, 160, 304, 608),
        expan: Sequence[int | None] = (None, 1, 1, 1, 1),
        dep: Sequence[int | None] = (None, 4, 6, 7, 3),
        ks: Sequence[int] = (7, 3, 5, 5, 5),
        group: Sequence[int | None] = (None, 16, 16, 16, 16),
        att: Sequence[bool | None] = (None, True, False, True, True),
        init_cfg: dict | Sequence[dict] | None = None,
    ) -> None:
        super().__init__(init_cfg)
        if depth not in self.arch_settings:
            raise KeyError(f"ViPNAS_ResNet: invalid depth {depth}; supported: {sorted(self.arch_settings)}")
        if not 1 <= num_stages <= 4:
            raise ValueError(f"ViPNAS_ResNet: num_stages must be in 1..4, got {num_stages}")
        strides, dilations = tuple(to_builtin(strides)), tuple(to_builtin(dilations))
        if not len(strides) == len(dilations) == num_stages:
            raise ValueError("ViPNAS_ResNet: strides and dilations need num_stages entries")
        out_indices = tuple(to_builtin(out_indices))
        if max(out_indices) >= num_stages:
            raise ValueError(f"ViPNAS_ResNet: out_indices {out_indices} must be < num_stages {num_stages}")
        wid, expan, dep = list(to_builtin(wid)), list(to_builtin(expan)), list(to_builtin(dep))
        ks, group, att = list(to_builtin(ks)), list(to_builtin(group)), list(to_builtin(att))
        self.depth = depth
        self.stem_channels = dep[0]
        self.num_stages = num_stages
        self.strides = strides
        self.dilations = dilations
        self.out_indices = out_indices
        self.style = style
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.frozen_stages = frozen_stages
        self.conv_cfg = to_builtin(conv_cfg)
        self.norm_cfg = dict(type="BN", requires_grad=True) if norm_cfg is None else to_builtin(norm_cfg)
        self.with_cp = with_cp
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        self.block = self.arch_settings[depth]
        self.stage_blocks = dep[1 : 1 + num_stages]
        self._make_stem_layer(in_channels, wid[0], ks[0])

        self.res_layers: list[str] = []
        _in_channels = wid[0]
        for i, num_blocks in enumerate(self.stage_blocks):
            expansion = _get_expansion(self.block, expan[i + 1])
            _out_channels = wid[i + 1] * expansion
            res_layer = self.make_res_layer(
                block=self.block,
                num_blocks=num_blocks,
                in_channels=_in_channels,
                out_channels=_out_channels,
                expansion=expansion,
                stride=strides[i],
                dilation=dilations[i],
                style=self.style,
                avg_down=self.avg_down,
                with_cp=with_cp,
                conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg,
                kernel_size=ks[i + 1],
                groups=group[i + 1],
                attention=att[i + 1],
            )
            _in_channels = _out_channels
            self.add_module(f"layer{i + 1}", res_layer)
            self.res_layers.append(f"layer{i + 1}")
        self.feat_dim = res_layer[-1].out_channels
        self.reset_parameters()
        self._freeze_stages()

    def make_res_layer(self, **kwargs) -> ViPNAS_ResLayer:
        return ViPNAS_ResLayer(**kwargs)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def _make_stem_layer(self, in_channels: int, stem_channels: int, kernel_size: int) -> None:
        if self.deep_stem:
            kw = dict(kernel_size=3, padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, inplace=True)
            self.stem = nn.Sequential(
                ConvModule(in_channels, stem_channels // 2, stride=2, **kw),
                ConvModule(stem_channels // 2, stem_channels // 2, stride=1, **kw),
                ConvModule(stem_channels // 2, stem_channels, stride=1, **kw),
            )
        else:
            self.conv1 = build_conv_layer(
                self.conv_cfg,
                in_channels,
                stem_channels,
                kernel_size=kernel_size,
                stride=2,
                padding=kernel_size // 2,
                bias=False,
            )
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            if self.deep_stem:
                self._freeze_module(self.stem)
            else:
                self._freeze_module(self.conv1)
                self._freeze_module(self.norm1)
        for i in range(1, self.frozen_stages + 1):
            self._freeze_module(getattr(self, f"layer{i}"))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.stem(x) if self.deep_stem else self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
