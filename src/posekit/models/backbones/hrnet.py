"""HRNet (MMPose 1.x ``HRNet``: same ``extra`` dict, arguments and state_dict keys).

`Deep High-Resolution Representation Learning <https://arxiv.org/abs/1902.09212>`__. A stem (two stride-2 3x3
convs) and ``layer1`` feed three multi-resolution stages (``stage2..4``) joined by ``transition1..3``; inside a
stage every :class:`HRModule` runs its branches then fuses them (``fuse_layers[i][j]`` carries branch ``j`` to
resolution ``i``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn

from ..utils.layers import build_conv_layer, build_norm_layer, constant_init, to_builtin
from .base import BaseBackbone, make_fuse_layers
from .resnet import BasicBlock, Bottleneck, get_expansion

__all__ = ["HRModule", "HRNet"]

_DEFAULT_UPSAMPLE = {"mode": "nearest", "align_corners": None}


class HRModule(nn.Module):
    """One high-resolution module: ``num_branches`` parallel branches of residual blocks, then fusion.

    Args:
        num_branches: number of resolutions.
        blocks: block class (:class:`BasicBlock` / :class:`Bottleneck`).
        num_blocks: blocks per branch.
        in_channels: input channels per branch (updated in place to the output channels, as MMPose).
        num_channels: block channels per branch (before expansion).
        multiscale_output: output every resolution (else only the highest).
        with_cp: gradient checkpointing in the blocks.
        conv_cfg, norm_cfg: layer configs.
        upsample_cfg: ``nn.Upsample`` ``mode`` / ``align_corners`` used when fusing lower resolutions upwards.
    """

    def __init__(
        self,
        num_branches: int,
        blocks: type[nn.Module],
        num_blocks: Sequence[int],
        in_channels: list[int],
        num_channels: Sequence[int],
        multiscale_output: bool = False,
        with_cp: bool = False,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        upsample_cfg: dict | None = None,
    ):
        super().__init__()
        for what, seq in (("NUM_BLOCKS", num_blocks), ("NUM_CHANNELS", num_channels), ("NUM_INCHANNELS", in_channels)):
            if num_branches != len(seq):
                raise ValueError(f"NUM_BRANCHES({num_branches}) != {what}({len(seq)})")
        self.in_channels = in_channels
        self.num_branches = num_branches
        self.multiscale_output = multiscale_output
        self.norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        self.conv_cfg = conv_cfg
        self.upsample_cfg = dict(_DEFAULT_UPSAMPLE if upsample_cfg is None else upsample_cfg)
        self.with_cp = with_cp
        self.branches = nn.ModuleList(
            [self._make_one_branch(i, blocks, num_blocks, num_channels) for i in range(num_branches)]
        )
        self.fuse_layers = self._make_fuse_layers()
        self.relu = nn.ReLU(inplace=True)

    def _make_one_branch(
        self, branch_index: int, block: type[nn.Module], num_blocks: Sequence[int], num_channels: Sequence[int]
    ) -> nn.Sequential:
        out_channels = num_channels[branch_index] * get_expansion(block)
        in_channels = self.in_channels[branch_index]
        downsample = None
        if in_channels != out_channels:
            downsample = nn.Sequential(
                build_conv_layer(self.conv_cfg, in_channels, out_channels, kernel_size=1, stride=1, bias=False),
                build_norm_layer(self.norm_cfg, out_channels)[1],
            )
        kw = dict(with_cp=self.with_cp, norm_cfg=self.norm_cfg, conv_cfg=self.conv_cfg)
        layers = [block(in_channels, out_channels, stride=1, downsample=downsample, **kw)]
        layers += [block(out_channels, out_channels, **kw) for _ in range(1, num_blocks[branch_index])]
        self.in_channels[branch_index] = out_channels
        return nn.Sequential(*layers)

    def _conv_bn(self, cin: int, cout: int, kernel_size: int, stride: int, relu: bool) -> nn.Sequential:
        layers = [
            build_conv_layer(
                self.conv_cfg, cin, cout, kernel_size=kernel_size, stride=stride, padding=kernel_size // 2, bias=False
            ),
            build_norm_layer(self.norm_cfg, cout)[1],
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        return nn.Sequential(*layers)

    def _make_fuse_layers(self) -> nn.ModuleList | None:
        ch = self.in_channels

        def upsample(j: int, i: int) -> nn.Module:  # lower resolution -> 1x1 conv + BN, upsample
            up = nn.Upsample(
                scale_factor=2 ** (j - i),
                mode=self.upsample_cfg["mode"],
                align_corners=self.upsample_cfg["align_corners"],
            )
            return nn.Sequential(*self._conv_bn(ch[j], ch[i], 1, 1, relu=False), up)

        def downsample_step(j: int, i: int, last: bool) -> nn.Module:  # stride-2 3x3 conv, ReLU between steps
            return self._conv_bn(ch[j], ch[i] if last else ch[j], 3, 2, relu=not last)

        num_outputs = self.num_branches if self.multiscale_output else 1
        return make_fuse_layers(self.num_branches, num_outputs, upsample, downsample_step)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.num_branches == 1:
            return [self.branches[0](x[0])]
        x = [branch(xi) for branch, xi in zip(self.branches, x)]
        x_fuse = []
        for i, fuse_layer in enumerate(self.fuse_layers):
            y = 0
            for j in range(self.num_branches):
                y = y + (x[j] if i == j else fuse_layer[j](x[j]))
            x_fuse.append(self.relu(y))
        return x_fuse


class HRNet(BaseBackbone):
    """HRNet backbone, as MMPose's ``HRNet``.

    Args:
        extra: per-stage settings, MMPose's format::

            dict(
                stage1=dict(num_modules=1, num_branches=1, block='BOTTLENECK', num_blocks=(4,), num_channels=(64,)),
                stage2=dict(num_modules=1, num_branches=2, block='BASIC', num_blocks=(4, 4), num_channels=(32, 64)),
                stage3=dict(num_modules=4, num_branches=3, block='BASIC', num_blocks=(4, 4, 4),
                            num_channels=(32, 64, 128)),
                stage4=dict(num_modules=3, num_branches=4, block='BASIC', num_blocks=(4, 4, 4, 4),
                            num_channels=(32, 64, 128, 256), multiscale_output=False),
                upsample=dict(mode='nearest', align_corners=None))  # optional

        in_channels: input image channels.
        conv_cfg: conv layer config.
        norm_cfg: norm layer config (``None``: ``dict(type='BN')``).
        norm_eval: keep BatchNorm layers in eval mode during training.
        with_cp: gradient checkpointing in the blocks.
        zero_init_residual: zero the last norm of every block (skipped when loading a pretrained checkpoint).
        frozen_stages: freeze the stem and stages ``1..frozen_stages`` (with their transitions); -1: none.
        init_cfg: see :class:`BaseBackbone`; default ``Normal(std=0.001)`` for convs, ones for norms.

    ``forward(x)`` returns the stage-4 outputs: ``(x_4,)`` at stride 4 (``multiscale_output=False``) or one map per
    branch (strides 4, 8, 16, 32).
    """

    blocks_dict = {"BASIC": BasicBlock, "BOTTLENECK": Bottleneck}
    default_init_cfg = (
        dict(type="Normal", std=0.001, layer=["Conv2d"]),
        dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
    )

    def __init__(
        self,
        extra: dict,
        in_channels: int = 3,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        norm_eval: bool = False,
        with_cp: bool = False,
        zero_init_residual: bool = False,
        frozen_stages: int = -1,
        init_cfg: dict | Sequence[dict] | None = None,
    ):
        super().__init__(init_cfg)
        self.extra = extra = to_builtin(extra)
        self.conv_cfg = to_builtin(conv_cfg)
        self.norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual
        self.frozen_stages = frozen_stages

        # stem: two stride-2 3x3 convs (stride 4 overall)
        self.norm1_name, norm1 = build_norm_layer(self.norm_cfg, 64, postfix=1)
        self.norm2_name, norm2 = build_norm_layer(self.norm_cfg, 64, postfix=2)
        self.conv1 = build_conv_layer(self.conv_cfg, in_channels, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.add_module(self.norm1_name, norm1)
        self.conv2 = build_conv_layer(self.conv_cfg, 64, 64, kernel_size=3, stride=2, padding=1, bias=False)
        self.add_module(self.norm2_name, norm2)
        self.relu = nn.ReLU(inplace=True)

        self.upsample_cfg = dict(extra.get("upsample", _DEFAULT_UPSAMPLE))

        # stage 1: a plain residual layer
        self.stage1_cfg = extra["stage1"]
        block = self.blocks_dict[self.stage1_cfg["block"]]
        stage1_out_channels = self.stage1_cfg["num_channels"][0] * get_expansion(block)
        self.layer1 = self._make_layer(block, 64, stage1_out_channels, self.stage1_cfg["num_blocks"][0])

        # stages 2-4: transition from the previous stage's branches, then HR modules
        pre_stage_channels = [stage1_out_channels]
        for s in (2, 3, 4):
            stage_cfg = extra[f"stage{s}"]
            setattr(self, f"stage{s}_cfg", stage_cfg)
            block = self.blocks_dict[stage_cfg["block"]]
            num_channels = [c * get_expansion(block) for c in stage_cfg["num_channels"]]
            setattr(self, f"transition{s - 1}", self._make_transition_layer(pre_stage_channels, num_channels))
            multiscale_output = stage_cfg.get("multiscale_output", False) if s == 4 else True
            stage, pre_stage_channels = self._make_stage(stage_cfg, num_channels, multiscale_output)
            setattr(self, f"stage{s}", stage)

        self.reset_parameters()
        self._freeze_stages()

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    @property
    def norm2(self) -> nn.Module:
        return getattr(self, self.norm2_name)

    def _make_transition_layer(self, channels_pre: Sequence[int], channels_cur: Sequence[int]) -> nn.ModuleList:
        """Per new-stage branch: ``None`` (same branch, same channels), a 3x3 conv (same branch, new channels),
        or a chain of stride-2 3x3 convs from the previous stage's lowest resolution (new branch)."""
        layers: list[nn.Module | None] = []
        for i, cout in enumerate(channels_cur):
            if i < len(channels_pre):
                if cout != channels_pre[i]:
                    layers.append(self._conv_bn_relu(channels_pre[i], cout, stride=1))
                else:
                    layers.append(None)
            else:
                cin = channels_pre[-1]
                steps = []
                for j in range(i + 1 - len(channels_pre)):
                    out = cout if j == i - len(channels_pre) else cin
                    steps.append(self._conv_bn_relu(cin, out, stride=2))
                layers.append(nn.Sequential(*steps))
        return nn.ModuleList(layers)

    def _conv_bn_relu(self, cin: int, cout: int, stride: int) -> nn.Sequential:
        return nn.Sequential(
            build_conv_layer(self.conv_cfg, cin, cout, kernel_size=3, stride=stride, padding=1, bias=False),
            build_norm_layer(self.norm_cfg, cout)[1],
            nn.ReLU(inplace=True),
        )

    def _make_layer(
        self, block: type[nn.Module], in_channels: int, out_channels: int, blocks: int, stride: int = 1
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or in_channels != out_channels:
            downsample = nn.Sequential(
                build_conv_layer(self.conv_cfg, in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                build_norm_layer(self.norm_cfg, out_channels)[1],
            )
        kw = dict(with_cp=self.with_cp, norm_cfg=self.norm_cfg, conv_cfg=self.conv_cfg)
        layers = [block(in_channels, out_channels, stride=stride, downsample=downsample, **kw)]
        layers += [block(out_channels, out_channels, **kw) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def _make_stage(
        self, layer_config: dict, in_channels: list[int], multiscale_output: bool = True
    ) -> tuple[nn.Sequential, list[int]]:
        num_modules = layer_config["num_modules"]
        block = self.blocks_dict[layer_config["block"]]
        in_channels = list(in_channels)
        modules = []
        for i in range(num_modules):
            # only the last module of the stage may drop the low-resolution outputs
            module_multiscale = multiscale_output or i != num_modules - 1
            modules.append(
                HRModule(
                    layer_config["num_branches"],
                    block,
                    layer_config["num_blocks"],
                    in_channels,
                    layer_config["num_channels"],
                    module_multiscale,
                    with_cp=self.with_cp,
                    norm_cfg=self.norm_cfg,
                    conv_cfg=self.conv_cfg,
                    upsample_cfg=self.upsample_cfg,
                )
            )
            in_channels = modules[-1].in_channels
        return nn.Sequential(*modules), in_channels

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for m in (self.conv1, self.norm1, self.conv2, self.norm2):
                self._freeze_module(m)
        for i in range(1, self.frozen_stages + 1):
            self._freeze_module(self.layer1 if i == 1 else getattr(self, f"stage{i}"))
            if i < 4:
                self._freeze_module(getattr(self, f"transition{i}"))

    def _post_init(self, pretrained: bool) -> None:
        if self.zero_init_residual and not pretrained:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    constant_init(m.norm3, 0)
                elif isinstance(m, BasicBlock):
                    constant_init(m.norm2, 0)

    @staticmethod
    def _transition(transition: nn.ModuleList, y_list: list[torch.Tensor], num_branches: int) -> list[torch.Tensor]:
        x_list = []
        for i in range(num_branches):
            if transition[i] is None:
                x_list.append(y_list[i])
            else:  # a new branch is built from the lowest resolution of the previous stage
                x_list.append(transition[i](y_list[i] if i < len(y_list) else y_list[-1]))
        return x_list

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        x = self.relu(self.norm1(self.conv1(x)))
        x = self.relu(self.norm2(self.conv2(x)))
        y_list = [self.layer1(x)]
        for s in (2, 3, 4):
            transition = getattr(self, f"transition{s - 1}")
            num_branches = getattr(self, f"stage{s}_cfg")["num_branches"]
            y_list = getattr(self, f"stage{s}")(self._transition(transition, y_list, num_branches))
        return tuple(y_list)
