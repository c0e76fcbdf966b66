"""Checking configs read from files we did not write (a checkpoint's stored ``posekit_cfg``) before Hydra
instantiates them: ``_target_`` may only name a class of an allowlisted package.

``hydra.utils.instantiate`` imports and calls whatever ``_target_`` names, so a checkpoint whose stored config says
``data: {_target_: os.system, _args_: [...]}`` would run a command on ``posekit-eval``. :func:`check_targets` walks
the whole config first and refuses, in one line naming the key path, any ``_target_`` that is not a class under
:data:`ALLOWED_PREFIXES` (``posekit.``, ``torch.nn.``, ``torch.optim.``, ``torchvision.``, Lightning's callbacks and
loggers, ``lightning.pytorch.Trainer``, ``albumentations.``), and any ``trust_checkpoint: true``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ALLOWED_PREFIXES", "UnsafeConfigError", "check_targets"]

ALLOWED_PREFIXES: tuple[str, ...] = (
    "posekit.",
    "torch.nn.",
    "torch.optim.",
    "torchvision.models.",
    "torchvision.transforms.",
    "torchvision.ops.",
    "lightning.pytorch.callbacks.",
    "lightning.pytorch.loggers.",
    "lightning.pytorch.Trainer",
    "albumentations.",
)
# functions (not classes) that configs may name; everything else must be a class
ALLOWED_FUNCTIONS: frozenset[str] = frozenset()


class UnsafeConfigError(ValueError):
    """A stored configuration names something posekit will not instantiate."""


def _locate(path: str) -> Any:
    """Import the longest importable module prefix of ``path`` and walk the attributes (only for allowed paths)."""
    parts = path.split(".")
    for i in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(path)


def _check_target(target: Any, where: str, source: str) -> None:
    if not isinstance(target, str):
        raise UnsafeConfigError(f"{source}: {where}._target_ must be a dotted class path, got {type(target).__name__}")
    allowed = any(target.startswith(p) if p.endswith(".") else target == p for p in ALLOWED_PREFIXES)
    if not allowed:
        raise UnsafeConfigError(
            f"{source}: {where}._target_={target!r} is not allowed (only classes under "
            f"{', '.join(ALLOWED_PREFIXES)}); refusing to instantiate it"
        )
    try:
        obj = _locate(target)
    except (ImportError, AttributeError):
        raise UnsafeConfigError(f"{source}: {where}._target_={target!r} does not exist") from None
    if not isinstance(obj, type) and target not in ALLOWED_FUNCTIONS:
        raise UnsafeConfigError(
            f"{source}: {where}._target_={target!r} is a {type(obj).__name__}, not a class; refusing to call it"
        )


def check_targets(cfg: Any, source: str = "config", where: str = "") -> None:
    """Raise :class:`UnsafeConfigError` (one line: ``source``, key path, value) for any ``_target_`` that is not an
    allowlisted class and any ``trust_checkpoint`` set to true. ``cfg``: dicts / lists / OmegaConf containers."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(cfg, (DictConfig, ListConfig)):
            cfg = OmegaConf.to_container(cfg, resolve=False)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    if isinstance(cfg, Mapping):
        for key, value in cfg.items():
            path = f"{where}.{key}" if where else str(key)
            if key == "_target_":
                _check_target(value, where or "<root>", source)
            elif key == "trust_checkpoint" and value not in (False, None, "false", "False", 0):
                raise UnsafeConfigError(f"{source}: {path}={value!r} is not accepted from a stored configuration")
            else:
                check_targets(value, source, path)
    elif isinstance(cfg, Sequence) and not isinstance(cfg, (str, bytes)):
        for i, value in enumerate(cfg):
            check_targets(value, source, f"{where}[{i}]")
