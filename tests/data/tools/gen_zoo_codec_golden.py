#!/usr/bin/env python
"""Generate ``tests/data/golden/zoo_codecs.npz`` + ``zoo_codecs.json``: MMPose 1.3.2's encode/decode of every distinct
codec that the 142 COCO top-down configs use (each level of the multi-level MSPN/RSN lists too), and its
``GenerateTarget`` output for the multi-level (``multilevel=True``) and integral-regression (heatmap + keypoint label)
targets.

Run from the repository root with MMPose's interpreter::

    /opt/mmref/bin/python tests/data/tools/gen_zoo_codec_golden.py

Per codec ``c<i>`` (kwargs in the JSON, keyed by the configs that use it): ``c<i>/enc_<key>`` (MMPose's ``encode`` of
:func:`case_keypoints` at the codec's input size) and ``c<i>/dec_keypoints`` / ``c<i>/dec_scores`` (MMPose's
``decode`` of that encoding). Per GenerateTarget case ``t<i>``: ``t<i>/<key>`` of the packed results. Four keypoints
per case (inside, near the border, outside the input, invisible) keep the file small.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tests" / "data" / "golden" / "zoo_codecs"


def case_keypoints(input_size: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(1, 4, 2)`` keypoints in a ``(w, h)`` input and their ``(1, 4)`` visibility."""
    w, h = input_size
    kpts = np.array([[[0.37 * w, 0.41 * h], [0.93 * w, 0.11 * h], [1.2 * w, 0.5 * h], [0.5 * w, 0.6 * h]]], np.float32)
    vis = np.array([[1.0, 1.0, 1.0, 0.0]], np.float32)
    return kpts, vis


def _decode_args(codec_type: str, enc: dict) -> tuple:
    if codec_type == "SimCCLabel":
        return enc["keypoint_x_labels"], enc["keypoint_y_labels"]
    if codec_type in ("RegressionLabel", "IntegralRegressionLabel"):
        return (enc["keypoint_labels"],)
    return (enc["heatmaps"],)


def main() -> int:
    import mmpose
    from mmengine.config import Config
    from mmpose.datasets.transforms import GenerateTarget
    from mmpose.registry import KEYPOINT_CODECS
    from mmpose.utils import register_all_modules

    register_all_modules()
    cfg_root = Path(mmpose.__file__).parent / ".mim"
    golden = json.load(gzip.open(ROOT / "tests/data/golden/zoo.json.gz", "rt"))
    codecs: list[dict] = []
    users: list[list[str]] = []
    targets: dict[str, dict] = {}
    for stem, g in sorted(golden.items()):
        codec = Config.fromfile(cfg_root / g["config"])["codec"]
        codec = [c.to_dict() for c in codec] if isinstance(codec, (list, tuple)) else [codec.to_dict()]
        for c in codec:
            c = json.loads(json.dumps(c))  # tuples -> lists
            if c not in codecs:
                codecs.append(c)
                users.append([])
            users[codecs.index(c)].append(stem)
        if len(codec) > 1 and "multilevel" not in targets:
            targets["multilevel"] = {"encoder": json.loads(json.dumps(codec)), "multilevel": True, "stem": stem}
        if codec[0]["type"] == "IntegralRegressionLabel" and "integral" not in targets:
            targets["integral"] = {"encoder": json.loads(json.dumps(codec[0])), "multilevel": False, "stem": stem}

    arrays: dict[str, np.ndarray] = {}
    index: dict = {"codecs": [], "targets": []}
    for i, c in enumerate(codecs):
        codec = KEYPOINT_CODECS.build(dict(c))
        kpts, vis = case_keypoints(c["input_size"])
        enc = codec.encode(kpts.copy(), vis.copy())
        for key, value in enc.items():
            arrays[f"c{i}/enc_{key}"] = np.asarray(value)
        dec_k, dec_s = codec.decode(*_decode_args(c["type"], enc))
        arrays[f"c{i}/dec_keypoints"], arrays[f"c{i}/dec_scores"] = np.asarray(dec_k), np.asarray(dec_s)
        index["codecs"].append({"id": f"c{i}", "codec": c, "configs": users[i]})
    for i, (name, t) in enumerate(sorted(targets.items())):
        transform = GenerateTarget(encoder=t["encoder"], multilevel=t["multilevel"])
        first = t["encoder"][0] if isinstance(t["encoder"], list) else t["encoder"]
        kpts, vis = case_keypoints(first["input_size"])
        results = transform.transform({"keypoints": kpts.copy(), "keypoints_visible": vis.copy()})
        keys = [k for k in ("heatmaps", "keypoint_labels", "keypoint_weights") if k in results]
        for key in keys:
            arrays[f"t{i}/{key}"] = np.asarray(results[key])
        index["targets"].append(
            {
                "id": f"t{i}",
                "name": name,
                "stem": t["stem"],
                "encoder": t["encoder"],
                "multilevel": t["multilevel"],
                "keys": keys,
            }
        )
    np.savez_compressed(OUT.with_suffix(".npz"), **arrays)
    OUT.with_suffix(".json").write_text(json.dumps(index, indent=1) + "\n")
    size = OUT.with_suffix(".npz").stat().st_size
    print(f"wrote {OUT}.npz ({size} bytes): {len(codecs)} codecs, {len(targets)} GenerateTarget cases")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
