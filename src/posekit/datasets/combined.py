"""``CombinedDataset``: several datasets, each mapped onto one keypoint layout, trained on as one (MMPose's).

Typical use: COCO + AI Challenger with AIC's 14 keypoints mapped onto COCO's 17 by a ``KeypointConverter`` in
AIC's own pipeline; the combined dataset then runs the shared training pipeline on every item::

    CombinedDataset(
        metainfo="coco",
        datasets=[
            dict(_target_="posekit.datasets.CocoDataset", ann_file=..., data_root=..., pipeline=[]),
            dict(_target_="posekit.datasets.AicDataset", ann_file=..., data_root=...,
                 pipeline=[dict(_target_="posekit.datasets.transforms.KeypointConverter", num_keypoints=17,
                                mapping=[(0, 6), (1, 8), ...])]),
        ],
        pipeline=[...],                          # LoadImage ... PackPoseInputs
        sample_ratio_factor=[1.0, 0.5],          # optional: sample AIC half as often
    )
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from .coco_style import METAINFO_ITEM_KEYS, _resolve_metainfo
from .pipeline_dataset import PipelineDataset

__all__ = ["CombinedDataset"]


class CombinedDatasetConfigError(ValueError, AssertionError):
    """A wrong ``CombinedDataset`` argument (a ``ValueError``; also an ``AssertionError``, which MMPose raises)."""


class CombinedDataset(PipelineDataset):
    """Concatenation of datasets that share one keypoint layout after their own pipelines.

    Args:
        metainfo: the layout of the combined items (a metainfo name, YAML path or parsed dict): its
            ``flip_indices``, ``flip_pairs``, body-part ids, keypoint weights, sigmas and skeleton replace the
            sub-datasets' in every item, so the shared pipeline (flip, half-body, targets) works in that layout.
        datasets: dataset objects, or configs (``_target_`` + kwargs, as ``data.train``) built with their own
            ``pipeline`` (e.g. ``[KeypointConverter]``) and this dataset's ``test_mode``.
        pipeline: transforms run on every item after the sub-dataset's own (callables or ``_target_`` dicts).
        sample_ratio_factor: per dataset, how many of its items an epoch draws relative to its length (e.g.
            ``[1.0, 0.5]``); the items are spread evenly over the dataset with a random offset, as MMPose does.
        test_mode: evaluation mode (a pipeline returning ``None`` is an error instead of a re-draw).
        max_refetch: re-draws of a random item when the pipeline returns ``None`` in training.
    """

    def __init__(
        self,
        metainfo: Any,
        datasets: Sequence[Any],
        pipeline: Sequence[Any] | Callable | None = (),
        sample_ratio_factor: Sequence[float] | None = None,
        test_mode: bool = False,
        max_refetch: int = 1000,
    ) -> None:
        if not datasets:
            raise CombinedDatasetConfigError("CombinedDataset: datasets must list at least one dataset")
        self.test_mode = bool(test_mode)
        self.max_refetch = int(max_refetch)
        self.datasets = [self._build(d, i) for i, d in enumerate(datasets)]
        self._lens = [len(d) for d in self.datasets]
        self._lens_ori = list(self._lens)
        self.resample = sample_ratio_factor is not None
        if self.resample:
            factors = [float(f) for f in sample_ratio_factor]  # type: ignore[union-attr]
            if len(factors) != len(self.datasets):
                raise CombinedDatasetConfigError(
                    f"CombinedDataset: the length of `sample_ratio_factor` {len(factors)} does not match the length "
                    f"of `datasets` {len(self.datasets)}"
                )
            if min(factors) < 0:
                raise CombinedDatasetConfigError(
                    f"CombinedDataset: the ratio values in `sample_ratio_factor` should not be negative: {factors}"
                )
            self._lens = [round(n * f) for n, f in zip(self._lens_ori, factors)]
        self._len = sum(self._lens)
        self._metainfo = _resolve_metainfo(metainfo)
        item_meta = {k: self._metainfo[k] for k in METAINFO_ITEM_KEYS if k != "dataset_name"}
        # as CocoStyleDataset: unpickled per item (~8x cheaper than a deepcopy), every item gets its own copy
        self._item_meta_bytes = pickle.dumps(item_meta, protocol=pickle.HIGHEST_PROTOCOL)
        self.pipeline = pipeline

    def _build(self, dataset: Any, i: int) -> Dataset:
        if isinstance(dataset, Dataset):
            return dataset
        if not isinstance(dataset, Mapping):
            raise CombinedDatasetConfigError(
                f"CombinedDataset: datasets[{i}] must be a dataset or a config dict (_target_ + kwargs), got "
                f"{type(dataset).__name__}"
            )
        from .datamodule import build_dataset

        cfg = dict(dataset)
        cfg.setdefault("test_mode", self.test_mode)
        return build_dataset(cfg)

    # ------------------------------------------------------------------------------------------------ dataset API
    @property
    def metainfo(self) -> dict[str, Any]:
        """The combined layout's parsed metainfo (a copy)."""
        return copy.deepcopy(self._metainfo)

    def __len__(self) -> int:
        return self._len

    def _get_subset_index(self, index: int) -> tuple[int, int]:
        """Global index -> (dataset index, index inside it); resampled datasets map onto evenly spread items."""
        if index >= len(self) or index < -len(self):
            raise IndexError(f"index({index}) is out of bounds for dataset with length({len(self)}).")
        if index < 0:
            index += len(self)
        subset = 0
        while index >= self._lens[subset]:
            index -= self._lens[subset]
            subset += 1
        if self.resample:
            gap = (self._lens_ori[subset] - 1e-4) / self._lens[subset]
            index = round(gap * index + np.random.rand() * gap - 0.5)
        return subset, index

    def get_data_info(self, idx: int) -> dict:
        """The item of the sub-dataset (after its own pipeline) with the combined layout's metainfo fields."""
        subset, local = self._get_subset_index(idx)
        item = self.datasets[subset][local]
        if not isinstance(item, dict):
            raise TypeError(
                f"CombinedDataset: datasets[{subset}] returned a {type(item).__name__} for item {local}; their own "
                "pipelines must return the results dict (put LoadImage ... PackPoseInputs in the combined pipeline)"
            )
        item.pop("dataset", None)
        item.update(pickle.loads(self._item_meta_bytes))
        return item

    def full_init(self) -> None:
        """Load every sub-dataset's annotations (they load lazily otherwise)."""
        for ds in self.datasets:
            if hasattr(ds, "full_init"):
                ds.full_init()

    def __repr__(self) -> str:
        parts = ", ".join(f"{type(d).__name__}({n})" for d, n in zip(self.datasets, self._lens))
        return f"CombinedDataset(dataset_name={self._metainfo['dataset_name']!r}, len={len(self)}: {parts})"
