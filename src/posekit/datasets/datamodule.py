"""``PoseDataModule``: datasets, pipelines and loaders for training, validation and testing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, ListConfig, OmegaConf
from torch.utils.data import DataLoader, Dataset

from posekit.datasets.resumable import die_with_parent
from posekit.datasets.validation import set_bad_image_policy
from posekit.structures import collate_pose_samples

__all__ = ["PoseDataModule", "build_pipeline", "build_dataset"]


def _plain(cfg: Any) -> Any:
    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg


def build_pipeline(pipeline: Sequence[Any] | None):
    """A list of transforms (objects or ``_target_`` dicts) -> a ``Compose``."""
    from posekit.datasets.transforms import Compose

    if pipeline is None:
        return Compose([])
    transforms = [instantiate(t, _convert_="all") if isinstance(t, (Mapping, DictConfig)) else t for t in pipeline]
    return Compose(transforms)


def build_dataset(cfg: Mapping[str, Any], pipeline: Sequence[Any] | None = None) -> Dataset:
    """Dataset from a config: ``_target_`` (default ``posekit.datasets.CocoStyleDataset``) + its kwargs.

    ``pipeline`` (if given) overrides the config's ``pipeline``.
    """
    cfg = dict(_plain(cfg))
    target = cfg.pop("_target_", "posekit.datasets.CocoStyleDataset")
    pipe = cfg.pop("pipeline", None) if pipeline is None else pipeline
    cfg.pop("pipeline", None)
    ds = instantiate({"_target_": target, **cfg, "pipeline": []}, _convert_="all")
    ds.pipeline = build_pipeline(pipe)
    return ds


class PoseDataModule(pl.LightningDataModule):
    """Owns the train/val/test datasets, their pipelines and their loaders.

    Args:
        train, val, test: dataset configs (``_target_`` optional, default ``CocoStyleDataset``; kwargs such as
            ``ann_file``, ``data_root``, ``data_prefix``, ``bbox_file``, ``test_mode`` and ``pipeline``, a list of
            ``_target_`` transform dicts). ``test`` defaults to ``val``.
        metainfo: dataset metainfo name or YAML path (``coco``, ``mpii`` ...) shared by all splits.
        num_keypoints: K; checked against the metainfo.
        batch_size / val_batch_size: per-device batch sizes.
        num_workers, persistent_workers, pin_memory, prefetch_factor: DataLoader settings.
        evaluators: metric configs (``_target_`` dicts) that fit this dataset; see :meth:`build_evaluators`.
        data_root, train_pipeline, val_pipeline, ann_file, val_ann_file, img_prefix: config conveniences referenced
            by the split configs (``conf/data/custom.yaml``: ``data.ann_file=...``); not used by the module itself.
        on_bad_image: ``'error'`` (default) or ``'skip'``: what an empty / truncated / undecodable training image
            does (skipped images are counted and named in warnings; evaluation images always raise).
        monitor: the evaluators' result name that selects the best checkpoint (``coco/AP``, ``PCK`` ...); the
            training config's ``monitor`` defaults to it.
        synthetic: if set, kwargs of :func:`posekit.datasets.synthetic.ensure_synthetic_dataset` and ``root``;
            the data is generated in ``prepare_data`` when absent.
    """

    def __init__(
        self,
        train: Mapping[str, Any] | None = None,
        val: Mapping[str, Any] | None = None,
        test: Mapping[str, Any] | None = None,
        metainfo: str | Mapping[str, Any] = "coco",
        num_keypoints: int | None = None,
        batch_size: int = 32,
        val_batch_size: int | None = None,
        num_workers: int = 0,
        persistent_workers: bool = True,
        pin_memory: bool = False,
        prefetch_factor: int | None = None,
        synthetic: Mapping[str, Any] | None = None,
        name: str | None = None,
        evaluators: Sequence[Mapping[str, Any]] | None = None,
        data_root: str | None = None,
        train_pipeline: Sequence[Any] | None = None,
        val_pipeline: Sequence[Any] | None = None,
        monitor: str | None = None,
        ann_file: str | None = None,
        val_ann_file: str | None = None,
        img_prefix: str | None = None,
        on_bad_image: str | None = None,
    ) -> None:
        super().__init__()
        self.on_bad_image = on_bad_image  # 'error' | 'skip' for training images (posekit.datasets.validation)
        self.monitor = monitor
        self.train_cfg = _plain(train)
        self.val_cfg = _plain(val)
        self.test_cfg = _plain(test) if test is not None else self.val_cfg
        self.metainfo_spec = _plain(metainfo)
        self.num_keypoints = num_keypoints
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size or batch_size
        self.num_workers = num_workers
        self.persistent_workers = persistent_workers and num_workers > 0
        self.pin_memory = pin_memory
        self.prefetch_factor = prefetch_factor
        self.synthetic = _plain(synthetic)
        self.name = name
        self.evaluator_cfgs = _plain(evaluators) or []
        self.data_root = data_root
        self.train_dataset: Dataset | None = None
        self.val_dataset: Dataset | None = None
        self.test_dataset: Dataset | None = None
        self._metainfo: dict[str, Any] | None = None

    # ------------------------------------------------------------------ metadata
    @property
    def metainfo(self) -> dict[str, Any]:
        """Parsed dataset metainfo (flip_indices, sigmas, skeleton ...)."""
        if self._metainfo is None:
            from posekit.datasets import load_metainfo

            self._metainfo = load_metainfo(self.metainfo_spec)
            k = self._metainfo["num_keypoints"]
            if self.num_keypoints is not None and int(self.num_keypoints) != k:
                raise ValueError(
                    f"data.num_keypoints={self.num_keypoints} but metainfo {self._metainfo['dataset_name']!r} has "
                    f"{k} keypoints; fix data.num_keypoints or data.metainfo"
                )
        return self._metainfo

    def build_evaluators(self) -> list[Any]:
        """Instantiate the configured metrics, with this dataset's metainfo as their ``dataset_meta``."""
        evaluators = [instantiate(c, _convert_="all") for c in self.evaluator_cfgs]
        for ev in evaluators:
            ev.dataset_meta = self.metainfo
        return evaluators

    def _split_cfg(self, split: str) -> dict[str, Any] | None:
        cfg = {"train": self.train_cfg, "val": self.val_cfg, "test": self.test_cfg}[split]
        if cfg is None:
            return None
        cfg = dict(cfg)
        cfg.setdefault("metainfo", self.metainfo_spec)
        if split != "train":
            cfg.setdefault("test_mode", True)
        return cfg

    def check_files(self, stages: Sequence[str] = ("train", "val")) -> None:
        """Fail at once, with the path and the fix, when an annotation or detection file is missing."""
        if self.synthetic is not None:
            return
        for split in stages:
            cfg = self._split_cfg(split)
            if cfg is None:
                continue
            # a CombinedDataset's files are in its `datasets` list
            parts = [(f"data.{split}", cfg)] + [
                (f"data.{split}.datasets[{i}]", sub)
                for i, sub in enumerate(cfg.get("datasets") or [])
                if isinstance(sub, Mapping)
            ]
            for where, part in parts:
                root = Path(part.get("data_root") or "")
                for key in ("ann_file", "bbox_file"):
                    value = part.get(key)
                    if not value:
                        continue
                    path = Path(value)
                    path = path if path.is_absolute() else root / path
                    if not path.exists():
                        raise FileNotFoundError(
                            f"{where}.{key}: {path} does not exist. Point paths.data_dir (or {where}.data_root) "
                            f"at the dataset folder, e.g. `posekit-train ... paths.data_dir=/path/to/coco`."
                        )

    # ------------------------------------------------------------------ Lightning hooks
    def prepare_data(self) -> None:
        if self.synthetic is not None:
            from posekit.datasets.synthetic import ensure_synthetic_dataset

            kwargs = dict(self.synthetic)
            root = kwargs.pop("root")
            ensure_synthetic_dataset(root, **kwargs)

    def setup(self, stage: str | None = None) -> None:
        if stage in (None, "fit") and self.train_dataset is None and self.train_cfg is not None:
            self.train_dataset = build_dataset(self._split_cfg("train"))
            self._check_not_empty(self.train_dataset, "train")
            set_bad_image_policy(self.train_dataset, self.on_bad_image)
        if stage in (None, "fit", "validate") and self.val_dataset is None and self.val_cfg is not None:
            self.val_dataset = build_dataset(self._split_cfg("val"))
            self._check_not_empty(self.val_dataset, "val")
        if stage in (None, "test") and self.test_dataset is None and self.test_cfg is not None:
            self.test_dataset = build_dataset(self._split_cfg("test"))
            self._check_not_empty(self.test_dataset, "test")
        if stage == "predict" and self.test_dataset is None and self.test_cfg is not None:
            self.test_dataset = build_dataset(self._split_cfg("test"))

    @staticmethod
    def _check_not_empty(ds: Dataset, split: str) -> None:
        if len(ds) == 0:  # type: ignore[arg-type]
            ann = getattr(ds, "ann_file", "?")
            raise ValueError(f"data.{split}: the dataset from {ann} has no instances; check the annotation file")

    def set_train_pipeline(self, pipeline: Sequence[Any]) -> None:
        """Replace the training pipeline (used by the PipelineSwitch callback)."""
        if self.train_dataset is None:
            self.setup("fit")
        self.train_dataset.pipeline = build_pipeline(pipeline)  # type: ignore[union-attr]
        set_bad_image_policy(self.train_dataset, self.on_bad_image)

    def _loader(self, ds: Dataset, batch_size: int, shuffle: bool, drop_last: bool = False) -> DataLoader:
        kwargs: dict[str, Any] = {}
        if self.num_workers > 0 and self.prefetch_factor is not None:
            kwargs["prefetch_factor"] = self.prefetch_factor
        return DataLoader(
            ds,
            batch_size=batch_size,
            shuffle=shuffle,
            num_workers=self.num_workers,
            persistent_workers=self.persistent_workers,
            pin_memory=self.pin_memory,
            collate_fn=collate_pose_samples,
            drop_last=drop_last,
            worker_init_fn=die_with_parent,  # workers get SIGKILL when the trainer dies (Linux)
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        if self.train_dataset is None:
            raise RuntimeError("data.train is not configured")
        drop_last = len(self.train_dataset) > self.batch_size  # type: ignore[arg-type]
        # order and augmentations from (seed, epoch, position): exact mid-epoch resume (posekit.datasets.resumable)
        from posekit.datasets.resumable import ResumableDataLoader  # noqa: PLC0415

        seed = getattr(self, "seed", None)
        return ResumableDataLoader(
            self.train_dataset,
            self.batch_size,
            seed=torch.initial_seed() if seed is None else seed,  # pl.seed_everything(cfg.seed) set it
            drop_last=drop_last,
            num_workers=self.num_workers,
            persistent_workers=self.persistent_workers,
            pin_memory=self.pin_memory,
            collate_fn=collate_pose_samples,
            **({"prefetch_factor": self.prefetch_factor} if self.num_workers > 0 and self.prefetch_factor else {}),
        )

    def val_dataloader(self) -> DataLoader:
        if self.val_dataset is None:
            raise RuntimeError("data.val is not configured")
        return self._loader(self.val_dataset, self.val_batch_size, shuffle=False)

    def test_dataloader(self) -> DataLoader:
        if self.test_dataset is None:
            raise RuntimeError("data.test (or data.val) is not configured")
        return self._loader(self.test_dataset, self.val_batch_size, shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self.test_dataloader()
