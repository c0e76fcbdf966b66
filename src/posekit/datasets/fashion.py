"""MMPose's fashion-landmark datasets: DeepFashion2 (294 landmarks over 13 clothes categories) and DeepFashion
(FLD: full-body 8, upper-body 6 or lower-body 4 landmarks)."""

from __future__ import annotations

import os
from typing import Any

from .coco_style import CocoStyleDataset

__all__ = ["DeepFashion2Dataset", "DeepFashionDataset"]


class DeepFashion2Dataset(CocoStyleDataset):
    """DeepFashion2 (294)."""

    METAINFO = "deepfashion2"


class DeepFashionDataset(CocoStyleDataset):
    """DeepFashion fashion-landmark detection (FLD).

    Args:
        subset: ``'full'`` (or ``''``), ``'upper'`` or ``'lower'``: picks the metainfo (8, 6 or 4 landmarks)
            unless ``metainfo`` is given.
        Others: as :class:`CocoStyleDataset`.
    """

    METAINFO = "deepfashion_full"
    SUBSETS = {"": "deepfashion_full", "full": "deepfashion_full", "upper": "deepfashion_upper",
               "lower": "deepfashion_lower"}  # fmt: skip

    def __init__(self, ann_file: str | os.PathLike = "", subset: str = "", *args: Any, **kwargs: Any) -> None:
        if subset not in self.SUBSETS:
            raise ValueError(f"DeepFashionDataset: subset={subset!r} is not one of 'full', 'upper', 'lower'")
        self.subset = subset
        if kwargs.get("metainfo") is None:
            kwargs["metainfo"] = self.SUBSETS[subset]
        super().__init__(ann_file, *args, **kwargs)
