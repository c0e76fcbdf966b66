"""``ViPNASHead``: a HeatmapHead with grouped deconvolutions (MMPose 1.3.2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from .base_head import BaseHead
from .heatmap_head import (
    _DEFAULT_FINAL_LAYER,
    _DEFAULT_LOSS,
    HeatmapHead,
    make_deconv_layers,
)

__all__ = ["ViPNASHead"]


class ViPNASHead(HeatmapHead):
    """`ViPNAS <https://arxiv.org/abs/2105.10154>`_ heatmap head: deconvolutions with ``deconv_num_groups`` groups.

    Arguments as :class:`HeatmapHead` plus ``deconv_num_groups`` (default ``(16, 16, 16)``); the default
    ``deconv_out_channels`` is ``(144, 144, 144)``.
    """

    _version = 2

    def __init__(
        self,
        in_channels: int | Sequence[int],
        out_channels: int,
        deconv_out_channels: Sequence[int] | None = (144, 144, 144),
        deconv_kernel_sizes: Sequence[int] | None = (4, 4, 4),
        deconv_num_groups: Sequence[int] | None = (16, 16, 16),
        conv_out_channels: Sequence[int] | None = None,
        conv_kernel_sizes: Sequence[int] | None = None,
        final_layer: Any = _DEFAULT_FINAL_LAYER,
        loss: Any = _DEFAULT_LOSS,
        decoder: Any = None,
        init_cfg: Any = None,
    ):
        BaseHead.__init__(self)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self._set_loss_and_decoder(loss, decoder, init_cfg)
        self._require_single_input(in_channels)

        if deconv_out_channels:
            if deconv_kernel_sizes is None or len(deconv_out_channels) != len(deconv_kernel_sizes):
                raise ValueError(
                    '"deconv_out_channels" and "deconv_kernel_sizes" should be integer sequences with the same '
                    f"length. Got mismatched lengths {deconv_out_channels} and {deconv_kernel_sizes}"
                )
            if deconv_num_groups is None or len(deconv_out_channels) != len(deconv_num_groups):
                raise ValueError(
                    '"deconv_out_channels" and "deconv_num_groups" should be integer sequences with the same '
                    f"length. Got mismatched lengths {deconv_out_channels} and {deconv_num_groups}"
                )
            self.deconv_layers = make_deconv_layers(
                in_channels, deconv_out_channels, deconv_kernel_sizes, deconv_num_groups, owner=self.__class__.__name__
            )
            in_channels = deconv_out_channels[-1]
        else:
            self.deconv_layers = nn.Identity()

        self._build_conv_and_final_layers(in_channels, out_channels, conv_out_channels, conv_kernel_sizes, final_layer)
