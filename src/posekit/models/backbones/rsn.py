"""RSN (MMPose 1.x ``RSN``): MSPN's multi-stage layout with residual steps blocks (:class:`RSB`).

`Learning Delicate Local Representations for Multi-Person Pose Estimation <https://arxiv.org/abs/2003.04030>`__.
``forward(x)`` returns ``num_stages`` lists of ``num_units`` maps ``(B, unit_channels, h_u, w_u)``, coarsest first.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..utils.layers import ConvModule
from .base import BaseBackbone
from .mspn import MSPN, ResNetTop, UpsampleModule, UpsampleUnit, _bn, _conv1x1, _stage_flags

__all__ = ["RSB", "RSN", "Downsample_module", "ResNet_top", "Single_stage_RSN", "Upsample_module", "Upsample_unit"]

# MMPose's names of the parts RSN shares with MSPN
ResNet_top = ResNetTop
Upsample_unit = UpsampleUnit


class RSB(nn.Module):
    """Residual steps block: a 1x1 conv splits into ``num_steps`` branches; branch ``i`` runs ``i + 1`` 3x3 convs,
    each also fed by the previous branch's conv at the same depth; the branch ends are concatenated, projected
    (``conv_bn3``) and added to the (downsampled) input.

    Args:
        in_channels: input channels.
        out_channels: output channels (``expansion`` is 1).
        num_steps: branches (> 1).
        stride: stride of the first 1x1 conv.
        downsample: shortcut module or ``None``.
        with_cp: unused (MMPose's argument).
        norm_cfg: norm layer config.
        expand_times: branch width is ``in_channels * expand_times // res_top_channels``.
        res_top_channels: see ``expand_times``.

    Keys: ``conv_bn_relu1``, ``conv_bn_relu2_{i}_{j}`` (1 <= j <= i <= num_steps), ``conv_bn3``, ``downsample``.
    """

    expansion = 1

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        num_steps: int = 4,
        stride: int = 1,
        downsample: nn.Module | None = None,
        with_cp: bool = False,
        norm_cfg: dict | None = None,
        expand_times: int = 26,
        res_top_channels: int = 64,
    ):
        super().__init__()
        if num_steps <= 1:
            raise ValueError(f"RSB: num_steps must be > 1, got {num_steps}")
        norm_cfg = _bn(norm_cfg)
        self.in_channels = in_channels
        self.branch_channels = in_channels * expand_times // res_top_channels
        self.out_channels = out_channels
        self.stride = stride
        self.downsample = downsample
        self.with_cp = with_cp
        self.norm_cfg = norm_cfg
        self.num_steps = num_steps
        bc = self.branch_channels
        self.conv_bn_relu1 = ConvModule(
            in_channels, num_steps * bc, kernel_size=1, stride=stride, padding=0, norm_cfg=norm_cfg, inplace=False
        )
        for i in range(num_steps):
            for j in range(i + 1):
                conv = ConvModule(bc, bc, kernel_size=3, stride=1, padding=1, norm_cfg=norm_cfg, inplace=False)
                self.add_module(f"conv_bn_relu2_{i + 1}_{j + 1}", conv)
        self.conv_bn3 = ConvModule(
            num_steps * bc,
            out_channels * self.expansion,
            kernel_size=1,
            stride=1,
            padding=0,
            act_cfg=None,
            norm_cfg=norm_cfg,
            inplace=False,
        )
        self.relu = nn.ReLU(inplace=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        spx = torch.split(self.conv_bn_relu1(x), self.branch_channels, 1)
        outputs: list[list[torch.Tensor]] = []
        for i in range(self.num_steps):
            outputs.append([])
            for j in range(i + 1):
                inputs = spx[i] if j == 0 else outputs[i][j - 1]
                if i > j:
                    inputs = inputs + outputs[i - 1][j]
                outputs[i].append(getattr(self, f"conv_bn_relu2_{i + 1}_{j + 1}")(inputs))
        out = self.conv_bn3(torch.cat([outputs[i][i] for i in range(self.num_steps)], 1))
        if self.downsample is not None:
            identity = self.downsample(identity)
        return self.relu(out + identity)


class Downsample_module(nn.Module):  # noqa: N801 - MMPose's class name
    """The encoder of one RSN stage: ``num_units`` layers of :class:`RSB` (``layer1..``), deepest output first.

    Args:
        block: :class:`RSB`.
        num_blocks: blocks per layer.
        num_steps: RSB branches.
        num_units: layers.
        has_skip: add the previous stage's skips.
        norm_cfg: norm layer config.
        in_channels: stem channels.
        expand_times: RSB branch width factor.
    """

    def __init__(
        self,
        block: type[nn.Module],
        num_blocks: Sequence[int],
        num_steps: int = 4,
        num_units: int = 4,
        has_skip: bool = False,
        norm_cfg: dict | None = None,
        in_channels: int = 64,
        expand_times: int = 26,
    ):
        super().__init__()
        if len(num_blocks) != num_units:
            raise ValueError(f"num_blocks {list(num_blocks)} needs one entry per unit ({num_units})")
        self.has_skip = has_skip
        self.in_channels = in_channels
        self.num_blocks = num_blocks
        self.num_units = num_units
        self.num_steps = num_steps
        self.norm_cfg = _bn(norm_cfg)
        res_top_channels = in_channels
        for i in range(num_units):
            layer = self._make_layer(
                block,
                in_channels * 2**i,
                num_blocks[i],
                stride=1 if i == 0 else 2,
                expand_times=expand_times,
                res_top_channels=res_top_channels,
            )
            self.add_module(f"layer{i + 1}", layer)

    def _make_layer(
        self,
        block: type[nn.Module],
        out_channels: int,
        blocks: int,
        stride: int = 1,
        expand_times: int = 26,
        res_top_channels: int = 64,
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.in_channels != out_channels * block.expansion:
            downsample = _conv1x1(self.in_channels, out_channels * block.expansion, self.norm_cfg, False, stride)
        common = dict(num_steps=self.num_steps, expand_times=expand_times, res_top_channels=res_top_channels)
        units = [
            block(
                self.in_channels, out_channels, stride=stride, downsample=downsample, norm_cfg=self.norm_cfg, **common
            )
        ]
        self.in_channels = out_channels * block.expansion
        units += [block(self.in_channels, out_channels, **common) for _ in range(1, blocks)]
        return nn.Sequential(*units)

    def forward(self, x: torch.Tensor, skip1, skip2) -> tuple[torch.Tensor, ...]:
        out = []
        for i in range(self.num_units):
            x = getattr(self, f"layer{i + 1}")(x)
            if self.has_skip:
                x = x + skip1[i] + skip2[i]
            out.append(x)
        return tuple(reversed(out))


class Upsample_module(UpsampleModule):  # noqa: N801 - MMPose's class name
    """:class:`~posekit.models.backbones.mspn.UpsampleModule` reading RSB encoder maps (expansion 1)."""

    def __init__(
        self,
        unit_channels: int = 256,
        num_units: int = 4,
        gen_skip: bool = False,
        gen_cross_conv: bool = False,
        norm_cfg: dict | None = None,
        out_channels: int = 64,
    ):
        super().__init__(unit_channels, num_units, gen_skip, gen_cross_conv, norm_cfg, out_channels, RSB.expansion)


class Single_stage_RSN(nn.Module):  # noqa: N801 - MMPose's class name
    """One RSN stage: :class:`Downsample_module` (``downsample``) then :class:`Upsample_module` (``upsample``)."""

    def __init__(
        self,
        has_skip: bool = False,
        gen_skip: bool = False,
        gen_cross_conv: bool = False,
        unit_channels: int = 256,
        num_units: int = 4,
        num_steps: int = 4,
        num_blocks: Sequence[int] = (2, 2, 2, 2),
        norm_cfg: dict | None = None,
        in_channels: int = 64,
        expand_times: int = 26,
    ):
        super().__init__()
        if len(num_blocks) != num_units:
            raise ValueError(f"num_blocks {list(num_blocks)} needs one entry per unit ({num_units})")
        self.has_skip = has_skip
        self.gen_skip = gen_skip
        self.gen_cross_conv = gen_cross_conv
        self.num_units = num_units
        self.num_steps = num_steps
        self.unit_channels = unit_channels
        self.num_blocks = list(num_blocks)
        self.norm_cfg = _bn(norm_cfg)
        self.downsample = Downsample_module(
            RSB, num_blocks, num_steps, num_units, has_skip, self.norm_cfg, in_channels, expand_times
        )
        self.upsample = Upsample_module(unit_channels, num_units, gen_skip, gen_cross_conv, self.norm_cfg, in_channels)

    def forward(self, x: torch.Tensor, skip1, skip2):
        return self.upsample(self.downsample(x, skip1, skip2))


class RSN(BaseBackbone):
    """RSN backbone, as MMPose's ``RSN``.

    Args:
        unit_channels: channels of every output map.
        num_stages: stages.
        num_units: levels per stage (> 1).
        num_blocks: RSBs per level.
        num_steps: branches per RSB (> 1).
        norm_cfg: norm layer config.
        res_top_channels: stem channels (the stem itself is always 64 wide, as in MMPose, so keep 64).
        expand_times: RSB branch width factor (``branch = in_channels * expand_times // res_top_channels``).
        init_cfg: see :class:`BaseBackbone`; default Kaiming convs, ones for norms, Normal(0.01) linears.
    """

    default_init_cfg = MSPN.default_init_cfg

    def __init__(
        self,
        unit_channels: int = 256,
        num_stages: int = 4,
        num_units: int = 4,
        num_blocks: Sequence[int] = (2, 2, 2, 2),
        num_steps: int = 4,
        norm_cfg: dict | None = None,
        res_top_channels: int = 64,
        expand_times: int = 26,
        init_cfg: dict | Sequence[dict] | None = None,
    ):
        super().__init__(init_cfg)
        norm_cfg = _bn(norm_cfg)
        num_blocks = list(num_blocks)
        if num_stages <= 0 or num_steps <= 1 or num_units <= 1 or len(num_blocks) != num_units:
            raise ValueError(
                "RSN: needs num_stages > 0, num_steps > 1, num_units > 1 and one num_blocks entry per unit; got "
                f"num_stages={num_stages}, num_steps={num_steps}, num_units={num_units}, num_blocks={num_blocks}"
            )
        self.unit_channels = unit_channels
        self.num_stages = num_stages
        self.num_units = num_units
        self.num_blocks = num_blocks
        self.num_steps = num_steps
        self.norm_cfg = norm_cfg
        self.top = ResNet_top(norm_cfg=norm_cfg)
        self.multi_stage_rsn = nn.ModuleList(
            Single_stage_RSN(
                *_stage_flags(i, num_stages),
                unit_channels,
                num_units,
                num_steps,
                num_blocks,
                norm_cfg,
                res_top_channels,
                expand_times,
            )
            for i in range(num_stages)
        )
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        out_feats = []
        skip1 = skip2 = None
        x = self.top(x)
        for stage in self.multi_stage_rsn:
            out, skip1, skip2, x = stage(x, skip1, skip2)
            out_feats.append(out)
        return out_feats
