"""OKS / box NMS: hand cases and agreement with a straightforward per-pair reference (MMPose's algorithm)."""

from __future__ import annotations

import numpy as np
import pytest

from posekit.evaluation import functional
from posekit.evaluation.nms import COCO_SIGMAS, nearby_joints_nms, nms, oks_iou, oks_matrix, oks_nms, soft_oks_nms


def _ref_oks_iou(g, d, a_g, a_d, sigmas=None, vis_thr=None):
    """Per-pair loop reference of MMPose's oks_iou."""
    sigmas = COCO_SIGMAS if sigmas is None else sigmas
    var = (sigmas * 2) ** 2
    xg, yg, vg = g[0::3], g[1::3], g[2::3]
    out = np.zeros(len(d), dtype=np.float32)
    for n in range(len(d)):
        xd, yd, vd = d[n, 0::3], d[n, 1::3], d[n, 2::3]
        e = ((xd - xg) ** 2 + (yd - yg) ** 2) / var / ((a_g + a_d[n]) / 2 + np.spacing(1)) / 2
        if vis_thr is not None:
            e = e[(vg > vis_thr) & (vd > vis_thr)]
        out[n] = np.sum(np.exp(-e)) / len(e) if len(e) else 0.0
    return out


def _ref_oks_nms(db, thr, sigmas=None, soft=False, max_dets=20):
    scores = np.array([k["score"] for k in db])
    kpts = np.array([k["keypoints"].flatten() for k in db])
    areas = np.array([k["area"] for k in db])
    order = scores.argsort()[::-1]
    if not soft:
        keep = []
        while len(order):
            i = order[0]
            keep.append(i)
            ovr = _ref_oks_iou(kpts[i], kpts[order[1:]], areas[i], areas[order[1:]], sigmas)
            order = order[np.where(ovr <= thr)[0] + 1]
        return keep
    scores = scores[order]
    keep = []
    while len(order) and len(keep) < max_dets:
        i = order[0]
        ovr = _ref_oks_iou(kpts[i], kpts[order[1:]], areas[i], areas[order[1:]], sigmas)
        order, scores = order[1:], scores[1:] * np.exp(-(ovr**2) / thr)
        tmp = scores.argsort()[::-1]
        order, scores = order[tmp], scores[tmp]
        keep.append(i)
    return keep


def _random_db(rng, n, k=17, jitter=3.0):
    base = rng.uniform(0, 200, size=(3, k, 2)).astype(np.float32)
    db = []
    for _ in range(n):
        kp = base[rng.integers(3)] + rng.normal(0, jitter, size=(k, 2)).astype(np.float32)
        sc = rng.uniform(0.1, 1, size=(k, 1)).astype(np.float32)
        db.append(
            {
                "keypoints": np.concatenate([kp, sc], axis=1),
                "score": float(rng.uniform()),
                "area": rng.uniform(1e3, 1e4),
            }
        )
    return db


def test_oks_iou_matches_reference():
    rng = np.random.default_rng(0)
    g = rng.uniform(0, 100, size=51).astype(np.float32)
    d = (g[None] + rng.normal(0, 4, size=(6, 51))).astype(np.float32)
    a_d = rng.uniform(500, 5000, size=6)
    for vis_thr in (None, 0.3):
        np.testing.assert_allclose(
            oks_iou(g, d, 2000.0, a_d, vis_thr=vis_thr), _ref_oks_iou(g, d, 2000.0, a_d, vis_thr=vis_thr), rtol=1e-6
        )
    sig = np.linspace(0.02, 0.1, 17).astype(np.float32)
    np.testing.assert_allclose(oks_iou(g, d, 2000.0, a_d, sig), _ref_oks_iou(g, d, 2000.0, a_d, sig), rtol=1e-6)
    assert oks_iou(g, d[:0], 1.0, np.zeros(0)).shape == (0,)
    # identical instances -> 1; invisible everywhere with vis_thr -> 0
    assert oks_iou(g, g[None], 100.0, np.array([100.0]))[0] == pytest.approx(1.0)
    g0 = g.copy()
    g0[2::3] = 0
    assert oks_iou(g0, g0[None], 100.0, np.array([100.0]), vis_thr=0.5)[0] == 0.0
    # the matrix is symmetric with ones on the diagonal
    m = oks_matrix(d.reshape(6, 17, 3), a_d)
    np.testing.assert_allclose(m, m.T, rtol=1e-6)
    np.testing.assert_allclose(np.diag(m), 1.0)


def test_oks_nms_hand_case():
    a = np.zeros((17, 3), dtype=np.float32)
    a[:, 0] = np.arange(17) * 10
    a[:, 1] = 50
    a[:, 2] = 1
    b = a.copy()
    b[:, 0] += 0.5  # almost the same person
    c = a.copy()
    c[:, 1] += 300  # someone else
    db = [
        {"keypoints": a, "score": 0.9, "area": 5000.0},
        {"keypoints": b, "score": 0.8, "area": 5000.0},
        {"keypoints": c, "score": 0.7, "area": 5000.0},
    ]
    assert list(oks_nms(db, 0.9)) == [0, 2]
    assert list(oks_nms(db, 1.0)) == [0, 1, 2]  # retain overlap <= thr
    # soft NMS keeps all, pushing the duplicate last: 0.8 * exp(-oks^2 / 0.9) < 0.7
    assert list(soft_oks_nms(db, 0.9)) == [0, 2, 1]
    assert list(soft_oks_nms(db, 0.9, max_dets=2)) == [0, 2]
    # per-joint scores are averaged
    db_pj = [dict(d, score=np.full(17, d["score"])) for d in db]
    assert list(oks_nms(db_pj, 0.9, score_per_joint=True)) == [0, 2]
    assert oks_nms([], 0.9) == [] and soft_oks_nms([], 0.9) == []
    # MMPose's names through the functional module
    assert functional.oks_nms is oks_nms and functional.soft_oks_nms is soft_oks_nms


@pytest.mark.parametrize("seed", range(8))
def test_nms_matches_reference(seed):
    rng = np.random.default_rng(seed)
    db = _random_db(rng, 12)
    assert list(oks_nms(db, 0.5)) == _ref_oks_nms(db, 0.5)
    assert list(oks_nms(db, 0.9)) == _ref_oks_nms(db, 0.9)
    assert list(soft_oks_nms(db, 0.9)) == _ref_oks_nms(db, 0.9, soft=True)
    assert list(soft_oks_nms(db, 0.3, max_dets=5)) == _ref_oks_nms(db, 0.3, soft=True, max_dets=5)


def test_box_nms():
    dets = np.array([[0, 0, 10, 10, 0.9], [1, 1, 10, 10, 0.8], [20, 20, 30, 30, 0.7], [0, 0, 10, 10, 0.95]])
    assert nms(dets, 0.5) == [3, 2]
    assert nms(dets, 1.0) == [3, 0, 1, 2]
    assert nms(np.zeros((0, 5)), 0.5) == []


def test_nearby_joints_nms():
    assert nearby_joints_nms([], 0.05, score_per_joint=True, max_dets=1) == []
    rng = np.random.default_rng(0)
    db = [{"keypoints": rng.random((3, 2)), "score": rng.random(3)} for _ in range(5)]
    keep = nearby_joints_nms(db, 0.05, score_per_joint=True, max_dets=1)
    assert len(keep) == 1 and keep[0] < 5
    db = [{"keypoints": rng.random((3, 2)), "score": rng.random()} for _ in range(5)]
    assert 0 < len(nearby_joints_nms(db, 0.05, num_nearby_joints_thr=2)) <= 5
    with pytest.raises(AssertionError):
        nearby_joints_nms(db, 0, num_nearby_joints_thr=2)
    with pytest.raises(AssertionError):
        nearby_joints_nms(db, 0.05, num_nearby_joints_thr=3)
    # hand case: instance 1 duplicates instance 0 (lower score), instance 2 is elsewhere
    base = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    db = [
        {"keypoints": base, "score": 0.9},
        {"keypoints": base + 0.1, "score": 0.5},
        {"keypoints": base + 100, "score": 0.7},
    ]
    assert [int(i) for i in nearby_joints_nms(db, 0.05)] == [0, 2]
