"""CVAT for images 1.1 XML -> COCO keypoint JSON.

Instances are ``<skeleton>`` elements (their ``<points label=...>`` children; ``outside="1"`` is unlabelled,
``occluded="1"`` hidden ``v = 1``, else ``v = 2``) or, for projects labelled with plain ``<points>`` shapes (one
keypoint label each), the shapes of one ``group_id`` (all shapes of an image without one); a ``<box>`` in the same
group gives the box. Keypoint names and links come from the skeleton label in ``<meta>`` (its ``<svg>``) when present.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .coco_writer import CocoBuilder

__all__ = ["cvat_to_coco"]


def _meta_skeleton(root: ET.Element) -> tuple[str | None, list[str], list[tuple[str, str]]]:
    """(skeleton label, its point names in node order, links) from ``<meta>``; empty when there is none."""
    for label in root.iter("label"):
        if (label.findtext("type") or "") != "skeleton":
            continue
        svg = label.findtext("svg") or ""
        nodes = dict(re.findall(r'data-node-id="(\d+)"[^>]*?data-label-name="([^"]+)"', svg))
        nodes.update({k: v for v, k in re.findall(r'data-label-name="([^"]+)"[^>]*?data-node-id="(\d+)"', svg)})
        names = [nodes[k] for k in sorted(nodes, key=int)]
        links = []
        for a, b in re.findall(r'data-node-from="(\d+)"[^>]*?data-node-to="(\d+)"', svg):
            if a in nodes and b in nodes:
                links.append((nodes[a], nodes[b]))
        return label.findtext("name"), names, links
    return None, [], []


def _xy(shape: ET.Element, where: str) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in shape.get("points", "").split(";")[0].split(","))
    except ValueError as e:
        raise ValueError(f"{where}: points={shape.get('points')!r} is not 'x,y'") from e
    return x, y


def cvat_to_coco(
    xml_path: str | os.PathLike,
    keypoints: Sequence[str] | None = None,
    skeleton: Sequence[Sequence[str]] | None = None,
    category: str | None = None,
) -> dict[str, Any]:
    """Convert a CVAT for images 1.1 export (``annotations.xml``).

    Args:
        xml_path: the XML file; ``file_name`` is each ``<image name=...>``.
        keypoints: output keypoint order (default: the skeleton's points, else the labels in order of appearance).
        skeleton: links (default: the skeleton's lines in ``<meta>``).
        category: the category name (default: the skeleton label, else ``'object'``).
    """
    xml_path = Path(xml_path)
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as e:
        raise ValueError(f"{xml_path}: not valid XML: {e}") from e
    sk_label, sk_names, sk_links = _meta_skeleton(root)
    images = root.findall("image")
    if not images:
        raise ValueError(f"{xml_path}: no <image> elements (export as 'CVAT for images 1.1')")
    # instances: (image element, [(name, x, y, v)], box)
    seen: list[str] = []
    per_image = []
    for img in images:
        where = f"{xml_path}: image {img.get('name')!r}"
        instances = []
        for sk in img.findall("skeleton"):
            pts = []
            for p in sk.findall("points"):
                name = p.get("label")
                v = 0 if p.get("outside") == "1" else 1 if p.get("occluded") == "1" else 2
                x, y = _xy(p, where) if v else (0.0, 0.0)
                pts.append((name, x, y, v))
            instances.append((pts, None))
        groups: dict[str, tuple[list, list]] = {}
        for p in img.findall("points"):
            x, y = _xy(p, where)
            v = 1 if p.get("occluded") == "1" else 2
            groups.setdefault(p.get("group_id", ""), ([], []))[0].append((p.get("label"), x, y, v))
        for b in img.findall("box"):
            if b.get("group_id", "") in groups:
                x0, y0, x1, y1 = (float(b.get(k)) for k in ("xtl", "ytl", "xbr", "ybr"))
                groups[b.get("group_id", "")][1].append([x0, y0, x1 - x0, y1 - y0])
        instances += [(pts, boxes[0] if boxes else None) for pts, boxes in groups.values()]
        for pts, _ in instances:
            for name, *_ in pts:
                if name not in seen:
                    seen.append(name)
        per_image.append((img, instances))
    names = list(keypoints) if keypoints else (sk_names or seen)
    links = sk_links if skeleton is None else [tuple(s) for s in skeleton]
    builder = CocoBuilder(names, links, category or sk_label or "object")
    for img, instances in per_image:
        img_id = builder.add_image(img.get("name"), int(img.get("width")), int(img.get("height")))
        for pts, box in instances:
            kpts = np.zeros((len(names), 3))
            for name, x, y, v in pts:
                if name not in builder.index:
                    raise ValueError(f"keypoints: label {name!r} in image {img.get('name')!r} is not one of {names}")
                kpts[builder.index[name]] = (x, y, v)
            builder.add_instance(img_id, kpts, box)
    return builder.to_dict()
