"""Lite-HRNet (MMPose 1.x ``LiteHRNet``: same ``extra`` dict, arguments and state_dict keys).

`Lite-HRNet: A Lightweight High-Resolution Network <https://arxiv.org/abs/2104.06403>`__. A ShuffleNet-like stem
feeds ``num_stages`` multi-resolution stages (``stage0..``, joined by ``transition0..``). A ``'LITE'`` module
replaces the costly 1x1 convs of shuffle blocks by *conditional channel weighting* (cross-resolution + spatial
weights); a ``'NAIVE'`` module stacks plain shuffle blocks per branch. An optional ``IterativeHead`` (``head_layer``)
merges the branches from low to high resolution; the output is the highest-resolution map.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp

from ..utils.layers import ConvModule, DepthwiseSeparableConvModule, build_conv_layer, build_norm_layer, to_builtin
from .base import BaseBackbone, make_fuse_layers

__all__ = [
    "ConditionalChannelWeighting",
    "CrossResolutionWeighting",
    "IterativeHead",
    "LiteHRModule",
    "LiteHRNet",
    "ShuffleUnit",
    "SpatialWeighting",
    "Stem",
    "channel_shuffle",
]


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle: ``(B, g*c, H, W) -> view (B, g, c) -> transpose -> (B, c*g, H, W)``."""
    b, c, h, w = x.shape
    assert c % groups == 0, f"channels ({c}) must be divisible by groups ({groups})"
    x = x.view(b, groups, c // groups, h, w).transpose(1, 2).contiguous()
    return x.view(b, c, h, w)


def _checkpointed(fn, x, with_cp: bool):
    """``fn(x)``, through gradient checkpointing when ``with_cp`` and some input needs grad."""
    tensors = x if isinstance(x, (list, tuple)) else [x]
    if with_cp and any(t.requires_grad for t in tensors):
        return cp.checkpoint(fn, x, use_reentrant=False)
    return fn(x)


class SpatialWeighting(nn.Module):
    """Squeeze-excitation style weights: global pool -> 1x1 (ReLU) -> 1x1 (Sigmoid), multiplied onto ``x``."""

    def __init__(
        self,
        channels: int,
        ratio: int = 16,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | Sequence[dict] = (dict(type="ReLU"), dict(type="Sigmoid")),
    ):
        super().__init__()
        act_cfg = to_builtin(act_cfg)
        if isinstance(act_cfg, dict):
            act_cfg = (act_cfg, act_cfg)
        assert len(act_cfg) == 2
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        mid = int(channels / ratio)
        self.conv1 = ConvModule(channels, mid, 1, stride=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg[0])
        self.conv2 = ConvModule(mid, channels, 1, stride=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv2(self.conv1(self.global_avgpool(x)))


class CrossResolutionWeighting(nn.Module):
    """Channel weights computed from all branches pooled to the lowest resolution, applied back per branch."""

    def __init__(
        self,
        channels: Sequence[int],
        ratio: int = 16,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | Sequence[dict] = (dict(type="ReLU"), dict(type="Sigmoid")),
    ):
        super().__init__()
        act_cfg = to_builtin(act_cfg)
        if isinstance(act_cfg, dict):
            act_cfg = (act_cfg, act_cfg)
        assert len(act_cfg) == 2
        self.channels = list(channels)
        total = sum(self.channels)
        mid = int(total / ratio)
        self.conv1 = ConvModule(total, mid, 1, stride=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg[0])
        self.conv2 = ConvModule(mid, total, 1, stride=1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg[1])

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        mini_size = x[-1].shape[-2:]
        out = torch.cat([F.adaptive_avg_pool2d(s, mini_size) for s in x[:-1]] + [x[-1]], dim=1)
        out = self.conv2(self.conv1(out))
        weights = torch.split(out, self.channels, dim=1)
        return [s * F.interpolate(a, size=s.shape[-2:], mode="nearest") for s, a in zip(x, weights)]


class ConditionalChannelWeighting(nn.Module):
    """The 'LITE' block: split channels in half; weight one half (cross-resolution weights, 3x3 depthwise conv,
    spatial weights), concatenate with the other half and shuffle."""

    def __init__(
        self,
        in_channels: Sequence[int],
        stride: int,
        reduce_ratio: int,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        with_cp: bool = False,
    ):
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        assert stride in (1, 2)
        self.with_cp = with_cp
        self.stride = stride
        branch_channels = [c // 2 for c in in_channels]
        self.cross_resolution_weighting = CrossResolutionWeighting(
            branch_channels, ratio=reduce_ratio, conv_cfg=conv_cfg, norm_cfg=norm_cfg
        )
        self.depthwise_convs = nn.ModuleList(
            [
                ConvModule(
                    c, c, 3, stride=stride, padding=1, groups=c, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None
                )
                for c in branch_channels
            ]
        )
        self.spatial_weighting = nn.ModuleList([SpatialWeighting(channels=c, ratio=4) for c in branch_channels])

    def _inner_forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        halves = [s.chunk(2, dim=1) for s in x]
        x1 = [h[0] for h in halves]
        x2 = self.cross_resolution_weighting([h[1] for h in halves])
        x2 = [dw(s) for s, dw in zip(x2, self.depthwise_convs)]
        x2 = [sw(s) for s, sw in zip(x2, self.spatial_weighting)]
        return [channel_shuffle(torch.cat([s1, s2], dim=1), 2) for s1, s2 in zip(x1, x2)]

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        return _checkpointed(self._inner_forward, x, self.with_cp)


class Stem(nn.Module):
    """Stride-2 3x3 conv, then a stride-2 shuffle block (``branch1`` on one half, expand -> depthwise -> linear on
    the other): stride 4 overall."""

    def __init__(
        self,
        in_channels: int,
        stem_channels: int,
        out_channels: int,
        expand_ratio: float,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        with_cp: bool = False,
    ):
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.with_cp = with_cp
        kw = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        relu = dict(type="ReLU")

        self.conv1 = ConvModule(in_channels, stem_channels, 3, stride=2, padding=1, act_cfg=relu, **kw)
        mid_channels = int(round(stem_channels * expand_ratio))
        branch_channels = stem_channels // 2
        if stem_channels == out_channels:
            inc_channels = out_channels - branch_channels
        else:
            inc_channels = out_channels - stem_channels
        self.branch1 = nn.Sequential(
            ConvModule(
                branch_channels, branch_channels, 3, stride=2, padding=1, groups=branch_channels, act_cfg=None, **kw
            ),
            ConvModule(branch_channels, inc_channels, 1, stride=1, padding=0, act_cfg=relu, **kw),
        )
        self.expand_conv = ConvModule(branch_channels, mid_channels, 1, stride=1, padding=0, act_cfg=relu, **kw)
        self.depthwise_conv = ConvModule(
            mid_channels, mid_channels, 3, stride=2, padding=1, groups=mid_channels, act_cfg=None, **kw
        )
        linear_out = branch_channels if stem_channels == out_channels else stem_channels
        self.linear_conv = ConvModule(mid_channels, linear_out, 1, stride=1, padding=0, act_cfg=relu, **kw)

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x1, x2 = x.chunk(2, dim=1)
        x2 = self.linear_conv(self.depthwise_conv(self.expand_conv(x2)))
        return channel_shuffle(torch.cat((self.branch1(x1), x2), dim=1), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _checkpointed(self._inner_forward, x, self.with_cp)


class IterativeHead(nn.Module):
    """From the lowest resolution up: add the (bilinearly upsampled) previous result, then a depthwise-separable
    conv (``projects[i]``) that maps to the next branch's channels."""

    def __init__(self, in_channels: Sequence[int], norm_cfg: dict | None = None):
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        num_branches = len(in_channels)
        self.in_channels = list(in_channels)[::-1]
        projects = []
        for i in range(num_branches):
            out_channels = self.in_channels[i + 1] if i != num_branches - 1 else self.in_channels[i]
            projects.append(
                DepthwiseSeparableConvModule(
                    self.in_channels[i],
                    out_channels,
                    kernel_size=3,
                    stride=1,
                    padding=1,
                    norm_cfg=norm_cfg,
                    act_cfg=dict(type="ReLU"),
                    dw_act_cfg=None,
                    pw_act_cfg=dict(type="ReLU"),
                )
            )
        self.projects = nn.ModuleList(projects)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        y = []
        last_x = None
        for i, s in enumerate(x[::-1]):
            if last_x is not None:
                s = s + F.interpolate(last_x, size=s.shape[-2:], mode="bilinear", align_corners=True)
            s = self.projects[i](s)
            y.append(s)
            last_x = s
        return y[::-1]


class ShuffleUnit(nn.Module):
    """ShuffleNetV2 unit: stride 1 transforms half of the channels; stride 2 transforms both halves (``branch1``
    and ``branch2``). Output channels are shuffled."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        act_cfg: dict | None = None,
        with_cp: bool = False,
    ):
        super().__init__()
        norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        act_cfg = dict(type="ReLU") if act_cfg is None else act_cfg
        self.stride = stride
        self.with_cp = with_cp
        branch_features = out_channels // 2
        if stride == 1 and in_channels != branch_features * 2:
            raise ValueError(
                f"in_channels ({in_channels}) should equal branch_features * 2 ({branch_features * 2}) when stride is 1"
            )
        kw = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg)
        if stride > 1:
            self.branch1 = nn.Sequential(
                ConvModule(
                    in_channels, in_channels, 3, stride=stride, padding=1, groups=in_channels, act_cfg=None, **kw
                ),
                ConvModule(in_channels, branch_features, 1, stride=1, padding=0, act_cfg=act_cfg, **kw),
            )
        self.branch2 = nn.Sequential(
            ConvModule(
                in_channels if stride > 1 else branch_features,
                branch_features,
                1,
                stride=1,
                padding=0,
                act_cfg=act_cfg,
                **kw,
            ),
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
            ConvModule(branch_features, branch_features, 1, stride=1, padding=0, act_cfg=act_cfg, **kw),
        )

    def _inner_forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            out = torch.cat((self.branch1(x), self.branch2(x)), dim=1)
        else:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), dim=1)
        return channel_shuffle(out, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _checkpointed(self._inner_forward, x, self.with_cp)


class LiteHRModule(nn.Module):
    """High-resolution module of Lite-HRNet: ``num_blocks`` LITE weighting blocks (``layers``) or NAIVE shuffle
    branches, then (``with_fuse``) fusion across resolutions with depthwise-separable downsampling.

    Args:
        num_branches: number of resolutions.
        num_blocks: blocks in the module.
        in_channels: channels per branch.
        reduce_ratio: channel reduction of the cross-resolution weighting.
        module_type: ``'LITE'`` or ``'NAIVE'``.
        multiscale_output: output every resolution (else only the highest).
        with_fuse: fuse the branches.
        conv_cfg, norm_cfg: layer configs.
        with_cp: gradient checkpointing.
    """

    def __init__(
        self,
        num_branches: int,
        num_blocks: int,
        in_channels: Sequence[int],
        reduce_ratio: int,
        module_type: str,
        multiscale_output: bool = False,
        with_fuse: bool = True,
        conv_cfg: dict | None = None,
        norm_cfg: dict | None = None,
        with_cp: bool = False,
    ):
        super().__init__()
        if num_branches != len(in_channels):
            raise ValueError(f"NUM_BRANCHES({num_branches}) != NUM_INCHANNELS({len(in_channels)})")
        self.in_channels = list(in_channels)
        self.num_branches = num_branches
        self.module_type = module_type
        self.multiscale_output = multiscale_output
        self.with_fuse = with_fuse
        self.norm_cfg = dict(type="BN") if norm_cfg is None else norm_cfg
        self.conv_cfg = conv_cfg
        self.with_cp = with_cp

        if module_type.upper() == "LITE":
            self.layers = nn.Sequential(
                *[
                    ConditionalChannelWeighting(
                        self.in_channels,
                        stride=1,
                        reduce_ratio=reduce_ratio,
                        conv_cfg=conv_cfg,
                        norm_cfg=self.norm_cfg,
                        with_cp=with_cp,
                    )
                    for _ in range(num_blocks)
                ]
            )
        elif module_type.upper() == "NAIVE":
            self.layers = nn.ModuleList([self._make_one_branch(i, num_blocks) for i in range(num_branches)])
        else:
            raise ValueError("module_type should be either 'LITE' or 'NAIVE'.")
        if with_fuse:
            self.fuse_layers = self._make_fuse_layers()
            self.relu = nn.ReLU()

    def _make_one_branch(self, branch_index: int, num_blocks: int) -> nn.Sequential:
        c = self.in_channels[branch_index]
        kw = dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=dict(type="ReLU"), with_cp=self.with_cp)
        return nn.Sequential(*[ShuffleUnit(c, c, stride=1, **kw) for _ in range(num_blocks)])

    def _dw_pw(self, cin: int, cout: int, stride: int, relu: bool) -> nn.Sequential:
        """3x3 depthwise conv + BN, 1x1 conv + BN (+ ReLU): 4 (5) plain children, as MMPose's key layout."""
        layers = [
            build_conv_layer(self.conv_cfg, cin, cin, kernel_size=3, stride=stride, padding=1, groups=cin, bias=False),
            build_norm_layer(self.norm_cfg, cin)[1],
            build_conv_layer(self.conv_cfg, cin, cout, kernel_size=1, stride=1, padding=0, bias=False),
            build_norm_layer(self.norm_cfg, cout)[1],
        ]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        return nn.Sequential(*layers)

    def _make_fuse_layers(self) -> nn.ModuleList | None:
        ch = self.in_channels

        def upsample(j: int, i: int) -> nn.Module:
            return nn.Sequential(
                build_conv_layer(self.conv_cfg, ch[j], ch[i], kernel_size=1, stride=1, padding=0, bias=False),
                build_norm_layer(self.norm_cfg, ch[i])[1],
                nn.Upsample(scale_factor=2 ** (j - i), mode="nearest"),
            )

        def downsample_step(j: int, i: int, last: bool) -> nn.Module:
            return self._dw_pw(ch[j], ch[i] if last else ch[j], 2, relu=not last)

        num_outputs = self.num_branches if self.multiscale_output else 1
        return make_fuse_layers(self.num_branches, num_outputs, upsample, downsample_step)

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        if self.num_branches == 1:
            return [self.layers[0](x[0])]
        if self.module_type.upper() == "LITE":
            out = self.layers(x)
        else:
            out = [layer(xi) for layer, xi in zip(self.layers, x)]

        if self.with_fuse:
            out_fuse = []
            for i in range(len(self.fuse_layers)):
                # Kept exactly as MMPose / the Lite-HRNet reference (pretrained weights depend on it): ``y`` starts
                # from branch 0 (``y = 0`` costs 0.5-1 AP) and is then accumulated *in place*, so for i == 0 it
                # aliases ``out[0]``: branch 0 is counted twice and the later fusions (i > 0) read the updated
                # ``out[0]``.
                y = out[0] if i == 0 else self.fuse_layers[i][0](out[0])
                for j in range(self.num_branches):
                    if i == j:
                        y += out[j]
                    else:
                        y += self.fuse_layers[i][j](out[j])
                out_fuse.append(self.relu(y))
            out = out_fuse
        if not self.multiscale_output:
            out = [out[0]]
        return out


class LiteHRNet(BaseBackbone):
    """Lite-HRNet backbone, as MMPose's ``LiteHRNet``.

    Args:
        extra: MMPose's settings, e.g. Lite-HRNet-18::

            dict(
                stem=dict(stem_channels=32, out_channels=32, expand_ratio=1),
                num_stages=3,
                stages_spec=dict(
                    num_modules=(2, 4, 2), num_branches=(2, 3, 4), num_blocks=(2, 2, 2),
                    module_type=('LITE', 'LITE', 'LITE'), with_fuse=(True, True, True),
                    reduce_ratios=(8, 8, 8),
                    num_channels=((40, 80), (40, 80, 160), (40, 80, 160, 320))),
                with_head=True)

            (Lite-HRNet-30: ``num_modules=(3, 8, 3)``.)
        in_channels: input image channels.
        conv_cfg: conv layer config.
        norm_cfg: norm layer config (``None``: ``dict(type='BN')``).
        norm_eval: keep BatchNorm layers in eval mode during training.
        with_cp: gradient checkpointing.
        init_cfg: see :class:`BaseBackbone`; default ``Normal(std=0.001)`` for convs, ones for norms.

    ``forward(x)`` returns ``(x,)``: the highest-resolution map (stride 4, ``num_channels[-1][0]`` channels).
    """

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
        init_cfg: dict | Sequence[dict] | None = None,
    ):
        super().__init__(init_cfg)
        self.extra = extra = to_builtin(extra)
        self.conv_cfg = to_builtin(conv_cfg)
        self.norm_cfg = dict(type="BN") if norm_cfg is None else to_builtin(norm_cfg)
        self.norm_eval = norm_eval
        self.with_cp = with_cp

        self.stem = Stem(
            in_channels,
            stem_channels=extra["stem"]["stem_channels"],
            out_channels=extra["stem"]["out_channels"],
            expand_ratio=extra["stem"]["expand_ratio"],
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
        )
        self.num_stages = extra["num_stages"]
        self.stages_spec = extra["stages_spec"]

        num_channels_last = [self.stem.out_channels]
        for i in range(self.num_stages):
            num_channels = list(self.stages_spec["num_channels"][i])
            setattr(self, f"transition{i}", self._make_transition_layer(num_channels_last, num_channels))
            stage, num_channels_last = self._make_stage(self.stages_spec, i, num_channels, multiscale_output=True)
            setattr(self, f"stage{i}", stage)

        self.with_head = extra["with_head"]
        if self.with_head:
            self.head_layer = IterativeHead(in_channels=num_channels_last, norm_cfg=self.norm_cfg)

        self.reset_parameters()

    def _dw_pw(self, cin: int, cout: int, stride: int) -> nn.Sequential:
        return nn.Sequential(
            build_conv_layer(self.conv_cfg, cin, cin, kernel_size=3, stride=stride, padding=1, groups=cin, bias=False),
            build_norm_layer(self.norm_cfg, cin)[1],
            build_conv_layer(self.conv_cfg, cin, cout, kernel_size=1, stride=1, padding=0, bias=False),
            build_norm_layer(self.norm_cfg, cout)[1],
            nn.ReLU(),
        )

    def _make_transition_layer(self, channels_pre: Sequence[int], channels_cur: Sequence[int]) -> nn.ModuleList:
        layers: list[nn.Module | None] = []
        for i, cout in enumerate(channels_cur):
            if i < len(channels_pre):
                layers.append(self._dw_pw(channels_pre[i], cout, 1) if cout != channels_pre[i] else None)
            else:
                cin = channels_pre[-1]
                steps = []
                for j in range(i + 1 - len(channels_pre)):
                    steps.append(self._dw_pw(cin, cout if j == i - len(channels_pre) else cin, 2))
                layers.append(nn.Sequential(*steps))
        return nn.ModuleList(layers)

    def _make_stage(
        self, stages_spec: dict, stage_index: int, in_channels: list[int], multiscale_output: bool = True
    ) -> tuple[nn.Sequential, list[int]]:
        num_modules = stages_spec["num_modules"][stage_index]
        modules = []
        for i in range(num_modules):
            modules.append(
                LiteHRModule(
                    stages_spec["num_branches"][stage_index],
                    stages_spec["num_blocks"][stage_index],
                    in_channels,
                    stages_spec["reduce_ratios"][stage_index],
                    stages_spec["module_type"][stage_index],
                    multiscale_output=multiscale_output or i != num_modules - 1,
                    with_fuse=stages_spec["with_fuse"][stage_index],
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    with_cp=self.with_cp,
                )
            )
            in_channels = modules[-1].in_channels
        return nn.Sequential(*modules), in_channels

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y_list = [self.stem(x)]
        for i in range(self.num_stages):
            transition = getattr(self, f"transition{i}")
            x_list = []
            for j in range(self.stages_spec["num_branches"][i]):
                if transition[j] is not None:
                    x_list.append(transition[j](y_list[j] if j < len(y_list) else y_list[-1]))
                else:
                    x_list.append(y_list[j])
            y_list = getattr(self, f"stage{i}")(x_list)
        if self.with_head:
            y_list = self.head_layer(y_list)
        return (y_list[0],)
