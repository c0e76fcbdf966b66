"""Exponential moving average of the weights, with MMPose's ``ExpMomentumEMA`` momentum schedule.

Built on Lightning's :class:`~lightning.pytorch.callbacks.WeightAveraging`: the averaged weights are swapped in for
validation, saved as the checkpoint's ``state_dict`` (the live weights go to ``current_model_state``, so resume is
exact), and copied into the model when training ends.
"""

from __future__ import annotations

import math

import torch
from lightning.pytorch.callbacks import WeightAveraging

__all__ = ["ExpMomentumEMA", "exp_momentum"]


def exp_momentum(steps: int, momentum: float = 0.0002, gamma: int = 2000) -> float:
    """Weight of the live model at update ``steps`` (1-based count of previous updates).

    ``(1 - momentum) * exp(-(1 + steps) / gamma) + momentum``: large early (the average follows the model closely),
    decaying to ``momentum``.
    """
    return (1.0 - momentum) * math.exp(-float(1 + steps) / gamma) + momentum


class ExpMomentumEMA(WeightAveraging):
    """EMA callback (MMPose ``EMAHook(ema_type='ExpMomentumEMA', momentum=0.0002, gamma=2000, update_buffers=True)``).

    Args:
        momentum: asymptotic weight of the live model per update.
        gamma: decay constant (in updates) of the extra early momentum.
        update_buffers: also average buffers (BN running statistics).
        interval: update every ``interval`` optimizer steps.
        begin_iter: first optimizer step that updates the average.
    """

    def __init__(
        self,
        momentum: float = 0.0002,
        gamma: int = 2000,
        update_buffers: bool = True,
        interval: int = 1,
        begin_iter: int = 0,
    ) -> None:
        if not 0.0 < momentum < 1.0:
            raise ValueError(f"ExpMomentumEMA: momentum must be in (0, 1), got {momentum}")
        if gamma <= 0:
            raise ValueError(f"ExpMomentumEMA: gamma must be > 0, got {gamma}")
        self.momentum = momentum
        self.gamma = gamma
        self.interval = interval
        self.begin_iter = begin_iter

        def avg_fn(averaged: torch.Tensor, current: torch.Tensor, num_averaged: torch.Tensor) -> torch.Tensor:
            m = exp_momentum(int(num_averaged), momentum, gamma)
            return averaged + (current - averaged) * m

        super().__init__(use_buffers=update_buffers, avg_fn=avg_fn)

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None and step_idx >= self.begin_iter and step_idx % self.interval == 0
