"""Classification losses (SimCC's KL divergence, JS divergence for DSNT, BCE, InfoNCE) as in MMPose 1.3.2."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["BCELoss", "JSDiscretLoss", "KLDiscretLoss", "InfoNCELoss"]


class BCELoss(nn.Module):
    """Binary cross entropy.

    Args:
        use_target_weight: multiply the element-wise loss by ``target_weight`` (``(N, K)`` or ``(N,)``).
        loss_weight: multiplier of the loss.
        reduction: ``'mean'``, ``'sum'`` or ``'none'``.
        use_sigmoid: the outputs are already probabilities (sigmoid applied); otherwise they are logits.
    """

    def __init__(
        self, use_target_weight: bool = False, loss_weight: float = 1.0, reduction: str = "mean", use_sigmoid=False
    ):
        super().__init__()
        assert reduction in ("mean", "sum", "none"), (
            f"the argument `reduction` should be either 'mean', 'sum' or 'none', but got {reduction}"
        )
        self.reduction = reduction
        self.use_sigmoid = use_sigmoid
        criterion = F.binary_cross_entropy if use_sigmoid else F.binary_cross_entropy_with_logits
        self.criterion = partial(criterion, reduction="none")
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
        loss = self.criterion(output, target)
        if self.use_target_weight:
            assert target_weight is not None
            if target_weight.dim() == 1:
                target_weight = target_weight[:, None]
            loss = loss * target_weight
        if self.reduction == "sum":
            loss = loss.sum()
        elif self.reduction == "mean":
            loss = loss.mean()
        return loss * self.loss_weight


class JSDiscretLoss(nn.Module):
    """Discrete Jensen-Shannon divergence between predicted and target heatmaps (DSNT)."""

    def __init__(self, use_target_weight: bool = True, size_average: bool = True):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.size_average = size_average
        self.kl_loss = nn.KLDivLoss(reduction="none")

    def kl(self, p: Tensor, q: Tensor) -> Tensor:
        eps = 1e-24
        return self.kl_loss((q + eps).log(), p)

    def js(self, pred_hm: Tensor, gt_hm: Tensor) -> Tensor:
        m = 0.5 * (pred_hm + gt_hm)
        return 0.5 * (self.kl(pred_hm, m) + self.kl(gt_hm, m))

    def forward(self, pred_hm: Tensor, gt_hm: Tensor, target_weight: Tensor | None = None) -> Tensor:
        """``pred_hm``/``gt_hm`` ``(N, K, H, W)``; ``target_weight`` ``(N, K)``."""
        if self.use_target_weight:
            assert target_weight is not None
            assert pred_hm.ndim >= target_weight.ndim
            for _ in range(pred_hm.ndim - target_weight.ndim):
                target_weight = target_weight.unsqueeze(-1)
            loss = self.js(pred_hm * target_weight, gt_hm * target_weight)
        else:
            loss = self.js(pred_hm, gt_hm)
        if self.size_average:
            loss = loss / len(gt_hm)
        return loss.sum()


class KLDiscretLoss(nn.Module):
    """Discrete KL divergence for SimCC with Gaussian label smoothing.

    ``loss = sum_{axis, n, k} w_nk * mean_bins KL(target || softmax(beta * pred)) / K``.

    Args:
        beta: temperature of the softmax on the predictions.
        label_softmax: apply a softmax (temperature ``label_beta``) to the labels.
        label_beta: temperature of the softmax on the labels.
        use_target_weight: weight each keypoint by its target weight.
        mask: indices of keypoints whose loss is multiplied by ``mask_weight``.
        mask_weight: weight of the masked keypoints.
    """

    def __init__(
        self,
        beta: float = 1.0,
        label_softmax: bool = False,
        label_beta: float = 10.0,
        use_target_weight: bool = True,
        mask=None,
        mask_weight: float = 1.0,
    ):
        super().__init__()
        self.beta = beta
        self.label_softmax = label_softmax
        self.label_beta = label_beta
        self.use_target_weight = use_target_weight
        self.mask = mask
        self.mask_weight = mask_weight
        self.log_softmax = nn.LogSoftmax(dim=1)
        self.kl_loss = nn.KLDivLoss(reduction="none")

    def criterion(self, dec_outs: Tensor, labels: Tensor) -> Tensor:
        """Per-row mean KL divergence of ``(M, W)`` logits against ``(M, W)`` labels -> ``(M,)``."""
        log_pt = self.log_softmax(dec_outs * self.beta)
        if self.label_softmax:
            labels = F.softmax(labels * self.label_beta, dim=1)
        return torch.mean(self.kl_loss(log_pt, labels), dim=1)

    def forward(self, pred_simcc, gt_simcc, target_weight: Tensor) -> Tensor:
        """``pred_simcc``/``gt_simcc``: ``(x (N, K, Wx), y (N, K, Wy))``; ``target_weight`` ``(N, K)``."""
        n, k, _ = pred_simcc[0].shape
        weight = target_weight.reshape(-1) if self.use_target_weight else 1.0
        loss = 0
        for pred, target in zip(pred_simcc, gt_simcc):
            t_loss = self.criterion(pred.reshape(-1, pred.size(-1)), target.reshape(-1, target.size(-1))).mul(weight)
            if self.mask is not None:
                t_loss = t_loss.reshape(n, k)
                t_loss[:, self.mask] = t_loss[:, self.mask] * self.mask_weight
            loss = loss + t_loss.sum()
        return loss / k


class InfoNCELoss(nn.Module):
    """InfoNCE contrastive loss over the rows of ``features`` ``(N, C)`` (each row is its own positive)."""

    def __init__(self, temperature: float = 1.0, loss_weight: float = 1.0):
        super().__init__()
        assert temperature > 0, f"the argument `temperature` must be positive, but got {temperature}"
        self.temp = temperature
        self.loss_weight = loss_weight

    def forward(self, features: Tensor) -> Tensor:
        n = features.size(0)
        features_norm = F.normalize(features, dim=1)
        logits = features_norm.mm(features_norm.t()) / self.temp
        targets = torch.arange(n, dtype=torch.long, device=features.device)
        return F.cross_entropy(logits, targets, reduction="sum") * self.loss_weight
