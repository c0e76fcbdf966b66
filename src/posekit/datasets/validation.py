"""Annotation checks and filter accounting for the COCO-style datasets.

* :func:`check_finite`: a NaN/Inf box or keypoint is an error naming the annotation id and the file (a NaN box
  used to give all-black crops, NaN keypoints were accepted, an infinite box was silently clipped).
* :func:`filter_instances`: MMPose's instance filter (crowd, no labelled keypoints, empty box) that also counts
  what it drops per reason and reports it in one log line.
* :func:`filter_data_with_counts`: ``filter_cfg`` (``bbox_score_thr``, ``min_size``) with the same accounting.
* :func:`set_bad_image_policy`: ``data.on_bad_image=error|skip`` applied to the ``LoadImage`` of a pipeline.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = ["check_finite", "filter_data_with_counts", "filter_instances", "set_bad_image_policy"]

logger = logging.getLogger("posekit.datasets")


def _all_finite(values: Any) -> bool:
    if values is None:
        return True
    if isinstance(values, (int, float)):
        return math.isfinite(values)
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        return True  # not numbers: the parser reports the field
    return bool(np.isfinite(arr).all())


def check_finite(item: Mapping[str, Any], source: str) -> None:
    """Raise ``ValueError`` if the item's box or keypoints (raw annotation or parsed) hold NaN/Inf."""
    raw = item.get("raw_ann_info") or {}
    ann_id = raw.get("id", item.get("id"))
    for field in ("bbox", "keypoints"):
        for where, values in ((f"field '{field}'", raw.get(field)), (f"parsed {field}", item.get(field))):
            if not _all_finite(values):
                raise ValueError(
                    f"{source}: annotation id {ann_id!r}: {where} holds NaN/Inf ({np.asarray(values).ravel()[:8]}); "
                    "fix or remove this annotation"
                )
    score = item.get("bbox_score")
    if score is not None and not _all_finite(score):
        raise ValueError(f"{source}: item id {ann_id!r}: bbox_score holds NaN/Inf; fix the detection file")


def _drop_reason(item: Mapping[str, Any], keep_empty: bool) -> str:
    if item.get("iscrowd"):
        return "crowd"
    if not keep_empty:
        if item.get("num_keypoints", 1) == 0 or ("keypoints" in item and np.max(item["keypoints"]) <= 0):
            return "no labelled keypoints"
    return "empty or negative-size box"


def _report(source: str, total: int, kept: int, reasons: Counter, what: str) -> None:
    if total == kept:
        logger.info("%s: %s kept all %d instances", source, what, total)
        return
    detail = ", ".join(f"{reason}: {n}" for reason, n in reasons.most_common())
    logger.info("%s: %s kept %d of %d instances (dropped %s)", source, what, kept, total, detail)


def filter_instances(dataset: Any, instances: Iterable[dict]) -> list[dict]:
    """``dataset._is_valid_instance`` over ``instances`` after :func:`check_finite`; one log line with the counts
    per reason. ``dataset.filter_counts`` keeps them (``{'crowd': n, ...}``)."""
    source = str(getattr(dataset, "ann_file", "") or type(dataset).__name__)
    filter_cfg = getattr(dataset, "filter_cfg", None)
    keep_empty = bool(filter_cfg) and not filter_cfg.get("filter_empty_gt", True)
    kept, reasons, total = [], Counter(), 0
    for item in instances:
        total += 1
        check_finite(item, source)
        if dataset._is_valid_instance(item):
            kept.append(item)
        else:
            reasons[_drop_reason(item, keep_empty)] += 1
    dataset.filter_counts = dict(reasons)
    _report(source, total, len(kept), reasons, "instance filter")
    return kept


def filter_data_with_counts(dataset: Any, data_list: list[dict]) -> list[dict]:
    """``dataset.filter_data`` (``filter_cfg``: ``bbox_score_thr``, ``min_size``) with :func:`check_finite` on
    detection items and one log line of what each active filter dropped."""
    source = str(getattr(dataset, "bbox_file", None) or getattr(dataset, "ann_file", "") or type(dataset).__name__)
    if getattr(dataset, "bbox_file", None):
        for item in data_list:
            check_finite(item, source)
    cfg = getattr(dataset, "filter_cfg", None) or {}
    out = dataset.filter_data(data_list)
    if cfg and len(out) != len(data_list):
        active = ", ".join(f"{k}={v}" for k, v in cfg.items() if k in ("bbox_score_thr", "min_size") and v)
        _report(source, len(data_list), len(out), Counter({f"filter_cfg ({active})": len(data_list) - len(out)}),
                "filter_cfg")  # fmt: skip
    return out


def set_bad_image_policy(dataset: Any, policy: str | None) -> None:
    """Set ``on_bad_image`` (``'error'`` | ``'skip'``) on every ``LoadImage`` of ``dataset``'s pipeline."""
    if policy is None:
        return
    from posekit.datasets.transforms.loading import BAD_IMAGE_POLICIES, LoadImage

    if policy not in BAD_IMAGE_POLICIES:
        raise ValueError(f"data.on_bad_image={policy!r}: choose one of {', '.join(BAD_IMAGE_POLICIES)}")
    pipeline = getattr(dataset, "pipeline", None)
    stack = [pipeline]
    while stack:
        t = stack.pop()
        if isinstance(t, LoadImage):
            t.on_bad_image = policy
        elif isinstance(t, (list, tuple)):
            stack.extend(t)
        elif hasattr(t, "transforms"):
            stack.extend(t.transforms)
    for sub in getattr(dataset, "datasets", None) or []:  # CombinedDataset
        set_bad_image_policy(sub, policy)
