"""Strict, atomic JSON: never a bare ``NaN``/``Infinity`` (invalid JSON), never a half-written file."""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["dump_json_strict", "sanitize_non_finite", "write_json_atomic"]

logger = logging.getLogger(__name__)


def _to_builtin(obj: Any) -> Any:
    """numpy / torch scalars and arrays -> Python numbers and lists (``default=`` hook of ``json.dump``)."""
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def sanitize_non_finite(obj: Any, where: str = "", found: list[str] | None = None) -> Any:
    """A copy of ``obj`` with every non-finite float replaced by ``None``; the paths replaced go into ``found``."""
    found = [] if found is None else found
    if isinstance(obj, Mapping):
        return {k: sanitize_non_finite(v, f"{where}.{k}" if where else str(k), found) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [sanitize_non_finite(v, f"{where}[{i}]", found) for i, v in enumerate(obj)]
    if not isinstance(obj, (str, bytes, bool, int)) and (hasattr(obj, "tolist") or hasattr(obj, "item")):
        return sanitize_non_finite(_to_builtin(obj), where, found)
    if isinstance(obj, float) and not math.isfinite(obj):
        found.append(f"{where}={obj}")
        return None
    return obj


def dump_json_strict(obj: Any, **kwargs: Any) -> str:
    """``json.dumps`` with ``allow_nan=False``; non-finite numbers become ``null`` and are listed under
    ``"non_finite"`` when ``obj`` is a dict (so the file stays valid JSON and says what was replaced)."""
    kwargs.setdefault("indent", 2)
    kwargs.setdefault("default", _to_builtin)
    try:  # the fast path: nothing to replace
        return json.dumps(obj, allow_nan=False, **kwargs)
    except ValueError:
        pass
    found: list[str] = []
    clean = sanitize_non_finite(obj, found=found)
    if found and isinstance(clean, dict):
        clean["non_finite"] = sorted(set(clean.get("non_finite") or []) | set(found))
    elif found:
        more = " ..." if len(found) > 5 else ""
        logger.warning("non-finite numbers written as null: %s%s", ", ".join(found[:5]), more)
    return json.dumps(clean, allow_nan=False, **kwargs)


def write_json_atomic(obj: Any, path: str | os.PathLike, **kwargs: Any) -> None:
    """Write strict JSON (see :func:`dump_json_strict`) through a temporary file, fsync and rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dump_json_strict(obj, **kwargs)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
