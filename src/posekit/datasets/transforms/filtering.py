"""Instance filtering: :class:`FilterAnnotations` (MMPose's, for multi-instance results)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .compose import BaseTransform

__all__ = ["FilterAnnotations"]

_FILTERED_KEYS = ("bbox", "bbox_score", "category_id", "keypoints", "keypoints_visible", "area")


class FilterAnnotations(BaseTransform):
    """Drop the instances whose box is too small, whose area is too small or that have too few visible keypoints.

    Args:
        min_gt_bbox_wh: with ``by_box``, keep boxes wider than ``w`` AND taller than ``h`` (strictly).
        min_gt_area: with ``by_area``, keep instances with ``area >= min_gt_area``.
        min_kpt_vis: with ``by_kpt``, keep instances with at least this many visible keypoints (sum of the
            visibility channel).
        by_box / by_area / by_kpt: which tests apply (at least one; a test whose field is absent is skipped).
        keep_empty: when no instance passes, drop the whole sample (return ``None``, the dataset re-draws), as
            MMPose does; otherwise keep the sample with zero instances.

    The kept rows of ``bbox``, ``bbox_score``, ``category_id``, ``keypoints``, ``keypoints_visible``, ``area`` are
    new arrays; the input arrays are not written to.
    """

    def __init__(
        self,
        min_gt_bbox_wh: Sequence[float] = (1.0, 1.0),
        min_gt_area: float = 1,
        min_kpt_vis: float = 1,
        by_box: bool = False,
        by_area: bool = False,
        by_kpt: bool = True,
        keep_empty: bool = True,
    ) -> None:
        if not (by_box or by_kpt or by_area):
            raise ValueError("FilterAnnotations: at least one of by_box, by_area, by_kpt must be True")
        self.min_gt_bbox_wh = min_gt_bbox_wh
        self.min_gt_area = min_gt_area
        self.min_kpt_vis = min_kpt_vis
        self.by_box = by_box
        self.by_area = by_area
        self.by_kpt = by_kpt
        self.keep_empty = keep_empty

    def transform(self, results: dict) -> dict | None:
        if "keypoints" not in results:
            raise KeyError("FilterAnnotations: results has no 'keypoints'")
        if np.asarray(results["keypoints"]).shape[0] == 0:
            return results
        tests = []
        if self.by_box and "bbox" in results:
            bbox = np.asarray(results["bbox"])
            w_ok = bbox[..., 2] - bbox[..., 0] > self.min_gt_bbox_wh[0]
            h_ok = bbox[..., 3] - bbox[..., 1] > self.min_gt_bbox_wh[1]
            tests.append(w_ok & h_ok)
        if self.by_area and "area" in results:
            tests.append(np.asarray(results["area"]) >= self.min_gt_area)
        if self.by_kpt:
            vis = np.asarray(results["keypoints_visible"])
            if vis.ndim == 3:
                vis = vis[..., 0]
            tests.append(vis.sum(axis=1) >= self.min_kpt_vis)
        if not tests:  # the chosen tests' fields are all absent
            return results
        keep = np.logical_and.reduce(tests)
        if not keep.any() and self.keep_empty:
            return None
        for key in _FILTERED_KEYS:
            if key in results:
                value = results[key]
                kept = np.asarray(value)[keep]
                results[key] = kept.tolist() if isinstance(value, list) else kept
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(min_gt_bbox_wh={self.min_gt_bbox_wh}, min_gt_area={self.min_gt_area}, "
            f"min_kpt_vis={self.min_kpt_vis}, by_box={self.by_box}, by_area={self.by_area}, by_kpt={self.by_kpt}, "
            f"keep_empty={self.keep_empty})"
        )
