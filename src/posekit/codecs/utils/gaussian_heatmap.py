"""Gaussian heatmap targets (numpy, vectorized over instances and keypoints).

All three generators share MMPose's conventions: keypoints in heatmap pixels, a keypoint is drawn when
``keypoints_visible >= 0.5``, a drawn keypoint whose 3-sigma window misses the map gets weight 0, other
weights are ``keypoints_visible`` unchanged, and overlapping instances combine by maximum.
Shapes: keypoints (N, K, 2), keypoints_visible (N, K) -> heatmaps (K, H, W) float32, weights (N, K).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["generate_gaussian_heatmaps", "generate_unbiased_gaussian_heatmaps", "generate_udp_gaussian_heatmaps"]


def _check_inputs(
    heatmap_size: Sequence[int], keypoints: np.ndarray, keypoints_visible: np.ndarray
) -> tuple[int, int, np.ndarray, np.ndarray]:
    keypoints = np.asarray(keypoints)
    keypoints_visible = np.asarray(keypoints_visible)
    if keypoints.ndim != 3 or keypoints.shape[-1] < 2:
        raise ValueError(f"keypoints must have shape (N, K, 2), got {keypoints.shape}")
    if keypoints_visible.shape != keypoints.shape[:2]:
        raise ValueError(
            f"keypoints_visible must have shape (N, K) = {keypoints.shape[:2]}, got {keypoints_visible.shape}"
        )
    W, H = (int(s) for s in heatmap_size)
    return W, H, keypoints[..., :2], keypoints_visible


def _per_instance_sigma(sigma: float | Sequence[float] | np.ndarray, num_instances: int) -> np.ndarray:
    """Sigma as (N,) float64: a scalar is shared, a sequence gives one sigma per instance (MMPose)."""
    sig = np.asarray(sigma, dtype=np.float64)
    if sig.ndim == 0:
        return np.full(num_instances, float(sig))
    if sig.shape != (num_instances,):
        raise ValueError(f"sigma must be a scalar or have one value per instance ({num_instances}), got {sig.shape}")
    return sig


def _outside(left_top: np.ndarray, right_bottom: np.ndarray, W: int, H: int) -> np.ndarray:
    """(N, K) True where the window [left_top, right_bottom) does not touch the W x H map."""
    return (left_top[..., 0] >= W) | (left_top[..., 1] >= H) | (right_bottom[..., 0] < 0) | (right_bottom[..., 1] < 0)


def _patches(keypoints: np.ndarray, keypoints_visible: np.ndarray, radius: float | np.ndarray, W: int, H: int):
    """The integer patch of each keypoint's Gaussian (MSRA / UDP rounding) and which keypoints get one.

    ``radius``: a scalar or (N, 1, 1). Returns ``mu`` (N, K, 2) int, ``left_top`` / ``right_bottom`` (N, K, 2) int,
    ``weights`` (N, K) (the visibility, 0 for labelled keypoints whose patch lies outside the map) and ``drawn``
    (N, K) bool (labelled and inside).
    """
    mu = (keypoints + 0.5).astype(np.int64)
    left_top = (mu - radius).astype(np.int64)
    right_bottom = (mu + radius + 1).astype(np.int64)
    weights = keypoints_visible.copy()
    labeled = keypoints_visible >= 0.5
    outside = _outside(left_top, right_bottom, W, H)
    weights[labeled & outside] = 0
    return mu, left_top, right_bottom, weights, labeled & ~outside


def _windowed_gaussians(
    W: int,
    H: int,
    left_top: np.ndarray,
    right_bottom: np.ndarray,
    center: np.ndarray,
    window_len: np.ndarray,
    sigma: np.ndarray,
    draw: np.ndarray,
) -> np.ndarray:
    """Max over instances of Gaussians cut to integer windows, as MMPose pastes its local patches.

    Only the (L, L) patch of each keypoint is evaluated (L = the longest ``window_len``) and scattered into the
    maps, with the same float32 expression as MMPose's patch, so the values are MMPose's.

    Args:
        left_top, right_bottom: (N, K, 2) int64 window bounds in map pixels ([left, right) x [top, bottom)).
        center: (N, K, 2) Gaussian centre in *window* coordinates (MMPose's ``x0, y0``); (N, 1, 2) when it is the
            same for all keypoints (MSRA), so the patch is computed once per instance.
        window_len: (N,) length of MMPose's patch (``len(arange(0, 2 * radius + 1))``).
        sigma: (N,) Gaussian sigma.
        draw: (N, K) which keypoints are drawn.

    Returns:
        (K, H, W) float32.
    """
    N, K = draw.shape
    if N == 0 or not draw.any():
        return np.zeros((K, H, W), dtype=np.float32)
    offsets = np.arange(int(window_len.max()))
    cols = left_top[..., 0:1] + offsets  # (N, K, L) map column of each patch column
    rows = left_top[..., 1:2] + offsets  # (N, K, L)
    wlen = window_len[:, None, None]
    in_x = (offsets < wlen) & (cols >= 0) & (cols < W) & (cols < right_bottom[..., 0:1])
    in_y = (offsets < wlen) & (rows >= 0) & (rows < H) & (rows < right_bottom[..., 1:2]) & draw[..., None]
    dx = offsets.astype(np.float32) - center[..., 0:1].astype(np.float32)  # (N, K, L)
    dy = offsets.astype(np.float32) - center[..., 1:2].astype(np.float32)
    denom = (2 * sigma**2).astype(np.float32)[:, None, None, None]
    gauss = np.exp(-(dy[..., :, None] ** 2 + dx[..., None, :] ** 2) / denom)  # (N, K, L, L)
    # flat index of every patch pixel in the (K, H, W) maps; pixels outside the window go to one spare slot
    size = K * H * W
    rows_index = np.where(in_y, rows * W + (np.arange(K) * (H * W))[:, None], -size)
    cols_index = np.where(in_x, cols, -size)
    index = rows_index[..., :, None] + cols_index[..., None, :]
    index = np.where(index >= 0, index, size)
    buffer = np.zeros(size + 1, dtype=np.float32)
    if N == 1:  # one patch per map: plain assignment
        buffer[index] = gauss
    else:  # overlapping instances combine by maximum (the maps start at 0, Gaussians are >= 0)
        np.maximum.at(buffer, index, gauss)
    return buffer[:size].reshape(K, H, W)


def generate_gaussian_heatmaps(
    heatmap_size: tuple[int, int],
    keypoints: np.ndarray,
    keypoints_visible: np.ndarray,
    sigma: float | Sequence[float] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """MSRA heatmaps: an unnormalised Gaussian (peak 1) centred on the *rounded* keypoint, cut at 3 sigma.

    Args:
        heatmap_size: (W, H).
        keypoints: (N, K, 2) in heatmap pixels.
        keypoints_visible: (N, K).
        sigma: scalar, or one sigma per instance (N,).

    Returns:
        heatmaps (K, H, W) float32 and keypoint_weights (N, K).
    """
    W, H, keypoints, keypoints_visible = _check_inputs(heatmap_size, keypoints, keypoints_visible)
    N, K = keypoints_visible.shape
    sig = _per_instance_sigma(sigma, N)
    radius = (sig * 3)[:, None, None]
    window = 2 * radius + 1
    _, left_top, right_bottom, weights, drawn = _patches(keypoints, keypoints_visible, radius, W, H)
    center = np.repeat(window // 2, 2, axis=-1)  # (N, 1, 2): the same patch for every keypoint of an instance
    heatmaps = _windowed_gaussians(W, H, left_top, right_bottom, center, np.ceil(window[:, 0, 0]), sig, drawn)
    return heatmaps, weights


def generate_unbiased_gaussian_heatmaps(
    heatmap_size: tuple[int, int],
    keypoints: np.ndarray,
    keypoints_visible: np.ndarray,
    sigma: float,
) -> tuple[np.ndarray, np.ndarray]:
    """DARK heatmaps: a Gaussian (peak 1) at the exact sub-pixel keypoint over the whole map (no cut-off).

    Args:
        heatmap_size: (W, H).
        keypoints: (N, K, 2) in heatmap pixels.
        keypoints_visible: (N, K).
        sigma: Gaussian sigma.

    Returns:
        heatmaps (K, H, W) float32 and keypoint_weights (N, K).
    """
    W, H, keypoints, keypoints_visible = _check_inputs(heatmap_size, keypoints, keypoints_visible)
    N, K = keypoints_visible.shape
    radius = sigma * 3
    weights = keypoints_visible.copy()
    labeled = keypoints_visible >= 0.5
    outside = _outside(keypoints - radius, keypoints + radius + 1, W, H)
    weights[labeled & outside] = 0
    draw = labeled & ~outside
    if N == 0:
        return np.zeros((K, H, W), dtype=np.float32), weights

    mu = keypoints.astype(np.float32)
    dx = np.arange(W, dtype=np.float32) - mu[..., 0:1]  # (N, K, W)
    dy = np.arange(H, dtype=np.float32) - mu[..., 1:2]  # (N, K, H)
    gauss = np.exp(-(dx[..., None, :] ** 2 + dy[..., :, None] ** 2) / np.float32(2 * sigma**2))
    heatmaps = np.where(draw[..., None, None], gauss, np.float32(0)).max(axis=0)
    return heatmaps.astype(np.float32, copy=False), weights


def generate_udp_gaussian_heatmaps(
    heatmap_size: tuple[int, int],
    keypoints: np.ndarray,
    keypoints_visible: np.ndarray,
    sigma: float,
) -> tuple[np.ndarray, np.ndarray]:
    """UDP heatmaps: a Gaussian (peak 1) at the exact sub-pixel keypoint, cut to the 3-sigma window around
    the rounded keypoint.

    Args:
        heatmap_size: (W, H).
        keypoints: (N, K, 2) in heatmap pixels (``input / (input_size - 1) * (heatmap_size - 1)``).
        keypoints_visible: (N, K).
        sigma: Gaussian sigma.

    Returns:
        heatmaps (K, H, W) float32 and keypoint_weights (N, K).
    """
    W, H, keypoints, keypoints_visible = _check_inputs(heatmap_size, keypoints, keypoints_visible)
    N, K = keypoints_visible.shape
    radius = sigma * 3
    window = 2 * radius + 1
    mu, left_top, right_bottom, weights, drawn = _patches(keypoints, keypoints_visible, radius, W, H)
    center = window // 2 + (keypoints.astype(np.float64) - mu)
    heatmaps = _windowed_gaussians(
        W, H, left_top, right_bottom, center, np.full(N, np.ceil(window)), np.full(N, float(sigma)), drawn
    )
    return heatmaps, weights
