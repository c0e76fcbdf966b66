"""``CocoWholeBodyMetric``: COCO-WholeBody AP (MMPose's metric): body, feet, face, hands and the whole body.

The ground truth (an ``ann_file`` in COCO-WholeBody's format, or the samples' ``raw_ann_info``) holds each part
in its own field (``keypoints`` = body, ``foot_kpts``, ``face_kpts``, ``lefthand_kpts``, ``righthand_kpts``); a
file or annotation with all 133 keypoints in ``keypoints`` is split into the parts. Each part is evaluated with
its own slice of the sigmas and the person's ``area``, as xtcocotools' ``'keypoints_body'`` ...
``'keypoints_wholebody'`` iou types do: who counts is decided on the body (a person without a labelled body
keypoint is ignored, a result without a positive body score dropped, in every part), and a part without
visible keypoints is scored against the person box. The returned metrics are the whole body's
(``coco-wholebody/AP`` ...), as MMPose's; every part's are in :attr:`CocoWholeBodyMetric.part_results`.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

from .coco import CocoMetric, _quiet_coco

__all__ = ["CocoWholeBodyMetric"]

# (part name, annotation field, number of keypoints), in COCO-WholeBody's 133-keypoint order
PARTS = (
    ("body", "keypoints", 17),
    ("foot", "foot_kpts", 6),
    ("face", "face_kpts", 68),
    ("lefthand", "lefthand_kpts", 21),
    ("righthand", "righthand_kpts", 21),
)
_NUM_WHOLEBODY = sum(n for _, _, n in PARTS)


def split_parts(ann: dict) -> dict[str, list]:
    """The five part fields of a COCO-WholeBody annotation or result: from the part fields, or by splitting
    ``keypoints`` when it holds all 133 keypoints (``[x, y, v] * K`` flat lists)."""
    keypoints = list(ann["keypoints"])
    if len(keypoints) == 3 * _NUM_WHOLEBODY:
        out, start = {}, 0
        for _, field, n in PARTS:
            out[field] = keypoints[3 * start : 3 * (start + n)]
            start += n
        return out
    missing = [field for _, field, _ in PARTS[1:] if field not in ann]
    if missing:
        raise ValueError(
            f"COCO-WholeBody annotation {ann.get('id')!r}: no {missing} and {len(keypoints) // 3} keypoints in "
            f"'keypoints' (expected the part fields, or all {_NUM_WHOLEBODY} keypoints in 'keypoints')"
        )
    return {field: list(ann[field]) for _, field, _ in PARTS}


class CocoWholeBodyMetric(CocoMetric):
    """COCO-WholeBody keypoint AP/AR (MMPose's ``CocoWholeBodyMetric``; same arguments as :class:`CocoMetric`).

    Results: ``coco-wholebody/AP``, ``AP .5``, ``AP .75``, ``AP (M)``, ``AP (L)``, ``AR`` ... of the whole body;
    ``part_results`` holds ``{'body': {...}, 'foot': ..., 'face': ..., 'lefthand': ..., 'righthand': ...,
    'wholebody': ...}`` after each evaluation.
    """

    default_prefix: str | None = "coco-wholebody"
    body_num, foot_num, face_num, left_hand_num, right_hand_num = (n for _, _, n in PARTS)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.part_results: dict[str, dict[str, float]] = {}

    # ------------------------------------------------------------------------------------------------ ground truth
    def _coco_annotation(self, ann: dict) -> dict[str, Any]:
        """As :class:`CocoMetric`'s, with the part fields (the body in ``keypoints``)."""
        annotation = super()._coco_annotation(ann)
        annotation.update(split_parts(ann))
        return annotation

    # ------------------------------------------------------------------------------------------------ results
    def _results_to_coco(self, keypoints: dict[int, list[dict]]) -> list[dict]:
        """COCO results with the 133 keypoints split into the part fields (body in ``keypoints``)."""
        results = super()._results_to_coco(keypoints)
        for res in results:
            res.update(split_parts(res))
        return results

    def _do_python_keypoint_eval(self, coco: Any, cat_results: list[dict]) -> list[tuple[str, float]]:
        from .cocoeval import IGNORE_KEY, KEYPOINT_STATS_NAMES, VALID_KEY, KeypointCOCOeval, load_keypoint_results

        sigmas = np.asarray(self.dataset_meta["sigmas"])
        gt_anns = coco.dataset["annotations"]
        gt_parts = [split_parts(a) for a in gt_anns]
        res_parts = [split_parts(r) for r in cat_results]
        # as xtcocotools: which persons count is decided on the body (a person with no labelled body keypoint is
        # ignored in every part, a result with no positive body score is dropped from every part)
        gt_ignore = [not np.any(np.asarray(p["keypoints"])[2::3] > 0) for p in gt_parts]
        dt_valid = [bool(np.any(np.asarray(p["keypoints"])[2::3] > 0)) for p in res_parts]
        fields = [field for _, field, _ in PARTS]
        start = 0
        self.part_results = {}
        for name, field, n in [*PARTS, ("wholebody", None, _NUM_WHOLEBODY)]:
            part_sigmas = sigmas if field is None else sigmas[start : start + n]

            def pick(parts: dict, field=field) -> list:
                return [v for f in fields for v in parts[f]] if field is None else parts[field]

            gt_dataset = dict(coco.dataset)
            gt_dataset["annotations"] = [
                dict(a, keypoints=pick(p), **{IGNORE_KEY: ignore}) for a, p, ignore in zip(gt_anns, gt_parts, gt_ignore)
            ]
            part_gt = _quiet_coco(gt_dataset)
            dets = [
                {k: v for k, v in r.items() if k not in fields} | {"keypoints": pick(p), VALID_KEY: valid}
                for r, p, valid in zip(cat_results, res_parts, dt_valid)
            ]
            with contextlib.redirect_stdout(io.StringIO()):
                coco_det = load_keypoint_results(part_gt, dets)
                coco_eval = KeypointCOCOeval(part_gt, coco_det, "keypoints", part_sigmas, self.use_area)
                coco_eval.evaluate()
                coco_eval.accumulate()
                coco_eval.summarize()
            self.part_results[name] = {k: float(v) for k, v in zip(KEYPOINT_STATS_NAMES, coco_eval.stats)}
            if field is not None:
                start += n
        return list(self.part_results["wholebody"].items())
