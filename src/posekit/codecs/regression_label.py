"""Regression labels (DeepPose, RLE): keypoints normalized by the input size."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .base import BaseKeypointCodec, as_size, check_batched, is_tensor

__all__ = ["RegressionLabel"]


class RegressionLabel(BaseKeypointCodec):
    """Keypoints as coordinates normalized to [0, 1] by the input size (`DeepPose`, Toshev & Szegedy 2014).

    Args:
        input_size: image (crop) size (w, h).

    Encoded: ``keypoint_labels`` (N, K, 2) float32 = keypoints / (w, h); ``keypoint_weights`` (N, K) float32,
    1 where the keypoint is visible (> 0.5) and inside ``[0, w - 1] x [0, h - 1]``, else 0.
    Decoded: (N, K, 2) normalized coordinates (scores 1) or (N, K, 4) coordinates + sigmas (RLE; scores
    ``mean(1 - sigma)``). numpy (N, K, D) -> (N, K, 2), (N, K); torch (B, K, D) -> (B, 1, K, 2), (B, 1, K).
    """

    label_mapping_table = dict(keypoint_labels="keypoint_labels", keypoint_weights="keypoint_weights")

    def __init__(self, input_size: tuple[int, int]) -> None:
        super().__init__()
        self.input_size = as_size(input_size, "input_size", "RegressionLabel")

    def encode(self, keypoints: np.ndarray, keypoints_visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """keypoints (N, K, 2) in input pixels -> keypoint_labels (N, K, 2), keypoint_weights (N, K)."""
        keypoints, keypoints_visible = self._check_encode_inputs(keypoints, keypoints_visible)
        w, h = self.input_size
        inside = ((keypoints >= 0) & (keypoints <= [w - 1, h - 1])).all(axis=-1)
        valid = inside & (keypoints_visible > 0.5)
        keypoint_labels = (keypoints / np.array([w, h])).astype(np.float32)
        keypoint_weights = np.where(valid, 1.0, 0.0).astype(np.float32)
        return dict(keypoint_labels=keypoint_labels, keypoint_weights=keypoint_weights)

    def _split(self, encoded, name: str):
        D = encoded.shape[-1]
        if D == 2:
            return encoded[..., :2], None
        if D == 4:
            return encoded[..., :2], encoded[..., 2:4]
        raise ValueError(
            f"{name}: the last dim must be 2 (x, y) or 4 (x, y, sigma_x, sigma_y), got shape {encoded.shape}"
        )

    def decode(self, encoded: np.ndarray | Tensor) -> tuple[np.ndarray | Tensor, np.ndarray | Tensor]:
        """Normalized coordinates [+ sigmas] -> keypoints in input pixels and scores."""
        name = f"{type(self).__name__}.decode"
        if is_tensor(encoded):
            encoded = check_batched(name, encoded, 3, "(B, K, 2|4)")
            coords, sigma = self._split(encoded, name)
            scores = torch.ones_like(coords[..., 0]) if sigma is None else (1 - sigma).mean(dim=-1)
            keypoints = coords * coords.new_tensor([float(s) for s in self.input_size])
            return keypoints[:, None], scores[:, None]
        encoded = np.asarray(encoded)
        if encoded.ndim != 3:
            raise ValueError(f"{name}: numpy input must be (N, K, 2|4), got {encoded.shape}")
        coords, sigma = self._split(encoded, name)
        if sigma is None:
            scores = np.ones(encoded.shape[:2], dtype=np.float32)
        else:
            scores = (1 - sigma).mean(axis=-1)
        w, h = self.input_size
        return coords * np.array([w, h]), scores
