"""Maxima and Gaussian modulation of heatmaps / SimCC vectors (numpy, MMPose's names and semantics).

Torch batched counterparts live in :mod:`posekit.codecs.utils.torch_post_processing`; the two small torch
helpers MMPose keeps here (``batch_heatmap_nms``, ``get_simcc_normalized``) are here too.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .kernels import check_kernel_size

__all__ = [
    "get_heatmap_maximum",
    "get_simcc_maximum",
    "gaussian_blur",
    "gaussian_blur1d",
    "batch_heatmap_nms",
    "get_simcc_normalized",
]


def _require_ndarray(name: str, value: object, ndims: tuple[int, ...]) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} should be numpy.ndarray, got {type(value).__name__}")
    if value.ndim not in ndims:
        raise ValueError(f"{name}: invalid shape {value.shape}, expected ndim in {ndims}")
    return value


def get_heatmap_maximum(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Location and value of each heatmap's maximum.

    Args:
        heatmaps: (K, H, W) or (B, K, H, W).

    Returns:
        locs: (K, 2) or (B, K, 2) float32 (x, y) of the first maximum; -1 where the maximum is <= 0.
        vals: (K,) or (B, K) maximum values.
    """
    _require_ndarray("heatmaps", heatmaps, (3, 4))
    lead, (H, W) = heatmaps.shape[:-2], heatmaps.shape[-2:]
    flat = heatmaps.reshape(-1, H * W)
    idx = np.argmax(flat, axis=1)
    vals = np.amax(flat, axis=1)
    locs = np.stack((idx % W, idx // W), axis=-1).astype(np.float32)
    locs[vals <= 0.0] = -1
    return locs.reshape(*lead, 2), vals.reshape(lead)


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def get_simcc_maximum(
    simcc_x: np.ndarray, simcc_y: np.ndarray, apply_softmax: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Location and score of the maxima of SimCC x/y vectors.

    Args:
        simcc_x: (K, Wx) or (N, K, Wx).
        simcc_y: (K, Wy) or (N, K, Wy).
        apply_softmax: softmax each vector first (scores become probabilities).

    Returns:
        locs: (K, 2) or (N, K, 2) float32 bin indices (x, y); -1 where the score is <= 0.
        vals: (K,) or (N, K) score = min(max(simcc_x), max(simcc_y)).
    """
    _require_ndarray("simcc_x", simcc_x, (2, 3))
    _require_ndarray("simcc_y", simcc_y, (2, 3))
    if simcc_x.ndim != simcc_y.ndim or simcc_x.shape[:-1] != simcc_y.shape[:-1]:
        raise ValueError(f"simcc_x {simcc_x.shape} and simcc_y {simcc_y.shape} disagree in their leading dims")
    lead = simcc_x.shape[:-1]
    sx = simcc_x.reshape(-1, simcc_x.shape[-1])
    sy = simcc_y.reshape(-1, simcc_y.shape[-1])
    if apply_softmax:
        sx, sy = _softmax(sx), _softmax(sy)
    locs = np.stack((np.argmax(sx, axis=1), np.argmax(sy, axis=1)), axis=-1).astype(np.float32)
    vals = np.minimum(np.amax(sx, axis=1), np.amax(sy, axis=1))
    locs[vals <= 0.0] = -1
    return locs.reshape(*lead, 2), vals.reshape(lead)


def gaussian_blur(heatmaps: np.ndarray, kernel: int = 11) -> np.ndarray:
    """Modulate heatmaps with a Gaussian (DARK): zero-padded ``cv2.GaussianBlur`` rescaled to the original max.

    In place like MMPose: ``heatmaps`` (K, H, W) is overwritten and returned. All K maps go through a
    single OpenCV call (stacked vertically, each inside its own zero border, so they never mix).
    """
    _require_ndarray("heatmaps", heatmaps, (3,))
    kernel = check_kernel_size(kernel, "gaussian_blur kernel")
    border = (kernel - 1) // 2
    K, H, W = heatmaps.shape
    origin_max = np.max(heatmaps.reshape(K, -1), axis=1)
    padded = np.zeros((K, H + 2 * border, W + 2 * border), dtype=np.float32)
    padded[:, border : border + H, border : border + W] = heatmaps
    blurred = cv2.GaussianBlur(padded.reshape(K * (H + 2 * border), -1), (kernel, kernel), 0)
    heatmaps[...] = blurred.reshape(padded.shape)[:, border : border + H, border : border + W]
    with np.errstate(divide="ignore", invalid="ignore"):  # an all-zero map becomes NaN, as in MMPose
        heatmaps *= (origin_max / np.max(heatmaps.reshape(K, -1), axis=1))[:, None, None]
    return heatmaps


def gaussian_blur1d(simcc: np.ndarray, kernel: int = 11) -> np.ndarray:
    """1-D version of :func:`gaussian_blur` for SimCC vectors (N, K, Wx); in place, returns ``simcc``."""
    _require_ndarray("simcc", simcc, (3,))
    kernel = check_kernel_size(kernel, "gaussian_blur1d kernel")
    border = (kernel - 1) // 2
    N, K, Wx = simcc.shape
    origin_max = np.max(simcc, axis=-1, keepdims=True)
    padded = np.zeros((N * K, Wx + 2 * border), dtype=np.float32)
    padded[:, border : border + Wx] = simcc.reshape(N * K, Wx)
    blurred = cv2.GaussianBlur(padded, (kernel, 1), 0)
    simcc[...] = blurred[:, border : border + Wx].reshape(N, K, Wx)
    with np.errstate(divide="ignore", invalid="ignore"):
        simcc *= origin_max / np.max(simcc, axis=-1, keepdims=True)
    return simcc


def batch_heatmap_nms(batch_heatmaps: Tensor, kernel_size: int = 5) -> Tensor:
    """Keep only local maxima (within ``kernel_size``) of (B, K, H, W) heatmaps; other pixels become 0."""
    if not isinstance(kernel_size, int) or kernel_size % 2 != 1:
        raise ValueError(f"The kernel_size should be an odd integer, got {kernel_size}")
    padding = (kernel_size - 1) // 2
    maximum = F.max_pool2d(batch_heatmaps, kernel_size, stride=1, padding=padding)
    return batch_heatmaps * torch.eq(batch_heatmaps, maximum).to(batch_heatmaps.dtype)


def get_simcc_normalized(batch_pred_simcc: Tensor, sigma: Tensor | float | None = None) -> Tensor:
    """Normalize SimCC logits (B, K, W) like MMPose's RTMCC heads: optional 1/(sigma*sqrt(2*pi)) scale,
    clamp at 0, and divide by the max where the max exceeds 1."""
    B, K, _ = batch_pred_simcc.shape
    if sigma is not None:
        batch_pred_simcc = batch_pred_simcc / (sigma * np.sqrt(np.pi * 2))
    batch_pred_simcc = batch_pred_simcc.clamp(min=0)
    peak = batch_pred_simcc.amax(dim=-1, keepdim=True)
    return torch.where(peak > 1, batch_pred_simcc / peak, batch_pred_simcc)
