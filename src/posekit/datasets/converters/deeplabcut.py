"""DeepLabCut labels (``labeled-data/<video>/CollectedData_<scorer>.csv``) -> COCO keypoint JSON.

The CSV has header rows ``scorer``, (multi-animal: ``individuals``), ``bodyparts``, ``coords`` (``x``, ``y``) and one
row per image whose first 1 (old) or 3 (DLC >= 2.2: ``labeled-data``, video, file) cells give the image path relative
to the project folder. Every individual with at least one labelled body part becomes an instance; labelled parts are
``v = 2`` (DeepLabCut has no occlusion flag), empty cells unlabelled.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .coco_writer import CocoBuilder, image_size

__all__ = ["dlc_to_coco", "read_dlc_csv"]


def read_dlc_csv(path: str | os.PathLike) -> tuple[list[str], list[str], list[tuple[str, dict[str, dict]]]]:
    """Parse a CollectedData CSV: ``(bodyparts, individuals, rows)``; each row is ``(image path, {individual:
    {bodypart: (x, y) or None}})``. Single-animal files have the one individual ``''``."""
    path = str(path)
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header: dict[str, list[str]] = {}
    body_start = None
    for i, row in enumerate(rows):
        if not row:
            continue
        key = row[0].strip().lower()
        if key in ("scorer", "individuals", "bodyparts", "coords"):
            header[key] = row
            if key == "coords":
                body_start = i + 1
                break
    if body_start is None or "bodyparts" not in header:
        raise ValueError(
            f"{path}: not a DeepLabCut CollectedData CSV (header rows 'scorer', 'bodyparts', 'coords' not found)"
        )
    parts_row, coords_row = header["bodyparts"], header["coords"]
    n_index = next((j for j in range(1, len(parts_row)) if parts_row[j].strip()), None)
    if n_index is None:
        raise ValueError(f"{path}: row 'bodyparts' names no body part")
    inds_row = header.get("individuals")
    columns = []  # (individual, bodypart, coord) per data column
    for j in range(n_index, len(parts_row)):
        coord = coords_row[j].strip().lower() if j < len(coords_row) else ""
        if coord not in ("x", "y", "likelihood"):
            raise ValueError(f"{path}: column {j}: row 'coords' must be x / y, got {coord!r}")
        ind = inds_row[j].strip() if inds_row is not None else ""
        columns.append((ind, parts_row[j].strip(), coord))
    bodyparts = list(dict.fromkeys(bp for _, bp, _ in columns))
    individuals = list(dict.fromkeys(ind for ind, _, _ in columns))
    out = []
    for r, row in enumerate(rows[body_start:], start=body_start + 1):
        if not row or not any(c.strip() for c in row):
            continue
        image = "/".join(c.strip() for c in row[:n_index] if c.strip()).replace("\\", "/")
        values: dict[str, dict[str, list[float | None]]] = {}
        for (ind, bp, coord), cell in zip(columns, row[n_index:]):
            if coord == "likelihood":
                continue
            cell = cell.strip()
            try:
                v = float(cell) if cell else None
            except ValueError as e:
                raise ValueError(f"{path}: line {r}, {bp} {coord}: {cell!r} is not a number") from e
            if v is not None and math.isnan(v):
                v = None
            slot = values.setdefault(ind, {}).setdefault(bp, [None, None])
            slot[0 if coord == "x" else 1] = v
        labels = {
            ind: {bp: (tuple(xy) if None not in xy else None) for bp, xy in parts.items()}
            for ind, parts in values.items()
        }
        out.append((image, labels))
    return bodyparts, individuals, out


def dlc_to_coco(
    csv_path: str | os.PathLike,
    project_dir: str | os.PathLike | None = None,
    keypoints: Sequence[str] | None = None,
    skeleton: Sequence[Sequence[str]] = (),
    category: str = "animal",
) -> dict[str, Any]:
    """Convert a DeepLabCut CollectedData CSV.

    Args:
        csv_path: the CSV.
        project_dir: the folder the CSV's image paths are relative to (default: the DeepLabCut project, i.e. the
            parent of ``labeled-data``, else the CSV's folder); the output's ``file_name`` stay relative to it.
        keypoints: output keypoint order (default: the CSV's body parts).
        skeleton: optional links (pairs of names).
        category: the category name.
    """
    csv_path = Path(csv_path)
    bodyparts, _, rows = read_dlc_csv(csv_path)
    if project_dir is None:
        parents = [p for p in csv_path.resolve().parents if p.name == "labeled-data"]
        project_dir = parents[0].parent if parents else csv_path.resolve().parent
    project_dir = Path(project_dir)
    names = list(keypoints) if keypoints else bodyparts
    missing = [n for n in names if n not in bodyparts]
    if missing:
        raise ValueError(f"keypoints: {missing} are not body parts of {csv_path} ({bodyparts})")
    builder = CocoBuilder(names, skeleton, category)
    for image, labels in rows:
        img_path = project_dir / image
        if not img_path.is_file() and (csv_path.parent / Path(image).name).is_file():
            image = os.path.relpath(csv_path.parent / Path(image).name, project_dir)
            img_path = project_dir / image
        w, h = image_size(img_path)
        img_id = builder.add_image(image, w, h)
        for parts in labels.values():
            kpts = np.zeros((len(names), 3))
            for k, n in enumerate(names):
                xy = parts.get(n)
                if xy is not None:
                    kpts[k] = (xy[0], xy[1], 2)
            builder.add_instance(img_id, kpts)
    return builder.to_dict()
