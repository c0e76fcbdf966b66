"""``simcc_pck_accuracy``: MMPose 1.3.2's signature and numbers (target = the (gt_x, gt_y) label pair)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from posekit.evaluation.functional import simcc_pck_accuracy


def _one_hot(bins: list[int], width: int) -> np.ndarray:
    out = np.zeros((1, len(bins), width), dtype=np.float32)
    for k, b in enumerate(bins):
        out[0, k, b] = 1.0
    return out


# split ratio 2: Wx = 12 bins -> W = 6 px, Wy = 16 bins -> H = 8 px; MMPose normalises (x, y) by [H, W] = [8, 6]
PRED = (_one_hot([4, 10, 4, 0], 12), _one_hot([6, 6, 2, 0], 16))  # (2, 3), (5, 3), (2, 1), (0, 0)
GT = (_one_hot([4, 4, 4, 6], 12), _one_hot([6, 6, 8, 6], 16))  # (2, 3), (2, 3), (2, 4), (3, 3)
MASK = np.array([[True, True, True, False]])


def test_signature_is_mmposes():
    params = list(inspect.signature(simcc_pck_accuracy).parameters)
    assert params == ["output", "target", "simcc_split_ratio", "mask", "thr", "normalize"]
    assert inspect.signature(simcc_pck_accuracy).parameters["thr"].default == 0.05


def test_hand_case_default_normalisation():
    # kpt 0: exact hit. kpt 1: dx = 3 px -> 3 / H = 0.375 (< 0.4: hit; 3 / W would be 0.5).
    # kpt 2: dy = 3 px -> 3 / W = 0.5 (miss; 3 / H would be 0.375). kpt 3: masked out -> -1.
    acc, avg, cnt = simcc_pck_accuracy(PRED, GT, 2.0, MASK, thr=0.4)
    np.testing.assert_array_equal(acc, [1.0, 1.0, 0.0, -1.0])
    assert avg == pytest.approx(2 / 3) and cnt == 3
    # thr 0.05 (the default): only the exact hit
    acc, avg, cnt = simcc_pck_accuracy(PRED, GT, 2.0, MASK)
    np.testing.assert_array_equal(acc, [1.0, 0.0, 0.0, -1.0])
    assert avg == pytest.approx(1 / 3) and cnt == 3


def test_explicit_normalize_and_tensors():
    # normalise by [6, 8] instead: kpt 1 now misses (3 / 6), kpt 2 hits (3 / 8)
    acc, _, _ = simcc_pck_accuracy(PRED, GT, 2.0, MASK, thr=0.4, normalize=np.array([[6.0, 8.0]]))
    np.testing.assert_array_equal(acc, [1.0, 0.0, 1.0, -1.0])
    # torch tensors (what the heads hold) give the same numbers
    t = lambda pair: tuple(torch.from_numpy(a) for a in pair)  # noqa: E731
    acc_t, avg_t, cnt_t = simcc_pck_accuracy(t(PRED), t(GT), 2.0, torch.from_numpy(MASK), thr=0.4)
    np.testing.assert_array_equal(acc_t, [1.0, 1.0, 0.0, -1.0])
    assert avg_t == pytest.approx(2 / 3) and cnt_t == 3


def test_matches_the_rtmcc_heads_accuracy():
    """The heads' on-device ``acc_pose`` is the same function."""
    from posekit.models.heads.rtmcc_head import RTMCCHead

    rng = np.random.default_rng(0)
    pred = (rng.random((3, 5, 384)).astype(np.float32), rng.random((3, 5, 512)).astype(np.float32))
    gt = (rng.random((3, 5, 384)).astype(np.float32), rng.random((3, 5, 512)).astype(np.float32))
    weights = np.ones((3, 5), dtype=np.float32)
    weights[0, 1] = 0
    _, avg, _ = simcc_pck_accuracy(pred, gt, 2.0, weights > 0, thr=0.05)
    head = RTMCCHead.__new__(RTMCCHead)
    head.simcc_split_ratio = 2.0
    t = lambda pair: tuple(torch.from_numpy(a) for a in pair)  # noqa: E731
    assert float(head.simcc_accuracy(t(pred), t(gt), torch.from_numpy(weights))) == pytest.approx(float(avg))
