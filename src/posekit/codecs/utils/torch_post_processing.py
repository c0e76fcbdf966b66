"""Batched torch versions of the maxima and Gaussian modulation (any device, no per-sample loop).

Numerics follow the numpy/OpenCV versions in :mod:`posekit.codecs.utils.post_processing`: the blur uses
OpenCV's float32 kernel, separable (rows then columns) with OpenCV's symmetric-kernel summation order, written
as a few fused elementwise ops over the whole batch (one per kernel tap pair, not per sample). On CPU the
reflect-101 blur of whole maps (UDP 'combined') is two small matrix products instead (the blur along an axis is
a fixed banded matrix, border included), and the maxima use numpy's vectorized argmax, ~10x faster than
``torch.max(dim)`` on CPU; both give the same numbers.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .kernels import gaussian_kernel1d, reflect101_index

__all__ = [
    "gaussian_kernel1d_torch",
    "gaussian_blur_torch",
    "gaussian_blur1d_torch",
    "gaussian_blur_reflect_torch",
    "get_heatmap_maximum_torch",
    "get_simcc_maximum_torch",
]


def gaussian_kernel1d_torch(ksize: int, device: torch.device | str | None = None, dtype=torch.float32) -> Tensor:
    """OpenCV's Gaussian kernel (sigma from ``ksize``) as a (ksize,) tensor."""
    return torch.from_numpy(gaussian_kernel1d(ksize).copy()).to(device=device, dtype=dtype)


def _symmetric_pass(padded: Tensor, kernel: Tensor, dim: int) -> Tensor:
    """Correlate an axis padded by r on both sides with a symmetric (2r+1) kernel, in OpenCV's order for
    symmetric kernels: ``k[r] * x[i] + sum_j (x[i - j] + x[i + j]) * k[r + j]``.

    Mirrored inputs therefore give bit-identical mirrored outputs, which decoders comparing neighbours
    (Megvii's sign test) rely on. The output is 2r shorter along ``dim``."""
    r = (kernel.numel() - 1) // 2
    n = padded.shape[dim] - 2 * r
    out = padded.narrow(dim, r, n) * kernel[r]
    for j in range(1, r + 1):
        out.add_((padded.narrow(dim, r - j, n) + padded.narrow(dim, r + j, n)).mul_(kernel[r + j]))
    return out


def _separable_conv(maps: Tensor, ksize: int, padding: str) -> Tensor:
    """Blur (M, H, W) maps with OpenCV's kernel, rows then columns; ``padding`` is 'zeros' or 'reflect101'
    (OpenCV's default border)."""
    kernel = gaussian_kernel1d_torch(ksize, maps.device, maps.dtype)
    r = (ksize - 1) // 2
    H, W = maps.shape[-2:]
    if padding == "zeros":  # the zero rows stay zero after the row pass, so pad them afterwards
        rows = _symmetric_pass(F.pad(maps, (r, r)), kernel, -1)
        return _symmetric_pass(F.pad(rows, (0, 0, r, r)), kernel, -2)
    cols = torch.as_tensor(reflect101_index(W, r), device=maps.device)
    rows_idx = torch.as_tensor(reflect101_index(H, r), device=maps.device)
    rows = _symmetric_pass(maps.index_select(-1, cols), kernel, -1)
    return _symmetric_pass(rows.index_select(-2, rows_idx), kernel, -2)


def _rescale_to(blurred: Tensor, reference: Tensor) -> Tensor:
    """Scale each map (last 2 dims flattened) so its max equals the reference map's max."""
    ref_max = reference.flatten(-2).amax(-1)[..., None, None]
    new_max = blurred.flatten(-2).amax(-1)[..., None, None]
    return blurred * (ref_max / new_max)


def gaussian_blur_torch(heatmaps: Tensor, kernel: int = 11) -> Tensor:
    """DARK modulation of (..., H, W) maps: zero-padded Gaussian blur, each map rescaled to its original max.

    Equals :func:`posekit.codecs.utils.gaussian_blur` (MMPose) on every map; returns a new tensor.
    """
    if heatmaps.ndim < 2:
        raise ValueError(f"gaussian_blur_torch expects (..., H, W) maps, got shape {tuple(heatmaps.shape)}")
    H, W = heatmaps.shape[-2:]
    blurred = _separable_conv(heatmaps.reshape(-1, H, W), kernel, "zeros").reshape(heatmaps.shape)
    return _rescale_to(blurred, heatmaps)


def gaussian_blur1d_torch(simcc: Tensor, kernel: int = 11) -> Tensor:
    """1-D DARK modulation of (..., W) SimCC vectors (zero-padded blur, rescaled to the original max)."""
    k = gaussian_kernel1d_torch(kernel, simcc.device, simcc.dtype)
    border = (kernel - 1) // 2
    blurred = _symmetric_pass(F.pad(simcc, (border, border)), k, -1)
    return blurred * (simcc.amax(-1, keepdim=True) / blurred.amax(-1, keepdim=True))


@lru_cache(maxsize=32)
def _reflect101_blur_matrix(size: int, ksize: int) -> np.ndarray:
    """(size, size) float64 ``M`` with ``x @ M`` = the 1-D Gaussian blur of ``x`` (length ``size``) with OpenCV's
    reflect-101 border: column ``i`` holds the kernel taps of output ``i``, folded back onto the axis."""
    taps = gaussian_kernel1d(ksize).astype(np.float64)
    r = (ksize - 1) // 2
    source = reflect101_index(size, r)[np.arange(size)[:, None] + np.arange(ksize)]  # (size, ksize)
    matrix = np.zeros((size, size))
    np.add.at(matrix, (source, np.broadcast_to(np.arange(size)[:, None], source.shape)), taps)
    matrix.setflags(write=False)
    return matrix


def gaussian_blur_reflect_torch(maps: Tensor, kernel: int) -> Tensor:
    """``cv2.GaussianBlur(map, (kernel, kernel), 0)`` with OpenCV's default border (reflect-101) on (..., H, W)
    maps, no rescaling (UDP 'combined' decoding).

    On CPU: ``M_h^T @ map @ M_w`` with the banded blur matrices (float64 unless float32 matmuls run at full
    precision, see ``torch.set_float32_matmul_precision``); elsewhere the separable tap passes."""
    H, W = maps.shape[-2:]
    if maps.device.type != "cpu":
        return _separable_conv(maps.reshape(-1, H, W), kernel, "reflect101").reshape(maps.shape)
    exact32 = torch.get_float32_matmul_precision() == "highest"
    dtype = maps.dtype if maps.dtype == torch.float64 or (maps.dtype == torch.float32 and exact32) else torch.float64
    m_w = torch.tensor(_reflect101_blur_matrix(W, kernel), dtype=dtype)
    m_h_t = torch.tensor(_reflect101_blur_matrix(H, kernel).T, dtype=dtype)
    rows = maps.reshape(-1, W).to(dtype) @ m_w  # (M * H, W): blur along x
    out = torch.matmul(m_h_t, rows.view(-1, H, W))  # blur along y
    return out.to(maps.dtype).reshape(maps.shape)


def _max_last(x: Tensor) -> tuple[Tensor, Tensor]:
    """``x.max(dim=-1)`` (first maximum); on CPU through numpy's SIMD argmax."""
    if x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and not torch.compiler.is_compiling():
        a = x.detach().numpy()
        idx = a.argmax(axis=-1)
        vals = np.take_along_axis(a, idx[..., None], axis=-1)[..., 0]
        return torch.from_numpy(vals), torch.from_numpy(idx)
    return x.max(dim=-1)


def get_heatmap_maximum_torch(heatmaps: Tensor) -> tuple[Tensor, Tensor]:
    """(..., H, W) -> locs (..., 2) float32 (x, y) of the first maximum (-1 where the max is <= 0), vals (...)."""
    H, W = heatmaps.shape[-2:]
    vals, idx = _max_last(heatmaps.flatten(-2))
    locs = torch.stack((idx % W, torch.div(idx, W, rounding_mode="floor")), dim=-1).to(torch.float32)
    locs = torch.where((vals <= 0)[..., None], torch.full_like(locs, -1.0), locs)
    return locs, vals


def get_simcc_maximum_torch(simcc_x: Tensor, simcc_y: Tensor, apply_softmax: bool = False) -> tuple[Tensor, Tensor]:
    """(..., Wx), (..., Wy) -> locs (..., 2) float32 bins (-1 where the score is <= 0), vals (...) =
    min(max x, max y); with ``apply_softmax`` the vectors are softmaxed first."""
    if simcc_x.shape[:-1] != simcc_y.shape[:-1]:
        raise ValueError(f"simcc_x {tuple(simcc_x.shape)} and simcc_y {tuple(simcc_y.shape)} disagree")
    if apply_softmax:
        simcc_x, simcc_y = simcc_x.softmax(-1), simcc_y.softmax(-1)
    val_x, idx_x = _max_last(simcc_x)
    val_y, idx_y = _max_last(simcc_y)
    vals = torch.minimum(val_x, val_y)
    locs = torch.stack((idx_x, idx_y), dim=-1).to(torch.float32)
    locs = torch.where((vals <= 0)[..., None], torch.full_like(locs, -1.0), locs)
    return locs, vals
