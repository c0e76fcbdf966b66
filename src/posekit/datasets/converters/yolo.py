"""Ultralytics YOLO-pose labels -> COCO keypoint JSON.

Layout as Ultralytics: ``.../images/<split>/x.jpg`` with ``.../labels/<split>/x.txt``; each line of a label file is
``class cx cy w h x1 y1 [v1] x2 y2 [v2] ...`` normalised to [0, 1] (``v``: 0 unlabelled, 1 hidden, 2 visible; with
two values per keypoint a keypoint at (0, 0) is unlabelled). Boxes become the COCO ``bbox``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .coco_writer import CocoBuilder, image_size

__all__ = ["yolo_to_coco"]

_IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def _label_path(img: Path) -> Path:
    parts = list(img.parts)
    for i in range(len(parts) - 1, -1, -1):  # the last 'images' folder, as Ultralytics' img2label_paths
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def yolo_to_coco(
    images_dir: str | os.PathLike,
    keypoints: Sequence[str] | None = None,
    num_keypoints: int | None = None,
    skeleton: Sequence[Sequence[str]] = (),
    category: str = "object",
    classes: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Convert a YOLO-pose split.

    Args:
        images_dir: the split's image folder (``.../images/train``); labels are found the Ultralytics way.
        keypoints: keypoint names (their number is K); or give ``num_keypoints`` (names ``kpt0`` ...).
        skeleton: optional links (pairs of names).
        category: the category name.
        classes: keep only these class ids (default: all).
    """
    images_dir = Path(images_dir)
    if not images_dir.is_dir():
        raise FileNotFoundError(f"{images_dir}: images folder does not exist")
    if keypoints is None and num_keypoints is None:
        raise ValueError("keypoints: give the keypoint names (or num_keypoints): YOLO label files do not name them")
    names = list(keypoints) if keypoints else [f"kpt{i}" for i in range(int(num_keypoints))]
    k = len(names)
    builder = CocoBuilder(names, skeleton, category)
    for img in sorted(p for p in images_dir.rglob("*") if p.suffix.lower() in _IMAGE_EXTS):
        w, h = image_size(img)
        img_id = builder.add_image(img.relative_to(images_dir).as_posix(), w, h)
        label = _label_path(img)
        if not label.is_file():
            continue  # an image without objects
        for line_no, line in enumerate(label.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            values = line.split()
            n = len(values) - 5
            if n <= 0 or n not in (2 * k, 3 * k):
                raise ValueError(
                    f"{label}:{line_no}: {len(values)} values; with {k} keypoints a line has 5 + {2 * k} or "
                    f"5 + {3 * k} (class, box, keypoints): check --keypoints / --num-keypoints"
                )
            cls = int(float(values[0]))
            if classes is not None and cls not in classes:
                continue
            cx, cy, bw, bh = (float(v) for v in values[1:5])
            kp = np.asarray(values[5:], dtype=np.float64).reshape(k, n // k)
            out = np.zeros((k, 3))
            out[:, 0], out[:, 1] = kp[:, 0] * w, kp[:, 1] * h
            if n // k == 3:
                out[:, 2] = np.clip(np.round(kp[:, 2]), 0, 2)
            else:
                out[:, 2] = np.where((kp[:, 0] > 0) | (kp[:, 1] > 0), 2, 0)
            builder.add_instance(img_id, out, [(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h])
    if not builder.images:
        raise ValueError(f"{images_dir}: no images found ({', '.join(_IMAGE_EXTS)})")
    return builder.to_dict()
