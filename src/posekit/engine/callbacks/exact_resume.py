"""``ExactResume``: what a checkpoint needs beyond Lightning's own state so that a resumed run continues bit for bit.

Lightning restores the weights, optimizer, schedulers and loop counters. This callback adds

* the random generators of the training process (torch CPU / CUDA, numpy, Python), saved with every checkpoint and
  put back just before the first training batch after a resume;
* the position in the epoch: after every training batch it tells the
  :class:`~posekit.datasets.resumable.ResumableDataLoader` how many batches are done, which Lightning saves with the
  loop state (the loader skips them on resume; its order and augmentations depend on ``(seed, epoch, position)``).
"""

from __future__ import annotations

import random
from typing import Any

import lightning.pytorch as pl
import numpy as np
import torch

__all__ = ["ExactResume", "capture_rng_state", "mark_batches_done", "restore_rng_state"]

_KEY = "posekit_rng_state"


def capture_rng_state() -> dict[str, Any]:
    """The generators' states as tensors / Python numbers (``torch.load(weights_only=True)`` reads them)."""
    name, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy": {"name": name, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached": float(cached)},
        "python": {"version": version, "internal": list(internal), "gauss": gauss},
    }  # fmt: skip
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def mark_batches_done(trainer: pl.Trainer, batches_done: int) -> None:
    """Tell the resumable training loader(s) how many batches of this epoch have been trained on."""
    loader = getattr(trainer.fit_loop, "_combined_loader", None)
    for dl in getattr(loader, "flattened", None) or []:
        if hasattr(dl, "batches_done"):
            dl.batches_done = int(batches_done)


class ExactResume(pl.Callback):
    """Save the random generators with every checkpoint; restore them before the first batch after a resume."""

    def __init__(self) -> None:
        self._pending: dict[str, Any] | None = None
        self._pending_loaders: list[dict[str, Any]] = []

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning builds (and starts iterating) the train loader while configuring the optimizers, before the
        # checkpoint is restored, so its loader states never reach the loader: apply them here and restart the
        # iterator at the saved position.
        states, self._pending_loaders = self._pending_loaders, []
        loader = getattr(trainer.fit_loop, "_combined_loader", None)
        stateful = [dl for dl in getattr(loader, "flattened", None) or [] if hasattr(dl, "load_state_dict")]
        if not states or len(stateful) != len(states):
            return
        for dl, state in zip(stateful, states):
            dl.load_state_dict(state)
        trainer.fit_loop._combined_loader_states_to_load = []
        if trainer.fit_loop._data_fetcher is not None:
            iter(trainer.fit_loop._data_fetcher)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.fit_loop.epoch_loop.batch_progress.current.ready == 0:
            mark_batches_done(trainer, 0)

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, idx: int) -> None:
        if self._pending is not None:
            restore_rng_state(self._pending)
            self._pending = None

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        mark_batches_done(trainer, batch_idx + 1)

    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        checkpoint[_KEY] = capture_rng_state()

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule, checkpoint: dict) -> None:
        self._pending = checkpoint.get(_KEY)
        fit_state = (checkpoint.get("loops") or {}).get("fit_loop") or {}
        self._pending_loaders = list((fit_state.get("state_dict") or {}).get("combined_loader") or [])
