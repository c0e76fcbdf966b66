"""Sub-pixel refinement of heatmap / SimCC maxima (numpy, vectorized; MMPose's names and numerics).

All functions refine ``keypoints`` in place and return them; the heatmaps / SimCC vectors are left untouched
(MMPose's versions also overwrite those with their blurred logs). Batched torch versions:
:mod:`posekit.codecs.utils.torch_refinement`.
"""

from __future__ import annotations

import numpy as np

from .post_processing import gaussian_blur, gaussian_blur1d

__all__ = ["refine_keypoints", "refine_keypoints_dark", "refine_keypoints_dark_udp", "refine_simcc_dark"]


def _check(keypoints: np.ndarray, heatmaps: np.ndarray) -> tuple[int, int, int, int]:
    if keypoints.ndim != 3 or keypoints.shape[-1] < 2:
        raise ValueError(f"keypoints must have shape (N, K, 2), got {keypoints.shape}")
    if heatmaps.ndim != 3 or heatmaps.shape[0] != keypoints.shape[1]:
        raise ValueError(f"heatmaps must have shape (K, H, W) with K={keypoints.shape[1]}, got {heatmaps.shape}")
    N, K = keypoints.shape[:2]
    H, W = heatmaps.shape[1:]
    return N, K, H, W


def _sampler(heatmaps: np.ndarray, x: np.ndarray, y: np.ndarray):
    """Return ``at(dy, dx)`` -> heatmaps[k, y + dy, x + dx] for (N, K) integer positions (indices clamped;
    callers mask the positions where the clamp mattered)."""
    K, H, W = heatmaps.shape
    k = np.broadcast_to(np.arange(K), x.shape)

    def at(dy: int, dx: int) -> np.ndarray:
        return heatmaps[k, np.clip(y + dy, 0, H - 1), np.clip(x + dx, 0, W - 1)]

    return at


def refine_keypoints(keypoints: np.ndarray, heatmaps: np.ndarray) -> np.ndarray:
    """Move each maximum a quarter pixel towards its higher neighbour (MSRA decoding).

    Args:
        keypoints: (N, K, D) integer heatmap maxima, refined in place.
        heatmaps: (K, H, W).

    Returns:
        ``keypoints`` (N, K, D). The x step needs ``1 < x < W - 1 and 0 < y < H``, the y step
        ``1 < y < H - 1 and 0 < x < W`` (MMPose's bounds).
    """
    _, _, H, W = _check(keypoints, heatmaps)
    x, y = (keypoints[..., 0].astype(int), keypoints[..., 1].astype(int))
    at = _sampler(heatmaps, x, y)
    ok_x = (1 < x) & (x < W - 1) & (0 < y) & (y < H)
    ok_y = (1 < y) & (y < H - 1) & (0 < x) & (x < W)
    dx = np.where(ok_x, at(0, 1) - at(0, -1), 0.0)
    dy = np.where(ok_y, at(1, 0) - at(-1, 0), 0.0)
    keypoints[..., :2] += np.sign(np.stack((dx, dy), axis=-1)).astype(np.float32) * 0.25
    return keypoints


def refine_keypoints_dark(keypoints: np.ndarray, heatmaps: np.ndarray, blur_kernel_size: int) -> np.ndarray:
    """DARK: one Newton step on the log of the blurred heatmap (Taylor expansion with the Hessian).

    Args:
        keypoints: (N, K, D) heatmap maxima, refined in place where ``1 < x < W - 2 and 1 < y < H - 2``
            and the Hessian is invertible.
        heatmaps: (K, H, W) (not modified).
        blur_kernel_size: odd Gaussian kernel size of the modulation (11 for sigma 2).

    Returns:
        ``keypoints`` (N, K, D).
    """
    _, _, H, W = _check(keypoints, heatmaps)
    logs = gaussian_blur(heatmaps.copy(), blur_kernel_size)
    np.maximum(logs, 1e-10, out=logs)
    np.log(logs, out=logs)

    x, y = keypoints[..., 0].astype(int), keypoints[..., 1].astype(int)
    at = _sampler(logs, x, y)
    center = at(0, 0)
    dx = 0.5 * (at(0, 1) - at(0, -1))
    dy = 0.5 * (at(1, 0) - at(-1, 0))
    dxx = 0.25 * (at(0, 2) - 2 * center + at(0, -2))
    dxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    dyy = 0.25 * (at(2, 0) - 2 * center + at(-2, 0))
    det = dxx * dyy - dxy**2
    ok = (1 < x) & (x < W - 2) & (1 < y) & (y < H - 2) & (det != 0)
    det = np.where(ok, det, 1)
    # offset = -inv(Hessian) @ gradient, with the 2x2 inverse written out
    off_x = -(dyy * dx - dxy * dy) / det
    off_y = -(dxx * dy - dxy * dx) / det
    keypoints[..., 0] += np.where(ok, off_x, 0)
    keypoints[..., 1] += np.where(ok, off_y, 0)
    return keypoints


def refine_keypoints_dark_udp(keypoints: np.ndarray, heatmaps: np.ndarray, blur_kernel_size: int) -> np.ndarray:
    """UDP's DARK variant: log of the blurred heatmap clipped to [1e-3, 50], edge-padded, full-size Newton step
    ``-inv(H + eps I) @ g`` for every keypoint (no bound check; MMPose's flat indexing, wrap-around included).

    Args:
        keypoints: (N, K, 2) heatmap maxima (may be -1 where the maximum was <= 0), refined in place.
        heatmaps: (K, H, W) (not modified).
        blur_kernel_size: odd Gaussian kernel size of the modulation.

    Returns:
        ``keypoints`` (N, K, 2).
    """
    N, K, H, W = _check(keypoints, heatmaps)
    logs = gaussian_blur(heatmaps.copy(), blur_kernel_size)
    np.clip(logs, 1e-3, 50.0, out=logs)
    np.log(logs, out=logs)
    flat = np.pad(logs, ((0, 0), (1, 1), (1, 1)), mode="edge").reshape(-1)

    row = W + 2
    index = keypoints[..., 0].astype(np.float64) + 1 + (keypoints[..., 1].astype(np.float64) + 1) * row
    index = (index + row * (H + 2) * np.arange(K)).astype(np.int64)  # (N, K)

    def at(offset: int) -> np.ndarray:
        return np.take(flat, index + offset, mode="wrap")

    i_, ix1, ix1_ = at(0), at(1), at(-1)
    iy1, iy1_ = at(row), at(-row)
    ix1y1, ix1_y1_ = at(row + 1), at(-row - 1)
    dx = 0.5 * (ix1 - ix1_)
    dy = 0.5 * (iy1 - iy1_)
    eps = float(np.finfo(np.float32).eps)
    a = (ix1 - 2 * i_ + ix1_).astype(np.float64) + eps
    d = (iy1 - 2 * i_ + iy1_).astype(np.float64) + eps
    b = (0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)).astype(np.float64)
    det = a * d - b * b
    keypoints[..., 0] -= (d * dx - b * dy) / det
    keypoints[..., 1] -= (a * dy - b * dx) / det
    return keypoints


def modulate_simcc(simcc: np.ndarray, blur_kernel_size: int) -> np.ndarray:
    """log(clip(gaussian_blur1d(simcc), 1e-3, 50)) on a copy: (N, K, W) -> (N, K, W)."""
    out = gaussian_blur1d(np.array(simcc, copy=True), blur_kernel_size)
    np.clip(out, 1e-3, 50.0, out=out)
    return np.log(out, out=out)


def refine_simcc_dark(keypoints: np.ndarray, simcc: np.ndarray, blur_kernel_size: int) -> np.ndarray:
    """DARK for one SimCC axis: a 1-D Newton step on the log of the blurred vector.

    Args:
        keypoints: (N, K) bin positions on this axis (may be -1), refined in place.
        simcc: (N, K, W) SimCC vectors of this axis (not modified).
        blur_kernel_size: odd Gaussian kernel size.

    Returns:
        ``keypoints`` (N, K).
    """
    if simcc.ndim != 3 or keypoints.shape != simcc.shape[:2]:
        raise ValueError(f"expected keypoints (N, K) and simcc (N, K, W), got {keypoints.shape} and {simcc.shape}")
    logs = np.pad(modulate_simcc(simcc, blur_kernel_size), ((0, 0), (0, 0), (2, 2)), mode="edge")
    px = (keypoints + 2.5).astype(np.int64)[..., None]  # (N, K, 1), index in the padded vector

    def at(offset: int) -> np.ndarray:
        # numpy semantics of MMPose's take_along_axis: a -1 index wraps to the end
        return np.take_along_axis(logs, np.mod(px + offset, logs.shape[-1]), axis=-1)[..., 0]

    dx = 0.5 * (at(1) - at(-1))
    dxx = 1e-9 + 0.25 * (at(2) - 2 * at(0) + at(-2))
    keypoints -= dx / dxx
    return keypoints
