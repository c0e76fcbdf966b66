"""Coordinate regression heads: ``RegressionHead`` (DeepPose) and ``RLEHead`` (MMPose 1.3.2)."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from .base_head import BaseHead, match_dtype
from .tta import flip_coordinates

__all__ = ["RegressionHead", "RLEHead"]

_SMOOTH_L1 = MappingProxyType({"type": "SmoothL1Loss", "use_target_weight": True})
_RLE = MappingProxyType({"type": "RLELoss", "use_target_weight": True})


def _init_linear(module: nn.Module, std: float = 0.01) -> None:
    """MMPose's ``Normal(layer='Linear', std=0.01, bias=0)`` over every Linear in ``module``."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.constant_(m.bias, 0.0)


def _last(feats: Any) -> Tensor:
    return feats[-1] if isinstance(feats, (list, tuple)) else feats


class _CoordHeadMixin:
    """Shared ``loss``-side helpers of the coordinate heads (also IntegralRegressionHead / DSNTHead)."""

    def coord_accuracy(self, pred_coords: Tensor, keypoint_labels: Tensor, keypoint_weights: Tensor) -> Tensor:
        """MMPose's ``keypoint_pck_accuracy(pred, gt, mask, thr=0.05, norm_factor=ones)`` average."""
        return self.pck_accuracy(
            pred_coords.detach(), keypoint_labels, keypoint_weights, np.ones((2,), dtype=np.float32)
        )

    def _loss_prefix_hook(self, state_dict, prefix, local_meta, *args, **kwargs):
        """Pre-1.0 MMPose checkpoints named the loss ``loss``; it is ``loss_module`` now."""
        version = local_meta.get("version", None)
        if version and version >= self._version:
            return
        for k in list(state_dict.keys()):
            if k.startswith(prefix + "loss."):
                state_dict[prefix + "loss_module." + k[len(prefix) + len("loss.") :]] = state_dict.pop(k)


class _LinearCoordHead(_CoordHeadMixin, BaseHead):
    """What RegressionHead and RLEHead share: ``fc``, a Linear layer from the flattened last feature map to
    ``values_per_joint`` numbers per keypoint (normalised x, y first), the flip test on them, the accuracy and the
    loss-key migration. ``_activate`` maps the raw outputs to what is decoded (identity here)."""

    values_per_joint = 2
    _version = 2

    def __init__(
        self,
        in_channels: int | Sequence[int],
        num_joints: int,
        loss: Any,
        decoder: Any = None,
        init_cfg: Any = None,
    ):
        super().__init__()
        self.in_channels = in_channels
        self.num_joints = num_joints
        self._set_loss_and_decoder(loss, decoder, init_cfg)
        self.fc = nn.Linear(in_channels, self.num_joints * self.values_per_joint)
        self._register_load_state_dict_pre_hook(self._loss_prefix_hook)
        self.init_weights()

    def init_weights(self) -> None:
        """``Normal(std=0.01, bias=0)`` over every Linear of the head -- for RLEHead including the flow's, as
        MMEngine's ``init_cfg`` does when MMPose initialises one."""
        _init_linear(self)

    def forward(self, feats: Sequence[Tensor]) -> Tensor:
        """``(B, K, values_per_joint)``."""
        x = torch.flatten(_last(feats), 1)
        return self.fc(x).reshape(-1, self.num_joints, self.values_per_joint)

    def _activate(self, coords: Tensor) -> Tensor:
        return coords

    def predict(self, feats: Any, batch: Any = None, test_cfg: dict | None = None):
        """Decode ``(keypoints (B, 1, K, 2), scores (B, 1, K))``; flip test with ``flip_coordinates``
        (``shift_coords`` default True) on the activated outputs, then their average."""
        test_cfg = test_cfg or {}
        if test_cfg.get("flip_test", False):
            assert isinstance(feats, (list, tuple)) and len(feats) == 2
            _feats, _feats_flip = feats
            _coords = self._activate(self.forward(_feats))
            _coords_flip = flip_coordinates(
                self._activate(self.forward(_feats_flip)),
                flip_indices=self.get_flip_indices(batch),
                shift_coords=test_cfg.get("shift_coords", True),
                input_size=self.get_input_size(batch),
            )
            coords = (_coords + _coords_flip) * 0.5
        else:
            coords = self._activate(self.forward(feats))
        return self.decode(coords)


class RegressionHead(_LinearCoordHead):
    """DeepPose-style regression head: a Linear layer from the flattened features to ``num_joints * 2``
    normalised coordinates (in [0, 1] of the input size).

    Args:
        in_channels: input feature size (after e.g. ``GlobalAveragePooling``).
        num_joints: K.
        loss: default ``SmoothL1Loss(use_target_weight=True)``.
        decoder: the ``RegressionLabel`` codec.

    State-dict keys: ``fc.weight``, ``fc.bias``.
    """

    def __init__(
        self,
        in_channels: int | Sequence[int],
        num_joints: int,
        loss: Any = _SMOOTH_L1,
        decoder: Any = None,
        init_cfg: Any = None,
    ):
        super().__init__(in_channels, num_joints, loss, decoder, init_cfg)

    def loss(self, feats: Sequence[Tensor], batch: Any, train_cfg: dict | None = None) -> dict[str, Tensor]:
        """``loss_kpt`` on ``keypoint_labels`` (weights ``(B, K, 1)``) and ``acc_pose``."""
        train_cfg = train_cfg or {}
        pred = self.forward(feats)
        keypoint_labels = match_dtype(self.get_target(batch, "keypoint_labels"), pred)
        keypoint_weights = match_dtype(self.get_target(batch, "keypoint_weights"), pred)
        losses = {"loss_kpt": self.loss_module(pred, keypoint_labels, keypoint_weights.unsqueeze(-1))}
        if train_cfg.get("compute_acc", True):
            losses["acc_pose"] = self.coord_accuracy(pred, keypoint_labels, keypoint_weights)
        return losses


class RLEHead(_LinearCoordHead):
    """`RLE <https://arxiv.org/abs/2107.11291>`_ regression head: a Linear layer predicting, per keypoint,
    normalised ``(x, y)`` and raw ``(sigma_x, sigma_y)``.

    The loss (``RLELoss``, with its RealNVP flow) is a submodule: ``loss_module.flow_model.*`` are part of the
    state dict, as in MMPose. In ``predict`` the sigmas go through a sigmoid and the codec turns them into
    scores (``1 - sigma``).

    State-dict keys: ``fc.*``, ``loss_module.flow_model.*``.
    """

    values_per_joint = 4

    def __init__(
        self,
        in_channels: int | Sequence[int],
        num_joints: int,
        loss: Any = _RLE,
        decoder: Any = None,
        init_cfg: Any = None,
    ):
        super().__init__(in_channels, num_joints, loss, decoder, init_cfg)

    def _activate(self, coords: Tensor) -> Tensor:
        """Sigmoid on the sigmas (``(B, K, 4)``: normalised x, y and raw sigma_x, sigma_y)."""
        return torch.cat((coords[..., :2], coords[..., 2:].sigmoid()), dim=-1)

    def loss(self, feats: Sequence[Tensor], batch: Any, train_cfg: dict | None = None) -> dict[str, Tensor]:
        """``loss_kpt`` (RLE on coords, sigmas, ``keypoint_labels``, weights ``(B, K, 1)``) and ``acc_pose``."""
        train_cfg = train_cfg or {}
        pred = self.forward(feats)
        keypoint_labels = match_dtype(self.get_target(batch, "keypoint_labels"), pred)
        keypoint_weights = match_dtype(self.get_target(batch, "keypoint_weights"), pred)
        pred_coords, pred_sigma = pred[:, :, :2], pred[:, :, 2:4]
        losses = {
            "loss_kpt": self.loss_module(pred_coords, pred_sigma, keypoint_labels, keypoint_weights.unsqueeze(-1))
        }
        if train_cfg.get("compute_acc", True):
            losses["acc_pose"] = self.coord_accuracy(pred_coords, keypoint_labels, keypoint_weights)
        return losses
