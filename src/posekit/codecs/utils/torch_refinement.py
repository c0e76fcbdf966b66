"""Batched torch versions of the sub-pixel refinements (gather-based, no per-sample or per-keypoint loop).

Each mirrors its numpy counterpart in :mod:`posekit.codecs.utils.refinement` (MMPose's numerics and border
rules) and returns a new tensor. Shapes: keypoints (B, K, 2) maxima in heatmap pixels, heatmaps (B, K, H, W).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .torch_post_processing import gaussian_blur1d_torch, gaussian_blur_torch

__all__ = [
    "refine_keypoints_torch",
    "refine_keypoints_dark_torch",
    "refine_keypoints_dark_udp_torch",
    "refine_simcc_dark_torch",
]


def _check(keypoints: Tensor, heatmaps: Tensor) -> tuple[int, int]:
    if heatmaps.ndim != 4 or keypoints.shape != (*heatmaps.shape[:2], 2):
        raise ValueError(
            f"expected keypoints (B, K, 2) and heatmaps (B, K, H, W), got {tuple(keypoints.shape)} "
            f"and {tuple(heatmaps.shape)}"
        )
    return heatmaps.shape[-2], heatmaps.shape[-1]


def _sample(maps: Tensor, x: Tensor, y: Tensor, offsets: list[tuple[int, int]]) -> Tensor:
    """maps (B, K, H, W), integer x/y (B, K) -> values at (y + dy, x + dx) for each offset: (B, K, len(offsets)).

    Indices are clamped to the map; callers mask positions where that mattered."""
    H, W = maps.shape[-2:]
    dy = torch.tensor([o[0] for o in offsets], device=maps.device)
    dx = torch.tensor([o[1] for o in offsets], device=maps.device)
    rows = (y[..., None] + dy).clamp(0, H - 1)
    cols = (x[..., None] + dx).clamp(0, W - 1)
    return maps.flatten(-2).gather(-1, rows * W + cols)


def refine_keypoints_torch(keypoints: Tensor, heatmaps: Tensor) -> Tensor:
    """Quarter-pixel shift towards the higher neighbour (MSRA): (B, K, 2), (B, K, H, W) -> (B, K, 2)."""
    H, W = _check(keypoints, heatmaps)
    x, y = keypoints[..., 0].long(), keypoints[..., 1].long()
    v = _sample(heatmaps, x, y, [(0, 1), (0, -1), (1, 0), (-1, 0)])
    ok_x = (x > 1) & (x < W - 1) & (y > 0) & (y < H)
    ok_y = (y > 1) & (y < H - 1) & (x > 0) & (x < W)
    grad = torch.stack((v[..., 0] - v[..., 1], v[..., 2] - v[..., 3]), dim=-1)
    grad = grad * torch.stack((ok_x, ok_y), dim=-1)
    return keypoints + torch.sign(grad).to(keypoints.dtype) * 0.25


def refine_keypoints_dark_torch(keypoints: Tensor, heatmaps: Tensor, blur_kernel_size: int) -> Tensor:
    """DARK Newton step on log(blurred heatmap) where ``1 < x < W - 2 and 1 < y < H - 2`` and the Hessian is
    invertible: (B, K, 2), (B, K, H, W) -> (B, K, 2)."""
    H, W = _check(keypoints, heatmaps)
    logs = gaussian_blur_torch(heatmaps, blur_kernel_size).clamp_min(1e-10).log()
    x, y = keypoints[..., 0].long(), keypoints[..., 1].long()
    offsets = [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (2, 0), (-2, 0)]
    offsets += [(1, 1), (-1, 1), (1, -1), (-1, -1)]
    v = _sample(logs, x, y, offsets).unbind(-1)
    c, xp, xm, yp, ym, xp2, xm2, yp2, ym2, pp, mp, pm, mm = v
    dx = 0.5 * (xp - xm)
    dy = 0.5 * (yp - ym)
    dxx = 0.25 * (xp2 - 2 * c + xm2)
    dxy = 0.25 * (pp - mp - pm + mm)
    dyy = 0.25 * (yp2 - 2 * c + ym2)
    det = dxx * dyy - dxy**2
    ok = (x > 1) & (x < W - 2) & (y > 1) & (y < H - 2) & (det != 0)
    det = torch.where(ok, det, torch.ones_like(det))
    offset = torch.stack((-(dyy * dx - dxy * dy) / det, -(dxx * dy - dxy * dx) / det), dim=-1)
    return keypoints + torch.where(ok[..., None], offset, torch.zeros_like(offset)).to(keypoints.dtype)


def refine_keypoints_dark_udp_torch(keypoints: Tensor, heatmaps: Tensor, blur_kernel_size: int) -> Tensor:
    """UDP's DARK: Newton step ``-inv(H + eps I) g`` on log(clip(blur, 1e-3, 50)) of the edge-padded maps for
    every keypoint, with MMPose's flat per-sample indexing (a -1 maximum reads across map borders and wraps)."""
    H, W = _check(keypoints, heatmaps)
    B, K = heatmaps.shape[:2]
    logs = gaussian_blur_torch(heatmaps, blur_kernel_size).clamp(1e-3, 50.0).log()
    flat = torch.nn.functional.pad(logs, (1, 1, 1, 1), mode="replicate").reshape(B, -1)
    row = W + 2
    k_offset = torch.arange(K, device=heatmaps.device, dtype=torch.float64) * (row * (H + 2))
    index = keypoints[..., 0].double() + 1 + (keypoints[..., 1].double() + 1) * row + k_offset
    index = index.long()  # (B, K), truncation as numpy's astype(int)
    steps = torch.tensor([0, 1, -1, row, -row, row + 1, -row - 1], device=heatmaps.device)
    gathered = flat.gather(1, torch.remainder(index[..., None] + steps, flat.shape[1]).reshape(B, -1))
    i_, ix1, ix1_, iy1, iy1_, ix1y1, ix1_y1_ = gathered.reshape(B, K, -1).unbind(-1)
    dx = 0.5 * (ix1 - ix1_)
    dy = 0.5 * (iy1 - iy1_)
    eps = torch.finfo(torch.float32).eps
    a = (ix1 - 2 * i_ + ix1_).double() + eps
    d = (iy1 - 2 * i_ + iy1_).double() + eps
    b = (0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)).double()
    det = a * d - b * b
    offset = torch.stack(((d * dx - b * dy) / det, (a * dy - b * dx) / det), dim=-1)
    return keypoints - offset.to(keypoints.dtype)


def modulate_simcc_torch(simcc: Tensor, blur_kernel_size: int) -> Tensor:
    """log(clip(gaussian_blur1d(simcc), 1e-3, 50)) for (..., W) SimCC vectors."""
    return gaussian_blur1d_torch(simcc, blur_kernel_size).clamp(1e-3, 50.0).log()


def refine_simcc_dark_torch(keypoints: Tensor, simcc: Tensor, blur_kernel_size: int) -> Tensor:
    """1-D DARK step for one SimCC axis: keypoints (B, K) bins, simcc (B, K, W) -> refined (B, K)."""
    if simcc.ndim != 3 or keypoints.shape != simcc.shape[:2]:
        raise ValueError(
            f"expected keypoints (B, K) and simcc (B, K, W), got {tuple(keypoints.shape)} and {tuple(simcc.shape)}"
        )
    logs = modulate_simcc_torch(simcc, blur_kernel_size)
    logs = torch.nn.functional.pad(logs, (2, 2), mode="replicate")
    px = (keypoints + 2.5).long()[..., None]
    steps = torch.tensor([0, 1, -1, 2, -2], device=simcc.device)
    v0, v1, v_1, v2, v_2 = logs.gather(-1, torch.remainder(px + steps, logs.shape[-1])).unbind(-1)
    dx = 0.5 * (v1 - v_1)
    dxx = 1e-9 + 0.25 * (v2 - 2 * v0 + v_2)
    return keypoints - (dx / dxx).to(keypoints.dtype)
