"""Fixtures shared by the codec tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

INPUT_SIZE = (192, 256)
HEATMAP_SIZE = (48, 64)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture
def keypoints(rng) -> np.ndarray:
    """(1, 17, 2) float32 integer keypoints away from the border (MMPose's codec test data)."""
    kpts = (0.1 + 0.8 * rng.random((1, 17, 2))) * np.array(INPUT_SIZE)
    return np.round(kpts).astype(np.float32)


@pytest.fixture
def keypoints_visible() -> np.ndarray:
    return np.ones((1, 17), dtype=np.float32)


def _devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(params=_devices())
def device(request) -> str:
    return request.param
