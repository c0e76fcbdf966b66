#!/usr/bin/env python
"""Generate ``src/posekit/models/zoo/mmpose_zoo.json``: every 2D top-down model of MMPose 1.3.2's model-zoo metafiles.

Run from the repository root with MMPose's interpreter (the metafiles ship inside its package)::

    /opt/mmref/bin/python tests/data/tools/gen_zoo_registry.py

It reads ``mmpose/.mim/configs/**/*.yml`` with posekit's own parser (``posekit/models/zoo/metafile.py``, loaded by
path so that neither posekit's dependencies nor mmpose are imported), keeps the 2D top-down algorithms
(topdown_heatmap, topdown_regression, integral_regression, simcc, rtmpose), and adds, for the 142 COCO top-down
configs of ``tests/data/golden/zoo.json.gz``, MMPose's own build numbers (params, input size, component types).
The output is compact JSON: ``{"source": ..., "entries": [...]}`` sorted by stem.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "src" / "posekit" / "models" / "zoo" / "mmpose_zoo.json"
TOPDOWN = ("topdown_heatmap", "topdown_regression", "integral_regression", "simcc", "rtmpose")


def _load_metafile_module():
    spec = importlib.util.spec_from_file_location("_metafile", ROOT / "src/posekit/models/zoo/metafile.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _codec_from_config(path: Path) -> dict:
    """``codec`` type and input size of an MMPose config; a multi-level codec list gives its last (finest) level."""
    from mmengine.config import Config

    codec = Config.fromfile(path)["codec"]
    last = codec[-1] if isinstance(codec, (list, tuple)) else codec
    return {"codec": last["type"], "input_size": list(last["input_size"])}


def main() -> int:
    import mmpose

    mf = _load_metafile_module()
    cfg_root = Path(mmpose.__file__).parent / ".mim" / "configs"
    golden = json.load(gzip.open(ROOT / "tests/data/golden/zoo.json.gz", "rt"))
    entries: dict[str, dict] = {}
    for yml in sorted(cfg_root.rglob("*.yml")):
        rel = "configs/" + yml.relative_to(cfg_root).as_posix()
        for e in mf.parse_metafile(yml.read_text(), source=rel):
            if not (e["task"] or "").endswith("_2d_keypoint") or e["algorithm"] not in TOPDOWN:
                continue
            if e["stem"] in entries:
                if entries[e["stem"]]["weights"] != e["weights"]:
                    raise SystemExit(f"{rel}: {e['stem']} listed twice with different weights")
                continue
            if not (cfg_root / e["config"][len("configs/") :]).is_file():
                # MMPose 1.3.2's resnet_debias_coco.yml names "ipr_res50_debias--8xb64..." (a typo): the shipped
                # config is the weights file's name; keep the metafile's spelling in `config_in_metafile`
                fixed = e["config"].rsplit("/", 1)[0] + "/" + e["name"].replace("--", "-") + ".py"
                if not (cfg_root / fixed[len("configs/") :]).is_file():
                    raise SystemExit(f"{rel}: config {e['config']} is not shipped and no repair found")
                print(f"note: {rel}: config {e['config']} -> {fixed}", file=sys.stderr)
                e.update(config_in_metafile=e["config"], config=fixed, stem=mf.config_stem(fixed))
            for derived in ("weights_file", "sha256_prefix", "date"):  # recomputed from `weights` when loaded
                e.pop(derived)
            if e["name"] == e["stem"]:
                e.pop("name")
            g = golden.get(e["stem"])
            if g is not None:
                e.update(
                    params=g["params"],
                    input_size=g["input_size"],
                    backbone=g["backbone"],
                    neck=g["neck"],
                    head=g["head"],
                    codec=g["codec"],
                    coco_topdown=True,
                )
                if g["codec"] is None:  # the golden leaves multi-level codecs (MSPN/RSN) out: read the config
                    e.update(_codec_from_config(cfg_root / e["config"][len("configs/") :]))
            entries[e["stem"]] = e
    for stem in sorted(set(golden) - set(entries)):
        # shipped configs without a model-zoo entry (e.g. td-hm-vis_res50_8xb64-210e_coco-aic-256x192-merge): no
        # published weights or AP, but buildable
        g = golden[stem]
        print(f"note: {stem} has no metafile entry (no published weights)", file=sys.stderr)
        entries[stem] = {
            "stem": stem,
            "config": g["config"],
            "weights": None,
            "task": g["config"].split("/")[1],
            "algorithm": g["config"].split("/")[2],
            "collection": None,
            "architecture": [],
            "training_data": None,
            "results": [],
            "metafile": None,
            "params": g["params"],
            "input_size": g["input_size"],
            "backbone": g["backbone"],
            "neck": g["neck"],
            "head": g["head"],
            "codec": g["codec"],
            "coco_topdown": True,
        }
    out = {"source": "MMPose 1.3.2 configs/**/*.yml (2D top-down)", "entries": [entries[k] for k in sorted(entries)]}
    OUT.write_text(json.dumps(out, separators=(",", ":"), sort_keys=True) + "\n")
    print(f"wrote {OUT} ({len(entries)} entries, {sum('params' in e for e in entries.values())} with MMPose params)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
