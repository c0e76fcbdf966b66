"""Weights by name: aliases a user would guess -> MMPose config stems, the registry's URL of a stem, and a
checkpoint given as a path or a URL -> a local file (downloaded once, verified, an MMPose checkpoint converted
once and the converted weights cached next to the download).

>>> resolve_model_name("human")
'rtmpose-m_8xb256-420e_aic-coco-256x192'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

__all__ = ["ALIASES", "PACKAGED_STEMS", "checkpoint_file", "pretrained_url", "resolve_model_name"]

logger = logging.getLogger(__name__)

#: names a user would guess -> MMPose 1.3.2 config stems (the best published COCO weights of each family)
ALIASES: dict[str, str] = {
    "human": "rtmpose-m_8xb256-420e_aic-coco-256x192",
    "body": "rtmpose-m_8xb256-420e_aic-coco-256x192",
    "rtmpose": "rtmpose-m_8xb256-420e_aic-coco-256x192",
    "rtmpose-t": "rtmpose-t_8xb256-420e_aic-coco-256x192",
    "rtmpose-s": "rtmpose-s_8xb256-420e_aic-coco-256x192",
    "rtmpose-m": "rtmpose-m_8xb256-420e_aic-coco-256x192",
    "rtmpose-l": "rtmpose-l_8xb256-420e_aic-coco-256x192",
    "rtmpose-m-384": "rtmpose-m_8xb256-420e_aic-coco-384x288",
    "rtmpose-l-384": "rtmpose-l_8xb256-420e_aic-coco-384x288",
    "hrnet-w32": "td-hm_hrnet-w32_8xb64-210e_coco-256x192",
    "hrnet-w48": "td-hm_hrnet-w48_8xb32-210e_coco-256x192",
    "hrnet-w32-dark": "td-hm_hrnet-w32_dark-8xb64-210e_coco-256x192",
    "hrnet-w48-dark": "td-hm_hrnet-w48_dark-8xb32-210e_coco-256x192",
    "hrnet-w32-udp": "td-hm_hrnet-w32_udp-8xb64-210e_coco-256x192",
    "vitpose-s": "td-hm_ViTPose-small_8xb64-210e_coco-256x192",
    "vitpose-b": "td-hm_ViTPose-base_8xb64-210e_coco-256x192",
    "vitpose-l": "td-hm_ViTPose-large_8xb64-210e_coco-256x192",
    "vitpose-h": "td-hm_ViTPose-huge_8xb64-210e_coco-256x192",
    "res50": "td-hm_res50_8xb64-210e_coco-256x192",
    "res101": "td-hm_res101_8xb64-210e_coco-256x192",
    "res152": "td-hm_res152_8xb32-210e_coco-256x192",
    "mobilenetv2": "td-hm_mobilenetv2_8xb64-210e_coco-256x192",
    "litehrnet-18": "td-hm_litehrnet-18_8xb64-210e_coco-256x192",
    "litehrnet-30": "td-hm_litehrnet-30_8xb64-210e_coco-256x192",
    "cspnext-m": "cspnext-m_udp_8xb256-210e_aic-coco-256x192",
}
#: posekit's packaged model configs (``conf/model/<name>.yaml``) -> the MMPose stem whose weights fit them
PACKAGED_STEMS: dict[str, str] = {
    "hrnet_w32": "td-hm_hrnet-w32_8xb64-210e_coco-256x192",
    "hrnet_w48": "td-hm_hrnet-w48_8xb32-210e_coco-256x192",
    "litehrnet_18": "td-hm_litehrnet-18_8xb64-210e_coco-256x192",
    "mobilenetv2": "td-hm_mobilenetv2_8xb64-210e_coco-256x192",
    "res50": "td-hm_res50_8xb64-210e_coco-256x192",
    "res50_rle": "td-reg_res50_rle-8xb64-210e_coco-256x192",
    "rtmpose_t": "rtmpose-t_8xb256-420e_coco-256x192",
    "rtmpose_s": "rtmpose-s_8xb256-420e_coco-256x192",
    "rtmpose_m": "rtmpose-m_8xb256-420e_coco-256x192",
    "rtmpose_l": "rtmpose-l_8xb256-420e_coco-256x192",
    "simcc_res50": "simcc_res50_8xb64-210e_coco-256x192",
    "vitpose_b": "td-hm_ViTPose-base_8xb64-210e_coco-256x192",
}


def resolve_model_name(name: str) -> str:
    """An alias (``'human'``, ``'rtmpose-m'``, ``'hrnet-w32'``, case-insensitive) -> its MMPose config stem; any
    other name (a stem, a packaged config) is returned unchanged."""
    return ALIASES.get(name.lower(), name)


def pretrained_url(name: str) -> str:
    """The published weights URL of an alias, an MMPose stem or a packaged config (see :data:`PACKAGED_STEMS`)."""
    from posekit.models.zoo import get_model_info

    stem = PACKAGED_STEMS.get(name, resolve_model_name(name))
    try:
        info = get_model_info(stem)
    except KeyError:
        known = ", ".join(sorted(ALIASES))
        raise ValueError(
            f"pretrained=True: {name!r} has no published weights (not an alias ({known}), an MMPose config stem "
            "(posekit.models.zoo.list_configs()) nor a packaged config with MMPose weights); pass checkpoint=PATH|URL"
        ) from None
    if not info.weights:
        raise ValueError(f"pretrained=True: MMPose publishes no weights for {stem}; pass checkpoint=PATH|URL")
    return info.weights.strip(" ()")  # one MMPose metafile writes its URL in parentheses (vipnas-mbv3)


def has_pretrained_weights(name: str) -> bool:
    """Whether :func:`pretrained_url` knows weights for ``name``."""
    try:
        pretrained_url(name)
    except ValueError:
        return False
    return True


def _is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def checkpoint_file(spec: str | os.PathLike) -> Path:
    """A checkpoint given as a local path or an http(s) URL -> a local file (URLs through
    :func:`posekit.hub.download_weights`: cached, sha256-verified)."""
    from posekit.hub import download_weights

    text = os.fspath(spec)
    if _is_url(text):
        return download_weights(text)
    path = Path(text).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"init_model: checkpoint {text!r} does not exist (a local file or an http(s) URL)")
    return path


def converted_path(path: Path) -> Path:
    """Where the converted weights of a downloaded MMPose checkpoint are cached: ``<name>.posekit.pth`` beside it."""
    return path.with_name(f"{path.stem}.posekit.pth")


def load_mmpose_weights(model: nn.Module, raw: Mapping, path: Path, cache: bool) -> None:
    """Convert a loaded MMPose checkpoint for ``model`` (strict: every entry must match) and load it; with ``cache``
    the converted state_dict is saved once next to ``path`` (:func:`converted_path`) for the next call."""
    from posekit.models.convert import CheckpointMismatchError, convert_mmpose_state_dict, extract_mmpose_state_dict
    from posekit.models.utils.checkpoint import atomic_torch_save

    state = extract_mmpose_state_dict(raw)
    converted, report = convert_mmpose_state_dict(state, model)
    text = report.describe(str(path), f"{type(model).__name__}")
    if text:
        raise CheckpointMismatchError(f"{text}\n(pass the model config these weights were trained with)")
    model.load_state_dict(converted, strict=True)
    if cache:
        atomic_torch_save({"state_dict": dict(model.state_dict()), "source": path.name}, converted_path(path))


def load_cached_conversion(model: nn.Module, path: Path) -> bool:
    """Load the cached converted weights of ``path`` into ``model`` when they exist and fit; returns whether it did."""
    target = converted_path(path)
    if not target.is_file() or target.stat().st_mtime < path.stat().st_mtime:
        return False
    state = torch.load(target, map_location="cpu", weights_only=True).get("state_dict")
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError):
        logger.info("%s does not fit this model; converting %s again", target, path)
        return False
    return True
