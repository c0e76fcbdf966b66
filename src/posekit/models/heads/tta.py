"""Flip test-time augmentation helpers (MMPose's ``models/utils/tta.py``), out-of-place and batched.

All functions take the raw outputs of the flipped image and return them mirrored back into the original
image's frame, with left/right keypoints swapped by ``flip_indices``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["flip_heatmaps", "flip_vectors", "flip_coordinates", "flip_visibility"]


def _shift_right(x: Tensor) -> Tensor:
    """``out[..., 0] = x[..., 0]``, ``out[..., j] = x[..., j - 1]``: MMPose's ``shift_heatmap``."""
    return torch.cat((x[..., :1], x[..., :-1]), dim=-1)


def flip_heatmaps(
    heatmaps: Tensor,
    flip_indices: Sequence[int] | None = None,
    flip_mode: str = "heatmap",
    shift_heatmap: bool = True,
) -> Tensor:
    """Flip heatmaps ``(B, C, H, W)`` horizontally and swap symmetric keypoints.

    Args:
        heatmaps: heatmaps predicted for the flipped image.
        flip_indices: each keypoint's symmetric keypoint.
        flip_mode: ``'heatmap'`` (C = K), ``'udp_combined'`` (C = 3K: heatmap, x offset, y offset; the x offset
            is negated) or ``'offset'`` (C = 2K: x and y offsets; the x offset is negated).
        shift_heatmap: shift the flipped heatmaps one pixel right to align them with the original ones.
    """
    b, c, h, w = heatmaps.shape
    if flip_mode == "heatmap":
        heatmaps = heatmaps.flip(-1)
        if flip_indices is not None:
            assert len(flip_indices) == c
            heatmaps = heatmaps[:, list(flip_indices)]
    elif flip_mode in ("udp_combined", "offset"):
        group = 3 if flip_mode == "udp_combined" else 2
        x_channel = 1 if flip_mode == "udp_combined" else 0
        heatmaps = heatmaps.reshape(b, c // group, group, h, w).flip(-1)
        if flip_indices is not None:
            assert len(flip_indices) == c // group
            heatmaps = heatmaps[:, list(flip_indices)]
        sign = torch.ones(group, dtype=heatmaps.dtype, device=heatmaps.device)
        sign[x_channel] = -1
        heatmaps = (heatmaps * sign.view(1, 1, group, 1, 1)).reshape(b, c, h, w)
    else:
        raise ValueError(f'Invalid flip_mode value "{flip_mode}"')

    if shift_heatmap:
        heatmaps = _shift_right(heatmaps)
    return heatmaps


def flip_vectors(x_labels: Tensor, y_labels: Tensor, flip_indices: Sequence[int]) -> tuple[Tensor, Tensor]:
    """Flip SimCC vectors: ``x (B, K, Wx)`` is reversed, both are re-ordered by ``flip_indices``."""
    assert x_labels.ndim == 3 and y_labels.ndim == 3
    assert len(flip_indices) == x_labels.shape[1] and len(flip_indices) == y_labels.shape[1]
    idx = list(flip_indices)
    return x_labels[:, idx].flip(-1), y_labels[:, idx]


def flip_coordinates(
    coords: Tensor, flip_indices: Sequence[int], shift_coords: bool, input_size: Sequence[int]
) -> Tensor:
    """Flip normalised coordinates ``(B, K, D)`` (x in [0, 1] at index 0): ``x -> 1 - x [- 1 / w]``.

    Channels after the first two (e.g. RLE's sigmas) are only re-ordered.
    """
    assert coords.ndim == 3
    assert len(flip_indices) == coords.shape[1]
    x = 1.0 - coords[:, :, :1]
    if shift_coords:
        x = x - 1.0 / float(input_size[0])
    coords = torch.cat((x, coords[:, :, 1:]), dim=-1)
    return coords[:, list(flip_indices)]


def flip_visibility(vis: Tensor, flip_indices: Sequence[int]) -> Tensor:
    """Re-order keypoint visibilities ``(B, K)`` by ``flip_indices``."""
    assert vis.ndim == 2
    return vis[:, list(flip_indices)]
