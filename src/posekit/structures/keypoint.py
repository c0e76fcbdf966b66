"""Keypoint flipping (MMPose 1.x conventions)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["flip_keypoints", "flip_keypoints_custom_center"]


def flip_keypoints(
    keypoints: np.ndarray,
    keypoints_visible: np.ndarray | None,
    image_size: Sequence[int],
    flip_indices: Sequence[int],
    direction: str = "horizontal",
) -> tuple[np.ndarray, np.ndarray | None]:
    """Flip keypoints (..., K, D) in an image of size (w, h) and swap left/right partners.

    ``keypoints_visible`` is (..., K) (or (..., K, 2) with per-keypoint weights) or ``None``.
    A coordinate x maps to ``w - 1 - x``. Flipping twice with the same arguments is the identity.
    Returns new arrays; the inputs are not modified.
    """
    if direction not in ("horizontal", "vertical", "diagonal"):
        raise ValueError(f"flip_keypoints: direction must be horizontal|vertical|diagonal, got {direction!r}")
    keypoints = np.asarray(keypoints)
    if keypoints_visible is not None:
        keypoints_visible = np.asarray(keypoints_visible)
        if keypoints.shape[:-1] != keypoints_visible.shape[: keypoints.ndim - 1]:
            raise ValueError(
                f"flip_keypoints: keypoints {keypoints.shape} and keypoints_visible "
                f"{keypoints_visible.shape} disagree on (..., K)"
            )
    flip_indices = list(flip_indices)
    if len(flip_indices) != keypoints.shape[-2]:
        raise ValueError(f"flip_keypoints: {len(flip_indices)} flip_indices for {keypoints.shape[-2]} keypoints")
    if direction in ("horizontal", "vertical"):
        keypoints = keypoints[..., flip_indices, :]
        if keypoints_visible is not None:
            k_axis = keypoints.ndim - 2
            keypoints_visible = np.take(keypoints_visible, flip_indices, axis=k_axis)
    else:
        keypoints = keypoints.copy()
    w, h = image_size
    if direction == "horizontal":
        keypoints[..., 0] = w - 1 - keypoints[..., 0]
    elif direction == "vertical":
        keypoints[..., 1] = h - 1 - keypoints[..., 1]
    else:
        keypoints[..., :2] = np.array([w, h], dtype=keypoints.dtype) - keypoints[..., :2] - 1
    return keypoints, keypoints_visible


def flip_keypoints_custom_center(
    keypoints: np.ndarray,
    keypoints_visible: np.ndarray,
    flip_indices: Sequence[int],
    center_mode: str = "static",
    center_x: float = 0.5,
    center_index: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Flip (..., K, D) keypoints horizontally around ``x = center_x`` (``static``) or around the
    x of keypoint ``center_index`` (``root``), swapping left/right partners."""
    if center_mode not in ("static", "root"):
        raise ValueError(f"center_mode must be 'static' or 'root', got {center_mode!r}")
    keypoints = np.asarray(keypoints)
    x_c = center_x if center_mode == "static" else keypoints[..., center_index : center_index + 1, 0]
    flipped = keypoints[..., list(flip_indices), :].copy()
    vis = np.asarray(keypoints_visible)[..., list(flip_indices)].copy()
    flipped[..., 0] = 2 * x_c - flipped[..., 0]
    return flipped, vis


def keypoint_clip_border(
    keypoints: np.ndarray, keypoints_visible: np.ndarray, shape: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Zero the visibility of keypoints outside the image ``shape`` = (w, h) (MMPose's ``keypoint_clip_border``).

    Args:
        keypoints: (N, K, 2).
        keypoints_visible: (N, K), or (N, K, 2) = (visibility, weight): only the visibility channel changes.

    Returns:
        ``keypoints`` (unchanged) and a new visibility array; the inputs are not written to.
    """
    width, height = shape[:2]
    keypoints = np.asarray(keypoints)
    outside = (keypoints[..., 0] > width) | (keypoints[..., 0] < 0) | (keypoints[..., 1] > height) | (
        keypoints[..., 1] < 0
    )
    visible = np.array(keypoints_visible, copy=True)
    if visible.ndim == 2:
        visible[outside] = 0.0
    elif visible.ndim == 3:
        visible[outside, 0] = 0.0
    else:
        raise ValueError(f"keypoint_clip_border: keypoints_visible must be (N, K) or (N, K, 2), got {visible.shape}")
    return keypoints, visible
