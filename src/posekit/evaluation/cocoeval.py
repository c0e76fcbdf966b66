"""COCO keypoint evaluation with xtcocotools' semantics on top of pycocotools.

MMPose evaluates with ``xtcocotools`` (an extended fork of the COCO API). pycocotools' ``COCOeval`` differs from it
for keypoints in a few places, which :class:`KeypointCOCOeval` re-implements so that posekit gets MMPose's numbers:

* sigmas are a constructor argument (any number of keypoints);
* a ground truth is ignored when it is a crowd or has no visible keypoint (counted from its ``keypoints``,
  not from a ``num_keypoints`` field, which CrowdPose-style files may lack);
* detections whose keypoint scores are all ``<= 0`` are dropped;
* ``use_area=False`` (or a ground truth without ``area``) uses ``0.53 * w * h`` of the ground-truth box as the
  OKS scale and for the area ranges;
* a detection matched to the ground truth with ``id == 0`` is a true positive (xtcocotools marks "unmatched" with
  -1; pycocotools with 0, which loses such matches): the ground-truth copies evaluated here get ids 1..G;
* ``iou_type='keypoints_crowd'`` summarises as CrowdPose does: AP/AR at 20 detections, then AP on the easy
  (crowd index < 0.2), medium (< 0.8) and hard images, each ``round(mean(precision), 4)`` (-1 without images).

The OKS of all detections against all ground truths of an image is one broadcast expression.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from typing import Any

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

__all__ = ["KeypointCOCOeval", "load_keypoint_results", "CROWD_STATS_NAMES", "KEYPOINT_STATS_NAMES"]

# set by callers that decide who counts themselves (COCO-WholeBody): see KeypointCOCOeval
IGNORE_KEY = "_posekit_ignore"
VALID_KEY = "_posekit_valid"

KEYPOINT_STATS_NAMES = ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)"]
CROWD_STATS_NAMES = ["AP", "AP .5", "AP .75", "AR", "AR .5", "AR .75", "AP(E)", "AP(M)", "AP(H)"]


def load_keypoint_results(coco_gt: COCO, anns: list[dict[str, Any]]) -> COCO:
    """``COCO.loadRes`` for an in-memory list of keypoint results, also accepting an empty list.

    Like ``loadRes``: results with a ``bbox`` take their area from it, others get area and box from the extent
    of their keypoints; ids are assigned 1..N.
    """
    res = COCO()
    res.dataset["info"] = copy.deepcopy(coco_gt.dataset.get("info", {}))
    res.dataset["images"] = list(coco_gt.dataset["images"])
    res.dataset["categories"] = copy.deepcopy(coco_gt.dataset.get("categories", []))
    img_ids = set(coco_gt.getImgIds())
    unknown = {a["image_id"] for a in anns} - img_ids
    if unknown:
        raise ValueError(
            f"{len(unknown)} result image id(s) are not in the ground truth (e.g. {sorted(unknown)[:5]}): "
            "predictions and annotation file do not belong to the same dataset split"
        )
    for i, ann in enumerate(anns):
        if "bbox" in ann and len(ann["bbox"]) > 0:
            x, y, w, h = ann["bbox"]
            ann.setdefault("segmentation", [[x, y, x, y + h, x + w, y + h, x + w, y]])
            ann["area"] = w * h
            ann["iscrowd"] = 0
        else:
            s = ann["keypoints"]
            xs, ys = s[0::3], s[1::3]
            x0, x1, y0, y1 = np.min(xs), np.max(xs), np.min(ys), np.max(ys)
            ann["area"] = (x1 - x0) * (y1 - y0)
            ann["bbox"] = [x0, y0, x1 - x0, y1 - y0]
        ann["id"] = i + 1
    res.dataset["annotations"] = anns
    res.createIndex()
    return res


class KeypointCOCOeval(COCOeval):
    """pycocotools' ``COCOeval`` for keypoints, behaving like ``xtcocotools.cocoeval.COCOeval``.

    Args:
        cocoGt: ground-truth COCO API object.
        cocoDt: detections (see :func:`load_keypoint_results`).
        iouType: ``'keypoints'`` or ``'keypoints_crowd'`` (CrowdPose's easy/medium/hard summary).
        sigmas: ``(K,)`` per-keypoint OKS sigmas; COCO's when ``None``.
        use_area: use the ground truth's ``area``; when ``False`` use ``0.53 * w * h`` of its box.

    A ground truth's ``IGNORE_KEY`` field, when present, replaces the no-visible-keypoint rule (crowds are always
    ignored; a plain ``ignore`` field in a file is not read, as in the COCO API), and a detection's ``VALID_KEY``
    field replaces the positive-score rule: COCO-WholeBody decides both
    from the body keypoints for every part it evaluates (a part without visible keypoints is then scored
    against the person box).
    """

    def __init__(
        self,
        cocoGt: COCO | None = None,
        cocoDt: COCO | None = None,
        iouType: str = "keypoints",
        sigmas: np.ndarray | None = None,
        use_area: bool = True,
    ) -> None:
        if iouType not in ("keypoints", "keypoints_crowd"):
            raise ValueError(f"iouType must be 'keypoints' or 'keypoints_crowd', got {iouType!r}")
        super().__init__(cocoGt, cocoDt, "keypoints")
        self.crowd = iouType == "keypoints_crowd"
        if sigmas is not None:
            self.params.kpt_oks_sigmas = np.asarray(sigmas)
        self.sigmas = self.params.kpt_oks_sigmas
        self.use_area = use_area

    def _gt_area(self, gt: dict[str, Any]) -> float:
        if self.use_area and "area" in gt:
            return gt["area"]
        return gt["bbox"][2] * gt["bbox"][3] * 0.53

    def _prepare(self) -> None:
        p = self.params
        if p.useCats:
            gts = self.cocoGt.loadAnns(self.cocoGt.getAnnIds(imgIds=p.imgIds, catIds=p.catIds))
            dts = self.cocoDt.loadAnns(self.cocoDt.getAnnIds(imgIds=p.imgIds, catIds=p.catIds))
        else:
            gts = self.cocoGt.loadAnns(self.cocoGt.getAnnIds(imgIds=p.imgIds))
            dts = self.cocoDt.loadAnns(self.cocoDt.getAnnIds(imgIds=p.imgIds))
        self._gts = defaultdict(list)
        self._dts = defaultdict(list)
        for eval_id, ann in enumerate(gts, start=1):
            gt = dict(ann)  # the evaluation flags go on a copy, the COCO object stays untouched
            gt["id"] = eval_id  # never 0: pycocotools' accumulate reads a match to id 0 as no match
            if IGNORE_KEY in ann:
                invisible = bool(ann[IGNORE_KEY])
            else:
                invisible = np.count_nonzero(np.asarray(gt["keypoints"])[2::3] > 0) == 0
            gt["ignore"] = bool(gt.get("iscrowd", 0)) or invisible
            gt["area"] = self._gt_area(gt)
            gt.setdefault("iscrowd", 0)
            self._gts[gt["image_id"], gt["category_id"]].append(gt)
        for dt in dts:
            valid = dt[VALID_KEY] if VALID_KEY in dt else np.count_nonzero(np.asarray(dt["keypoints"])[2::3] > 0) > 0
            if not valid:
                continue
            self._dts[dt["image_id"], dt["category_id"]].append(dt)
        self.evalImgs = defaultdict(list)
        self.eval = {}

    def computeOks(self, imgId: int, catId: int) -> np.ndarray | list:  # noqa: N802 (pycocotools' name)
        p = self.params
        gts = self._gts[imgId, catId]
        dts = self._dts[imgId, catId]
        inds = np.argsort([-d["score"] for d in dts], kind="mergesort")
        dts = [dts[i] for i in inds][: p.maxDets[-1]]
        if len(gts) == 0 or len(dts) == 0:
            return []
        variances = (p.kpt_oks_sigmas * 2) ** 2
        g = np.array([gt["keypoints"] for gt in gts], dtype=np.float64).reshape(len(gts), -1, 3)
        d = np.array([dt["keypoints"] for dt in dts], dtype=np.float64).reshape(len(dts), -1, 3)
        xg, yg, vg = g[..., 0], g[..., 1], g[..., 2]  # (G, K)
        visible = vg > 0
        has_visible = visible.any(axis=1)  # (G,)
        bb = np.array([gt["bbox"] for gt in gts], dtype=np.float64)  # (G, 4)
        x0, x1 = bb[:, 0] - bb[:, 2], bb[:, 0] + bb[:, 2] * 2
        y0, y1 = bb[:, 1] - bb[:, 3], bb[:, 1] + bb[:, 3] * 2
        xd, yd = d[None, :, :, 0], d[None, :, :, 1]  # (1, D, K)
        # visible ground truth: per-keypoint offsets; none visible: distance to the doubled gt box
        dx_kp, dy_kp = xd - xg[:, None], yd - yg[:, None]
        dx_box = np.maximum(0, x0[:, None, None] - xd) + np.maximum(0, xd - x1[:, None, None])
        dy_box = np.maximum(0, y0[:, None, None] - yd) + np.maximum(0, yd - y1[:, None, None])
        sel = has_visible[:, None, None]
        dx = np.where(sel, dx_kp, dx_box)
        dy = np.where(sel, dy_kp, dy_box)
        area = np.array([gt["area"] for gt in gts], dtype=np.float64)
        e = (dx**2 + dy**2) / variances / (area[:, None, None] + np.spacing(1)) / 2  # (G, D, K)
        counted = np.where(has_visible[:, None], visible, True)[:, None, :]  # (G, 1, K)
        oks = np.where(counted, np.exp(-e), 0.0).sum(axis=-1) / counted.sum(axis=-1)
        return oks.T  # (D, G)

    def summarize(self) -> None:
        if not self.eval:
            raise RuntimeError("Please run accumulate() first")
        if not self.crowd:
            super().summarize()
            return
        p = self.params

        def _mean(s: np.ndarray) -> float:
            valid = s[s > -1]
            return -1.0 if valid.size == 0 else float(np.mean(valid))

        t50 = np.where(p.iouThrs == 0.5)[0]
        t75 = np.where(p.iouThrs == 0.75)[0]
        a_all = [i for i, lbl in enumerate(p.areaRngLbl) if lbl == "all"]
        m20 = [i for i, m in enumerate(p.maxDets) if m == 20]
        prec = self.eval["precision"][:, :, :, a_all][..., m20]
        rec = self.eval["recall"][:, :, a_all][..., m20]
        stats = np.zeros(9)
        stats[0], stats[1], stats[2] = _mean(prec), _mean(prec[t50]), _mean(prec[t75])
        stats[3], stats[4], stats[5] = _mean(rec), _mean(rec[t50]), _mean(rec[t75])
        stats[6:9] = self._crowd_type_results(first=0.2, second=0.8)
        names = CROWD_STATS_NAMES
        for name, value in zip(names, stats):
            print(f" {'Average Precision' if name.startswith('AP') else 'Average Recall':<18} {name:<6} = {value:0.3f}")
        self.stats = stats

    def _crowd_type_results(self, first: float, second: float) -> list[float]:
        """AP on the easy / medium / hard images by the images' ``crowdIndex``, as CrowdPose's API."""
        easy, mid, hard = [], [], []
        for img in self.cocoGt.dataset["images"]:
            if "crowdIndex" not in img:
                raise KeyError(
                    f"image {img.get('id')} has no 'crowdIndex': iou_type='keypoints_crowd' needs CrowdPose-style "
                    "image entries (pass crowd_index in the sample metas when the ground truth comes from samples)"
                )
            ci = img["crowdIndex"]
            (easy if ci < first else mid if ci < second else hard).append(img["id"])
        saved = copy.deepcopy(self.params.imgIds)
        res = []
        for img_ids in (easy, mid, hard):
            self.params.imgIds = img_ids
            self.evaluate()
            self.accumulate()
            res.append(round(float(np.mean(self.eval["precision"][:, :, :, 0, :])), 4))
        self.params.imgIds = saved
        return res
