"""PoseTrack18Metric beyond its MMPose numbers (tests/datasets/test_datasets_2d.py): its prediction files, its
per-joint AP on hand-made cases, and its errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posekit.evaluation import PoseTrack18Metric
from posekit.evaluation.posetrack18 import POSETRACK18_KEYPOINTS, posetrack_ap


def _video(tmp_path, kpts, head=(0, 0, 30, 40), ignore=None):
    image = dict(id=1, file_name="images/val/v/000000.jpg", vid_id=1)
    if ignore:
        image.update(ignore_regions_x=[[p[0] for p in ignore]], ignore_regions_y=[[p[1] for p in ignore]])
    ann = dict(id=1, image_id=1, track_id=0, bbox_head=list(head), keypoints=np.asarray(kpts).reshape(-1).tolist())
    gt = dict(images=[image], annotations=[ann], categories=[dict(name="person", keypoints=POSETRACK18_KEYPOINTS)])
    folder = tmp_path / "val"
    folder.mkdir(exist_ok=True)
    (folder / "000001_mpii_test.json").write_text(json.dumps(gt))
    return folder


def test_perfect_prediction_is_100_and_misses_lower_it(tmp_path):
    rng = np.random.default_rng(0)
    gt = np.concatenate([rng.uniform(50, 150, (17, 2)), np.ones((17, 1))], axis=1)
    gt[3:5] = 0  # the ears are not scored; here also unlabelled
    folder = _video(tmp_path, gt)
    pred = gt.copy()
    pred[:, 2] = 0.9
    res = dict(posetrack_ap(str(folder), {1: [dict(keypoints=pred, score=1.0)]}))
    assert res["AP"] == pytest.approx(100.0) and res["Head AP"] == pytest.approx(100.0)
    pred[15:17, :2] += 100  # both ankles far off
    res = dict(posetrack_ap(str(folder), {1: [dict(keypoints=pred, score=1.0)]}))
    assert res["Ankl AP"] == 0.0 and res["Knee AP"] == pytest.approx(100.0)
    assert res["AP"] == pytest.approx(100.0 * 13 / 15)


def test_ignore_regions_remove_joints(tmp_path):
    gt = np.zeros((17, 3))
    gt[:, :2], gt[:, 2] = [[20.0 + i, 20.0] for i in range(17)], 1
    gt[15:17] = [[100, 100, 1], [102, 100, 1]]  # ankles inside the ignore region
    folder = _video(tmp_path, gt, ignore=[(90, 90), (120, 90), (120, 120), (90, 120)])
    pred = gt.copy()
    pred[:, 2] = 0.5
    pred[15:17, :2] += 50  # wrong, but ignored
    res = dict(posetrack_ap(str(folder), {1: [dict(keypoints=pred, score=1.0)]}))
    assert np.isnan(res["Ankl AP"]) and res["AP"] == pytest.approx(100.0)


def test_format_only_writes_mmposes_prediction_files(tmp_path):
    gt = np.concatenate([np.full((17, 2), 50.0), np.ones((17, 1))], axis=1)
    folder = _video(tmp_path, gt)
    ann_file = tmp_path / "posetrack18_val.json"
    ann_file.write_text(json.dumps(dict(images=[dict(id=1, file_name="x.jpg", width=100, height=100)], annotations=[],
                                        categories=[dict(id=1, name="person")])))  # fmt: skip
    metric = PoseTrack18Metric(ann_file=str(ann_file), format_only=True, outfile_prefix=str(tmp_path / "out" / "r"),
                               metainfo="posetrack18")  # fmt: skip
    assert metric.gt_folder == str(folder)
    metric.update([dict(id=1, img_id=1, bbox_score=np.ones(1), bbox_scale=np.array([[40.0, 60.0]]))],
                  np.full((1, 1, 17, 2), 50.0), np.full((1, 1, 17), 0.8))  # fmt: skip
    assert metric.compute() == {}
    out = json.loads((tmp_path / "out" / "000001_mpii_test.json").read_text())
    assert out["categories"][0]["keypoints"] == POSETRACK18_KEYPOINTS
    assert out["annotations"][0]["track_id"] == 0 and len(out["annotations"][0]["keypoints"]) == 51
    assert out["annotations"][0]["scores"] == pytest.approx([0.8] * 17)


def test_errors_name_the_file(tmp_path):
    with pytest.raises(ValueError, match="ann_file is required"):
        PoseTrack18Metric()
    ann_file = tmp_path / "posetrack18_val.json"
    ann_file.write_text(json.dumps(dict(images=[], annotations=[])))
    with pytest.raises(FileNotFoundError, match="per-video ground-truth folder .*val"):
        PoseTrack18Metric(ann_file=str(ann_file))
