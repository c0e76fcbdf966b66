"""Keypoint accuracy functions with MMPose's names, signatures and numbers.

A leaf module: it imports only numpy (and accepts torch tensors duck-typed, without importing torch),
so heads may import it for their ``acc_pose`` without pulling the rest of ``posekit.evaluation``. It also
re-exports the numpy-only NMS functions of :mod:`posekit.evaluation.nms` and MMPose's keypoint-mapping
helpers (``transform_sigmas`` / ``transform_ann`` / ``transform_pred``), as ``mmpose.evaluation.functional`` does.

Shapes: keypoints ``(N, K, D)``, masks ``(N, K)``, normalisation factors ``(N, D)``, heatmaps ``(N, K, H, W)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from posekit.structures.keypoint_mapping import (  # noqa: E402  (re-exported: MMPose's names)
    transform_ann,
    transform_keypoints,
    transform_pred,
    transform_sigmas,
)

from .nms import nearby_joints_nms, nms, nms_torch, oks_iou, oks_nms, soft_oks_nms

__all__ = [
    "get_heatmap_maximum",
    "get_simcc_maximum",
    "keypoint_auc",
    "keypoint_epe",
    "keypoint_mpjpe",
    "keypoint_nme",
    "keypoint_pck_accuracy",
    "multilabel_classification_accuracy",
    "nearby_joints_nms",
    "nms",
    "nms_torch",
    "oks_iou",
    "oks_nms",
    "pose_pck_accuracy",
    "simcc_pck_accuracy",
    "similarity_transform",
    "soft_oks_nms",
    "transform_ann",
    "transform_keypoints",
    "transform_pred",
    "transform_sigmas",
]


def _np(x: Any) -> np.ndarray:
    """Convert a torch tensor (any device, any grad state) or array-like to a numpy array."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(getattr(x, "dtype", "")) in ("torch.bfloat16", "torch.float16"):
            x = x.float()
        return x.numpy()
    return np.asarray(x)


def get_heatmap_maximum(heatmaps: Any) -> tuple[np.ndarray, np.ndarray]:
    """Arg-max location ``(x, y)`` and value of heatmaps ``(K, H, W)`` or ``(B, K, H, W)``.

    Locations whose maximum is ``<= 0`` are set to -1 (MMPose's convention).
    """
    heatmaps = _np(heatmaps)
    if heatmaps.ndim not in (3, 4):
        raise ValueError(f"heatmaps must be (K,H,W) or (B,K,H,W), got shape {heatmaps.shape}")
    h, w = heatmaps.shape[-2:]
    flat = heatmaps.reshape(*heatmaps.shape[:-2], h * w)
    idx = flat.argmax(axis=-1)
    vals = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
    locs = np.stack((idx % w, idx // w), axis=-1).astype(np.float32)
    locs[vals <= 0.0] = -1
    return locs, vals


def get_simcc_maximum(simcc_x: Any, simcc_y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Arg-max bins of 1-D SimCC vectors ``(K, W)`` or ``(N, K, W)``; value = min of the two maxima."""
    simcc_x, simcc_y = _np(simcc_x), _np(simcc_y)
    if simcc_x.ndim not in (2, 3) or simcc_x.ndim != simcc_y.ndim:
        raise ValueError(f"simcc_x/simcc_y must both be (K,W) or (N,K,W), got {simcc_x.shape} and {simcc_y.shape}")
    locs = np.stack((simcc_x.argmax(axis=-1), simcc_y.argmax(axis=-1)), axis=-1).astype(np.float32)
    vals = np.minimum(simcc_x.max(axis=-1), simcc_y.max(axis=-1))
    locs[vals <= 0.0] = -1
    return locs, vals


def _calc_distances(preds: np.ndarray, gts: np.ndarray, mask: np.ndarray, norm_factor: np.ndarray) -> np.ndarray:
    """Normalised distances ``(K, N)``; -1 where the target is masked out or its norm factor has a zero."""
    preds, gts = _np(preds), _np(gts)
    mask = _np(mask) > 0
    norm_factor = np.array(_np(norm_factor))  # a copy: MMPose's version mutates the caller's array
    valid = mask & ~(norm_factor == 0).any(axis=1)[:, None]
    norm_factor[norm_factor <= 0] = 1e6
    dist = np.linalg.norm((preds - gts) / norm_factor[:, None, :], axis=-1)
    distances = np.where(valid, dist, -1).astype(np.float32)
    return distances.T


def _distance_acc(distances: np.ndarray, thr: float = 0.5) -> np.ndarray:
    """Per-row fraction of valid (!= -1) distances below ``thr``; -1 for rows without valid distances.

    ``distances`` is ``(K, N)``; returns ``(K,)``.
    """
    valid = distances != -1
    n_valid = valid.sum(axis=-1)
    hits = ((distances < thr) & valid).sum(axis=-1)
    return np.where(n_valid > 0, hits / np.maximum(n_valid, 1), -1.0)


def keypoint_pck_accuracy(pred: Any, gt: Any, mask: Any, thr: float, norm_factor: Any) -> tuple:
    """PCK of each keypoint and averaged over keypoints.

    Args:
        pred: ``(N, K, 2)`` predicted keypoints.
        gt: ``(N, K, 2)`` ground-truth keypoints.
        mask: ``(N, K)`` visibility; invisible joints are ignored.
        thr: threshold on the normalised distance.
        norm_factor: ``(N, 2)`` normalisation factor.

    Returns:
        ``(acc (K,), avg_acc float, cnt int)``: per-keypoint accuracy (-1 where no valid target), the mean
        over keypoints with valid targets (0 if none) and the number of such keypoints.
    """
    distances = _calc_distances(pred, gt, mask, norm_factor)
    acc = _distance_acc(distances, thr)
    valid_acc = acc[acc >= 0]
    cnt = len(valid_acc)
    avg_acc = valid_acc.mean() if cnt > 0 else 0
    return acc, avg_acc, cnt


def keypoint_auc(pred: Any, gt: Any, mask: Any, norm_factor: float, num_thrs: int = 20) -> float:
    """Area under the PCK curve for thresholds ``0, 1/num_thrs, ..., (num_thrs-1)/num_thrs``.

    ``norm_factor`` is a scalar distance (pixels) used for both axes.
    """
    pred = _np(pred)
    nor = np.tile(np.array([[norm_factor, norm_factor]]), (pred.shape[0], 1))
    distances = _calc_distances(pred, gt, mask, nor)  # (K, N)
    # python-float thresholds compare against float32 distances in float32 (as in MMPose's loop)
    thrs = (np.arange(num_thrs, dtype=np.float64) / num_thrs).astype(distances.dtype)
    valid = distances != -1
    n_valid = valid.sum(axis=-1)  # (K,)
    hits = ((distances[None] < thrs[:, None, None]) & valid[None]).sum(axis=-1)  # (T, K)
    has = n_valid > 0
    if not has.any():
        return 0.0
    avg_accs = (hits[:, has] / n_valid[has]).mean(axis=1)  # (T,)
    auc = 0.0
    for a in avg_accs:  # sequential sum, same rounding as MMPose
        auc += 1.0 / num_thrs * a
    return auc


def keypoint_nme(pred: Any, gt: Any, mask: Any, normalize_factor: Any) -> float:
    """Normalised mean error over valid keypoints; ``normalize_factor`` is ``(N, 2)``."""
    distances = _calc_distances(pred, gt, mask, normalize_factor)
    distance_valid = distances[distances != -1]
    # the float32 sum divided in float64, as MMPose computes it under NumPy 1.x (its supported NumPy)
    return float(np.float64(distance_valid.sum()) / max(1, len(distance_valid)))


def keypoint_epe(pred: Any, gt: Any, mask: Any) -> float:
    """Mean end-point (Euclidean) error in pixels over valid keypoints."""
    pred = _np(pred)
    distances = _calc_distances(pred, gt, mask, np.ones((pred.shape[0], pred.shape[2]), dtype=np.float32))
    distance_valid = distances[distances != -1]
    # the float32 sum divided in float64, as MMPose computes it under NumPy 1.x (its supported NumPy)
    return float(np.float64(distance_valid.sum()) / max(1, len(distance_valid)))


def similarity_transform(source: Any, target: Any) -> np.ndarray:
    """Procrustes-align ``source`` to ``target`` (both ``(N, K, 3)`` or ``(K, 3)``): the least-squares scale,
    rotation (``det = +1``) and translation, applied to ``source``. Batched over N."""
    src, tgt = np.asarray(_np(source), dtype=np.float64), np.asarray(_np(target), dtype=np.float64)
    single = src.ndim == 2
    if single:
        src, tgt = src[None], tgt[None]
    mu_s, mu_t = src.mean(axis=1, keepdims=True), tgt.mean(axis=1, keepdims=True)
    xs, xt = src - mu_s, tgt - mu_t
    var_s = (xs**2).sum(axis=(1, 2))
    cov = np.einsum("nki,nkj->nij", xs, xt)  # (N, 3, 3) = X1 X2^T in column-vector form
    u, _, vh = np.linalg.svd(cov)
    v = np.swapaxes(vh, 1, 2)
    z = np.tile(np.eye(3), (len(src), 1, 1))
    z[:, -1, -1] = np.sign(np.linalg.det(v @ np.swapaxes(u, 1, 2)))
    rot = v @ z @ np.swapaxes(u, 1, 2)
    scale = np.einsum("nii->n", rot @ cov) / var_s
    out = scale[:, None, None] * np.einsum("nij,nkj->nki", rot, src)
    out = out + (mu_t - scale[:, None, None] * np.einsum("nij,nkj->nki", rot, mu_s))
    return out[0] if single else out


def keypoint_mpjpe(pred: Any, gt: Any, mask: Any, alignment: str = "none") -> float:
    """Mean per-joint position error over ``mask`` for 3D keypoints ``(N, K, C)``.

    ``alignment``: ``'none'``, ``'scale'`` (least-squares scale of the prediction) or ``'procrustes'``
    (similarity transform, i.e. P-MPJPE).
    """
    pred, gt, mask = np.asarray(_np(pred)), np.asarray(_np(gt)), np.asarray(_np(mask)).astype(bool)
    assert mask.any()
    if alignment == "procrustes":
        pred = similarity_transform(pred, gt)
    elif alignment == "scale":
        scale = np.einsum("nkc,nkc->n", pred, gt) / np.einsum("nkc,nkc->n", pred, pred)
        pred = pred * scale[:, None, None]
    elif alignment != "none":
        raise ValueError(f"Invalid value for alignment: {alignment}")
    return np.linalg.norm(pred - gt, ord=2, axis=-1)[mask].mean()


def pose_pck_accuracy(output: Any, target: Any, mask: Any, thr: float = 0.05, normalize: Any = None) -> tuple:
    """PCK between the arg-max locations of predicted and target heatmaps ``(N, K, H, W)``.

    The default normalisation is ``[H, W]`` per instance (MMPose's order). Returns ``(acc, avg_acc, cnt)``.
    """
    output, target = _np(output), _np(target)
    n, k, h, w = output.shape
    if k == 0:
        return None, 0, 0
    if normalize is None:
        normalize = np.tile(np.array([[h, w]]), (n, 1))
    pred, _ = get_heatmap_maximum(output)
    gt, _ = get_heatmap_maximum(target)
    return keypoint_pck_accuracy(pred, gt, mask, thr, normalize)


def simcc_pck_accuracy(
    output: tuple[np.ndarray, np.ndarray],
    target: tuple[np.ndarray, np.ndarray],
    simcc_split_ratio: float,
    mask: np.ndarray,
    thr: float = 0.05,
    normalize: np.ndarray | None = None,
) -> tuple:
    """PCK between the arg-max bins of predicted and target SimCC vectors (MMPose 1.3.2's ``simcc_pck_accuracy``).

    Args:
        output: predicted ``(x (N, K, Wx), y (N, K, Wy))``.
        target: target labels ``(gt_x (N, K, Wx), gt_y (N, K, Wy))`` (the codec's ``keypoint_x_labels`` /
            ``keypoint_y_labels``).
        simcc_split_ratio: bins per input pixel; both arg-max locations are divided by it.
        mask: ``(N, K)`` visibility; invisible joints are ignored.
        thr: threshold on the normalised distance.
        normalize: ``(N, 2)`` normalisation factor; default ``[[H, W]]`` per instance with ``W = Wx / ratio``,
            ``H = Wy / ratio``, in MMPose's order (so x distances are divided by H and y distances by W, as
            MMPose does).

    Returns:
        ``(acc (K,), avg_acc, cnt)`` as :func:`keypoint_pck_accuracy`.
    """
    pred_x, pred_y = _np(output[0]), _np(output[1])
    gt_x, gt_y = _np(target[0]), _np(target[1])
    n, _, wx = pred_x.shape
    wy = pred_y.shape[-1]
    w, h = int(wx / simcc_split_ratio), int(wy / simcc_split_ratio)
    if normalize is None:
        normalize = np.tile(np.array([[h, w]]), (n, 1))
    pred_coords, _ = get_simcc_maximum(pred_x, pred_y)
    pred_coords /= simcc_split_ratio
    gt_coords, _ = get_simcc_maximum(gt_x, gt_y)
    gt_coords /= simcc_split_ratio
    return keypoint_pck_accuracy(pred_coords, gt_coords, _np(mask), thr, normalize)


def multilabel_classification_accuracy(pred: Any, gt: Any, mask: Any, thr: float = 0.5) -> float:
    """Accuracy of multi-label predictions ``(N, L)``; a sample counts as correct only if all labels are.

    Only samples whose ``mask`` (``(N,)``, ``(N, 1)`` or ``(N, L)``) is positive everywhere are used; 0 if none.
    """
    pred, gt, mask = _np(pred), _np(gt), _np(mask)
    valid = (mask > 0).min(axis=1) if mask.ndim == 2 else (mask > 0)
    pred, gt = pred[valid], gt[valid]
    if pred.shape[0] == 0:
        return 0.0
    return (((pred - thr) * (gt - thr)) > 0).all(axis=1).mean()
