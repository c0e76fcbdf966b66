"""RealNVP normalising flow used by :class:`~posekit.models.losses.RLELoss` (MMPose's ``models/utils/realnvp.py``).

State-dict keys: ``loc`` (2,), ``cov`` (2, 2), ``mask`` (6, 2) buffers and ``s.{i}.{0,2,4}`` / ``t.{i}.{0,2,4}``
Linear layers, i in 0..5 -- one-to-one with MMPose checkpoints.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["RealNVP"]


class RealNVP(nn.Module):
    """A 2-D RealNVP flow (`Density estimation using Real NVP <https://arxiv.org/abs/1605.08803>`_)."""

    @staticmethod
    def get_scale_net() -> nn.Sequential:
        """The scale network of one coupling layer."""
        return nn.Sequential(
            nn.Linear(2, 64), nn.LeakyReLU(), nn.Linear(64, 64), nn.LeakyReLU(), nn.Linear(64, 2), nn.Tanh()
        )

    @staticmethod
    def get_trans_net() -> nn.Sequential:
        """The translation network of one coupling layer."""
        return nn.Sequential(nn.Linear(2, 64), nn.LeakyReLU(), nn.Linear(64, 64), nn.LeakyReLU(), nn.Linear(64, 2))

    def __init__(self):
        super().__init__()
        self.register_buffer("loc", torch.zeros(2))
        self.register_buffer("cov", torch.eye(2))
        self.register_buffer("mask", torch.tensor([[0, 1], [1, 0]] * 3, dtype=torch.float32))
        self.s = nn.ModuleList([self.get_scale_net() for _ in range(len(self.mask))])
        self.t = nn.ModuleList([self.get_trans_net() for _ in range(len(self.mask))])
        self.init_weights()

    def init_weights(self) -> None:
        """Xavier-uniform weights with gain 0.01 (biases keep PyTorch's default)."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight, gain=0.01)

    @property
    def prior(self) -> torch.distributions.MultivariateNormal:
        """The standard normal prior of the latent space."""
        return torch.distributions.MultivariateNormal(self.loc, self.cov)

    def backward_p(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Map ``x`` ``(M, 2)`` from data space to latent space; returns ``(z, log|det J|)``."""
        log_det_jacob, z = x.new_zeros(x.shape[0]), x
        for i in reversed(range(len(self.t))):
            mask = self.mask[i]
            z_ = mask * z
            s = self.s[i](z_) * (1 - mask)
            t = self.t[i](z_) * (1 - mask)
            z = (1 - mask) * (z - t) * torch.exp(-s) + z_
            log_det_jacob = log_det_jacob - s.sum(dim=1)
        return z, log_det_jacob

    def log_prob(self, x: Tensor) -> Tensor:
        """Log-density of ``x`` ``(M, 2)`` -> ``(M,)``."""
        z, log_det = self.backward_p(x)
        # Gaussian log-density in closed form: the same value as ``self.prior.log_prob(z)`` without building a
        # distribution (whose argument validation synchronises with the GPU every call)
        diff = z - self.loc
        prec = torch.linalg.inv(self.cov)
        maha = ((diff @ prec) * diff).sum(dim=1)
        prior = -0.5 * maha - 0.5 * torch.logdet(self.cov) - math.log(2 * math.pi)
        return prior + log_det
