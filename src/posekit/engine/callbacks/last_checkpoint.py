"""``LastCheckpoint``: ``last.ckpt`` after every epoch, whatever the monitored metric does.

Lightning's ``ModelCheckpoint(monitor=..., save_top_k=1, save_last=True)`` refreshes ``last`` only when it saves,
i.e. at validation; with validation every 17 epochs the last epochs were never saved. This one has no monitor and no
top-k: it writes ``<dirpath>/last.ckpt`` at the end of every ``every_n_epochs``-th training epoch (after that epoch's
validation, if any). :class:`~posekit.engine.callbacks.GracefulInterrupt` writes the same file on SIGTERM / SIGINT.
"""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch.callbacks import ModelCheckpoint

__all__ = ["LastCheckpoint"]


class LastCheckpoint(ModelCheckpoint):
    """``last.ckpt`` every epoch (``every_n_epochs``), independent of any metric.

    Args:
        dirpath: the checkpoint folder (``${paths.output_dir}/checkpoints``).
        every_n_epochs: save every n-th epoch.
    """

    def __init__(self, dirpath: str | Path, every_n_epochs: int = 1) -> None:
        super().__init__(
            dirpath=dirpath,
            monitor=None,
            save_top_k=0,
            save_last=True,
            every_n_epochs=every_n_epochs,
            save_on_train_epoch_end=True,
            enable_version_counter=False,  # always `last.ckpt`, never `last-v1.ckpt`
        )

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        # Lightning's ModelCheckpoint writes `last` only when it also saved a top-k checkpoint at this step
        if self._should_skip_saving_checkpoint(trainer):
            return
        if (trainer.current_epoch + 1) % self._every_n_epochs == 0:
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    @property
    def last_path(self) -> Path:
        return Path(self.dirpath or ".") / f"{self.CHECKPOINT_NAME_LAST}{self.FILE_EXTENSION}"
