"""Pictures of what a data pipeline produces (``posekit-browse``): the crop with its keypoints and the
encoded targets drawn as heatmaps, to check a dataset's annotations and its augmentation."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import cv2
import numpy as np

from .draw import draw_bboxes, draw_heatmap_overlay, draw_skeleton, make_heatmap_grid
from .visualizer import stack_images

__all__ = ["target_heatmaps", "render_original", "render_transformed"]


def target_heatmaps(results: Mapping[str, Any]) -> np.ndarray | None:
    """The encoded target of a pipeline results dict as (K, H, W) maps, or ``None`` (regression targets).

    Heatmap codecs give ``heatmaps`` (UDP's combined target: the response channels ``[::3]``); SimCC codecs give
    the outer product of ``keypoint_x_labels`` and ``keypoint_y_labels`` (normalised per keypoint).
    """
    k = None
    if results.get("keypoints") is not None:
        k = np.asarray(results["keypoints"]).shape[-2]
    hm = results.get("heatmaps")
    if hm is not None:
        hm = np.asarray(hm, np.float32)
        if hm.ndim == 4:  # multilevel targets: the first level
            hm = hm[0]
        if k is not None and hm.shape[0] == 3 * k:  # UDP 'combined': [response, offset_x, offset_y] per keypoint
            hm = hm[::3]
        return hm
    x, y = results.get("keypoint_x_labels"), results.get("keypoint_y_labels")
    if x is not None and y is not None:
        x = np.asarray(x, np.float32).reshape(-1, np.shape(x)[-2], np.shape(x)[-1])[0]  # (K, Wx)
        y = np.asarray(y, np.float32).reshape(-1, np.shape(y)[-2], np.shape(y)[-1])[0]  # (K, Wy)
        maps = y[:, :, None] * x[:, None, :]
        peak = maps.reshape(len(maps), -1).max(axis=1)
        return maps / np.where(peak > 0, peak, 1.0)[:, None, None]
    return None


def _visible(vis: Any) -> np.ndarray | None:
    """(N, K) visibility flags; MMPose also allows (N, K, 2) (flag, weight)."""
    if vis is None:
        return None
    vis = np.asarray(vis, np.float32)
    return vis[..., 0] if vis.ndim == 3 else vis


def _upscale(img: np.ndarray, min_height: int) -> tuple[np.ndarray, float]:
    factor = max(1.0, min_height / img.shape[0])
    if factor == 1.0:
        return img, 1.0
    size = (int(round(img.shape[1] * factor)), int(round(img.shape[0] * factor)))
    return cv2.resize(img, size, interpolation=cv2.INTER_LINEAR), factor


def render_transformed(
    results: Mapping[str, Any],
    metainfo: Any,
    heatmaps: str = "overlay",
    min_height: int = 256,
    kpt_names: list[str] | None = None,
) -> dict[str, np.ndarray]:
    """Draw a pipeline's output (before ``PackPoseInputs``).

    Args:
        results: the results dict after ``TopdownAffine`` (and ``GenerateTarget``): ``img`` (the crop, BGR),
            ``transformed_keypoints`` (1, K, 2), ``keypoints_visible`` (1, K), targets.
        metainfo: the dataset's metainfo (colours, skeleton).
        heatmaps: ``'overlay'`` (a second panel with all target heatmaps over the crop), ``'grid'`` (one tile per
            keypoint, returned as ``'grid'``), ``'both'`` or ``'none'``.
        min_height: crops are upscaled to at least this height so the drawing is legible.
        kpt_names: labels for the grid tiles.

    Returns:
        ``{'main': crop with keypoints [| heatmap overlay]}`` plus ``'grid'`` when asked and targets exist.
    """
    if heatmaps not in ("overlay", "grid", "both", "none"):
        raise ValueError(f"heatmaps must be overlay, grid, both or none, got {heatmaps!r}")
    crop = results["img"]
    if isinstance(crop, list):
        crop = crop[0]
    big, factor = _upscale(np.ascontiguousarray(crop), min_height)
    kpts = results.get("transformed_keypoints")
    panels = [big]
    if kpts is not None:
        panels[0] = draw_skeleton(
            big,
            np.asarray(kpts, np.float32)[..., :2] * factor,
            None,
            metainfo,
            kpt_thr=0.0,
            keypoints_visible=_visible(results.get("keypoints_visible")),
        )
    out: dict[str, np.ndarray] = {}
    hms = target_heatmaps(results) if heatmaps != "none" else None
    if hms is not None and heatmaps in ("overlay", "both"):
        panels.append(draw_heatmap_overlay(big, hms, alpha=0.7))
    if hms is not None and heatmaps in ("grid", "both"):
        out["grid"] = make_heatmap_grid(hms, img=crop, names=kpt_names, cell_height=max(96, crop.shape[0]))
    out["main"] = stack_images(panels, axis=1) if len(panels) > 1 else panels[0]
    return out


def render_original(img: np.ndarray, info: Mapping[str, Any], metainfo: Any) -> np.ndarray:
    """Draw a dataset item's annotation (before the pipeline) on its image: box and labelled keypoints."""
    canvas = draw_bboxes(img, np.asarray(info["bbox"], np.float32).reshape(-1, 4))
    if info.get("keypoints") is not None:
        vis = info.get("keypoints_visible")
        canvas = draw_skeleton(
            canvas,
            np.asarray(info["keypoints"], np.float32)[..., :2],
            None,
            metainfo,
            kpt_thr=0.0,
            keypoints_visible=_visible(vis),
            copy=False,
        )
    return canvas
