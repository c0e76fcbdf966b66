"""Tracking people across video frames: greedy IoU (or OKS) matching, and boxes carried by the previous poses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["PoseTracker", "bbox_iou", "bboxes_from_keypoints", "keypoint_oks"]


def bbox_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of xyxy boxes ``a`` (N, 4) and ``b`` (M, 4) -> (N, M)."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(axis=1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def keypoint_oks(kpts_a: np.ndarray, kpts_b: np.ndarray, areas_b: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    """COCO object keypoint similarity of poses ``kpts_a`` (N, K, 2) against ``kpts_b`` (M, K, 2) with areas
    ``areas_b`` (M,) and per-keypoint ``sigmas`` (K,) -> (N, M)."""
    d2 = ((np.asarray(kpts_a)[:, None] - np.asarray(kpts_b)[None]) ** 2).sum(-1)  # (N, M, K)
    var = (2.0 * np.asarray(sigmas, np.float64)) ** 2
    e = d2 / (var[None, None] * (np.asarray(areas_b, np.float64)[None, :, None] + np.spacing(1)) * 2)
    return np.exp(-e).mean(-1)


def bboxes_from_keypoints(
    keypoints: np.ndarray, scores: np.ndarray, kpt_thr: float = 0.3, expand: float = 1.25, min_points: int = 2
) -> np.ndarray:
    """Boxes around the confident keypoints of each pose: ``keypoints`` (N, K, 2), ``scores`` (N, K) ->
    (N, 4) xyxy, the keypoints' extent scaled by ``expand`` about its centre. A pose with fewer than
    ``min_points`` keypoints above ``kpt_thr`` uses all its keypoints."""
    out = np.zeros((len(keypoints), 4), np.float32)
    for i, (kpts, sc) in enumerate(zip(np.asarray(keypoints), np.asarray(scores))):
        pts = kpts[sc > kpt_thr] if int((sc > kpt_thr).sum()) >= min_points else kpts
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        center, half = (lo + hi) / 2, (hi - lo) / 2 * expand
        out[i] = [*(center - half), *(center + half)]
    return out


class PoseTracker:
    """Track ids kept across frames by greedy matching of each frame's people to the live tracks.

    Pairs are taken best-first (highest IoU of the boxes, or OKS of the poses with ``metric='oks'``) while the
    similarity is at least ``thr``; unmatched people start new tracks; a track unseen for more than ``max_age``
    frames is dropped.

    Args:
        metric: ``'iou'`` or ``'oks'`` (needs ``sigmas`` (K,)).
        thr: the least similarity that continues a track.
        max_age: frames a track survives without a match.
    """

    def __init__(
        self, metric: str = "iou", thr: float = 0.3, max_age: int = 5, sigmas: Sequence[float] | None = None
    ) -> None:
        if metric not in ("iou", "oks"):
            raise ValueError(f"PoseTracker: metric must be 'iou' or 'oks', got {metric!r}")
        if metric == "oks" and sigmas is None:
            raise ValueError("PoseTracker: metric='oks' needs the keypoint sigmas (dataset metainfo 'sigmas')")
        self.metric, self.thr, self.max_age = metric, float(thr), int(max_age)
        self.sigmas = None if sigmas is None else np.asarray(sigmas, np.float64)
        self.tracks: dict[int, dict[str, Any]] = {}  # id -> {bbox, keypoints, age}
        self.next_id = 0

    def _similarity(self, bboxes: np.ndarray, keypoints: np.ndarray | None, ids: list[int]) -> np.ndarray:
        old_boxes = np.stack([self.tracks[t]["bbox"] for t in ids])
        if self.metric == "iou" or keypoints is None:
            return bbox_iou(bboxes, old_boxes)
        old_kpts = np.stack([self.tracks[t]["keypoints"] for t in ids])
        areas = np.prod(old_boxes[:, 2:] - old_boxes[:, :2], axis=1)
        return keypoint_oks(keypoints, old_kpts, areas, self.sigmas)

    def update(self, bboxes: np.ndarray, keypoints: np.ndarray | None = None) -> np.ndarray:
        """Ids (N,) int64 of this frame's people, given their ``bboxes`` (N, 4) xyxy (and ``keypoints`` (N, K, 2))."""
        bboxes = np.asarray(bboxes, np.float64).reshape(-1, 4)
        ids = np.full(len(bboxes), -1, np.int64)
        live = list(self.tracks)
        if live and len(bboxes):
            sim = self._similarity(bboxes, keypoints, live)
            for flat in np.argsort(-sim, axis=None, kind="stable"):
                i, j = divmod(int(flat), len(live))
                if sim[i, j] < self.thr:
                    break
                if ids[i] < 0 and live[j] >= 0:
                    ids[i] = live[j]
                    live[j] = -1
        for i in np.flatnonzero(ids < 0):
            ids[i] = self.next_id
            self.next_id += 1
        seen = set(ids.tolist())
        for t in list(self.tracks):
            if t not in seen:
                self.tracks[t]["age"] += 1
                if self.tracks[t]["age"] > self.max_age:
                    del self.tracks[t]
        for i, t in enumerate(ids.tolist()):
            kp = None if keypoints is None else np.asarray(keypoints[i], np.float64)
            self.tracks[t] = {"bbox": bboxes[i], "keypoints": kp, "age": 0}
        return ids
