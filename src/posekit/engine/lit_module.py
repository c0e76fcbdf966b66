"""``PoseLitModule``: the LightningModule around a :class:`~posekit.models.TopdownPoseEstimator`."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from omegaconf import DictConfig, OmegaConf
from torch import nn

from posekit.engine.optim import ScheduleConfig, build_optimizer, build_param_groups, lr_factor, scaled_lr
from posekit.structures import PoseBatch

__all__ = ["PoseLitModule"]


def _plain(cfg: Any) -> Any:
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


class PoseLitModule(pl.LightningModule):
    """Training, validation, test and prediction steps of a top-down pose estimator.

    Args:
        model: the estimator (module, or a ``_target_`` config).
        optim: ``{name: AdamW|Adam|SGD, lr, weight_decay, ...torch kwargs}``.
        scheduler: :class:`~posekit.engine.optim.ScheduleConfig` fields (warmup + multistep/cosine/flat_cosine).
        paramwise_cfg: MMPose's paramwise options (norm/bias decay multipliers, custom keys, ViT layer decay).
        auto_scale_lr: ``{enable, base_batch_size}``: scale the lr with the global batch size.
        evaluators: metrics with ``update(metas, keypoints, scores)``, ``compute()``, ``reset()``.
        channels_last: convert the model and inputs to channels_last memory format.
        compile: ``torch.compile`` the backbone and head in place (keeps state_dict keys).
        config: the resolved run configuration, stored in every checkpoint (``posekit_cfg``).
        config_raw: the same configuration with its interpolations kept (``posekit_cfg_raw``), so that an
            evaluation can override e.g. ``paths.data_dir`` and have the data paths follow.
    """

    def __init__(
        self,
        model: nn.Module | Mapping[str, Any],
        optim: Mapping[str, Any] | None = None,
        scheduler: Mapping[str, Any] | None = None,
        paramwise_cfg: Mapping[str, Any] | None = None,
        auto_scale_lr: Mapping[str, Any] | None = None,
        evaluators: Sequence[Any] | None = None,
        channels_last: bool = False,
        compile: bool = False,
        config: Mapping[str, Any] | None = None,
        config_raw: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            from hydra.utils import instantiate

            model = instantiate(model)
        self.model = model
        self.optim_cfg = dict(_plain(optim) or {"name": "AdamW", "lr": 5e-4, "weight_decay": 0.0})
        self.schedule = ScheduleConfig(**dict(_plain(scheduler) or {}))
        self.paramwise_cfg = _plain(paramwise_cfg)
        self.auto_scale_lr = _plain(auto_scale_lr)
        self.evaluators = list(evaluators or [])
        self.channels_last = channels_last
        self.compile_model = compile
        self.posekit_cfg = _plain(config)
        self.posekit_cfg_raw = (
            OmegaConf.to_container(config_raw, resolve=False) if isinstance(config_raw, DictConfig) else config_raw
        )
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)

    # ------------------------------------------------------------------ setup
    def setup(self, stage: str) -> None:
        dm = getattr(self.trainer, "datamodule", None) if self._trainer is not None else None
        metainfo = getattr(dm, "metainfo", None) if dm is not None else None
        if metainfo is not None:
            for ev in self.evaluators:
                ev.dataset_meta = metainfo
        if self.compile_model and not getattr(self, "_compiled", False):
            self.model.backbone.compile()
            self.model.head.compile()
            self._compiled = True

    def preprocess(self, batch: PoseBatch) -> torch.Tensor:
        """uint8 (B,3,H,W) on device -> normalized float inputs."""
        inputs = batch.inputs
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        preprocessor = getattr(self.model, "data_preprocessor", None)
        return preprocessor(inputs) if preprocessor is not None else inputs.float()

    def forward(self, inputs: torch.Tensor) -> Any:
        return self.model(inputs)

    # ------------------------------------------------------------------ steps
    def training_step(self, batch: PoseBatch, batch_idx: int) -> torch.Tensor:
        losses = self.model.loss(self.preprocess(batch), batch)
        loss = sum(v for k, v in losses.items() if k.startswith("loss"))
        bs = len(batch)
        self.log("train/loss", loss, prog_bar=True, batch_size=bs)
        for k, v in losses.items():
            self.log(f"train/{k}", v, prog_bar=k == "acc_pose", batch_size=bs)
        return loss

    def _eval_step(self, batch: PoseBatch) -> dict[str, torch.Tensor]:
        preds = self.model.predict(self.preprocess(batch), batch)
        for ev in self.evaluators:
            ev.update(batch.metas, preds["keypoints"], preds["keypoint_scores"])
        return preds

    def validation_step(self, batch: PoseBatch, batch_idx: int) -> None:
        self._eval_step(batch)

    def test_step(self, batch: PoseBatch, batch_idx: int) -> None:
        self._eval_step(batch)

    def predict_step(self, batch: PoseBatch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, Any]:
        preds = self.model.predict(self.preprocess(batch), batch)
        return {
            "keypoints": preds["keypoints"].cpu(),
            "keypoint_scores": preds["keypoint_scores"].cpu(),
            "metas": batch.metas,
        }

    def _compute_metrics(self) -> dict[str, float]:
        results: dict[str, float] = {}
        for ev in self.evaluators:
            results.update({k: float(v) for k, v in ev.compute().items()})
            ev.reset()
        return results

    def on_validation_epoch_end(self) -> None:
        results = self._compute_metrics()
        if results:
            # every rank already holds the gathered result, no further reduction
            self.log_dict(results, prog_bar=False, sync_dist=False)
        self.last_metrics = results

    def on_test_epoch_end(self) -> None:
        results = self._compute_metrics()
        if results:
            self.log_dict(results, sync_dist=False)
        self.last_metrics = results

    # ------------------------------------------------------------------ optimization
    def configure_optimizers(self) -> dict[str, Any]:
        cfg = dict(self.optim_cfg)
        name = cfg.pop("name", "AdamW")
        lr = float(cfg.pop("lr"))
        weight_decay = float(cfg.pop("weight_decay", 0.0))
        global_bs = self._global_batch_size()
        lr = scaled_lr(lr, global_bs, self.auto_scale_lr)
        groups = build_param_groups(self.model, lr, weight_decay, self.paramwise_cfg)
        optimizer = build_optimizer(name, groups, lr=lr, weight_decay=weight_decay, **cfg)
        iters_per_epoch = self._iters_per_epoch()
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, functools.partial(lr_factor, iters_per_epoch=iters_per_epoch, cfg=self.schedule)
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule, "interval": "step", "frequency": 1}}

    def _global_batch_size(self) -> int:
        dm = getattr(self.trainer, "datamodule", None)
        bs = int(getattr(dm, "batch_size", 1) or 1)
        return bs * max(1, self.trainer.world_size) * max(1, self.trainer.accumulate_grad_batches)

    def _iters_per_epoch(self) -> int:
        total = self.trainer.estimated_stepping_batches
        epochs = self.trainer.max_epochs
        if epochs is None or epochs <= 0 or not (total < float("inf")):
            return 1
        return max(1, int(round(total / epochs)))

    # ------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        if self.posekit_cfg is not None:
            checkpoint["posekit_cfg"] = self.posekit_cfg
        if self.posekit_cfg_raw is not None:
            checkpoint["posekit_cfg_raw"] = self.posekit_cfg_raw
        checkpoint["posekit_version"] = __import__("posekit").__version__
