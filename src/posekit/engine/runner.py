"""Build and run training / evaluation from a composed configuration (what the CLIs call).

Everything here takes a plain (Hydra/OmegaConf) config, so the same runs can be started from Python.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor, ProgressBar
from omegaconf import DictConfig, OmegaConf

from posekit.config import RUN_INFO_KEY, hydra_run_info, load_run_config
from posekit.engine.callbacks import TrainingInterrupted
from posekit.engine.checkpoint_io import AtomicCheckpointIO
from posekit.engine.lit_module import PoseLitModule
from posekit.engine.preflight import check_monitor, check_run_config
from posekit.engine.resume import last_checkpoint_path, resume_checkpoint
from posekit.utils import check_targets, load_checkpoint_file, write_json_atomic  # strict (no NaN), atomic

__all__ = [
    "PosekitError",
    "build_datamodule",
    "build_lit_module",
    "build_trainer",
    "train",
    "evaluate",
    "load_checkpoint_config",
    "write_json_atomic",
]


class PosekitError(RuntimeError):
    """A user-facing error: the CLIs print its message on one line and exit with status 2."""


def build_datamodule(cfg: DictConfig):
    """``cfg.data`` -> :class:`~posekit.datasets.PoseDataModule` (datasets are built lazily in ``setup``)."""
    return instantiate(cfg.data, _recursive_=False)


def build_lit_module(cfg: DictConfig, datamodule=None) -> PoseLitModule:
    """``cfg.model`` + optimisation settings -> :class:`PoseLitModule` with the data's evaluators."""
    model = instantiate(cfg.model, _convert_="all")  # plain lists/dicts (e.g. MSPNHead's per-stage losses)
    evaluators = datamodule.build_evaluators() if datamodule is not None else []
    return PoseLitModule(
        model,
        optim=cfg.get("optim"),
        scheduler=cfg.get("scheduler"),
        paramwise_cfg=cfg.get("paramwise_cfg"),
        auto_scale_lr=cfg.get("auto_scale_lr"),
        evaluators=evaluators,
        channels_last=bool(cfg.get("channels_last", False)),
        compile=bool(cfg.get("compile", False)),
        config=OmegaConf.to_container(cfg, resolve=True),
        config_raw=OmegaConf.to_container(cfg, resolve=False),
    )


class StoreRunInfo(pl.Callback):
    """Writes how the run's configuration was composed (:func:`posekit.config.hydra_run_info`) into every
    checkpoint as ``posekit_hydra``, so that evaluation re-composes it with its own overrides."""

    def __init__(self, info: Mapping[str, Any]):
        self.info = dict(info)

    def on_save_checkpoint(self, trainer, pl_module, checkpoint: dict[str, Any]) -> None:
        checkpoint[RUN_INFO_KEY] = self.info


def build_trainer(cfg: DictConfig, **overrides: Any) -> pl.Trainer:
    """``cfg.trainer`` with ``cfg.callbacks`` and ``cfg.logger`` instantiated; ``overrides`` are Trainer kwargs.

    Without a logger (``logger=none``) the callbacks that need one (``LearningRateMonitor``) are left out.
    """
    callbacks = [instantiate(c) for c in (cfg.get("callbacks") or {}).values() if c is not None and "_target_" in c]
    if not overrides.get("enable_progress_bar", cfg.trainer.get("enable_progress_bar", True)):
        callbacks = [c for c in callbacks if not isinstance(c, ProgressBar)]
    loggers = [instantiate(c) for c in (cfg.get("logger") or {}).values() if c is not None and "_target_" in c]
    if not loggers and overrides.get("logger") in (None, False):
        callbacks = [c for c in callbacks if not isinstance(c, LearningRateMonitor)]
    info = hydra_run_info()
    if info is not None:
        callbacks.append(StoreRunInfo(info))
    kwargs: dict[str, Any] = {"callbacks": callbacks, "logger": loggers or False, "plugins": [AtomicCheckpointIO()]}
    kwargs.update(overrides)
    return instantiate(cfg.trainer, **kwargs)


def _metrics_from(trainer: pl.Trainer) -> dict[str, float]:
    out = {}
    for k, v in trainer.callback_metrics.items():
        out[k] = float(v.item()) if isinstance(v, torch.Tensor) else float(v)
    return out


def train(cfg: DictConfig) -> dict[str, Any]:
    """Train (and validate) as configured; writes ``metrics.json`` and ``checkpoints/`` into ``paths.output_dir``.

    Returns the summary written to ``metrics.json``.
    """
    start = time.time()
    check_run_config(cfg)  # value types (trainer.max_epochs=abc) before anything is built
    pl.seed_everything(int(cfg.seed), workers=True)
    ckpt_path = resume_checkpoint(cfg)  # `last`: this model+data's newest run; refuses overrides it cannot apply
    out_dir = Path(cfg.paths.output_dir)
    datamodule = build_datamodule(cfg)
    datamodule.check_files(("train", "val"))
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:
        datamodule.prepare_data()  # generated data must exist before the evaluators read their annotation file
    lit = build_lit_module(cfg, datamodule)
    check_monitor(cfg.get("monitor"), lit.evaluators)  # monitor=coco/APX fails here, not after the first epoch
    trainer = build_trainer(cfg)
    if ckpt_path is None and hasattr(lit.model, "init_weights"):
        lit.model.init_weights()  # loads `init_cfg: {type: Pretrained, checkpoint: <local path>}` weights
    interrupted: TrainingInterrupted | None = None
    if cfg.get("train", True):
        try:
            trainer.fit(lit, datamodule=datamodule, ckpt_path=ckpt_path, weights_only=True)
        except TrainingInterrupted as stop:  # SIGTERM/SIGINT: last.ckpt saved at this step
            interrupted = stop
    metrics = dict(getattr(lit, "last_metrics", {}) or {})
    ckpt_cb = trainer.checkpoint_callback
    summary: dict[str, Any] = {
        "val": metrics,
        "train": {k: v for k, v in _metrics_from(trainer).items() if k.startswith("train/")},
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "best_model_path": getattr(ckpt_cb, "best_model_path", None) or None,
        "best_model_score": float(ckpt_cb.best_model_score)
        if ckpt_cb is not None and ckpt_cb.best_model_score is not None
        else None,
        "last_model_path": (interrupted.ckpt_path if interrupted else None) or last_checkpoint_path(trainer),
        "resumed_from": ckpt_path,
        "status": "interrupted" if interrupted else "completed",
        "output_dir": str(out_dir),
    }
    if cfg.get("test", False) and interrupted is None:
        test_ckpt = summary["best_model_path"] or None
        trainer.test(lit, datamodule=datamodule, ckpt_path=test_ckpt, weights_only=True)
        summary["test"] = dict(getattr(lit, "last_metrics", {}) or {})
    summary["wall_time_s"] = round(time.time() - start, 2)
    if trainer.is_global_zero:
        write_json_atomic(summary, out_dir / "metrics.json")
    if interrupted is not None:
        raise interrupted
    return summary


def load_checkpoint_config(
    ckpt: Mapping[str, Any],
    path: str,
    overrides: Sequence[str] = (),
    output_dir: str | os.PathLike | None = None,
    searchpath: Sequence[str] = (),
) -> DictConfig:
    """The configuration of the run that wrote ``ckpt`` with ``overrides`` (:func:`posekit.config.load_run_config`:
    re-composed from the stored Hydra override list; the stored copy for older checkpoints)."""
    return load_run_config(ckpt, overrides, output_dir=output_dir, source=path, searchpath=searchpath)


def evaluate(
    ckpt_path: str,
    overrides: Sequence[str] = (),
    output_dir: str | os.PathLike | None = None,
    split: str = "val",
    use_ema: bool = True,
    batch_size: int | None = None,
    accelerator: str = "auto",
    searchpath: Sequence[str] = (),
    trust_checkpoint: bool = False,
) -> dict[str, float]:
    """Evaluate a posekit checkpoint on the data of its stored configuration (optionally overridden).

    ``searchpath``: more config folders (``file://`` URLs or paths) for ``group=name`` overrides.
    Writes ``metrics.json`` into ``output_dir`` when given and returns the metrics.
    """
    path = Path(ckpt_path)
    if not path.exists():
        raise PosekitError(f"ckpt={ckpt_path}: no such file")
    ckpt = load_checkpoint_file(path, map_location="cpu", trust_checkpoint=trust_checkpoint)
    out = str(output_dir) if output_dir is not None else tempfile.mkdtemp(prefix="posekit_eval_")
    cfg = load_checkpoint_config(ckpt, str(path), overrides, out, searchpath)
    check_targets(cfg, source=str(path))  # the stored config names only allowlisted classes
    datamodule = build_datamodule(cfg)
    if batch_size:
        datamodule.val_batch_size = int(batch_size)
    datamodule.check_files((split,))
    lit = build_lit_module(cfg, datamodule)
    state = ckpt["state_dict"] if use_ema or "current_model_state" not in ckpt else ckpt["current_model_state"]
    try:
        lit.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0:3]
        raise PosekitError(
            f"{path} does not fit the configured model ({cfg.model.get('_target_')}): {' '.join(first)[:400]}"
        ) from None
    trainer = pl.Trainer(
        accelerator=accelerator, devices=1, logger=False, enable_checkpointing=False, enable_progress_bar=True
    )
    if split == "test":
        trainer.test(lit, datamodule=datamodule)
    else:
        trainer.validate(lit, datamodule=datamodule)
    metrics = dict(getattr(lit, "last_metrics", {}) or {})
    if output_dir is not None:
        write_json_atomic(
            {split: metrics, "ckpt": str(path.resolve()), "overrides": list(overrides)},
            Path(output_dir) / "metrics.json",
        )
    return metrics
