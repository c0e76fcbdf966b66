"""The transform base class, :class:`Compose` and :func:`build_transform`.

A transform is any callable ``dict -> dict | None`` (returning ``None`` drops the sample). Transforms are built
from YAML with Hydra's ``_target_``; MMPose-style ``{type: Name, ...}`` dicts are accepted too and are looked up
among posekit's transforms (``posekit.datasets.transforms``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

__all__ = ["BaseTransform", "Compose", "build_transform"]


class BaseTransform:
    """Base class of posekit transforms: ``__call__`` runs :meth:`transform` (as MMCV's ``BaseTransform``)."""

    def __call__(self, results: dict) -> dict | None:
        return self.transform(results)

    def transform(self, results: dict) -> dict | None:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement transform(results)")


def _to_container(cfg: Any) -> Any:
    """OmegaConf DictConfig/ListConfig -> plain dict/list (other values unchanged)."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        return cfg
    if isinstance(cfg, (DictConfig, ListConfig)):
        return OmegaConf.to_container(cfg, resolve=True)
    return cfg


def build_transform(cfg: Any, where: str = "pipeline") -> Callable[[dict], dict | None]:
    """Turn one pipeline entry into a callable.

    ``cfg`` is a callable (returned as is), a mapping with ``_target_`` (built by ``hydra.utils.instantiate``) or
    a mapping with ``type`` naming a class of ``posekit.datasets.transforms`` (MMPose style).
    """
    if callable(cfg) and not isinstance(cfg, Mapping):
        return cfg
    cfg = _to_container(cfg)
    if not isinstance(cfg, Mapping):
        raise TypeError(
            f"{where}: a transform must be a callable or a mapping with '_target_' (or MMPose-style 'type'), "
            f"got {type(cfg).__name__}: {cfg!r}"
        )
    if "_target_" in cfg:
        from hydra.utils import instantiate

        obj = instantiate(dict(cfg))
    elif "type" in cfg:
        args = dict(cfg)
        name = args.pop("type")
        if isinstance(name, str):
            from posekit.datasets import transforms as _transforms

            cls = getattr(_transforms, name, None)
            if cls is None or not isinstance(cls, type):
                known = ", ".join(sorted(n for n in _transforms.__all__ if n[0].isupper()))
                raise ValueError(
                    f"{where}: unknown transform type {name!r}; posekit.datasets.transforms provides: {known} "
                    "(or give a '_target_' import path)"
                )
        elif isinstance(name, type):
            cls = name
        else:
            raise TypeError(f"{where}: 'type' must be a class name or a class, got {name!r}")
        obj = cls(**args)
    else:
        raise ValueError(f"{where}: transform config {dict(cfg)!r} has neither '_target_' nor 'type'")
    if not callable(obj):
        raise TypeError(f"{where}: {cfg!r} built {type(obj).__name__}, which is not callable")
    return obj


class Compose(BaseTransform):
    """Apply transforms in order; stop and return ``None`` as soon as one returns ``None``.

    Args:
        transforms: callables ``dict -> dict | None`` or configs (``{_target_: ...}`` or ``{type: ...}``).
    """

    def __init__(self, transforms: Sequence[Any] | None) -> None:
        if transforms is None:
            transforms = []
        transforms = _to_container(transforms) if not callable(transforms) else [transforms]
        if isinstance(transforms, (str, bytes, Mapping)) or not isinstance(transforms, Sequence):
            raise TypeError(f"Compose: transforms must be a list, got {type(transforms).__name__}")
        self.transforms: list[Callable[[dict], dict | None]] = [
            build_transform(t, where=f"Compose transforms[{i}]") for i, t in enumerate(transforms)
        ]

    def transform(self, results: dict) -> dict | None:
        for t in self.transforms:
            results = t(results)
            if results is None:
                return None
        return results

    def __len__(self) -> int:
        return len(self.transforms)

    def __iter__(self) -> Iterator[Callable[[dict], dict | None]]:
        return iter(self.transforms)

    def __getitem__(self, idx: int) -> Callable[[dict], dict | None]:
        return self.transforms[idx]

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}("]
        lines += [f"    {t}" for t in self.transforms]
        lines.append(")")
        return "\n".join(lines)
