"""Write posekit's compact metainfo YAML from MMPose's dataset configs (``configs/_base_/datasets/<name>.py``).

The facts (names, colours, swap partners, skeleton, joint weights, OKS sigmas) are MMPose's; the file is only
re-spelled in the compact schema of ``posekit/datasets/metainfo/__init__.py``. The ``.py`` is read as literals
(``ast``), never executed, so any Python runs this::

    python tests/data/tools/make_metainfo_yaml.py \
        /opt/mmref/lib/python3.11/site-packages/mmpose/.mim/configs/_base_/datasets src/posekit/datasets/metainfo \
        aflw 300w cofw lapa ...
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path


def _literal(node: ast.AST, env: dict | None = None):
    """``ast.literal_eval`` plus ``dict(k=v, ...)`` calls, ``[...] * n`` and names / subscripts of earlier
    module-level literals (``colors['sss']``): how MMPose's dataset configs are written."""
    env = {} if env is None else env
    if isinstance(node, ast.Name) and node.id in env:
        return env[node.id]
    if isinstance(node, ast.Subscript):
        return _literal(node.value, env)[_literal(node.slice, env)]
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict" and not node.args:
        return {kw.arg: _literal(kw.value, env) for kw in node.keywords}
    if isinstance(node, ast.Dict):
        return {_literal(k, env): _literal(v, env) for k, v in zip(node.keys, node.values)}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e, env) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Add)):
        left, right = _literal(node.left, env), _literal(node.right, env)
        return left * right if isinstance(node.op, ast.Mult) else left + right
    return ast.literal_eval(node)


def read_dataset_info(path: Path) -> dict:
    tree = ast.parse(path.read_text())
    env: dict = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            env[node.targets[0].id] = _literal(node.value, env)
    if "dataset_info" in env:
        return env["dataset_info"]
    raise ValueError(f"{path}: no dataset_info = dict(...)")


def _q(s: str) -> str:
    return "''" if s == "" else (f"'{s}'" if any(c in s for c in ":#[]{},&*!|>'\"%@`") or s[0] in "-?" else s)


def _floats(values: list, per_line: int = 10) -> str:
    if not values:
        return "[]"
    rows = [", ".join(repr(float(v)) for v in values[i : i + per_line]) for i in range(0, len(values), per_line)]
    return "[\n  " + ",\n  ".join(rows) + "\n]"


def to_yaml(name: str, info: dict) -> str:
    kinfo = info["keypoint_info"]
    kpts = [kinfo[i] for i in sorted(kinfo)]
    paper = info.get("paper_info", {})
    lines = [
        f"# {name}: from MMPose 1.x configs/_base_/datasets/{name}.py (Apache-2.0, OpenMMLab).",
        f"# {len(kpts)} keypoints. Rows: [name, [r, g, b], type, swap partner].",
        f"dataset_name: {_q(info['dataset_name'])}",
        "paper_info:",
    ]
    for key in ("author", "title", "container", "year", "homepage"):
        value = " ".join(str(paper.get(key, "")).split())
        lines.append(f"  {key}: {json.dumps(value)}")
    lines.append("keypoints:  # [name, [r, g, b], type (upper|lower|''), swap partner or '']")
    for k in kpts:
        color = list(k.get("color", [255, 128, 0]))
        lines.append(f"  - [{_q(k['name'])}, {color}, {_q(k.get('type', ''))}, {_q(k.get('swap', ''))}]")
    sinfo = info.get("skeleton_info", {})
    if sinfo:
        lines.append("skeleton:  # [name_a, name_b, [r, g, b]]")
        for i in sorted(sinfo):
            a, b = sinfo[i]["link"]
            lines.append(f"  - [{_q(a)}, {_q(b)}, {list(sinfo[i].get('color', [96, 96, 255]))}]")
    else:
        lines.append("skeleton: []")
    lines.append(f"joint_weights: {_floats(info['joint_weights'])}")
    lines.append(f"sigmas: {_floats(info.get('sigmas', []))}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    src, dst, *names = argv
    for name in names:
        info = read_dataset_info(Path(src) / f"{name}.py")
        out = Path(dst) / f"{name}.yaml"
        out.write_text(to_yaml(name, info))
        print(f"{out}: {len(info['keypoint_info'])} keypoints")


if __name__ == "__main__":
    main(sys.argv[1:])
