"""MSPN (MMPose 1.x ``MSPN``): multi-stage pose network, each stage a ResNet-like encoder with a
top-down upsampling path; later stages take the previous stage's skips and cross-stage features.

`Rethinking on Multi-Stage Networks for Human Pose Estimation <https://arxiv.org/abs/1901.00148>`__.
``forward(x)`` returns ``num_stages`` lists of ``num_units`` maps ``(B, unit_channels, h_u, w_u)``, coarsest first
(stride 32, 16, 8, 4 for four units).

The upsampling path (:class:`UpsampleUnit`, :class:`UpsampleModule`) and the stem (:class:`ResNetTop`) are shared
with :class:`~posekit.models.backbones.rsn.RSN`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..utils.checkpoint import get_state_dict, load_checkpoint_file, load_state_dict
from ..utils.layers import ConvModule, to_builtin
from .base import BaseBackbone
from .resnet import Bottleneck as _Bottleneck

__all__ = [
    "MSPN",
    "Bottleneck",
    "DownsampleModule",
    "ResNetTop",
    "SingleStageNetwork",
    "UpsampleModule",
    "UpsampleUnit",
]


def _bn(norm_cfg: dict | None) -> dict:
    return dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)


def _conv1x1(in_channels: int, out_channels: int, norm_cfg: dict, act: bool, stride: int = 1) -> ConvModule:
    """1x1 ``ConvModule`` with a norm and ReLU (``act``) or no activation."""
    return ConvModule(
        in_channels,
        out_channels,
        kernel_size=1,
        stride=stride,
        padding=0,
        norm_cfg=norm_cfg,
        act_cfg=dict(type="ReLU") if act else None,
        inplace=True,
    )


class Bottleneck(_Bottleneck):
    """ResNet bottleneck whose ``out_channels`` argument is the middle width (outputs ``4 * out_channels``)."""

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, **kwargs):
        super().__init__(in_channels, out_channels * 4, **kwargs)


class DownsampleModule(nn.Module):
    """The encoder of one stage: ``num_units`` residual layers ``layer1..`` (the first at stride 1, then 2).

    Args:
        block: the residual block (:class:`Bottleneck`).
        num_blocks: blocks of each layer.
        num_units: layers.
        has_skip: add the previous stage's ``skip1[i] + skip2[i]`` to each layer's output.
        norm_cfg: norm layer config.
        in_channels: stem channels; layer ``i`` has ``in_channels * 2**i`` middle channels.

    ``forward(x, skip1, skip2)`` returns the layer outputs, deepest first.
    """

    def __init__(
        self,
        block: type[nn.Module],
        num_blocks: Sequence[int],
        num_units: int = 4,
        has_skip: bool = False,
        norm_cfg: dict | None = None,
        in_channels: int = 64,
    ):
        super().__init__()
        if len(num_blocks) != num_units:
            raise ValueError(f"num_blocks {list(num_blocks)} needs one entry per unit ({num_units})")
        self.has_skip = has_skip
        self.in_channels = in_channels
        self.num_blocks = num_blocks
        self.num_units = num_units
        self.norm_cfg = _bn(norm_cfg)
        for i in range(num_units):
            layer = self._make_layer(block, in_channels * 2**i, num_blocks[i], stride=1 if i == 0 else 2)
            self.add_module(f"layer{i + 1}", layer)

    def _make_layer(self, block: type[nn.Module], out_channels: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.in_channels != out_channels * block.expansion:
            downsample = _conv1x1(self.in_channels, out_channels * block.expansion, self.norm_cfg, False, stride)
        units = [block(self.in_channels, out_channels, stride=stride, downsample=downsample, norm_cfg=self.norm_cfg)]
        self.in_channels = out_channels * block.expansion
        units += [block(self.in_channels, out_channels) for _ in range(1, blocks)]
        return nn.Sequential(*units)

    def forward(self, x: torch.Tensor, skip1, skip2) -> tuple[torch.Tensor, ...]:
        out = []
        for i in range(self.num_units):
            x = getattr(self, f"layer{i + 1}")(x)
            if self.has_skip:
                x = x + skip1[i] + skip2[i]
            out.append(x)
        return tuple(reversed(out))


class UpsampleUnit(nn.Module):
    """One level of the upsampling path: ``relu(in_skip(x) + up_conv(resize(up_x)))``, plus the skips for the
    next stage (``out_skip1/2``) and, at the finest level, the next stage's input (``cross_conv``).

    Args:
        ind: level index (0 = coarsest; it has no ``up_conv``).
        num_units: levels.
        in_channels: channels of the encoder map at this level.
        unit_channels: channels of the output.
        gen_skip: build ``out_skip1`` / ``out_skip2``.
        gen_cross_conv: build ``cross_conv`` (finest level only).
        norm_cfg: norm layer config.
        out_channels: output channels of ``cross_conv`` (the next stage's stem channels).
    """

    def __init__(
        self,
        ind: int,
        num_units: int,
        in_channels: int,
        unit_channels: int = 256,
        gen_skip: bool = False,
        gen_cross_conv: bool = False,
        norm_cfg: dict | None = None,
        out_channels: int = 64,
    ):
        super().__init__()
        norm_cfg = _bn(norm_cfg)
        self.num_units = num_units
        self.norm_cfg = norm_cfg
        self.in_skip = _conv1x1(in_channels, unit_channels, norm_cfg, act=False)
        self.relu = nn.ReLU(inplace=True)
        self.ind = ind
        if ind > 0:
            self.up_conv = _conv1x1(unit_channels, unit_channels, norm_cfg, act=False)
        self.gen_skip = gen_skip
        if gen_skip:
            self.out_skip1 = _conv1x1(in_channels, in_channels, norm_cfg, act=True)
            self.out_skip2 = _conv1x1(unit_channels, in_channels, norm_cfg, act=True)
        self.gen_cross_conv = gen_cross_conv
        if ind == num_units - 1 and gen_cross_conv:
            self.cross_conv = _conv1x1(unit_channels, out_channels, norm_cfg, act=True)

    def forward(self, x: torch.Tensor, up_x: torch.Tensor | None):
        out = self.in_skip(x)
        if self.ind > 0:
            up_x = F.interpolate(up_x, size=(x.size(2), x.size(3)), mode="bilinear", align_corners=True)
            out = out + self.up_conv(up_x)
        out = self.relu(out)
        skip1 = skip2 = cross_conv = None
        if self.gen_skip:
            skip1 = self.out_skip1(x)
            skip2 = self.out_skip2(out)
        if self.ind == self.num_units - 1 and self.gen_cross_conv:
            cross_conv = self.cross_conv(out)
        return out, skip1, skip2, cross_conv


class UpsampleModule(nn.Module):
    """The upsampling path of one stage: ``up1`` (coarsest) .. ``up{num_units}`` (finest).

    Args:
        unit_channels: output channels of every level.
        num_units: levels.
        gen_skip: make skips for the next stage.
        gen_cross_conv: make the next stage's input.
        norm_cfg: norm layer config.
        out_channels: the stem channels; level ``i`` (coarsest first) reads ``expansion * out_channels * 2**(n-1-i)``
            channels.
        expansion: the encoder block's expansion (4 for MSPN's bottleneck, 1 for RSN's RSB).

    ``forward(x)`` (encoder maps, deepest first) returns ``(outs, skip1, skip2, cross_conv)``; the skips in
    encoder order (finest first).
    """

    def __init__(
        self,
        unit_channels: int = 256,
        num_units: int = 4,
        gen_skip: bool = False,
        gen_cross_conv: bool = False,
        norm_cfg: dict | None = None,
        out_channels: int = 64,
        expansion: int = Bottleneck.expansion,
    ):
        super().__init__()
        self.in_channels = [expansion * out_channels * 2**i for i in range(num_units)][::-1]
        self.num_units = num_units
        self.gen_skip = gen_skip
        self.gen_cross_conv = gen_cross_conv
        self.norm_cfg = _bn(norm_cfg)
        for i in range(num_units):
            # the cross conv always feeds a 64-channel stage input, as in MMPose
            unit = UpsampleUnit(
                i, num_units, self.in_channels[i], unit_channels, gen_skip, gen_cross_conv, self.norm_cfg, 64
            )
            self.add_module(f"up{i + 1}", unit)

    def forward(self, x: Sequence[torch.Tensor]):
        out: list[torch.Tensor] = []
        skip1, skip2 = [], []
        cross_conv = None
        for i in range(self.num_units):
            out_i, skip1_i, skip2_i, cross_i = getattr(self, f"up{i + 1}")(x[i], out[i - 1] if i > 0 else None)
            if i == self.num_units - 1:
                cross_conv = cross_i
            out.append(out_i)
            skip1.append(skip1_i)
            skip2.append(skip2_i)
        return out, skip1[::-1], skip2[::-1], cross_conv


class SingleStageNetwork(nn.Module):
    """One MSPN stage: :class:`DownsampleModule` (``downsample``) then :class:`UpsampleModule` (``upsample``).

    Args:
        has_skip: take the previous stage's skips.
        gen_skip: make skips for the next stage.
        gen_cross_conv: make the next stage's input.
        unit_channels: output channels of every level.
        num_units: levels.
        num_blocks: bottlenecks per level.
        norm_cfg: norm layer config.
        in_channels: stem channels.
    """

    def __init__(
        self,
        has_skip: bool = False,
        gen_skip: bool = False,
        gen_cross_conv: bool = False,
        unit_channels: int = 256,
        num_units: int = 4,
        num_blocks: Sequence[int] = (2, 2, 2, 2),
        norm_cfg: dict | None = None,
        in_channels: int = 64,
    ):
        super().__init__()
        if len(num_blocks) != num_units:
            raise ValueError(f"num_blocks {list(num_blocks)} needs one entry per unit ({num_units})")
        self.has_skip = has_skip
        self.gen_skip = gen_skip
        self.gen_cross_conv = gen_cross_conv
        self.num_units = num_units
        self.unit_channels = unit_channels
        self.num_blocks = list(num_blocks)
        self.norm_cfg = _bn(norm_cfg)
        self.downsample = DownsampleModule(Bottleneck, num_blocks, num_units, has_skip, self.norm_cfg, in_channels)
        self.upsample = UpsampleModule(unit_channels, num_units, gen_skip, gen_cross_conv, self.norm_cfg, in_channels)

    def forward(self, x: torch.Tensor, skip1, skip2):
        return self.upsample(self.downsample(x, skip1, skip2))


class ResNetTop(nn.Module):
    """The stem: 7x7 stride-2 ``ConvModule`` and a stride-2 max-pool (``top.0``, ``top.1``)."""

    def __init__(self, norm_cfg: dict | None = None, channels: int = 64):
        super().__init__()
        self.top = nn.Sequential(
            ConvModule(3, channels, kernel_size=7, stride=2, padding=3, norm_cfg=_bn(norm_cfg), inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
        )

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.top(img)


def _stage_flags(i: int, num_stages: int) -> tuple[bool, bool, bool]:
    """(has_skip, gen_skip, gen_cross_conv) of stage ``i``: every stage but the first reads skips, every stage but
    the last makes them."""
    last = i == num_stages - 1
    return i > 0, not last, not last


class MSPN(BaseBackbone):
    """MSPN backbone, as MMPose's ``MSPN``.

    Args:
        unit_channels: channels of every output map.
        num_stages: stages (``2xmspn50`` has 2).
        num_units: levels per stage (> 1).
        num_blocks: bottlenecks per level (``[3, 4, 6, 3]``: ResNet-50's).
        norm_cfg: norm layer config.
        res_top_channels: stem channels (the stem itself is always 64 wide, as in MMPose, so keep 64).
        init_cfg: see :class:`BaseBackbone`; default Kaiming convs, ones for norms, Normal(0.01) linears.

    ``forward(x)`` returns ``num_stages`` lists of ``num_units`` maps, coarsest first.
    """

    default_init_cfg = (
        dict(type="Kaiming", layer=["Conv2d"]),
        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
        dict(type="Normal", std=0.01, layer=["Linear"]),
    )

    def __init__(
        self,
        unit_channels: int = 256,
        num_stages: int = 4,
        num_units: int = 4,
        num_blocks: Sequence[int] = (2, 2, 2, 2),
        norm_cfg: dict | None = None,
        res_top_channels: int = 64,
        init_cfg: dict | Sequence[dict] | None = None,
    ):
        super().__init__(init_cfg)
        norm_cfg = _bn(norm_cfg)
        num_blocks = list(num_blocks)
        if num_stages <= 0 or num_units <= 1 or len(num_blocks) != num_units:
            raise ValueError(
                f"MSPN: needs num_stages > 0, num_units > 1 and one num_blocks entry per unit; got num_stages="
                f"{num_stages}, num_units={num_units}, num_blocks={num_blocks}"
            )
        self.unit_channels = unit_channels
        self.num_stages = num_stages
        self.num_units = num_units
        self.num_blocks = num_blocks
        self.norm_cfg = norm_cfg
        self.top = ResNetTop(norm_cfg=norm_cfg)
        self.multi_stage_mspn = nn.ModuleList(
            SingleStageNetwork(
                *_stage_flags(i, num_stages), unit_channels, num_units, num_blocks, norm_cfg, res_top_channels
            )
            for i in range(num_stages)
        )
        self.reset_parameters()

    def init_weights(self) -> None:
        """As MMPose: a ``Pretrained`` ``init_cfg`` holding an ImageNet ResNet (``torchvision://resnet50`` in the
        configs; a local file here) initialises the stem (``conv1`` / ``bn1`` -> ``top.top.0.conv`` / ``.bn``) and
        the encoder of every stage (``layerX...``, shortcut ``downsample.0`` / ``.1`` -> ``downsample.conv`` /
        ``.bn``); entries that do not fit are skipped. Other ``init_cfg`` s: :meth:`BaseBackbone.init_weights`."""
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get("type") == "Pretrained"):
            super().init_weights()
            return
        if "checkpoint" not in cfg:
            raise KeyError("MSPN: init_cfg of type 'Pretrained' needs a 'checkpoint' path")
        state = get_state_dict(load_checkpoint_file(cfg["checkpoint"]), source=str(cfg["checkpoint"]))
        top, encoder = {}, {}
        for key, value in state.items():
            if key.startswith("layer"):
                encoder[key.replace("downsample.0", "downsample.conv").replace("downsample.1", "downsample.bn")] = value
            elif key.startswith("conv1"):
                top[key.replace("conv1", "top.0.conv")] = value
            elif key.startswith("bn1"):
                top[key.replace("bn1", "top.0.bn")] = value
        load_state_dict(self.top, top)
        for stage in self.multi_stage_mspn:
            load_state_dict(stage.downsample, encoder)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        out_feats = []
        skip1 = skip2 = None
        x = self.top(x)
        for stage in self.multi_stage_mspn:
            out, skip1, skip2, x = stage(x, skip1, skip2)
            out_feats.append(out)
        return out_feats
