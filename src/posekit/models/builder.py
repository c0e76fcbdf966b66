"""Building models from configs: :func:`build_model` (by name, through Hydra's compose API),
:func:`build_model_from_cfg` and :func:`build_object` (one sub-object from a config or an instance).

There is no registry: a config names its class with ``_target_`` (a dotted path, instantiated by Hydra) or,
for MMPose-style dicts, with ``type`` (a class name looked up in posekit's model/codec namespaces).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["build_object", "build_model", "build_model_from_cfg", "list_models"]

# where MMPose-style ``type=`` names are looked up, in order
_TYPE_NAMESPACES = (
    "posekit.models.losses",
    "posekit.models.heads",
    "posekit.models.necks",
    "posekit.models.backbones",
    "posekit.codecs",
    "posekit.models",
)


def _is_mapping(cfg: Any) -> bool:
    if isinstance(cfg, Mapping):
        return True
    try:
        from omegaconf import DictConfig

        return isinstance(cfg, DictConfig)
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        return False


def _resolve_type(name: str) -> Any:
    if "." in name:
        module, _, attr = name.rpartition(".")
        return getattr(importlib.import_module(module), attr)
    for ns in _TYPE_NAMESPACES:
        try:
            module = importlib.import_module(ns)
        except ImportError:
            continue
        obj = getattr(module, name, None)
        if obj is not None:
            return obj
    raise KeyError(
        f"build_object: unknown type {name!r}; it is not exported by any of {list(_TYPE_NAMESPACES)}. "
        "Use `_target_: full.dotted.Path` or one of the exported class names."
    )


def build_object(cfg: Any, what: str = "object") -> Any:
    """Return ``cfg`` built into an object.

    * ``None`` -> ``None``; an object that is not a mapping (a module, a codec ...) is returned as is;
    * a mapping / ``DictConfig`` with ``_target_`` -> ``hydra.utils.instantiate(cfg, _convert_="all")``;
    * a mapping with ``type`` (MMPose style, e.g. ``dict(type='KeypointMSELoss', use_target_weight=True)``)
      -> the class of that name from posekit's losses/heads/necks/backbones/codecs, called with the other keys.

    ``what`` names the argument in error messages.
    """
    if cfg is None or not _is_mapping(cfg):
        return cfg
    if "_target_" in cfg:
        from hydra.utils import instantiate

        return instantiate(cfg, _convert_="all")
    if "type" in cfg:
        kwargs = {k: _to_container(v) for k, v in cfg.items() if k != "type"}
        return _resolve_type(str(cfg["type"]))(**kwargs)
    raise ValueError(
        f"cannot build {what} from {dict(cfg)!r}: a config needs `_target_` (dotted class path) or `type` (class name)"
    )


def _to_container(v: Any) -> Any:
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf

        if isinstance(v, (DictConfig, ListConfig)):
            return OmegaConf.to_container(v, resolve=True)
    except ImportError:  # pragma: no cover
        pass
    return v


def list_models() -> list[str]:
    """Names of the packaged model configs: posekit's short names (``conf/model/*.yaml``) followed by the MMPose
    config stems (``conf/model/mmpose/<stem>.yaml``, the 142 MMPose 1.3.2 COCO top-down configs)."""
    from posekit.config import list_configs

    return list_configs("model") + list_configs("model/mmpose")


def build_model(name: str = "tiny", num_keypoints: int = 17, overrides: Sequence[str] = ()):
    """Compose ``conf/model_only.yaml`` with ``model=<name>`` (plus Hydra ``overrides``) and build the model.

    ``name`` is a short posekit name (``hrnet_w32``) or an MMPose config stem
    (``td-hm_hrnet-w32_8xb64-210e_coco-256x192``, also ``mmpose/<stem>`` or the config's path).
    Example: ``build_model("hrnet_w32", overrides=["model.test_cfg.flip_test=false"])``.
    Composition is :func:`posekit.config.compose_model` (works inside a running Hydra app too).
    """
    from posekit.config import compose_model

    return build_model_from_cfg(compose_model(name, num_keypoints=num_keypoints, overrides=overrides))


def build_model_from_cfg(cfg: Any):
    """Build a :class:`~posekit.models.TopdownPoseEstimator` from a composed config.

    ``cfg`` is either the root config (with a ``model`` key, as composed by the CLIs or ``model_only.yaml``)
    or the model node itself (with ``_target_``). Interpolations (``${codec}``, ``${num_keypoints}``) are
    resolved against the root.
    """
    from hydra.utils import instantiate
    from omegaconf import DictConfig, OmegaConf

    if not isinstance(cfg, DictConfig):
        cfg = OmegaConf.create(cfg)
    node = cfg.model if "model" in cfg and "_target_" not in cfg else cfg
    if "_target_" not in node:
        raise ValueError("build_model_from_cfg: the model config has no `_target_` (expected a `model` node)")
    return instantiate(node, _convert_="all")
