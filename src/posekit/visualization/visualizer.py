"""``PoseVisualizer``: the drawing settings of one dataset in one object (MMPose's ``PoseLocalVisualizer`` role)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from .draw import _check_img, draw_bboxes, draw_heatmap_overlay, draw_skeleton, resolve_metainfo

__all__ = ["PoseVisualizer", "stack_images"]


def stack_images(images: Sequence[np.ndarray], axis: int = 1, pad: int = 4, fill: int = 0) -> np.ndarray:
    """Place BGR images side by side (``axis=1``) or one above the other (``axis=0``), padding the other side."""
    images = [_check_img(im, "stack_images") for im in images]
    if axis not in (0, 1):
        raise ValueError(f"stack_images: axis must be 0 or 1, got {axis}")
    other = 1 - axis
    size = max(im.shape[other] for im in images)
    parts: list[np.ndarray] = []
    for i, im in enumerate(images):
        if im.shape[other] < size:
            grow = [(0, 0), (0, 0), (0, 0)]
            grow[other] = (0, size - im.shape[other])
            im = np.pad(im, grow, constant_values=fill)
        parts.append(im)
        if pad and i < len(images) - 1:
            shape = [0, 0, 3]
            shape[axis], shape[other] = pad, size
            parts.append(np.full(shape, fill, np.uint8))
    return np.concatenate(parts, axis=axis)


class PoseVisualizer:
    """Draws predictions (and ground truth) with a dataset's colours and skeleton.

    Args:
        metainfo: a dataset name (``'coco'``), a metainfo YAML path or a parsed metainfo dict.
        kpt_thr: keypoints scoring below are not drawn.
        radius / thickness: keypoint radius / line width in pixels (``None``: scaled with the image).
        draw_bbox: draw the person boxes.
        bbox_color: BGR colour of the boxes.
        heatmap_alpha: opacity of heatmap overlays.
        gt_color: BGR colour of ground-truth skeletons in :meth:`draw_gt_pred` (``None``: the metainfo's colours).

    Example::

        vis = PoseVisualizer("coco", kpt_thr=0.3)
        canvas = vis.draw_results(img, inference_topdown(model, img, boxes))
    """

    def __init__(
        self,
        metainfo: str | Mapping[str, Any] | None = "coco",
        kpt_thr: float = 0.3,
        radius: int | None = None,
        thickness: int | None = None,
        draw_bbox: bool = True,
        bbox_color: Sequence[int] = (0, 255, 0),
        heatmap_alpha: float = 0.6,
        gt_color: Sequence[int] | None = None,
    ) -> None:
        self.metainfo = resolve_metainfo(metainfo)
        self.kpt_thr = float(kpt_thr)
        self.radius = radius
        self.thickness = thickness
        self.draw_bbox = bool(draw_bbox)
        self.bbox_color = tuple(int(c) for c in bbox_color)
        self.heatmap_alpha = float(heatmap_alpha)
        self.gt_color = None if gt_color is None else tuple(int(c) for c in gt_color)

    def draw(
        self,
        img: np.ndarray,
        keypoints: Any = None,
        scores: Any = None,
        bboxes: Any = None,
        bbox_scores: Any = None,
        heatmap: Any = None,
        keypoints_visible: Any = None,
    ) -> np.ndarray:
        """Draw on a copy of ``img``: boxes (N, 4) xyxy, keypoints (N, K, 2) with scores (N, K), and, if a
        ``heatmap`` (image-space (H, W) or (K, H, W)) is given, a second panel below with the heatmap overlay
        (MMPose's layout)."""
        canvas = _check_img(img, "PoseVisualizer.draw").copy()
        if self.draw_bbox and bboxes is not None and np.size(bboxes):
            draw_bboxes(canvas, bboxes, scores=bbox_scores, color=self.bbox_color, thickness=self.thickness, copy=False)
        if keypoints is not None and np.size(keypoints):
            draw_skeleton(
                canvas,
                keypoints,
                scores,
                self.metainfo,
                kpt_thr=self.kpt_thr,
                radius=self.radius,
                thickness=self.thickness,
                keypoints_visible=keypoints_visible,
                copy=False,
            )
        if heatmap is not None:
            overlay = draw_heatmap_overlay(img, heatmap, alpha=self.heatmap_alpha)
            canvas = np.concatenate([canvas, overlay], axis=0)
        return canvas

    def draw_results(self, img: np.ndarray, results: Sequence[Mapping[str, Any]], heatmap: Any = None) -> np.ndarray:
        """Draw the per-person results of :func:`posekit.apis.inference_topdown` (``keypoints`` (K, 2),
        ``keypoint_scores`` (K,), ``bbox`` (4,), ``bbox_score``)."""
        if not results:
            return self.draw(img, heatmap=heatmap)
        kpts = np.stack([np.asarray(r["keypoints"], np.float32) for r in results])
        scores = np.stack([np.asarray(r["keypoint_scores"], np.float32) for r in results])
        boxes = (
            np.stack([np.asarray(r["bbox"], np.float32).reshape(4) for r in results]) if "bbox" in results[0] else None
        )
        bbox_scores = np.asarray([float(r.get("bbox_score", 1.0)) for r in results], np.float32)
        return self.draw(img, kpts, scores, boxes, bbox_scores, heatmap=heatmap)

    def draw_gt_pred(
        self,
        img: np.ndarray,
        gt_keypoints: Any,
        gt_visible: Any,
        pred_keypoints: Any,
        pred_scores: Any,
        bboxes: Any = None,
        max_side: int | None = 512,
    ) -> np.ndarray:
        """Ground truth (left, every labelled keypoint) next to the prediction (right), both on ``img``,
        downscaled so the longer side is at most ``max_side`` (the drawing is done after resizing)."""
        img = _check_img(img, "PoseVisualizer.draw_gt_pred")
        factor = 1.0
        if max_side and max(img.shape[:2]) > max_side:
            factor = max_side / max(img.shape[:2])
            img = cv2.resize(
                img,
                (max(1, round(img.shape[1] * factor)), max(1, round(img.shape[0] * factor))),
                interpolation=cv2.INTER_AREA,
            )
        gt = np.asarray(gt_keypoints, np.float32) * factor
        pred = np.asarray(pred_keypoints, np.float32) * factor
        boxes = None if bboxes is None else np.asarray(bboxes, np.float32) * factor
        left = img.copy()
        if self.draw_bbox and boxes is not None:
            draw_bboxes(left, boxes, color=self.bbox_color, thickness=self.thickness, copy=False)
        colors = None if self.gt_color is None else self.gt_color[::-1]  # draw_skeleton takes RGB
        draw_skeleton(
            left,
            gt,
            None,
            self.metainfo,
            kpt_thr=0.0,
            radius=self.radius,
            thickness=self.thickness,
            keypoints_visible=gt_visible,
            keypoint_colors=colors,
            link_colors=colors,
            copy=False,
        )
        right = self.draw(img, pred, pred_scores, boxes)
        for panel, text in ((left, "GT"), (right, "pred")):
            cv2.putText(panel, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        return stack_images([left, right], axis=1)
