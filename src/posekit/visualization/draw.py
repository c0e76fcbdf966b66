"""Drawing keypoints, skeletons, boxes and heatmaps on BGR images with OpenCV.

Every function takes an ``(H, W, 3)`` uint8 image and returns the drawn image (a copy unless ``copy=False``).
Images are BGR (what ``cv2.imread`` and posekit's pipelines give); the colours in a dataset's metainfo are RGB
(MMPose's dataset configs), and are converted here. Keypoints ``(N, K, 2)`` and scores ``(N, K)`` may be numpy
arrays or tensors; ``(K, 2)`` / ``(K,)`` mean one instance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from posekit.structures import revert_heatmap  # noqa: F401  (re-exported)

__all__ = [
    "DEFAULT_KEYPOINT_COLOR",
    "DEFAULT_LINK_COLOR",
    "auto_radius_thickness",
    "draw_bboxes",
    "draw_heatmap_overlay",
    "draw_skeleton",
    "heatmap_to_color",
    "make_heatmap_grid",
    "resolve_metainfo",
    "revert_heatmap",
]

# MMPose's fallbacks (RGB) when the metainfo has no colours
DEFAULT_KEYPOINT_COLOR = (255, 128, 0)
DEFAULT_LINK_COLOR = (96, 96, 255)
_SHIFT = 4  # cv2 sub-pixel drawing: coordinates in 1/16 px
_ONE = 1 << _SHIFT


def _np(x: Any, dtype=np.float32) -> np.ndarray:
    if hasattr(x, "detach"):  # torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=dtype)


def _check_img(img: Any, who: str) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.ndim not in (2, 3):
        raise TypeError(
            f"{who}: img must be an (H, W, 3) uint8 numpy array, got {type(img).__name__} {getattr(img, 'shape', '')}"
        )
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    if img.dtype != np.uint8:
        img = np.clip(img, 0, 255).astype(np.uint8)
    return img


def resolve_metainfo(metainfo: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``None`` | a packaged name / YAML path (loaded with :func:`posekit.datasets.load_metainfo`) | a parsed dict."""
    if metainfo is None:
        return None
    if isinstance(metainfo, Mapping):
        if "keypoint_colors" in metainfo or "skeleton_links" in metainfo or "num_keypoints" in metainfo:
            return dict(metainfo)
    from posekit.datasets import load_metainfo

    return load_metainfo(metainfo)


def auto_radius_thickness(shape: Sequence[int]) -> tuple[int, int]:
    """Keypoint radius and line thickness that read well at this image size: (2, 1) up to 300 px, (3, 2) at
    640 px (MMPose draws radius 3), growing linearly with the longer side (10 at 1920 px)."""
    longest = max(int(shape[0]), int(shape[1]))
    radius = max(2, int(round(longest / 200)))
    return radius, max(1, int(round(radius / 2 + 0.01)))


def _colors(values: Any, n: int, default: Sequence[int], what: str) -> np.ndarray:
    """(n, 3) BGR uint8 colours from RGB ``values`` (one colour, or n of them)."""
    if values is None:
        arr = np.tile(np.asarray(default, dtype=np.int64), (n, 1))
    else:
        arr = np.asarray(values, dtype=np.int64)
        if arr.ndim == 1:
            arr = np.tile(arr, (n, 1))
        if arr.shape != (n, 3):
            raise ValueError(f"draw_skeleton: {what} must be one RGB colour or ({n}, 3), got shape {arr.shape}")
    return np.clip(arr[:, ::-1], 0, 255).astype(np.uint8)


def draw_skeleton(
    img: np.ndarray,
    keypoints: Any,
    scores: Any = None,
    metainfo: str | Mapping[str, Any] | None = "coco",
    kpt_thr: float = 0.3,
    radius: int | None = None,
    thickness: int | None = None,
    keypoints_visible: Any = None,
    keypoint_colors: Any = None,
    link_colors: Any = None,
    skeleton_links: Sequence[Sequence[int]] | None = None,
    show_kpt_idx: bool = False,
    copy: bool = True,
) -> np.ndarray:
    """Draw keypoints and skeleton links (MMPose's ``PoseLocalVisualizer`` rules).

    A keypoint is drawn when its score is ``>= kpt_thr`` and it is visible; a link when both of its keypoints are
    drawn and lie inside the image. Colours come from the metainfo (``keypoint_colors`` (K, 3),
    ``skeleton_links`` [(i, j)], ``skeleton_link_colors`` (L, 3), all RGB) unless given explicitly.

    Args:
        img: (H, W, 3) uint8 BGR image.
        keypoints: (N, K, 2) or (K, 2) in pixels.
        scores: (N, K) or (K,) confidences; ``None`` draws every keypoint.
        metainfo: a dataset name (``'coco'``), a metainfo YAML path, a parsed metainfo dict, or ``None``
            (no links, MMPose's default keypoint colour).
        kpt_thr: score threshold.
        radius / thickness: circle radius and link width in pixels; ``None`` scales with the image size
            (:func:`auto_radius_thickness`).
        keypoints_visible: (N, K) flags (e.g. ground-truth visibility); ``0`` hides a keypoint.
        keypoint_colors / link_colors / skeleton_links: override the metainfo's (RGB).
        show_kpt_idx: write each drawn keypoint's index next to it.
        copy: draw on a copy (default) or in place.

    Returns:
        The drawn (H, W, 3) uint8 BGR image.
    """
    img = _check_img(img, "draw_skeleton")
    out = img.copy() if copy else img
    kpts = _np(keypoints)
    if kpts.ndim == 2:
        kpts = kpts[None]
    if kpts.ndim != 3 or kpts.shape[-1] < 2:
        raise ValueError(f"draw_skeleton: keypoints must be (N, K, 2) or (K, 2), got shape {kpts.shape}")
    n, k = kpts.shape[:2]
    if n == 0 or k == 0:
        return out
    kpts = kpts[..., :2]
    sc = np.ones((n, k), np.float32) if scores is None else _np(scores).reshape(n, k)
    vis = np.ones((n, k), bool) if keypoints_visible is None else _np(keypoints_visible).reshape(n, k) > 0

    meta = resolve_metainfo(metainfo)
    if meta is not None and "num_keypoints" in meta and int(meta["num_keypoints"]) != k:
        raise ValueError(
            f"draw_skeleton: the keypoints have K={k} but metainfo {meta.get('dataset_name')!r} has "
            f"{meta['num_keypoints']}; pass the dataset's metainfo (e.g. metainfo='mpii') or metainfo=None"
        )
    meta = meta or {}
    skeleton_links_given = skeleton_links
    if skeleton_links is None:
        skeleton_links = meta.get("skeleton_links")
    links = np.asarray([] if skeleton_links is None else skeleton_links, np.int64).reshape(-1, 2)
    if len(links) and (links.min() < 0 or links.max() >= k):
        raise ValueError(f"draw_skeleton: skeleton_links refer to keypoints outside 0..{k - 1}")
    kcol = _colors(
        keypoint_colors if keypoint_colors is not None else meta.get("keypoint_colors"),
        k,
        DEFAULT_KEYPOINT_COLOR,
        "keypoint_colors",
    )
    if link_colors is None and skeleton_links_given is None:  # the metainfo's links: the metainfo's colours
        link_colors = meta.get("skeleton_link_colors")
    lcol = _colors(link_colors, len(links), DEFAULT_LINK_COLOR, "link_colors")

    auto_r, auto_t = auto_radius_thickness(out.shape)
    radius = auto_r if radius is None else int(radius)
    thickness = auto_t if thickness is None else int(thickness)

    h, w = out.shape[:2]
    finite = np.isfinite(kpts).all(-1)
    shown = (sc >= kpt_thr) & vis & finite  # (N, K)
    inside = finite & (kpts[..., 0] > 0) & (kpts[..., 0] < w) & (kpts[..., 1] > 0) & (kpts[..., 1] < h)
    fixed = np.round(np.nan_to_num(kpts) * _ONE).astype(np.int64)
    fixed = np.clip(fixed, -(1 << 24), 1 << 24)  # keep cv2's int32 coordinates valid for far-off points

    if len(links):
        ok = shown[:, links[:, 0]] & shown[:, links[:, 1]] & inside[:, links[:, 0]] & inside[:, links[:, 1]]
        for i, l_idx in zip(*np.nonzero(ok)):
            a, b = links[l_idx]
            cv2.line(
                out,
                tuple(map(int, fixed[i, a])),
                tuple(map(int, fixed[i, b])),
                tuple(map(int, lcol[l_idx])),
                thickness,
                cv2.LINE_AA,
                _SHIFT,
            )
    for i, j in zip(*np.nonzero(shown)):
        cv2.circle(out, tuple(map(int, fixed[i, j])), radius * _ONE, tuple(map(int, kcol[j])), -1, cv2.LINE_AA, _SHIFT)
        if show_kpt_idx:
            x, y = kpts[i, j]
            cv2.putText(
                out,
                str(j),
                (int(x) + radius + 1, int(y) - radius - 1),
                cv2.FONT_HERSHEY_SIMPLEX,
                max(0.3, radius / 8),
                tuple(map(int, kcol[j])),
                1,
                cv2.LINE_AA,
            )
    return out


def draw_bboxes(
    img: np.ndarray,
    bboxes: Any,
    scores: Any = None,
    labels: Sequence[str] | None = None,
    color: Sequence[int] = (0, 255, 0),
    thickness: int | None = None,
    copy: bool = True,
) -> np.ndarray:
    """Draw ``(N, 4)`` xyxy boxes (BGR ``color``), with their ``scores`` (N,) and/or ``labels`` written above."""
    img = _check_img(img, "draw_bboxes")
    out = img.copy() if copy else img
    boxes = _np(bboxes).reshape(-1, 4) if np.size(_np(bboxes)) else np.zeros((0, 4), np.float32)
    if not len(boxes):
        return out
    sc = None if scores is None else _np(scores).reshape(-1)
    if sc is not None and len(sc) != len(boxes):
        raise ValueError(f"draw_bboxes: {len(boxes)} boxes but {len(sc)} scores")
    if labels is not None and len(labels) != len(boxes):
        raise ValueError(f"draw_bboxes: {len(boxes)} boxes but {len(labels)} labels")
    thickness = auto_radius_thickness(out.shape)[1] if thickness is None else int(thickness)
    color = tuple(int(c) for c in color)
    fixed = np.clip(np.round(np.nan_to_num(boxes)), -(1 << 24), 1 << 24).astype(np.int64)
    font_scale = max(0.35, min(out.shape[:2]) / 900)
    for i, (x1, y1, x2, y2) in enumerate(fixed):  # axis-aligned: crisp integer lines, no anti-aliasing
        cv2.rectangle(out, (int(x1), int(y1)), (int(x2), int(y2)), color, thickness, cv2.LINE_8)
        text = " ".join(
            t for t in ((labels[i] if labels is not None else ""), (f"{sc[i]:.2f}" if sc is not None else "")) if t
        )
        if text:
            org = (int(boxes[i, 0]), max(int(boxes[i, 1]) - 3, 10))
            cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, font_scale, color, 1, cv2.LINE_AA)
    return out


def heatmap_to_color(heatmap: Any, normalize: bool = False, colormap: int = cv2.COLORMAP_JET) -> np.ndarray:
    """(H, W) heatmap -> (H, W, 3) uint8 BGR colour map. Values are clipped to [0, 1] (what MSRA/UDP heatmaps
    hold) unless ``normalize`` rescales min..max to 0..1."""
    hm = _np(heatmap)
    if hm.ndim != 2:
        raise ValueError(f"heatmap_to_color: expected an (H, W) map, got shape {hm.shape}")
    hm = _unit(hm, normalize)
    return cv2.applyColorMap((hm * 255).astype(np.uint8), colormap)


def _unit(hm: np.ndarray, normalize: bool) -> np.ndarray:
    hm = np.nan_to_num(hm.astype(np.float32, copy=False))
    if normalize:
        lo, hi = float(hm.min()), float(hm.max())
        return (hm - lo) / (hi - lo) if hi > lo else np.zeros_like(hm)
    return np.clip(hm, 0.0, 1.0)


def _reduce(heatmaps: Any, who: str) -> np.ndarray:
    hm = _np(heatmaps)
    if hm.ndim == 3:
        hm = hm.max(axis=0) if hm.shape[0] else np.zeros(hm.shape[1:], np.float32)
    if hm.ndim != 2:
        raise ValueError(f"{who}: heatmaps must be (K, H, W) or (H, W), got shape {hm.shape}")
    return hm


def draw_heatmap_overlay(
    img: np.ndarray,
    heatmaps: Any,
    alpha: float = 0.6,
    normalize: bool = False,
    colormap: int = cv2.COLORMAP_JET,
) -> np.ndarray:
    """Blend heatmaps over ``img``: the per-pixel maximum over K, resized to the image, coloured with
    ``colormap`` and mixed in with weight ``alpha * value`` (cold pixels keep the image).

    Args:
        img: (H, W, 3) uint8 BGR.
        heatmaps: (K, h, w) or (h, w); any size (bilinearly resized to (H, W)).
        alpha: opacity of the hottest pixels.
        normalize: rescale the map's min..max to 0..1 instead of clipping to [0, 1].
    """
    img = _check_img(img, "draw_heatmap_overlay")
    hm = _unit(_reduce(heatmaps, "draw_heatmap_overlay"), normalize)
    h, w = img.shape[:2]
    if hm.shape != (h, w):
        hm = cv2.resize(hm, (w, h), interpolation=cv2.INTER_LINEAR)
    color = cv2.applyColorMap((np.clip(hm, 0, 1) * 255).astype(np.uint8), colormap)
    weight = (np.clip(hm, 0, 1) * float(alpha))[..., None]
    return (img.astype(np.float32) * (1.0 - weight) + color.astype(np.float32) * weight + 0.5).astype(np.uint8)


def make_heatmap_grid(
    heatmaps: Any,
    img: np.ndarray | None = None,
    names: Sequence[str] | None = None,
    ncols: int | None = None,
    cell_height: int = 96,
    alpha: float = 0.7,
    normalize: bool = False,
    pad: int = 2,
    colormap: int = cv2.COLORMAP_JET,
) -> np.ndarray:
    """One tile per keypoint heatmap, in a grid, each labelled with its index (and name).

    Args:
        heatmaps: (K, h, w).
        img: optional (H, W, 3) BGR crop shown under each heatmap (e.g. the model input); otherwise the tiles
            are the plain colour maps.
        names: K labels (e.g. ``metainfo['keypoint_id2name']`` values).
        ncols: tiles per row; default ``ceil(sqrt(K))``.
        cell_height: tile height in pixels (the width follows the heatmap's aspect ratio).
        alpha / normalize / colormap: as :func:`draw_heatmap_overlay`.
        pad: pixels between tiles.

    Returns:
        (rows * (cell_h + pad) + pad, ncols * (cell_w + pad) + pad, 3) uint8 BGR.
    """
    hms = _np(heatmaps)
    if hms.ndim != 3:
        raise ValueError(f"make_heatmap_grid: heatmaps must be (K, H, W), got shape {hms.shape}")
    k, h, w = hms.shape
    if names is not None and len(names) != k:
        raise ValueError(f"make_heatmap_grid: {k} heatmaps but {len(names)} names")
    ncols = max(1, int(ncols) if ncols else int(np.ceil(np.sqrt(max(k, 1)))))
    nrows = max(1, int(np.ceil(k / ncols)))
    ch = int(cell_height)
    cw = max(1, int(round(ch * w / max(h, 1))))
    grid = np.full((nrows * (ch + pad) + pad, ncols * (cw + pad) + pad, 3), 32, np.uint8)
    base = None
    if img is not None:
        base = cv2.resize(_check_img(img, "make_heatmap_grid"), (cw, ch), interpolation=cv2.INTER_AREA)
    resized = [_unit(cv2.resize(hm, (cw, ch), interpolation=cv2.INTER_LINEAR), normalize) for hm in hms]
    font_scale = max(0.3, ch / 240)
    for i in range(k):
        r, c = divmod(i, ncols)
        y0, x0 = pad + r * (ch + pad), pad + c * (cw + pad)
        tile = base if base is not None else np.zeros((ch, cw, 3), np.uint8)
        tile = draw_heatmap_overlay(tile, resized[i], alpha=alpha if base is not None else 1.0, colormap=colormap)
        label = str(i) if names is None else f"{i} {names[i]}"
        cv2.putText(
            tile,
            label,
            (2, int(12 * font_scale / 0.3)),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            (255, 255, 255),
            1,
            cv2.LINE_AA,
        )
        grid[y0 : y0 + ch, x0 : x0 + cw] = tile
    return grid
