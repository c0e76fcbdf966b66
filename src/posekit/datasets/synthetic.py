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

This module is the dataset API (paths, generation, caching, CLI); the figure model is
:mod:`posekit.datasets.synthetic_figure` and the drawing :mod:`posekit.datasets.synthetic_render`.

CLI: ``python -m posekit.datasets.synthetic OUT_DIR [--num-train N] [--num-val N] [--image-size W H] [--seed S]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .synthetic_render import detections as _detections
from .synthetic_render import render_image as _render_image

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
