"""``SimCCHead``: SimCC's coordinate-classification head (MMPose 1.3.2, same arguments and state-dict keys)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import torch
from torch import Tensor, nn

from .base_head import BaseHead, match_dtype, simcc_maximum
from .heatmap_head import _DEFAULT_FINAL_LAYER, HeatmapHead, init_conv_bn, make_final_layer
from .tta import average_flip_vectors
from .vipnas_head import ViPNASHead

__all__ = ["SimCCHead", "get_simcc_normalized"]

_DEFAULT_LOSS = MappingProxyType({"type": "KLDiscretLoss", "use_target_weight": True})


def get_simcc_normalized(batch_pred_simcc: Tensor, sigma: float | None = None) -> Tensor:
    """Normalise SimCC vectors ``(B, K, W)`` for display (MMPose's ``get_simcc_normalized``): divide by the
    Gaussian peak ``sigma * sqrt(2 pi)``, clamp at 0, and rescale rows whose maximum exceeds 1 to max 1."""
    b, k, _ = batch_pred_simcc.shape
    if sigma is not None:
        batch_pred_simcc = batch_pred_simcc / (sigma * math.sqrt(math.pi * 2))
    batch_pred_simcc = batch_pred_simcc.clamp(min=0)
    amax = batch_pred_simcc.amax(dim=-1).reshape(b, k, 1)
    return torch.where(amax > 1, batch_pred_simcc / amax, batch_pred_simcc)


class FlipFeatsError(ValueError, AssertionError):
    """``predict`` with ``flip_test`` got no ``[feats, feats_of_flipped_inputs]`` pair."""


class SimCCTrainingMixin:
    """``loss``, ``acc_pose`` and the flip-test prediction shared by the SimCC heads (:class:`SimCCHead`,
    ``RTMCCHead``).

    Needs ``forward(feats) -> (pred_x (B, K, Wx), pred_y (B, K, Wy))``, ``loss_module`` and ``simcc_split_ratio``.
    """

    def loss(self, feats: Sequence[Tensor], batch: Any, train_cfg: dict | None = None) -> dict[str, Tensor]:
        """``{'loss_kpt': KL loss, 'acc_pose': MMPose's simcc_pck_accuracy (PCK@0.05 of the arg-max bins)}``.

        Uses ``batch.targets``: ``keypoint_x_labels`` (B, K, Wx), ``keypoint_y_labels`` (B, K, Wy),
        ``keypoint_weights`` (B, K). ``train_cfg={'compute_acc': False}`` skips ``acc_pose`` (a host sync).
        """
        train_cfg = train_cfg or {}
        pred_x, pred_y = self.forward(feats)
        gt_x = match_dtype(self.get_target(batch, "keypoint_x_labels"), pred_x)
        gt_y = match_dtype(self.get_target(batch, "keypoint_y_labels"), pred_y)
        keypoint_weights = match_dtype(self.get_target(batch, "keypoint_weights"), pred_x)

        losses = {"loss_kpt": self.loss_module((pred_x, pred_y), (gt_x, gt_y), keypoint_weights)}
        if train_cfg.get("compute_acc", True):
            losses["acc_pose"] = self.simcc_accuracy((pred_x, pred_y), (gt_x, gt_y), keypoint_weights)
        return losses

    def predict_vectors(self, feats: Any, batch: Any, test_cfg: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """``forward(feats)``; with ``test_cfg['flip_test']`` (``feats`` = ``[feats, feats_of_flipped_inputs]``) the
        flipped vectors mirrored back with ``batch.flip_indices`` and averaged with the original ones."""
        if not test_cfg.get("flip_test", False):
            return self.forward(feats)
        if not (isinstance(feats, (list, tuple)) and len(feats) == 2):
            raise FlipFeatsError(
                f"{type(self).__name__}: with flip_test, feats must be [feats, feats_of_flipped_inputs]"
            )
        _feats, _feats_flip = feats
        return average_flip_vectors(
            *self.forward(_feats), *self.forward(_feats_flip), flip_indices=self.get_flip_indices(batch)
        )

    def simcc_accuracy(self, pred: tuple[Tensor, Tensor], gt: tuple[Tensor, Tensor], weights: Tensor) -> Tensor:
        """MMPose's ``simcc_pck_accuracy``: PCK@0.05 of the arg-max bins / split ratio, normalised by ``[H, W]``."""
        wx, wy = pred[0].shape[-1], pred[1].shape[-1]
        w, h = int(wx / self.simcc_split_ratio), int(wy / self.simcc_split_ratio)
        pred_locs = simcc_maximum(*pred) / self.simcc_split_ratio
        gt_locs = simcc_maximum(*gt) / self.simcc_split_ratio
        return self.pck_accuracy(pred_locs, gt_locs, weights, [h, w])


class SimCCHead(SimCCTrainingMixin, BaseHead):
    """Top-down `SimCC <https://arxiv.org/abs/2107.03332>`_ head: an optional deconvolution head producing
    K maps, flattened and fed to two Linear layers that classify the x and y bins.

    Args:
        in_channels: channels of the last input feature map.
        out_channels: number of keypoints K.
        input_size: input image size ``(w, h)``.
        in_featuremap_size: size ``(w, h)`` of the input feature map.
        simcc_split_ratio: bins per pixel.
        deconv_type: ``'heatmap'`` (a :class:`HeatmapHead`) or ``'vipnas'`` (a :class:`ViPNASHead`).
        deconv_out_channels / deconv_kernel_sizes / deconv_num_groups / conv_out_channels / conv_kernel_sizes /
            final_layer: as :class:`HeatmapHead`; ``deconv_out_channels=None`` uses the feature map directly.
        loss: default ``KLDiscretLoss(use_target_weight=True)``.
        decoder: the ``SimCCLabel`` codec (instance or config).

    State-dict keys: ``deconv_head.*`` (or ``final_layer.*``), ``mlp_head_x.*``, ``mlp_head_y.*``.
    """

    _version = 2

    def __init__(
        self,
        in_channels: int | Sequence[int],
        out_channels: int,
        input_size: Sequence[int],
        in_featuremap_size: Sequence[int],
        simcc_split_ratio: float = 2.0,
        deconv_type: str = "heatmap",
        deconv_out_channels: Sequence[int] | None = (256, 256, 256),
        deconv_kernel_sizes: Sequence[int] | None = (4, 4, 4),
        deconv_num_groups: Sequence[int] | None = (16, 16, 16),
        conv_out_channels: Sequence[int] | None = None,
        conv_kernel_sizes: Sequence[int] | None = None,
        final_layer: Any = _DEFAULT_FINAL_LAYER,
        loss: Any = _DEFAULT_LOSS,
        decoder: Any = None,
        init_cfg: Any = None,
    ):
        super().__init__()
        if deconv_type not in {"heatmap", "vipnas"}:
            raise ValueError(
                f"{self.__class__.__name__} got invalid `deconv_type` value {deconv_type}. "
                'Should be one of {"heatmap", "vipnas"}'
            )
        self._require_single_input(in_channels)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.input_size = tuple(input_size)
        self.in_featuremap_size = tuple(in_featuremap_size)
        self.simcc_split_ratio = simcc_split_ratio
        self._set_loss_and_decoder(loss, decoder, init_cfg)

        num_deconv = len(deconv_out_channels) if deconv_out_channels else 0
        if num_deconv != 0:
            self.heatmap_size = tuple(s * (2**num_deconv) for s in self.in_featuremap_size)
            if deconv_type == "heatmap":
                self.deconv_head = HeatmapHead(
                    in_channels=in_channels,
                    out_channels=out_channels,
                    deconv_out_channels=deconv_out_channels,
                    deconv_kernel_sizes=deconv_kernel_sizes,
                    conv_out_channels=conv_out_channels,
                    conv_kernel_sizes=conv_kernel_sizes,
                    final_layer=final_layer,
                )
            else:
                self.deconv_head = ViPNASHead(
                    in_channels=in_channels,
                    out_channels=out_channels,
                    deconv_out_channels=deconv_out_channels,
                    deconv_num_groups=deconv_num_groups,
                    conv_out_channels=conv_out_channels,
                    conv_kernel_sizes=conv_kernel_sizes,
                    final_layer=final_layer,
                )
        else:
            self.deconv_head = None
            self.final_layer = (
                make_final_layer(in_channels, out_channels, final_layer) if final_layer is not None else None
            )
            self.heatmap_size = self.in_featuremap_size

        flatten_dims = self.heatmap_size[0] * self.heatmap_size[1]
        w = int(self.input_size[0] * self.simcc_split_ratio)
        h = int(self.input_size[1] * self.simcc_split_ratio)
        self.mlp_head_x = nn.Linear(flatten_dims, w)
        self.mlp_head_y = nn.Linear(flatten_dims, h)
        self.init_weights()

    def init_weights(self) -> None:
        """``Normal(0.001)`` (de)convs, ``Constant(1)`` BatchNorm, ``Normal(0.01)`` Linear (biases 0)."""
        init_conv_bn(self, conv_std=0.001, linear_std=0.01)

    def forward(self, feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """``(pred_x (B, K, Wx), pred_y (B, K, Wy))`` logits."""
        if self.deconv_head is None:
            x = feats[-1] if isinstance(feats, (list, tuple)) else feats
            if self.final_layer is not None:
                x = self.final_layer(x)
        else:
            x = self.deconv_head(feats)
        x = torch.flatten(x, 2)
        return self.mlp_head_x(x), self.mlp_head_y(x)

    def predict(self, feats: Any, batch: Any = None, test_cfg: dict | None = None):
        """Decode keypoints ``(B, 1, K, 2)`` and scores ``(B, 1, K)``; flip test with ``flip_vectors``.

        With ``test_cfg['output_heatmaps']`` also returns ``{'heatmaps': (B, K, Wy, Wx), 'keypoint_x_labels':
        (B, 1, K, Wx), 'keypoint_y_labels': (B, 1, K, Wy)}`` from the normalised vectors (display only).
        """
        test_cfg = test_cfg or {}
        pred_x, pred_y = self.predict_vectors(feats, batch, test_cfg)

        keypoints, scores = self.decode((pred_x, pred_y))
        if test_cfg.get("output_heatmaps", False):
            return keypoints, scores, self.simcc_extras(pred_x, pred_y)
        return keypoints, scores

    def simcc_extras(self, pred_x: Tensor, pred_y: Tensor) -> dict[str, Tensor]:
        """Normalised 1-D distributions and their outer product as heatmaps (MMPose's ``output_heatmaps``)."""
        sigma = getattr(self.decoder, "sigma", None)
        if sigma is None:
            sx = sy = None
        else:
            s = [float(v) for v in torch.as_tensor(sigma, dtype=torch.float64).reshape(-1).tolist()]
            sx, sy = (s[0], s[0]) if len(s) == 1 else (s[0], s[1])
        pred_x = get_simcc_normalized(pred_x.detach(), sx)
        pred_y = get_simcc_normalized(pred_y.detach(), sy)
        heatmaps = torch.matmul(pred_y.unsqueeze(-1), pred_x.unsqueeze(-2))  # (B, K, Wy, Wx)
        return {"heatmaps": heatmaps, "keypoint_x_labels": pred_x[:, None], "keypoint_y_labels": pred_y[:, None]}
