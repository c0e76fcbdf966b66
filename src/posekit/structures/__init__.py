"""Boxes, keypoints, warp matrices and the sample/batch containers.

Everything but the sample/batch containers is numpy-only; ``PoseSample`` / ``PoseBatch`` /
``collate_pose_samples`` (torch) are imported on first access, so numpy-only users (``posekit.evaluation``)
do not load torch.
"""

from typing import Any

from .bbox import (
    bbox_clip_border,
    bbox_corner2xyxy,
    bbox_cs2xywh,
    bbox_cs2xyxy,
    bbox_xywh2cs,
    bbox_xywh2xyxy,
    bbox_xyxy2corner,
    bbox_xyxy2cs,
    bbox_xyxy2xywh,
    fix_aspect_ratio,
    flip_bbox,
    get_pers_warp_matrix,
    get_udp_warp_matrix,
    get_warp_matrix,
)
from .bbox_overlaps import bbox_overlaps
from .data_sample import InstanceData, PixelData, PoseDataSample, merge_data_samples, revert_heatmap, split_instances
from .keypoint import flip_keypoints, flip_keypoints_custom_center, keypoint_clip_border
from .keypoint_mapping import split_mapping, transform_ann, transform_keypoints, transform_pred, transform_sigmas

_LAZY = {"FIELD_TARGET_KEYS", "PoseBatch", "PoseSample", "collate_pose_samples"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from . import sample

        return getattr(sample, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "bbox_clip_border",
    "bbox_corner2xyxy",
    "bbox_overlaps",
    "bbox_xyxy2corner",
    "get_pers_warp_matrix",
    "keypoint_clip_border",
    "split_instances",
    "bbox_cs2xywh",
    "bbox_cs2xyxy",
    "bbox_xywh2cs",
    "bbox_xywh2xyxy",
    "bbox_xyxy2cs",
    "bbox_xyxy2xywh",
    "fix_aspect_ratio",
    "flip_bbox",
    "get_udp_warp_matrix",
    "get_warp_matrix",
    "flip_keypoints",
    "InstanceData",
    "PixelData",
    "PoseDataSample",
    "merge_data_samples",
    "revert_heatmap",
    "flip_keypoints_custom_center",
    "FIELD_TARGET_KEYS",
    "PoseBatch",
    "PoseSample",
    "collate_pose_samples",
    "split_mapping",
    "transform_ann",
    "transform_keypoints",
    "transform_pred",
    "transform_sigmas",
]
