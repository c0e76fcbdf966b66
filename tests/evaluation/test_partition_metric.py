"""KeypointPartitionMetric: per-partition CocoMetric / PCK / AUC / EPE / NME with MMPose 1.3.2's results.

The expected numbers are those of MMPose's own tests for ``KeypointPartitionMetric`` (same inputs: the
COCO-WholeBody sample ``test_keypoint_partition_metric.json`` with scaled fake predictions, and synthetic PCK /
AUC / EPE / NME cases); MMPose obtained the COCO ones from ``CocoWholeBodyMetric``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from posekit.datasets import load_metainfo
from posekit.evaluation import CocoMetric, KeypointPartitionMetric
from posekit.evaluation.partition import PartitionConfigError

WHOLEBODY_PARTS = dict(
    body=range(17),
    foot=range(17, 23),
    face=range(23, 91),
    left_hand=range(91, 112),
    right_hand=range(112, 133),
    all=range(133),
)
TARGET_BBOX_NONE = {
    "body/coco/AP": 0.749,
    "body/coco/AR": 0.800,
    "foot/coco/AP": 0.840,
    "foot/coco/AR": 0.850,
    "face/coco/AP": 0.051,
    "face/coco/AR": 0.050,
    "left_hand/coco/AP": 0.283,
    "left_hand/coco/AR": 0.300,
    "right_hand/coco/AP": 0.383,
    "right_hand/coco/AR": 0.380,
    "all/coco/AP": 0.284,
    "all/coco/AR": 0.450,
}


def _fake_prediction(keypoints_3: np.ndarray) -> dict:
    """MMPose's fake predictions: x * 0.99, y * 1.02, score = 0.8 v."""
    pred = np.zeros_like(keypoints_3)
    pred[..., 0] = keypoints_3[..., 0] * 0.99
    pred[..., 1] = keypoints_3[..., 1] * 1.02
    pred[..., 2] = keypoints_3[..., 2] * 0.8
    return {"keypoints": pred[..., :2], "keypoint_scores": pred[..., -1]}


@pytest.fixture(scope="module")
def wholebody(testdata_dir):
    return json.loads((testdata_dir / "coco" / "test_keypoint_partition_metric.json").read_text())


@pytest.fixture(scope="module")
def topdown_samples(coco_samples):
    return lambda db: coco_samples.topdown(db, predict=_fake_prediction, with_gt_keypoints=True)


@pytest.fixture(scope="module")
def bottomup_samples(coco_samples):
    return lambda db: coco_samples.bottomup(
        db, predict=_fake_prediction, with_gt_keypoints=True, with_raw_ann_info=True
    )


@pytest.mark.parametrize("style", ["topdown", "bottomup"])
def test_coco_partitions_match_mmpose(wholebody, tmp_path, style, topdown_samples, bottomup_samples):
    samples = topdown_samples(wholebody) if style == "topdown" else bottomup_samples(wholebody)
    assert len(samples) == (14 if style == "topdown" else 4)
    metric = KeypointPartitionMetric(
        metric=dict(type="CocoMetric", outfile_prefix=f"{tmp_path}/{style}", score_mode="bbox", nms_mode="none"),
        partitions=WHOLEBODY_PARTS,
    )
    metric.dataset_meta = load_metainfo("coco_wholebody")
    for sample in samples:
        metric.process([{"inputs": None}], [sample])
    results = metric.evaluate(size=len(samples))
    for key, want in TARGET_BBOX_NONE.items():
        assert results[key] == pytest.approx(want, abs=5e-4), key
    for part in WHOLEBODY_PARTS:
        assert (tmp_path / f"{style}.{part}.keypoints.json").is_file()
    assert all(len(m.results) == 0 for m in metric.metrics.values())  # evaluate() clears


def test_posekit_update_api_equals_process(wholebody, topdown_samples):
    """update(metas, keypoints, scores) / compute() (what training calls) gives the same numbers as process()."""
    samples = topdown_samples(wholebody)
    cfg = dict(type="CocoMetric", score_mode="bbox", nms_mode="none")
    parts = dict(body=range(17), hands=list(range(91, 133)))
    a = KeypointPartitionMetric(metric=cfg, partitions=parts, metainfo="coco_wholebody")
    b = KeypointPartitionMetric(metric=cfg, partitions=parts, metainfo="coco_wholebody")
    a.process(None, samples)
    metas = [
        {
            "id": s["id"],
            "img_id": s["img_id"],
            "bbox_scale": s["gt_instances"]["bbox_scales"],
            "bbox_score": s["gt_instances"]["bbox_scores"],
            "ori_shape": s["ori_shape"],
            "raw_ann_info": s["raw_ann_info"],
        }
        for s in samples
    ]
    keypoints = np.stack([s["pred_instances"]["keypoints"] for s in samples])
    scores = np.stack([s["pred_instances"]["keypoint_scores"] for s in samples])
    b.update(metas, keypoints, scores)
    got_a, got_b = a.evaluate(len(samples)), b.compute()
    assert got_a == got_b and set(got_a) >= {"body/coco/AP", "hands/coco/AP"}
    b.reset()
    assert all(len(m.results) == 0 for m in b.metrics.values())
    # the samples were not modified by the split
    assert len(samples[0]["raw_ann_info"]["keypoints"]) == 133 * 3
    assert samples[0]["pred_instances"]["keypoints"].shape == (1, 133, 2)


def test_partition_metainfo_is_restricted():
    metric = KeypointPartitionMetric(
        metric=dict(type="CocoMetric", score_mode="bbox", nms_mode="none"),
        partitions=dict(lr=[5, 6], wrists=[9, 10, 0], left=[9, 0]),
    )
    coco = load_metainfo("coco")
    metric.dataset_meta = coco
    meta = metric.metrics["lr"].dataset_meta
    assert meta["num_keypoints"] == 2
    np.testing.assert_array_equal(meta["sigmas"], coco["sigmas"][[5, 6]])
    assert meta["keypoint_id2name"] == {0: "left_shoulder", 1: "right_shoulder"}
    assert meta["flip_indices"] == [1, 0] and meta["skeleton_links"] == [(0, 1)]
    assert metric.metrics["wrists"].dataset_meta["flip_indices"] == [1, 0, 2]
    assert "flip_indices" not in metric.metrics["left"].dataset_meta  # the right wrist is not in the partition
    with pytest.raises(ValueError, match="out of range"):
        KeypointPartitionMetric(metric=dict(type="EPE"), partitions=dict(a=[0, 17])).dataset_meta = coco


def test_constructor_checks_and_warnings():
    with pytest.raises(ValueError, match="Metrics supported by KeypointPartitionMetric"):
        KeypointPartitionMetric(metric=dict(type="Metric"), partitions=dict(all=range(133)))
    with pytest.warns(UserWarning, match="does not support the ann_file argument"):
        KeypointPartitionMetric(
            metric=dict(type="CocoMetric", ann_file="", score_mode="bbox", nms_mode="none"),
            partitions=dict(all=range(133)),
        )
    with pytest.warns(UserWarning, match="if score_mode is not 'bbox'"):
        KeypointPartitionMetric(metric=dict(type="CocoMetric", nms_mode="none"), partitions=dict(all=range(133)))
    with pytest.warns(UserWarning, match="oks_nms and soft_oks_nms"):
        KeypointPartitionMetric(metric=dict(type="CocoMetric", score_mode="bbox"), partitions=dict(all=range(133)))
    with pytest.warns(UserWarning, match="norm_item torso is used in JhmdbDataset"):
        KeypointPartitionMetric(
            metric=dict(type="PCKAccuracy", thr=0.05, norm_item=["bbox", "torso"]), partitions=dict(all=range(133))
        )
    for partitions, message in [({}, "at least one partition"), ({"all": {}}, "should be a sequence")]:
        with pytest.raises(AssertionError, match=message):
            KeypointPartitionMetric(metric=dict(type="EPE"), partitions=partitions)
    with pytest.raises(PartitionConfigError, match="at least one element"):
        KeypointPartitionMetric(metric=dict(type="EPE"), partitions=dict(all=[]))
    with pytest.raises(AssertionError, match="Missing norm_mode"):
        KeypointPartitionMetric(metric=dict(type="NME"), partitions=dict(all=range(133)))
    with pytest.raises(ValueError, match="NME norm_mode 'keypoint_distance'"):
        KeypointPartitionMetric(metric=dict(type="NME", norm_mode="keypoint_distance"), partitions=dict(all=[0]))


def test_metric_instance_is_copied_per_partition(tmp_path):
    base = CocoMetric(score_mode="bbox", nms_mode="none", outfile_prefix=str(tmp_path / "x"))
    metric = KeypointPartitionMetric(metric=base, partitions=dict(a=[0, 1], b=[2]))
    assert metric.metrics["a"] is not metric.metrics["b"] is not base
    assert metric.metrics["a"].outfile_prefix == f"{tmp_path / 'x'}.a" and base.outfile_prefix == str(tmp_path / "x")


# ------------------------------------------------------------------------------------------ PCK / AUC / EPE / NME
def pck_samples(num_keypoints: int, batch: int, head: bool = True) -> list[dict]:
    samples = []
    for i in range(batch):
        keypoints = np.zeros((1, num_keypoints, 2))
        for j in range(num_keypoints):
            keypoints[0, j] = [0.5 * i * j, 0.5 * i * j]
        visible = np.ones((1, num_keypoints, 1), dtype=bool)
        visible[0, (2 * i) % (8 if head else batch), 0] = False
        gt = {"keypoints": keypoints, "keypoints_visible": visible}
        if head:
            gt["bboxes"] = np.array([[0.1, 0.2, 0.3, 0.4]]) * 20 * i
            gt["head_size"] = np.array([[0.1]]) * 10 * i
        else:
            gt["box_size"] = np.array([[0.1]]) * 10 * i
        pred = np.zeros_like(keypoints)
        pred[0, :, 0] = keypoints[0, :, 0] * 0.95
        pred[0, :, 1] = keypoints[0, :, 1] * 1.05
        samples.append({"gt_instances": gt, "pred_instances": {"keypoints": pred}})
    return samples


def test_pck_partitions_match_mmpose():
    samples = pck_samples(24, 8)
    parts = dict(p1=range(10), p2=range(10, 24), all=range(24))
    pck = KeypointPartitionMetric(metric=dict(type="PCKAccuracy", thr=0.5, norm_item="bbox"), partitions=parts)
    pck.process([{"inputs": None}] * 8, samples)
    assert pck.evaluate(8) == {"p1/PCK": 1.0, "p2/PCK": 1.0, "all/PCK": 1.0}
    pckh = KeypointPartitionMetric(metric=dict(type="PCKAccuracy", thr=0.3, norm_item="head"), partitions=parts)
    pckh.process([{"inputs": None}] * 8, samples)
    assert pckh.evaluate(8) == pytest.approx({"p1/PCKh": 0.9, "p2/PCKh": 0.0, "all/PCKh": 0.375})
    with pytest.warns(UserWarning, match="torso"):
        tpck = KeypointPartitionMetric(
            metric=dict(type="PCKAccuracy", thr=0.05, norm_item=["bbox", "torso"]), partitions=parts
        )
    tpck.process([{"inputs": None}] * 8, samples)
    want = {
        "p1/PCK": 0.6,
        "p1/tPCK": 0.11428571428571428,
        "p2/PCK": 0.0,
        "p2/tPCK": 0.0,
        "all/PCK": 0.25,
        "all/tPCK": 0.047619047619047616,
    }
    assert tpck.evaluate(8) == pytest.approx(want)


def auc_epe_sample() -> dict:
    output = np.array([[[10, 4], [10, 18], [0, 0], [40, 40], [20, 10]]], dtype=np.float64)
    target = np.array([[[10, 0], [10, 10], [0, -1], [30, 30], [0, 10]]], dtype=np.float64)
    gt = {"keypoints": target, "keypoints_visible": np.array([[True, True, False, True, True]])}
    return {"gt_instances": gt, "pred_instances": {"keypoints": output}}


def test_auc_and_epe_partitions_match_mmpose():
    parts = dict(p1=range(3), p2=range(3, 5), all=range(5))
    auc = KeypointPartitionMetric(metric=dict(type="AUC", norm_factor=20, num_thrs=4), partitions=parts)
    auc.process([{"inputs": None}], [auc_epe_sample()])
    assert auc.evaluate(1) == pytest.approx({"p1/AUC": 0.625, "p2/AUC": 0.125, "all/AUC": 0.375})
    epe = KeypointPartitionMetric(metric=dict(type="EPE"), partitions=parts)
    epe.process([{"inputs": None}], [auc_epe_sample()])
    want = {"p1/EPE": 6.0, "p2/EPE": 17.071067810058594, "all/EPE": 11.535533905029297}
    assert epe.evaluate(1) == pytest.approx(want, rel=1e-6)


def test_nme_partitions_match_mmpose():
    samples = pck_samples(19, 4, head=False)
    nme = KeypointPartitionMetric(
        metric=dict(type="NME", norm_mode="use_norm_item", norm_item="box_size"),
        partitions=dict(p1=range(10), p2=range(10, 19), all=range(19)),
    )
    nme.process([{"inputs": None}] * 4, samples)
    want = {"p1/NME": 0.1715388651247378, "p2/NME": 0.4949747721354167, "all/NME": 0.333256827460395}
    assert nme.evaluate(4) == pytest.approx(want, rel=1e-6)


def test_string_ranges_and_hydra_config():
    """'start:stop' partitions, and the metric built by Hydra from YAML as a data config's evaluator."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    metric = KeypointPartitionMetric(metric=dict(type="EPE"), partitions={"foot": "17:23", "x": [1]})
    assert metric.partitions == {"foot": list(range(17, 23)), "x": [1]}
    with pytest.raises(ValueError, match="'start:stop'"):
        KeypointPartitionMetric(metric=dict(type="EPE"), partitions={"foot": "17-23"})
    yaml = """
    _target_: posekit.evaluation.KeypointPartitionMetric
    prefix: wholebody
    metric: {type: CocoMetric, score_mode: bbox, nms_mode: none}
    partitions: {body: "0:17", foot: "17:23", face: "23:91", left_hand: "91:112", right_hand: "112:133", all: "0:133"}
    """
    evaluator = instantiate(OmegaConf.create(yaml))
    assert isinstance(evaluator, KeypointPartitionMetric)
    assert list(evaluator.partitions) == ["body", "foot", "face", "left_hand", "right_hand", "all"]
    assert evaluator.partitions["all"] == list(range(133))
    evaluator.dataset_meta = load_metainfo("coco_wholebody")
    assert evaluator.metrics["face"].dataset_meta["num_keypoints"] == 68
    assert evaluator._rename("body", {"coco/AP": 0.5}) == {"wholebody/body/coco/AP": 0.5}
