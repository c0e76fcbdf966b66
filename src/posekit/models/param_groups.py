"""Layer-wise learning-rate decay for ViT backbones (MMPose's ``LayerDecayOptimWrapperConstructor``).

Every trainable parameter gets a layer id: 0 for the embeddings (``backbone.cls_token``, ``backbone.mask_token``,
``backbone.pos_embed``, ``backbone.patch_embed.*``), ``i + 1`` for ``backbone.layers.i.*`` and ``num_layers + 1``
for everything else (the final norm, the neck, the head). Its learning rate is
``base_lr * layer_decay_rate ** (num_layers + 1 - layer_id)``, so the head trains at ``base_lr`` and the patch
embedding at ``base_lr * rate ** (num_layers + 1)``. One-dimensional parameters (norms, biases) and the position
embedding get no weight decay. Groups are named ``layer_{id}_{decay|no_decay}`` as in MMPose.

The module may be the estimator (``backbone.layers.3...``) or anything wrapping it (``model.backbone...``): the
name is read from its ``backbone`` component on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from torch import nn

__all__ = ["get_layer_depth", "build_layer_decay_param_groups"]


def _backbone_relative(param_name: str) -> str | None:
    """``'model.backbone.layers.3.attn.qkv.weight'`` -> ``'layers.3.attn.qkv.weight'``; None outside a backbone."""
    parts = param_name.split(".")
    if "backbone" not in parts:
        return None
    return ".".join(parts[parts.index("backbone") + 1 :])


def get_layer_depth(param_name: str, num_layers: int) -> int:
    """MMPose's ``get_num_layer_for_vit``: the layer id of a parameter of a ViT pose model, in ``[0, num_layers + 1]``.

    Args:
        param_name: full parameter name, e.g. ``'backbone.layers.3.attn.qkv.weight'`` or ``'head.final_layer.bias'``.
        num_layers: number of transformer layers (12 for ViT-B).
    """
    last = num_layers + 1
    name = _backbone_relative(param_name)
    if name is None:
        return last
    if name in ("cls_token", "mask_token", "pos_embed") or name.startswith("patch_embed"):
        return 0
    if name.startswith("layers."):
        return int(name.split(".")[1]) + 1
    return last


def _custom_mults(name: str, custom_keys: Mapping[str, Mapping[str, Any]] | None) -> tuple[float, float]:
    """``(lr_mult, decay_mult)`` of the longest ``custom_keys`` substring of ``name`` (mmengine's rule)."""
    if not custom_keys:
        return 1.0, 1.0
    for key in sorted(sorted(custom_keys), key=len, reverse=True):
        if key in name:
            cfg = custom_keys[key]
            return float(cfg.get("lr_mult", 1.0)), float(cfg.get("decay_mult", 1.0))
    return 1.0, 1.0


def build_layer_decay_param_groups(
    model: nn.Module,
    base_lr: float,
    weight_decay: float,
    layer_decay_rate: float = 0.75,
    num_layers: int = 12,
    custom_keys: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Optimizer parameter groups with layer-wise lr decay (MMPose's ``LayerDecayOptimWrapperConstructor``).

    Args:
        model: the pose model (parameter names containing ``backbone.``).
        base_lr: learning rate of the last group (the head).
        weight_decay: weight decay of the multi-dimensional, non-position-embedding parameters.
        layer_decay_rate: lr ratio between consecutive layers. Defaults to 0.75.
        num_layers: transformer layers of the backbone. Defaults to 12.
        custom_keys: optional ``{substring: {'lr_mult': a, 'decay_mult': b}}`` applied on top (longest matching
            key wins). MMPose's constructor ignores the ``custom_keys`` of ViTPose's config; the ones it lists
            (``bias``, ``pos_embed``, ``norm`` with ``decay_mult=0``) are already decay-free here, so passing them
            changes nothing.

    Returns:
        ``torch.optim`` parameter groups (layer order, decay before no-decay) with the extra keys ``group_name``,
        ``param_names``, ``lr_scale`` (the decay factor) and ``weight_decay``.
    """
    rate = float(layer_decay_rate)
    groups: dict[tuple[str, float, float], dict[str, Any]] = {}
    seen: set[int] = set()
    for name, param in model.named_parameters():
        if not param.requires_grad or id(param) in seen:
            continue
        seen.add(id(param))
        no_decay = param.ndim == 1 or name.endswith(".bias") or "pos_embed" in name
        kind = "no_decay" if no_decay else "decay"
        layer_id = get_layer_depth(name, num_layers)
        lr_mult, decay_mult = _custom_mults(name, custom_keys)
        scale = rate ** (num_layers + 1 - layer_id)
        this_wd = 0.0 if no_decay else weight_decay * decay_mult
        key = (f"layer_{layer_id}_{kind}", lr_mult, this_wd)
        if key not in groups:
            default_wd = 0.0 if no_decay else weight_decay
            plain = lr_mult == 1.0 and this_wd == default_wd
            group_name = key[0] if plain else f"{key[0]}_lr{lr_mult}_wd{this_wd}"
            groups[key] = {
                "params": [],
                "param_names": [],
                "group_name": group_name,
                "layer_id": layer_id,
                "lr_scale": scale,
                "lr": scale * lr_mult * base_lr,
                "weight_decay": this_wd,
            }
        groups[key]["params"].append(param)
        groups[key]["param_names"].append(name)
    return sorted(groups.values(), key=lambda g: (g["layer_id"], g["group_name"]))
