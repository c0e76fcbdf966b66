"""Draw predicted (and ground-truth) skeletons on a few validation images after each validation epoch
(MMPose's ``PoseVisualizationHook``).

Enable it from the command line::

    posekit-train +callbacks.vis._target_=posekit.visualization.PoseVisualization +callbacks.vis.num_images=4
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_warn

__all__ = ["PoseVisualization", "log_images"]


def log_images(
    trainer: pl.Trainer, key: str, images: Sequence[np.ndarray], names: Sequence[str], step: int
) -> list[str]:
    """Send RGB images to every logger that takes pictures: ``log_image`` (Wandb, Neptune ...),
    ``experiment.add_image`` (TensorBoard), ``experiment.log_image`` (MLflow). Returns the names of the loggers
    used; the others (CSV) are skipped."""
    used = []
    for logger in trainer.loggers:
        name = type(logger).__name__
        try:
            if hasattr(logger, "log_image"):
                logger.log_image(key=key, images=list(images), step=step)
            elif name == "MLFlowLogger":
                for img, n in zip(images, names):
                    logger.experiment.log_image(logger.run_id, img, artifact_file=f"{key}/step_{step:06d}/{n}.png")
            elif name != "CSVLogger" and hasattr(getattr(logger, "experiment", None), "add_image"):
                for img, n in zip(images, names):
                    logger.experiment.add_image(f"{key}/{n}", img, global_step=step, dataformats="HWC")
            else:
                continue
        except Exception as err:  # a logger failing to take a picture must not stop training
            rank_zero_warn(f"PoseVisualization: {name} could not log images: {type(err).__name__}: {err}")
            continue
        used.append(name)
    return used


class PoseVisualization(Callback):
    """After validation, run the model on the people of the first ``num_images`` validation images and draw
    ground truth (left) next to the prediction (right).

    Pictures go to ``<trainer.log_dir or default_root_dir>/vis/epoch_XXX/`` (``XXX`` = the 0-based epoch) and to
    the loggers that take images (TensorBoard, Wandb, MLflow ...; CSV: files only). The forward runs once on those
    few crops, on the model's device, in eval mode (flip test as configured).

    Args:
        num_images: how many validation images to draw.
        every_n_epochs: draw after the validations of every n-th epoch.
        kpt_thr: predicted keypoints below this score are not drawn.
        max_instances: at most this many people per image.
        max_side: pictures are downscaled so their longer side is at most this (pixels).
        draw_gt: draw the ground-truth panel (skipped automatically when the items carry no keypoints, e.g.
            detected boxes).
        out_dir: where to write instead of ``<log_dir>/vis``.
        log_key: tag under which the loggers receive the images.
    """

    def __init__(
        self,
        num_images: int = 4,
        every_n_epochs: int = 1,
        kpt_thr: float = 0.3,
        max_instances: int = 8,
        max_side: int = 512,
        draw_gt: bool = True,
        out_dir: str | os.PathLike | None = None,
        log_key: str = "val/pose",
    ) -> None:
        if int(num_images) < 1 or int(every_n_epochs) < 1:
            raise ValueError("PoseVisualization: num_images and every_n_epochs must be >= 1")
        self.num_images = int(num_images)
        self.every_n_epochs = int(every_n_epochs)
        self.kpt_thr = float(kpt_thr)
        self.max_instances = int(max_instances)
        self.max_side = int(max_side)
        self.draw_gt = bool(draw_gt)
        self.out_dir = out_dir
        self.log_key = log_key
        self._groups: list[list[int]] | None = None
        self.last_files: list[str] = []

    # ------------------------------------------------------------------ selection
    @staticmethod
    def _val_dataset(trainer: pl.Trainer) -> Any:
        dm = getattr(trainer, "datamodule", None)
        ds = getattr(dm, "val_dataset", None) if dm is not None else None
        if ds is None:
            loaders = trainer.val_dataloaders
            loader = loaders[0] if isinstance(loaders, (list, tuple)) and loaders else loaders
            ds = getattr(loader, "dataset", None)
        return ds

    def _select(self, ds: Any) -> list[list[int]]:
        """Indices of the dataset items of the first ``num_images`` images, grouped by image."""
        groups: dict[Any, list[int]] = {}
        n = len(ds)
        for i in range(min(n, 20000)):
            info = ds.get_data_info(i) if hasattr(ds, "get_data_info") else None
            key = (info.get("img_id"), info.get("img_path")) if info is not None else i
            if key not in groups:
                if len(groups) == self.num_images:
                    break
                groups[key] = []
            if len(groups[key]) < self.max_instances:
                groups[key].append(i)
        return list(groups.values())

    # ------------------------------------------------------------------ hook
    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or (trainer.current_epoch + 1) % self.every_n_epochs != 0:
            return
        if not trainer.is_global_zero:
            return
        ds = self._val_dataset(trainer)
        if ds is None or len(ds) == 0:
            rank_zero_warn("PoseVisualization: no validation dataset to draw from")
            return
        if self._groups is None:
            self._groups = self._select(ds)
        self.last_files = self.visualize(trainer, pl_module, ds, self._groups)

    @torch.no_grad()
    def visualize(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, ds: Any, groups: list[list[int]]
    ) -> list[str]:
        from posekit.structures import collate_pose_samples
        from posekit.visualization.visualizer import PoseVisualizer

        model = pl_module.model
        flat = [i for g in groups for i in g]
        samples = [ds[i] for i in flat]
        batch = collate_pose_samples(samples).to(pl_module.device)
        was_training = model.training
        model.eval()
        try:
            inputs = (
                pl_module.preprocess(batch)
                if hasattr(pl_module, "preprocess")
                else model.data_preprocessor(batch.inputs)
            )
            preds = model.predict(inputs, batch)
        finally:
            model.train(was_training)
        kpts = preds["keypoints"][:, 0].float().cpu().numpy()
        scores = preds["keypoint_scores"][:, 0].float().cpu().numpy()

        metainfo = (
            getattr(getattr(trainer, "datamodule", None), "metainfo", None) or getattr(ds, "metainfo", None) or "coco"
        )
        vis = PoseVisualizer(metainfo, kpt_thr=self.kpt_thr)
        root = Path(self.out_dir) if self.out_dir else Path(trainer.log_dir or trainer.default_root_dir) / "vis"
        out_dir = root / f"epoch_{trainer.current_epoch:03d}"
        out_dir.mkdir(parents=True, exist_ok=True)

        files, pictures, names, pos = [], [], [], 0
        for g, group in enumerate(groups):
            metas = batch.metas[pos : pos + len(group)]
            sl = slice(pos, pos + len(group))
            pos += len(group)
            path = metas[0].get("img_path")
            img = cv2.imread(str(path), cv2.IMREAD_COLOR) if path else None
            if img is None:
                rank_zero_warn(f"PoseVisualization: cannot read {path}; skipped")
                continue
            boxes = np.concatenate([np.asarray(m["bbox"], np.float32).reshape(-1, 4) for m in metas])
            gt = [m.get("keypoints") for m in metas]
            has_gt = self.draw_gt and all(k is not None for k in gt) and any(np.any(np.asarray(k) > 0) for k in gt)
            if has_gt:
                gt_k = np.concatenate([np.asarray(k, np.float32).reshape(1, -1, 2) for k in gt])
                gt_v = np.concatenate(
                    [
                        np.asarray(m.get("keypoints_visible", np.ones(gt_k.shape[1])), np.float32).reshape(1, -1)
                        for m in metas
                    ]
                )
                canvas = vis.draw_gt_pred(img, gt_k, gt_v, kpts[sl], scores[sl], bboxes=boxes, max_side=self.max_side)
            else:
                factor = min(1.0, self.max_side / max(img.shape[:2]))
                small = (
                    cv2.resize(
                        img, (round(img.shape[1] * factor), round(img.shape[0] * factor)), interpolation=cv2.INTER_AREA
                    )
                    if factor < 1
                    else img
                )
                canvas = vis.draw(small, kpts[sl] * factor, scores[sl], boxes * factor)
            name = f"{g:02d}_{Path(str(path)).stem}"
            target = out_dir / f"{name}.jpg"
            if not cv2.imwrite(str(target), canvas):
                rank_zero_warn(f"PoseVisualization: could not write {target}")
                continue
            files.append(str(target))
            pictures.append(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB))
            names.append(name)
        if pictures:
            log_images(trainer, self.log_key, pictures, names, step=trainer.global_step)
        return files
