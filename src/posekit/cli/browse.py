"""Render a dataset's samples after its data pipeline: the crop with its keypoints and the target heatmaps.

Use it to check a custom dataset's annotations (``mode=original``) and what the augmentation and the codec make
of them (``mode=transformed``, the default). MMPose's ``tools/misc/browse_dataset.py``, with posekit configs.

Usage::

    posekit-browse data=synthetic num=8 output_dir=outputs/browse
    posekit-browse data=coco paths.data_dir=/data split=val model=rtmpose_m heatmaps=both
    posekit-browse ann_file=my/ann.json img_dir=my/images metainfo=my_meta.yaml num=16

Options (key=value):
    data=NAME            a data config (conf/data/NAME.yaml); default: the training default (synthetic)
    model=NAME           the model config whose codec encodes the targets (input size, heatmap size); default tiny
    split=train|val      which dataset and pipeline (train: with augmentation)                     [train]
    num=8                how many samples to draw
    start=0              first sample index; with shuffle=true, the seed of a random choice instead
    shuffle=false        draw a random choice of samples
    mode=transformed     transformed (after the pipeline) | original (the annotation on the image)
    heatmaps=overlay     overlay | grid | both | none (target heatmaps; SimCC targets are shown as x*y maps)
    output_dir=DIR       where to write the pictures                             [outputs/browse_<data>_<split>]
    ann_file=, img_dir=  browse a COCO-style annotation file directly (with metainfo=, default coco)
    config_dir=DIR       your own config folder (model/, data/ ...), searched before the packaged conf/
Any other key=value is a Hydra override of the composed training config (e.g. data.synthetic.num_train=16).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from posekit.cli._common import fail, parse_key_values

PROG = "posekit-browse"
OWN = {
    "config_dir",
    "data",
    "model",
    "split",
    "num",
    "start",
    "shuffle",
    "mode",
    "heatmaps",
    "output_dir",
    "ann_file",
    "img_dir",
    "metainfo",
    "seed",
}


def _fail(msg: str) -> None:
    fail(PROG, msg)


def parse(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    own, overrides = parse_key_values(argv, PROG, __doc__, OWN, allow_overrides=True)
    if own.get("split", "train") not in ("train", "val", "test"):
        _fail(f"split={own['split']!r}: use train, val or test")
    if own.get("mode", "transformed") not in ("transformed", "original"):
        _fail(f"mode={own['mode']!r}: use transformed or original")
    if own.get("heatmaps", "overlay") not in ("overlay", "grid", "both", "none"):
        _fail(f"heatmaps={own['heatmaps']!r}: use overlay, grid, both or none")
    if bool(own.get("ann_file")) != bool(own.get("img_dir")):
        _fail("ann_file= and img_dir= go together")
    return own, overrides


def compose_config(own: dict[str, str], overrides: list[str]):
    """The training config (conf/train.yaml) with ``data=``, ``model=`` and the user's overrides."""
    from posekit.config import compose

    ovr = [f"{k}={own[k]}" for k in ("data", "model") if own.get(k)] + overrides
    return compose("train", ovr, config_dir=own.get("config_dir") or None)


def build_dataset(cfg, own: dict[str, str]):
    """(dataset with its pipeline, metainfo) for the chosen split, or for ``ann_file``/``img_dir``."""
    from hydra.utils import instantiate

    from posekit.datasets.datamodule import build_dataset as _build

    split = own.get("split", "train")
    pipeline = cfg.data.train_pipeline if split == "train" else cfg.data.val_pipeline
    if own.get("ann_file"):
        for key in ("ann_file", "img_dir"):
            if not Path(own[key]).exists():
                raise FileNotFoundError(f"{key}={own[key]}: does not exist")
        ds = _build(
            {
                "ann_file": own["ann_file"],
                "data_prefix": {"img": own["img_dir"]},
                "metainfo": own.get("metainfo", "coco"),
                "test_mode": split != "train",
            },
            pipeline=pipeline,
        )
        return ds, ds.metainfo
    dm = instantiate(cfg.data, _recursive_=False)
    dm.check_files((split,))
    dm.prepare_data()
    dm.setup("fit" if split == "train" else "validate" if split == "val" else "test")
    ds = {"train": dm.train_dataset, "val": dm.val_dataset, "test": dm.test_dataset}[split]
    return ds, dm.metainfo


def browse(argv: list[str]) -> dict[str, Any]:
    """Write the pictures; returns ``{'output_dir', 'files', 'skipped'}``."""
    import cv2
    import numpy as np

    from posekit.datasets.transforms import LoadImage, PackPoseInputs
    from posekit.visualization import render_original, render_transformed

    own, overrides = parse(argv)
    cfg = compose_config(own, overrides)
    ds, metainfo = build_dataset(cfg, own)
    split = own.get("split", "train")
    out_dir = Path(own.get("output_dir") or f"outputs/browse_{cfg.data.get('name') or 'data'}_{split}")
    out_dir.mkdir(parents=True, exist_ok=True)
    num = int(own.get("num", 8))
    start = int(own.get("start", 0))
    n = len(ds)
    if own.get("shuffle", "false").lower() in ("1", "true", "yes"):
        rng = np.random.default_rng(int(own.get("seed", start)))
        indices = rng.choice(n, size=min(num, n), replace=False).tolist()
    else:
        indices = list(range(start, min(start + num, n)))
    np.random.seed(int(own.get("seed", 0)))  # the augmentations draw from numpy's global RNG
    transforms = [t for t in ds.pipeline.transforms if not isinstance(t, PackPoseInputs)]
    names = metainfo.get("keypoint_id2name") or {}
    kpt_names = [names[i] for i in sorted(names)] if names else None
    mode = own.get("mode", "transformed")
    files, skipped = [], 0
    for idx in indices:
        info = ds.get_data_info(idx)
        stem = f"{idx:05d}_{Path(str(info.get('img_path'))).stem}"
        if mode == "original":
            loaded = LoadImage()(dict(info))
            pictures = {"main": render_original(loaded["img"], info, metainfo)}
        else:
            results: Any = info
            for t in transforms:
                results = t(results)
                if results is None:
                    break
            if results is None:
                skipped += 1
                continue
            pictures = render_transformed(
                results, metainfo, heatmaps=own.get("heatmaps", "overlay"), kpt_names=kpt_names
            )
        for key, picture in pictures.items():
            target = out_dir / (f"{stem}.jpg" if key == "main" else f"{stem}_{key}.jpg")
            if not cv2.imwrite(str(target), picture):
                raise OSError(f"could not write {target}")
            files.append(str(target))
    return {"output_dir": str(out_dir), "files": files, "skipped": skipped}


def run(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse ``argv`` (default ``sys.argv[1:]``), write the pictures, print where; returns :func:`browse`'s
    summary."""
    from posekit.cli._common import guarded

    summary = guarded(PROG, browse, list(sys.argv[1:] if argv is None else argv))
    print(
        f"{PROG}: wrote {len(summary['files'])} pictures to {summary['output_dir']}"
        + (f" ({summary['skipped']} samples dropped by the pipeline)" if summary["skipped"] else "")
    )
    return summary


def main(argv: list[str] | None = None) -> None:
    """Console entry point (returns nothing: console scripts exit with it)."""
    run(argv)


if __name__ == "__main__":
    main()
