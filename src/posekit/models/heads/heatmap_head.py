"""``HeatmapHead``: SimpleBaseline's deconvolution head (MMPose 1.3.2, same arguments and state-dict keys)."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor, nn

from .base_head import BaseHead, heatmap_maximum, match_dtype
from .tta import average_flip_heatmaps, writable_output

__all__ = ["HeatmapHead", "init_conv_bn", "make_deconv_layers", "make_conv_layers"]

_DEFAULT_LOSS = MappingProxyType({"type": "KeypointMSELoss", "use_target_weight": True})
_DEFAULT_FINAL_LAYER = MappingProxyType({"kernel_size": 1})


def init_conv_bn(module: nn.Module, conv_std: float = 0.001, linear_std: float | None = None) -> None:
    """MMPose's head init: ``Normal(std)`` for Conv2d/ConvTranspose2d (bias 0), ``Constant(1)`` for BatchNorm2d
    (bias 0), and ``Normal(linear_std)`` for Linear (bias 0) when ``linear_std`` is given."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, conv_std)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0.0)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1.0)
            nn.init.constant_(m.bias, 0.0)
        elif linear_std is not None and isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, linear_std)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0.0)


def _deconv_padding(kernel_size: int, owner: str) -> tuple[int, int]:
    if kernel_size == 4:
        return 1, 0
    if kernel_size == 3:
        return 1, 1
    if kernel_size == 2:
        return 0, 0
    raise ValueError(f"Unsupported kernel size {kernel_size} for deconvolutional layers in {owner}")


def make_deconv_layers(
    in_channels: int,
    layer_out_channels: Sequence[int],
    layer_kernel_sizes: Sequence[int],
    layer_groups: Sequence[int] | None = None,
    owner: str = "HeatmapHead",
) -> nn.Sequential:
    """``[ConvTranspose2d(stride 2, no bias), BatchNorm2d, ReLU] * n`` (keys ``0, 1, 3, 4, 6, 7 ...``)."""
    layers: list[nn.Module] = []
    groups = layer_groups if layer_groups is not None else [1] * len(layer_out_channels)
    for out_channels, kernel_size, g in zip(layer_out_channels, layer_kernel_sizes, groups):
        padding, output_padding = _deconv_padding(int(kernel_size), owner)
        layers.append(
            nn.ConvTranspose2d(
                in_channels,
                out_channels,
                kernel_size=kernel_size,
                stride=2,
                padding=padding,
                output_padding=output_padding,
                groups=g,
                bias=False,
            )
        )
        layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
        in_channels = out_channels
    return nn.Sequential(*layers)


def make_conv_layers(
    in_channels: int, layer_out_channels: Sequence[int], layer_kernel_sizes: Sequence[int]
) -> nn.Sequential:
    """``[Conv2d(k, padding (k-1)//2), BatchNorm2d, ReLU] * n``."""
    layers: list[nn.Module] = []
    for out_channels, kernel_size in zip(layer_out_channels, layer_kernel_sizes):
        padding = (kernel_size - 1) // 2
        layers.append(nn.Conv2d(in_channels, out_channels, kernel_size=kernel_size, stride=1, padding=padding))
        layers.append(nn.BatchNorm2d(out_channels))
        layers.append(nn.ReLU(inplace=True))
        in_channels = out_channels
    return nn.Sequential(*layers)


def make_final_layer(in_channels: int, out_channels: int, final_layer: Any) -> nn.Module:
    """``Conv2d(in, out, kernel_size=1)`` updated with the ``final_layer`` kwargs, or Identity for ``None``."""
    if final_layer is None:
        return nn.Identity()
    cfg = {"kernel_size": 1, **dict(final_layer)}
    cfg.pop("type", None)
    return nn.Conv2d(in_channels, out_channels, **cfg)


class HeatmapHead(BaseHead):
    """Top-down heatmap head of `Simple Baselines <https://arxiv.org/abs/1804.06208>`_: deconvolution layers,
    optional conv layers and a final 1x1 conv that outputs ``out_channels`` heatmaps.

    Args:
        in_channels: channels of the (last) input feature map.
        out_channels: number of heatmaps (K, or 3K for UDP's combined target).
        deconv_out_channels: output channels of each deconv layer; ``None``/empty for no deconv (HRNet).
        deconv_kernel_sizes: kernel size (4, 3 or 2) of each deconv layer.
        conv_out_channels: output channels of each intermediate conv layer (``None`` for none).
        conv_kernel_sizes: kernel size of each intermediate conv layer.
        final_layer: kwargs of the final ``Conv2d`` (``None`` for no final layer).
        loss: the loss module or its config (default ``KeypointMSELoss(use_target_weight=True)``).
        decoder: the codec (an instance or its config) used by ``predict``.
        init_cfg: unused (kept for MMPose compatibility); the default init is applied at construction.

    State-dict keys: ``deconv_layers.{0,1,3,4,6,7}.*``, ``conv_layers.*``, ``final_layer.{weight,bias}``,
    ``loss_module.*`` (if the loss has state).
    """

    _version = 2

    def __init__(
        self,
        in_channels: int | Sequence[int],
        out_channels: int,
        deconv_out_channels: Sequence[int] | None = (256, 256, 256),
        deconv_kernel_sizes: Sequence[int] | None = (4, 4, 4),
        conv_out_channels: Sequence[int] | None = None,
        conv_kernel_sizes: Sequence[int] | None = None,
        final_layer: Any = _DEFAULT_FINAL_LAYER,
        loss: Any = _DEFAULT_LOSS,
        decoder: Any = None,
        init_cfg: Any = None,
    ):
        super().__init__()
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
            self.deconv_layers = make_deconv_layers(
                in_channels, deconv_out_channels, deconv_kernel_sizes, owner=self.__class__.__name__
            )
            in_channels = deconv_out_channels[-1]
        else:
            self.deconv_layers = nn.Identity()

        self._build_conv_and_final_layers(in_channels, out_channels, conv_out_channels, conv_kernel_sizes, final_layer)

    def _build_conv_and_final_layers(
        self,
        in_channels: int,
        out_channels: int,
        conv_out_channels: Sequence[int] | None,
        conv_kernel_sizes: Sequence[int] | None,
        final_layer: Any,
    ) -> None:
        """The part after the deconvolutions (shared with ViPNASHead): conv layers, final layer, weight init."""
        if conv_out_channels:
            if conv_kernel_sizes is None or len(conv_out_channels) != len(conv_kernel_sizes):
                raise ValueError(
                    '"conv_out_channels" and "conv_kernel_sizes" should be integer sequences with the same length. '
                    f"Got mismatched lengths {conv_out_channels} and {conv_kernel_sizes}"
                )
            self.conv_layers = make_conv_layers(in_channels, conv_out_channels, conv_kernel_sizes)
            in_channels = conv_out_channels[-1]
        else:
            self.conv_layers = nn.Identity()

        self.final_layer = make_final_layer(in_channels, out_channels, final_layer)
        self._register_load_state_dict_pre_hook(self._load_state_dict_pre_hook)
        self.init_weights()

    def init_weights(self) -> None:
        """``Normal(std=0.001)`` for (de)convolutions, ``Constant(1)`` for BatchNorm."""
        init_conv_bn(self)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Heatmaps ``(B, out_channels, H, W)`` from the last feature map ``feats[-1]``."""
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        x = self.deconv_layers(x)
        x = self.conv_layers(x)
        return self.final_layer(x)

    def predict(self, feats: Any, batch: Any = None, test_cfg: dict | None = None):
        """Decode keypoints; flip test as MMPose (``flip_mode``, ``shift_heatmap`` from ``test_cfg``).

        Returns ``(keypoints (B, 1, K, 2), scores (B, 1, K))`` in crop pixels, plus ``{'heatmaps': ...}`` when
        ``test_cfg['output_heatmaps']``.
        """
        test_cfg = test_cfg or {}
        if test_cfg.get("flip_test", False):
            assert isinstance(feats, (list, tuple)) and len(feats) == 2
            flip_indices = self.get_flip_indices(batch)
            _feats, _feats_flip = feats
            _heatmaps = self.forward(_feats)
            _heatmaps_flip = self.forward(_feats_flip)
            # the flipped branch's own output is not returned: the average is written into it when possible
            batch_heatmaps = average_flip_heatmaps(
                _heatmaps,
                _heatmaps_flip,
                flip_mode=test_cfg.get("flip_mode", "heatmap"),
                flip_indices=flip_indices,
                shift_heatmap=test_cfg.get("shift_heatmap", False),
                out=writable_output(_heatmaps_flip, _feats_flip, _heatmaps.dtype),
            )
        else:
            batch_heatmaps = self.forward(feats)

        keypoints, scores = self.decode(batch_heatmaps)
        if test_cfg.get("output_heatmaps", False):
            return keypoints, scores, {"heatmaps": batch_heatmaps.detach()}
        return keypoints, scores

    def loss(self, feats: Sequence[Tensor], batch: Any, train_cfg: dict | None = None) -> dict[str, Tensor]:
        """``loss_kpt`` (the loss module on heatmaps and ``keypoint_weights``) and ``acc_pose`` (PCK@0.05 of the
        heatmap maxima, normalised by the heatmap size) unless ``train_cfg['compute_acc'] is False``."""
        train_cfg = train_cfg or {}
        pred_fields = self.forward(feats)
        gt_heatmaps = match_dtype(self.get_target(batch, "heatmaps"), pred_fields)
        keypoint_weights = match_dtype(self.get_target(batch, "keypoint_weights"), pred_fields)

        losses = {"loss_kpt": self.loss_module(pred_fields, gt_heatmaps, keypoint_weights)}
        if train_cfg.get("compute_acc", True):
            losses["acc_pose"] = self.heatmap_accuracy(pred_fields, gt_heatmaps, keypoint_weights)
        return losses

    def heatmap_accuracy(self, pred: Tensor, gt: Tensor, keypoint_weights: Tensor) -> Tensor:
        """MMPose's ``pose_pck_accuracy`` (arg-max PCK@0.05 normalised by ``[H, W]``), as a tensor."""
        k = keypoint_weights.shape[1]
        if pred.shape[1] != k and pred.shape[1] == 3 * k:  # UDP combined target: response channels only
            pred, gt = pred[:, ::3], gt[:, ::3]
        h, w = pred.shape[-2:]
        if k == 0:
            return torch.zeros((), device=pred.device)
        return self.pck_accuracy(heatmap_maximum(pred), heatmap_maximum(gt), keypoint_weights, [h, w])

    def _load_state_dict_pre_hook(self, state_dict, prefix, local_meta, *args, **kwargs):
        """Convert pre-1.0 MMPose keys (``final_layer.{n}.*`` held the intermediate convs) to the new layout."""
        version = local_meta.get("version", None)
        if version and version >= self._version:
            return
        for _k in list(state_dict.keys()):
            if not _k.startswith(prefix):
                continue
            k = _k[len(prefix) :]
            parts = k.split(".")
            if parts[0] == "final_layer" and len(parts) == 3 and isinstance(self.conv_layers, nn.Sequential):
                v = state_dict.pop(_k)
                idx = int(parts[1])
                if idx < len(self.conv_layers):
                    state_dict[prefix + "conv_layers." + ".".join(parts[1:])] = v
                else:
                    state_dict[prefix + "final_layer." + parts[2]] = v
