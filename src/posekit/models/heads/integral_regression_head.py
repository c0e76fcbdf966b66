"""Integral (soft-argmax) regression heads: ``IntegralRegressionHead`` (IPR) and ``DSNTHead`` (MMPose 1.3.2)."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base_head import BaseHead, match_dtype
from .heatmap_head import _DEFAULT_FINAL_LAYER, HeatmapHead, make_final_layer
from .regression_head import _CoordHeadMixin, _init_linear
from .tta import average_flip_heatmaps, flip_coordinates

__all__ = ["IntegralRegressionHead", "DSNTHead"]

_SMOOTH_L1 = MappingProxyType({"type": "SmoothL1Loss", "use_target_weight": True})
_DSNT_LOSS = MappingProxyType(
    {
        "type": "MultipleLossWrapper",
        "losses": (
            {"type": "SmoothL1Loss", "use_target_weight": True},
            {"type": "JSDiscretLoss", "use_target_weight": True},
        ),
    }
)


class IntegralRegressionHead(_CoordHeadMixin, BaseHead):
    """`IPR <https://arxiv.org/abs/1711.08229>`_ head: heatmaps (from an optional :class:`HeatmapHead`),
    a flat softmax, and their expectation as normalised coordinates.

    Args:
        in_channels: channels of the last input feature map.
        in_featuremap_size: ``(w, h)`` of the input feature map.
        num_joints: K.
        debias: remove the soft-argmax bias (Gu et al. 2021).
        beta: softmax temperature.
        deconv_out_channels / deconv_kernel_sizes / conv_out_channels / conv_kernel_sizes / final_layer:
            as :class:`HeatmapHead` (``deconv_out_channels=None``: the feature map is used directly).
        loss: default ``SmoothL1Loss(use_target_weight=True)``.
        decoder: the ``IntegralRegressionLabel`` codec.

    ``forward`` returns ``(coords (B, K, 2) in [0, 1], heatmaps (B, K, H, W))``. State-dict keys:
    ``simplebaseline_head.*`` (or ``final_layer.*``), ``linspace_x`` ``(1, 1, 1, W)`` and ``linspace_y``
    ``(1, 1, H, 1)`` (frozen parameters, as in MMPose).
    """

    _version = 2

    def __init__(
        self,
        in_channels: int | Sequence[int],
        in_featuremap_size: Sequence[int],
        num_joints: int,
        debias: bool = False,
        beta: float = 1.0,
        deconv_out_channels: Sequence[int] | None = (256, 256, 256),
        deconv_kernel_sizes: Sequence[int] | None = (4, 4, 4),
        conv_out_channels: Sequence[int] | None = None,
        conv_kernel_sizes: Sequence[int] | None = None,
        final_layer: Any = _DEFAULT_FINAL_LAYER,
        loss: Any = _SMOOTH_L1,
        decoder: Any = None,
        init_cfg: Any = None,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.num_joints = num_joints
        self.debias = debias
        self.beta = beta
        self._set_loss_and_decoder(loss, decoder, init_cfg)
        self._require_single_input(in_channels)

        num_deconv = len(deconv_out_channels) if deconv_out_channels else 0
        if num_deconv != 0:
            self.heatmap_size = tuple(s * (2**num_deconv) for s in in_featuremap_size)
            self.simplebaseline_head = HeatmapHead(
                in_channels=in_channels,
                out_channels=num_joints,
                deconv_out_channels=deconv_out_channels,
                deconv_kernel_sizes=deconv_kernel_sizes,
                conv_out_channels=conv_out_channels,
                conv_kernel_sizes=conv_kernel_sizes,
                final_layer=final_layer,
            )
        else:
            self.simplebaseline_head = None
            self.final_layer = (
                make_final_layer(in_channels, num_joints, final_layer) if final_layer is not None else None
            )
            self.heatmap_size = tuple(in_featuremap_size)

        w, h = self.heatmap_size
        self.linspace_x = nn.Parameter(torch.arange(0.0, 1.0 * w, 1).reshape(1, 1, 1, w) / w, requires_grad=False)
        self.linspace_y = nn.Parameter(torch.arange(0.0, 1.0 * h, 1).reshape(1, 1, h, 1) / h, requires_grad=False)
        self._register_load_state_dict_pre_hook(self._load_state_dict_pre_hook)
        self.init_weights()

    def init_weights(self) -> None:
        """MMPose's default ``Normal(Linear, std=0.01)`` (the head has no Linear; its HeatmapHead inits itself)."""
        _init_linear(self)

    @staticmethod
    def _linear_expectation(heatmaps: Tensor, linspace: Tensor) -> Tensor:
        b, n, _, _ = heatmaps.shape
        return heatmaps.mul(linspace).reshape(b, n, -1).sum(dim=2, keepdim=True)

    @staticmethod
    def _flat_softmax(featmaps: Tensor) -> Tensor:
        _, n, h, w = featmaps.shape
        return F.softmax(featmaps.reshape(-1, n, h * w), dim=2).reshape(-1, n, h, w)

    def forward(self, feats: Sequence[Tensor]) -> tuple[Tensor, Tensor]:
        """``(coords (B, K, 2), heatmaps (B, K, H, W))``."""
        if self.simplebaseline_head is None:
            x = feats[-1] if isinstance(feats, (list, tuple)) else feats
            if self.final_layer is not None:
                x = self.final_layer(x)
        else:
            x = self.simplebaseline_head(feats)

        heatmaps = self._flat_softmax(x * self.beta)
        pred_x = self._linear_expectation(heatmaps, self.linspace_x)
        pred_y = self._linear_expectation(heatmaps, self.linspace_y)
        if self.debias:
            b, n, h, w = x.shape
            c = x.reshape(b, n, h * w).exp().sum(dim=2).reshape(b, n, 1)
            pred_x = c / (c - 1) * (pred_x - 1 / (2 * c))
            pred_y = c / (c - 1) * (pred_y - 1 / (2 * c))
        return torch.cat([pred_x, pred_y], dim=-1), heatmaps

    def predict(self, feats: Any, batch: Any = None, test_cfg: dict | None = None):
        """Decode ``(keypoints (B, 1, K, 2), scores (B, 1, K))``; flip test flips both coordinates
        (``shift_coords``, default True) and heatmaps (``shift_heatmap``, default False)."""
        test_cfg = test_cfg or {}
        if test_cfg.get("flip_test", False):
            assert isinstance(feats, (list, tuple)) and len(feats) == 2
            flip_indices = self.get_flip_indices(batch)
            input_size = self.get_input_size(batch)
            _feats, _feats_flip = feats
            _coords, _heatmaps = self.forward(_feats)
            _coords_flip, _heatmaps_flip = self.forward(_feats_flip)
            _coords_flip = flip_coordinates(
                _coords_flip,
                flip_indices=flip_indices,
                shift_coords=test_cfg.get("shift_coords", True),
                input_size=input_size,
            )
            coords = (_coords + _coords_flip) * 0.5
            # the averaged heatmaps are only returned for display: skip the pass over them otherwise
            heatmaps = (
                average_flip_heatmaps(
                    _heatmaps,
                    _heatmaps_flip,
                    flip_mode="heatmap",
                    flip_indices=flip_indices,
                    shift_heatmap=test_cfg.get("shift_heatmap", False),
                )
                if test_cfg.get("output_heatmaps", False)
                else None
            )
        else:
            coords, heatmaps = self.forward(feats)

        keypoints, scores = self.decode(coords)
        if test_cfg.get("output_heatmaps", False):
            return keypoints, scores, {"heatmaps": heatmaps.detach()}
        return keypoints, scores

    def loss(self, feats: Sequence[Tensor], batch: Any, train_cfg: dict | None = None) -> dict[str, Tensor]:
        """``loss_kpt`` (the loss on coordinates vs ``keypoint_labels``, weights ``(B, K)``) and ``acc_pose``."""
        train_cfg = train_cfg or {}
        pred_coords, _ = self.forward(feats)
        keypoint_labels = match_dtype(self.get_target(batch, "keypoint_labels"), pred_coords)
        keypoint_weights = match_dtype(self.get_target(batch, "keypoint_weights"), pred_coords)
        losses = {"loss_kpt": self.loss_module(pred_coords, keypoint_labels, keypoint_weights)}
        if train_cfg.get("compute_acc", True):
            losses["acc_pose"] = self.coord_accuracy(pred_coords, keypoint_labels, keypoint_weights)
        return losses

    def _load_state_dict_pre_hook(self, state_dict, prefix, local_meta, *args, **kwargs):
        """Load ``HeatmapHead``-style keys (``conv_layers.*``/``final_layer.*``) into ``simplebaseline_head``."""
        if self.simplebaseline_head is None:
            return
        for _k in list(state_dict.keys()):
            if not _k.startswith(prefix):
                continue
            k = _k[len(prefix) :]
            parts = k.split(".")
            if parts[0] == "conv_layers":
                state_dict[prefix + "simplebaseline_head.deconv_layers." + ".".join(parts[1:])] = state_dict.pop(_k)
            elif parts[0] == "final_layer":
                state_dict[prefix + "simplebaseline_head." + k] = state_dict.pop(_k)


class DSNTHead(IntegralRegressionHead):
    """`DSNT <https://arxiv.org/abs/1801.07372>`_ head: :class:`IntegralRegressionHead` supervised on both the
    coordinates and the heatmaps (``MultipleLossWrapper([SmoothL1Loss, JSDiscretLoss])``).

    Args:
        lambda_t: drop the heatmap loss from epoch ``lambda_t`` on (``-1``: never). The current epoch is read from
            ``train_cfg['epoch']`` or else from the ``current_epoch`` attribute (the Lightning module sets it).
        others: as :class:`IntegralRegressionHead`.
    """

    _version = 2

    def __init__(
        self,
        in_channels: int | Sequence[int],
        in_featuremap_size: Sequence[int],
        num_joints: int,
        lambda_t: int = -1,
        debias: bool = False,
        beta: float = 1.0,
        deconv_out_channels: Sequence[int] | None = (256, 256, 256),
        deconv_kernel_sizes: Sequence[int] | None = (4, 4, 4),
        conv_out_channels: Sequence[int] | None = None,
        conv_kernel_sizes: Sequence[int] | None = None,
        final_layer: Any = _DEFAULT_FINAL_LAYER,
        loss: Any = _DSNT_LOSS,
        decoder: Any = None,
        init_cfg: Any = None,
    ):
        super().__init__(
            in_channels=in_channels,
            in_featuremap_size=in_featuremap_size,
            num_joints=num_joints,
            debias=debias,
            beta=beta,
            deconv_out_channels=deconv_out_channels,
            deconv_kernel_sizes=deconv_kernel_sizes,
            conv_out_channels=conv_out_channels,
            conv_kernel_sizes=conv_kernel_sizes,
            final_layer=final_layer,
            loss=loss,
            decoder=decoder,
            init_cfg=init_cfg,
        )
        self.lambda_t = lambda_t
        self.current_epoch = 0

    def loss(self, feats: Sequence[Tensor], batch: Any, train_cfg: dict | None = None) -> dict[str, Tensor]:
        """``loss_kpt`` = coordinate loss + heatmap loss (only the former after ``lambda_t`` epochs), ``acc_pose``."""
        train_cfg = train_cfg or {}
        pred_coords, pred_heatmaps = self.forward(feats)
        keypoint_labels = match_dtype(self.get_target(batch, "keypoint_labels"), pred_coords)
        keypoint_weights = match_dtype(self.get_target(batch, "keypoint_weights"), pred_coords)
        gt_heatmaps = match_dtype(self.get_target(batch, "heatmaps"), pred_heatmaps)

        loss_list = self.loss_module([pred_coords, pred_heatmaps], [keypoint_labels, gt_heatmaps], keypoint_weights)
        loss = loss_list[0] + loss_list[1]
        if self.lambda_t > 0:
            epoch = train_cfg.get("epoch", self.current_epoch)
            if epoch >= self.lambda_t:
                loss = loss_list[0]
        losses = {"loss_kpt": loss}
        if train_cfg.get("compute_acc", True):
            losses["acc_pose"] = self.coord_accuracy(pred_coords, keypoint_labels, keypoint_weights)
        return losses
