"""MMPose's 2D face-landmark datasets: 300W, AFLW, COFW, LaPa, COCO-WholeBody-Face.

WFLW is :class:`~posekit.datasets.WFLWDataset` in ``coco_style.py``. 300W and AFLW box each face by its
``center`` / ``scale`` (x200 px) as MMPose; AFLW items carry ``box_size`` in test mode (its NME normaliser).
"""

from __future__ import annotations

import numpy as np

from .coco_style import CocoStyleDataset

__all__ = ["Face300WDataset", "AFLWDataset", "COFWDataset", "LapaDataset", "CocoWholeBodyFaceDataset"]


class Face300WDataset(CocoStyleDataset):
    """300W (68): boxes from the annotation's ``center`` / ``scale``."""

    METAINFO = "300w"

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        ann, img = raw_data_info["raw_ann_info"], raw_data_info["raw_img_info"]
        if "keypoints" not in ann:
            return None
        return self._parse_center_scale(ann, img)


class AFLWDataset(Face300WDataset):
    """AFLW (19): boxes from ``center`` / ``scale``; in test mode every item has ``box_size`` (the annotation's,
    the NME normaliser of AFLW's protocol)."""

    METAINFO = "aflw"

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        info = super().parse_data_info(raw_data_info)
        if info is not None and self.test_mode:
            ann = raw_data_info["raw_ann_info"]
            if "box_size" not in ann:
                raise ValueError(
                    f"{self.ann_file}: annotation id {ann.get('id')!r} has no 'box_size', which AFLW's evaluation "
                    "needs (test_mode=True)"
                )
            info["box_size"] = np.array([ann["box_size"]], dtype=np.float32)
        return info


class COFWDataset(CocoStyleDataset):
    """COFW (29)."""

    METAINFO = "cofw"


class LapaDataset(CocoStyleDataset):
    """LaPa (106)."""

    METAINFO = "lapa"


class CocoWholeBodyFaceDataset(CocoStyleDataset):
    """COCO-WholeBody faces (68): each person's ``face_kpts`` boxed by ``face_box``; persons without a valid,
    labelled face are skipped."""

    METAINFO = "coco_wholebody_face"

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        ann = raw_data_info["raw_ann_info"]
        kpts = ann.get("face_kpts")
        if not ann.get("face_valid") or not kpts or max(kpts) <= 0:
            return None
        face = {**ann, "bbox": ann["face_box"], "keypoints": kpts}
        face.pop("num_keypoints", None)
        face.pop("area", None)
        info = super().parse_data_info({**raw_data_info, "raw_ann_info": face})
        if info is not None:
            info["raw_ann_info"] = ann
        return info
