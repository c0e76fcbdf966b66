"""``NonFiniteGuard``: a loss or weights that turn NaN/Inf stop training at once, and are never saved.

``optim.lr=1e6`` used to reach NaN at step 3, train on to the end with exit status 0 and save "best" and "last"
checkpoints full of NaN. This callback checks the loss and the weights after every ``check_every_n_steps`` training
steps (one device sync) and raises :class:`NonFiniteLossError` (one line: step, epoch, loss, learning rate, what to
try); it also refuses to write any checkpoint whose weights are not finite.
"""

from __future__ import annotations

import math
from typing import Any

import lightning.pytorch as pl
import torch

__all__ = ["NonFiniteGuard", "NonFiniteLossError"]


class NonFiniteLossError(ValueError):
    """Training produced a NaN/Inf loss or NaN/Inf weights."""


def _learning_rate(trainer: pl.Trainer) -> float | None:
    try:
        return float(trainer.optimizers[0].param_groups[0]["lr"])
    except (IndexError, KeyError, AttributeError):
        return None


def _weights_norm(module: torch.nn.Module) -> torch.Tensor:
    params = [p.detach() for p in module.parameters() if p.is_floating_point()]
    if not params:
        return torch.zeros(())
    return torch.stack(torch._foreach_norm(params)).sum()


class NonFiniteGuard(pl.Callback):
    """Stop on the first non-finite training loss (or weights), naming the step, the loss and the learning rate.

    Args:
        check_every_n_steps: how often to look (each look waits for the device once).
    """

    def __init__(self, check_every_n_steps: int = 1) -> None:
        if check_every_n_steps < 1:
            raise ValueError(f"NonFiniteGuard: check_every_n_steps must be >= 1, got {check_every_n_steps}")
        self.check_every_n_steps = int(check_every_n_steps)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if trainer.global_step % self.check_every_n_steps:
            return
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        values = [_weights_norm(pl_module)]
        if isinstance(loss, torch.Tensor):
            values.append(loss.detach().float().reshape(()).to(values[0].device))
        both = torch.stack(values).cpu()
        if bool(torch.isfinite(both).all()):
            return
        loss_value = float(both[1]) if len(both) > 1 else float("nan")
        what = "loss" if not math.isfinite(loss_value) else "weights"
        lr = _learning_rate(trainer)
        raise NonFiniteLossError(
            f"non-finite {what} at step {trainer.global_step} (epoch {trainer.current_epoch}, batch {batch_idx}): "
            f"loss={loss_value}, lr={'?' if lr is None else f'{lr:.6g}'}; lower optim.lr, set "
            "trainer.gradient_clip_val, or check the data; no checkpoint of these weights was saved"
        )

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        if not bool(torch.isfinite(_weights_norm(pl_module)).cpu()):
            raise NonFiniteLossError(
                f"refusing to save a checkpoint at step {trainer.global_step}: the weights hold NaN/Inf; lower "
                "optim.lr or set trainer.gradient_clip_val"
            )
