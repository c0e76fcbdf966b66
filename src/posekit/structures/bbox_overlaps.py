"""Pairwise box overlaps (IoU / IoF / GIoU) of xyxy boxes: MMPose's ``bbox_overlaps`` (torch or numpy)."""

from __future__ import annotations

from typing import Any

__all__ = ["bbox_overlaps"]


def bbox_overlaps(bboxes1: Any, bboxes2: Any, mode: str = "iou", is_aligned: bool = False, eps: float = 1e-6) -> Any:
    """Overlaps of (..., m, 4) and (..., n, 4) xyxy boxes.

    Args:
        mode: ``'iou'`` (intersection over union), ``'iof'`` (over the area of ``bboxes1``) or ``'giou'``.
        is_aligned: compare box i with box i only (m == n): result (..., m) instead of (..., m, n).
        eps: lower bound of the denominators.

    Returns:
        A tensor of the type of ``bboxes1`` (numpy in, numpy out).
    """
    import numpy as np
    import torch

    if mode not in ("iou", "iof", "giou"):
        raise ValueError(f"bbox_overlaps: mode must be 'iou', 'iof' or 'giou', got {mode!r}")
    as_numpy = isinstance(bboxes1, np.ndarray)
    b1, b2 = torch.as_tensor(bboxes1), torch.as_tensor(bboxes2)
    if b1.ndim == 1:
        b1 = b1.unsqueeze(0)
    if b2.ndim == 1:
        b2 = b2.unsqueeze(0)
    for name, b in (("bboxes1", b1), ("bboxes2", b2)):
        if b.shape[-1] != 4 and b.numel() != 0:
            raise ValueError(f"bbox_overlaps: {name} must be (..., 4) xyxy, got shape {tuple(b.shape)}")
    if b1.shape[:-2] != b2.shape[:-2]:
        raise ValueError(f"bbox_overlaps: batch shapes differ: {tuple(b1.shape)} vs {tuple(b2.shape)}")
    rows, cols = b1.shape[-2], b2.shape[-2]
    if is_aligned and rows != cols:
        raise ValueError(f"bbox_overlaps: is_aligned needs as many boxes in both sets, got {rows} and {cols}")
    batch = b1.shape[:-2]
    if rows * cols == 0:
        out = b1.new_zeros(batch + ((rows,) if is_aligned else (rows, cols)))
        return out.numpy() if as_numpy else out

    area1 = (b1[..., 2] - b1[..., 0]) * (b1[..., 3] - b1[..., 1])
    area2 = (b2[..., 2] - b2[..., 0]) * (b2[..., 3] - b2[..., 1])
    if is_aligned:
        p1, p2, a1, a2 = b1, b2, area1, area2
    else:
        p1, p2 = b1[..., :, None, :], b2[..., None, :, :]
        a1, a2 = area1[..., :, None], area2[..., None, :]
    lt = torch.maximum(p1[..., :2], p2[..., :2])
    rb = torch.minimum(p1[..., 2:], p2[..., 2:])
    wh = (rb - lt).clamp(min=0)
    overlap = wh[..., 0] * wh[..., 1]
    union = a1 + a2 - overlap if mode in ("iou", "giou") else a1.expand_as(overlap)
    union = union.clamp(min=eps)
    ious = overlap / union
    if mode == "giou":
        enclosed_wh = (torch.maximum(p1[..., 2:], p2[..., 2:]) - torch.minimum(p1[..., :2], p2[..., :2])).clamp(min=0)
        enclosed_area = (enclosed_wh[..., 0] * enclosed_wh[..., 1]).clamp(min=eps)
        ious = ious - (enclosed_area - union) / enclosed_area
    return ious.numpy() if as_numpy else ious
