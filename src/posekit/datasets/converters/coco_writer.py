"""Collects images and keypoint instances and writes COCO keypoint JSON (shared by the label converters)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["CocoBuilder", "image_size"]


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of an image file (read with OpenCV); a clear error when it does not decode."""
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise FileNotFoundError(f"{path}: image does not exist or does not decode (needed for its size)")
    return int(img.shape[1]), int(img.shape[0])


class CocoBuilder:
    """Accumulate images and instances; :meth:`to_dict` gives the COCO keypoint dataset.

    Args:
        keypoints: keypoint names in output order.
        skeleton: optional links as pairs of names.
        category: the single category's name.
        box_padding: a box made from keypoints is their extent grown by this fraction per side (clipped to the image).
    """

    def __init__(
        self,
        keypoints: Sequence[str],
        skeleton: Sequence[Sequence[str]] = (),
        category: str = "object",
        box_padding: float = 0.1,
    ) -> None:
        names = list(keypoints)
        if not names:
            raise ValueError("keypoints: give the keypoint names (none found in the input)")
        if len(set(names)) != len(names):
            dup = sorted({n for n in names if names.count(n) > 1})
            raise ValueError(f"keypoints: duplicate name(s) {dup}")
        for link in skeleton:
            for end in link:
                if end not in names:
                    raise ValueError(f"skeleton: {list(link)!r}: {end!r} is not one of the keypoints {names}")
        self.names = names
        self.index = {n: i for i, n in enumerate(names)}
        self.skeleton = [[self.index[a] + 1, self.index[b] + 1] for a, b in skeleton]
        self.category = category
        self.box_padding = box_padding
        self.images: list[dict] = []
        self.annotations: list[dict] = []
        self._image_ids: dict[str, int] = {}

    def add_image(self, file_name: str, width: int, height: int) -> int:
        """Register an image (once per ``file_name``); returns its id."""
        if file_name not in self._image_ids:
            img_id = len(self.images) + 1
            self._image_ids[file_name] = img_id
            self.images.append(dict(id=img_id, file_name=file_name, width=int(width), height=int(height)))
        return self._image_ids[file_name]

    def add_instance(self, image_id: int, keypoints: np.ndarray, bbox_xywh: Sequence[float] | None = None) -> None:
        """One object: ``keypoints`` (K, 3) ``[x, y, v]`` in output order (``v``: 0 unlabelled, 1 hidden, 2 visible;
        unlabelled rows are written as ``0, 0, 0``); ``bbox_xywh`` or the padded keypoint extent."""
        kpts = np.asarray(keypoints, dtype=np.float64).reshape(len(self.names), 3).copy()
        labelled = kpts[:, 2] > 0
        kpts[~labelled] = 0
        img = self.images[image_id - 1]
        if bbox_xywh is None:
            if not labelled.any():
                return  # nothing labelled and no box: not an instance
            lo, hi = kpts[labelled, :2].min(axis=0), kpts[labelled, :2].max(axis=0)
            pad = (hi - lo) * self.box_padding + 1.0
            lo = np.maximum(lo - pad, 0)
            hi = np.minimum(hi + pad, [img["width"], img["height"]])
            bbox_xywh = [float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1])]
        x, y, w, h = (float(v) for v in bbox_xywh)
        self.annotations.append(
            dict(
                id=len(self.annotations) + 1,
                image_id=image_id,
                category_id=1,
                iscrowd=0,
                bbox=[round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                area=round(w * h, 2),
                num_keypoints=int(labelled.sum()),
                keypoints=[round(float(v), 3) if j % 3 != 2 else int(v) for j, v in enumerate(kpts.reshape(-1))],
            )
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(
            info=dict(description="converted by posekit-convert-labels"),
            images=self.images,
            annotations=self.annotations,
            categories=[
                dict(id=1, name=self.category, supercategory=self.category, keypoints=self.names,
                     skeleton=self.skeleton)
            ],
        )  # fmt: skip

    def write(self, path: str | os.PathLike) -> str:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        return str(path)
