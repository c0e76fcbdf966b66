"""Reading MMPose's model-zoo metafiles (``configs/**/*.yml``) into flat registry entries.

A metafile is YAML with a ``Collections:`` list (papers) and a ``Models:`` list; each model reads

.. code-block:: yaml

    - Config: configs/body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py
      In Collection: HRNet
      Metadata: {Architecture: [HRNet], Training Data: COCO}
      Name: td-hm_hrnet-w32_8xb64-210e_coco-256x192
      Results:
      - {Dataset: COCO, Metrics: {AP: 0.746, AR: 0.799, ...}, Task: Body 2D Keypoint}
      Weights: https://download.openmmlab.com/.../td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth

:func:`parse_metafile` turns that text into a list of plain dicts (one per model, see :func:`entry_from_model`);
the file name of ``Weights`` carries the first 8 (rarely 7) hex digits of the checkpoint's sha256 and the release date
(``<name>-<sha8>_<yyyymmdd>.pth``), which :func:`parse_weights_name` splits off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["parse_metafile", "parse_weights_name", "entry_from_model", "config_stem"]

# "<name>-<8 hex>_<8 digits>.pth" (MMPose's publish_model naming); a few older files lack the date
_WEIGHTS_RE = re.compile(r"^(?P<name>.+?)-(?P<sha>[0-9a-f]{7,8})(?:_(?P<date>\d{8}))?\.pth$")


def config_stem(config_path: str) -> str:
    """``configs/.../td-hm_hrnet-w32_8xb64-210e_coco-256x192.py`` -> ``td-hm_hrnet-w32_8xb64-210e_coco-256x192``."""
    base = config_path.rstrip("/").rsplit("/", 1)[-1]
    return base[:-3] if base.endswith(".py") else base


def parse_weights_name(url_or_name: str) -> dict[str, str | None]:
    """Split a model-zoo checkpoint file name (or its URL) into ``{file, name, sha256_prefix, date}``.

    ``.../td-hm_hrnet-w32_8xb64-210e_coco-256x192-81c58e40_20220909.pth`` ->
    ``name='td-hm_hrnet-w32_8xb64-210e_coco-256x192', sha256_prefix='81c58e40', date='20220909'``.
    A name without the ``-<sha8>[_<date>].pth`` tail gives ``sha256_prefix=None`` and the name without ``.pth``.
    """
    file = str(url_or_name).split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    m = _WEIGHTS_RE.match(file)
    if m is None:
        name = file[:-4] if file.endswith(".pth") else file
        return {"file": file, "name": name, "sha256_prefix": None, "date": None}
    return {"file": file, "name": m["name"], "sha256_prefix": m["sha"], "date": m["date"]}


def _task_family(config_path: str) -> tuple[str | None, str | None]:
    """``configs/<task>/<algorithm>/<dataset>/x.py`` -> ``(task, algorithm)``, e.g. ``('body_2d_keypoint', 'simcc')``"""
    parts = config_path.split("/")
    if len(parts) >= 5 and parts[0] == "configs":
        return parts[1], parts[2]
    return None, None


def entry_from_model(model: Mapping[str, Any], source: str = "") -> dict[str, Any]:
    """One metafile ``Models:`` item -> a flat registry entry.

    Keys: ``stem`` (the config file's stem, which is how posekit names the config), ``name`` (the metafile's
    ``Name``), ``config`` (MMPose's config path), ``weights`` (URL or None), ``weights_file``, ``sha256_prefix``,
    ``date``, ``task`` / ``algorithm`` (from the config path), ``collection``, ``architecture`` (list),
    ``training_data``, ``results`` (list of ``{dataset, task, metrics}``), ``metafile`` (``source``).
    """
    if not isinstance(model, Mapping) or "Config" not in model:
        raise ValueError(f"{source or 'metafile'}: a `Models:` item needs a `Config:` key, got {model!r}")
    config = str(model["Config"])
    weights = model.get("Weights")
    wname = parse_weights_name(weights) if weights else {"file": None, "sha256_prefix": None, "date": None}
    meta = model.get("Metadata") or {}
    arch = meta.get("Architecture") or []
    if isinstance(arch, str):
        arch = [arch]
    training = meta.get("Training Data")
    results = []
    for res in model.get("Results") or []:
        raw = res.get("Metrics") or {}
        metrics = {str(k): (float(v) if isinstance(v, (int, float)) else v) for k, v in raw.items()}
        results.append({"dataset": res.get("Dataset"), "task": res.get("Task"), "metrics": metrics})
    task, algorithm = _task_family(config)
    return {
        "stem": config_stem(config),
        "name": str(model.get("Name") or config_stem(config)),
        "config": config,
        "weights": str(weights) if weights else None,
        "weights_file": wname["file"],
        "sha256_prefix": wname["sha256_prefix"],
        "date": wname["date"],
        "task": task,
        "algorithm": algorithm,
        "collection": model.get("In Collection"),
        "architecture": [str(a) for a in arch],
        "training_data": list(training) if isinstance(training, (list, tuple)) else training,
        "results": results,
        "metafile": source,
    }


def parse_metafile(text: str, source: str = "") -> list[dict[str, Any]]:
    """Parse the text of one MMPose metafile into registry entries (see :func:`entry_from_model`), in file order.

    YAML anchors/aliases (``&id001`` / ``*id001``, which MMPose's metafiles use for ``Architecture``) resolve as in
    any YAML reader. ``source`` (e.g. the metafile's path) names the file in errors and in each entry's ``metafile``.
    """
    import yaml

    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ValueError(f"{source or 'metafile'}: not valid YAML ({e})") from e
    if doc is None:
        return []
    if not isinstance(doc, Mapping):
        raise ValueError(f"{source or 'metafile'}: expected a mapping with `Models:`, got {type(doc).__name__}")
    models = doc.get("Models") or []
    if not isinstance(models, list):
        raise ValueError(f"{source or 'metafile'}: `Models:` must be a list, got {type(models).__name__}")
    return [entry_from_model(m, source) for m in models]
