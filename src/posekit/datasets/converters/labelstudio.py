"""Label Studio JSON export (keypoint labelling) -> COCO keypoint JSON.

Each task's first non-cancelled annotation is read: ``keypointlabels`` results (``value.x`` / ``value.y`` in percent
of ``original_width`` / ``original_height``, the label in ``value.keypointlabels``) and optional
``rectanglelabels`` boxes. With boxes, each keypoint belongs to the smallest box that contains it (one instance
per box); without, the image's keypoints are one instance. Label Studio has no occlusion flag: labelled is ``v = 2``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .coco_writer import CocoBuilder, image_size

__all__ = ["labelstudio_to_coco"]


def _image_ref(task: dict, where: str) -> str:
    data = task.get("data") or {}
    for key in ("image", "img", "image_url"):
        if isinstance(data.get(key), str):
            return data[key]
    refs = [v for v in data.values() if isinstance(v, str)]
    if not refs:
        raise ValueError(f"{where}: task has no image reference in 'data'")
    return refs[0]


def labelstudio_to_coco(
    export_path: str | os.PathLike,
    images_dir: str | os.PathLike | None = None,
    keypoints: Sequence[str] | None = None,
    skeleton: Sequence[Sequence[str]] = (),
    category: str = "object",
) -> dict[str, Any]:
    """Convert a Label Studio JSON export (a list of tasks).

    Args:
        export_path: the exported JSON.
        images_dir: where the images are: ``file_name`` is the image's base name (Label Studio stores upload URLs
            such as ``/data/upload/3/ab12-img.jpg``); image sizes come from the results' ``original_width`` /
            ``original_height``, or from the file in ``images_dir`` when a task has no result.
        keypoints: output keypoint order (default: the labels in order of first appearance).
        skeleton: optional links (pairs of names).
        category: the category name.
    """
    export_path = Path(export_path)
    tasks = json.loads(export_path.read_text(encoding="utf-8"))
    if not isinstance(tasks, list):
        raise ValueError(f"{export_path}: a Label Studio JSON export is a list of tasks, got {type(tasks).__name__}")
    parsed = []  # (file_name, size, points [(label, x, y)], boxes [xywh])
    seen: list[str] = []
    for t, task in enumerate(tasks):
        where = f"{export_path}: task {task.get('id', t)}"
        anns = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
        results = anns[0].get("result", []) if anns else []
        ref = _image_ref(task, where)
        file_name = ref.split("?")[0].rstrip("/").split("/")[-1]
        size, points, boxes = None, [], []
        for res in results:
            value = res.get("value") or {}
            if "original_width" in res and "original_height" in res:
                size = (int(res["original_width"]), int(res["original_height"]))
            if size is None:
                continue
            w, h = size
            if res.get("type") == "keypointlabels":
                label = (value.get("keypointlabels") or [None])[0]
                if label is None:
                    raise ValueError(f"{where}: keypoint result {res.get('id')!r} has no keypointlabels")
                points.append((label, value["x"] / 100 * w, value["y"] / 100 * h))
                if label not in seen:
                    seen.append(label)
            elif res.get("type") == "rectanglelabels":
                boxes.append([value["x"] / 100 * w, value["y"] / 100 * h, value["width"] / 100 * w,
                              value["height"] / 100 * h])  # fmt: skip
        if size is None:
            if images_dir is None:
                raise ValueError(f"{where}: no result gives the image size; pass images_dir to read it")
            size = image_size(Path(images_dir) / file_name)
        parsed.append((file_name, size, points, boxes))
    names = list(keypoints) if keypoints else seen
    builder = CocoBuilder(names, skeleton, category)
    for file_name, (w, h), points, boxes in parsed:
        img_id = builder.add_image(file_name, w, h)
        groups: list[list] = [[] for _ in boxes] if boxes else [[]]
        for label, x, y in points:
            if label not in builder.index:
                raise ValueError(f"keypoints: label {label!r} of {file_name} is not one of {names}")
            if boxes:
                inside = [i for i, (bx, by, bw, bh) in enumerate(boxes) if bx <= x <= bx + bw and by <= y <= by + bh]
                if not inside:
                    continue
                groups[min(inside, key=lambda i: boxes[i][2] * boxes[i][3])].append((label, x, y))
            else:
                groups[0].append((label, x, y))
        for g, group in enumerate(groups):
            kpts = np.zeros((len(names), 3))
            for label, x, y in group:
                kpts[builder.index[label]] = (x, y, 2)
            builder.add_instance(img_id, kpts, boxes[g] if boxes else None)
    return builder.to_dict()
