"""MMPose's 2D animal datasets: AnimalPose, Animal Kingdom, ATRW, Horse-10, Macaque, Locust, Zebra, Fly.

AP-10K is :class:`~posekit.datasets.AP10KDataset` in ``coco_style.py``. Locust and Zebra images are 160 x 160
crops of one animal: the box is the whole image (as MMPose).
"""

from __future__ import annotations

import numpy as np

from .coco_style import CocoStyleDataset

__all__ = [
    "AnimalPoseDataset",
    "AnimalKingdomDataset",
    "ATRWDataset",
    "Horse10Dataset",
    "MacaqueDataset",
    "LocustDataset",
    "ZebraDataset",
    "FlyDataset",
]


class AnimalPoseDataset(CocoStyleDataset):
    """AnimalPose (20)."""

    METAINFO = "animalpose"


class AnimalKingdomDataset(CocoStyleDataset):
    """Animal Kingdom (23)."""

    METAINFO = "ak"


class ATRWDataset(CocoStyleDataset):
    """ATRW, Amur tigers (15)."""

    METAINFO = "atrw"


class Horse10Dataset(CocoStyleDataset):
    """Horse-10 (22)."""

    METAINFO = "horse10"


class MacaqueDataset(CocoStyleDataset):
    """MacaquePose (17, COCO's keypoints)."""

    METAINFO = "macaque"


class FlyDataset(CocoStyleDataset):
    """Vinegar fly (32)."""

    METAINFO = "fly"


class LocustDataset(CocoStyleDataset):
    """Desert locust (35): 160 x 160 crops, boxed by the whole image."""

    METAINFO = "locust"
    IMAGE_BOX = (0.0, 0.0, 160.0, 160.0)

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        ann = raw_data_info["raw_ann_info"]
        if "keypoints" not in ann:
            return None
        info = super().parse_data_info({**raw_data_info, "raw_ann_info": {**ann, "bbox": [0, 0, 1, 1]}})
        info["bbox"] = np.array([self.IMAGE_BOX], dtype=np.float32)
        info["raw_ann_info"] = ann
        if "area" not in ann:
            info.pop("area", None)
        return info


class ZebraDataset(LocustDataset):
    """Grévy's zebra (9): 160 x 160 crops, boxed by the whole image."""

    METAINFO = "zebra"
