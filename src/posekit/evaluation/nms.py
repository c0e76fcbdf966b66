"""Box NMS and OKS-based (soft) NMS over pose instances, with MMPose's signatures and results.

Numpy only. The OKS between all instances of an image is computed once as an ``(N, N)`` matrix with
broadcasting; the greedy selection then only indexes rows of that matrix.

``kpts_db`` entries are dicts with ``keypoints`` ``(K, 3)`` (x, y, score/visibility), ``score`` (a float, or
``(K,)`` per-joint scores with ``score_per_joint=True``) and ``area`` (a float), as in MMPose.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["COCO_SIGMAS", "nearby_joints_nms", "nms", "nms_torch", "oks_iou", "oks_matrix", "oks_nms", "soft_oks_nms"]

#: COCO's 17 keypoint sigmas, the default of every OKS function here (MMPose's default too).
COCO_SIGMAS = (
    np.array([0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89])
    / 10.0
)


def nms(dets: np.ndarray, thr: float) -> list[int]:
    """Greedy box NMS: keep the highest-scoring box, drop boxes overlapping it by IoU ``> thr``, repeat.

    Args:
        dets: ``(N, 5)`` boxes ``[x1, y1, x2, y2, score]`` (pixel-inclusive areas, ``+1`` as MMPose).
        thr: IoU threshold; boxes with IoU ``<= thr`` to every kept box survive.

    Returns:
        Indices of the kept boxes, highest score first.
    """
    dets = np.asarray(dets)
    if len(dets) == 0:
        return []
    x1, y1, x2, y2, scores = (dets[:, i] for i in range(5))
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    # pairwise IoU matrix, then a greedy pass over rows
    w = np.maximum(0.0, np.minimum(x2[:, None], x2[None]) - np.maximum(x1[:, None], x1[None]) + 1)
    h = np.maximum(0.0, np.minimum(y2[:, None], y2[None]) - np.maximum(y1[:, None], y1[None]) + 1)
    inter = w * h
    iou = inter / (areas[:, None] + areas[None] - inter)
    return _greedy(scores.argsort()[::-1], iou, thr)


def _greedy(order: np.ndarray, overlap: np.ndarray, thr: float) -> list[int]:
    """Greedy suppression along ``order`` using a precomputed overlap matrix; keeps overlap ``<= thr``."""
    keep = []
    order = np.asarray(order)
    while len(order) > 0:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        order = rest[overlap[i, rest] <= thr]
    return keep


def _oks(
    g: np.ndarray,
    d: np.ndarray,
    a_g: np.ndarray,
    a_d: np.ndarray,
    sigmas: np.ndarray | None,
    vis_thr: float | None,
) -> np.ndarray:
    """OKS between instances ``g`` ``(G, K, 3)`` and ``d`` ``(D, K, 3)``: a float32 ``(G, D)`` matrix.

    ``e = d^2 / (2 s^2 ((a_g + a_d) / 2 + eps) (2 sigma)^2)``, averaged ``exp(-e)`` over the keypoints (only
    those with both visibilities ``> vis_thr`` when given; OKS 0 when none remain).
    """
    if sigmas is None:
        sigmas = COCO_SIGMAS
    variances = (np.asarray(sigmas) * 2) ** 2
    dx = d[None, :, :, 0] - g[:, None, :, 0]
    dy = d[None, :, :, 1] - g[:, None, :, 1]
    area = (np.asarray(a_g)[:, None] + np.asarray(a_d)[None, :]) / 2 + np.spacing(1)
    num = (dx**2 + dy**2) / variances
    # MMPose divides by a numpy scalar area; under numpy 1.x that keeps float32 maths for float32 inputs
    e = num / area.astype(num.dtype, copy=False)[..., None] / 2
    if vis_thr is None:
        return (np.exp(-e).sum(axis=-1) / e.shape[-1]).astype(np.float32)
    valid = (g[:, None, :, 2] > vis_thr) & (d[None, :, :, 2] > vis_thr)
    n = valid.sum(axis=-1)
    total = np.where(valid, np.exp(-e), 0.0).sum(axis=-1)
    return np.where(n > 0, total / np.maximum(n, 1), 0.0).astype(np.float32)


def oks_iou(
    g: np.ndarray,
    d: np.ndarray,
    a_g: float,
    a_d: np.ndarray,
    sigmas: np.ndarray | None = None,
    vis_thr: float | None = None,
) -> np.ndarray:
    """OKS of one instance against several, MMPose's ``oks_iou``.

    Args:
        g: ``(K*3,)`` flattened ``[x, y, v]`` keypoints of the reference instance.
        d: ``(N, K*3)`` the other instances.
        a_g: area of the reference instance.
        a_d: ``(N,)`` areas of the others.
        sigmas: ``(K,)`` keypoint sigmas; COCO's when ``None``.
        vis_thr: if given, only keypoints visible (``v > vis_thr``) in both instances count.

    Returns:
        ``(N,)`` float32 OKS values.
    """
    g = np.asarray(g).reshape(1, -1, 3)
    d = np.asarray(d)
    if len(d) == 0:
        return np.zeros(0, dtype=np.float32)
    d = d.reshape(len(d), -1, 3)
    return _oks(g, d, np.asarray([a_g]), np.asarray(a_d).reshape(-1), sigmas, vis_thr)[0]


def oks_matrix(
    keypoints: np.ndarray,
    areas: np.ndarray,
    sigmas: np.ndarray | None = None,
    vis_thr: float | None = None,
) -> np.ndarray:
    """Pairwise OKS of ``N`` instances ``(N, K, 3)`` with areas ``(N,)``: a float32 ``(N, N)`` matrix."""
    keypoints = np.asarray(keypoints)
    keypoints = keypoints.reshape(len(keypoints), -1, 3)
    return _oks(keypoints, keypoints, np.asarray(areas), np.asarray(areas), sigmas, vis_thr)


def _unpack(kpts_db: Sequence[dict[str, Any]], score_per_joint: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if score_per_joint:
        scores = np.array([np.asarray(k["score"]).mean() for k in kpts_db])
    else:
        scores = np.array([k["score"] for k in kpts_db])
    kpts = np.array([np.asarray(k["keypoints"]).flatten() for k in kpts_db])
    areas = np.array([k["area"] for k in kpts_db])
    return scores, kpts.reshape(len(kpts), -1, 3), areas


def oks_nms(
    kpts_db: Sequence[dict[str, Any]],
    thr: float,
    sigmas: np.ndarray | None = None,
    vis_thr: float | None = None,
    score_per_joint: bool = False,
) -> np.ndarray | list:
    """Greedy OKS NMS over the instances of one image.

    Keeps the highest-scoring instance, removes every instance with OKS ``> thr`` to it, repeats.

    Returns:
        Indices of the kept instances (highest score first); ``[]`` for an empty input.
    """
    if len(kpts_db) == 0:
        return []
    scores, kpts, areas = _unpack(kpts_db, score_per_joint)
    overlap = oks_matrix(kpts, areas, sigmas, vis_thr)
    return np.array(_greedy(scores.argsort()[::-1], overlap, thr))


def _rescore(overlap: np.ndarray, scores: np.ndarray, thr: float, type: str = "gaussian") -> np.ndarray:
    """Soft-NMS rescoring: gaussian ``s * exp(-o^2 / thr)`` or linear ``s * (1 - o)`` where ``o >= thr``."""
    if type not in ("gaussian", "linear"):
        raise ValueError(f"rescoring type must be 'gaussian' or 'linear', got {type!r}")
    if type == "linear":
        scores = scores.copy()
        inds = overlap >= thr
        scores[inds] = scores[inds] * (1 - overlap[inds])
        return scores
    return scores * np.exp(-(overlap**2) / thr)


def soft_oks_nms(
    kpts_db: Sequence[dict[str, Any]],
    thr: float,
    max_dets: int = 20,
    sigmas: np.ndarray | None = None,
    vis_thr: float | None = None,
    score_per_joint: bool = False,
) -> np.ndarray | list:
    """Soft OKS NMS (gaussian rescoring) over the instances of one image.

    Repeatedly keeps the best-scoring instance and decays the scores of the others by
    ``exp(-oks^2 / thr)``, at most ``max_dets`` times.

    Returns:
        Indices of the kept instances in selection order; ``[]`` for an empty input.
    """
    if len(kpts_db) == 0:
        return []
    scores, kpts, areas = _unpack(kpts_db, score_per_joint)
    overlap = oks_matrix(kpts, areas, sigmas, vis_thr)

    order = scores.argsort()[::-1]
    scores = scores[order]
    keep = []
    while len(order) > 0 and len(keep) < max_dets:
        i = order[0]
        keep.append(i)
        order = order[1:]
        scores = _rescore(overlap[i, order], scores[1:], thr)
        tmp = scores.argsort()[::-1]
        order = order[tmp]
        scores = scores[tmp]
    return np.array(keep, dtype=np.intp)


def nearby_joints_nms(
    kpts_db: Sequence[dict[str, Any]],
    dist_thr: float = 0.05,
    num_nearby_joints_thr: int | None = None,
    score_per_joint: bool = False,
    max_dets: int = 30,
) -> list[int]:
    """DEKR's nearby-joints NMS: two instances are duplicates when more than ``num_nearby_joints_thr`` of their
    joints are closer than ``dist_thr`` times the first instance's pose size (diagonal of its keypoint extent).

    ``kpts_db`` entries hold ``keypoints`` ``(K, 2)`` and ``score`` (float, or ``(K,)`` with
    ``score_per_joint``). Returns the kept indices (at most ``max_dets`` when ``max_dets > 0``).
    """
    assert dist_thr > 0, "`dist_thr` must be greater than 0."
    if len(kpts_db) == 0:
        return []
    if score_per_joint:
        scores = np.array([np.asarray(k["score"]).mean() for k in kpts_db])
    else:
        scores = np.array([k["score"] for k in kpts_db])
    kpts = np.array([k["keypoints"] for k in kpts_db])
    num_people, num_joints, _ = kpts.shape
    if num_nearby_joints_thr is None:
        num_nearby_joints_thr = num_joints // 2
    assert num_nearby_joints_thr < num_joints, "`num_nearby_joints_thr` must be less than the number of joints."

    pose_size = np.sqrt(((kpts.max(axis=1) - kpts.min(axis=1)) ** 2).sum(axis=1))  # (N,)
    close_thr = pose_size[:, None, None] * dist_thr  # row instance's size, (N, 1, 1)
    joint_dist = np.sqrt(((kpts[:, None] - kpts[None]) ** 2).sum(axis=3))  # (N, N, K)
    close_instance = (joint_dist < close_thr).sum(axis=2) > num_nearby_joints_thr  # (N, N)

    ignored: set = set()
    keep: list = []
    for i in np.argsort(scores)[::-1]:
        if i in ignored:
            continue
        group = close_instance[i].nonzero()[0]
        best = group[np.argmax(scores[group])]
        if best not in ignored:
            keep.append(best)
            ignored |= set(group.tolist())
    if max_dets > 0 and len(keep) > max_dets:
        sub = np.argsort(scores[keep])[-1 : -max_dets - 1 : -1]
        keep = [keep[i] for i in sub]
    return keep


def nms_torch(
    bboxes: Any, scores: Any, threshold: float = 0.65, iou_calculator: Any = None, return_group: bool = False
):
    """Greedy box NMS on torch tensors (MMPose's ``nms_torch``).

    Args:
        bboxes: (N, 4) xyxy tensor; scores: (N,) tensor.
        threshold: boxes with IoU > ``threshold`` to a kept box join its group.
        iou_calculator: ``f(boxes_a (1, 4) or (4,), boxes_b (M, 4)) -> (1, M)``; default
            :func:`posekit.structures.bbox_overlaps`.
        return_group: return the groups (each a 1-D index tensor, the kept box first) instead of the kept indices.

    Returns:
        The kept indices (descending score) as a 1-D long tensor, or the list of groups.
    """
    import torch

    if iou_calculator is None:
        from posekit.structures import bbox_overlaps as iou_calculator
    _, indices = scores.sort(descending=True)
    groups = []
    while len(indices):
        idx, indices = indices[0], indices[1:]
        ious = iou_calculator(bboxes[idx], bboxes[indices]).reshape(-1)
        close = ious > threshold
        groups.append(torch.cat((idx[None], indices[close])))
        indices = indices[~close]
    if return_group:
        return groups
    if not groups:
        return torch.zeros(0, dtype=torch.long)
    return torch.cat([g[:1] for g in groups])
