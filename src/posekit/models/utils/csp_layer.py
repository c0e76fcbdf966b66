"""CSP building blocks of CSPNeXt (MMPose ``models/utils/csp_layer.py`` + mmdet's ``SPPBottleneck`` / ``Focus``).

Made of :class:`~posekit.models.utils.layers.ConvModule` s (mmcv's child names ``conv`` / ``bn`` / ``activate``),
so state_dict keys match MMPose checkpoints. Feature maps are ``(B, C, H, W)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from posekit.models.utils.layers import ConvModule, DepthwiseSeparableConvModule

__all__ = [
    "ChannelAttention",
    "DarknetBottleneck",
    "CSPNeXtBlock",
    "CSPLayer",
    "SPPBottleneck",
    "Focus",
]

_DEFAULT_NORM = {"type": "BN", "momentum": 0.03, "eps": 0.001}


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation style channel attention: ``x * hardsigmoid(fc(avgpool(x)))`` (key ``fc``).

    Args:
        channels: input (and output) channels.
    """

    def __init__(self, channels: int, init_cfg: dict | None = None) -> None:
        super().__init__()
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(channels, channels, 1, 1, 0, bias=True)
        self.act = nn.Hardsigmoid(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type=x.device.type, enabled=False):
            out = self.global_avgpool(x)
        out = self.fc(out)
        out = self.act(out)
        return x * out


class DarknetBottleneck(nn.Module):
    """Darknet bottleneck: 1x1 ConvModule ``conv1`` then 3x3 ``conv2`` (+ identity when shapes allow).

    Args:
        in_channels, out_channels: channels. expansion: hidden = ``int(out_channels * expansion)``.
        add_identity: residual connection (only if ``in_channels == out_channels``).
        use_depthwise: depthwise-separable ``conv2``.
        conv_cfg, norm_cfg, act_cfg: ConvModule configs (defaults: BN(momentum=0.03, eps=0.001), Swish).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expansion: float = 0.5,
        add_identity: bool = True,
        use_depthwise: bool = False,
        conv_cfg: dict | None = None,
        norm_cfg: dict = _DEFAULT_NORM,
        act_cfg: dict = {"type": "Swish"},  # noqa: B006
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__()
        hidden_channels = int(out_channels * expansion)
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        self.conv1 = ConvModule(in_channels, hidden_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = conv(
            hidden_channels,
            out_channels,
            3,
            stride=1,
            padding=1,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
        self.add_identity = add_identity and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class CSPNeXtBlock(nn.Module):
    """CSPNeXt bottleneck: 3x3 ``conv1`` then a large-kernel depthwise-separable ``conv2`` (+ identity).

    Args:
        in_channels, out_channels: channels. expansion: hidden = ``int(out_channels * expansion)``.
        add_identity: residual connection (only if ``in_channels == out_channels``).
        use_depthwise: depthwise-separable ``conv1``.
        kernel_size: kernel of the depthwise ``conv2``. Defaults to 5.
        conv_cfg, norm_cfg, act_cfg: ConvModule configs (defaults: BN(momentum=0.03, eps=0.001), SiLU).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expansion: float = 0.5,
        add_identity: bool = True,
        use_depthwise: bool = False,
        kernel_size: int = 5,
        conv_cfg: dict | None = None,
        norm_cfg: dict = _DEFAULT_NORM,
        act_cfg: dict = {"type": "SiLU"},  # noqa: B006
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__()
        hidden_channels = int(out_channels * expansion)
        conv = DepthwiseSeparableConvModule if use_depthwise else ConvModule
        self.conv1 = conv(in_channels, hidden_channels, 3, stride=1, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = DepthwiseSeparableConvModule(
            hidden_channels,
            out_channels,
            kernel_size,
            stride=1,
            padding=kernel_size // 2,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )
        self.add_identity = add_identity and in_channels == out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class CSPLayer(nn.Module):
    """Cross Stage Partial layer: ``final_conv(cat(blocks(main_conv(x)), short_conv(x)))`` (+ channel attention).

    Args:
        in_channels, out_channels: channels.
        expand_ratio: the two branches have ``int(out_channels * expand_ratio)`` channels. Defaults to 0.5.
        num_blocks: blocks in the main branch. Defaults to 1.
        add_identity: residuals inside the blocks. Defaults to True.
        use_depthwise: depthwise-separable convs inside the blocks. Defaults to False.
        use_cspnext_block: :class:`CSPNeXtBlock` instead of :class:`DarknetBottleneck`. Defaults to False.
        channel_attention: :class:`ChannelAttention` (``attention``) before ``final_conv``. Defaults to False.
        conv_cfg, norm_cfg, act_cfg: ConvModule configs (defaults: BN(momentum=0.03, eps=0.001), Swish).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: float = 0.5,
        num_blocks: int = 1,
        add_identity: bool = True,
        use_depthwise: bool = False,
        use_cspnext_block: bool = False,
        channel_attention: bool = False,
        conv_cfg: dict | None = None,
        norm_cfg: dict = _DEFAULT_NORM,
        act_cfg: dict = {"type": "Swish"},  # noqa: B006
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__()
        block = CSPNeXtBlock if use_cspnext_block else DarknetBottleneck
        mid_channels = int(out_channels * expand_ratio)
        self.channel_attention = channel_attention
        kw = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.main_conv = ConvModule(in_channels, mid_channels, 1, **kw)
        self.short_conv = ConvModule(in_channels, mid_channels, 1, **kw)
        self.final_conv = ConvModule(2 * mid_channels, out_channels, 1, **kw)
        self.blocks = nn.Sequential(
            *[block(mid_channels, mid_channels, 1.0, add_identity, use_depthwise, **kw) for _ in range(num_blocks)]
        )
        if channel_attention:
            self.attention = ChannelAttention(2 * mid_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_short = self.short_conv(x)
        x_main = self.blocks(self.main_conv(x))
        x_final = torch.cat((x_main, x_short), dim=1)
        if self.channel_attention:
            x_final = self.attention(x_final)
        return self.final_conv(x_final)


class SPPBottleneck(nn.Module):
    """Spatial pyramid pooling (YOLOv3-SPP, mmdet's): ``conv2(cat(x', maxpool_k(x') for k))`` with ``x' = conv1(x)``.

    Args:
        in_channels, out_channels: channels (hidden = ``in_channels // 2``).
        kernel_sizes: max-pool kernels (stride 1, same padding). Defaults to (5, 9, 13).
        conv_cfg, norm_cfg, act_cfg: ConvModule configs (defaults: BN(momentum=0.03, eps=0.001), Swish).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_sizes: Sequence[int] = (5, 9, 13),
        conv_cfg: dict | None = None,
        norm_cfg: dict = _DEFAULT_NORM,
        act_cfg: dict = {"type": "Swish"},  # noqa: B006
        init_cfg: dict | None = None,
    ) -> None:
        super().__init__()
        mid_channels = in_channels // 2
        kw = {"conv_cfg": conv_cfg, "norm_cfg": norm_cfg, "act_cfg": act_cfg}
        self.conv1 = ConvModule(in_channels, mid_channels, 1, stride=1, **kw)
        self.poolings = nn.ModuleList(
            [nn.MaxPool2d(kernel_size=int(ks), stride=1, padding=int(ks) // 2) for ks in kernel_sizes]
        )
        self.conv2 = ConvModule(mid_channels * (len(kernel_sizes) + 1), out_channels, 1, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        with torch.autocast(device_type=x.device.type, enabled=False):
            x = torch.cat([x] + [pooling(x) for pooling in self.poolings], dim=1)
        return self.conv2(x)


class Focus(nn.Module):
    """Space-to-depth (2x2 pixels -> 4x channels) then a ConvModule ``conv`` (YOLOX stem, mmdet's).

    ``(B, C, H, W) -> (B, out_channels, H/2, W/2)`` for stride 1.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 1,
        stride: int = 1,
        conv_cfg: dict | None = None,
        norm_cfg: dict = _DEFAULT_NORM,
        act_cfg: dict = {"type": "Swish"},  # noqa: B006
    ) -> None:
        super().__init__()
        self.conv = ConvModule(
            in_channels * 4,
            out_channels,
            kernel_size,
            stride,
            padding=(kernel_size - 1) // 2,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=act_cfg,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top_left = x[..., ::2, ::2]
        top_right = x[..., ::2, 1::2]
        bot_left = x[..., 1::2, ::2]
        bot_right = x[..., 1::2, 1::2]
        return self.conv(torch.cat((top_left, bot_left, top_right, bot_right), dim=1))
