"""Dataset meta information: keypoint names, flip partners, skeleton, colours, loss weights and OKS sigmas.

The packaged ``*.yaml`` files next to this module hold MMPose 1.x's dataset configs
(``configs/_base_/datasets/<name>.py``) in a compact schema::

    dataset_name: coco
    paper_info: {author: ..., title: ..., container: ..., year: ..., homepage: ...}
    keypoints:      # one row per keypoint, in id order: [name, [r, g, b], type (upper|lower|""), swap partner or ""]
      - [nose, [51, 153, 255], upper, '']
      - [left_eye, [51, 153, 255], upper, right_eye]
    skeleton:       # [name_a, name_b, [r, g, b]]
      - [left_ankle, left_knee, [0, 255, 0]]
    joint_weights: [1.0, ...]
    sigmas: [0.026, ...]

:func:`load_metainfo` accepts a packaged name (``'coco'``), the path of a YAML file in that schema, the path of
an MMPose dataset config (``.py``, read as literals, never executed), or a dict in either the compact schema or
MMPose's ``dataset_info`` format (``keypoint_info`` / ``skeleton_info``), or a small spec of your own keypoints
(``keypoints: [name, ...]`` plus optional skeleton, flip pairs, sigmas: see :mod:`.spec`). It returns the names of
MMPose's ``parse_pose_metainfo`` with the same values.
"""

from __future__ import annotations

import ast
import copy
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .spec import is_spec, metainfo_from_spec

__all__ = ["METAINFO_DIR", "list_metainfos", "load_metainfo", "parse_pose_metainfo"]

METAINFO_DIR = Path(__file__).resolve().parent

_REQUIRED_COMPACT = ("dataset_name", "keypoints", "skeleton", "joint_weights", "sigmas")
_REQUIRED_MMPOSE = ("dataset_name", "keypoint_info", "skeleton_info", "joint_weights", "sigmas")
_KEYPOINT_TYPES = ("upper", "lower", "")
# MMPose's defaults when a keypoint / link has no colour.
_DEFAULT_KEYPOINT_COLOR = (255, 128, 0)
_DEFAULT_LINK_COLOR = (96, 96, 255)


def list_metainfos() -> list[str]:
    """Names of the packaged dataset metainfo files (``load_metainfo(name)`` accepts each)."""
    return sorted(p.stem for p in METAINFO_DIR.glob("*.yaml"))


def load_metainfo(metainfo: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """Load and parse dataset meta information.

    Args:
        metainfo: one of

            - a packaged dataset name, e.g. ``'coco'`` (see :func:`list_metainfos`);
            - a path to a YAML file in the compact schema of this package (see the module docstring);
            - a path to an MMPose dataset config ``.py`` holding ``dataset_info = dict(...)``;
            - a dict in the compact schema or in MMPose's ``dataset_info`` format;
            - MMPose's ``dict(from_file='configs/_base_/datasets/coco.py')``: the file if it exists, else the
              packaged metainfo of the same name (as MMPose falls back to its installed configs).

    Returns:
        A new dict with MMPose's ``parse_pose_metainfo`` names: ``dataset_name``, ``num_keypoints``,
        ``keypoint_id2name``, ``keypoint_name2id``, ``upper_body_ids``, ``lower_body_ids``, ``flip_indices``,
        ``flip_pairs`` (both orders of each pair, as MMPose), ``keypoint_colors`` (K, 3) uint8,
        ``num_skeleton_links``, ``skeleton_links`` (list of (i, j)), ``skeleton_link_colors`` (L, 3) uint8,
        ``dataset_keypoint_weights`` (K,) float32 and ``sigmas`` (K,) float32. The caller owns the result.

    Raises:
        ValueError: unknown dataset name (the message lists the packaged ones) or invalid content (the message
            names the source and the field).
        FileNotFoundError: a path that does not exist.
    """
    metainfo = _to_plain(metainfo)
    if isinstance(metainfo, Mapping):
        if "from_file" in metainfo:
            return _load_from_file_key(metainfo["from_file"])
        return parse_pose_metainfo(metainfo, source="<dict>")
    if isinstance(metainfo, Path):
        return _load_path(metainfo)
    if isinstance(metainfo, str):
        if _looks_like_path(metainfo):
            return _load_path(Path(metainfo))
        return copy.deepcopy(_load_packaged(metainfo))
    raise TypeError(
        f"load_metainfo expects a dataset name, a path or a dict, got {type(metainfo).__name__}: {metainfo!r}"
    )


def parse_pose_metainfo(metainfo: Mapping[str, Any], source: str = "<dict>") -> dict[str, Any]:
    """Validate and parse raw metainfo (compact schema or MMPose ``dataset_info``) into MMPose's parsed names.

    ``source`` names the origin (a file path) in error messages.
    """
    metainfo = _to_plain(metainfo)
    if not isinstance(metainfo, Mapping):
        raise ValueError(f"{source}: metainfo must be a mapping, got {type(metainfo).__name__}")
    if "from_file" in metainfo:  # MMPose's dict(from_file='configs/_base_/datasets/coco.py')
        return _from_file(str(metainfo["from_file"]), source)
    if is_spec(metainfo):  # your own keypoints: names (+ optional fields), the rest inferred (spec.py)
        metainfo = metainfo_from_spec(metainfo, source)
    if "keypoint_info" in metainfo:
        required, fmt = _REQUIRED_MMPOSE, "MMPose dataset_info"
    else:
        required, fmt = _REQUIRED_COMPACT, "posekit metainfo"
    missing = [k for k in required if k not in metainfo]
    if missing:
        raise ValueError(
            f"{source}: missing field(s) {', '.join(repr(m) for m in missing)} ({fmt} needs {', '.join(required)})"
        )
    if fmt == "MMPose dataset_info":
        keypoints = _keypoints_from_mmpose(metainfo["keypoint_info"], source)
        links = _links_from_mmpose(metainfo["skeleton_info"], source)
    else:
        keypoints = _keypoints_from_compact(metainfo["keypoints"], source)
        links = _links_from_compact(metainfo["skeleton"], source)
    return _parse(
        str(metainfo["dataset_name"]),
        keypoints,
        links,
        metainfo["joint_weights"],
        metainfo["sigmas"],
        source,
        one_way_swaps=bool(metainfo.get("allow_one_way_swaps", False)),
    )


def _from_file(path: str, source: str) -> dict[str, Any]:
    """MMPose's ``from_file``: a YAML file is loaded; a Python dataset config (``.../datasets/<name>.py``) is never
    executed: its stem names the packaged metainfo of the same dataset."""
    p = Path(path)
    if p.suffix in (".yaml", ".yml"):
        return _load_path(p)
    if p.suffix == ".py":
        if (METAINFO_DIR / f"{p.stem}.yaml").is_file():
            return _load_packaged(p.stem)
        raise ValueError(
            f"{source}: from_file={path!r}: posekit does not execute Python configs and has no packaged metainfo "
            f"{p.stem!r}; packaged: {', '.join(list_metainfos())} (or convert it to a YAML metainfo file)"
        )
    raise ValueError(f"{source}: from_file={path!r} must be a .yaml metainfo file or an MMPose dataset config .py")


# ----------------------------------------------------------------------------------------------------------------------
# sources


@functools.lru_cache(maxsize=64)
def _load_packaged(name: str) -> dict[str, Any]:
    path = METAINFO_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(
            f"unknown dataset metainfo {name!r}; packaged ones: {', '.join(list_metainfos())} "
            "(or pass the path of a YAML file in the same schema, or an MMPose dataset_info dict)"
        )
    return _load_path(path)


def _to_plain(obj: Any) -> Any:
    """OmegaConf containers (a metainfo given in a Hydra config) -> plain dicts and lists."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf
    except ImportError:  # pragma: no cover - omegaconf ships with hydra
        return obj
    if isinstance(obj, (DictConfig, ListConfig)):
        return OmegaConf.to_container(obj, resolve=True)
    return obj


def _looks_like_path(s: str) -> bool:
    return "/" in s or "\\" in s or s.endswith((".yaml", ".yml", ".py"))


def _load_path(path: Path) -> dict[str, Any]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"metainfo file {str(path)!r} does not exist")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        raw = _read_mmpose_py_config(text, str(path))
    else:
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ValueError(f"{path}: not valid YAML: {e}") from e
        if isinstance(raw, Mapping) and "dataset_info" in raw and "dataset_name" not in raw:
            raw = raw["dataset_info"]
    return parse_pose_metainfo(raw, source=str(path))


def _load_from_file_key(from_file: str | Path) -> dict[str, Any]:
    path = Path(from_file).expanduser()
    if path.is_file():
        return _load_path(path)
    if path.stem in list_metainfos():
        return copy.deepcopy(_load_packaged(path.stem))
    raise FileNotFoundError(
        f"metainfo from_file {str(from_file)!r} does not exist and {path.stem!r} is not a packaged dataset "
        f"({', '.join(list_metainfos())})"
    )


def _read_mmpose_py_config(text: str, source: str) -> dict[str, Any]:
    """Read ``dataset_info = dict(...)`` from an MMPose config by evaluating literals only (no code runs)."""
    try:
        tree = ast.parse(text, filename=source)
    except SyntaxError as e:
        raise ValueError(f"{source}: not valid Python: {e}") from e
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "dataset_info"
        ):
            return _literal(node.value, source)
    raise ValueError(f"{source}: no top-level 'dataset_info = dict(...)' assignment found")


def _literal(node: ast.AST, source: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, source)
        if isinstance(value, (int, float)):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.List):
        return [_literal(e, source) for e in node.elts]
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add)):  # [1.] * 21, [..] + [..]
        left, right = _literal(node.left, source), _literal(node.right, source)
        if isinstance(node.op, ast.Add) and isinstance(left, list) and isinstance(right, list):
            return left + right
        if isinstance(node.op, ast.Mult) and isinstance(left, list) and isinstance(right, int):
            return left * right
    if isinstance(node, ast.Tuple):
        return tuple(_literal(e, source) for e in node.elts)
    if isinstance(node, ast.Dict) and None not in node.keys:
        return {_literal(k, source): _literal(v, source) for k, v in zip(node.keys, node.values)}
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "dict"
        and not node.args
        and all(kw.arg is not None for kw in node.keywords)
    ):
        return {kw.arg: _literal(kw.value, source) for kw in node.keywords}
    raise ValueError(
        f"{source}:{getattr(node, 'lineno', '?')}: dataset_info may only contain literals and dict(...) calls, "
        f"found {ast.unparse(node)!r}"
    )


# ----------------------------------------------------------------------------------------------------------------------
# validation + parsing


def _check_color(color: Any, where: str) -> tuple[int, int, int]:
    if (
        not isinstance(color, (list, tuple))
        or len(color) != 3
        or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and 0 <= c <= 255 for c in color)
    ):
        raise ValueError(f"{where}: colour must be three integers in [0, 255], got {color!r}")
    return int(color[0]), int(color[1]), int(color[2])


def _keypoints_from_compact(rows: Any, source: str) -> list[tuple[str, Any, str, str]]:
    if not isinstance(rows, (list, tuple)) or not rows:
        raise ValueError(f"{source}: field 'keypoints' must be a non-empty list of [name, [r, g, b], type, swap]")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or len(row) != 4:
            raise ValueError(f"{source}: field 'keypoints' row {i} must be [name, [r, g, b], type, swap], got {row!r}")
        name, color, kpt_type, swap = row
        out.append((name, color, "" if kpt_type is None else kpt_type, "" if swap is None else swap))
    return out


def _keypoints_from_mmpose(info: Any, source: str) -> list[tuple[str, Any, str, str]]:
    if not isinstance(info, Mapping) or not info:
        raise ValueError(f"{source}: field 'keypoint_info' must be a non-empty mapping {{id: dict(name=...)}}")
    # keys are the keypoint ids (ints; digit strings when the dict came from JSON)
    by_id = {int(k) if isinstance(k, str) and k.isdigit() else k: v for k, v in info.items()}
    ids = list(by_id.keys())
    if not all(isinstance(i, int) for i in ids) or sorted(ids) != list(range(len(ids))):
        raise ValueError(f"{source}: field 'keypoint_info' ids must be 0..{len(ids) - 1}, got {ids}")
    out = []
    for kid in range(len(ids)):
        kpt = by_id[kid]
        if not isinstance(kpt, Mapping) or "name" not in kpt:
            raise ValueError(f"{source}: field 'keypoint_info' entry {kid} must be a dict with a 'name', got {kpt!r}")
        if "id" in kpt and kpt["id"] != kid:
            raise ValueError(f"{source}: field 'keypoint_info' entry {kid} has id={kpt['id']!r}")
        out.append((kpt["name"], kpt.get("color", _DEFAULT_KEYPOINT_COLOR), kpt.get("type", ""), kpt.get("swap", "")))
    return out


def _links_from_compact(rows: Any, source: str) -> list[tuple[str, str, Any]]:
    if rows is None:
        return []
    if not isinstance(rows, (list, tuple)):
        raise ValueError(f"{source}: field 'skeleton' must be a list of [name_a, name_b, [r, g, b]]")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or len(row) not in (2, 3):
            raise ValueError(f"{source}: field 'skeleton' row {i} must be [name_a, name_b, [r, g, b]], got {row!r}")
        out.append((row[0], row[1], row[2] if len(row) == 3 else _DEFAULT_LINK_COLOR))
    return out


def _links_from_mmpose(info: Any, source: str) -> list[tuple[str, str, Any]]:
    if info is None:
        return []
    if not isinstance(info, Mapping):
        raise ValueError(f"{source}: field 'skeleton_info' must be a mapping {{id: dict(link=(a, b), color=...)}}")
    out = []
    for sid, sk in info.items():  # MMPose keeps the mapping's order
        link = sk.get("link") if isinstance(sk, Mapping) else None
        if not isinstance(link, (list, tuple)) or len(link) != 2:
            raise ValueError(f"{source}: field 'skeleton_info' entry {sid} needs link=(name_a, name_b), got {sk!r}")
        out.append((link[0], link[1], sk.get("color", _DEFAULT_LINK_COLOR)))
    return out


def _float_vector(values: Any, field: str, k: int, source: str, allow_empty: bool = False) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{source}: field {field!r} must be a list of {k} numbers ({e})") from e
    if allow_empty and arr.size == 0:
        return arr.reshape(0)
    if arr.ndim != 1 or arr.shape[0] != k:
        hint = " (or none, where OKS is undefined)" if allow_empty else ""
        raise ValueError(
            f"{source}: field {field!r} has {arr.size} values but there are {k} keypoints; give one per keypoint{hint}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{source}: field {field!r} contains non-finite values")
    return arr


def _parse(
    dataset_name: str,
    keypoints: list[tuple[str, Any, str, str]],
    links: list[tuple[str, str, Any]],
    joint_weights: Any,
    sigmas: Any,
    source: str,
    one_way_swaps: bool = False,
) -> dict[str, Any]:
    name2id: dict[str, int] = {}
    for i, (name, _, _, _) in enumerate(keypoints):
        if not isinstance(name, str) or not name:
            raise ValueError(f"{source}: field 'keypoints' entry {i}: name must be a non-empty string, got {name!r}")
        if name in name2id:
            raise ValueError(f"{source}: field 'keypoints': duplicate name {name!r} (ids {name2id[name]} and {i})")
        name2id[name] = i
    k = len(keypoints)

    upper, lower, flip_indices, flip_pairs, colors = [], [], [], [], []
    for i, (name, color, kpt_type, swap) in enumerate(keypoints):
        colors.append(_check_color(color, f"{source}: field 'keypoints' entry {i} ({name})"))
        if kpt_type not in _KEYPOINT_TYPES:
            raise ValueError(
                f"{source}: field 'keypoints' entry {i} ({name}): type must be 'upper', 'lower' or '', got {kpt_type!r}"
            )
        if kpt_type == "upper":
            upper.append(i)
        elif kpt_type == "lower":
            lower.append(i)
        if swap == "" or swap == name:
            flip_indices.append(i)
            continue
        if swap not in name2id:
            raise ValueError(f"{source}: field 'keypoints' entry {i} ({name}): unknown swap partner {swap!r}")
        partner = name2id[swap]
        partner_swap = keypoints[partner][3]
        if partner_swap != name and not one_way_swaps:
            raise ValueError(
                f"{source}: field 'keypoints': {name!r} swaps with {swap!r} but {swap!r} swaps with "
                f"{partner_swap!r} (flip partners must be mutual)"
            )
        flip_indices.append(partner)
        pair = (partner, i)  # MMPose: (swap, name); both orders end up in the list
        if pair not in flip_pairs:
            flip_pairs.append(pair)

    skeleton_links, link_colors = [], []
    for j, (a, b, color) in enumerate(links):
        for end in (a, b):
            if end not in name2id:
                raise ValueError(f"{source}: field 'skeleton' link {j} ({a!r}, {b!r}): unknown keypoint {end!r}")
        skeleton_links.append((name2id[a], name2id[b]))
        link_colors.append(_check_color(color, f"{source}: field 'skeleton' link {j} ({a}, {b})"))

    return dict(
        dataset_name=dataset_name,
        num_keypoints=k,
        keypoint_id2name={i: kp[0] for i, kp in enumerate(keypoints)},
        keypoint_name2id=name2id,
        upper_body_ids=upper,
        lower_body_ids=lower,
        flip_indices=flip_indices,
        flip_pairs=flip_pairs,
        keypoint_colors=np.array(colors, dtype=np.uint8).reshape(k, 3),
        num_skeleton_links=len(skeleton_links),
        skeleton_links=skeleton_links,
        skeleton_link_colors=np.array(link_colors, dtype=np.uint8).reshape(len(link_colors), 3),
        dataset_keypoint_weights=_float_vector(joint_weights, "joint_weights", k, source),
        # MMPose leaves sigmas empty where OKS is undefined (e.g. onehand10k); that stays (0,) as in MMPose.
        sigmas=_float_vector(sigmas, "sigmas", k, source, allow_empty=True),
    )
