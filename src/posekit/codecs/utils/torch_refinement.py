"""Batched torch versions of the sub-pixel refinements (gather-based, no per-sample or per-keypoint loop).

Each mirrors its numpy counterpart in :mod:`posekit.codecs.utils.refinement` (MMPose's numerics and border
rules) and returns a new tensor. Shapes: keypoints (B, K, 2) maxima in heatmap pixels, heatmaps (B, K, H, W).

The DARK refinements only read the modulated (blurred, rescaled, log) heatmap at a few pixels around each
maximum. The blur at those pixels depends only on a small window of the heatmap, so instead of blurring whole
maps they gather one ``(n + 2r) x (n + 2r)`` window per keypoint (``r`` the blur radius, ``n`` 5 for DARK, 3 for
UDP) and blur only that, with the same separable passes and zero border as :func:`gaussian_blur_torch` (so the
blurred values are the same numbers). The rescaling to the original maximum multiplies a whole map by one
factor, a constant in log space that the finite differences cancel; it only matters where MMPose's clamp of the
rescaled map (``>= 1e-10``, resp. ``[1e-3, 50]``) is active. Keypoints for which the window cannot prove the
clamp inactive (maps that are ~zero or negative near their maximum, values above 50, maxima at -1) are
refined with the full-map computation, so every result equals the full-map one.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .torch_post_processing import (
    _symmetric_pass,
    gaussian_blur1d_torch,
    gaussian_blur_torch,
    gaussian_kernel1d_torch,
)

__all__ = [
    "refine_keypoints_torch",
    "refine_keypoints_dark_torch",
    "refine_keypoints_dark_udp_torch",
    "refine_simcc_dark_torch",
    "modulate_simcc_torch",
]

# A window value above these bounds proves that MMPose's clamp of the *rescaled* map is inactive there: the
# rescaling factor ``max(map) / max(blurred map)`` is >= 1 (a blur with a non-negative kernel summing to at most 1
# never exceeds the map's maximum), so ``factor * v >= v``; the margins cover float32 rounding of the kernel sum.
_DARK_LOG_FLOOR = 1e-10 * 1.01
_UDP_CLIP_LOW = 1e-3 * 1.0001
_UDP_CLIP_HIGH = 50.0 * 0.9999


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


def _blurred_window(heatmaps: Tensor, x: Tensor, y: Tensor, half: int, ksize: int) -> Tensor:
    """The zero-padded Gaussian blur of (B, K, H, W) maps at the (2 * half + 1)^2 pixels around integer (x, y) (B, K).

    Returns (B, K, S, S), S = 2 * half + 1, ``out[b, k, i, j]`` = blurred map k of sample b at row ``y - half + i``,
    column ``x - half + j`` (pixels outside the map included: the blur extends there). Numerically the same
    numbers as :func:`gaussian_blur_torch` before its rescaling (same separable passes, same summation order).
    """
    H, W = heatmaps.shape[-2:]
    B, K = x.shape
    kernel = gaussian_kernel1d_torch(ksize, heatmaps.device, heatmaps.dtype)
    reach = half + (ksize - 1) // 2
    d = torch.arange(-reach, reach + 1, device=heatmaps.device)
    n = d.numel()
    rows = y[..., None] + d  # (B, K, n)
    cols = x[..., None] + d
    # the window is gathered transposed, (column, row), so that the pass along x runs over the outer axis
    index = (rows.clamp(0, H - 1) * W)[..., None, :] + cols.clamp(0, W - 1)[..., :, None]  # (B, K, n, n)
    window_t = heatmaps.flatten(-2).gather(-1, index.view(B, K, n * n)).view(B, K, n, n)
    # zero border: columns outside the map are zeroed before the pass along x, rows outside after it
    cols_inside = ((cols >= 0) & (cols < W)).to(window_t.dtype)
    rows_inside = ((rows >= 0) & (rows < H)).to(window_t.dtype)
    blurred_x = _symmetric_pass(window_t * cols_inside[..., :, None], kernel, -2) * rows_inside[..., None, :]
    return _symmetric_pass(blurred_x, kernel, -1).transpose(-1, -2)


def _replace_where(result: Tensor, need: Tensor, compute_full) -> Tensor:
    """Overwrite ``result[need]`` (need (B, K)) by ``compute_full(sample_index)``, evaluated only on the samples
    that contain such a keypoint (one host sync to find them)."""
    if not bool(need.any()):
        return result
    samples = need.any(dim=-1).nonzero().squeeze(1)
    full = compute_full(samples)
    mask = need[samples].reshape(*need[samples].shape, *([1] * (result.ndim - 2)))
    result = result.clone()
    result[samples] = torch.where(mask, full, result[samples])
    return result


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


# ------------------------------------------------------------------------------------------------------ DARK
# (dy, dx) of the 13 log values the Taylor step reads, in the order of _dark_step's arguments
_DARK_OFFSETS = [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (0, 2), (0, -2), (2, 0), (-2, 0)]
_DARK_OFFSETS += [(1, 1), (-1, 1), (1, -1), (-1, -1)]


def _dark_step(keypoints: Tensor, logs: Tensor, x: Tensor, y: Tensor, H: int, W: int) -> Tensor:
    """DARK's Newton step from the 13 log values (B, K, 13) at ``_DARK_OFFSETS`` around (x, y)."""
    c, xp, xm, yp, ym, xp2, xm2, yp2, ym2, pp, mp, pm, mm = logs.unbind(-1)
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


def _refine_keypoints_dark_full(keypoints: Tensor, heatmaps: Tensor, blur_kernel_size: int) -> Tensor:
    """DARK on the fully modulated maps (blur + rescale + clamp + log of every pixel)."""
    H, W = heatmaps.shape[-2:]
    logs = gaussian_blur_torch(heatmaps, blur_kernel_size).clamp_min(1e-10).log()
    x, y = keypoints[..., 0].long(), keypoints[..., 1].long()
    return _dark_step(keypoints, _sample(logs, x, y, _DARK_OFFSETS), x, y, H, W)


def refine_keypoints_dark_torch(keypoints: Tensor, heatmaps: Tensor, blur_kernel_size: int) -> Tensor:
    """DARK Newton step on log(blurred heatmap) where ``1 < x < W - 2 and 1 < y < H - 2`` and the Hessian is
    invertible: (B, K, 2), (B, K, H, W) -> (B, K, 2). Blurs only a window around each keypoint (module doc)."""
    H, W = _check(keypoints, heatmaps)
    x, y = keypoints[..., 0].long(), keypoints[..., 1].long()
    blurred = _blurred_window(heatmaps, x, y, 2, blur_kernel_size).flatten(-2)  # (B, K, 25)
    index = torch.tensor([(dy + 2) * 5 + dx + 2 for dy, dx in _DARK_OFFSETS], device=heatmaps.device)
    values = blurred.index_select(-1, index)  # (B, K, 13)
    result = _dark_step(keypoints, values.clamp_min(1e-10).log(), x, y, H, W)
    interior = (x > 1) & (x < W - 2) & (y > 1) & (y < H - 2)
    need_full = interior & ~(values > _DARK_LOG_FLOOR).all(dim=-1)
    return _replace_where(
        result,
        need_full,
        lambda s: _refine_keypoints_dark_full(keypoints[s], heatmaps[s], blur_kernel_size),
    )


# -------------------------------------------------------------------------------------------------- UDP DARK
def _dark_udp_step(keypoints: Tensor, values: Tensor) -> Tensor:
    """UDP's Newton step ``-inv(H + eps I) g`` from the 7 log values (B, K, 7): centre, x+1, x-1, y+1, y-1,
    (x+1, y+1), (x-1, y-1)."""
    i_, ix1, ix1_, iy1, iy1_, ix1y1, ix1_y1_ = values.unbind(-1)
    dx = 0.5 * (ix1 - ix1_)
    dy = 0.5 * (iy1 - iy1_)
    eps = torch.finfo(torch.float32).eps
    a = (ix1 - 2 * i_ + ix1_).double() + eps
    d = (iy1 - 2 * i_ + iy1_).double() + eps
    b = (0.5 * (ix1y1 - ix1 - iy1 + i_ + i_ - ix1_ - iy1_ + ix1_y1_)).double()
    det = a * d - b * b
    offset = torch.stack(((d * dx - b * dy) / det, (a * dy - b * dx) / det), dim=-1)
    return keypoints - offset.to(keypoints.dtype)


def _refine_keypoints_dark_udp_full(keypoints: Tensor, heatmaps: Tensor, blur_kernel_size: int) -> Tensor:
    """UDP DARK on the fully modulated maps, MMPose's flat per-sample indexing (wrap-around included)."""
    B, K, H, W = heatmaps.shape
    logs = gaussian_blur_torch(heatmaps, blur_kernel_size).clamp(1e-3, 50.0).log()
    flat = torch.nn.functional.pad(logs, (1, 1, 1, 1), mode="replicate").reshape(B, -1)
    row = W + 2
    k_offset = torch.arange(K, device=heatmaps.device, dtype=torch.float64) * (row * (H + 2))
    index = keypoints[..., 0].double() + 1 + (keypoints[..., 1].double() + 1) * row + k_offset
    index = index.long()  # (B, K), truncation as numpy's astype(int)
    steps = torch.tensor([0, 1, -1, row, -row, row + 1, -row - 1], device=heatmaps.device)
    gathered = flat.gather(1, torch.remainder(index[..., None] + steps, flat.shape[1]).reshape(B, -1))
    return _dark_udp_step(keypoints, gathered.reshape(B, K, -1))


def refine_keypoints_dark_udp_torch(
    keypoints: Tensor, heatmaps: Tensor, blur_kernel_size: int, max_values: Tensor | None = None
) -> Tensor:
    """UDP's DARK: Newton step ``-inv(H + eps I) g`` on log(clip(blur, 1e-3, 50)) of the edge-padded maps for
    every keypoint, with MMPose's flat per-sample indexing (a -1 maximum reads across map borders and wraps).
    Blurs only a 3x3-pixel window around each keypoint (module doc).

    ``max_values`` (B, K): the maps' maxima when the caller has them (``get_heatmap_maximum_torch``'s values),
    which saves a pass over the maps."""
    H, W = _check(keypoints, heatmaps)
    # the window path needs the 3x3 neighbourhood inside the (edge-padded) map of the keypoint itself
    xf, yf = keypoints[..., 0], keypoints[..., 1]
    x, y = xf.long(), yf.long()
    inside = (xf >= 0) & (xf < W) & (yf >= 0) & (yf < H) & (xf == x) & (yf == y)
    x, y = x.clamp(0, W - 1), y.clamp(0, H - 1)
    blurred = _blurred_window(heatmaps, x, y, 1, blur_kernel_size).flatten(-2)  # (B, K, 9)
    # edge padding: a neighbour outside the map reads the border pixel, i.e. the window's centre row/column
    steps = [(0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, -1)]
    dy = torch.tensor([s[0] for s in steps], device=heatmaps.device)
    dx = torch.tensor([s[1] for s in steps], device=heatmaps.device)
    wy = (y[..., None] + dy).clamp(0, H - 1) - y[..., None] + 1
    wx = (x[..., None] + dx).clamp(0, W - 1) - x[..., None] + 1
    values = blurred.gather(-1, wy * 3 + wx)  # (B, K, 7)
    result = _dark_udp_step(keypoints, values.clamp(1e-3, 50.0).log())
    peak = heatmaps.flatten(-2).amax(-1) if max_values is None else max_values
    fast = inside & (peak <= _UDP_CLIP_HIGH) & (values >= _UDP_CLIP_LOW).all(dim=-1)
    return _replace_where(
        result,
        ~fast,
        lambda s: _refine_keypoints_dark_udp_full(keypoints[s], heatmaps[s], blur_kernel_size),
    )


# ------------------------------------------------------------------------------------------------ SimCC DARK
def modulate_simcc_torch(simcc: Tensor, blur_kernel_size: int) -> Tensor:
    """log(clip(gaussian_blur1d(simcc), 1e-3, 50)) for (..., W) SimCC vectors."""
    return gaussian_blur1d_torch(simcc, blur_kernel_size).clamp(1e-3, 50.0).log()


def _simcc_step(keypoints: Tensor, values: Tensor) -> Tensor:
    """1-D Newton step from the 5 log values (B, K, 5) at offsets 0, +1, -1, +2, -2."""
    v0, v1, v_1, v2, v_2 = values.unbind(-1)
    dx = 0.5 * (v1 - v_1)
    dxx = 1e-9 + 0.25 * (v2 - 2 * v0 + v_2)
    return keypoints - (dx / dxx).to(keypoints.dtype)


_SIMCC_STEPS = (0, 1, -1, 2, -2)


def _refine_simcc_dark_full(keypoints: Tensor, simcc: Tensor, blur_kernel_size: int) -> Tensor:
    logs = modulate_simcc_torch(simcc, blur_kernel_size)
    logs = torch.nn.functional.pad(logs, (2, 2), mode="replicate")
    px = (keypoints + 2.5).long()[..., None]
    steps = torch.tensor(_SIMCC_STEPS, device=simcc.device)
    return _simcc_step(keypoints, logs.gather(-1, torch.remainder(px + steps, logs.shape[-1])))


def refine_simcc_dark_torch(keypoints: Tensor, simcc: Tensor, blur_kernel_size: int) -> Tensor:
    """1-D DARK step for one SimCC axis: keypoints (B, K) bins, simcc (B, K, W) -> refined (B, K).

    Blurs only the 5 bins around each maximum (module doc)."""
    if simcc.ndim != 3 or keypoints.shape != simcc.shape[:2]:
        raise ValueError(
            f"expected keypoints (B, K) and simcc (B, K, W), got {tuple(keypoints.shape)} and {tuple(simcc.shape)}"
        )
    W = simcc.shape[-1]
    kernel = gaussian_kernel1d_torch(blur_kernel_size, simcc.device, simcc.dtype)
    centre = (keypoints + 2.5).long() - 2  # the bin MMPose reads at offset 0 (edge-padded vector)
    inside = (centre >= 0) & (centre < W)
    centre = centre.clamp(0, W - 1)
    reach = 2 + (blur_kernel_size - 1) // 2
    d = torch.arange(-reach, reach + 1, device=simcc.device)
    pos = centre[..., None] + d  # (B, K, n)
    window = simcc.gather(-1, pos.clamp(0, W - 1))
    window = torch.where((pos >= 0) & (pos < W), window, torch.zeros((), dtype=simcc.dtype, device=simcc.device))
    blurred = _symmetric_pass(window, kernel, -1)  # (B, K, 5): bins centre - 2 .. centre + 2
    steps = torch.tensor(_SIMCC_STEPS, device=simcc.device)
    values = blurred.gather(-1, (centre[..., None] + steps).clamp(0, W - 1) - centre[..., None] + 2)
    result = _simcc_step(keypoints, values.clamp(1e-3, 50.0).log())
    peak = simcc.amax(-1)
    fast = inside & (peak <= _UDP_CLIP_HIGH) & (values >= _UDP_CLIP_LOW).all(dim=-1)
    return _replace_where(result, ~fast, lambda s: _refine_simcc_dark_full(keypoints[s], simcc[s], blur_kernel_size))
