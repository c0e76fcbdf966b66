"""MpiiPCKAccuracy, JhmdbPCKAccuracy, PCKAccuracy and NME with each dataset's normalisation (AFLW bbox_size /
box_size, 300W, COFW, WFLW, LaPa, COCO-WholeBody-Face, Horse-10, explicit keypoint_indices) give MMPose 1.3.2's
numbers on the same random inputs (``tests/data/golden/keypoint_metric_cases.*``, written by
``/opt/mmref/bin/python tests/data/tools/gen_keypoint_metric_cases.py``)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posekit import evaluation
from posekit.datasets import load_metainfo

NAMES = [
    "mpii_pckh", "mpii_pckh_thr03", "jhmdb_bbox_torso", "pck_bbox_head", "nme_aflw_bbox_size", "nme_aflw_box_size",
    "nme_300w", "nme_cofw", "nme_wflw", "nme_lapa", "nme_coco_wholebody_face", "nme_horse10", "nme_indices",
]  # fmt: skip


@pytest.fixture(scope="module")
def cases(golden_dir):
    return json.loads((golden_dir / "keypoint_metric_cases.json").read_text()), dict(
        np.load(golden_dir / "keypoint_metric_cases.npz")
    )


def build(case: dict):
    cfg = dict(case["metric"])
    metric = getattr(evaluation, cfg.pop("type"))(**cfg)
    metric.dataset_meta = load_metainfo(case["dataset_name"])
    return metric


@pytest.mark.parametrize("api", ["process", "update"])
@pytest.mark.parametrize("name", NAMES)
def test_metric_matches_mmpose(name, api, cases):
    index, arrays = cases
    case = index[name]
    a = {key: arrays[f"{name}/{key}"] for key in ("gt", "pred", "visible", "bboxes", "head_size", "box_size")}
    metric = build(case)
    n = len(a["gt"])
    if api == "process":  # MMPose's data samples
        metric.process(
            None,
            [
                dict(
                    pred_instances=dict(keypoints=a["pred"][i]),
                    gt_instances=dict(
                        keypoints=a["gt"][i],
                        keypoints_visible=a["visible"][i],
                        bboxes=a["bboxes"][i],
                        head_size=a["head_size"][i],
                        box_size=a["box_size"][i],
                    ),
                )
                for i in range(n)
            ],
        )
        got = metric.evaluate(n)
    else:  # posekit's metas (PoseBatch.metas keys) + batched predictions
        metas = [
            dict(
                id=i,
                img_id=i,
                keypoints=a["gt"][i],
                keypoints_visible=a["visible"][i],
                bbox=a["bboxes"][i],
                head_size=a["head_size"][i],
                box_size=a["box_size"][i],
            )
            for i in range(n)
        ]
        metric.update(metas, a["pred"])
        got = metric.compute()
    expected = case["results"]
    assert set(got) == set(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-6, abs=1e-9), key
