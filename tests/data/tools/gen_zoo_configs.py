#!/usr/bin/env python
"""Generate ``conf/model/mmpose/<stem>.yaml`` for the 142 MMPose 1.3.2 COCO top-down configs.

Run from the repository root with MMPose's interpreter::

    /opt/mmref/bin/python tests/data/tools/gen_zoo_configs.py

Each MMPose Python config is read with ``mmengine.Config.fromfile``; its ``model`` and ``codec`` are written as a
posekit Hydra config (package ``_global_``: it sets ``codec`` and ``model``, so ``posekit-train
model=mmpose/<stem>`` and ``build_model("<stem>")`` work), with MMPose's constructor kwargs verbatim:

* ``type: X`` of the estimator, data preprocessor, backbone, neck, head and losses becomes
  ``_target_: posekit.models[.backbones|.necks|.heads|.losses].X`` (``mmpretrain.VisionTransformer`` ->
  ``posekit.models.backbones.VisionTransformer``); every other nested dict (``norm_cfg``, ``init_cfg``,
  ``gau_cfg``, ``pose_cfg`` ...) stays MMPose's ``type:`` dict, which the component builds itself;
* ``_scope_`` (mmengine's registry scope, e.g. ``'mmdet'`` for CSPNeXt) is dropped: it is no constructor argument;
* the codec becomes ``codec: {_target_: posekit.codecs.X, ...}`` and the head's ``decoder`` ``${codec}``; the
  multi-level MSPN/RSN configs keep the codec their head decodes with (the last level) as ``codec`` and the whole
  list as ``target_codec`` with ``target_multilevel: true`` (MMPose's train pipeline has
  ``GenerateTarget(encoder=codec_list, multilevel=True)``; a pipeline reads them with
  ``encoder: ${oc.select:target_codec,${codec}}`` and ``multilevel: ${oc.select:target_multilevel,false}``);
* the keypoint count 17 of the head (``out_channels`` / ``num_joints``; CPM's backbone ``out_channels`` and head
  ``in_channels``) becomes ``${num_keypoints}``;
* ``metainfo=dict(from_file=...)`` is resolved to its ``flip_indices`` (all that the estimator reads from it).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[3]
OUT_DIR = ROOT / "conf" / "model" / "mmpose"
REGISTRY = ROOT / "src" / "posekit" / "models" / "zoo" / "mmpose_zoo.json"
NUM_KPT = "${num_keypoints}"
TYPE_ALIASES = {"mmpretrain.VisionTransformer": "VisionTransformer"}


def plain(obj: Any) -> Any:
    """ConfigDict/tuple -> dict/list, recursively."""
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


def target(cfg: dict, namespace: str) -> dict:
    """``{type: X, **kw}`` -> ``{_target_: namespace.X, **kw}`` (key order kept, ``_target_`` first)."""
    cfg = dict(cfg)
    cfg.pop("_scope_", None)  # mmengine registry scope (e.g. 'mmdet' for CSPNeXt): no constructor argument
    kind = cfg.pop("type")
    name = TYPE_ALIASES.get(kind, kind)
    return {"_target_": f"{namespace}.{name}", **cfg}


def convert_loss(loss: Any) -> Any:
    if isinstance(loss, list):
        return [convert_loss(v) for v in loss]
    out = target(loss, "posekit.models.losses")
    if "losses" in out:  # MultipleLossWrapper / CombinedLoss
        inner = out["losses"]
        out["losses"] = (
            {k: convert_loss(v) for k, v in inner.items()} if isinstance(inner, dict) else convert_loss(inner)
        )
    return out


def codec_ref(decoder: dict, codec: Any) -> str:
    if isinstance(codec, list):
        for i, c in enumerate(codec):
            if c == decoder:
                return "${codec[" + str(i) + "]}"
    elif codec == decoder:
        return "${codec}"
    raise SystemExit(f"head decoder {decoder} is not the config's codec {codec}")


def keypoint_count(head: dict) -> dict:
    for key in ("out_channels", "num_joints"):
        if head.get(key) == 17:
            head[key] = NUM_KPT
    if head["_target_"].endswith(".CPMHead") and head.get("in_channels") == 17:
        head["in_channels"] = NUM_KPT
    return head


def convert_head(head: dict, codec: Any) -> dict:
    out = target(head, "posekit.models.heads")
    if "loss" in out:
        out["loss"] = convert_loss(out["loss"])
    if "decoder" in out:
        out["decoder"] = codec_ref(out["decoder"], codec)
    if "pose_cfg" in out:  # VisPredictHead builds its pose head from MMPose's dict
        pose = dict(out["pose_cfg"])
        for key in ("out_channels", "num_joints"):
            if pose.get(key) == 17:
                pose[key] = NUM_KPT
        if "decoder" in pose:
            pose["decoder"] = codec_ref(pose["decoder"], codec)
        if "loss" in pose:
            pose["loss"] = convert_loss(pose["loss"])
        out["pose_cfg"] = pose
    return keypoint_count(out)


def convert_model(model: dict, codec: Any, cfg_root: Path) -> dict:
    out: dict[str, Any] = {"_target_": "posekit.models.TopdownPoseEstimator"}
    for key, value in model.items():
        if key == "type":
            if value != "TopdownPoseEstimator":
                raise SystemExit(f"not a top-down estimator: {value}")
        elif key == "data_preprocessor":
            out[key] = target(value, "posekit.models")
        elif key == "backbone":
            bb = target(value, "posekit.models.backbones")
            if bb["_target_"].endswith(".CPM") and bb.get("out_channels") == 17:
                bb["out_channels"] = NUM_KPT
            out[key] = bb
        elif key == "neck":
            out[key] = target(value, "posekit.models.necks")
        elif key == "head":
            out[key] = convert_head(value, codec)
        elif key == "metainfo":
            out[key] = resolve_metainfo(value, cfg_root)
        else:  # test_cfg, train_cfg, init_cfg: verbatim
            out[key] = value
    return out


def resolve_metainfo(meta: dict, cfg_root: Path) -> dict:
    if set(meta) != {"from_file"}:
        return meta
    from mmpose.datasets.datasets.utils import parse_pose_metainfo

    info = parse_pose_metainfo({"from_file": str(cfg_root / meta["from_file"])})
    return {"dataset_name": info["dataset_name"], "flip_indices": [int(i) for i in info["flip_indices"]]}


def convert_codec(codec: Any) -> Any:
    if isinstance(codec, list):
        return [convert_codec(c) for c in codec]
    return target(codec, "posekit.codecs")


def header(stem: str, info: dict | None, golden: dict) -> str:
    lines = [
        "# @package _global_",
        f"# MMPose 1.3.2 {golden['config']}: its `model` and `codec`, MMPose's kwargs verbatim.",
        "# Generated by tests/data/tools/gen_zoo_configs.py from MMPose's Python config; do not edit by hand.",
        f"# Build: posekit.models.build_model({stem!r}); train: posekit-train model=mmpose/{stem}",
        f"# MMPose params (17 keypoints): {golden['params']:,}",
    ]
    if info and info.get("weights"):
        ap = next((r["metrics"].get("AP") for r in info.get("results", []) if r.get("dataset") == "COCO"), None)
        lines.append(f"# Published weights{f' (COCO AP {ap})' if ap is not None else ''}:")
        lines.append(f"#   {info['weights']}")
    return "\n".join(lines) + "\n"


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:  # no &id001 anchors for values that appear twice
        return True


def _repr_list(dumper: yaml.SafeDumper, data: list) -> yaml.Node:
    flow = all(not isinstance(v, (dict, list)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


def _repr_dict(dumper: yaml.SafeDumper, data: dict) -> yaml.Node:
    # small all-scalar dicts (losses, norm_cfg, a codec level) on one line
    flat = all(
        not isinstance(v, dict) and not (isinstance(v, list) and v and isinstance(v[0], (dict, list)))
        for v in data.values()
    )
    flow = flat and sum(len(str(k)) + len(str(v)) + 2 for k, v in data.items()) < 100
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=flow)


_Dumper.add_representer(list, _repr_list)
_Dumper.add_representer(dict, _repr_dict)


def main() -> int:
    import mmpose
    from mmengine.config import Config

    cfg_root = Path(mmpose.__file__).parent / ".mim"
    golden = json.load(gzip.open(ROOT / "tests/data/golden/zoo.json.gz", "rt"))
    registry = {e["stem"]: e for e in json.loads(REGISTRY.read_text())["entries"]}
    if OUT_DIR.exists():
        shutil.rmtree(OUT_DIR)
    OUT_DIR.mkdir(parents=True)
    for stem, g in sorted(golden.items()):
        cfg = Config.fromfile(cfg_root / g["config"])
        model = plain(cfg.model.to_dict())
        codec = plain(cfg["codec"]) if "codec" in cfg else None
        if codec is None:
            raise SystemExit(f"{g['config']}: no `codec` variable")
        if isinstance(codec, list):
            # MSPN/RSN: MMPose's train pipeline encodes every level (GenerateTarget(encoder=codec, multilevel=True));
            # the head decodes with the last. `codec` stays one codec (the data pipelines read codec.input_size)
            if model["head"].get("decoder") != codec[-1]:
                raise SystemExit(f"{g['config']}: the head does not decode with the last codec level")
            doc = {"codec": convert_codec(codec[-1]), "target_codec": convert_codec(codec), "target_multilevel": True}
            doc["model"] = convert_model(model, codec[-1], cfg_root)
        else:
            doc = {"codec": convert_codec(codec), "model": convert_model(model, codec, cfg_root)}
        text = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=120, allow_unicode=True)
        (OUT_DIR / f"{stem}.yaml").write_text(header(stem, registry.get(stem), g) + text)
    print(f"wrote {len(golden)} configs to {OUT_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
