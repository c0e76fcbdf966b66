"""MPII (16 keypoints) in MMPose's JSON list format, with MPII's head boxes for PCKh."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .coco_style import CocoStyleDataset

__all__ = ["MpiiDataset"]


class MpiiDataset(CocoStyleDataset):
    """MPII (16) in MMPose's JSON list format.

    Args:
        headbox_file: MPII's ``mpii_gt_val.mat`` (test mode): adds ``head_size`` (1, 1) = 0.6 x the head-box
            diagonal to every item, for PCKh. Needs scipy.
        Others: as :class:`CocoStyleDataset`.
    """

    METAINFO = "mpii"

    def __init__(self, ann_file: str | os.PathLike = "", *args: Any, headbox_file: str | None = None, **kwargs: Any):
        test_mode = kwargs.get("test_mode", False)
        if headbox_file:
            if not test_mode:
                raise ValueError("MpiiDataset: headbox_file is only supported with test_mode=True")
            if not str(headbox_file).endswith(".mat"):
                raise KeyError(f"MpiiDataset: the head boxes file must be a .mat file, got {str(headbox_file)!r}")
        self.headbox_file = str(headbox_file) if headbox_file else None
        super().__init__(ann_file, *args, **kwargs)

    def _load_annotations(self) -> tuple[list[dict], list[dict]]:
        raw = self._read_json(self.ann_file, "ann_file")
        if not isinstance(raw, list):
            raise ValueError(
                f"MpiiDataset: {self.ann_file} is not MMPose's MPII format (a JSON list of "
                "{image, center, scale, joints, joints_vis}); use CocoStyleDataset for COCO-format files"
            )
        instance_list, image_list = self._parse_mpii_list(raw)
        if self.headbox_file:
            head_sizes = self._load_head_sizes(len(instance_list))
            for info, head_size in zip(instance_list, head_sizes):
                info["head_size"] = head_size.reshape(1, -1)
        return instance_list, image_list

    def _load_head_sizes(self, n: int) -> np.ndarray:
        if not Path(self.headbox_file).is_file():
            raise FileNotFoundError(f"MpiiDataset: headbox_file {self.headbox_file!r} does not exist")
        try:
            from scipy.io import loadmat
        except ImportError as e:  # pragma: no cover - depends on the environment
            raise ImportError("MpiiDataset: reading headbox_file (.mat) needs scipy: pip install scipy") from e
        headboxes = np.transpose(loadmat(self.headbox_file)["headboxes_src"], [2, 0, 1])
        if len(headboxes) != n:
            raise ValueError(
                f"MpiiDataset: headbox_file {self.headbox_file!r} has {len(headboxes)} head boxes but "
                f"{self.ann_file} has {n} annotations"
            )
        return np.linalg.norm(headboxes[:, 1] - headboxes[:, 0], axis=1).astype(np.float32) * 0.6
