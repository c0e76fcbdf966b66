"""Optimizer parameter groups and learning-rate schedules (MMPose's ``optim_wrapper`` / ``param_scheduler``).

* :func:`build_param_groups` implements MMPose's ``paramwise_cfg`` (``norm_decay_mult``, ``bias_decay_mult``,
  ``custom_keys``) and delegates ViT's layer-wise lr decay to :mod:`posekit.models.param_groups`.
* :func:`lr_factor` is one per-iteration schedule: linear warmup over ``warmup_iters`` iterations followed by a
  per-epoch (fractional) ``multistep``, ``cosine``, ``flat_cosine`` (RTMPose) or ``constant`` schedule. It runs
  through a :class:`torch.optim.lr_scheduler.LambdaLR` stepped every iteration, so resuming restores it exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

__all__ = ["ScheduleConfig", "build_param_groups", "lr_factor", "build_optimizer", "scaled_lr"]

_NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)


def build_param_groups(
    model: nn.Module,
    lr: float,
    weight_decay: float,
    paramwise_cfg: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Split ``model``'s trainable parameters into optimizer groups.

    ``paramwise_cfg`` keys (all optional, MMPose semantics):
      ``norm_decay_mult`` (weight decay multiplier of normalization layers' weight and bias),
      ``bias_decay_mult`` (of other layers' biases), ``custom_keys`` (``{substring: {lr_mult, decay_mult}}``, the
      longest matching key wins), ``layer_decay_rate`` + ``num_layers`` (ViT layer-wise lr decay).
    """
    cfg = dict(paramwise_cfg or {})
    if cfg.get("layer_decay_rate") is not None:
        from posekit.models.param_groups import build_layer_decay_param_groups

        return build_layer_decay_param_groups(
            model,
            base_lr=lr,
            weight_decay=weight_decay,
            layer_decay_rate=float(cfg["layer_decay_rate"]),
            num_layers=int(cfg.get("num_layers", 12)),
            custom_keys=cfg.get("custom_keys"),
        )
    norm_mult = cfg.get("norm_decay_mult")
    bias_mult = cfg.get("bias_decay_mult")
    custom = {str(k): dict(v) for k, v in (cfg.get("custom_keys") or {}).items()}
    custom_sorted = sorted(custom, key=len, reverse=True)

    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    seen: set[int] = set()
    for mod_name, module in model.named_modules():
        is_norm = isinstance(module, _NORM_TYPES)
        for p_name, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            full = f"{mod_name}.{p_name}" if mod_name else p_name
            lr_mult, decay_mult = 1.0, 1.0
            key = next((k for k in custom_sorted if k in full), None)
            if key is not None:
                lr_mult = float(custom[key].get("lr_mult", 1.0))
                decay_mult = float(custom[key].get("decay_mult", 1.0))
            else:
                if is_norm and norm_mult is not None:
                    decay_mult = float(norm_mult)
                elif p_name == "bias" and bias_mult is not None:
                    decay_mult = float(bias_mult)
            groups.setdefault((lr_mult, decay_mult), []).append(param)
    return [
        {"params": params, "lr": lr * lm, "weight_decay": weight_decay * dm, "lr_mult": lm, "decay_mult": dm}
        for (lm, dm), params in groups.items()
    ]


def scaled_lr(lr: float, global_batch_size: int, auto_scale_lr: Mapping[str, Any] | None) -> float:
    """MMPose's ``auto_scale_lr``: ``lr * global_batch_size / base_batch_size`` when enabled."""
    if not auto_scale_lr or not auto_scale_lr.get("enable", False):
        return lr
    base = int(auto_scale_lr.get("base_batch_size", global_batch_size))
    return lr * global_batch_size / base


def build_optimizer(
    name: str,
    param_groups: Iterable[dict[str, Any]],
    lr: float,
    weight_decay: float = 0.0,
    **kwargs: Any,
) -> torch.optim.Optimizer:
    """``name`` in Adam / AdamW / SGD (case-insensitive); extra kwargs go to the torch optimizer."""
    table = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}
    cls = table.get(name.lower())
    if cls is None:
        raise ValueError(f"optim.name={name!r} is not supported; use one of {sorted(table)}")
    return cls(list(param_groups), lr=lr, weight_decay=weight_decay, **kwargs)


@dataclass
class ScheduleConfig:
    """Per-iteration LR schedule (factor of the base lr).

    Attributes:
        policy: ``multistep`` | ``cosine`` | ``flat_cosine`` | ``constant``.
        warmup_iters: linear warmup length in iterations (MMPose: LinearLR by_epoch=False, end=500).
        warmup_ratio: factor at iteration 0 (MMPose's ``start_factor``, 0.001).
        milestones: epochs at which ``multistep`` multiplies by ``gamma``.
        gamma: multistep decay.
        max_epochs: schedule length (cosine's T_max end).
        min_lr_ratio: cosine floor as a fraction of the base lr (``eta_min = base_lr * min_lr_ratio``).
        flat_epochs: ``flat_cosine`` stays at 1.0 until this epoch, then cosine to ``max_epochs``.
    """

    policy: str = "multistep"
    warmup_iters: int = 500
    warmup_ratio: float = 0.001
    milestones: list[int] = field(default_factory=lambda: [170, 200])
    gamma: float = 0.1
    max_epochs: int = 210
    min_lr_ratio: float = 0.0
    flat_epochs: int = 0


def lr_factor(it: int, iters_per_epoch: int, cfg: ScheduleConfig) -> float:
    """LR factor at global iteration ``it`` (0-based) with ``iters_per_epoch`` iterations per epoch."""
    warm = 1.0
    if cfg.warmup_iters > 0 and it < cfg.warmup_iters:
        warm = cfg.warmup_ratio + (1.0 - cfg.warmup_ratio) * it / cfg.warmup_iters
    epoch = it / max(1, iters_per_epoch)
    if cfg.policy == "multistep":
        main = cfg.gamma ** sum(1 for m in cfg.milestones if math.floor(epoch) >= m)
    elif cfg.policy in ("cosine", "flat_cosine"):
        start = cfg.flat_epochs if cfg.policy == "flat_cosine" else 0
        span = max(1e-8, cfg.max_epochs - start)
        t = min(max(epoch - start, 0.0), span) / span
        main = cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))
    elif cfg.policy == "constant":
        main = 1.0
    else:
        raise ValueError(f"scheduler.policy={cfg.policy!r}; use multistep | cosine | flat_cosine | constant")
    return warm * main
