"""Re-indexing keypoints between dataset layouts by a ``[(source, target), ...]`` mapping.

MMPose's ``transform_sigmas`` / ``transform_ann`` / ``transform_pred`` / ``transform_keypoints`` (re-exported by
``posekit.evaluation.functional``, used by ``CocoMetric(gt_converter=...)``) and ``KeypointConverter``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["split_mapping", "transform_ann", "transform_keypoints", "transform_pred", "transform_sigmas"]


def split_mapping(mapping: Any) -> tuple[list, list]:
    """``[(source, target), ...]`` -> ``(sources, targets)``."""
    if len(mapping):
        source_index, target_index = map(list, zip(*mapping))
        return source_index, target_index
    return [], []


def transform_sigmas(sigmas: Any, num_keypoints: int, mapping: Any) -> Any:
    """Re-index sigmas ``(K_src,)`` to ``num_keypoints`` by ``mapping`` ``[(src, dst), ...]``; unmapped ones are 1.

    A list in gives a list out (MMPose's behaviour).
    """
    source_index, target_index = split_mapping(mapping)
    list_input = isinstance(sigmas, list)
    sigmas = np.asarray(sigmas)
    new_sigmas = np.ones(num_keypoints, dtype=sigmas.dtype)
    new_sigmas[target_index] = sigmas[source_index]
    return new_sigmas.tolist() if list_input else new_sigmas


def _remap(values: Any, num_keypoints: int, source: list, target: list, axis: int) -> np.ndarray:
    """``values`` with its keypoint ``axis`` re-indexed to ``num_keypoints`` (zeros where nothing maps)."""
    values = np.asarray(values)
    shape = list(values.shape)
    shape[axis] = num_keypoints
    out = np.zeros(shape, dtype=values.dtype)
    index: list[Any] = [slice(None)] * values.ndim
    src_index = list(index)
    index[axis], src_index[axis] = target, source
    out[tuple(index)] = values[tuple(src_index)]
    return out


def _flat_keypoints(flat: Any, num_keypoints: int, source: list, target: list) -> list:
    """COCO's flat ``[x, y, v] * K`` re-indexed."""
    rows = np.asarray(flat).reshape(-1, 3)
    return _remap(rows, num_keypoints, source, target, axis=0).reshape(-1).tolist()


def _each(info: Any, fn) -> Any:
    """Apply ``fn`` to a dict or to every dict of a list (in place); returns the input's shape."""
    items = info if isinstance(info, list) else [info]
    for item in items:
        fn(item)
    return items if isinstance(info, list) else items[0]


def transform_ann(ann_info: Any, num_keypoints: int, mapping: Any) -> Any:
    """Re-index COCO annotations' flat ``keypoints`` ``[x, y, v] * K`` (dict or list of dicts, in place)."""
    source, target = split_mapping(mapping)

    def fn(ann: dict) -> None:
        if "keypoints" in ann:
            ann["keypoints"] = _flat_keypoints(ann["keypoints"], num_keypoints, source, target)
        if "num_keypoints" in ann:
            ann["num_keypoints"] = num_keypoints

    return _each(ann_info, fn)


def transform_pred(pred_info: Any, num_keypoints: int, mapping: Any) -> Any:
    """Re-index predictions' ``keypoints`` ``(N, K, C)`` and ``keypoint_scores`` ``(N, K)`` (dict or list, in place)."""
    source, target = split_mapping(mapping)

    def fn(pred: dict) -> None:
        if "keypoints" in pred:
            pred["keypoints"] = _remap(pred["keypoints"], num_keypoints, source, target, axis=1)
            pred["keypoint_scores"] = _remap(pred["keypoint_scores"], num_keypoints, source, target, axis=1)
        if "num_keypoints" in pred:
            pred["num_keypoints"] = num_keypoints

    return _each(pred_info, fn)


def transform_keypoints(kpt_info: Any, num_keypoints: int, mapping: Any) -> Any:
    """MMPose's older combined helper: ``keypoints`` ``(N, K, C)`` (predictions) or flat ``[x, y, v] * K``
    (annotations) re-indexed by ``mapping``, in place; ``num_keypoints`` updated when present."""
    source, target = split_mapping(mapping)

    def fn(info: dict) -> None:
        if "keypoints" in info:
            keypoints = np.asarray(info["keypoints"])
            if keypoints.ndim > 1:
                info["keypoints"] = _remap(keypoints, num_keypoints, source, target, axis=1)
            else:
                info["keypoints"] = _flat_keypoints(keypoints, num_keypoints, source, target)
        if "num_keypoints" in info:
            info["num_keypoints"] = num_keypoints

    return _each(kpt_info, fn)
