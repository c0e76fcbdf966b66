"""PCKAccuracy / MpiiPCKAccuracy / JhmdbPCKAccuracy / AUC / EPE / NME: MMPose's test cases and posekit's API."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from posekit.evaluation import AUC, EPE, NME, JhmdbPCKAccuracy, MpiiPCKAccuracy, PCKAccuracy

COCO_META = {"dataset_name": "coco", "num_keypoints": 17, "keypoint_id2name": {i: f"kpt{i}" for i in range(17)}}
HORSE10_META = {"dataset_name": "horse10", "num_keypoints": 22, "keypoint_id2name": {i: f"kpt{i}" for i in range(22)}}


def _pck_samples(num_keypoints: int, offset: float = 0.0, batch_size: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(batch_size):
        keypoints = np.zeros((1, num_keypoints, 2))
        keypoints[0, i] = [0.5 * i, 0.5 * i]
        visible = np.ones((1, num_keypoints, 1)).astype(bool)
        visible[0, (2 * i) % 8, 0] = False
        gt = {
            "keypoints": keypoints + offset,
            "keypoints_visible": visible,
            "bboxes": rng.random((1, 4)) * 20 * i,
            "head_size": rng.random((1, 1)) * 10 * i,
        }
        samples.append({"gt_instances": gt, "pred_instances": {"keypoints": keypoints}})
    return [{"inputs": None}] * batch_size, samples


def test_pck_accuracy():
    with pytest.raises(KeyError, match="Should be one of 'bbox', 'head', 'torso'"):
        PCKAccuracy(norm_item="invalid")
    data_batch, samples = _pck_samples(15)
    for kwargs, target in [
        ({"thr": 0.5, "norm_item": "bbox"}, {"PCK": 1.0}),
        ({"thr": 0.3, "norm_item": "head"}, {"PCKh": 1.0}),
        ({"thr": 0.05, "norm_item": ["bbox", "torso"]}, {"PCK": 1.0, "tPCK": 1.0}),
    ]:
        metric = PCKAccuracy(**kwargs)
        if "torso" in kwargs["norm_item"]:
            with pytest.warns(UserWarning, match="torso size < 1"):  # gt keypoints 4 and 5 coincide
                metric.process(data_batch, samples)
        else:
            metric.process(data_batch, samples)
        assert metric.evaluate(8) == target


def test_pck_hand_values_and_prefix():
    gt = np.array([[[0, 0], [10, 0], [0, 10]]], dtype=np.float32)
    pred = np.array([[[1, 0], [10, 3], [0, 10]]], dtype=np.float32)
    sample = {
        "gt_instances": {"keypoints": gt, "keypoints_visible": np.ones((1, 3)), "bboxes": np.array([[0, 0, 10, 5]])},
        "pred_instances": {"keypoints": pred},
    }
    metric = PCKAccuracy(thr=0.2, prefix="val")  # bbox size = max(w, h) = 10: distances .1, .3, 0
    metric.process([None], [sample])
    assert metric.evaluate(1) == {"val/PCK": pytest.approx(2 / 3)}


def test_mpii_pck():
    with pytest.raises(KeyError, match="Should be one of 'bbox', 'head', 'torso'"):
        MpiiPCKAccuracy(norm_item="invalid")
    data_batch, samples = _pck_samples(16, offset=1.0)
    metric = MpiiPCKAccuracy(thr=0.3, norm_item="head")
    metric.process(data_batch, samples)
    names = ["Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle"]
    target = {**{f"{n} PCK": 100.0 for n in names}, "PCK": 100.0, "PCK@0.1": 100.0}
    assert metric.evaluate(8) == target


def test_jhmdb_pck():
    data_batch, samples = _pck_samples(15)
    names = ["Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank"]
    metric = JhmdbPCKAccuracy(thr=0.5, norm_item="bbox")
    metric.process(data_batch, samples)
    assert metric.evaluate(8) == {**{f"{n} PCK": 1.0 for n in names}, "PCK": 1.0}
    metric = JhmdbPCKAccuracy(thr=0.2, norm_item="torso")
    with pytest.warns(UserWarning, match="torso size < 1"):
        metric.process(data_batch, samples)
    assert metric.evaluate(8) == {**{f"{n} tPCK": 1.0 for n in names}, "tPCK": 1.0}


def _auc_sample(torch_pred: bool = False):
    output = np.zeros((1, 5, 2))
    target = np.zeros((1, 5, 2))
    output[0] = [[10, 4], [10, 18], [0, 0], [40, 40], [20, 10]]
    target[0] = [[10, 0], [10, 10], [0, -1], [30, 30], [0, 10]]
    gt = {"keypoints": target, "keypoints_visible": np.array([[True, True, False, True, True]])}
    pred = torch.from_numpy(output) if torch_pred else output
    return [{"inputs": None}], [{"gt_instances": gt, "pred_instances": {"keypoints": pred}}]


@pytest.mark.parametrize("torch_pred", [False, True])
def test_auc_epe(torch_pred):
    data_batch, samples = _auc_sample(torch_pred)
    auc = AUC(norm_factor=20, num_thrs=4)
    auc.process(data_batch, samples)
    assert auc.evaluate(1) == {"AUC": 0.375}
    epe = EPE()
    epe.process(data_batch, samples)
    assert epe.evaluate(1)["EPE"] == pytest.approx(11.5355339)


def _nme_samples(batch_size=1, num_keypoints=5, norm_item="box_size", seed=0):
    rng = np.random.default_rng(seed)
    samples = []
    for i in range(batch_size):
        keypoints = np.zeros((1, num_keypoints, 2))
        keypoints[0, i] = [0.5 * i, 0.5 * i]
        visible = np.ones((1, num_keypoints, 1)).astype(bool)
        visible[0, (2 * i) % batch_size, 0] = False
        gt = {"keypoints": keypoints, "keypoints_visible": visible, norm_item: rng.random((1, 1)) * 20 * i}
        samples.append({"gt_instances": gt, "pred_instances": {"keypoints": keypoints}})
    return [{"inputs": None}] * batch_size, samples


def test_nme():
    metric = NME(norm_mode="use_norm_item", norm_item="box_size")
    metric.process(*_nme_samples(batch_size=4, num_keypoints=19))
    assert metric.evaluate(4) == {"NME": 0.0}
    metric = NME(norm_mode="keypoint_distance")
    metric.dataset_meta = HORSE10_META
    metric.process(*_nme_samples(batch_size=4, num_keypoints=22))
    assert metric.evaluate(4) == {"NME": 0.0}
    metric = NME(norm_mode="keypoint_distance", keypoint_indices=[2, 4])
    metric.dataset_meta = COCO_META
    metric.process(*_nme_samples(batch_size=2, num_keypoints=17))
    assert metric.evaluate(2) == {"NME": 0.0}
    # hand value: error 5 px, inter-ocular distance (keypoints 0 and 1) 10 px
    gt = np.array([[[0.0, 0.0], [10.0, 0.0], [5.0, 5.0]]])
    pred = gt.copy()
    pred[0, 2] += [3, 4]
    metric = NME(norm_mode="keypoint_distance", keypoint_indices=[0, 1])
    metric.process(
        [None],
        [
            {
                "gt_instances": {"keypoints": gt, "keypoints_visible": np.ones((1, 3))},
                "pred_instances": {"keypoints": pred},
            }
        ],
    )
    assert metric.evaluate(1)["NME"] == pytest.approx(5 / 10 / 3)


def test_nme_errors():
    with pytest.raises(KeyError, match="`norm_mode` should be 'use_norm_item' or 'keypoint_distance'"):
        NME(norm_mode="invalid")
    with pytest.raises(KeyError, match='`norm_mode` is set to `"use_norm_item"`, please specify the `norm_item`'):
        NME(norm_mode="use_norm_item", norm_item=None)
    metric = NME(norm_mode="use_norm_item", norm_item="norm_item1")
    with pytest.raises(AssertionError, match="The ground truth data info do not have the expected normalized factor"):
        metric.process(*_nme_samples(norm_item="norm_item2"))
    metric = NME(norm_mode="keypoint_distance", keypoint_indices=None, metainfo=COCO_META)
    metric.process(*_nme_samples())
    with pytest.raises(KeyError, match="can not find the keypoint_indices in `DEFAULT_KEYPOINT_INDICES`"):
        metric.evaluate(1)
    metric = NME(norm_mode="keypoint_distance", keypoint_indices=[0, 1, 2], metainfo=COCO_META)
    metric.process(*_nme_samples())
    with pytest.raises(AssertionError, match="The keypoint indices used for normalization should be a pair."):
        metric.evaluate(1)
    metric = NME(norm_mode="keypoint_distance", keypoint_indices=[17, 18], metainfo=COCO_META)
    metric.process(*_nme_samples())
    with pytest.raises(AssertionError, match="dataset does not contain the required"):
        metric.evaluate(1)


def test_update_api_matches_process():
    """posekit's update(metas, keypoints, scores) with CONTRACTS meta keys equals MMPose's process path."""
    rng = np.random.default_rng(3)
    b, k = 6, 17
    gt = rng.uniform(0, 100, size=(b, 1, k, 2)).astype(np.float32)
    pred = gt + rng.normal(0, 4, size=gt.shape).astype(np.float32)
    vis = (rng.uniform(size=(b, 1, k)) > 0.2).astype(np.float32)
    x1y1 = rng.uniform(0, 50, size=(b, 2))
    bbox = np.concatenate([x1y1, x1y1 + rng.uniform(20, 80, size=(b, 2))], axis=1).astype(np.float32)[:, None]
    head = rng.uniform(5, 20, size=(b, 1)).astype(np.float32)
    metas = [
        {"id": i, "img_id": i, "keypoints": gt[i], "keypoints_visible": vis[i], "bbox": bbox[i], "head_size": head[i]}
        for i in range(b)
    ]
    samples = [
        {
            "gt_instances": {
                "keypoints": gt[i],
                "keypoints_visible": vis[i][..., None],
                "bboxes": bbox[i],
                "head_size": head[i],
            },
            "pred_instances": {"keypoints": pred[i]},
        }
        for i in range(b)
    ]
    for make in (
        lambda: PCKAccuracy(thr=0.1, norm_item=["bbox", "head"]),
        lambda: AUC(norm_factor=30),
        EPE,
        lambda: NME(norm_mode="use_norm_item", norm_item="bbox_size"),
        lambda: NME(norm_mode="keypoint_distance", keypoint_indices=[5, 6], metainfo=COCO_META),
    ):
        a, m = make(), make()
        a.process([None] * b, samples)
        expected = a.evaluate(b)
        m.update(metas[:4], torch.from_numpy(pred[:4]), torch.ones(4, 1, k))
        m.update(metas[4:], torch.from_numpy(pred[4:]))
        assert m.compute() == expected
        assert 0 < next(iter(expected.values())) < 100
        m.reset()
        assert m.results == []


def test_update_drops_repeated_samples():
    """A sample seen twice (padded distributed sampler) counts once in the posekit path."""
    gt = np.zeros((1, 3, 2), np.float32)
    gt[0, :, 0] = [0, 10, 20]
    pred = gt.copy()
    pred[0, 0, 0] += 100  # one keypoint of three off by 100 px
    metas = [{"id": 7, "img_id": 1, "keypoints": gt, "keypoints_visible": np.ones((1, 3)), "bbox": [[0, 0, 20, 20]]}]
    metric = EPE()
    metric.update(metas, pred[None])
    metric.update(metas, pred[None])  # the same sample again
    metric.update([dict(metas[0], id=8)], gt[None])  # a different, perfect sample
    assert metric.compute() == {"EPE": pytest.approx(100 / 6)}
