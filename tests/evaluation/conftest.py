"""Builders of MMPose-style data samples (as MMPose's metric tests make them) from COCO annotation files."""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest


def _load(ann_file_or_db: str | dict) -> dict:
    if isinstance(ann_file_or_db, dict):
        return ann_file_or_db
    with open(ann_file_or_db) as f:
        return json.load(f)


def _perfect(keypoints: np.ndarray) -> dict:
    """Predictions equal to the ground truth, the visibility as score (MMPose's tests)."""
    return {"keypoints": keypoints[..., :2], "keypoint_scores": keypoints[..., -1]}


def _flat_keypoints(ann: dict) -> list:
    return ann["keypoints"]


def topdown_samples(
    ann_file_or_db: str | dict,
    keypoints_of: Callable[[dict], list] = _flat_keypoints,
    predict: Callable[[np.ndarray], dict] = _perfect,
    with_gt_keypoints: bool = False,
) -> list[dict]:
    """One sample per annotation: ``gt_instances`` (box, scale 1.25 x box, score 1), ``pred_instances`` =
    ``predict(keypoints (1, K, 3))``, ``raw_ann_info``, ``crowd_index`` when the image has one."""
    db = _load(ann_file_or_db)
    images = {img["id"]: img for img in db["images"]}
    out = []
    for ann in db["annotations"]:
        w, h = ann["bbox"][2], ann["bbox"][3]
        keypoints = np.array(keypoints_of(ann)).reshape((1, -1, 3))
        gt = {
            "bbox_scales": np.array([w * 1.25, h * 1.25]).reshape(-1, 2),
            "bbox_scores": np.ones((1,), dtype=np.float32),
            "bboxes": np.array(ann["bbox"], dtype=np.float32).reshape(-1, 4),
        }
        if with_gt_keypoints:
            gt["keypoints"], gt["keypoints_visible"] = keypoints[..., :2], keypoints[..., 2:3]
        sample = {
            "id": ann["id"],
            "img_id": ann["image_id"],
            "category_id": ann.get("category_id", 1),
            "gt_instances": gt,
            "pred_instances": predict(keypoints),
            "ori_shape": [640, 480],
            "raw_ann_info": copy.deepcopy(ann),
        }
        if "crowdIndex" in images[ann["image_id"]]:
            sample["crowd_index"] = images[ann["image_id"]]["crowdIndex"]
        out.append(sample)
    return out


def bottomup_samples(
    ann_file_or_db: str | dict,
    keypoints_of: Callable[[dict], list] = _flat_keypoints,
    predict: Callable[[np.ndarray], dict] = _perfect,
    with_gt_keypoints: bool = False,
    with_raw_ann_info: bool = False,
) -> list[dict]:
    """One sample per image holding all its annotations (N instances)."""
    by_image = defaultdict(list)
    for ann in _load(ann_file_or_db)["annotations"]:
        by_image[ann["image_id"]].append(ann)
    out = []
    for img_id, anns in by_image.items():
        keypoints = np.array([keypoints_of(a) for a in anns]).reshape((len(anns), -1, 3))
        gt = {"bbox_scores": np.ones((len(anns)), dtype=np.float32)}
        if with_gt_keypoints:
            gt["keypoints"], gt["keypoints_visible"] = keypoints[..., :2], keypoints[..., 2:3]
        sample = {
            "id": [a["id"] for a in anns],
            "img_id": img_id,
            "gt_instances": gt,
            "pred_instances": predict(keypoints),
        }
        if with_raw_ann_info:  # for metrics without an ann_file
            sample["ori_shape"] = [640, 480]
            sample["raw_ann_info"] = copy.deepcopy(anns)
        out.append(sample)
    return out


@pytest.fixture(scope="session")
def coco_samples() -> SimpleNamespace:
    """``coco_samples.topdown(ann_file, ...)`` / ``coco_samples.bottomup(...)``: see the functions above."""
    return SimpleNamespace(topdown=topdown_samples, bottomup=bottomup_samples)
