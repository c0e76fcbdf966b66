"""``GracefulInterrupt``: SIGTERM / SIGINT end training with a checkpoint of the current step, not a lost run.

The first signal is noted; at the end of the current training batch the callback writes ``<dirpath>/last.ckpt``
(model, optimizer, loops, sampler position, random generators: an exact resume point) and raises
:class:`TrainingInterrupted`, which the runner turns into ``metrics.json`` with ``"status": "interrupted"`` and the CLI
into exit status 143 (SIGTERM) / 130 (SIGINT) with the command that resumes. A second signal stops at once
(``KeyboardInterrupt``).
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import lightning.pytorch as pl

from .exact_resume import mark_batches_done

__all__ = ["GracefulInterrupt", "TrainingInterrupted"]

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class TrainingInterrupted(Exception):  # noqa: N818 - it is not an error, it is what the user asked for
    """Training stopped on a signal after saving ``ckpt_path`` at ``global_step``."""

    def __init__(self, signum: int, ckpt_path: str | None, global_step: int, epoch: int) -> None:
        self.signum = int(signum)
        self.ckpt_path = ckpt_path
        self.global_step = int(global_step)
        self.epoch = int(epoch)
        name = signal.Signals(self.signum).name
        saved = f"saved {ckpt_path}" if ckpt_path else "no checkpoint saved (not the global-zero rank)"
        super().__init__(f"{name} at step {self.global_step} (epoch {self.epoch}): {saved}")

    @property
    def exit_code(self) -> int:
        """128 + the signal number: 143 for SIGTERM, 130 for SIGINT (what shells and schedulers expect)."""
        return 128 + self.signum


class GracefulInterrupt(pl.Callback):
    """Turn SIGTERM / SIGINT into "save ``last.ckpt`` at this step, then stop".

    Args:
        dirpath: the checkpoint folder (``${paths.output_dir}/checkpoints``).
        filename: checkpoint file name (default ``last.ckpt``, the file ``ckpt_path=last`` resumes).
    """

    def __init__(self, dirpath: str | Path, filename: str = "last.ckpt") -> None:
        self.dirpath = Path(dirpath)
        self.filename = filename
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def _handler(self, signum: int, frame: Any) -> None:
        if self.received is not None:  # a second signal: stop now
            self._restore()
            raise KeyboardInterrupt
        self.received = signum
        print(
            f"\nposekit-train: {signal.Signals(signum).name} received; saving a checkpoint after this batch "
            "(send it again to stop at once)",
            flush=True,
        )

    def _install(self) -> None:
        for sig in _SIGNALS:
            try:
                self._previous[sig] = signal.signal(sig, self._handler)
            except ValueError:  # not the main thread: leave signals alone
                return

    def _restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._install()  # after Lightning registered its own SIGTERM handling (replaced while training)

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.received is None:
            return
        signum, self.received = self.received, None
        mark_batches_done(trainer, batch_idx + 1)
        path = self.dirpath / self.filename
        trainer.save_checkpoint(path)  # every rank must call it; rank zero writes
        self._restore()
        raise TrainingInterrupted(
            signum, str(path) if trainer.is_global_zero else None, trainer.global_step, trainer.current_epoch
        )

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._restore()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._restore()
