"""UDP "combined" targets: a binary disc label map plus x/y offset maps per keypoint (numpy, vectorized)."""

from __future__ import annotations

import numpy as np

__all__ = ["generate_offset_heatmap"]


def generate_offset_heatmap(
    heatmap_size: tuple[int, int],
    keypoints: np.ndarray,
    keypoints_visible: np.ndarray,
    radius_factor: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Three maps per keypoint: [label, x_offset, y_offset].

    The label map is 1 inside the disc of radius ``r = radius_factor * max(W, H)`` around the keypoint;
    the offset maps hold ``(keypoint - pixel) / r`` over the whole map (MMPose 1.3 does not mask them with the
    disc; decoding only reads them at the label maximum). Keypoints with
    ``keypoints_visible < 0.5`` are not drawn; with several instances the last drawn one wins (as MMPose).

    Args:
        heatmap_size: (W, H).
        keypoints: (N, K, 2) in heatmap pixels.
        keypoints_visible: (N, K).
        radius_factor: disc radius as a fraction of max(W, H).

    Returns:
        heatmaps (K * 3, H, W) float32 ordered [label_0, x_0, y_0, label_1, ...], keypoint_weights (N, K)
        (a copy of ``keypoints_visible``).
    """
    keypoints = np.asarray(keypoints)
    keypoints_visible = np.asarray(keypoints_visible)
    if keypoints.ndim != 3 or keypoints.shape[-1] < 2 or keypoints_visible.shape != keypoints.shape[:2]:
        raise ValueError(
            f"expected keypoints (N, K, 2) and keypoints_visible (N, K), got {keypoints.shape} and "
            f"{keypoints_visible.shape}"
        )
    N, K = keypoints_visible.shape
    W, H = (int(s) for s in heatmap_size)
    radius = radius_factor * max(W, H)

    drawn = keypoints_visible >= 0.5
    heatmaps = np.zeros((K, 3, H, W), dtype=np.float32)
    if N > 0 and drawn.any():
        # the last drawn instance of each keypoint (MMPose overwrites in instance order)
        last = N - 1 - np.argmax(drawn[::-1], axis=0)  # (K,)
        mu = keypoints[last, np.arange(K), :2].astype(np.float64)  # (K, 2)
        x_off = (mu[:, 0, None, None] - np.arange(W)[None, None, :]) / radius  # (K, 1, W)
        y_off = (mu[:, 1, None, None] - np.arange(H)[None, :, None]) / radius  # (K, H, 1)
        any_drawn = drawn.any(axis=0)[:, None, None]  # (K, 1, 1)
        heatmaps[:, 0] = (x_off**2 + y_off**2 <= 1) & any_drawn
        heatmaps[:, 1] = x_off * any_drawn
        heatmaps[:, 2] = y_off * any_drawn
    return heatmaps.reshape(K * 3, H, W), keypoints_visible.copy()
