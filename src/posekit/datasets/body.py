"""MMPose's 2D body datasets beyond COCO: Halpe, Human-Art, JHMDB, MHP, PoseTrack18, ExLPose.

All read COCO keypoint JSON through :class:`~posekit.datasets.CocoStyleDataset`; each class carries MMPose's name
and default metainfo, and JHMDB its one format difference (1-based MATLAB coordinates).
"""

from __future__ import annotations

import numpy as np

from .coco_style import CocoStyleDataset

__all__ = ["HalpeDataset", "HumanArtDataset", "JhmdbDataset", "MhpDataset", "PoseTrack18Dataset", "ExlposeDataset"]


class HalpeDataset(CocoStyleDataset):
    """Halpe-FullBody (136: body, face, hands, feet)."""

    METAINFO = "halpe"


class HumanArtDataset(CocoStyleDataset):
    """Human-Art (17, COCO's keypoints on natural and artificial scenes)."""

    METAINFO = "humanart"


class MhpDataset(CocoStyleDataset):
    """MHP, multi-human parsing (16, MPII's keypoints)."""

    METAINFO = "mhp"


class PoseTrack18Dataset(CocoStyleDataset):
    """PoseTrack18 (17) frames as single images (its video annotations in COCO format, one file per split)."""

    METAINFO = "posetrack18"


class ExlposeDataset(CocoStyleDataset):
    """ExLPose, low-light poses (14, CrowdPose's keypoints); items carry the image's ``crowd_index``."""

    METAINFO = "exlpose"


class JhmdbDataset(CocoStyleDataset):
    """Sub-JHMDB (15). Boxes and keypoints are 1-based MATLAB coordinates: 1 is subtracted from both (as MMPose),
    ``num_keypoints`` counts labelled keypoints and ``area`` is 0.53 x the clipped box."""

    METAINFO = "jhmdb"

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        ann, img = raw_data_info["raw_ann_info"], raw_data_info["raw_img_info"]
        if "keypoints" not in ann or "bbox" not in ann:
            return None
        x, y, w, h = ann["bbox"][:4]
        shifted = {**ann, "bbox": [x - 1, y - 1, w, h]}
        info = super().parse_data_info({**raw_data_info, "raw_ann_info": shifted})
        if info is None:
            return None
        info["keypoints"] = info["keypoints"] - 1
        info["num_keypoints"] = int(np.count_nonzero(info["keypoints"].max(axis=2)))
        x1, y1, x2, y2 = info["bbox"][0]
        info["area"] = np.array([max((x2 - x1) * (y2 - y1) * 0.53, 1.0)], dtype=np.float32)
        info["raw_ann_info"] = ann
        info["img_shape"] = info["ori_shape"] = (img["height"], img["width"])
        return info
