"""Switch the training pipeline at a given epoch (MMPose's ``PipelineSwitchHook``, RTMPose's stage 2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_info

__all__ = ["PipelineSwitch"]


class PipelineSwitch(Callback):
    """From epoch ``switch_epoch`` (0-based, as MMPose's ``switch_epoch``) on, train with ``switch_pipeline``.

    Args:
        switch_epoch: first epoch that uses the new pipeline.
        switch_pipeline: list of transforms (objects or ``_target_`` dicts) replacing the train pipeline.
    """

    def __init__(self, switch_epoch: int, switch_pipeline: Sequence[Any]) -> None:
        self.switch_epoch = int(switch_epoch)
        self.switch_pipeline = switch_pipeline
        self._switched = False

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._switched or trainer.current_epoch < self.switch_epoch:
            return
        datamodule = trainer.datamodule
        if datamodule is None or not hasattr(datamodule, "set_train_pipeline"):
            raise RuntimeError("PipelineSwitch needs a PoseDataModule (with set_train_pipeline) as the datamodule")
        datamodule.set_train_pipeline(self.switch_pipeline)
        # Persistent workers hold a copy of the dataset: drop the iterator so that they restart with the new one.
        loaders = trainer.train_dataloader
        for loader in loaders if isinstance(loaders, (list, tuple)) else [loaders]:
            if getattr(loader, "_iterator", None) is not None:
                loader._iterator = None
        fit_loop = trainer.fit_loop
        if getattr(fit_loop, "_combined_loader", None) is not None:
            fit_loop._combined_loader = None
            fit_loop.setup_data()
        self._switched = True
        rank_zero_info(f"PipelineSwitch: epoch {trainer.current_epoch} switches to the stage-2 pipeline")
