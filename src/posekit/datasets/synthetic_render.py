"""Rendering of one synthetic image: background, figures (:mod:`~posekit.datasets.synthetic_figure`), occluders,
finishing noise, plus detector-like boxes for it.

:func:`render_image` returns the BGR image and the per-figure COCO annotations; :func:`detections` the jittered
detection boxes of the validation split. The dataset API that writes files is :mod:`posekit.datasets.synthetic`.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from .synthetic_figure import (
    HEAD,
    L_EAR,
    L_FARM,
    L_FOOT,
    L_HAND,
    L_SHIN,
    L_THIGH,
    L_UARM,
    NECK,
    NPART,
    OCCLUDER,
    R_EAR,
    R_FARM,
    R_FOOT,
    R_HAND,
    R_SHIN,
    R_THIGH,
    R_UARM,
    TORSO,
    keypoint_labels,
    sample_figure,
)

__all__ = ["render_image", "detections"]

_SHIFT = 4  # cv2 sub-pixel drawing: coordinates in 1/16 px
_SCALE = 1 << _SHIFT


# ----------------------------------------------------------------------------------------------------------------------
# one image


def render_image(
    rng: np.random.Generator,
    w: int,
    h: int,
    min_persons: int,
    max_persons: int,
    occluder_prob: float,
    draw_figures: bool = True,
) -> tuple[np.ndarray, list[dict]]:
    """Draw one image; returns (BGR uint8 image, per-figure annotations).

    ``draw_figures=False`` draws the same image without the figures' pixels (same random stream, same labels):
    a check that labelled keypoints lie on drawn figures.
    """
    img = _background(rng, w, h)
    owner = np.full((h, w), -1, dtype=np.int32)

    counts = np.arange(min_persons, max_persons + 1)
    weights = np.exp(-0.5 * ((counts - 2.3) / 1.2) ** 2)
    n = int(rng.choice(counts, p=weights / weights.sum()))
    figures = [sample_figure(rng, w, h) for _ in range(n)]
    figures.sort(key=lambda f: f["height_px"] + rng.normal(0, 0.15) * f["height_px"])  # far (small) first

    occluders = []
    if rng.random() < occluder_prob:
        occluders = [int(rng.integers(0, n)) for _ in range(int(rng.integers(1, 3)))]

    masks = []
    for p, fig in enumerate(figures):
        mask = np.zeros((h, w), dtype=np.uint8)
        _draw_figure(img if draw_figures else img.copy(), owner, mask, fig, p)
        masks.append(mask)
        for target in occluders:
            if target == p:
                _draw_occluder(rng, img, owner, fig, w, h)

    persons = []
    for p, fig in enumerate(figures):
        kpts = keypoint_labels(fig, owner, p, w, h)
        ys, xs = np.nonzero(masks[p])
        if len(xs) == 0:
            continue
        x0, y0, x1, y1 = float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1)
        persons.append(
            dict(
                keypoints=[round(float(v), 2) if j % 3 != 2 else int(v) for j, v in enumerate(kpts.reshape(-1))],
                num_keypoints=int(np.count_nonzero(kpts[:, 2] > 0)),
                bbox=[x0, y0, x1 - x0, y1 - y0],
                area=float(len(xs)),
                segmentation=_rle(masks[p]),
                visible_fraction=float(np.count_nonzero(owner[ys, xs] // NPART == p)) / len(xs),
            )
        )
    img = _finish(rng, img)
    return img, persons


def _rle(mask: np.ndarray) -> dict:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask))
    return dict(size=[int(v) for v in rle["size"]], counts=rle["counts"].decode("ascii"))


# ----------------------------------------------------------------------------------------------------------------------
# backgrounds, occluders, finishing


def _background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = (xx * math.cos(angle) + yy * math.sin(angle)) / max(w, h)
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-6)
    c0, c1 = rng.uniform(20, 235, 3).astype(np.float32), rng.uniform(20, 235, 3).astype(np.float32)
    img = c0 + t[..., None] * (c1 - c0)
    # low-frequency colour blobs
    cells = int(rng.integers(3, 9))
    small = rng.standard_normal((cells, cells, 3), dtype=np.float32) * np.float32(rng.uniform(8, 40))
    img += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    img = np.clip(img, 0, 255).astype(np.uint8)

    # clutter: boxes, discs, lines, and limb-like capsules (distractors)
    for _ in range(int(rng.integers(2, 10))):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        kind = rng.integers(0, 4)
        cx, cy = rng.uniform(-0.1, 1.1) * w, rng.uniform(-0.1, 1.1) * h
        size = rng.uniform(0.03, 0.3) * min(w, h)
        if kind == 0:
            pts = _rotated_rect(cx, cy, size, size * rng.uniform(0.3, 1.5), rng.uniform(0, np.pi))
            cv2.fillConvexPoly(img, _fix(pts), color, cv2.LINE_AA, _SHIFT)
        elif kind == 1:
            cv2.circle(img, _fix([cx, cy]), int(size * 0.5 * _SCALE), color, -1, cv2.LINE_AA, _SHIFT)
        elif kind == 2:
            ang = rng.uniform(0, np.pi)
            d = np.array([math.cos(ang), math.sin(ang)]) * size * 1.5
            cv2.line(img, _fix([cx, cy] - d), _fix([cx, cy] + d), color, int(rng.integers(1, 4)), cv2.LINE_AA, _SHIFT)
        else:
            ang = rng.uniform(0, 2 * np.pi)
            d = np.array([math.cos(ang), math.sin(ang)]) * size
            r = size * rng.uniform(0.12, 0.25)
            _capsule(img, None, None, np.array([cx, cy]), np.array([cx, cy]) + d, r, r * 0.8, color, 0)
    if rng.random() < 0.5:  # fine texture
        noise = rng.standard_normal(img.shape, dtype=np.float32) * np.float32(rng.uniform(2, 8))
        img = np.clip(img + noise, 0, 255).astype(np.uint8)
    return img


def _draw_occluder(rng: np.random.Generator, img: np.ndarray, owner: np.ndarray, fig: dict, w: int, h: int) -> None:
    """An opaque textured box or disc over part of ``fig``."""
    pts = fig["pts2d"]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    span = max(float((hi - lo).max()), 8.0)
    cx, cy = rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1])
    bw, bh = span * rng.uniform(0.15, 0.45), span * rng.uniform(0.15, 0.45)
    color = rng.integers(0, 256, 3)
    layer = np.zeros((h, w), dtype=np.uint8)
    if rng.random() < 0.7:
        poly = _fix(_rotated_rect(cx, cy, bw, bh, rng.uniform(-0.4, 0.4)))
        cv2.fillConvexPoly(layer, poly, 1, cv2.LINE_8, _SHIFT)
    else:
        cv2.ellipse(layer, _fix([cx, cy]), (int(bw * _SCALE / 2), int(bh * _SCALE / 2)), 0, 0, 360, 1, -1,
                    cv2.LINE_8, _SHIFT)  # fmt: skip
    m = layer.astype(bool)
    if not m.any():
        return
    ys, xs = np.nonzero(m)
    tex = color[None].astype(np.float32) + rng.normal(0, 12, (len(xs), 3))
    if rng.random() < 0.5:  # stripes
        period = rng.uniform(4, 12)
        stripe = (((xs + ys * rng.uniform(-1, 1)) // period) % 2)[:, None]
        tex = tex * (1 - 0.35 * stripe)
    img[ys, xs] = np.clip(tex, 0, 255).astype(np.uint8)
    owner[ys, xs] = OCCLUDER


def _finish(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    out = img.astype(np.float32)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.1))
    out = out * np.float32(rng.uniform(0.75, 1.2)) + np.float32(rng.uniform(-20, 20))
    out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(rng.uniform(1, 6))
    return np.clip(out, 0, 255).astype(np.uint8)


def detections(rng: np.random.Generator, img_id: int, persons: list[dict], w: int, h: int) -> list[dict]:
    """Detector-like boxes: jittered ground truth (some missed, some doubled) plus false positives."""
    dets = []
    for p in persons:
        x, y, bw, bh = p["bbox"]
        if bw < 4 or bh < 4 or rng.random() < 0.05:
            continue
        for dup in range(2 if rng.random() < 0.1 else 1):
            jit = rng.normal(0, 0.06 if dup == 0 else 0.15, 4) * [bw, bh, bw, bh]
            x0, y0 = max(0.0, x + jit[0]), max(0.0, y + jit[1])
            x1, y1 = min(float(w), x + bw + jit[2]), min(float(h), y + bh + jit[3])
            if x1 - x0 < 2 or y1 - y0 < 2:
                continue
            score = 0.45 + 0.5 * p["visible_fraction"] + rng.normal(0, 0.05) - 0.3 * dup
            dets.append(_det(img_id, x0, y0, x1, y1, float(np.clip(score, 0.05, 0.999))))
    for _ in range(int(rng.integers(0, 3))):
        bw, bh = rng.uniform(0.1, 0.4) * w, rng.uniform(0.2, 0.7) * h
        x0, y0 = rng.uniform(0, w - bw), rng.uniform(0, h - bh)
        dets.append(_det(img_id, x0, y0, x0 + bw, y0 + bh, float(rng.uniform(0.05, 0.55))))
    return dets


def _det(img_id: int, x0: float, y0: float, x1: float, y1: float, score: float) -> dict:
    return dict(
        image_id=img_id,
        category_id=1,
        bbox=[round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)],
        score=round(score, 4),
    )


# ----------------------------------------------------------------------------------------------------------------------
# drawing


def _fix(pts: Any) -> np.ndarray:
    """Float pixel coordinates -> cv2 fixed-point (1/16 px) int32 points."""
    a = np.round(np.asarray(pts, dtype=np.float64) * _SCALE).astype(np.int32)
    return a if a.ndim > 1 else tuple(int(v) for v in a)


def _rotated_rect(cx: float, cy: float, w: float, h: float, angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) * 0.5
    return corners @ np.array([[c, s], [-s, c]]) + [cx, cy]


def _col(c: Any) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.clip(np.asarray(c, dtype=np.float64), 0, 255))


def _capsule(img, owner, mask, p0, p1, r0, r1, color, label, shade: bool = True) -> None:
    """A tapered capsule p0 -> p1 (radii r0, r1): the shape of a limb. Also paints ``owner`` / ``mask``."""
    p0, p1 = np.asarray(p0, dtype=np.float64).reshape(2), np.asarray(p1, dtype=np.float64).reshape(2)
    d = p1 - p0
    n = np.array([-d[1], d[0]]) / max(float(np.linalg.norm(d)), 1e-6)
    poly = np.stack([p0 + n * r0, p1 + n * r1, p1 - n * r1, p0 - n * r0])
    targets = [(img, _col(color), cv2.LINE_AA)]
    if owner is not None:
        targets.append((owner, int(label), cv2.LINE_8))
    if mask is not None:
        targets.append((mask, 1, cv2.LINE_8))
    for canvas, value, line in targets:
        cv2.fillConvexPoly(canvas, _fix(poly), value, line, _SHIFT)
        cv2.circle(canvas, _fix(p0), max(int(r0 * _SCALE), 1), value, -1, line, _SHIFT)
        cv2.circle(canvas, _fix(p1), max(int(r1 * _SCALE), 1), value, -1, line, _SHIFT)
    if shade and min(r0, r1) > 2.5:  # a highlight stripe: round, shaded look
        k = 0.35
        hp = np.stack([p0 + n * r0 * 0.55, p1 + n * r1 * 0.55, p1 + n * r1 * (0.55 - k), p0 + n * r0 * (0.55 - k)])
        cv2.fillConvexPoly(img, _fix(hp), _col(np.asarray(color) * 0.75 + 255 * 0.25), cv2.LINE_AA, _SHIFT)
        sp = np.stack([p0 - n * r0 * 0.6, p1 - n * r1 * 0.6, p1 - n * r1 * 0.95, p0 - n * r0 * 0.95])
        cv2.fillConvexPoly(img, _fix(sp), _col(np.asarray(color) * 0.7), cv2.LINE_AA, _SHIFT)


def _disc(img, owner, mask, c, r, color, label) -> None:
    c = np.asarray(c, dtype=np.float64).reshape(2)
    cv2.circle(img, _fix(c), max(int(r * _SCALE), 1), _col(color), -1, cv2.LINE_AA, _SHIFT)
    if owner is not None:
        cv2.circle(owner, _fix(c), max(int(r * _SCALE), 1), int(label), -1, cv2.LINE_8, _SHIFT)
    if mask is not None:
        cv2.circle(mask, _fix(c), max(int(r * _SCALE), 1), 1, -1, cv2.LINE_8, _SHIFT)


def _draw_figure(img: np.ndarray, owner: np.ndarray, mask: np.ndarray, fig: dict, p: int) -> None:
    col, lr = fig["colors"], fig["limb_r"]
    base = p * NPART
    parts: list[tuple[float, Any]] = []  # (depth, draw callable), drawn far to near

    # torso: convex hull of the shoulder and hip corners given a chest thickness
    shoulders, hips, fwd, _, _ = fig["torso3d"]
    corners = []
    for q, th in [(s_, 0.055) for s_ in shoulders] + [(h_, 0.05) for h_ in hips]:
        for sign in (1, -1):
            corners.append(q + sign * th * fwd)
    torso_xy, torso_d = fig["to_img"](np.stack(corners))
    hull = cv2.convexHull(torso_xy.astype(np.float32)).reshape(-1, 2)
    torso_depth = float(torso_d.mean())

    def draw_torso() -> None:
        cv2.fillConvexPoly(img, _fix(hull), _col(col["shirt"]), cv2.LINE_AA, _SHIFT)
        cv2.fillConvexPoly(owner, _fix(hull), base + TORSO, cv2.LINE_8, _SHIFT)
        cv2.fillConvexPoly(mask, _fix(hull), 1, cv2.LINE_8, _SHIFT)
        if col["stripes"]:
            _stripes(img, hull, col["shirt"])
        # pelvis band in trouser colour
        hip_xy = fig["kpts2d"][11:13]
        _capsule(img, owner, mask, hip_xy[0], hip_xy[1], lr["thigh"], lr["thigh"], col["pants"], base + TORSO, False)
        if fig["chest_facing"] > 0.1:  # the shirt's front: placket with buttons, belt buckle
            panel = fig["front_panel"]
            cv2.fillConvexPoly(img, _fix(panel), _col(col["panel"]), cv2.LINE_AA, _SHIFT)
            top, bottom = 0.5 * (panel[0] + panel[1]), 0.5 * (panel[2] + panel[3])
            for t in (0.2, 0.45, 0.7):
                _disc(img, None, None, top + t * (bottom - top), max(lr["farm"] * 0.22, 0.6), col["panel"] * 0.3, 0)
            cv2.fillConvexPoly(img, _fix(fig["buckle"]), (40, 200, 235), cv2.LINE_AA, _SHIFT)
        if fig["chest_facing"] > 0.15:  # the collar is on the front only
            neck_xy = fig["neck"][0][0]
            sh = fig["kpts2d"][5:7]
            v = np.stack([neck_xy + 0.35 * (sh[0] - neck_xy), neck_xy + 0.35 * (sh[1] - neck_xy)])
            tip = neck_xy + 0.35 * (0.5 * (hip_xy[0] + hip_xy[1]) - neck_xy) * 0.4
            cv2.fillConvexPoly(img, _fix(np.stack([v[0], v[1], tip])), _col(col["collar"]), cv2.LINE_AA, _SHIFT)

    parts.append((torso_depth, draw_torso))

    # neck + head (+ hair, face, ears)
    head_xy, head_d = fig["head"]
    neck_xy = fig["neck"][0][0]
    hr = fig["head_r"]
    ears = []
    for name, label in (("l_ear", L_EAR), ("r_ear", R_EAR)):
        (exy, _), nz = fig["face"][name]
        ears.append((nz, exy[0], label))

    def draw_head() -> None:
        _capsule(img, owner, mask, neck_xy, head_xy[0], hr * 0.42, hr * 0.42, col["skin"], base + NECK, False)
        for nz, exy, label in ears:  # ears behind the head silhouette
            if nz <= 0.3:
                _disc(img, owner, mask, exy, hr * 0.24, col["skin"] * 0.92, base + label)
        _disc(img, owner, mask, head_xy[0], hr, col["skin"], base + HEAD)
        _hair(img, head_xy[0], hr, *fig["head_axes"], col["hair"])
        f = fig["face"]
        for eye in ("l_eye", "r_eye"):
            (exy, _), nz = f[eye]
            if nz > 0.1:
                _disc(img, None, None, exy[0], max(hr * 0.2, 0.8), (30, 25, 20), 0)
        (nxy, _), nz = f["nose"]
        if nz > 0.1:
            _disc(img, None, None, nxy[0], max(hr * 0.14, 0.7), col["skin"] * 0.7, 0)
        (mxy, _), nz = f["mouth"]
        if nz > 0.35:
            d = (f["l_eye"][0][0][0] - f["r_eye"][0][0][0]) * 0.35
            cv2.line(img, _fix(mxy[0] - d), _fix(mxy[0] + d), _col((60, 40, 150)), 1, cv2.LINE_AA, _SHIFT)
        for nz, exy, label in ears:  # an ear turned towards the camera lies on the head
            if nz > 0.3:
                _disc(img, owner, mask, exy, hr * 0.24, col["skin"] * 0.92, base + label)

    parts.append((float(head_d[0]), draw_head))

    # limbs
    for side, (uarm, farm, hand), (thigh, shin, foot) in (
        (0, (L_UARM, L_FARM, L_HAND), (L_THIGH, L_SHIN, L_FOOT)),
        (1, (R_UARM, R_FARM, R_HAND), (R_THIGH, R_SHIN, R_FOOT)),
    ):
        a_xy, a_d = fig["arms"][side]
        l_xy, l_d = fig["legs"][side]
        f_xy, f_d = fig["feet"][side]

        def draw_arm(a_xy=a_xy, uarm=uarm, farm=farm, hand=hand) -> None:
            _capsule(img, owner, mask, a_xy[0], a_xy[1], lr["uarm"] * 1.1, lr["uarm"], col["sleeve"], base + uarm)
            _capsule(img, owner, mask, a_xy[1], a_xy[2], lr["farm"], lr["farm"] * 0.8, col["forearm"], base + farm)
            _disc(img, owner, mask, a_xy[2], lr["farm"] * 1.15, col["skin"], base + hand)

        def draw_leg(l_xy=l_xy, f_xy=f_xy, thigh=thigh, shin=shin, foot=foot) -> None:
            _capsule(img, owner, mask, l_xy[0], l_xy[1], lr["thigh"], lr["thigh"] * 0.8, col["pants"], base + thigh)
            _capsule(img, owner, mask, l_xy[1], l_xy[2], lr["shin"], lr["shin"] * 0.75, col["shin"], base + shin)
            _capsule(img, owner, mask, l_xy[2], f_xy[0], lr["shin"] * 0.7, lr["shin"] * 0.55, col["shoes"],
                     base + foot, False)  # fmt: skip

        # a limb is in front of the torso when its mean depth is (nearly) in front of the torso's
        arm_depth = float(a_d[1:].mean())
        leg_depth = float(np.concatenate([l_d[1:], f_d]).mean())
        parts.append((arm_depth + (1e-3 if arm_depth >= torso_depth - 0.01 else 0) + 2e-3, draw_arm))
        parts.append((leg_depth + (1e-3 if leg_depth >= torso_depth - 0.01 else 0), draw_leg))

    for _, draw in sorted(parts, key=lambda t: t[0]):
        draw()


def _hair(img: np.ndarray, head_c, head_r: float, fwd_c: np.ndarray, up_c: np.ndarray, color) -> None:
    """Hair on the visible half of the head sphere: the top and everything facing backwards.

    ``fwd_c`` / ``up_c`` are the head's forward / up axes in camera space (x, y, depth towards the camera).
    """
    h, w = img.shape[:2]
    x0, y0 = int(max(math.floor(head_c[0] - head_r - 1), 0)), int(max(math.floor(head_c[1] - head_r - 1), 0))
    x1, y1 = int(min(math.ceil(head_c[0] + head_r + 2), w)), int(min(math.ceil(head_c[1] + head_r + 2), h))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    dx, dy = (xx - head_c[0]) / head_r, (yy - head_c[1]) / head_r
    rr = dx * dx + dy * dy
    dz = np.sqrt(np.clip(1.0 - rr, 0.0, None))  # the sphere's normal at each pixel: (dx, dy, dz)
    along_fwd = dx * fwd_c[0] + dy * fwd_c[1] + dz * fwd_c[2]
    along_up = dx * up_c[0] + dy * up_c[1] + dz * up_c[2]
    m = (rr <= 1.0) & ((along_up > 0.45) | (along_fwd < 0.0))
    img[y0:y1, x0:x1][m] = _col(color)


def _stripes(img: np.ndarray, hull: np.ndarray, color) -> None:
    h, w = img.shape[:2]
    x0, y0 = np.floor(hull.min(axis=0)).astype(int)
    x1, y1 = np.ceil(hull.max(axis=0)).astype(int) + 1
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return
    local = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
    cv2.fillConvexPoly(local, _fix(hull - [x0, y0]), 1, cv2.LINE_8, _SHIFT)
    yy = np.arange(y0, y1)[:, None]
    band = ((yy // 3) % 2 == 0) & local.astype(bool)
    patch = img[y0:y1, x0:x1]
    patch[band] = _col(np.asarray(color) * 0.6)
