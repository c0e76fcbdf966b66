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


def transform_ann(ann_info: Any, num_keypoints: int, mapping: Any) -> Any:
    """Re-index COCO annotations' flat ``keypoints`` ``[x, y, v] * K`` (dict or list of dicts, in place)."""
    source_index, target_index = split_mapping(mapping)
    list_input = isinstance(ann_info, list)
    anns = ann_info if list_input else [ann_info]
    for each in anns:
        if "keypoints" in each:
            keypoints = np.asarray(each["keypoints"]).reshape(-1, 3)
            new_keypoints = np.zeros((num_keypoints, 3), dtype=keypoints.dtype)
            new_keypoints[target_index] = keypoints[source_index]
            each["keypoints"] = new_keypoints.reshape(-1).tolist()
        if "num_keypoints" in each:
            each["num_keypoints"] = num_keypoints
    return anns if list_input else anns[0]


def transform_pred(pred_info: Any, num_keypoints: int, mapping: Any) -> Any:
    """Re-index predictions' ``keypoints`` ``(N, K, C)`` and ``keypoint_scores`` ``(N, K)`` (dict or list, in place)."""
    source_index, target_index = split_mapping(mapping)
    list_input = isinstance(pred_info, list)
    preds = pred_info if list_input else [pred_info]
    for each in preds:
        if "keypoints" in each:
            keypoints = np.asarray(each["keypoints"])
            n, _, c = keypoints.shape
            new_keypoints = np.zeros((n, num_keypoints, c), dtype=keypoints.dtype)
            new_keypoints[:, target_index] = keypoints[:, source_index]
            each["keypoints"] = new_keypoints
            keypoint_scores = np.asarray(each["keypoint_scores"])
            new_scores = np.zeros((n, num_keypoints), dtype=keypoint_scores.dtype)
            new_scores[:, target_index] = keypoint_scores[:, source_index]
            each["keypoint_scores"] = new_scores
        if "num_keypoints" in each:
            each["num_keypoints"] = num_keypoints
    return preds if list_input else preds[0]


def transform_keypoints(kpt_info: Any, num_keypoints: int, mapping: Any) -> Any:
    """MMPose's older combined helper: ``keypoints`` ``(N, K, C)`` (predictions) or flat ``[x, y, v] * K``
    (annotations) re-indexed by ``mapping``, in place; ``num_keypoints`` updated when present."""
    source_index, target_index = split_mapping(mapping)
    list_input = isinstance(kpt_info, list)
    infos = kpt_info if list_input else [kpt_info]
    for each in infos:
        if "keypoints" in each:
            keypoints = np.asarray(each["keypoints"])
            if keypoints.ndim > 1:
                n, _, c = keypoints.shape
                new_keypoints = np.zeros((n, num_keypoints, c), dtype=keypoints.dtype)
                new_keypoints[:, target_index] = keypoints[:, source_index]
                each["keypoints"] = new_keypoints
            else:
                keypoints = keypoints.reshape(-1, 3)
                new_keypoints = np.zeros((num_keypoints, 3), dtype=keypoints.dtype)
                new_keypoints[target_index] = keypoints[source_index]
                each["keypoints"] = new_keypoints.reshape(-1).tolist()
        if "num_keypoints" in each:
            each["num_keypoints"] = num_keypoints
    return infos if list_input else infos[0]
