"""``KeypointPartitionMetric``: any keypoint metric evaluated separately on named subsets of the keypoints.

E.g. COCO AP on the body, feet, face and hands of COCO-WholeBody's 133 keypoints, or PCK on two halves of a
custom skeleton::

    metric = KeypointPartitionMetric(
        metric=dict(type="CocoMetric", score_mode="bbox", nms_mode="none"),
        partitions=dict(body=range(17), foot=range(17, 23), face=range(23, 91), all=range(133)),
    )
    metric.dataset_meta = load_metainfo("coco_wholebody")
    ...                                  # process()/evaluate() or update()/compute(), as any posekit metric
    # -> {'body/coco/AP': ..., 'foot/coco/AP': ..., 'face/coco/AP': ..., 'all/coco/AP': ...}

Each partition gets its own copy of the wrapped metric, fed the predictions and ground truth restricted to the
partition's keypoints (``raw_ann_info`` included, with its ``num_keypoints`` recounted) and a metainfo restricted
the same way (``num_keypoints``, ``sigmas``, names, skeleton). The ground truth therefore comes from the samples,
not from an ``ann_file`` (which this wrapper drops, as MMPose does).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .base import BaseMetric, to_numpy

__all__ = ["KeypointPartitionMetric"]

SUPPORTED_METRICS = ("CocoMetric", "PCKAccuracy", "AUC", "EPE", "NME")

# keypoint-indexed fields (axis 1 = keypoints) of ground-truth / prediction dicts and of posekit's batch metas
_KEYPOINT_FIELDS = ("keypoints", "keypoints_visible", "keypoint_scores", "keypoints_visibility", "keypoint_weights")


class PartitionConfigError(ValueError, AssertionError):
    """A wrong ``partitions`` argument (a ``ValueError``; also an ``AssertionError``, which MMPose raises)."""


def _metric_classes() -> dict[str, type]:
    from .coco import CocoMetric
    from .keypoint import AUC, EPE, NME, PCKAccuracy

    return {"CocoMetric": CocoMetric, "PCKAccuracy": PCKAccuracy, "AUC": AUC, "EPE": EPE, "NME": NME}


def _parse_range(name: str, spec: str) -> list[int]:
    """``'start:stop'`` (Python's half-open range, handy in YAML) -> the indices."""
    parts = spec.split(":")
    try:
        start, stop = (int(p) for p in parts)
    except ValueError:
        raise PartitionConfigError(
            f"partition {name!r}: a string partition must be 'start:stop' (e.g. '17:23'), got {spec!r}"
        ) from None
    return list(range(start, stop))


def _check_partitions(partitions: Mapping[str, Any]) -> dict[str, list[int]]:
    if not isinstance(partitions, Mapping) or len(partitions) == 0:
        raise PartitionConfigError(
            "There should be at least one partition: partitions={name: [keypoint indices] or 'start:stop', ...}"
        )
    out = {}
    for name, ids in partitions.items():
        name = str(name)
        if isinstance(ids, str):
            ids = _parse_range(name, ids)
        elif isinstance(ids, (bytes, Mapping)) or not isinstance(ids, (Sequence, np.ndarray)):
            raise PartitionConfigError(
                f"partition {name!r}: each partition should be a sequence of keypoint indices, got {type(ids).__name__}"
            )
        if len(ids) == 0:
            raise PartitionConfigError(f"partition {name!r}: each partition should have at least one element")
        out[name] = [int(i) for i in ids]
        if min(out[name]) < 0:
            raise PartitionConfigError(f"partition {name!r}: keypoint indices must be >= 0, got {list(ids)}")
    return out


class KeypointPartitionMetric(BaseMetric):
    """Evaluate ``metric`` on each keypoint partition; results are named ``'<partition>/<metric's name>'``.

    Args:
        metric: the wrapped metric: a dict ``{'type': 'CocoMetric' | 'PCKAccuracy' | 'AUC' | 'EPE' | 'NME',
            **its arguments}`` (``type`` may also be the class), or a metric instance (copied per partition).
            A ``CocoMetric``'s ``ann_file`` is ignored (the ground truth comes from the samples' ``raw_ann_info``);
            its ``outfile_prefix`` becomes ``'<outfile_prefix>.<partition>'``.
        partitions: ``{name: keypoint indices}``; indices may be discontinuous and partitions may overlap
            (``all=range(K)`` is common). A string ``'start:stop'`` stands for ``range(start, stop)`` (for YAML).
        collect_device, prefix: see :class:`~posekit.evaluation.base.BaseMetric` (``prefix`` is put before the
            partition names when given).
        metainfo: the dataset's metainfo (same as assigning ``dataset_meta``).

    Raises:
        ValueError: an unsupported metric type, or NME with ``norm_mode='keypoint_distance'`` (its keypoint pair
            does not survive the split).
    """

    def __init__(
        self,
        metric: Mapping[str, Any] | BaseMetric,
        partitions: Mapping[str, Sequence[int]],
        collect_device: str = "cpu",
        prefix: str | None = None,
        metainfo: Any = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.partitions = _check_partitions(partitions)
        self.metrics: dict[str, BaseMetric]
        if isinstance(metric, BaseMetric):
            self.metrics = {name: self._build(metric, name) for name in self.partitions}
        else:
            self.metrics = self._build_all(metric)
        if metainfo is not None:
            from .base import resolve_metainfo

            self.dataset_meta = resolve_metainfo(metainfo)

    # ------------------------------------------------------------------------------------------------ building
    def _build(self, metric: BaseMetric, name: str) -> BaseMetric:
        """A per-partition copy of a metric instance."""
        kind = type(metric).__name__
        if not isinstance(metric, tuple(_metric_classes().values())):
            raise ValueError(
                f"Metrics supported by KeypointPartitionMetric are {', '.join(SUPPORTED_METRICS)}, but got {kind}"
            )
        part = copy.deepcopy(metric)
        part.results = []
        if getattr(part, "ann_file", None):
            warnings.warn(
                "KeypointPartitionMetric does not support the ann_file argument of CocoMetric, this argument will "
                "be ignored (the ground truth comes from the samples' raw_ann_info).",
                UserWarning,
                stacklevel=3,
            )
            part.ann_file, part.coco = None, None
        if getattr(part, "outfile_prefix", None):
            part.outfile_prefix = f"{part.outfile_prefix}.{name}"
        return part

    def _build_all(self, metric: Mapping[str, Any]) -> dict[str, BaseMetric]:
        if not isinstance(metric, Mapping) or "type" not in metric:
            raise ValueError(
                "KeypointPartitionMetric: metric must be a dict with a 'type' (one of "
                f"{', '.join(SUPPORTED_METRICS)}) and that metric's arguments, or a metric instance; got {metric!r}"
            )
        cfg = dict(metric)
        kind = cfg.pop("type")
        name = kind if isinstance(kind, str) else getattr(kind, "__name__", str(kind))
        classes = _metric_classes()
        if name not in classes:
            raise ValueError(
                f"Metrics supported by KeypointPartitionMetric are {', '.join(SUPPORTED_METRICS)}, but got {name}"
            )
        cls = kind if isinstance(kind, type) else classes[name]
        if name == "CocoMetric":
            if "ann_file" in cfg:
                warnings.warn(
                    "KeypointPartitionMetric does not support the ann_file argument of CocoMetric, this argument "
                    "will be ignored (the ground truth comes from the samples' raw_ann_info).",
                    UserWarning,
                    stacklevel=3,
                )
                cfg["ann_file"] = None
            if cfg.get("score_mode", "bbox_keypoint") != "bbox":
                warnings.warn(
                    "When using KeypointPartitionMetric with CocoMetric, if score_mode is not 'bbox', pose scores "
                    "are computed part by part rather than on the whole body, which may differ from a whole-body "
                    "metric.",
                    UserWarning,
                    stacklevel=3,
                )
            if cfg.get("nms_mode", "oks_nms") != "none":
                warnings.warn(
                    "When using KeypointPartitionMetric with CocoMetric, oks_nms and soft_oks_nms are computed part "
                    "by part rather than on the whole body, which may differ from a whole-body metric.",
                    UserWarning,
                    stacklevel=3,
                )
        if name == "PCKAccuracy":
            norm_item = cfg.get("norm_item", "bbox")
            items = [norm_item] if isinstance(norm_item, str) else list(norm_item)
            if "torso" in items:
                warnings.warn(
                    "norm_item torso is used in JhmdbDataset, it may not be compatible with other datasets (it "
                    "reads keypoints 4 and 5 of each partition), use at your own risk.",
                    UserWarning,
                    stacklevel=3,
                )
        if name == "NME":
            if "norm_mode" not in cfg:
                raise PartitionConfigError("Missing norm_mode required by the NME metric.")
            if cfg["norm_mode"] != "use_norm_item":
                raise ValueError(
                    "NME norm_mode 'keypoint_distance' is incompatible with KeypointPartitionMetric: use "
                    "norm_mode='use_norm_item'"
                )
        out = {}
        for part in self.partitions:
            part_cfg = copy.deepcopy(cfg)
            if part_cfg.get("outfile_prefix"):
                part_cfg["outfile_prefix"] = f"{part_cfg['outfile_prefix']}.{part}"
            out[part] = cls(**part_cfg)
        return out

    # ------------------------------------------------------------------------------------------------ metainfo
    @property
    def dataset_meta(self) -> dict[str, Any] | None:
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Mapping[str, Any] | str | None) -> None:
        BaseMetric.dataset_meta.fset(self, dataset_meta)
        meta = self._dataset_meta
        if meta is None:
            return
        num = meta.get("num_keypoints")
        for name, ids in self.partitions.items():
            if num is not None and max(ids) >= int(num):
                raise PartitionConfigError(
                    f"partition {name!r}: keypoint index {max(ids)} is out of range for the dataset's {num} keypoints"
                )
            self.metrics[name].dataset_meta = self._part_meta(meta, ids)

    @staticmethod
    def _part_meta(meta: Mapping[str, Any], ids: list[int]) -> dict[str, Any]:
        """The metainfo restricted to the keypoints ``ids`` (renumbered 0 .. len(ids) - 1)."""
        part = copy.deepcopy(dict(meta))
        part["num_keypoints"] = len(ids)
        sigmas = part.get("sigmas")
        if sigmas is not None and len(sigmas) > 0:
            part["sigmas"] = np.asarray(sigmas)[ids]
        new_index = {old: new for new, old in enumerate(ids)}
        names = part.get("keypoint_id2name")
        if isinstance(names, Mapping):
            part["keypoint_id2name"] = {new: names[old] for old, new in new_index.items() if old in names}
            part["keypoint_name2id"] = {n: i for i, n in part["keypoint_id2name"].items()}
        links = part.get("skeleton_links")
        if links is not None:
            kept = [(new_index[a], new_index[b]) for a, b in links if a in new_index and b in new_index]
            part["skeleton_links"] = kept
            part["num_skeleton_links"] = len(kept)
        for key in ("dataset_keypoint_weights", "keypoint_colors"):
            value = part.get(key)
            if value is not None and len(value) == meta.get("num_keypoints"):
                part[key] = np.asarray(value)[ids]
        flip = part.get("flip_indices")
        if flip is not None and all(flip[i] in new_index for i in ids):
            part["flip_indices"] = [new_index[flip[i]] for i in ids]
            part["flip_pairs"] = [(i, j) for i, j in enumerate(part["flip_indices"]) if i != j]
        elif flip is not None:
            part.pop("flip_indices", None)
            part.pop("flip_pairs", None)
        return part

    # ------------------------------------------------------------------------------------------------ splitting
    @staticmethod
    def _slice_fields(fields: Mapping[str, Any], ids: list[int]) -> dict[str, Any]:
        """A shallow copy of ``fields`` with the keypoint axis (1) of the keypoint-indexed entries restricted."""
        out = dict(fields)
        for key in _KEYPOINT_FIELDS:
            value = out.get(key)
            if value is None:
                continue
            arr = to_numpy(value)
            if hasattr(arr, "ndim") and arr.ndim >= 2:
                out[key] = arr[:, ids]
        if "raw_ann_info" in out and out["raw_ann_info"] is not None:
            out["raw_ann_info"] = KeypointPartitionMetric._slice_anns(out["raw_ann_info"], ids)
        return out

    @staticmethod
    def _slice_anns(raw_ann_info: Any, ids: list[int]) -> Any:
        """COCO annotation dict(s) with ``keypoints`` restricted to ``ids`` and ``num_keypoints`` recounted."""
        anns = raw_ann_info if isinstance(raw_ann_info, list) else [raw_ann_info]
        out = []
        for ann in anns:
            ann = dict(ann)
            if ann.get("keypoints") is not None:
                kpts = np.asarray(ann["keypoints"], dtype=np.float64).reshape(-1, 3)[ids]
                ann["keypoints"] = kpts.reshape(-1).tolist()
                ann["num_keypoints"] = int(np.sum(kpts[:, 2] > 0))
            out.append(ann)
        return out if isinstance(raw_ann_info, list) else out[0]

    def process(self, data_batch: Any, data_samples: Sequence[Mapping[str, Any]]) -> None:
        """MMPose's API: each partition's metric processes the samples restricted to its keypoints."""
        for name, ids in self.partitions.items():
            parted = []
            for sample in data_samples:
                part = self._slice_fields(sample, ids)
                for key in ("pred_instances", "gt_instances"):
                    if isinstance(sample.get(key), Mapping):
                        part[key] = self._slice_fields(sample[key], ids)
                parted.append(part)
            self.metrics[name].process(data_batch, parted)

    def update(self, metas: Sequence[Mapping[str, Any]], keypoints: Any, keypoint_scores: Any = None) -> None:
        """posekit's API: ``keypoints`` ``(B, N, K, 2)``, ``keypoint_scores`` ``(B, N, K)`` and the metas' ground
        truth, restricted to each partition."""
        keypoints = np.asarray(to_numpy(keypoints))
        if keypoints.ndim == 3:
            keypoints = keypoints[:, None]
        scores = None if keypoint_scores is None else np.asarray(to_numpy(keypoint_scores))
        if scores is not None:
            scores = scores.reshape(keypoints.shape[:3])
        for name, ids in self.partitions.items():
            metas_part = [self._slice_fields(meta, ids) for meta in metas]
            self.metrics[name].update(metas_part, keypoints[:, :, ids], None if scores is None else scores[:, :, ids])

    # ------------------------------------------------------------------------------------------------ results
    def _rename(self, name: str, results: Mapping[str, float]) -> dict[str, float]:
        head = f"{self.prefix}/{name}" if self.prefix else name
        return {f"{head}/{key}": value for key, value in results.items()}

    def compute(self, size: int | None = None) -> dict[str, float]:
        """Every partition's metrics as ``'<partition>/<name>'`` (a collective call under DDP, as every metric)."""
        out: dict[str, float] = {}
        for name, metric in self.metrics.items():
            out.update(self._rename(name, metric.compute(size)))
        return out

    def evaluate(self, size: int) -> dict[str, float]:
        """MMEngine's ``evaluate``: every partition's ``evaluate(size)``, renamed ``'<partition>/<name>'``."""
        out: dict[str, float] = {}
        for name, metric in self.metrics.items():
            out.update(self._rename(name, metric.evaluate(size)))
        return out

    def reset(self) -> None:
        for metric in self.metrics.values():
            metric.reset()

    def compute_metrics(self, results: list) -> dict[str, Any]:
        raise NotImplementedError("KeypointPartitionMetric delegates to its partitions' metrics: call compute()")
