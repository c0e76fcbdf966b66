"""Bounding-box conversions and affine warp matrices (MMPose 1.x conventions).

Boxes are ``xyxy`` = (left, top, right, bottom) or ``xywh`` = (left, top, width, height).
``center`` is (x, y) and ``scale`` is the box size (w, h), optionally padded. Sizes are always (w, h).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

__all__ = [
    "bbox_xyxy2xywh",
    "bbox_xywh2xyxy",
    "bbox_xyxy2cs",
    "bbox_xywh2cs",
    "bbox_cs2xyxy",
    "bbox_cs2xywh",
    "bbox_clip_border",
    "flip_bbox",
    "get_warp_matrix",
    "get_udp_warp_matrix",
    "fix_aspect_ratio",
]


def bbox_xyxy2xywh(bbox_xyxy: np.ndarray) -> np.ndarray:
    """(n, 4|5) xyxy[+score] -> (n, 4|5) xywh[+score]."""
    out = np.array(bbox_xyxy, copy=True)
    out[..., 2] = out[..., 2] - out[..., 0]
    out[..., 3] = out[..., 3] - out[..., 1]
    return out


def bbox_xywh2xyxy(bbox_xywh: np.ndarray) -> np.ndarray:
    """(n, 4|5) xywh[+score] -> (n, 4|5) xyxy[+score]."""
    out = np.array(bbox_xywh, copy=True)
    out[..., 2] = out[..., 2] + out[..., 0]
    out[..., 3] = out[..., 3] + out[..., 1]
    return out


def bbox_xyxy2cs(bbox: np.ndarray, padding: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Box(es) (4,) or (n, 4) xyxy -> center (2,)|(n, 2) and scale (w, h) * padding.

    The default ``padding=1.0`` is MMPose's; the top-down pipelines pass 1.25
    (``GetBBoxCenterScale(padding=1.25)``).
    """
    bbox = np.asarray(bbox)
    scale = (bbox[..., 2:4] - bbox[..., 0:2]) * padding
    center = (bbox[..., 2:4] + bbox[..., 0:2]) * 0.5
    return center, scale


def bbox_xywh2cs(bbox: np.ndarray, padding: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Box(es) (4,) or (n, 4) xywh -> center and scale (w, h) * padding."""
    bbox = np.asarray(bbox)
    center = bbox[..., 0:2] + bbox[..., 2:4] * 0.5
    scale = bbox[..., 2:4] * padding
    return center, scale


def bbox_cs2xyxy(center: np.ndarray, scale: np.ndarray, padding: float = 1.0) -> np.ndarray:
    """Center (2,)|(n, 2) and scale -> xyxy (4,)|(n, 4); the inverse of :func:`bbox_xyxy2cs`."""
    center, scale = np.asarray(center), np.asarray(scale)
    assert center.ndim == scale.ndim, f"center {center.shape} and scale {scale.shape} differ in ndim"
    wh = scale / padding
    xy = center - 0.5 * wh
    return np.concatenate([xy, xy + wh], axis=-1)


def bbox_cs2xywh(center: np.ndarray, scale: np.ndarray, padding: float = 1.0) -> np.ndarray:
    """Center and scale -> xywh (4,)|(n, 4)."""
    center, scale = np.asarray(center), np.asarray(scale)
    wh = scale / padding
    return np.concatenate([center - 0.5 * wh, wh], axis=-1)


def bbox_clip_border(bbox: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Clip (..., 4) boxes or (..., 2) points to an image of size ``shape`` = (w, h), in place."""
    w, h = shape[:2]
    if bbox.shape[-1] == 2:
        bbox[..., 0] = np.clip(bbox[..., 0], 0, w)
        bbox[..., 1] = np.clip(bbox[..., 1], 0, h)
    else:
        bbox[..., 0::2] = np.clip(bbox[..., 0::2], 0, w)
        bbox[..., 1::2] = np.clip(bbox[..., 1::2], 0, h)
    return bbox


def flip_bbox(
    bbox: np.ndarray,
    image_size: Sequence[int],
    bbox_format: str = "xywh",
    direction: str = "horizontal",
) -> np.ndarray:
    """Flip boxes in an image of size (w, h).

    ``bbox`` is (..., 4) for ``xyxy``/``xywh`` and (..., 2) for ``center``. As in MMPose, a
    coordinate x maps to ``w - 1 - x`` (pixel-index convention).
    """
    if direction not in ("horizontal", "vertical", "diagonal"):
        raise ValueError(f"flip_bbox: direction must be horizontal|vertical|diagonal, got {direction!r}")
    if bbox_format not in ("xywh", "xyxy", "center"):
        raise ValueError(f"flip_bbox: bbox_format must be xywh|xyxy|center, got {bbox_format!r}")
    bbox = np.asarray(bbox)
    out = bbox.copy()
    w, h = image_size
    if bbox_format == "xyxy":
        if direction in ("horizontal", "diagonal"):
            out[..., 0] = w - 1 - bbox[..., 2]
            out[..., 2] = w - 1 - bbox[..., 0]
        if direction in ("vertical", "diagonal"):
            out[..., 1] = h - 1 - bbox[..., 3]
            out[..., 3] = h - 1 - bbox[..., 1]
    else:  # the first two numbers are a point (top-left for xywh, as MMPose does)
        if direction in ("horizontal", "diagonal"):
            out[..., 0] = w - 1 - bbox[..., 0]
        if direction in ("vertical", "diagonal"):
            out[..., 1] = h - 1 - bbox[..., 1]
    return out


def get_warp_matrix(
    center: np.ndarray,
    scale: np.ndarray,
    rot: float,
    output_size: Sequence[int],
    shift: Sequence[float] = (0.0, 0.0),
    inv: bool = False,
    fix_aspect_ratio: bool = True,
) -> np.ndarray:
    """2x3 affine matrix that maps the box (center, scale) rotated by ``rot`` degrees onto an
    image of ``output_size`` = (w, h) (``inv=True``: output -> input).

    Computed as MMPose does, to the bit: three point pairs in float32 (the box centre ``center + scale * shift``,
    the middle of its left edge, and a third point 90 degrees further) solved by ``cv2.getAffineTransform``.
    With ``fix_aspect_ratio`` (default) the map is a similarity with zoom ``output_w / scale_w`` (the box's aspect
    ratio is expected to match the output's, see :func:`fix_aspect_ratio`); without, the third pair is the middle
    of the top edge, so width and height are scaled independently.
    """
    assert len(center) == 2 and len(scale) == 2 and len(output_size) == 2 and len(shift) == 2
    # The arithmetic keeps the inputs' dtypes and MMPose's order of operations (float32 boxes give float32
    # intermediates), so the matrix equals MMPose's bit for bit.
    center, scale = np.asarray(center), np.asarray(scale)
    offset = scale * np.array(shift)
    src_w, src_h = scale[0], scale[1]
    dst_w, dst_h = output_size[0], output_size[1]
    theta = np.deg2rad(rot)
    sn, cs = np.sin(theta), np.cos(theta)
    rotation = np.array([[cs, -sn], [sn, cs]])
    dst_center = np.array([dst_w * 0.5, dst_h * 0.5])
    src = np.zeros((3, 2), dtype=np.float32)
    dst = np.zeros((3, 2), dtype=np.float32)
    src[0] = center + offset
    src[1] = center + rotation @ np.array([src_w * -0.5, 0.0]) + offset
    dst[0] = dst_center
    dst[1] = dst_center + np.array([dst_w * -0.5, 0.0])
    if fix_aspect_ratio:  # the third point: (p0 - p1) turned by 90 degrees around p1, from the float32 points
        for pts in (src, dst):
            d = pts[0] - pts[1]
            pts[2] = pts[1] + np.r_[-d[1], d[0]]
    else:
        src[2] = center + rotation @ np.array([0.0, src_h * -0.5]) + offset
        dst[2] = dst_center + np.array([0.0, dst_h * -0.5])
    if inv:
        return cv2.getAffineTransform(dst, src)
    return cv2.getAffineTransform(src, dst)


def get_udp_warp_matrix(center: np.ndarray, scale: np.ndarray, rot: float, output_size: Sequence[int]) -> np.ndarray:
    """2x3 affine matrix of the unbiased data processing (UDP, CVPR 2020) top-down warp.

    Pixel centres are treated as continuous coordinates: the box of size ``scale`` maps onto
    ``output_size - 1`` so that the first and last pixels of the crop line up exactly.
    """
    assert len(center) == 2 and len(scale) == 2 and len(output_size) == 2
    cx, cy = float(center[0]), float(center[1])
    sw, sh = float(scale[0]), float(scale[1])
    theta = math.radians(rot)
    c, s = math.cos(theta), math.sin(theta)
    zx = (output_size[0] - 1) / sw
    zy = (output_size[1] - 1) / sh
    mat = np.zeros((2, 3), dtype=np.float32)
    mat[0, 0] = c * zx
    mat[0, 1] = -s * zx
    mat[0, 2] = zx * (-cx * c + cy * s + 0.5 * sw)
    mat[1, 0] = s * zy
    mat[1, 1] = c * zy
    mat[1, 2] = zy * (-cx * s - cy * c + 0.5 * sh)
    return mat


def fix_aspect_ratio(bbox_scale: np.ndarray, aspect_ratio: float) -> np.ndarray:
    """Grow (..., 2) box sizes (w, h) so that w / h == ``aspect_ratio`` (never shrink)."""
    bbox_scale = np.asarray(bbox_scale)
    w, h = bbox_scale[..., 0], bbox_scale[..., 1]
    return np.where(
        (w > h * aspect_ratio)[..., None],
        np.stack([w, w / aspect_ratio], axis=-1),
        np.stack([h * aspect_ratio, h], axis=-1),
    ).astype(bbox_scale.dtype if bbox_scale.dtype.kind == "f" else np.float32)


def bbox_xyxy2corner(bbox: np.ndarray) -> np.ndarray:
    """(N, 4) or (4,) xyxy -> (N, 4, 2) or (4, 2) corners in MMPose's order: (x1, y1), (x1, y2), (x2, y1), (x2, y2)."""
    bbox = np.asarray(bbox)
    single = bbox.ndim == 1
    b = bbox.reshape(-1, 4)
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    corners = np.stack([x1, y1, x1, y2, x2, y1, x2, y2], axis=-1).reshape(-1, 4, 2)
    return corners[0] if single else corners


def bbox_corner2xyxy(bbox: np.ndarray) -> np.ndarray:
    """(N, 4, 2) / (4, 2) corners (or (N, 8) flattened) -> (N, 4) / (4,) xyxy: the min and max over the corners."""
    bbox = np.asarray(bbox)
    if bbox.shape[-1] == 8:
        bbox = bbox.reshape(*bbox.shape[:-1], 4, 2)
    single = bbox.ndim == 2
    b = bbox[None] if single else bbox
    out = np.concatenate([b.min(axis=1), b.max(axis=1)], axis=1)
    return out[0] if single else out


def get_pers_warp_matrix(
    center: np.ndarray, translate: np.ndarray, scale: float, rot: float, shear: np.ndarray
) -> np.ndarray:
    """(3, 3) float32 perspective matrix: move ``center`` to the origin, scale, rotate by ``rot`` degrees, shear by
    ``shear`` = (x, y) degrees, then translate to ``center + translate`` (MMPose's ``get_pers_warp_matrix``)."""
    cx, cy = float(center[0]), float(center[1])
    a = math.radians(rot)
    sx, sy = math.tan(math.radians(shear[0])), math.tan(math.radians(shear[1]))
    translate_mat = np.array([[1, 0, translate[0] + cx], [0, 1, translate[1] + cy], [0, 0, 1]], np.float32)
    shear_mat = np.array([[1, sx, 0], [sy, 1, 0], [0, 0, 1]], np.float32)
    rotate_mat = np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]], np.float32)
    scale_mat = np.array([[scale, 0, 0], [0, scale, 0], [0, 0, 1]], np.float32)
    recenter_mat = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1]], np.float32)
    return translate_mat @ shear_mat @ rotate_mat @ scale_mat @ recenter_mat
