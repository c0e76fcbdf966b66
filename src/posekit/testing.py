"""Dummy data for tests of transforms, codecs, heads and models (MMPose's ``mmpose.testing`` helpers).

* :func:`get_coco_sample`: one pipeline results dict in COCO style (image, boxes, 17 keypoints, metainfo fields),
  ready for ``GetBBoxCenterScale`` / ``RandomFlip`` / ``TopdownAffine`` ...;
* :func:`get_packed_inputs`: a :class:`~posekit.structures.PoseBatch` with random targets (heatmaps, regression and
  SimCC labels, weights), what a head's ``loss`` and a model's ``loss`` / ``predict`` take.

Boxes and keypoints come from ``np.random.RandomState(0)`` (the same numbers on every call, as MMPose's helpers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from posekit.structures import PoseBatch, bbox_xyxy2cs

__all__ = ["get_coco_sample", "get_packed_inputs"]

_COCO_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
_COCO_JOINT_WEIGHTS = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5]


def _rand_bboxes(rng: np.random.RandomState, num: int, img_w: float, img_h: float) -> np.ndarray:
    """(num, 4) xyxy boxes: random centre and size (fractions of the image), clipped to it."""
    cx, cy, bw, bh = rng.rand(num, 4).T
    x1 = (cx * img_w - img_w * bw / 2).clip(0, img_w)
    y1 = (cy * img_h - img_h * bh / 2).clip(0, img_h)
    x2 = (cx * img_w + img_w * bw / 2).clip(0, img_w)
    y2 = (cy * img_h + img_h * bh / 2).clip(0, img_h)
    return np.stack([x1, y1, x2, y2], axis=1)


def _rand_keypoints(rng: np.random.RandomState, bboxes: np.ndarray, num_keypoints: int) -> np.ndarray:
    """(N, K, 2) keypoints uniformly inside each box."""
    t = rng.rand(bboxes.shape[0], num_keypoints, 2)
    return t * bboxes[:, None, :2] + (1 - t) * bboxes[:, None, 2:4]


def get_coco_sample(
    img_shape: Sequence[int] = (240, 320),
    img_fill: int | None = None,
    num_instances: int = 1,
    with_bbox_cs: bool = True,
    with_img_mask: bool = False,
    random_keypoints_visible: bool = False,
    non_occlusion: bool = False,
) -> dict:
    """A COCO-style pipeline results dict with ``num_instances`` people.

    Args:
        img_shape: (h, w) of the uint8 BGR image (random pixels, or all ``img_fill``).
        with_bbox_cs: add ``bbox_center`` / ``bbox_scale`` (as ``GetBBoxCenterScale`` with padding 1).
        with_img_mask: add a random (h, w) ``img_mask``.
        random_keypoints_visible: random 0/1 visibility instead of all visible.
        non_occlusion: place the people side by side (each box in its own vertical strip).
    """
    rng = np.random.RandomState(0)
    h, w = int(img_shape[0]), int(img_shape[1])
    if img_fill is None:
        img = np.random.randint(0, 256, (h, w, 3), dtype=np.uint8)
    else:
        img = np.full((h, w, 3), img_fill, dtype=np.uint8)
    if non_occlusion:
        bbox = _rand_bboxes(rng, num_instances, w / num_instances, h)
        bbox[:, 0::2] += (w / num_instances * np.arange(num_instances))[:, None]
    else:
        bbox = _rand_bboxes(rng, num_instances, w, h)
    keypoints = _rand_keypoints(rng, bbox, 17)
    if random_keypoints_visible:
        keypoints_visible = np.random.randint(0, 2, (num_instances, 17)).astype(np.float32)
    else:
        keypoints_visible = np.ones((num_instances, 17), dtype=np.float32)
    data = {
        "img": img,
        "img_shape": (h, w),
        "bbox": bbox,
        "keypoints": keypoints,
        "keypoints_visible": keypoints_visible,
        "upper_body_ids": list(range(11)),
        "lower_body_ids": list(range(11, 17)),
        "flip_pairs": [[j, i] for i, j in enumerate(_COCO_FLIP_INDICES) if i != j],
        "flip_indices": list(_COCO_FLIP_INDICES),
        "dataset_keypoint_weights": np.array(_COCO_JOINT_WEIGHTS, dtype=np.float32),
        "invalid_segs": [],
    }
    if with_bbox_cs:
        data["bbox_center"], data["bbox_scale"] = bbox_xyxy2cs(bbox)
    if with_img_mask:
        data["img_mask"] = np.random.randint(0, 2, (h, w), dtype=np.uint8)
    return data


def get_packed_inputs(
    batch_size: int = 2,
    num_instances: int = 1,
    num_keypoints: int = 17,
    num_levels: int = 1,
    img_shape: Sequence[int] = (128, 128),
    input_size: Sequence[int] = (192, 256),
    heatmap_size: Sequence[int] = (48, 64),
    simcc_split_ratio: float = 2.0,
    with_heatmap: bool = True,
    with_reg_label: bool = True,
    with_simcc_label: bool = True,
) -> PoseBatch:
    """A batch of ``batch_size`` random (3, h, w) uint8 images with random targets.

    Targets: ``heatmaps`` (B, K, H, W) (``num_levels > 1``: (B, L * K, H, W), the levels stacked), and per
    instance (B * N rows): ``keypoint_weights`` (ones; (B * N, L, K) with levels), ``keypoint_labels`` (keypoints
    / input_size), ``keypoint_x_labels`` / ``keypoint_y_labels`` (random, ``round(input_size * split_ratio)``
    long). Metas: ``id``, ``img_id``, ``img_path``, ``img_shape``, ``input_size``, ``flip``, ``flip_direction``,
    a random permutation as ``flip_indices``, the boxes, their centres / scales and the keypoints.
    """
    rng = np.random.RandomState(0)
    h, w = int(img_shape[0]), int(img_shape[1])
    inputs, metas = [], []
    targets: dict[str, list[np.ndarray]] = {}

    def add(key: str, value: np.ndarray) -> None:
        targets.setdefault(key, []).append(value)

    for idx in range(batch_size):
        inputs.append(rng.randint(0, 255, size=(3, h, w), dtype=np.uint8))
        bboxes = _rand_bboxes(rng, num_instances, w, h)
        centers, scales = bbox_xyxy2cs(bboxes)
        keypoints = _rand_keypoints(rng, bboxes, num_keypoints)
        visible = np.ones((num_instances, num_keypoints), dtype=np.float32)
        flip_indices = list(range(num_keypoints))
        np.random.shuffle(flip_indices)
        metas.append(
            {
                "id": idx,
                "img_id": idx,
                "img_path": "<demo>.png",
                "img_shape": (h, w),
                "input_size": tuple(input_size),
                "input_center": centers[0].astype(np.float32),
                "input_scale": scales[0].astype(np.float32),
                "flip": False,
                "flip_direction": None,
                "flip_indices": flip_indices,
                "bbox": bboxes.astype(np.float32),
                "bbox_center": centers,
                "bbox_scale": scales,
                "bbox_score": np.ones(num_instances, dtype=np.float32),
                "keypoints": keypoints,
                "keypoints_visible": visible,
            }
        )
        add("keypoint_weights", np.repeat(visible[:, None], num_levels, axis=1) if num_levels > 1 else visible)
        if with_reg_label:
            add("keypoint_labels", (keypoints / np.asarray(input_size)).astype(np.float32))
        if with_simcc_label:
            len_x = int(np.around(input_size[0] * simcc_split_ratio))
            len_y = int(np.around(input_size[1] * simcc_split_ratio))
            add("keypoint_x_labels", rng.rand(num_instances, num_keypoints, len_x).astype(np.float32))
            add("keypoint_y_labels", rng.rand(num_instances, num_keypoints, len_y).astype(np.float32))
        if with_heatmap:
            hw, hh = heatmap_size
            add("heatmaps", rng.rand(num_levels * num_keypoints, hh, hw).astype(np.float32))

    stacked = {
        key: torch.from_numpy(np.stack(vals) if key == "heatmaps" else np.concatenate(vals))
        for key, vals in targets.items()
    }
    centers = torch.from_numpy(np.stack([m["input_center"] for m in metas]))
    scales = torch.from_numpy(np.stack([m["input_scale"] for m in metas]))
    return PoseBatch(
        inputs=torch.from_numpy(np.stack(inputs)), targets=stacked, centers=centers, scales=scales, metas=metas
    )
