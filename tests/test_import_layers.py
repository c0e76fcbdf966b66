"""Imports flow one way (docs/CONTRACTS.md, "Imports flow one way"): every import in src/posekit, module-level and
inside functions, found with ast, must not reach a higher layer."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "posekit"

# bottom first; packages on one line are one layer (they may import each other's lower layers, not each other
# unless listed in ALLOWED)
LAYERS = [
    ("utils", "config", "hub"),
    ("structures",),
    ("codecs",),
    ("datasets", "models"),
    ("evaluation",),
    ("engine",),
    ("visualization", "apis", "testing"),
    ("cli",),
]
LEVEL = {pkg: i for i, layer in enumerate(LAYERS) for pkg in layer}
NEUTRAL = {"conf"}  # posekit.conf: the YAML files; posekit/__init__.py (conf_dir, __version__) is neutral too
# (importer, imported) allowed although it is not downward, with the reason
ALLOWED = {
    ("models", "evaluation.functional"): "numpy/torch leaf without posekit imports (heads' acc_pose), CONTRACTS.md",
    ("apis", "visualization"): "inference draws its results; visualization never imports apis",
}
# known upward imports whose fix belongs to another helper's files: (importer file, imported module) -> reason
EXCEPTIONS: dict[tuple[str, str], str] = {}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module) of every posekit import in ``path``; ``from posekit.x import y`` gives
    ``posekit.x.y`` when ``y`` is a submodule, else ``posekit.x``."""
    rel = path.relative_to(SRC.parent).with_suffix("")
    package = list(rel.parts[:-1])  # the package a relative import starts from (also for __init__.py)
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "posekit"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module.split(".")[0] != "posekit":
                continue
            for alias in node.names:
                sub = SRC.parent / Path(*module.split("."), alias.name)
                is_module = sub.with_suffix(".py").exists() or (sub / "__init__.py").exists()
                out.append((node.lineno, f"{module}.{alias.name}" if is_module else module))
    return out


def _key(module: str) -> str:
    """``posekit.evaluation.functional.x`` -> ``evaluation.functional.x``."""
    return module.split(".", 1)[1] if "." in module else ""


def violations() -> list[str]:
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC)
        importer = rel.parts[0].removesuffix(".py") if len(rel.parts) > 1 or rel.name != "__init__.py" else None
        if importer is None or importer in NEUTRAL:
            continue
        for line, module in _imports(path):
            target = _key(module)
            top = target.split(".")[0]
            if not top or top in NEUTRAL or top == importer:
                continue
            if top not in LEVEL:
                found.append(f"{rel}:{line}: imports {module}, which is in no layer (add it to CONTRACTS.md)")
                continue
            if LEVEL[top] < LEVEL[importer]:
                continue
            if any(importer == a and (target == b or target.startswith(b + ".")) for a, b in ALLOWED):
                continue
            if (str(rel), module) in EXCEPTIONS:
                continue
            found.append(f"{rel}:{line}: {importer} (layer {LEVEL[importer]}) imports {module} (layer {LEVEL[top]})")
    return found


def test_every_package_is_in_a_layer():
    packages = {p.name if p.is_dir() else p.stem for p in SRC.iterdir() if not p.name.startswith("_")}
    packages -= {"py", "typed"}
    assert {p for p in packages if (SRC / p).is_dir() or (SRC / f"{p}.py").exists()} - NEUTRAL <= set(LEVEL)


def test_imports_flow_upward_only():
    found = violations()
    assert not found, "upward imports (docs/CONTRACTS.md, 'Imports flow one way'):\n" + "\n".join(found)


def test_the_walk_sees_function_level_and_relative_imports(tmp_path):
    text = (SRC / "cli" / "eval.py").read_text()
    assert "    from posekit.engine.runner import evaluate" in text  # inside a function
    lines = {m for _, m in _imports(SRC / "cli" / "eval.py")}
    assert "posekit.engine.runner" in lines and "posekit.config" in lines
    assert {m for _, m in _imports(SRC / "models" / "__init__.py")} & {"posekit.models.builder"}
