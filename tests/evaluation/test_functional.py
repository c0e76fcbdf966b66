"""posekit.evaluation.functional: hand-computed PCK / AUC / NME / EPE / heatmap & SimCC PCK values."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from posekit.evaluation.functional import (
    get_heatmap_maximum,
    get_simcc_maximum,
    keypoint_auc,
    keypoint_epe,
    keypoint_mpjpe,
    keypoint_nme,
    keypoint_pck_accuracy,
    multilabel_classification_accuracy,
    pose_pck_accuracy,
    transform_ann,
    transform_keypoints,
    transform_pred,
    transform_sigmas,
)


def test_functional_is_a_light_leaf():
    code = (
        "import sys; import posekit.evaluation.functional, posekit.evaluation; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'pycocotools', 'lightning')]; "
        "print(bad); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_keypoint_pck_accuracy_hand_case():
    gt = np.array([[[0, 0], [10, 0], [0, 10]], [[0, 0], [10, 0], [0, 10]]], dtype=np.float32)
    pred = np.array([[[1, 0], [10, 3], [0, 10]], [[0, 0], [10, 0], [5, 15]]], dtype=np.float32)
    mask = np.array([[True, True, True], [True, False, True]])
    norm = np.array([[10, 10], [20, 20]], dtype=np.float32)
    # normalised distances: inst0 (0.1, 0.3, 0), inst1 (0, masked, 0.354)
    acc, avg, cnt = keypoint_pck_accuracy(pred, gt, mask, 0.2, norm)
    np.testing.assert_allclose(acc, [1.0, 0.0, 0.5])
    assert avg == pytest.approx(0.5) and cnt == 3
    # a zero in the norm factor drops the whole instance; the caller's array is not modified
    norm0 = np.array([[0, 10], [20, 20]], dtype=np.float32)
    acc, avg, cnt = keypoint_pck_accuracy(pred, gt, mask, 0.2, norm0)
    np.testing.assert_allclose(acc, [1.0, -1.0, 0.0])
    assert avg == pytest.approx(0.5) and cnt == 2
    assert norm0[0, 0] == 0
    # nothing valid -> avg 0
    acc, avg, cnt = keypoint_pck_accuracy(pred, gt, np.zeros_like(mask), 0.2, norm)
    assert avg == 0 and cnt == 0 and (acc == -1).all()


def _auc_case():
    output = np.zeros((1, 5, 2))
    target = np.zeros((1, 5, 2))
    output[0] = [[10, 4], [10, 18], [0, 0], [40, 40], [20, 10]]
    target[0] = [[10, 0], [10, 10], [0, -1], [30, 30], [0, 10]]
    mask = np.array([[True, True, False, True, True]])
    return output, target, mask


def test_keypoint_auc_epe_nme():
    output, target, mask = _auc_case()
    # distances 4, 8, (masked), 14.142, 20; /20 -> 0.2, 0.4, 0.707, 1.0 at thresholds 0, .25, .5, .75
    assert keypoint_auc(output, target, mask, 20, 4) == pytest.approx(0.375)
    epe = (4 + 8 + np.sqrt(200) + 20) / 4
    assert keypoint_epe(output, target, mask) == pytest.approx(epe)
    assert keypoint_nme(output, target, mask, np.full((1, 2), 2.0)) == pytest.approx(epe / 2)
    assert keypoint_auc(output, target, np.zeros_like(mask), 20, 4) == 0.0


def test_pose_pck_accuracy_heatmaps_and_mmpose_norm_order():
    out = np.zeros((1, 3, 8, 6), dtype=np.float32)  # H=8, W=6
    tgt = np.zeros_like(out)
    out[0, 0, 2, 1] = 1  # (x=1, y=2)
    tgt[0, 0, 3, 1] = 1  # (x=1, y=3)
    out[0, 1, 7, 5] = 1
    tgt[0, 1, 0, 0] = 1
    out[0, 2, 4, 4] = tgt[0, 2, 4, 4] = 1
    mask = np.array([[True, True, False]])
    acc, avg, cnt = pose_pck_accuracy(out, tgt, mask, thr=0.2)
    np.testing.assert_allclose(acc, [1.0, 0.0, -1.0])
    assert avg == pytest.approx(0.5) and cnt == 2
    # MMPose normalises by [H, W] (x by H, y by W): dy = 1 / 6 = 0.167 > 0.15 fails
    acc, _, _ = pose_pck_accuracy(out, tgt, mask, thr=0.15)
    assert acc[0] == 0.0
    # torch tensors (what heads hold) work the same
    acc_t, avg_t, cnt_t = pose_pck_accuracy(torch.from_numpy(out), torch.from_numpy(tgt), torch.from_numpy(mask))
    acc_n, avg_n, cnt_n = pose_pck_accuracy(out, tgt, mask)
    np.testing.assert_array_equal(acc_t, acc_n)
    assert (avg_t, cnt_t) == (avg_n, cnt_n)
    assert pose_pck_accuracy(np.zeros((2, 0, 4, 4)), np.zeros((2, 0, 4, 4)), np.zeros((2, 0))) == (None, 0, 0)


def test_maxima():
    hm = np.zeros((2, 3, 4, 5), dtype=np.float32)
    hm[0, 0, 1, 3] = 2.0
    hm[1, 2] = -1.0
    locs, vals = get_heatmap_maximum(hm)
    assert locs.shape == (2, 3, 2) and vals.shape == (2, 3)
    np.testing.assert_array_equal(locs[0, 0], [3, 1])
    np.testing.assert_array_equal(locs[0, 1], [-1, -1])  # all-zero map: max <= 0 -> -1
    np.testing.assert_array_equal(locs[1, 2], [-1, -1])
    assert vals[0, 0] == 2.0
    locs, vals = get_heatmap_maximum(hm[0])
    assert locs.shape == (3, 2)
    sx = np.array([[0.1, 0.9, 0.2]])
    sy = np.array([[0.5, 0.1, 0.0, 0.3]])
    locs, vals = get_simcc_maximum(sx, sy)
    np.testing.assert_array_equal(locs, [[1, 0]])
    assert vals[0] == pytest.approx(0.5)


def test_multilabel_classification_accuracy():
    pred = np.array([[0.7, 0.2], [0.6, 0.6], [0.1, 0.9]])
    gt = np.array([[1, 0], [1, 0], [0, 1]])
    assert multilabel_classification_accuracy(pred, gt, np.array([[1], [1], [0]])) == pytest.approx(0.5)
    assert multilabel_classification_accuracy(pred, gt, np.ones((3, 2))) == pytest.approx(2 / 3)
    assert multilabel_classification_accuracy(pred, gt, np.zeros(3)) == 0.0


def test_keypoint_converters():
    mapping = [(0, 2), (2, 0)]
    np.testing.assert_allclose(transform_sigmas(np.array([0.1, 0.2, 0.3]), 4, mapping), [0.3, 1, 0.1, 1])
    assert transform_sigmas([0.1, 0.2, 0.3], 3, mapping) == [0.3, 1.0, 0.1]
    ann = {"keypoints": [1, 2, 2, 3, 4, 1, 5, 6, 0], "num_keypoints": 2}
    out = transform_ann(ann, 4, mapping)
    assert out["keypoints"] == [5, 6, 0, 0, 0, 0, 1, 2, 2, 0, 0, 0] and out["num_keypoints"] == 4
    pred = {"keypoints": np.arange(12, dtype=np.float32).reshape(2, 3, 2), "keypoint_scores": np.ones((2, 3))}
    out = transform_pred([pred], 4, mapping)[0]
    assert out["keypoints"].shape == (2, 4, 2) and out["keypoint_scores"].shape == (2, 4)
    np.testing.assert_array_equal(out["keypoints"][1, 0], [10, 11])
    np.testing.assert_array_equal(out["keypoint_scores"][0], [1, 0, 1, 0])

    info = {"num_keypoints": 3, "keypoints": [1, 2, 2, 3, 4, 1, 5, 6, 0]}
    transform_keypoints(info, 2, [(2, 0), (0, 1)])
    assert info == {"num_keypoints": 2, "keypoints": [5, 6, 0, 1, 2, 2]}


def _mpjpe_case():
    output = np.zeros((2, 5, 3))
    target = np.zeros((2, 5, 3))
    mask = np.array([[True, True, False, True, True], [True, True, False, True, True]])
    output[0] = [[1, 0, 0], [2, 2, 0], [0, 0, -1], [3, 3, 1], [0, 1, 1]]
    target[0] = [[1, 0, 0], [1, 1, 1], [-1, 0, 0], [3, 3, 1], [0, 1, 0]]
    output[1] = [[1, 0, 0], [2, 2, 1], [-1, 0, 0], [0, 0, 3], [0, 0, 1]]
    target[1] = [[1, 1, 0], [1, 0, 1], [-1, 0, 0], [0, 0, 3], [1, 1, 0]]
    return output, target, mask


def test_keypoint_mpjpe():
    output, target, mask = _mpjpe_case()
    # MMPose's reference values (tests/test_evaluation/test_functional/test_keypoint_eval.py)
    assert keypoint_mpjpe(output, target, mask) == pytest.approx(0.9625211990796929, abs=1e-6)
    assert keypoint_mpjpe(output, target, mask, "procrustes") == pytest.approx(1.0047897634604497, abs=1e-6)
    assert keypoint_mpjpe(output, target, mask, "scale") == pytest.approx(1.0277129678465953, abs=1e-6)
    with pytest.raises(ValueError, match="alignment"):
        keypoint_mpjpe(output, target, mask, "alignment")
    # an exact similarity transform of the target is undone by Procrustes alignment
    rot = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    moved = 2.5 * target @ rot.T + np.array([1.0, -2.0, 3.0])
    assert keypoint_mpjpe(moved, target, np.ones((2, 5), bool), "procrustes") == pytest.approx(0.0, abs=1e-9)
