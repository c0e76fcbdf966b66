"""CocoWholeBodyMetric on MMPose's COCO-WholeBody sample (perfect predictions give 1.0 everywhere, as MMPose's
tests expect), part handling, and a real (imperfect) case checked against per-part CocoMetric runs."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from posekit.datasets import load_metainfo
from posekit.evaluation import CocoMetric, CocoWholeBodyMetric
from posekit.evaluation.coco_wholebody import split_parts

PARTS = ["keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts"]
TARGET = {
    f"coco-wholebody/{k}": 1.0
    for k in ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)"]
}


@pytest.fixture(scope="module")
def ann_file(testdata_dir):
    return str(testdata_dir / "coco" / "test_coco_wholebody.json")


@pytest.fixture(scope="module")
def meta():
    return load_metainfo("coco_wholebody")


def _wholebody_keypoints(ann: dict) -> list:
    return sum((ann[p] for p in PARTS), [])


@pytest.fixture(scope="module")
def topdown(coco_samples):
    return lambda ann_file: coco_samples.topdown(ann_file, _wholebody_keypoints)


@pytest.fixture(scope="module")
def bottomup(coco_samples):
    return lambda ann_file: coco_samples.bottomup(ann_file, _wholebody_keypoints)


@pytest.mark.parametrize(
    "score_mode, nms_mode", [("bbox", "none"), ("bbox_keypoint", "oks_nms"), ("bbox_rle", "soft_oks_nms")]
)
def test_perfect_topdown_predictions(ann_file, meta, tmp_path, score_mode, nms_mode, topdown):
    metric = CocoWholeBodyMetric(
        ann_file=ann_file, outfile_prefix=f"{tmp_path}/t", score_mode=score_mode, nms_mode=nms_mode
    )
    metric.dataset_meta = meta
    samples = topdown(ann_file)
    for s in samples:
        metric.process([{"inputs": None}], [s])
    assert metric.evaluate(size=len(samples)) == TARGET
    results = json.loads((tmp_path / "t.keypoints.json").read_text())
    assert {len(r[f]) for r in results for f in PARTS} == {51, 18, 204, 63}
    assert set(metric.part_results) == {"body", "foot", "face", "lefthand", "righthand", "wholebody"}


def test_perfect_bottomup_and_extra_sample(ann_file, meta, tmp_path, topdown, bottomup):
    metric = CocoWholeBodyMetric(ann_file=ann_file, outfile_prefix=f"{tmp_path}/b", score_mode="bbox", nms_mode="none")
    metric.dataset_meta = meta
    samples = bottomup(ann_file)
    for s in samples:
        metric.process([{"inputs": None}], [s])
    assert metric.evaluate(size=len(samples)) == TARGET
    # a sample processed twice is counted once
    metric = CocoWholeBodyMetric(ann_file=ann_file, score_mode="bbox", nms_mode="none", metainfo=meta)
    samples = topdown(ann_file)
    for s in [*samples, samples[0]]:
        metric.process([{"inputs": None}], [s])
    assert metric.evaluate(size=len(samples) + 1) == TARGET


def test_without_ann_file_writes_the_parts(ann_file, meta, tmp_path, topdown):
    metric = CocoWholeBodyMetric(outfile_prefix=f"{tmp_path}/g", metainfo=meta)
    samples = topdown(ann_file)
    for s in samples:
        metric.process([{"inputs": None}], [s])
    assert metric.evaluate(size=len(samples)) == TARGET
    gt = json.loads((tmp_path / "g.gt.json").read_text())
    assert all(len(a["keypoints"]) == 51 and len(a["righthand_kpts"]) == 63 for a in gt["annotations"])


def test_parts_match_per_part_coco_metric(ann_file, meta, topdown):
    """Noisy predictions: each part's AP equals a plain CocoMetric on that part alone (no part ignoring needed
    where every person has a visible keypoint in the part), and the whole body is its own evaluation."""
    rng = np.random.default_rng(0)
    samples = topdown(ann_file)
    for s in samples:
        s["pred_instances"]["keypoints"] = s["pred_instances"]["keypoints"] + rng.normal(0, 3, (1, 133, 2))
        s["pred_instances"]["keypoint_scores"] = np.full((1, 133), 0.9)
    metric = CocoWholeBodyMetric(ann_file=ann_file, score_mode="bbox", nms_mode="none", metainfo=meta)
    metric.process(None, samples)
    whole = metric.evaluate(len(samples))
    assert 0 < whole["coco-wholebody/AP"] < 1
    assert metric.part_results["wholebody"]["AP"] == whole["coco-wholebody/AP"]
    # body: every annotation has visible body keypoints, so COCO's own rule gives the same number
    body = CocoMetric(ann_file=None, score_mode="bbox", nms_mode="none", use_area=True)
    body_meta = dict(meta, num_keypoints=17, sigmas=meta["sigmas"][:17])
    body_meta["keypoint_id2name"] = {i: meta["keypoint_id2name"][i] for i in range(17)}
    body.dataset_meta = body_meta
    body_samples = []
    for s in samples:
        b = copy.deepcopy(s)
        b["pred_instances"] = {k: v[:, :17] for k, v in s["pred_instances"].items()}
        b["raw_ann_info"] = dict(s["raw_ann_info"], keypoints=s["raw_ann_info"]["keypoints"])
        body_samples.append(b)
    body.process(None, body_samples)
    assert body.evaluate(len(samples))["coco/AP"] == pytest.approx(metric.part_results["body"]["AP"], abs=1e-12)


def test_split_parts_accepts_flat_133_and_rejects_partial():
    flat = {"id": 1, "keypoints": list(range(133 * 3))}
    parts = split_parts(flat)
    assert [len(parts[p]) for p in PARTS] == [51, 18, 204, 63, 63] and parts["foot_kpts"][0] == 51
    with pytest.raises(ValueError, match="expected the part fields"):
        split_parts({"id": 2, "keypoints": [0] * 51, "foot_kpts": [0] * 18})


def test_packaged_data_config_uses_it(tmp_path):
    from hydra import compose, initialize_config_module

    with initialize_config_module(config_module="posekit.conf", version_base=None):
        cfg = compose("train", overrides=["data=coco_wholebody", f"paths.data_dir={tmp_path}"])
    assert cfg.data.num_keypoints == 133 and cfg.model.head.out_channels == 133
    (evaluator,) = cfg.data.evaluators
    assert evaluator._target_ == "posekit.evaluation.CocoWholeBodyMetric"
    assert evaluator.ann_file == f"{tmp_path}/coco/annotations/coco_wholebody_val_v1.0.json"
    assert cfg.monitor == "coco-wholebody/AP"
