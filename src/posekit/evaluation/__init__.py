"""Evaluation: COCO-style keypoint AP (``CocoMetric``), PoseTrack18 AP (``PoseTrack18Metric``), OKS NMS,
PCK / AUC / EPE / NME metrics, and
``KeypointPartitionMetric`` (any of them per named keypoint subset, e.g. COCO-WholeBody's body / face / hands).

Every module here imports only numpy at import time: pycocotools is loaded when a ``CocoMetric`` is built with an
``ann_file`` or evaluated, torch only to gather results across ranks. ``posekit.evaluation.functional`` (accuracy
functions with MMPose's names) is what models import for their ``acc_pose``.

Metrics share two APIs (see :mod:`posekit.evaluation.base`): posekit's ``update(metas, keypoints, keypoint_scores)``
/ ``compute()`` / ``reset()`` and MMPose's ``dataset_meta`` / ``process(data_batch, data_samples)`` /
``evaluate(size)``.
"""

from __future__ import annotations

from . import functional
from .base import BaseMetric
from .coco import CocoMetric
from .coco_wholebody import CocoWholeBodyMetric
from .functional import (
    keypoint_auc,
    keypoint_epe,
    keypoint_mpjpe,
    keypoint_nme,
    keypoint_pck_accuracy,
    multilabel_classification_accuracy,
    pose_pck_accuracy,
    simcc_pck_accuracy,
    transform_ann,
    transform_keypoints,
    transform_pred,
    transform_sigmas,
)
from .keypoint import AUC, EPE, NME, JhmdbPCKAccuracy, MpiiPCKAccuracy, PCKAccuracy
from .nms import nearby_joints_nms, nms, nms_torch, oks_iou, oks_nms, soft_oks_nms
from .partition import KeypointPartitionMetric
from .posetrack18 import PoseTrack18Metric

__all__ = [
    "AUC",
    "EPE",
    "NME",
    "BaseMetric",
    "CocoMetric",
    "CocoWholeBodyMetric",
    "JhmdbPCKAccuracy",
    "KeypointPartitionMetric",
    "MpiiPCKAccuracy",
    "PCKAccuracy",
    "PoseTrack18Metric",
    "functional",
    "keypoint_auc",
    "keypoint_epe",
    "keypoint_mpjpe",
    "keypoint_nme",
    "keypoint_pck_accuracy",
    "multilabel_classification_accuracy",
    "nearby_joints_nms",
    "nms",
    "nms_torch",
    "oks_iou",
    "oks_nms",
    "pose_pck_accuracy",
    "simcc_pck_accuracy",
    "soft_oks_nms",
    "transform_ann",
    "transform_keypoints",
    "transform_pred",
    "transform_sigmas",
]
