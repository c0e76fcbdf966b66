"""PoseTrack18 keypoint AP (MMPose's ``PoseTrack18Metric``), without the ``poseval`` package.

MMPose rescores and NMS-filters the predictions like :class:`~posekit.evaluation.CocoMetric`, writes one prediction
file per video and runs poseval's ``evaluateAP`` against the per-video ground-truth files (``annotations/val/*.json``
next to ``posetrack18_val.json``). This module computes the same numbers in numpy, following poseval
(github.com/leonid-pishchulin/poseval, ``evaluateAP.py`` / ``eval_helpers.py`` / ``convert.py``):

* the 17 PoseTrack18 keypoints map to poseval's 15 joints (the ears are dropped); a ground-truth joint exists unless
  it is ``x = y = 0`` with ``v = 0``; predictions carry every joint with its keypoint score;
* frames without annotated people are dropped; joints inside a frame's ignore regions are removed from the ground
  truth and the predictions, and people left without joints are dropped;
* in each frame a prediction matches the ground-truth person with the highest PCKh (distance <= 0.5 x the head
  size, head size = 0.6 x the diagonal of ``bbox_head``), each person keeps its best prediction; a predicted joint is
  a true positive when it lies within the threshold of its matched person's joint;
* per joint, AP is the VOC area under the precision/recall curve of all predicted joints ranked by score; results
  are in percent: ``Head AP`` (head top, head bottom, nose), ``Shou``/``Elb``/``Wri``/``Hip``/``Knee``/``Ankl AP``
  (left and right) and ``AP`` (mean over the joints that have a value).

Ignore regions use an even-odd point-in-polygon test (poseval uses shapely's ``Polygon.contains``: the two agree
except for points exactly on a region's border).
"""

from __future__ import annotations

import glob
import json
import os
import os.path as osp
import tempfile
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .coco import CocoMetric, _dump_json_atomic

__all__ = ["PoseTrack18Metric", "posetrack_ap", "POSETRACK18_KEYPOINTS", "POSEVAL_JOINTS"]

# PoseTrack18's keypoint order (MMPose writes its predictions with these names)
POSETRACK18_KEYPOINTS = [
    "nose", "head_bottom", "head_top", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
]  # fmt: skip
# poseval's 15 joints, in its id order
POSEVAL_JOINTS = [
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist", "right_elbow",
    "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "head_bottom", "nose", "head_top",
]  # fmt: skip
# result name -> poseval joint ids averaged
_PARTS = (
    ("Head AP", (14, 12, 13)),
    ("Shou AP", (8, 9)),
    ("Elb AP", (7, 10)),
    ("Wri AP", (6, 11)),
    ("Hip AP", (2, 3)),
    ("Knee AP", (1, 4)),
    ("Ankl AP", (0, 5)),
)
_DIST_THR = 0.5


class PoseTrack18Metric(CocoMetric):
    """PoseTrack18 keypoint AP (MMPose's ``PoseTrack18Metric``; poseval's definition, see the module docstring).

    Args:
        ann_file: the COCO-format ``posetrack18_val.json``; the per-video ground truth is read from the folder
            named after its last ``_`` part next to it (``annotations/val/`` for ``annotations/posetrack18_val.json``).
        score_mode, keypoint_score_thr, nms_mode, nms_thr: instance rescoring and NMS, as :class:`CocoMetric`.
        format_only: only write the per-video prediction files (into ``outfile_prefix``'s folder).
        outfile_prefix: where prediction files go (their folder); a temporary folder when ``None``.
        collect_device, prefix, metainfo: as :class:`CocoMetric` (``prefix`` defaults to ``'posetrack18'``).

    Results: ``Head AP``, ``Shou AP``, ``Elb AP``, ``Wri AP``, ``Hip AP``, ``Knee AP``, ``Ankl AP``, ``AP`` (percent).
    """

    default_prefix: str | None = "posetrack18"

    def __init__(
        self,
        ann_file: str | None = None,
        score_mode: str = "bbox_keypoint",
        keypoint_score_thr: float = 0.2,
        nms_mode: str = "oks_nms",
        nms_thr: float = 0.9,
        format_only: bool = False,
        outfile_prefix: str | None = None,
        collect_device: str = "cpu",
        prefix: str | None = None,
        metainfo: str | Mapping[str, Any] | None = None,
    ) -> None:
        if ann_file is None:
            raise ValueError("PoseTrack18Metric: ann_file is required (the posetrack18_val.json of the split)")
        super().__init__(
            ann_file=ann_file,
            score_mode=score_mode,
            keypoint_score_thr=keypoint_score_thr,
            nms_mode=nms_mode,
            nms_thr=nms_thr,
            format_only=format_only,
            outfile_prefix=outfile_prefix,
            collect_device=collect_device,
            prefix=prefix,
            metainfo=metainfo,
        )
        self.gt_folder = osp.join(osp.dirname(ann_file), osp.splitext(ann_file.split("_")[-1])[0])
        if not osp.isdir(self.gt_folder):
            raise FileNotFoundError(
                f"PoseTrack18Metric: the per-video ground-truth folder {self.gt_folder!r} (derived from ann_file "
                f"{ann_file!r}) does not exist"
            )

    def compute_metrics(self, results: list) -> dict[str, float]:
        if self.dataset_meta is None:
            raise RuntimeError("PoseTrack18Metric needs dataset_meta (metainfo='posetrack18') before compute()")
        preds, _ = zip(*results)
        valid_kpts = self._score_and_nms(self._group_by_image(preds))
        if self.format_only or self.outfile_prefix is not None:
            self.results2json(valid_kpts, self.outfile_prefix or "")
        if self.format_only:
            return {}
        return OrderedDict(posetrack_ap(self.gt_folder, valid_kpts))

    def results2json(self, keypoints: dict[Any, list[dict]], outfile_prefix: str) -> str:
        """Write one prediction file per ground-truth video file into ``outfile_prefix``'s folder (MMPose's layout)."""
        out_dir = osp.dirname(outfile_prefix) or tempfile.mkdtemp()
        os.makedirs(out_dir, exist_ok=True)
        category = dict(supercategory="person", id=1, name="person", keypoints=list(POSETRACK18_KEYPOINTS))
        for path in sorted(glob.glob(osp.join(self.gt_folder, "*.json"))):
            with open(path, encoding="utf-8") as f:
                gt = json.load(f)
            images, annotations = [], []
            for image in gt["images"]:
                images.append(dict(id=image["id"], file_name=image["file_name"]))
                for track_id, inst in enumerate(keypoints.get(image["id"], [])):
                    kpts = np.asarray(inst["keypoints"], dtype=np.float64).reshape(-1, 3)
                    annotations.append(
                        dict(
                            image_id=inst["img_id"],
                            keypoints=kpts.reshape(-1).tolist(),
                            scores=kpts[:, 2].tolist(),
                            score=float(inst["score"]),
                            track_id=track_id,
                        )
                    )
            _dump_json_atomic(
                dict(images=images, categories=[category], annotations=annotations),
                osp.join(out_dir, osp.basename(path)),
            )
        return out_dir


# ----------------------------------------------------------------------------------------------------------------------
# poseval's AP


def posetrack_ap(gt_folder: str, predictions: Mapping[Any, Sequence[Mapping[str, Any]]]) -> list[tuple[str, float]]:
    """poseval's per-frame multi-person AP of ``predictions`` against the per-video files in ``gt_folder``.

    Args:
        gt_folder: folder of PoseTrack18 per-video JSON files (COCO style, 17 keypoints).
        predictions: image id -> instances with ``keypoints`` (17, 3) (x, y, score) and ``score``.

    Returns:
        ``[(name, value)]``: ``Head AP``, ..., ``Ankl AP``, ``AP`` in percent.
    """
    files = sorted(glob.glob(osp.join(gt_folder, "*.json")))
    if not files:
        raise FileNotFoundError(f"PoseTrack18Metric: no ground-truth .json files in {gt_folder!r}")
    frames = []  # (gt people, predicted people, ignore polygons)
    for path in files:
        with open(path, encoding="utf-8") as f:
            video = json.load(f)
        names = video["categories"][0]["keypoints"]
        people_by_image: dict[Any, list] = {}
        for ann in video["annotations"]:
            if "keypoints" in ann:
                people_by_image.setdefault(ann["image_id"], []).append(ann)
        for image in video["images"]:
            gts = [_gt_person(ann, names, path) for ann in people_by_image.get(image["id"], [])]
            if not gts:
                continue  # poseval drops frames without annotated people
            prs = [_pred_person(inst) for inst in predictions.get(image["id"], [])]
            polygons = [
                np.stack([np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)], axis=1)
                for xs, ys in zip(image.get("ignore_regions_x") or [], image.get("ignore_regions_y") or [])
            ]
            if polygons:
                gts = _remove_ignored(gts, polygons)
                prs = _remove_ignored(prs, polygons)
            frames.append((gts, prs))

    num_joints = len(POSEVAL_JOINTS)
    scores: list[list[float]] = [[] for _ in range(num_joints)]
    labels: list[list[bool]] = [[] for _ in range(num_joints)]
    num_gt = np.zeros(num_joints)
    for gts, prs in frames:
        _assign(gts, prs, scores, labels, num_gt)

    ap = np.zeros(num_joints + 1)
    for j in range(num_joints):
        ap[j] = _joint_ap(np.asarray(scores[j], dtype=np.float64), np.asarray(labels[j], dtype=bool), num_gt[j])
    ap[num_joints] = np.nanmean(ap[:num_joints]) if not np.all(np.isnan(ap[:num_joints])) else np.nan
    out = [(name, float(np.mean(ap[list(idx)]))) for name, idx in _PARTS]
    out.append(("AP", float(ap[num_joints])))
    return out


def _gt_person(ann: Mapping[str, Any], names: Sequence[str], source: str) -> dict:
    if "bbox_head" not in ann:
        raise ValueError(f"{source}: annotation {ann.get('id')!r} has no 'bbox_head' (PoseTrack18's head box)")
    kpts = np.asarray(ann["keypoints"], dtype=np.float64).reshape(len(names), 3)
    x, y, w, h = (float(v) for v in ann["bbox_head"])
    points = {}
    for name, (px, py, v) in zip(names, kpts):
        if name in POSEVAL_JOINTS and not (px == 0 and py == 0 and v == 0):
            points[POSEVAL_JOINTS.index(name)] = (px, py, None)
    return dict(points=points, head_size=0.6 * float(np.hypot(w, h)))


def _pred_person(inst: Mapping[str, Any]) -> dict:
    kpts = np.asarray(inst["keypoints"], dtype=np.float64).reshape(len(POSETRACK18_KEYPOINTS), 3)
    points = {}
    for name, (px, py, s) in zip(POSETRACK18_KEYPOINTS, kpts):
        if name in POSEVAL_JOINTS and not (px == 0 and py == 0 and s == 0):
            points[POSEVAL_JOINTS.index(name)] = (px, py, s)
    return dict(points=points)


def _inside(x: float, y: float, poly: np.ndarray) -> bool:
    """Even-odd rule: does the point lie inside the polygon ``poly`` (M, 2)?"""
    xs, ys = poly[:, 0], poly[:, 1]
    xj, yj = np.roll(xs, 1), np.roll(ys, 1)
    crosses = (ys > y) != (yj > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = (xj - xs) * (y - ys) / (yj - ys) + xs
    return bool(np.count_nonzero(crosses & (x < x_at)) % 2)


def _remove_ignored(people: list[dict], polygons: list[np.ndarray]) -> list[dict]:
    kept = []
    for person in people:
        points = {j: p for j, p in person["points"].items() if not any(_inside(p[0], p[1], poly) for poly in polygons)}
        if points:
            kept.append({**person, "points": points})
    return kept


def _assign(gts: list[dict], prs: list[dict], scores: list, labels: list, num_gt: np.ndarray) -> None:
    """Match the predictions of one frame to its people (poseval's ``assignGTmulti``) and append joint labels."""
    num_joints = len(POSEVAL_JOINTS)
    has_gt = np.array([[j in g["points"] for j in range(num_joints)] for g in gts], dtype=bool).reshape(-1, num_joints)
    has_pr = np.array([[j in p["points"] for j in range(num_joints)] for p in prs], dtype=bool).reshape(-1, num_joints)
    num_gt += has_gt.sum(axis=0)
    if not prs:
        return
    if not gts:
        for i, p in enumerate(prs):
            for j in np.flatnonzero(has_pr[i]):
                scores[j].append(p["points"][j][2])
                labels[j].append(False)
        return
    dist = np.full((len(prs), len(gts), num_joints), np.inf)
    for g_idx, g in enumerate(gts):
        for p_idx, p in enumerate(prs):
            for j in range(num_joints):
                if has_pr[p_idx, j] and has_gt[g_idx, j]:
                    gx, gy, _ = g["points"][j]
                    px, py, _ = p["points"][j]
                    dist[p_idx, g_idx, j] = np.hypot(gx - px, gy - py) / g["head_size"]
    match = dist <= _DIST_THR
    pck = match.sum(axis=2).astype(np.float64)
    n_gt_joints = has_gt.sum(axis=1)
    pck = np.where(n_gt_joints[None] > 0, pck / np.maximum(n_gt_joints[None], 1), pck)
    best = np.argmax(pck, axis=1)
    keep = np.zeros_like(pck)
    keep[np.arange(len(prs)), best] = pck[np.arange(len(prs)), best]
    pr_to_gt = np.argmax(keep, axis=0)
    pr_to_gt[np.max(keep, axis=0) == 0] = -1
    for p_idx, p in enumerate(prs):
        matched = np.flatnonzero(pr_to_gt == p_idx)
        for j in np.flatnonzero(has_pr[p_idx]):
            scores[j].append(p["points"][j][2])
            labels[j].append(bool(match[p_idx, matched[0], j]) if len(matched) else False)


def _joint_ap(scores: np.ndarray, labels: np.ndarray, num_gt: float) -> float:
    """poseval's ``computeRPC`` + ``VOCap`` (x100): NaN without ground truth, 0 without predictions."""
    if len(scores) == 0:
        return 0.0
    order = scores.argsort()[::-1]
    tp = np.cumsum(labels[order])
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = tp / num_gt
    precision = tp / np.arange(1, len(scores) + 1)
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    for i in range(len(mpre) - 2, -1, -1):
        mpre[i] = max(mpre[i], mpre[i + 1])
    idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mpre[idx]) * 100)
