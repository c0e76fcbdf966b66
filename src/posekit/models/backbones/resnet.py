"""ResNet and ResNetV1d (MMPose 1.x ``ResNet`` / ``ResNetV1d``, same arguments and state_dict keys).

The keys are torchvision's too (``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer1.0.downsample.0`` ...), so both
MMPose checkpoints and torchvision ImageNet weights load directly.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.utils.checkpoint as cp

from ..utils.layers import ConvModule, build_conv_layer, build_norm_layer, constant_init, to_builtin
from .base import BaseBackbone

__all__ = ["BasicBlock", "Bottleneck", "ResLayer", "ResNet", "ResNetV1d", "get_expansion"]


def _default_bn(norm_cfg: dict | None) -> dict:
    return dict(type="BN", requires_grad=True) if norm_cfg is None else to_builtin(norm_cfg)


class _ResidualBlock(nn.Module):
    """What :class:`BasicBlock` and :class:`Bottleneck` share: their bookkeeping attributes, the ``norm1`` /
    ``norm2`` accessors (MMPose's ``norm{i}_name`` layout), and ``relu(_inner_forward(x))`` with optional
    gradient checkpointing. Subclasses build their layers and define ``_inner_forward``."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expansion: int,
        stride: int,
        dilation: int,
        style: str,
        with_cp: bool,
    ):
        super().__init__()
        assert out_channels % expansion == 0
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.expansion = expansion
        self.mid_channels = out_channels // expansion
        self.stride = stride
        self.dilation = dilation
        self.style = style
        self.with_cp = with_cp

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._inner_forward, x, use_reentrant=False)
        else:
            out = self._inner_forward(x)
        return self.relu(out)


class BasicBlock(_ResidualBlock):
    """Two 3x3 convs with an identity shortcut.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        expansion: ``out_channels / mid_channels``; always 1 for this block.
        stride: stride of the first conv.
        dilation: dilation of the first conv.
        downsample: module applied to the shortcut, or ``None``.
        style: unused (kept for the same signature as :class:`Bottleneck`).
        with_cp: gradient checkpointing (saves memory, costs time).
        conv_cfg: conv layer config (``None``: ``nn.Conv2d``).
        norm_cfg: norm layer config (``None``: ``dict(type='BN')``).
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expansion: int = 1,
        stride: int = 1,
        dilation: int = 1,
        downsample: nn.Module | None = None,
        style: str = "pytorch",
        with_cp: bool = False,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
    ):
        assert expansion == 1, "BasicBlock's expansion is always 1"
        super().__init__(in_channels, out_channels, expansion, stride, dilation, style, with_cp)
        norm_cfg = _default_bn(norm_cfg)

        self.norm1_name, norm1 = build_norm_layer(norm_cfg, self.mid_channels, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(norm_cfg, out_channels, postfix=2)
        self.conv1 = build_conv_layer(
            conv_cfg,
            in_channels,
            self.mid_channels,
            3,
            stride=stride,
            padding=dilation,
            dilation=dilation,
            bias=False,
        )
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(conv_cfg, self.mid_channels, out_channels, 3, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.norm2(self.conv2(out))
        return out + identity


class Bottleneck(_ResidualBlock):
    """1x1 -> 3x3 -> 1x1 convs with an identity shortcut.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        expansion: ``out_channels / mid_channels`` (default 4).
        stride: stride of the block; on the 3x3 conv (``style='pytorch'``) or the first 1x1 conv (``'caffe'``).
        dilation: dilation of the 3x3 conv.
        downsample: module applied to the shortcut, or ``None``.
        style: ``'pytorch'`` or ``'caffe'``.
        with_cp: gradient checkpointing.
        conv_cfg: conv layer config.
        norm_cfg: norm layer config (``None``: ``dict(type='BN')``).
    """

    expansion = 4

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
    ):
        assert style in ("pytorch", "caffe")
        super().__init__(in_channels, out_channels, expansion, stride, dilation, style, with_cp)
        norm_cfg = _default_bn(norm_cfg)
        self.conv_cfg, self.norm_cfg = conv_cfg, norm_cfg
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
            kernel_size=3,
            stride=self.conv2_stride,
            padding=dilation,
            dilation=dilation,
            bias=False,
        )
        self.add_module(self.norm2_name, norm2)
        self.conv3 = build_conv_layer(conv_cfg, self.mid_channels, out_channels, kernel_size=1, bias=False)
        self.add_module(self.norm3_name, norm3)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    @property
    def norm3(self) -> nn.Module:
        return getattr(self, self.norm3_name)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.norm1(self.conv1(x)))
        out = self.relu(self.norm2(self.conv2(out)))
        out = self.norm3(self.conv3(out))
        return out + identity


def get_expansion(block: type[nn.Module], expansion: int | None = None) -> int:
    """``expansion`` if given, else the block's class attribute ``expansion`` (1 Basic, 4 Bottleneck)."""
    if expansion is None:
        if not hasattr(block, "expansion"):
            raise TypeError(f"expansion is not specified for {block.__name__}")
        return block.expansion
    if not isinstance(expansion, int) or expansion <= 0:
        raise TypeError(f"expansion must be a positive integer or None, got {expansion!r}")
    return expansion


class ResLayer(nn.Sequential):
    """A stage of residual blocks; the first one changes stride/channels (with a ``downsample`` shortcut).

    Args:
        block: :class:`BasicBlock` or :class:`Bottleneck`.
        num_blocks: number of blocks.
        in_channels: input channels.
        out_channels: output channels.
        expansion: block expansion (``None``: the block's default).
        stride: stride of the first block.
        avg_down: downsample the shortcut with ``AvgPool2d`` + stride-1 conv instead of a strided conv.
        conv_cfg: conv layer config.
        norm_cfg: norm layer config (``None``: ``dict(type='BN')``).
        downsample_first: the first block downsamples (ResNet) rather than the last (Hourglass).
        **kwargs: passed to every block (``dilation``, ``style``, ``with_cp``).
    """

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
        **kwargs,
    ):
        norm_cfg = _default_bn(norm_cfg)
        self.block = block
        self.expansion = get_expansion(block, expansion)

        downsample = None
        if stride != 1 or in_channels != out_channels:
            layers: list[nn.Module] = []
            conv_stride = stride
            if avg_down and stride != 1:
                conv_stride = 1
                layers.append(nn.AvgPool2d(stride, stride=stride, ceil_mode=True, count_include_pad=False))
            layers += [
                build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size=1, stride=conv_stride, bias=False),
                build_norm_layer(norm_cfg, out_channels)[1],
            ]
            downsample = nn.Sequential(*layers)

        common = dict(expansion=self.expansion, conv_cfg=conv_cfg, norm_cfg=norm_cfg, **kwargs)
        blocks: list[nn.Module] = []
        if downsample_first:
            blocks.append(block(in_channels, out_channels, stride=stride, downsample=downsample, **common))
            blocks += [block(out_channels, out_channels, stride=1, **common) for _ in range(1, num_blocks)]
        else:  # Hourglass style
            blocks += [block(in_channels, in_channels, stride=1, **common) for _ in range(num_blocks - 1)]
            blocks.append(block(in_channels, out_channels, stride=stride, downsample=downsample, **common))
        super().__init__(*blocks)


class ResNet(BaseBackbone):
    """ResNet backbone (`Deep Residual Learning <https://arxiv.org/abs/1512.03385>`__), as MMPose's ``ResNet``.

    Args:
        depth: 18, 34, 50, 101 or 152.
        in_channels: input image channels.
        stem_channels: output channels of the stem.
        base_channels: middle channels of the first stage; stage ``i`` outputs
            ``base_channels * 2**i * expansion`` channels.
        expansion: block expansion (``None``: 1 for 18/34, 4 for 50+).
        num_stages: number of stages (1-4).
        strides: stride of the first block of each stage.
        dilations: dilation of each stage.
        out_indices: stages whose outputs are returned (0-based).
        style: ``'pytorch'`` (stride on the 3x3 conv) or ``'caffe'`` (on the first 1x1 conv).
        deep_stem: replace the 7x7 stem conv by three 3x3 ``ConvModule`` s (``stem.0/1/2``).
        avg_down: downsample shortcuts with ``AvgPool2d`` + stride-1 conv.
        frozen_stages: freeze the stem and stages ``1..frozen_stages`` (-1: nothing frozen).
        conv_cfg: conv layer config.
        norm_cfg: norm layer config (``None``: ``dict(type='BN', requires_grad=True)``).
        norm_eval: keep BatchNorm layers in eval mode during training.
        with_cp: gradient checkpointing in the blocks.
        zero_init_residual: zero the last norm of every block (skipped when loading a pretrained checkpoint).
        init_cfg: see :class:`BaseBackbone`; default Kaiming for convs, ones for norms.

    ``forward(x)`` returns a tuple with one map per entry of ``out_indices`` (stride 4, 8, 16, 32 for the default
    strides).

    Example:
        >>> m = ResNet(18, out_indices=(0, 1, 2, 3)).eval()
        >>> [tuple(o.shape) for o in m(torch.rand(1, 3, 32, 32))]
        [(1, 64, 8, 8), (1, 128, 4, 4), (1, 256, 2, 2), (1, 512, 1, 1)]
    """

    arch_settings = {
        18: (BasicBlock, (2, 2, 2, 2)),
        34: (BasicBlock, (3, 4, 6, 3)),
        50: (Bottleneck, (3, 4, 6, 3)),
        101: (Bottleneck, (3, 4, 23, 3)),
        152: (Bottleneck, (3, 8, 36, 3)),
    }
    default_init_cfg = (
        dict(type="Kaiming", layer=["Conv2d"]),
        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
    )

    def __init__(
        self,
        depth: int,
        in_channels: int = 3,
        stem_channels: int = 64,
        base_channels: int = 64,
        expansion: int | None = None,
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
        init_cfg: dict | Sequence[dict] | None = None,
    ):
        super().__init__(init_cfg)
        if depth not in self.arch_settings:
            raise KeyError(f"invalid depth {depth} for resnet; choose from {sorted(self.arch_settings)}")
        norm_cfg = _default_bn(norm_cfg)
        conv_cfg = to_builtin(conv_cfg)
        strides, dilations, out_indices = tuple(strides), tuple(dilations), tuple(out_indices)
        if not 1 <= num_stages <= 4:
            raise ValueError(f"num_stages must be in 1..4, got {num_stages}")
        if not len(strides) == len(dilations) == num_stages:
            raise ValueError(f"strides {strides} and dilations {dilations} need one entry per stage ({num_stages})")
        if max(out_indices) >= num_stages:
            raise ValueError(f"out_indices {out_indices} must be < num_stages ({num_stages})")
        self.depth = depth
        self.stem_channels = stem_channels
        self.base_channels = base_channels
        self.num_stages = num_stages
        self.strides = strides
        self.dilations = dilations
        self.out_indices = out_indices
        self.style = style
        self.deep_stem = deep_stem
        self.avg_down = avg_down
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.with_cp = with_cp
        self.norm_eval = norm_eval
        self.zero_init_residual = zero_init_residual
        self.block, stage_blocks = self.arch_settings[depth]
        self.stage_blocks = stage_blocks[:num_stages]
        self.expansion = get_expansion(self.block, expansion)

        self._make_stem_layer(in_channels, stem_channels)

        self.res_layers: list[str] = []
        _in_channels = stem_channels
        _out_channels = base_channels * self.expansion
        for i, num_blocks in enumerate(self.stage_blocks):
            res_layer = self.make_res_layer(
                block=self.block,
                num_blocks=num_blocks,
                in_channels=_in_channels,
                out_channels=_out_channels,
                expansion=self.expansion,
                stride=strides[i],
                dilation=dilations[i],
                style=style,
                avg_down=avg_down,
                with_cp=with_cp,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
            )
            _in_channels = _out_channels
            _out_channels *= 2
            layer_name = f"layer{i + 1}"
            self.add_module(layer_name, res_layer)
            self.res_layers.append(layer_name)

        self.feat_dim = res_layer[-1].out_channels
        self.reset_parameters()
        self._freeze_stages()

    def make_res_layer(self, **kwargs) -> ResLayer:
        """One stage; subclasses (ResNeXt, SEResNet, ResNeSt) add their block arguments here."""
        return ResLayer(**kwargs)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        if self.deep_stem:
            conv = dict(kernel_size=3, padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, inplace=True)
            self.stem = nn.Sequential(
                ConvModule(in_channels, stem_channels // 2, stride=2, **conv),
                ConvModule(stem_channels // 2, stem_channels // 2, stride=1, **conv),
                ConvModule(stem_channels // 2, stem_channels, stride=1, **conv),
            )
        else:
            self.conv1 = build_conv_layer(
                self.conv_cfg, in_channels, stem_channels, kernel_size=7, stride=2, padding=3, bias=False
            )
            self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, stem_channels, postfix=1)
            self.add_module(self.norm1_name, norm1)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            if self.deep_stem:
                self._freeze_module(self.stem)
            else:
                self._freeze_module(self.norm1)
                self._freeze_module(self.conv1)
        for i in range(1, self.frozen_stages + 1):
            self._freeze_module(getattr(self, f"layer{i}"))

    def _post_init(self, pretrained: bool) -> None:
        if self.zero_init_residual and not pretrained:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    constant_init(m.norm3, 0)
                elif isinstance(m, BasicBlock):
                    constant_init(m.norm2, 0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.deep_stem:
            x = self.stem(x)
        else:
            x = self.relu(self.norm1(self.conv1(x)))
        x = self.maxpool(x)
        outs = []
        for i, layer_name in enumerate(self.res_layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)


class ResNetV1d(ResNet):
    """ResNetV1d (`Bag of Tricks <https://arxiv.org/abs/1812.01187>`__): :class:`ResNet` with ``deep_stem`` (three
    3x3 convs) and ``avg_down`` (AvgPool before the stride-1 shortcut conv). Takes :class:`ResNet`'s arguments."""

    def __init__(self, depth: int, **kwargs):
        super().__init__(depth, deep_stem=True, avg_down=True, **kwargs)
