"""The MMPose 1.3.2 model zoo as data: which config each published checkpoint belongs to, and what MMPose reports.

``mmpose_zoo.json`` (next to this file) is generated from MMPose's metafiles by
``tests/data/tools/gen_zoo_registry.py``; it lists every 2D top-down model (330 entries: body, wholebody, face,
hand, animal, fashion), and for the 142 COCO top-down configs MMPose's own build numbers (params, input size,
component types).

* :func:`list_configs` - the stems (config file names without ``.py``);
* :func:`get_model_info` - one :class:`ZooModel` (config path, weights URL, sha256 prefix, COCO AP/AR, params ...);
* :func:`find_stem_for_checkpoint` - a checkpoint file name or URL -> its config stem (the file name is not always
  the config's: ``cspnext-m_udp-aic-coco_210e-256x192-f2f7d6f6_20230130.pth`` is
  ``cspnext-m_udp_8xb256-210e_aic-coco-256x192``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .metafile import config_stem, parse_weights_name

__all__ = ["ZooModel", "list_configs", "get_model_info", "find_stem_for_checkpoint", "REGISTRY_FILE"]

REGISTRY_FILE = Path(__file__).with_name("mmpose_zoo.json")


@dataclass(frozen=True)
class ZooModel:
    """One MMPose model-zoo entry. ``params``/``input_size``/component types are set for the 142 COCO top-down
    configs (MMPose 1.3.2's build, 17 keypoints); ``input_size`` is ``(w, h)`` like MMPose."""

    stem: str
    config: str
    weights: str | None
    weights_file: str | None
    sha256_prefix: str | None
    date: str | None
    task: str | None
    algorithm: str | None
    name: str
    collection: str | None = None
    architecture: tuple[str, ...] = ()
    training_data: Any = None
    results: tuple[dict, ...] = field(default_factory=tuple)
    params: int | None = None
    input_size: tuple[int, int] | None = None
    backbone: str | None = None
    neck: str | None = None
    head: str | None = None
    codec: str | None = None
    coco_topdown: bool = False
    metafile: str | None = None

    def metric(self, key: str, dataset: str = "COCO") -> float | None:
        """The published metric ``key`` (e.g. ``'AP'``, ``'AR'``, ``'PCK@0.2'``) on ``dataset``, or ``None``."""
        for res in self.results:
            if res.get("dataset") == dataset and key in res.get("metrics", {}):
                return res["metrics"][key]
        return None

    @property
    def coco_ap(self) -> float | None:
        """MMPose's published COCO val2017 AP (person detector boxes, flip test), or ``None``."""
        return self.metric("AP", "COCO")

    @property
    def coco_ar(self) -> float | None:
        return self.metric("AR", "COCO")


@lru_cache(maxsize=1)
def _entries() -> dict[str, ZooModel]:
    try:
        raw = json.loads(REGISTRY_FILE.read_text())["entries"]
    except FileNotFoundError as e:  # pragma: no cover - packaged data
        raise FileNotFoundError(
            f"{REGISTRY_FILE} is missing; regenerate it with "
            "`/opt/mmref/bin/python tests/data/tools/gen_zoo_registry.py`"
        ) from e
    out: dict[str, ZooModel] = {}
    for e in raw:
        w = parse_weights_name(e["weights"]) if e.get("weights") else dict.fromkeys(("file", "sha256_prefix", "date"))
        out[e["stem"]] = ZooModel(
            stem=e["stem"],
            config=e["config"],
            weights=e.get("weights"),
            weights_file=w["file"],
            sha256_prefix=w["sha256_prefix"],
            date=w["date"],
            task=e.get("task"),
            algorithm=e.get("algorithm"),
            name=e.get("name", e["stem"]),
            collection=e.get("collection"),
            architecture=tuple(e.get("architecture") or ()),
            training_data=e.get("training_data"),
            results=tuple(e.get("results") or ()),
            params=e.get("params"),
            input_size=tuple(e["input_size"]) if e.get("input_size") else None,
            backbone=e.get("backbone"),
            neck=e.get("neck"),
            head=e.get("head"),
            codec=e.get("codec"),
            coco_topdown=bool(e.get("coco_topdown", False)),
            metafile=e.get("metafile"),
        )
    return out


def list_configs(coco_topdown: bool = False, task: str | None = None) -> list[str]:
    """Sorted config stems of the registry; ``coco_topdown=True`` keeps the 142 COCO top-down configs,
    ``task`` (e.g. ``'hand_2d_keypoint'``) one task."""
    return sorted(
        s for s, m in _entries().items() if (not coco_topdown or m.coco_topdown) and (task is None or m.task == task)
    )


def get_model_info(stem: str) -> ZooModel:
    """The registry entry of the config ``stem`` (a config path or ``<stem>.py`` works too)."""
    key = config_stem(str(stem))
    entries = _entries()
    if key not in entries:
        import difflib

        close = difflib.get_close_matches(key, list(entries), n=3)
        hint = f"; did you mean {close}?" if close else ""
        raise KeyError(f"{stem!r} is not an MMPose 1.3.2 2D top-down config stem (see list_configs()){hint}")
    return entries[key]


@lru_cache(maxsize=1)
def _by_weights() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(weights file name -> stems, weights name without ``-<sha>_<date>.pth`` -> stems)."""
    by_file: dict[str, list[str]] = {}
    by_name: dict[str, list[str]] = {}
    for stem, m in sorted(_entries().items()):
        if m.weights_file:
            by_file.setdefault(m.weights_file, []).append(stem)
            by_name.setdefault(parse_weights_name(m.weights_file)["name"], []).append(stem)
    return by_file, by_name


def _pick(stems: list[str], name: str) -> str:
    # MMPose's resnet_coco.yml gives td-hm_res101_8xb32-210e_coco-384x288 the 256x192 file: the stem that the file
    # is named after wins; otherwise the first in sorted order
    return name if name in stems else stems[0]


def find_stem_for_checkpoint(filename_or_url: str | Path) -> str | None:
    """The config stem of an MMPose model-zoo checkpoint, from its file name or URL alone; ``None`` if unknown.

    Looked up, in order: the exact published file name (``Weights:`` URLs), a file named after a config stem
    (``<stem>.pth`` or ``<stem>-<sha>_<date>.pth``), a published file name with another sha/date.
    """
    parsed = parse_weights_name(str(filename_or_url))
    file, name = parsed["file"], parsed["name"]
    by_file, by_name = _by_weights()
    if file in by_file:
        return _pick(by_file[file], name)
    entries = _entries()
    for candidate in (name, config_stem(file)):
        if candidate in entries:
            return candidate
    if name in by_name:
        return _pick(by_name[name], name)
    return None
