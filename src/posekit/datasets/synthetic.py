"""A small synthetic COCO-keypoint dataset, generated on disk in seconds: posekit's embedded default.

Each image shows several articulated 3-D stick figures projected orthographically: tapered limbs, a torso with
thickness, a head with hair, eyes, nose, mouth and ears, hands and shoes, in random poses (standing, walking,
free), yaw (front, profile, back), roll, scale and position, over gradient / noise / clutter backgrounds with
limb-like distractors, occluding boxes, blur and noise. The 17 keypoints are COCO's, with COCO's visibility flags:

* ``v=2`` visible; ``v=1`` labelled but hidden (covered by another person, an occluder or the figure's own body,
  or a face point on the side of the head turned away); ``v=0`` unlabelled (``x = y = 0``): outside the image, or a
  face point on the back of the head.

Left and right are told apart the way they are on real people, from the 3-D body: the face (eyes, nose, mouth),
the hair on the back of the head, the shirt's front (placket, buttons, collar, belt buckle), the feet pointing
forward and the depth order of the limbs.
All of these are mirror-consistent, so horizontal-flip augmentation and flip testing stay valid (a colour per side
would not be: a flipped image would show the "left" colour on the labelled right side).

Boxes, areas and masks are amodal (the whole drawn figure, clipped to the image). The detection file of the
validation split holds the ground-truth boxes jittered, with scores, a few misses, duplicates and false positives.

Layout written by :func:`generate_synthetic_coco`::

    out_dir/images/train/000000000001.jpg ...       out_dir/annotations/person_keypoints_train.json
    out_dir/images/val/000001000001.jpg ...         out_dir/annotations/person_keypoints_val.json
                                                    out_dir/annotations/person_detections_val.json

CLI: ``python -m posekit.datasets.synthetic OUT_DIR [--num-train N] [--num-val N] [--image-size W H] [--seed S]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = [
    "COCO_KEYPOINT_NAMES",
    "COCO_SKELETON",
    "SYNTHETIC_VERSION",
    "generate_synthetic_coco",
    "ensure_synthetic_dataset",
    "synthetic_paths",
]

# Bump when the generator's output changes: ensure_synthetic_dataset() then regenerates cached copies.
SYNTHETIC_VERSION = 2

COCO_KEYPOINT_NAMES = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
]
# COCO's person skeleton (1-based keypoint ids), as in person_keypoints_*.json.
COCO_SKELETON = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
    [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
]  # fmt: skip

_DEFAULTS: dict[str, Any] = dict(
    num_train=512,
    num_val=128,
    image_size=(256, 256),
    seed=0,
    min_persons=1,
    max_persons=4,
    occluder_prob=0.5,
    jpeg_quality=92,
)
_MARKER = "synthetic_dataset.json"
_VAL_ID_OFFSET = 1_000_000

# part ids (per figure); the owner buffer stores person * _NPART + part, occluders _OCCLUDER
(TORSO, NECK, HEAD, L_UARM, L_FARM, L_HAND, R_UARM, R_FARM, R_HAND,
 L_THIGH, L_SHIN, L_FOOT, R_THIGH, R_SHIN, R_FOOT, L_EAR, R_EAR) = range(17)  # fmt: skip
_NPART = 32
_OCCLUDER = 30000
# parts a keypoint lies on: the keypoint is visible when one of them is the top-most layer at (or next to) it
_KPT_PARTS = [
    {HEAD}, {HEAD}, {HEAD}, {HEAD, L_EAR}, {HEAD, R_EAR},
    {TORSO, NECK, L_UARM}, {TORSO, NECK, R_UARM}, {L_UARM, L_FARM}, {R_UARM, R_FARM},
    {L_FARM, L_HAND}, {R_FARM, R_HAND}, {TORSO, L_THIGH}, {TORSO, R_THIGH},
    {L_THIGH, L_SHIN}, {R_THIGH, R_SHIN}, {L_SHIN, L_FOOT}, {R_SHIN, R_FOOT},
]  # fmt: skip
# skin tones, RGB -> BGR
_SKIN = np.array([[224, 190, 160], [200, 160, 130], [170, 120, 90], [120, 80, 60], [90, 60, 45], [235, 205, 185]])[
    :, ::-1
]
_SHIFT = 4  # cv2 sub-pixel drawing: coordinates in 1/16 px
_SCALE = 1 << _SHIFT


# ----------------------------------------------------------------------------------------------------------------------
# public API


def synthetic_paths(root: str | os.PathLike) -> dict[str, str]:
    """The files of a synthetic dataset under ``root`` (whether or not they exist).

    Keys: ``root``, ``train_img_dir``, ``val_img_dir``, ``train_ann_file``, ``val_ann_file``, ``val_bbox_file``
    (absolute paths), plus ``train_img_prefix`` / ``val_img_prefix`` / ``train_ann`` / ``val_ann`` / ``val_bbox``
    relative to ``root`` (for ``CocoStyleDataset(data_root=root, ann_file=..., data_prefix={'img': ...})``).
    """
    root = Path(root).expanduser().resolve()
    rel = dict(
        train_img_prefix="images/train/",
        val_img_prefix="images/val/",
        train_ann="annotations/person_keypoints_train.json",
        val_ann="annotations/person_keypoints_val.json",
        val_bbox="annotations/person_detections_val.json",
    )
    return dict(
        root=str(root),
        train_img_dir=str(root / rel["train_img_prefix"]),
        val_img_dir=str(root / rel["val_img_prefix"]),
        train_ann_file=str(root / rel["train_ann"]),
        val_ann_file=str(root / rel["val_ann"]),
        val_bbox_file=str(root / rel["val_bbox"]),
        **rel,
    )


def generate_synthetic_coco(
    out_dir: str | os.PathLike,
    num_train: int = _DEFAULTS["num_train"],
    num_val: int = _DEFAULTS["num_val"],
    image_size: tuple[int, int] = _DEFAULTS["image_size"],
    seed: int = _DEFAULTS["seed"],
    min_persons: int = _DEFAULTS["min_persons"],
    max_persons: int = _DEFAULTS["max_persons"],
    occluder_prob: float = _DEFAULTS["occluder_prob"],
    jpeg_quality: int = _DEFAULTS["jpeg_quality"],
) -> dict[str, str]:
    """Write a synthetic COCO-keypoint dataset into ``out_dir`` (see the module docstring for the layout).

    The output depends only on the arguments: each image is drawn from its own random stream seeded by
    ``(seed, split, index)``. Writing is not atomic; :func:`ensure_synthetic_dataset` is.

    Args:
        out_dir: destination folder (created; existing files with the same names are overwritten).
        num_train / num_val: number of images per split.
        image_size: (w, h) of every image.
        seed: random seed.
        min_persons / max_persons: figures per image (drawn with more weight on 2-3).
        occluder_prob: chance that an image gets occluding boxes over its figures.
        jpeg_quality: JPEG quality of the written images.

    Returns:
        :func:`synthetic_paths` of ``out_dir``.
    """
    w, h = (int(v) for v in image_size)
    if w < 32 or h < 32:
        raise ValueError(f"image_size must be at least (32, 32), got {tuple(image_size)}")
    if num_train < 0 or num_val < 0:
        raise ValueError(f"num_train and num_val must be >= 0, got {num_train} and {num_val}")
    if not 1 <= min_persons <= max_persons:
        raise ValueError(f"need 1 <= min_persons <= max_persons, got {min_persons} and {max_persons}")
    paths = synthetic_paths(out_dir)
    for key in ("train_img_dir", "val_img_dir"):
        Path(paths[key]).mkdir(parents=True, exist_ok=True)
    Path(paths["train_ann_file"]).parent.mkdir(parents=True, exist_ok=True)

    params = dict(min_persons=min_persons, max_persons=max_persons, occluder_prob=occluder_prob)
    for split, num, id_offset in (("train", num_train, 0), ("val", num_val, _VAL_ID_OFFSET)):
        images, annotations, detections = [], [], []
        img_dir = Path(paths[f"{split}_img_dir"])
        for i in range(num):
            img_id = id_offset + i + 1
            rng = np.random.default_rng([int(seed), 0 if split == "train" else 1, i])
            img, persons = _render_image(rng, w, h, **params)
            file_name = f"{img_id:012d}.jpg"
            if not cv2.imwrite(str(img_dir / file_name), img, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]):
                raise OSError(f"could not write {img_dir / file_name}")
            images.append(dict(id=img_id, file_name=file_name, width=w, height=h))
            for p in persons:
                annotations.append(
                    dict(
                        id=id_offset + len(annotations) + 1,
                        image_id=img_id,
                        category_id=1,
                        bbox=p["bbox"],
                        area=p["area"],
                        iscrowd=0,
                        num_keypoints=p["num_keypoints"],
                        keypoints=p["keypoints"],
                        segmentation=p["segmentation"],
                    )
                )
            if split == "val":
                detections.extend(_detections(rng, img_id, persons, w, h))
        coco = dict(
            info=dict(
                description="posekit synthetic stick-figure persons (COCO keypoint format)",
                version=str(SYNTHETIC_VERSION),
                year=2024,
            ),
            licenses=[],
            images=images,
            annotations=annotations,
            categories=[
                dict(
                    supercategory="person",
                    id=1,
                    name="person",
                    keypoints=list(COCO_KEYPOINT_NAMES),
                    skeleton=[list(s) for s in COCO_SKELETON],
                )
            ],
        )
        _write_json(Path(paths[f"{split}_ann_file"]), coco)
        if split == "val":
            _write_json(Path(paths["val_bbox_file"]), detections)
    return paths


def ensure_synthetic_dataset(root: str | os.PathLike, **kwargs: Any) -> dict[str, str]:
    """Generate the synthetic dataset at ``root`` unless it is already there with the same parameters.

    ``kwargs`` are :func:`generate_synthetic_coco`'s. A marker file (``synthetic_dataset.json``) records the
    parameters and the generator version; a dataset is generated into a temporary sibling folder and renamed into
    place, so a crashed or concurrent run never leaves half a dataset at ``root``. A synthetic dataset with other
    parameters at ``root`` is replaced; a non-empty folder without the marker is never touched (error).

    Returns:
        :func:`synthetic_paths` of ``root``.
    """
    unknown = sorted(set(kwargs) - set(_DEFAULTS))
    if unknown:
        raise TypeError(f"ensure_synthetic_dataset: unknown parameter(s) {unknown}; known: {sorted(_DEFAULTS)}")
    params = {**_DEFAULTS, **kwargs}
    params["image_size"] = [int(v) for v in params["image_size"]]
    params["version"] = SYNTHETIC_VERSION
    root = Path(root).expanduser().resolve()
    if _marker_matches(root, params):
        return synthetic_paths(root)
    if root.exists() and not (root / _MARKER).is_file() and any(root.iterdir()):
        raise FileExistsError(
            f"{root} exists and is not a posekit synthetic dataset (no {_MARKER}); refusing to replace it: "
            "choose another root or remove that folder"
        )

    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        gen_kwargs = {k: v for k, v in params.items() if k != "version"}
        generate_synthetic_coco(tmp, **gen_kwargs)
        _write_json(tmp / _MARKER, params)
        if root.exists():
            if _marker_matches(root, params):  # another process finished first
                return synthetic_paths(root)
            old = root.parent / f".{root.name}.old-{uuid.uuid4().hex[:8]}"
            root.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            tmp.rename(root)
        except OSError:
            if not _marker_matches(root, params):  # lost a race against a different generation
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return synthetic_paths(root)


# ----------------------------------------------------------------------------------------------------------------------
# files


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(obj, f, separators=(",", ":"))
    os.replace(tmp, path)


def _marker_matches(root: Path, params: dict) -> bool:
    marker = root / _MARKER
    if not marker.is_file():
        return False
    try:
        old = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    if old != params:
        return False
    paths = synthetic_paths(root)
    return all(Path(paths[k]).exists() for k in ("train_ann_file", "val_ann_file", "val_bbox_file"))


# ----------------------------------------------------------------------------------------------------------------------
# one image


def _render_image(
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
    figures = [_sample_figure(rng, w, h) for _ in range(n)]
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
        kpts = _keypoint_labels(fig, owner, p, w, h)
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
                visible_fraction=float(np.count_nonzero(owner[ys, xs] // _NPART == p)) / len(xs),
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
    owner[ys, xs] = _OCCLUDER


def _finish(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    out = img.astype(np.float32)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 1.1))
    out = out * np.float32(rng.uniform(0.75, 1.2)) + np.float32(rng.uniform(-20, 20))
    out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(rng.uniform(1, 6))
    return np.clip(out, 0, 255).astype(np.uint8)


def _detections(rng: np.random.Generator, img_id: int, persons: list[dict], w: int, h: int) -> list[dict]:
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
# the figure: a 3-D skeleton (l = the figure's left, v = up, f = forward; unit = body height)


def _unit(v: np.ndarray) -> np.ndarray:
    n = float(np.linalg.norm(v))
    return v / n if n > 1e-9 else v


def _perp(d: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The part of ``q`` perpendicular to unit ``d`` (unit length)."""
    p = q - float(q @ d) * d
    if np.linalg.norm(p) < 1e-6:
        p = np.cross(d, np.array([1.0, 0.0, 0.0]))
    return _unit(p)


def _limb_dir(side: float, abduction: float, flexion: float) -> np.ndarray:
    """Direction of a limb hanging down, swung outwards by ``abduction`` and forwards by ``flexion`` (radians)."""
    d = np.array([side * math.sin(abduction), -math.cos(abduction), 0.0])
    cb, sb = math.cos(flexion), math.sin(flexion)
    return np.array([d[0], d[1] * cb + d[2] * sb, -d[1] * sb + d[2] * cb])


def _sample_pose(rng: np.random.Generator) -> dict:
    u = rng.uniform
    mode = rng.choice(3, p=[0.35, 0.3, 0.35])
    if mode == 0:  # standing
        arms = [(u(0.0, 0.6), u(-0.3, 0.5), u(0.0, 0.8)) for _ in range(2)]
        legs = [(u(-0.05, 0.25), u(-0.15, 0.3), u(0.0, 0.3)) for _ in range(2)]
    elif mode == 1:  # walking / running: arms and legs swing in opposition
        swing = u(0.2, 1.0)
        arms = [(u(0.05, 0.3), s * swing, u(0.2, 1.6)) for s in (1, -1)]
        legs = [(u(0.0, 0.15), -s * swing * u(0.6, 1.0), u(0.0, 1.3) if s * swing > 0 else u(0.0, 0.4))
                for s in (1, -1)]  # fmt: skip
    else:  # free: waving, reaching, kicking, crouching
        arms = [(u(0.0, 2.9), u(-0.6, 1.9), u(0.0, 2.4)) for _ in range(2)]
        legs = [(u(-0.1, 0.9), u(-0.5, 1.8), u(0.0, 2.1)) for _ in range(2)]
    return dict(
        arms=arms,
        legs=legs,
        spine_bend=float(np.clip(rng.normal(0.08, 0.15), -0.3, 0.8)),
        spine_side=float(rng.normal(0, 0.08)),
        head_yaw=float(np.clip(rng.normal(0, 0.35), -1.1, 1.1)),
        head_pitch=float(rng.normal(0, 0.15)),
        elbow_bias=[u(-0.6, 0.6), u(-0.6, 0.6)],
    )


def _sample_figure(rng: np.random.Generator, w: int, h: int) -> dict:
    """A random figure: 3-D joints, projection to the image, colours."""
    pose = _sample_pose(rng)
    s = rng.uniform(0.9, 1.12, 8)
    sw, hw = 0.115 * s[0], 0.08 * s[1]
    torso_len, head_r = 0.29 * s[2], 0.062 * s[3]
    l_uarm, l_farm, l_thigh, l_shin = 0.165 * s[4], 0.145 * s[4], 0.24 * s[5], 0.235 * s[5]

    pelvis = np.zeros(3)
    up = _unit(np.array([math.sin(pose["spine_side"]), math.cos(pose["spine_bend"]), math.sin(pose["spine_bend"])]))
    neck = pelvis + torso_len * up
    lat = _unit(np.cross(up, np.array([0.0, 0.0, 1.0])))  # the figure's left (= up x forward)
    fwd = _unit(np.cross(lat, up))
    shoulders = [neck + sd * sw * lat - 0.025 * up for sd in (1, -1)]
    hips = [pelvis + sd * hw * np.array([1.0, 0.0, 0.0]) for sd in (1, -1)]

    # head frame: turned by head_yaw about the spine, pitched by head_pitch
    cy_, sy_ = math.cos(pose["head_yaw"]), math.sin(pose["head_yaw"])
    h_fwd = _unit(cy_ * fwd + sy_ * lat)
    h_lat = _unit(np.cross(up, h_fwd))
    h_up = _unit(up * math.cos(pose["head_pitch"]) + h_fwd * math.sin(pose["head_pitch"]))
    head = neck + (0.045 + head_r) * up
    face = dict(
        nose=(head + head_r * (0.97 * h_fwd - 0.15 * h_up), _unit(0.97 * h_fwd - 0.15 * h_up)),
        l_eye=(head + head_r * (0.78 * h_fwd + 0.38 * h_lat + 0.2 * h_up), _unit(0.8 * h_fwd + 0.45 * h_lat)),
        r_eye=(head + head_r * (0.78 * h_fwd - 0.38 * h_lat + 0.2 * h_up), _unit(0.8 * h_fwd - 0.45 * h_lat)),
        l_ear=(head + head_r * (0.98 * h_lat - 0.08 * h_fwd), _unit(h_lat - 0.15 * h_fwd)),
        r_ear=(head + head_r * (-0.98 * h_lat - 0.08 * h_fwd), _unit(-h_lat - 0.15 * h_fwd)),
        mouth=(head + head_r * (0.9 * h_fwd - 0.5 * h_up), _unit(0.9 * h_fwd - 0.4 * h_up)),
    )

    arms = []
    for side, (abd, flex, bend), bias, sh in zip((1, -1), pose["arms"], pose["elbow_bias"], shoulders):
        d1 = _limb_dir(side, abd, flex)
        elbow = sh + l_uarm * d1
        d2 = _unit(math.cos(bend) * d1 + math.sin(bend) * _perp(d1, np.array([-side * 0.3 + bias, 0.3, 1.0])))
        arms.append((sh, elbow, elbow + l_farm * d2))
    legs, feet = [], []
    for side, (abd, flex, bend), hp in zip((1, -1), pose["legs"], hips):
        d3 = _limb_dir(side, abd, flex)
        knee = hp + l_thigh * d3
        d4 = _unit(math.cos(bend) * d3 + math.sin(bend) * _perp(d3, np.array([0.0, 0.0, -1.0])))
        ankle = knee + l_shin * d4
        legs.append((hp, knee, ankle))
        feet.append(ankle + 0.075 * _unit(_perp(d4, np.array([side * 0.15, 0.0, 1.0]))))

    # 17 COCO keypoints in 3-D
    k3 = np.stack(
        [face["nose"][0], face["l_eye"][0], face["r_eye"][0], face["l_ear"][0], face["r_ear"][0],
         arms[0][0], arms[1][0], arms[0][1], arms[1][1], arms[0][2], arms[1][2],
         legs[0][0], legs[1][0], legs[0][1], legs[1][1], legs[0][2], legs[1][2]]
    )  # fmt: skip

    # view: yaw about the vertical axis (front / profile / back), roll in the image plane
    r = rng.random()
    if r < 0.5:
        yaw = rng.normal(0, 0.45)
    elif r < 0.75:
        yaw = rng.choice([-1, 1]) * rng.uniform(0.9, 2.2)
    else:
        yaw = math.pi + rng.normal(0, 0.45)
    roll = rng.normal(0, 0.15) if rng.random() < 0.92 else rng.uniform(-1.8, 1.8)
    cyw, syw = math.cos(yaw), math.sin(yaw)
    cr, sr = math.cos(roll), math.sin(roll)

    def project(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = np.atleast_2d(p)
        x = p[:, 0] * cyw + p[:, 2] * syw
        y = -p[:, 1]
        depth = p[:, 2] * cyw - p[:, 0] * syw
        return np.stack([x * cr - y * sr, x * sr + y * cr], axis=1), depth

    def depth_of(direction: np.ndarray) -> float:
        return float(direction[2] * cyw - direction[0] * syw)

    def cam_dir(direction: np.ndarray) -> np.ndarray:
        """A body-frame direction in camera space: (image x, image y, depth towards the camera)."""
        (x, y), d = project(direction)[0][0], depth_of(direction)
        return np.array([x, y, d])

    everything = np.concatenate([k3, np.stack(feet), head[None] + head_r * np.array([[0, 1.0, 0]])])
    xy, _ = project(everything)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    height_px = h * math.exp(rng.uniform(math.log(0.32), math.log(0.92)))
    extent = max(float((hi - lo).max()), 0.3)
    scale = height_px / extent
    if rng.random() < 0.85:
        cx, cy = rng.uniform(0.12, 0.88) * w, rng.uniform(0.3, 0.7) * h
    else:  # partly out of the image
        cx, cy = rng.uniform(-0.15, 1.15) * w, rng.uniform(0.1, 1.0) * h
    offset = np.array([cx, cy]) - 0.5 * (lo + hi) * scale

    def to_img(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        q, d = project(p)
        return q * scale + offset, d

    skin = _SKIN[rng.integers(0, len(_SKIN))] + rng.normal(0, 8, 3)
    shirt = rng.integers(0, 256, 3).astype(np.float64)
    pants = rng.integers(0, 200, 3).astype(np.float64)
    colors = dict(
        skin=skin,
        shirt=shirt,
        sleeve=shirt if rng.random() < 0.6 else skin,
        forearm=shirt if rng.random() < 0.3 else skin,
        pants=pants,
        shin=pants if rng.random() < 0.7 else skin,
        shoes=rng.integers(0, 90, 3).astype(np.float64),
        hair=rng.integers(0, 110, 3).astype(np.float64) * rng.uniform(0.3, 1.0),
        collar=255 - shirt,
        panel=shirt * 0.35 + 255 * 0.65 if shirt.mean() < 128 else shirt * 0.4,
        stripes=rng.random() < 0.3,
    )

    kpts2d, kdepth = to_img(k3)
    return dict(
        scale=scale,
        height_px=height_px,
        colors=colors,
        kpts2d=kpts2d,
        kdepth=kdepth,
        pts2d=to_img(everything)[0],
        to_img=to_img,
        depth_of=depth_of,
        head=to_img(head),
        head_r=head_r * scale,
        head_axes=(cam_dir(h_fwd), cam_dir(h_up)),
        face={k: (to_img(p), depth_of(n)) for k, (p, n) in face.items()},
        neck=to_img(neck),
        torso3d=(shoulders, hips, fwd, sw, hw),
        arms=[to_img(np.stack(a)) for a in arms],
        legs=[to_img(np.stack(lg)) for lg in legs],
        feet=[to_img(f) for f in feet],
        chest_facing=depth_of(fwd),
        front_panel=to_img(
            np.stack(
                [
                    neck - 0.03 * up + 0.035 * lat + 0.057 * fwd,
                    neck - 0.03 * up - 0.035 * lat + 0.057 * fwd,
                    pelvis + 0.03 * up - 0.03 * lat + 0.052 * fwd,
                    pelvis + 0.03 * up + 0.03 * lat + 0.052 * fwd,
                ]
            )
        )[0],
        buckle=to_img(
            np.stack(
                [
                    pelvis + d1 * 0.022 * lat + d2 * 0.014 * up + 0.06 * fwd
                    for d1, d2 in ((1, 1), (-1, 1), (-1, -1), (1, -1))
                ]
            )
        )[0],
        limb_r=dict(uarm=0.034 * scale, farm=0.028 * scale, thigh=0.05 * scale, shin=0.038 * scale),
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
    base = p * _NPART
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


# ----------------------------------------------------------------------------------------------------------------------
# labels


def _keypoint_labels(fig: dict, owner: np.ndarray, p: int, w: int, h: int) -> np.ndarray:
    """(17, 3) COCO keypoints [x, y, v] of figure ``p`` after everything is drawn."""
    xy = fig["kpts2d"]
    out = np.zeros((17, 3), dtype=np.float64)
    face_nz = [fig["face"][k][1] for k in ("nose", "l_eye", "r_eye", "l_ear", "r_ear")]
    # thresholds on how far a face point is turned away (normal's depth): unlabelled / hidden
    face_thr = [(-0.2, 0.1), (-0.3, 0.1), (-0.3, 0.1), (-0.55, -0.2), (-0.55, -0.2)]
    for k in range(17):
        x, y = float(xy[k, 0]), float(xy[k, 1])
        if not (0 <= x < w and 0 <= y < h):
            continue  # outside the image: unlabelled
        v = 2
        if k < 5:
            nz = face_nz[k]
            lo, hi = face_thr[k]
            if nz < lo:
                continue  # on the back of the head: unlabelled
            if nz < hi:
                v = 1
        if v == 2:
            xi, yi = int(round(x)), int(round(y))
            win = owner[max(yi - 1, 0) : yi + 2, max(xi - 1, 0) : xi + 2]
            mine = (win // _NPART == p) & (win >= 0) & (win < _OCCLUDER)
            if not np.isin(win[mine] % _NPART, list(_KPT_PARTS[k])).any():
                v = 1  # covered by another figure, an occluder or the figure's own nearer parts
        out[k] = (x, y, v)
    return out


# ----------------------------------------------------------------------------------------------------------------------
# CLI


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m posekit.datasets.synthetic", description="Write posekit's synthetic COCO-keypoint dataset."
    )
    parser.add_argument("out_dir", help="destination folder")
    parser.add_argument("--num-train", type=int, default=_DEFAULTS["num_train"])
    parser.add_argument("--num-val", type=int, default=_DEFAULTS["num_val"])
    parser.add_argument("--image-size", type=int, nargs=2, metavar=("W", "H"), default=list(_DEFAULTS["image_size"]))
    parser.add_argument("--seed", type=int, default=_DEFAULTS["seed"])
    parser.add_argument("--min-persons", type=int, default=_DEFAULTS["min_persons"])
    parser.add_argument("--max-persons", type=int, default=_DEFAULTS["max_persons"])
    parser.add_argument("--occluder-prob", type=float, default=_DEFAULTS["occluder_prob"])
    parser.add_argument("--jpeg-quality", type=int, default=_DEFAULTS["jpeg_quality"])
    parser.add_argument("--force", action="store_true", help="regenerate even if the same dataset is there")
    args = parser.parse_args(argv)
    kwargs = dict(
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=tuple(args.image_size),
        seed=args.seed,
        min_persons=args.min_persons,
        max_persons=args.max_persons,
        occluder_prob=args.occluder_prob,
        jpeg_quality=args.jpeg_quality,
    )
    if args.force:
        marker = Path(args.out_dir) / _MARKER
        if marker.is_file():
            marker.unlink()
    paths = ensure_synthetic_dataset(args.out_dir, **kwargs)
    print(json.dumps(paths, indent=2))


if __name__ == "__main__":
    main()
