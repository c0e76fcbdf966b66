"""MMPose's converted MPII annotation format: a JSON list of ``{image, center, scale, joints, joints_vis}``.

:func:`parse_mpii_list` turns such a list into top-down items (``docs/CONTRACTS.md``, "Dataset items");
:func:`parse_center_scale` reads the ``center`` / ``scale`` (box side / 200 px) box that MPII, MPII-TRB and WFLW
share. :class:`~posekit.datasets.CocoStyleDataset` calls them when its ``ann_file`` is a list;
:class:`~posekit.datasets.MpiiDataset` (``datasets/mpii.py``) adds MPII's head boxes for PCKh.
"""

from __future__ import annotations

import os.path as osp
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..structures.bbox import bbox_cs2xyxy

__all__ = ["PIXEL_STD", "MPII_FIELDS", "parse_center_scale", "parse_mpii_list"]

# MPII / WFLW / MPII-TRB store box sizes in units of 200 px.
PIXEL_STD = 200.0
MPII_FIELDS = ("image", "center", "scale", "joints", "joints_vis")


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def parse_center_scale(ann: Mapping, source: str) -> tuple[np.ndarray, np.ndarray]:
    """``ann['center']`` (x, y) and ``ann['scale']`` (box side / 200 px) -> center (1, 2), scale (1, 2) in px."""
    c, s = ann.get("center"), ann.get("scale")
    where = f"{source}: annotation {ann.get('id', ann.get('image', '?'))!r}"
    if not isinstance(c, (list, tuple)) or len(c) != 2 or not all(map(_is_number, c)):
        raise ValueError(f"{where}: field 'center' must be [x, y], got {c!r}")
    if not _is_number(s):
        raise ValueError(f"{where}: field 'scale' must be a number (box size / 200 px), got {s!r}")
    center = np.array([c], dtype=np.float32)
    scale = np.array([[s, s]], dtype=np.float32) * PIXEL_STD
    return center, scale


def parse_mpii_list(
    anns: list, source: str, img_prefix: str, num_keypoints: int, dataset_name: str
) -> tuple[list[dict], list[dict]]:
    """MMPose's MPII JSON list -> ``(instance_list, image_list)`` (the image list is empty: the format has none).

    As MMPose's ``MpiiDataset``: the 1-based Matlab centres are moved down by 15 px at scale 1 and made 0-based;
    ``keypoints_visible = min(1, joints_vis)``; ``img_id`` is the file stem when it is a number, else a running id.

    Args:
        anns: the parsed JSON list.
        source: the file name, for error messages.
        img_prefix: folder joined in front of each ``image``.
        num_keypoints / dataset_name: the metainfo's, checked against each entry's ``joints``.
    """
    instance_list, image_ids = [], {}
    for idx, ann in enumerate(anns):
        where = f"{source}: entry {idx}"
        if not isinstance(ann, Mapping):
            raise ValueError(f"{where}: expected a dict {{image, center, scale, joints, joints_vis}}, got {ann!r}")
        missing = [k for k in MPII_FIELDS if k not in ann]
        if missing:
            raise ValueError(
                f"{where}: missing field(s) {missing}; an MPII-format file is a list of "
                "{image, center, scale, joints, joints_vis} (use a COCO-format file otherwise)"
            )
        center, scale = parse_center_scale(ann, source)
        if center[0, 0] != -1:
            center[0, 1] = center[0, 1] + 15.0 / PIXEL_STD * scale[0, 1]
        center = center - 1
        bbox = bbox_cs2xyxy(center, scale).astype(np.float32)
        try:
            keypoints = np.asarray(ann["joints"], dtype=np.float32)
            visible = np.asarray(ann["joints_vis"], dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: fields 'joints' / 'joints_vis' must be numbers ({e})") from e
        if keypoints.ndim != 2 or keypoints.shape[1] != 2 or visible.shape != (keypoints.shape[0],):
            raise ValueError(
                f"{where}: 'joints' must be K x [x, y] and 'joints_vis' K numbers, got shapes "
                f"{keypoints.shape} and {visible.shape}"
            )
        if keypoints.shape[0] != num_keypoints:
            raise ValueError(
                f"{where} (image {ann['image']!r}) has {keypoints.shape[0]} keypoints but the metainfo "
                f"{dataset_name!r} has {num_keypoints}; pass the metainfo that matches this file"
            )
        image = str(ann["image"])
        stem = osp.splitext(osp.basename(image))[0]
        img_id = int(stem) if stem.isdigit() else image_ids.setdefault(image, len(image_ids))
        instance_list.append(
            {
                "id": idx,
                "img_id": img_id,
                "img_path": osp.join(img_prefix, image),
                "bbox_center": center,
                "bbox_scale": scale,
                "bbox": bbox,
                "bbox_score": np.ones(1, dtype=np.float32),
                "keypoints": keypoints.reshape(1, num_keypoints, 2),
                "keypoints_visible": np.minimum(1, visible).reshape(1, num_keypoints),
                "category_id": 1,
                "raw_ann_info": ann,
            }
        )
    return instance_list, []
