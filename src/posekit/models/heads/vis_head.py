"""``VisPredictHead``: a pose head plus a keypoint-visibility classifier (MMPose 1.3.2, same arguments and
state-dict keys: ``loss_module``, ``pose_head.*``, ``vis_head.2.{weight,bias}``).

The visibility branch is ``AdaptiveAvgPool2d(1) -> Flatten -> Linear(in_channels, K) (-> Sigmoid)`` on the last
feature map. Training uses the batch's ``keypoint_weights`` ``(B, K)`` as visibility labels (and
``keypoints_visible_weights`` as weights when the targets carry them, else ones); prediction adds
``keypoints_visible`` ``(B, 1, K)`` (probabilities, flip-averaged with flip test) to the pose head's output.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from ..builder import build_object
from ..utils.layers import to_builtin
from .base_head import BaseHead, match_dtype
from .tta import flip_visibility

__all__ = ["VisPredictHead"]

_DEFAULT_VIS_LOSS = {"type": "BCELoss", "use_target_weight": False, "use_sigmoid": True}


class VisPredictHead(BaseHead):
    """Visibility prediction head wrapping a pose head.

    Args:
        pose_cfg: config of the wrapped pose head (``type`` / ``_target_`` + its arguments); must give
            ``in_channels`` and ``out_channels`` (or ``num_joints``).
        loss: visibility loss config. Defaults to ``BCELoss(use_target_weight=False, use_sigmoid=True)``;
            ``use_sigmoid`` also appends a ``Sigmoid`` to the visibility branch.
        init_cfg: unused (MMPose's default, ``Normal(std=0.01)`` for the Linear, is applied at construction).
    """

    def __init__(self, pose_cfg: Any, loss: Any = _DEFAULT_VIS_LOSS, init_cfg: Any = None) -> None:
        super().__init__()
        pose_cfg = to_builtin(pose_cfg)
        if not isinstance(pose_cfg, dict) or "in_channels" not in pose_cfg:
            raise ValueError("VisPredictHead: pose_cfg must be a head config dict with 'in_channels'")
        self.in_channels = pose_cfg["in_channels"]
        if pose_cfg.get("num_joints") is not None:
            self.out_channels = pose_cfg["num_joints"]
        elif pose_cfg.get("out_channels") is not None:
            self.out_channels = pose_cfg["out_channels"]
        else:
            raise ValueError("VisPredictHead requires 'num_joints' or 'out_channels' in the pose_cfg.")
        loss = to_builtin(loss)
        self.init_cfg = init_cfg
        self.loss_module = self.build_loss(loss)
        self.pose_head = build_object(pose_cfg, what="pose_cfg")
        self.pose_cfg = pose_cfg
        self.use_sigmoid = bool(getattr(self.loss_module, "use_sigmoid", False))
        modules: list[nn.Module] = [
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(self.in_channels, self.out_channels),
        ]
        if self.use_sigmoid:
            modules.append(nn.Sigmoid())
        self.vis_head = nn.Sequential(*modules)
        self.init_weights()

    @property
    def decoder(self) -> Any:
        """The wrapped pose head's codec."""
        return self.pose_head.decoder

    def init_weights(self) -> None:
        """MMPose's default: ``Normal(std=0.01, bias=0)`` for the visibility Linear."""
        linear = self.vis_head[2]
        nn.init.normal_(linear.weight, 0.0, 0.01)
        nn.init.constant_(linear.bias, 0.0)

    # ---- forward -----------------------------------------------------------------------------------------
    def vis_forward(self, feats: Sequence[Tensor]) -> Tensor:
        """Visibility ``(B, K)`` (probabilities with ``use_sigmoid``, else logits) from ``feats[-1]``."""
        x = feats[-1] if isinstance(feats, (list, tuple)) else feats
        while x.ndim < 4:
            x = x.unsqueeze(-1)
        return self.vis_head(x).reshape(-1, self.out_channels)

    def forward(self, feats: Sequence[Tensor]) -> tuple[Any, Tensor]:
        """``(pose head output, visibility (B, K))``."""
        return self.pose_head.forward(feats), self.vis_forward(feats)

    def predict(self, feats: Any, batch: Any = None, test_cfg: dict | None = None):
        """The pose head's ``(keypoints, scores[, extras])`` with ``keypoints_visible`` ``(B, 1, K)`` added to the
        extras dict (a third element is always returned)."""
        test_cfg = test_cfg or {}
        if test_cfg.get("flip_test", False):
            assert isinstance(feats, (list, tuple)) and len(feats) == 2
            flip_indices = self.get_flip_indices(batch)
            _feats, _feats_flip = feats
            vis_flip = flip_visibility(self.vis_forward(_feats_flip), flip_indices=flip_indices)
            batch_vis = (self.vis_forward(_feats) + vis_flip) * 0.5
        else:
            batch_vis = self.vis_forward(feats)
        batch_vis = batch_vis.unsqueeze(1)
        if not self.use_sigmoid:
            batch_vis = torch.sigmoid(batch_vis)
        out = self.pose_head.predict(feats, batch, test_cfg)
        extras = dict(out[2]) if len(out) > 2 and out[2] is not None else {}
        extras["keypoints_visible"] = batch_vis.detach()
        return out[0], out[1], extras

    # ---- training ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def vis_accuracy(self, vis_pred_outputs: Tensor, vis_labels: Tensor, vis_weights: Tensor | None = None) -> Tensor:
        """Share of visibilities right at threshold 0.5 (weighted per sample, then averaged), as MMPose."""
        if not self.use_sigmoid:
            vis_pred_outputs = torch.sigmoid(vis_pred_outputs)
        correct = ((vis_pred_outputs >= 0.5).float() == vis_labels).float()
        if vis_weights is not None:
            accuracy = (correct * vis_weights).sum(dim=1) / (vis_weights.sum(dim=1) + 1e-6)
        else:
            accuracy = correct.mean(dim=1)
        return accuracy.mean()

    def loss(self, feats: Sequence[Tensor], batch: Any, train_cfg: dict | None = None) -> dict[str, Tensor]:
        """``loss_vis`` and ``acc_vis`` plus the pose head's losses (``loss_kpt``, ``acc_pose``)."""
        vis_pred = self.vis_forward(feats)
        vis_labels = match_dtype(self.get_target(batch, "keypoint_weights"), vis_pred).float()
        vis_weights = None
        if getattr(self.loss_module, "use_target_weight", False):
            targets = getattr(batch, "targets", {}) or {}
            weights = targets.get("keypoints_visible_weights")
            vis_weights = vis_labels.new_ones(vis_labels.shape) if weights is None else weights.to(vis_labels)
        losses = {
            "loss_vis": self.loss_module(vis_pred, vis_labels, vis_weights),
            "acc_vis": self.vis_accuracy(vis_pred, vis_labels, vis_weights),
        }
        losses.update(self.pose_head.loss(feats, batch))
        return losses
