"""``posekit-convert-labels``: keypoint labels from DeepLabCut, YOLO-pose, Label Studio or CVAT -> COCO JSON.

Examples::

    posekit-convert-labels dlc project/labeled-data/video1/CollectedData_me.csv -o train.json
    posekit-convert-labels yolo datasets/mice/images/train --keypoints nose left_ear right_ear tail -o train.json
    posekit-convert-labels labelstudio export.json --images /path/to/images -o train.json
    posekit-convert-labels cvat annotations.xml -o train.json

Then train on it: ``posekit-train data=custom data.ann_file=train.json data.img_prefix=<image folder>/
'data.metainfo.keypoints=[...]'`` (the names are printed at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

FORMATS = ("dlc", "yolo", "labelstudio", "cvat")


def _skeleton(links: list[str] | None) -> list[tuple[str, str]]:
    out = []
    for link in links or []:
        a, sep, b = link.partition("-")
        if not sep or not a or not b:
            raise ValueError(f"--skeleton: {link!r} must be 'name_a-name_b'")
        out.append((a, b))
    return out


def convert(args: argparse.Namespace) -> dict:
    from posekit.datasets.converters import cvat_to_coco, dlc_to_coco, labelstudio_to_coco, yolo_to_coco

    skeleton = _skeleton(args.skeleton)
    if args.format == "dlc":
        return dlc_to_coco(args.input, args.images, args.keypoints, skeleton, args.category or "animal")
    if args.format == "yolo":
        return yolo_to_coco(args.input, args.keypoints, args.num_keypoints, skeleton, args.category or "object")
    if args.format == "labelstudio":
        return labelstudio_to_coco(args.input, args.images, args.keypoints, skeleton, args.category or "object")
    return cvat_to_coco(args.input, args.keypoints, skeleton or None, args.category)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="posekit-convert-labels", description=__doc__.split("\n\n")[0])
    parser.add_argument("format", choices=FORMATS, help="the labelling tool")
    parser.add_argument(
        "input", help="dlc: CollectedData CSV; yolo: images folder; labelstudio: JSON export; cvat: annotations.xml"
    )
    parser.add_argument("-o", "--output", required=True, help="the COCO keypoint JSON to write")
    parser.add_argument("--images", help="dlc: project folder; labelstudio: images folder (sizes of unlabelled tasks)")
    parser.add_argument("--keypoints", nargs="+", help="keypoint names, in output order (yolo: required)")
    parser.add_argument("--num-keypoints", type=int, help="yolo without names: K (names kpt0, kpt1, ...)")
    parser.add_argument("--skeleton", nargs="+", help="links as name_a-name_b")
    parser.add_argument("--category", help="the category name")
    args = parser.parse_args(argv)

    try:
        coco = convert(args)
    except (ValueError, KeyError, OSError) as err:  # bad input: one line naming the file / field
        if os.environ.get("POSEKIT_DEBUG"):
            raise
        print(f"posekit-convert-labels: error: {type(err).__name__}: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(coco), encoding="utf-8")
    names = coco["categories"][0]["keypoints"]
    print(
        f"posekit-convert-labels: {len(coco['images'])} images, {len(coco['annotations'])} instances, "
        f"{len(names)} keypoints -> {out}\n  data.metainfo.keypoints=[{','.join(names)}]"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
