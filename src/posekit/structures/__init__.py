"""Boxes, keypoints, warp matrices and the sample/batch containers."""

from .bbox import (
    bbox_clip_border,
    bbox_cs2xywh,
    bbox_cs2xyxy,
    bbox_xywh2cs,
    bbox_xywh2xyxy,
    bbox_xyxy2cs,
    bbox_xyxy2xywh,
    fix_aspect_ratio,
    flip_bbox,
    get_udp_warp_matrix,
    get_warp_matrix,
)
from .keypoint import flip_keypoints, flip_keypoints_custom_center
from .sample import FIELD_TARGET_KEYS, PoseBatch, PoseSample, collate_pose_samples

__all__ = [
    "bbox_clip_border",
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
    "flip_keypoints_custom_center",
    "FIELD_TARGET_KEYS",
    "PoseBatch",
    "PoseSample",
    "collate_pose_samples",
]
