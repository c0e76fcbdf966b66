"""Detections I/O: person boxes from COCO-style JSON files (:func:`load_detections`) and box-array checks."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Detections", "load_detections"]


def _as_boxes(bboxes: Any, bbox_format: str, who: str) -> np.ndarray:
    from posekit.structures import bbox_xywh2xyxy

    if bbox_format not in ("xyxy", "xywh"):
        raise ValueError(f"{who}: bbox_format must be 'xyxy' or 'xywh', got {bbox_format!r}")
    arr = np.asarray(bboxes, dtype=np.float32)
    if arr.size == 0:
        return np.zeros((0, 4), np.float32)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] < 4:
        raise ValueError(f"{who}: bboxes must be (N, 4) [{bbox_format}], got shape {arr.shape}")
    arr = arr[:, :4]
    return bbox_xywh2xyxy(arr) if bbox_format == "xywh" else arr.copy()


class Detections:
    """Person boxes per image from a detection file, looked up by file name or image id (see
    :func:`load_detections`)."""

    def __init__(self, by_name: dict[str, list], by_id: dict[Any, list], source: str) -> None:
        self.by_name = by_name
        self.by_id = by_id
        self.source = source

    def _lookup(self, name: str | None, image_id: Any) -> list | None:
        if name is not None:
            for key in (name, os.path.basename(name)):
                if key in self.by_name:
                    return self.by_name[key]
        if image_id is not None:
            for key in (image_id, str(image_id)):
                if key in self.by_id:
                    return self.by_id[key]
        return None

    def has(self, name: str | None = None, image_id: Any = None) -> bool:
        return self._lookup(name, image_id) is not None

    def get(self, name: str | None = None, image_id: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """``(boxes (N, 4) xyxy, scores (N,))`` of the image with file name ``name`` (its path relative to the
        input folder, or its base name) or id ``image_id``; empty when the file lists none for it."""
        found = self._lookup(name, image_id) or []
        if not found:
            return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
        arr = np.asarray(found, np.float32)
        return arr[:, :4], arr[:, 4]


def load_detections(path: str | os.PathLike, bbox_thr: float = 0.0, det_cat_id: int | None = 1) -> Detections:
    """Read person boxes from a COCO-style JSON file.

    Accepted layouts:

    * COCO detection results: ``[{"image_id", "bbox": [x, y, w, h], "score", "category_id"}, ...]``; an entry may
      also name its image with ``"file_name"`` (or ``"img_path"``);
    * a COCO annotation file (``{"images": [...], "annotations": [...]}``): the annotations' boxes (``score``
      when present, else 1; crowd boxes skipped), images matched by their ``file_name``.

    Images are matched by file name first, then by ``image_id`` (an image file named ``000000000785.jpg`` has id
    785 as in COCO; video frames have their 0-based frame index as id).

    Args:
        bbox_thr: drop boxes scoring below.
        det_cat_id: keep entries of this ``category_id`` (1 = COCO's person); ``None`` keeps all. Entries without
            a category are always kept.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"bboxes={path}: no such detection file")
    try:
        raw = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"bboxes={path}: not valid JSON ({err})") from None
    id_to_name: dict[Any, str] = {}
    if isinstance(raw, Mapping):
        if "annotations" not in raw:
            raise ValueError(
                f"bboxes={path}: a dict needs 'annotations' (+ 'images'); otherwise give a COCO detection-result "
                "list [{image_id, bbox: [x, y, w, h], score, category_id}, ...]"
            )
        for img in raw.get("images") or []:
            if "id" in img and "file_name" in img:
                id_to_name[img["id"]] = img["file_name"]
        entries = [a for a in raw["annotations"] if not a.get("iscrowd", 0)]
    elif isinstance(raw, list):
        entries = raw
    else:
        raise ValueError(f"bboxes={path}: expected a list of detections or a COCO dict, got {type(raw).__name__}")
    by_name: dict[str, list] = {}
    by_id: dict[Any, list] = {}
    for i, det in enumerate(entries):
        if not isinstance(det, Mapping) or "bbox" not in det:
            raise ValueError(f"bboxes={path}: entry #{i} has no 'bbox' [x, y, w, h]: {det!r}"[:300])
        box = det["bbox"]
        if not isinstance(box, (list, tuple)) or len(box) < 4:
            raise ValueError(f"bboxes={path}: entry #{i}: 'bbox' must be [x, y, w, h], got {box!r}")
        if det_cat_id is not None and "category_id" in det and det["category_id"] != det_cat_id:
            continue
        score = float(det.get("score", 1.0))
        if score < bbox_thr:
            continue
        x, y, w, h = (float(v) for v in box[:4])
        row = [x, y, x + w, y + h, score]
        name = det.get("file_name") or det.get("img_path") or id_to_name.get(det.get("image_id"))
        if name is not None:
            by_name.setdefault(str(name), []).append(row)
            base = os.path.basename(str(name))
            if base != name:
                by_name.setdefault(base, []).append(row)
        if "image_id" in det:
            by_id.setdefault(det["image_id"], []).append(row)
        elif name is None:
            raise ValueError(f"bboxes={path}: entry #{i} names no image (needs 'image_id' or 'file_name')")
    return Detections(by_name, by_id, str(path))


def _image_id_from_name(name: str) -> int | None:
    stem = Path(name).stem
    return int(stem) if stem.isdigit() else None
