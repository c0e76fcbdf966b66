"""Coordinate regression losses with MMPose 1.3.2's names, arguments and numbers.

Shapes: coordinates ``(N, K, D)``; target weights ``(N, K, D)``, ``(N, K, 1)`` or ``(N, K)`` as each loss states.
"""

from __future__ import annotations

import math
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .realnvp import RealNVP

__all__ = [
    "RLELoss",
    "SmoothL1Loss",
    "SoftWeightSmoothL1Loss",
    "WingLoss",
    "SoftWingLoss",
    "MPJPELoss",
    "L1Loss",
    "MSELoss",
    "BoneLoss",
]


def _expand_weight(weight: Tensor, ndim: int) -> Tensor:
    """Append trailing singleton dims to ``weight`` until it has ``ndim`` dims."""
    for _ in range(ndim - weight.ndim):
        weight = weight.unsqueeze(-1)
    return weight


class RLELoss(nn.Module):
    """Residual log-likelihood estimation loss (`RLE <https://arxiv.org/abs/2107.11291>`_).

    Owns a :class:`RealNVP` flow as ``flow_model`` (state-dict keys ``flow_model.*``).

    Args:
        use_target_weight: multiply the per-coordinate loss by ``target_weight``.
        size_average: divide the summed loss by the batch size.
        residual: add the simple ``q_distribution`` term and let the flow learn the residual.
        q_distribution: ``'laplace'`` or ``'gaussian'``.
    """

    def __init__(
        self,
        use_target_weight: bool = False,
        size_average: bool = True,
        residual: bool = True,
        q_distribution: str = "laplace",
    ):
        super().__init__()
        self.size_average = size_average
        self.use_target_weight = use_target_weight
        self.residual = residual
        self.q_distribution = q_distribution
        self.flow_model = RealNVP()

    def forward(self, pred: Tensor, sigma: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
        """RLE loss.

        Args:
            pred: ``(N, K, 2)`` predicted normalised coordinates.
            sigma: ``(N, K, 2)`` raw sigmas (the sigmoid is applied here).
            target: ``(N, K, 2)`` target coordinates.
            target_weight: ``(N, K, 1)`` or ``(N, K, 2)`` weights.
        """
        sigma = sigma.sigmoid()
        error = (pred - target) / (sigma + 1e-9)
        log_phi = self.flow_model.log_prob(error.reshape(-1, 2))
        log_phi = log_phi.reshape(target.shape[0], target.shape[1], 1)
        log_sigma = torch.log(sigma).reshape(target.shape[0], target.shape[1], 2)
        nf_loss = log_sigma - log_phi

        if self.residual:
            assert self.q_distribution in ["laplace", "gaussian"]
            if self.q_distribution == "laplace":
                loss_q = torch.log(sigma * 2) + torch.abs(error)
            else:
                loss_q = torch.log(sigma * math.sqrt(2 * math.pi)) + 0.5 * error**2
            loss = nf_loss + loss_q
        else:
            loss = nf_loss

        if self.use_target_weight:
            assert target_weight is not None
            loss = loss * target_weight
        if self.size_average:
            loss = loss / len(loss)
        return loss.sum()


class _WeightedCriterionLoss(nn.Module):
    """``loss_weight * criterion(output * w, target * w)``, ``w`` the (reshaped) ``target_weight`` when
    ``use_target_weight``, else ``loss_weight * criterion(output, target)``. Subclasses pick the criterion and how
    ``w`` is shaped (:meth:`_weight`)."""

    def __init__(self, criterion, use_target_weight: bool, loss_weight: float):
        super().__init__()
        self.criterion = criterion
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def _weight(self, target_weight: Tensor, output: Tensor, target: Tensor) -> Tensor:
        return target_weight

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
        if self.use_target_weight:
            assert target_weight is not None
            weight = self._weight(target_weight, output, target)
            loss = self.criterion(output * weight, target * weight)
        else:
            loss = self.criterion(output, target)
        return loss * self.loss_weight


class SmoothL1Loss(_WeightedCriterionLoss):
    """Smooth L1 loss; ``target_weight`` gets trailing dims appended to match the output."""

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0):
        super().__init__(F.smooth_l1_loss, use_target_weight, loss_weight)

    def _weight(self, target_weight: Tensor, output: Tensor, target: Tensor) -> Tensor:
        assert output.ndim >= target_weight.ndim
        return _expand_weight(target_weight, output.ndim)


class SoftWeightSmoothL1Loss(nn.Module):
    """Smooth L1 loss weighted element-wise by soft target weights.

    Args:
        use_target_weight: weight the element-wise loss by ``target_weight``.
        supervise_empty: average over all elements (else over elements with a positive weight).
        beta: threshold between the L2 and L1 parts.
        loss_weight: multiplier of the loss.
    """

    def __init__(
        self, use_target_weight: bool = False, supervise_empty: bool = True, beta: float = 1.0, loss_weight=1.0
    ):
        super().__init__()
        reduction = "none" if use_target_weight else "mean"
        self.criterion = partial(self.smooth_l1_loss, reduction=reduction, beta=beta)
        self.supervise_empty = supervise_empty
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    @staticmethod
    def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "none", beta: float = 1.0) -> Tensor:
        """Smooth L1 with threshold ``beta``."""
        delta = input - target
        absd = delta.abs()
        delta = torch.where(absd < beta, delta.pow(2) / (2 * beta), absd - beta / 2)
        if reduction == "mean":
            return delta.mean()
        if reduction == "sum":
            return delta.sum()
        if reduction == "none":
            return delta
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', but got '{reduction}'")

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
        if self.use_target_weight:
            assert target_weight is not None
            assert output.ndim >= target_weight.ndim
            target_weight = _expand_weight(target_weight, output.ndim)
            loss = self.criterion(output, target) * target_weight
            if self.supervise_empty:
                loss = loss.mean()
            else:
                num_elements = (target_weight > 0).sum().clamp(min=1)
                loss = loss.sum() / num_elements
        else:
            loss = self.criterion(output, target)
        return loss * self.loss_weight


class WingLoss(nn.Module):
    """Wing loss ('Wing Loss for Robust Facial Landmark Localisation with CNNs', CVPR'2018).

    Summed over keypoints and coordinates, averaged over the batch.
    """

    def __init__(self, omega: float = 10.0, epsilon: float = 2.0, use_target_weight: bool = False, loss_weight=1.0):
        super().__init__()
        self.omega = omega
        self.epsilon = epsilon
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight
        # constant that smoothly links the piecewise-defined linear and nonlinear parts
        self.C = self.omega * (1.0 - math.log(1.0 + self.omega / self.epsilon))

    def criterion(self, pred: Tensor, target: Tensor) -> Tensor:
        delta = (target - pred).abs()
        losses = torch.where(delta < self.omega, self.omega * torch.log(1.0 + delta / self.epsilon), delta - self.C)
        return torch.mean(torch.sum(losses, dim=[1, 2]), dim=0)

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
        if self.use_target_weight:
            assert target_weight is not None
            loss = self.criterion(output * target_weight, target * target_weight)
        else:
            loss = self.criterion(output, target)
        return loss * self.loss_weight


class SoftWingLoss(nn.Module):
    """Soft wing loss ('Structure-Coherent Deep Feature Learning for Robust Face Alignment', TIP'2021).

    ``|x|`` if ``|x| < omega1`` else ``omega2 * ln(1 + |x| / epsilon) + B``; summed over keypoints and
    coordinates, averaged over the batch.
    """

    def __init__(
        self,
        omega1: float = 2.0,
        omega2: float = 20.0,
        epsilon: float = 0.5,
        use_target_weight: bool = False,
        loss_weight: float = 1.0,
    ):
        super().__init__()
        self.omega1 = omega1
        self.omega2 = omega2
        self.epsilon = epsilon
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight
        self.B = self.omega1 - self.omega2 * math.log(1.0 + self.omega1 / self.epsilon)

    def criterion(self, pred: Tensor, target: Tensor) -> Tensor:
        delta = (target - pred).abs()
        losses = torch.where(delta < self.omega1, delta, self.omega2 * torch.log(1.0 + delta / self.epsilon) + self.B)
        return torch.mean(torch.sum(losses, dim=[1, 2]), dim=0)

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
        if self.use_target_weight:
            assert target_weight is not None
            loss = self.criterion(output * target_weight, target * target_weight)
        else:
            loss = self.criterion(output, target)
        return loss * self.loss_weight


class MPJPELoss(nn.Module):
    """Mean per-joint position error (mean Euclidean distance)."""

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0):
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
        if self.use_target_weight:
            assert target_weight is not None
            loss = torch.mean(torch.norm((output - target) * target_weight, dim=-1))
        else:
            loss = torch.mean(torch.norm(output - target, dim=-1))
        return loss * self.loss_weight


class L1Loss(_WeightedCriterionLoss):
    """L1 loss; ``target_weight`` gets trailing dims appended to match the target."""

    def __init__(self, reduction: str = "mean", use_target_weight: bool = False, loss_weight: float = 1.0):
        assert reduction in ("mean", "sum", "none"), (
            f"the argument `reduction` should be either 'mean', 'sum' or 'none', but got {reduction}"
        )
        super().__init__(partial(F.l1_loss, reduction=reduction), use_target_weight, loss_weight)

    def _weight(self, target_weight: Tensor, output: Tensor, target: Tensor) -> Tensor:
        return _expand_weight(target_weight, target.ndim)


class MSELoss(_WeightedCriterionLoss):
    """MSE loss for coordinate regression (``target_weight`` must broadcast against the output)."""

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0):
        super().__init__(F.mse_loss, use_target_weight, loss_weight)


class BoneLoss(nn.Module):
    """Bone-length loss: mean absolute difference of the batch-mean bone lengths.

    Args:
        joint_parents: index of each joint's parent (a root is its own parent).
        use_target_weight: weight bones by ``target_weight`` ``(N, K)``.
        loss_weight: multiplier of the loss.
        loss_name: name of the loss item.
    """

    def __init__(self, joint_parents, use_target_weight: bool = False, loss_weight: float = 1.0, loss_name="loss_bone"):
        super().__init__()
        self.joint_parents = joint_parents
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight
        self.non_root_indices = [i for i in range(len(joint_parents)) if i != joint_parents[i]]
        self._loss_name = loss_name

    def forward(self, output: Tensor, target: Tensor, target_weight: Tensor | None = None) -> Tensor:
        output_bone = torch.norm(output - output[:, self.joint_parents, :], dim=-1)[:, self.non_root_indices]
        target_bone = torch.norm(target - target[:, self.joint_parents, :], dim=-1)[:, self.non_root_indices]
        if self.use_target_weight:
            assert target_weight is not None
            target_weight = target_weight[:, self.non_root_indices]
            loss = torch.mean(
                torch.abs((output_bone * target_weight).mean(dim=0) - (target_bone * target_weight).mean(dim=0))
            )
        else:
            loss = torch.mean(torch.abs(output_bone.mean(dim=0) - target_bone.mean(dim=0)))
        return loss * self.loss_weight

    @property
    def loss_name(self) -> str:
        """Name of the loss item."""
        return self._loss_name
