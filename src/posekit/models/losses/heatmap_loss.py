"""Heatmap losses with MMPose 1.3.2's names, arguments and numbers.

Shapes: heatmaps ``(B, K, H, W)``, keypoint-wise weights ``(B, K)``, pixel-wise weights ``(B, K, H, W)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "KeypointMSELoss",
    "CombinedTargetMSELoss",
    "KeypointOHKMMSELoss",
    "AdaptiveWingLoss",
    "FocalHeatmapLoss",
    "MLECCLoss",
]


class KeypointMSELoss(nn.Module):
    """MSE loss for heatmaps.

    Args:
        use_target_weight: weight each keypoint's channel by its target weight. Note that MMPose (and posekit)
            apply the given ``target_weights`` whenever they are passed; the flag documents the intent.
        skip_empty_channel: ignore channels whose target heatmap is all zero (no visible keypoint).
        loss_weight: multiplier of the loss.
    """

    def __init__(self, use_target_weight: bool = False, skip_empty_channel: bool = False, loss_weight: float = 1.0):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.skip_empty_channel = skip_empty_channel
        self.loss_weight = loss_weight

    def forward(
        self, output: Tensor, target: Tensor, target_weights: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        """Mean of the (masked) squared errors.

        Args:
            output: ``(B, K, H, W)`` predicted heatmaps.
            target: ``(B, K, H, W)`` target heatmaps.
            target_weights: ``(B, K)`` keypoint-wise or ``(B, K, H, W)`` pixel-wise weights.
            mask: ``(B, K, H, W)`` or ``(B, 1, H, W)`` valid-pixel mask.
        """
        _mask = self._get_mask(target, target_weights, mask)
        if _mask is None:
            loss = F.mse_loss(output, target)
        else:
            loss = (F.mse_loss(output, target, reduction="none") * _mask).mean()
        return loss * self.loss_weight

    def _get_mask(self, target: Tensor, target_weights: Tensor | None, mask: Tensor | None) -> Tensor | None:
        """Combine the spatial ``mask``, the target weights and ``skip_empty_channel`` into one mask ``(B, K, *)``."""
        if mask is not None:
            if not (mask.ndim == target.ndim and all(m == t or m == 1 for m, t in zip(mask.shape, target.shape))):
                raise AssertionError(f"mask and target have mismatched shapes {mask.shape} v.s.{target.shape}")

        if target_weights is not None:
            if not (target_weights.ndim in (2, 4) and target_weights.shape == target.shape[: target_weights.ndim]):
                raise AssertionError(
                    f"target_weights and target have mismatched shapes {target_weights.shape} v.s. {target.shape}"
                )
            _mask = target_weights.view(target_weights.shape + (1,) * (target.ndim - target_weights.ndim))
            mask = _mask if mask is None else mask * _mask

        if self.skip_empty_channel:
            _mask = (target != 0).flatten(2).any(dim=2)
            _mask = _mask.view(_mask.shape + (1,) * (target.ndim - _mask.ndim))
            mask = _mask if mask is None else mask * _mask

        return mask


class CombinedTargetMSELoss(nn.Module):
    """MSE loss for UDP's combined target (a response map and x/y offset maps per keypoint, ``C = 3K``)."""

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0):
        super().__init__()
        self.criterion = nn.MSELoss(reduction="mean")
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor, target_weights: Tensor) -> Tensor:
        """``output``/``target`` ``(B, 3K, H, W)``, ``target_weights`` ``(B, K)``."""
        batch_size, num_channels = output.shape[:2]
        heatmaps_pred = output.reshape((batch_size, num_channels, -1)).split(1, 1)
        heatmaps_gt = target.reshape((batch_size, num_channels, -1)).split(1, 1)
        loss = 0.0
        num_joints = num_channels // 3
        for idx in range(num_joints):
            heatmap_pred = heatmaps_pred[idx * 3].squeeze()
            heatmap_gt = heatmaps_gt[idx * 3].squeeze()
            offset_x_pred = heatmaps_pred[idx * 3 + 1].squeeze()
            offset_x_gt = heatmaps_gt[idx * 3 + 1].squeeze()
            offset_y_pred = heatmaps_pred[idx * 3 + 2].squeeze()
            offset_y_gt = heatmaps_gt[idx * 3 + 2].squeeze()
            if self.use_target_weight:
                target_weight = target_weights[:, idx, None]
                heatmap_pred = heatmap_pred * target_weight
                heatmap_gt = heatmap_gt * target_weight
            loss += 0.5 * self.criterion(heatmap_pred, heatmap_gt)
            loss += 0.5 * self.criterion(heatmap_gt * offset_x_pred, heatmap_gt * offset_x_gt)
            loss += 0.5 * self.criterion(heatmap_gt * offset_y_pred, heatmap_gt * offset_y_gt)
        return loss / num_joints * self.loss_weight


class KeypointOHKMMSELoss(nn.Module):
    """MSE loss with online hard keypoint mining: the mean of the ``topk`` largest per-keypoint losses."""

    def __init__(self, use_target_weight: bool = False, topk: int = 8, loss_weight: float = 1.0):
        super().__init__()
        assert topk > 0
        self.criterion = nn.MSELoss(reduction="none")
        self.use_target_weight = use_target_weight
        self.topk = topk
        self.loss_weight = loss_weight

    def _ohkm(self, losses: Tensor) -> Tensor:
        """``losses`` ``(B, K)`` -> mean over the batch of the mean of each row's top-k."""
        topk_losses, _ = torch.topk(losses, k=self.topk, dim=1, sorted=False)
        return (topk_losses.sum(dim=1) / self.topk).mean()

    def forward(self, output: Tensor, target: Tensor, target_weights: Tensor) -> Tensor:
        """``output``/``target`` ``(B, K, H, W)``, ``target_weights`` ``(B, K)``."""
        num_keypoints = output.size(1)
        if num_keypoints < self.topk:
            raise ValueError(f"topk ({self.topk}) should not be larger than num_keypoints ({num_keypoints}).")
        if self.use_target_weight:
            w = target_weights[:, :, None, None]
            losses = self.criterion(output * w, target * w)
        else:
            losses = self.criterion(output, target)
        return self._ohkm(losses.mean(dim=(2, 3))) * self.loss_weight


class AdaptiveWingLoss(nn.Module):
    """Adaptive wing loss ('Adaptive Wing Loss for Robust Face Alignment via Heatmap Regression', ICCV'2019)."""

    def __init__(
        self,
        alpha: float = 2.1,
        omega: float = 14,
        epsilon: float = 1,
        theta: float = 0.5,
        use_target_weight: bool = False,
        loss_weight: float = 1.0,
    ):
        super().__init__()
        self.alpha = float(alpha)
        self.omega = float(omega)
        self.epsilon = float(epsilon)
        self.theta = float(theta)
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def criterion(self, pred: Tensor, target: Tensor) -> Tensor:
        """Mean adaptive wing loss of ``(N, K, H, W)`` heatmaps."""
        delta = (target - pred).abs()
        ratio = self.theta / self.epsilon
        a = (
            self.omega
            * (1 / (1 + torch.pow(ratio, self.alpha - target)))
            * (self.alpha - target)
            * torch.pow(ratio, self.alpha - target - 1)
            * (1 / self.epsilon)
        )
        c = self.theta * a - self.omega * torch.log(1 + torch.pow(ratio, self.alpha - target))
        losses = torch.where(
            delta < self.theta,
            self.omega * torch.log(1 + torch.pow(delta / self.epsilon, self.alpha - target)),
            a * delta - c,
        )
        return torch.mean(losses)

    def forward(self, output: Tensor, target: Tensor, target_weights: Tensor | None = None) -> Tensor:
        """``output``/``target`` ``(N, K, H, W)``; ``target_weights`` ``(N, K)`` or ``(N, K, H, W)``."""
        if self.use_target_weight:
            if not (target_weights.ndim in (2, 4) and target_weights.shape == target.shape[: target_weights.ndim]):
                raise AssertionError(
                    f"target_weights and target have mismatched shapes {target_weights.shape} v.s. {target.shape}"
                )
            w = target_weights.view(target_weights.shape + (1,) * (target.ndim - target_weights.ndim))
            loss = self.criterion(output * w, target * w)
        else:
            loss = self.criterion(output, target)
        return loss * self.loss_weight


class FocalHeatmapLoss(KeypointMSELoss):
    """CornerNet's modified focal loss for heatmaps (``output`` are probabilities in (0, 1))."""

    def __init__(
        self,
        alpha: int = 2,
        beta: int = 4,
        use_target_weight: bool = False,
        skip_empty_channel: bool = False,
        loss_weight: float = 1.0,
    ):
        super().__init__(use_target_weight, skip_empty_channel, loss_weight)
        self.alpha = alpha
        self.beta = beta

    def forward(
        self, output: Tensor, target: Tensor, target_weights: Tensor | None = None, mask: Tensor | None = None
    ) -> Tensor:
        _mask = self._get_mask(target, target_weights, mask)
        pos_inds = target.eq(1).float()
        neg_inds = target.lt(1).float()
        if _mask is not None:
            pos_inds = pos_inds * _mask
            neg_inds = neg_inds * _mask
        neg_weights = torch.pow(1 - target, self.beta)
        pos_loss = torch.log(output) * torch.pow(1 - output, self.alpha) * pos_inds
        neg_loss = torch.log(1 - output) * torch.pow(output, self.alpha) * neg_weights * neg_inds
        num_pos = pos_inds.float().sum()
        if num_pos == 0:
            loss = -neg_loss.sum()
        else:
            loss = -(pos_loss.sum() + neg_loss.sum()) / num_pos
        return loss * self.loss_weight


class MLECCLoss(nn.Module):
    """Maximum-likelihood loss for coordinate classification: ``-log(prod_i sum(o_i * t_i))`` (mode ``log``)."""

    def __init__(
        self, reduction: str = "mean", mode: str = "log", use_target_weight: bool = False, loss_weight: float = 1.0
    ):
        super().__init__()
        assert reduction in ("mean", "sum", "none"), (
            f"`reduction` should be either 'mean', 'sum', or 'none', but got {reduction}"
        )
        assert mode in ("linear", "square", "log"), (
            f"`mode` should be either 'linear', 'square', or 'log', but got {mode}"
        )
        self.reduction = reduction
        self.mode = mode
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self, outputs, targets, target_weight: Tensor | None = None) -> Tensor:
        """``outputs``/``targets``: sequences of ``(N, K, W_i)`` distributions (e.g. SimCC x and y)."""
        assert len(outputs) == len(targets), "Outputs and targets must have the same length"
        prob = 1.0
        for o, t in zip(outputs, targets):
            prob = prob * (o * t).sum(dim=-1)
        if self.mode == "linear":
            loss = 1.0 - prob
        elif self.mode == "square":
            loss = 1.0 - prob.pow(2)
        else:
            loss = -torch.log(prob + 1e-4)
        loss = torch.where(torch.isnan(loss), torch.zeros_like(loss), loss)
        if self.use_target_weight:
            assert target_weight is not None
            for _ in range(loss.ndim - target_weight.ndim):
                target_weight = target_weight.unsqueeze(-1)
            loss = loss * target_weight
        if self.reduction == "sum":
            loss = loss.flatten(1).sum(dim=1)
        elif self.reduction == "mean":
            loss = loss.flatten(1).mean(dim=1)
        return loss * self.loss_weight
