"""Atomic checkpoint writes: a crash while saving never leaves a truncated ``.ckpt`` behind."""

from __future__ import annotations

from typing import Any

from lightning.pytorch.plugins.io import TorchCheckpointIO

from posekit.models.utils.checkpoint import atomic_torch_save

__all__ = ["AtomicCheckpointIO", "atomic_torch_save"]


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO that writes every checkpoint atomically."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO does not take storage_options")
        atomic_torch_save(checkpoint, path)
