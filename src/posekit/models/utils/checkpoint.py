"""Loading checkpoints into modules, MMPose/mmengine style; URLs are downloaded once through :mod:`posekit.hub`.

* :func:`load_checkpoint` reads a local file (a bare state_dict, ``{'state_dict': ...}`` as MMPose/Lightning save,
  or ``{'model': ...}``), drops a ``module.`` prefix (DataParallel), optionally keeps only the keys under
  ``prefix`` (``'backbone.'``) with the prefix stripped, and loads them with :func:`load_state_dict`.
* :func:`load_state_dict` is ``strict=False`` by default like mmengine: entries whose shape disagrees with the
  module are skipped (and reported) instead of raising; missing and unexpected keys are logged and returned.
* Remote addresses: ``https://...`` and ``torchvision://resnet50`` (torchvision's ImageNet weights, whose ResNet
  layout is MMPose's; ``fc.*`` is left out as unexpected) are used from torch's hub cache when there, else
  downloaded once through :func:`posekit.hub.download_weights`; ``open-mmlab://...`` / ``mmcls://...`` raise
  :class:`RemoteCheckpointError`.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import torch
import torch.nn as nn

__all__ = [
    "LoadResult",
    "atomic_torch_save",
    "RemoteCheckpointError",
    "get_state_dict",
    "load_checkpoint",
    "load_checkpoint_file",
    "load_state_dict",
    "prepare_state_dict",
    "resolve_checkpoint_path",
]

logger = logging.getLogger(__name__)

_REMOTE_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class RemoteCheckpointError(RuntimeError):
    """A checkpoint was given as a remote address; posekit does not download weights."""


class LoadResult(NamedTuple):
    """Keys that were not loaded: ``missing_keys`` (module entries left as they were, shape mismatches
    included) and ``unexpected_keys`` (checkpoint entries the module has no place for)."""

    missing_keys: list[str]
    unexpected_keys: list[str]


# --------------------------------------------------------------------------------------------------------------
# locating the file
# --------------------------------------------------------------------------------------------------------------


def _hub_checkpoint_dir() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints"


def _torchvision_url(model_name: str) -> str | None:
    """The URL mmengine's ``torchvision://<name>`` means: torchvision's ``IMAGENET1K_V1`` weights (else DEFAULT)."""
    try:
        import torchvision

        enum = torchvision.models.get_model_weights(model_name)
    except Exception:  # unknown model name / old torchvision
        return None
    weights = getattr(enum, "IMAGENET1K_V1", None) or getattr(enum, "DEFAULT", None)
    return None if weights is None else weights.url


def resolve_checkpoint_path(checkpoint: str | os.PathLike) -> Path:
    """Return the local file for ``checkpoint``.

    Local paths (``~`` expanded) must exist. For ``http(s)://`` and ``torchvision://`` addresses, a file of the same
    name already in torch's hub cache is returned, else it is downloaded once through
    :func:`posekit.hub.download_weights` (``torchvision://`` into torch's hub cache, where torchvision looks too;
    URLs into :func:`posekit.hub.weights_dir`). Other remote addresses (``open-mmlab://``, ``mmcls://``) raise
    :class:`RemoteCheckpointError`; a missing local file :class:`FileNotFoundError`.
    """
    text = os.fspath(checkpoint)
    if not _REMOTE_RE.match(text):
        path = Path(text).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"checkpoint file not found: {path} (pass the path of a local .pth/.ckpt file)")
        return path

    url: str | None = None
    if text.startswith(("http://", "https://")):
        url = text
    elif text.startswith(("torchvision://", "modelzoo://")):
        url = _torchvision_url(text.split("://", 1)[1])
    if url is not None:
        cached = _hub_checkpoint_dir() / Path(url.split("?")[0]).name
        if cached.is_file():
            logger.info("using %s from the torch hub cache for %s", cached, text)
            return cached
        from posekit.hub import download_weights  # downloaded once, sha256-checked, POSEKIT_WEIGHTS_MIRROR applies

        torchvision = text.startswith(("torchvision://", "modelzoo://"))
        return download_weights(url, folder=cached.parent if torchvision else None)
    raise RemoteCheckpointError(
        f"checkpoint {text!r} is an mmengine/OpenMMLab model-zoo alias that posekit does not resolve; look up the "
        "file it names in MMPose's documentation and pass its URL or local path "
        "(init_cfg=dict(type='Pretrained', checkpoint='https://... or /path/to/file.pth'))"
    )


# --------------------------------------------------------------------------------------------------------------
# reading the file
# --------------------------------------------------------------------------------------------------------------


def load_checkpoint_file(
    checkpoint: str | os.PathLike, map_location: str | torch.device | None = "cpu", trust_checkpoint: bool = False
) -> Any:
    """Read a local checkpoint (see :func:`resolve_checkpoint_path` for remote addresses) without running code.

    ``weights_only=True`` first; MMPose/mmengine checkpoints (mmengine objects, numpy arrays in ``meta``) are then
    read by :func:`posekit.utils.checkpoint_io.restricted_load`: tensors and arrays load, other objects become
    inert stand-ins. ``trust_checkpoint=True`` unpickles everything (only for files you trust).
    """
    from posekit.utils.checkpoint_io import load_checkpoint_file as _safe_load

    return _safe_load(resolve_checkpoint_path(checkpoint), map_location=map_location, trust_checkpoint=trust_checkpoint)


def _is_state_dict(obj: Any) -> bool:
    return isinstance(obj, Mapping) and len(obj) > 0 and all(isinstance(v, torch.Tensor) for v in obj.values())


def get_state_dict(checkpoint: Any, source: str = "checkpoint") -> dict[str, torch.Tensor]:
    """The state_dict inside a loaded checkpoint: ``['state_dict']``, else ``['model']``, else the dict itself."""
    if not isinstance(checkpoint, Mapping):
        raise RuntimeError(f"no state_dict found in {source}: it holds a {type(checkpoint).__name__}, not a dict")
    for key in ("state_dict", "model"):
        if key in checkpoint and isinstance(checkpoint[key], Mapping):
            checkpoint = checkpoint[key]
            break
    state_dict = OrderedDict((k, v) for k, v in checkpoint.items() if isinstance(v, torch.Tensor))
    if not state_dict:
        raise RuntimeError(f"no tensors found in {source} (top-level keys: {list(checkpoint)[:10]})")
    return state_dict


def _revise_keys(
    state_dict: Mapping[str, torch.Tensor], revise_keys: Iterable[tuple[str, str]]
) -> OrderedDict[str, torch.Tensor]:
    out = OrderedDict(state_dict)
    for pattern, repl in revise_keys:
        out = OrderedDict((re.sub(pattern, repl, k), v) for k, v in out.items())
    return out


def _select_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str, source: str) -> OrderedDict:
    if not prefix.endswith("."):
        prefix += "."
    selected = OrderedDict((k[len(prefix) :], v) for k, v in state_dict.items() if k.startswith(prefix))
    if not selected:
        sample = ", ".join(list(state_dict)[:5])
        raise KeyError(f"no entry of {source} starts with prefix {prefix!r} (first keys: {sample})")
    return selected


# --------------------------------------------------------------------------------------------------------------
# loading into a module
# --------------------------------------------------------------------------------------------------------------


def prepare_state_dict(module: nn.Module, state_dict: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """A copy of ``state_dict`` adapted by every submodule of ``module`` that defines
    ``prepare_state_dict(state_dict, prefix)`` (e.g. the ViT backbone resizes ``{prefix}pos_embed`` to its grid).

    :func:`load_state_dict` calls this before comparing shapes, so such entries are adapted instead of skipped as
    shape mismatches. The hooks must be idempotent: ``module.load_state_dict`` may run them again.
    """
    prepared = OrderedDict(state_dict)
    for name, sub in module.named_modules():
        prepare = getattr(sub, "prepare_state_dict", None)
        if callable(prepare):
            prepare(prepared, f"{name}." if name else "")
    return prepared


def load_state_dict(
    module: nn.Module,
    state_dict: Mapping[str, torch.Tensor],
    strict: bool = False,
    log: logging.Logger | None = None,
) -> LoadResult:
    """Copy ``state_dict`` into ``module``.

    Submodules defining ``prepare_state_dict(state_dict, prefix)`` adapt their entries first (see
    :func:`prepare_state_dict`: a ViT ``pos_embed`` of another grid is resized, not skipped). Entries whose shape
    still differs from the module's are skipped (reported as missing) rather than raising. With
    ``strict=True`` any missing, unexpected or mismatched key raises ``RuntimeError``; otherwise they are logged
    as a warning.

    Returns:
        :class:`LoadResult` ``(missing_keys, unexpected_keys)``.
    """
    log = log or logger
    state_dict = prepare_state_dict(module, state_dict)
    own = module.state_dict()
    mismatched = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state_dict.items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    mismatched_keys = {m.split(":", 1)[0] for m in mismatched}
    to_load = OrderedDict((k, v) for k, v in state_dict.items() if k not in mismatched_keys)
    incompatible = module.load_state_dict(to_load, strict=False)
    missing = list(incompatible.missing_keys)
    unexpected = list(incompatible.unexpected_keys)

    messages = []
    if unexpected:
        messages.append(f"unexpected key in source state_dict: {', '.join(unexpected)}")
    if missing:
        messages.append(f"missing keys in source state_dict: {', '.join(k for k in missing)}")
    if mismatched:
        messages.append("size mismatch (not loaded): " + "; ".join(mismatched))
    if messages:
        text = f"while loading a state_dict into {type(module).__name__}:\n" + "\n".join(messages)
        if strict:
            raise RuntimeError(text)
        log.warning(text)
    return LoadResult(missing + sorted(mismatched_keys - set(missing)), unexpected)


def load_checkpoint(
    module: nn.Module,
    path: str | os.PathLike,
    prefix: str | None = None,
    strict: bool = False,
    map_location: str | torch.device | None = "cpu",
    revise_keys: Iterable[tuple[str, str]] = ((r"^module\.", ""),),
) -> LoadResult:
    """Load a local checkpoint file into ``module``.

    Args:
        module: the module to fill.
        path: a local ``.pth``/``.ckpt`` (bare state_dict, ``{'state_dict': ...}`` or ``{'model': ...}``); remote
            addresses raise :class:`RemoteCheckpointError` unless already in torch's hub cache.
        prefix: keep only the entries under this prefix and strip it (``'backbone.'`` loads the backbone part of
            a full MMPose model into a backbone).
        strict: raise on missing / unexpected / shape-mismatched keys instead of warning.
        map_location: as ``torch.load``.
        revise_keys: ``(regex, replacement)`` pairs applied to every key first (drops ``module.`` by default).

    Returns:
        :class:`LoadResult` ``(missing_keys, unexpected_keys)``.
    """
    checkpoint = load_checkpoint_file(path, map_location=map_location)
    source = os.fspath(path)
    state_dict = _revise_keys(get_state_dict(checkpoint, source), revise_keys)
    if prefix:
        state_dict = _select_prefix(state_dict, prefix, source)
    logger.info("loading %s%s into %s", source, f" (prefix {prefix!r})" if prefix else "", type(module).__name__)
    return load_state_dict(module, state_dict, strict=strict)


def atomic_torch_save(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then ``os.replace`` onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
