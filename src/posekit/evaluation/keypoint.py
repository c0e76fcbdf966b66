"""Keypoint-distance metrics: ``PCKAccuracy`` (+ MPII / JHMDB variants), ``AUC``, ``EPE``, ``NME``.

MMPose 1.x semantics and result names (``PCK``, ``PCKh``, ``tPCK``, ``AUC``, ``EPE``, ``NME``; no default prefix).

posekit's API reads the ground truth from the sample metas (``PoseBatch.metas``, image space)::

    metric = PCKAccuracy(thr=0.2)
    metric.update(batch.metas, pred['keypoints'], pred['keypoint_scores'])   # (B, 1, K, 2), scores unused
    metric.compute()   # {'PCK': ...}

Meta keys: ``keypoints`` (N, K, 2) and ``keypoints_visible`` (N, K) always; ``bbox`` (N, 4) xyxy for
``norm_item='bbox'`` / NME's ``'bbox_size'``; ``head_size`` for ``'head'``; any other NME ``norm_item`` by name.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .base import BaseMetric, to_numpy
from .functional import keypoint_auc, keypoint_epe, keypoint_nme, keypoint_pck_accuracy

__all__ = ["AUC", "EPE", "NME", "JhmdbPCKAccuracy", "MpiiPCKAccuracy", "PCKAccuracy"]

_MISSING = object()


def _get(obj: Any, key: str, default: Any = _MISSING) -> Any:
    if isinstance(obj, Mapping):
        if key in obj:
            return obj[key]
    elif hasattr(obj, key):
        return getattr(obj, key)
    if default is _MISSING:
        raise KeyError(key)
    return default


def _has(obj: Any, key: str) -> bool:
    return _get(obj, key, None) is not None


def _hashable(x: Any) -> Any:
    x = to_numpy(x)
    if isinstance(x, np.ndarray):
        return tuple(x.reshape(-1).tolist())
    if isinstance(x, list):
        return tuple(x)
    return x


class _KeypointDistanceMetric(BaseMetric):
    """Shared input handling: every record holds ``pred_coords`` (N, K, D), ``gt_coords`` (N, K, D), ``mask``
    (N, K) plus what :meth:`_extra` adds (normalisation sizes)."""

    def _extra(self, gt: Any, pred_coords: np.ndarray, gt_coords: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def _record(self, pred_coords: Any, gt: Any) -> dict[str, np.ndarray]:
        pred_coords = np.asarray(to_numpy(pred_coords))
        gt_coords = np.asarray(to_numpy(_get(gt, "keypoints")))
        if pred_coords.ndim == 2:
            pred_coords = pred_coords[None]
        if gt_coords.ndim == 2:
            gt_coords = gt_coords[None]
        visible = np.asarray(to_numpy(_get(gt, "keypoints_visible")))
        if visible.ndim == 3:  # (N, K, 1) or (N, K, 2): the first channel is the visibility
            visible = visible[..., 0]
        mask = visible.astype(bool).reshape(gt_coords.shape[0], -1)
        result = {"pred_coords": pred_coords, "gt_coords": gt_coords, "mask": mask}
        result.update(self._extra(gt, pred_coords, gt_coords))
        return result

    def process(self, data_batch: Any, data_samples: Sequence[Mapping[str, Any]]) -> None:
        """MMPose's API: ``data_samples`` with ``pred_instances['keypoints']`` and ``gt_instances``
        (``keypoints``, ``keypoints_visible``, ``bboxes``, ``head_size``, ...)."""
        for data_sample in data_samples:
            pred_coords = _get(data_sample["pred_instances"], "keypoints")
            self.results.append(self._record(pred_coords, data_sample["gt_instances"]))

    def update(self, metas: Sequence[Mapping[str, Any]], keypoints: Any, keypoint_scores: Any = None) -> None:
        """posekit's API: ``keypoints`` ``(B, N, K, 2)`` in image space against the metas' ground truth."""
        keypoints = np.asarray(to_numpy(keypoints))
        if keypoints.ndim == 3:
            keypoints = keypoints[:, None]
        if len(metas) != len(keypoints):
            raise ValueError(f"update() got {len(metas)} metas but {len(keypoints)} predictions")
        for meta, kpts in zip(metas, keypoints):
            gt = dict(meta)
            if "bbox" in gt and "bboxes" not in gt:
                gt["bboxes"] = np.asarray(to_numpy(gt["bbox"])).reshape(-1, 4)
            record = self._record(kpts, gt)
            if meta.get("id") is not None:  # lets compute() drop samples seen twice (padded distributed samplers)
                record["uid"] = (_hashable(meta.get("img_id")), _hashable(meta["id"]))
            self.results.append(record)

    @staticmethod
    def _prepare_results(results: list) -> list:
        """Drop repeated samples (same ``(img_id, id)``, recorded by :meth:`update`), keeping the first."""
        seen: set = set()
        out = []
        for r in results:
            uid = r.get("uid")
            if uid is not None:
                if uid in seen:
                    continue
                seen.add(uid)
            out.append(r)
        return out

    @staticmethod
    def _cat(results: list, key: str) -> np.ndarray:
        return np.concatenate([r[key] for r in results])


class PCKAccuracy(_KeypointDistanceMetric):
    """Percentage of Correct Keypoints: distance / normaliser ``< thr``, over the visible keypoints.

    Args:
        thr: threshold on the normalised distance.
        norm_item: ``'bbox'`` (longer side of the xyxy box; ``PCK``), ``'head'`` (``head_size``; ``PCKh``),
            ``'torso'`` (distance of keypoints 4 and 5; ``tPCK``), or a list of them.
        collect_device, prefix, metainfo: see :class:`~posekit.evaluation.base.BaseMetric`.
    """

    def __init__(
        self,
        thr: float = 0.05,
        norm_item: str | Sequence[str] = "bbox",
        collect_device: str = "cpu",
        prefix: str | None = None,
        metainfo: Any = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, metainfo=metainfo)
        self.thr = thr
        self.norm_item = list(norm_item) if isinstance(norm_item, (tuple, list)) else [norm_item]
        for item in self.norm_item:
            if item not in ("bbox", "head", "torso"):
                raise KeyError(
                    f"The normalized item {item} is not supported by {self.__class__.__name__}. Should be one of "
                    f"'bbox', 'head', 'torso', but got {item}."
                )

    def _extra(self, gt: Any, pred_coords: np.ndarray, gt_coords: np.ndarray) -> dict[str, np.ndarray]:
        out = {}
        if "bbox" in self.norm_item:
            assert _has(gt, "bboxes"), 'The ground truth data info do not have the expected normalized_item ``"bbox"``.'
            bboxes = np.asarray(to_numpy(_get(gt, "bboxes"))).reshape(-1, 4)
            size = np.max(bboxes[:, 2:] - bboxes[:, :2], axis=1)  # (N,)
            out["bbox_size"] = np.stack([size, size], axis=1)
        if "head" in self.norm_item:
            assert _has(gt, "head_size"), (
                'The ground truth data info do not have the expected normalized_item ``"head_size"``.'
            )
            head = np.asarray(to_numpy(_get(gt, "head_size"))).reshape(-1)
            out["head_size"] = np.stack([head, head], axis=1)
        if "torso" in self.norm_item:
            torso = np.linalg.norm(gt_coords[:, 4] - gt_coords[:, 5], axis=-1)
            small = torso < 1
            if small.any():
                torso = np.where(small, np.linalg.norm(pred_coords[:, 4] - pred_coords[:, 5], axis=-1), torso)
                warnings.warn(
                    "Ground truth torso size < 1. Use torso size from predicted keypoint results instead.",
                    stacklevel=3,
                )
            out["torso_size"] = np.stack([torso, torso], axis=1)
        return out

    def compute_metrics(self, results: list) -> dict[str, float]:
        pred, gt, mask = self._cat(results, "pred_coords"), self._cat(results, "gt_coords"), self._cat(results, "mask")
        metrics = {}
        for item, key, name in (
            ("bbox", "bbox_size", "PCK"),
            ("head", "head_size", "PCKh"),
            ("torso", "torso_size", "tPCK"),
        ):
            if item in self.norm_item:
                _, acc, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, self._cat(results, key))
                metrics[name] = acc
        return metrics


class MpiiPCKAccuracy(PCKAccuracy):
    """PCKh of the MPII benchmark (16 keypoints, 1-based MATLAB coordinates: predictions get ``+1``).

    With ``norm_item='head'`` reports ``Head/Shoulder/Elbow/Wrist/Hip/Knee/Ankle PCK``, ``PCK`` (mean weighted by
    the visible-joint counts, pelvis and thorax excluded) and ``PCK@0.1``, all in percent.
    """

    def __init__(
        self,
        thr: float = 0.5,
        norm_item: str | Sequence[str] = "head",
        collect_device: str = "cpu",
        prefix: str | None = None,
        metainfo: Any = None,
    ) -> None:
        super().__init__(thr=thr, norm_item=norm_item, collect_device=collect_device, prefix=prefix, metainfo=metainfo)

    def compute_metrics(self, results: list) -> dict[str, float]:
        pred, gt, mask = self._cat(results, "pred_coords"), self._cat(results, "gt_coords"), self._cat(results, "mask")
        pred = pred + 1.0  # MPII's ground truth is 1-based
        metrics: dict[str, float] = {}
        if "head" not in self.norm_item:
            return metrics
        norm = self._cat(results, "head_size")
        pck_p, _, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, norm)
        jnt_count = np.sum(mask, axis=0)
        pckh = np.ma.array(100.0 * pck_p, mask=False)
        pckh.mask[6:8] = True
        pck_all = np.zeros((51, 16), dtype=np.float32)
        for r, threshold in enumerate(np.arange(0, 0.5 + 0.01, 0.01)):
            pck_all[r, :] = 100.0 * keypoint_pck_accuracy(pred, gt, mask, threshold, norm)[0]
        jnt_count = np.ma.array(jnt_count, mask=False)
        jnt_count.mask[6:8] = True
        jnt_ratio = jnt_count / np.sum(jnt_count).astype(np.float64)
        # joints: 0 rank 1 rkne 2 rhip 3 lhip 4 lkne 5 lank 9 head 10 rwri 11 relb 12 rsho 13 lsho 14 lelb 15 lwri
        metrics.update(
            {
                "Head PCK": pckh[9],
                "Shoulder PCK": 0.5 * (pckh[13] + pckh[12]),
                "Elbow PCK": 0.5 * (pckh[14] + pckh[11]),
                "Wrist PCK": 0.5 * (pckh[15] + pckh[10]),
                "Hip PCK": 0.5 * (pckh[3] + pckh[2]),
                "Knee PCK": 0.5 * (pckh[4] + pckh[1]),
                "Ankle PCK": 0.5 * (pckh[5] + pckh[0]),
                "PCK": np.sum(pckh * jnt_ratio),
                "PCK@0.1": np.sum(pck_all[10, :] * jnt_ratio),
            }
        )
        return metrics


class JhmdbPCKAccuracy(PCKAccuracy):
    """PCK of the JHMDB benchmark (15 keypoints), per body part: ``Head/Sho/Elb/Wri/Hip/Knee/Ank PCK`` + ``PCK``
    for ``'bbox'``, the same with ``tPCK`` for ``'torso'``."""

    _PARTS = (
        ("Head", (2,)),
        ("Sho", (3, 4)),
        ("Elb", (7, 8)),
        ("Wri", (11, 12)),
        ("Hip", (5, 6)),
        ("Knee", (9, 10)),
        ("Ank", (13, 14)),
    )

    def compute_metrics(self, results: list) -> dict[str, float]:
        pred, gt, mask = self._cat(results, "pred_coords"), self._cat(results, "gt_coords"), self._cat(results, "mask")
        metrics: dict[str, float] = {}
        for item, key, suffix in (("bbox", "bbox_size", "PCK"), ("torso", "torso_size", "tPCK")):
            if item not in self.norm_item:
                continue
            pck_p, pck, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, self._cat(results, key))
            for part, idx in self._PARTS:
                metrics[f"{part} {suffix}"] = (
                    pck_p[idx[0]] if len(idx) == 1 else 0.5 * pck_p[idx[0]] + 0.5 * pck_p[idx[1]]
                )
            metrics[suffix] = pck
        return metrics


class AUC(_KeypointDistanceMetric):
    """Area under the PCK curve for ``num_thrs`` thresholds in ``[0, 1)``, distances divided by ``norm_factor``
    pixels. Result ``AUC``."""

    def __init__(
        self,
        norm_factor: float = 30,
        num_thrs: int = 20,
        collect_device: str = "cpu",
        prefix: str | None = None,
        metainfo: Any = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, metainfo=metainfo)
        self.norm_factor = norm_factor
        self.num_thrs = num_thrs

    def compute_metrics(self, results: list) -> dict[str, float]:
        pred, gt, mask = self._cat(results, "pred_coords"), self._cat(results, "gt_coords"), self._cat(results, "mask")
        return {"AUC": keypoint_auc(pred, gt, mask, self.norm_factor, self.num_thrs)}


class EPE(_KeypointDistanceMetric):
    """Mean end-point error in pixels over the visible keypoints. Result ``EPE``."""

    def compute_metrics(self, results: list) -> dict[str, float]:
        pred, gt, mask = self._cat(results, "pred_coords"), self._cat(results, "gt_coords"), self._cat(results, "mask")
        return {"EPE": keypoint_epe(pred, gt, mask)}


class NME(_KeypointDistanceMetric):
    """Normalised mean error. Result ``NME``.

    Args:
        norm_mode: ``'use_norm_item'`` (divide by the ground truth's ``norm_item``, e.g. ``'bbox_size'`` = longer
            side of the box) or ``'keypoint_distance'`` (divide by the distance of two ground-truth keypoints:
            ``keypoint_indices``, or the dataset's default pair in :attr:`DEFAULT_KEYPOINT_INDICES`).
        norm_item: see ``norm_mode``.
        keypoint_indices: the two keypoints of ``'keypoint_distance'``.
    """

    DEFAULT_KEYPOINT_INDICES = {
        "horse10": [0, 1],  # nose, eye
        "300w": [36, 45],  # right-most and left-most eye corners
        "coco_wholebody_face": [36, 45],
        "cofw": [8, 9],
        "wflw": [60, 72],
        "lapa": [66, 79],
    }

    def __init__(
        self,
        norm_mode: str,
        norm_item: str | None = None,
        keypoint_indices: Sequence[int] | None = None,
        collect_device: str = "cpu",
        prefix: str | None = None,
        metainfo: Any = None,
    ) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix, metainfo=metainfo)
        if norm_mode not in ("use_norm_item", "keypoint_distance"):
            raise KeyError(f"`norm_mode` should be 'use_norm_item' or 'keypoint_distance', but got {norm_mode}.")
        self.norm_mode = norm_mode
        if self.norm_mode == "use_norm_item" and not norm_item:
            raise KeyError(
                '`norm_mode` is set to `"use_norm_item"`, please specify the `norm_item` in the datainfo used as the '
                "normalization factor."
            )
        self.norm_item = norm_item
        self.keypoint_indices = keypoint_indices

    def _extra(self, gt: Any, pred_coords: np.ndarray, gt_coords: np.ndarray) -> dict[str, np.ndarray]:
        if not self.norm_item:
            return {}
        if self.norm_item == "bbox_size":
            assert _has(gt, "bboxes"), (
                "The ground truth data info do not have the item ``bboxes`` for expected "
                'normalized_item ``"bbox_size"``.'
            )
            bboxes = np.asarray(to_numpy(_get(gt, "bboxes"))).reshape(-1, 4)
            return {"bbox_size": np.max(bboxes[:, 2:] - bboxes[:, :2], axis=1).reshape(-1, 1)}
        assert _has(gt, self.norm_item), (
            f'The ground truth data info do not have the expected normalized factor "{self.norm_item}"'
        )
        return {self.norm_item: np.asarray(to_numpy(_get(gt, self.norm_item))).reshape(-1, 1)}

    def compute_metrics(self, results: list) -> dict[str, float]:
        pred, gt, mask = self._cat(results, "pred_coords"), self._cat(results, "gt_coords"), self._cat(results, "mask")
        if self.norm_mode == "use_norm_item":
            normalize_factor = np.tile(self._cat(results, self.norm_item), [1, 2])
            return {"NME": keypoint_nme(pred, gt, mask, normalize_factor)}
        meta = self.dataset_meta or {}
        if self.keypoint_indices is None:
            dataset_name = meta.get("dataset_name")
            if dataset_name not in self.DEFAULT_KEYPOINT_INDICES:
                raise KeyError(
                    "`norm_mode` is set to `keypoint_distance`, and the keypoint_indices is set to None, can not find "
                    "the keypoint_indices in `DEFAULT_KEYPOINT_INDICES`, please specify `keypoint_indices` "
                    "appropriately."
                )
            self.keypoint_indices = self.DEFAULT_KEYPOINT_INDICES[dataset_name]
        else:
            assert len(self.keypoint_indices) == 2, "The keypoint indices used for normalization should be a pair."
            keypoint_id2name = meta.get("keypoint_id2name")
            if keypoint_id2name is None:
                keypoint_id2name = range(gt.shape[1])
            for idx in self.keypoint_indices:
                assert idx in keypoint_id2name, (
                    f"The {meta.get('dataset_name')} dataset does not contain the required {idx}-th keypoint."
                )
        i1, i2 = self.keypoint_indices
        interocular = np.linalg.norm(gt[:, i1, :] - gt[:, i2, :], axis=1, keepdims=True)
        return {"NME": keypoint_nme(pred, gt, mask, np.tile(interocular, [1, 2]))}
