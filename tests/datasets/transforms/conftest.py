"""Fixtures for the transform tests: a COCO-like top-down results dict (as MMPose's ``get_coco_sample``)."""

from __future__ import annotations

import numpy as np
import pytest

COCO_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
COCO_UPPER = list(range(11))
COCO_LOWER = list(range(11, 17))
COCO_WEIGHTS = np.array(
    [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5], dtype=np.float32
)


def coco_sample(
    img_shape: tuple[int, int] = (240, 320), seed: int = 0, random_visible: bool = False, with_cs: bool = True
) -> dict:
    """One instance with 17 keypoints inside a random box of a random image."""
    rng = np.random.RandomState(seed)
    h, w = img_shape
    img = rng.randint(0, 256, (h, w, 3), dtype=np.uint8)
    x1, y1 = rng.uniform(0.05, 0.35) * w, rng.uniform(0.05, 0.35) * h
    x2, y2 = x1 + rng.uniform(0.3, 0.6) * w, y1 + rng.uniform(0.3, 0.6) * h
    bbox = np.array([[x1, y1, x2, y2]], dtype=np.float32)
    rel = rng.rand(1, 17, 2).astype(np.float32)
    keypoints = bbox[:, None, :2] + rel * (bbox[:, None, 2:] - bbox[:, None, :2])
    if random_visible:
        visible = rng.randint(0, 2, (1, 17)).astype(np.float32)
    else:
        visible = np.ones((1, 17), dtype=np.float32)
    data = {
        "img": img,
        "img_shape": img_shape,
        "img_path": None,
        "id": 7,
        "img_id": 3,
        "bbox": bbox,
        "bbox_score": np.ones(1, dtype=np.float32),
        "keypoints": keypoints.astype(np.float32),
        "keypoints_visible": visible,
        "upper_body_ids": COCO_UPPER,
        "lower_body_ids": COCO_LOWER,
        "flip_indices": COCO_FLIP_INDICES,
        "dataset_keypoint_weights": COCO_WEIGHTS.copy(),
        "dataset_name": "coco",
    }
    if with_cs:
        data["bbox_center"] = (bbox[:, :2] + bbox[:, 2:]) * 0.5
        data["bbox_scale"] = (bbox[:, 2:] - bbox[:, :2]) * 1.25
    return data


@pytest.fixture
def sample() -> dict:
    return coco_sample()


@pytest.fixture
def make_sample():
    """The :func:`coco_sample` factory (keyword arguments: img_shape, seed, random_visible, with_cs)."""
    return coco_sample
