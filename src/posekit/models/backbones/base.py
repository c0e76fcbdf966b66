"""``BaseBackbone``: weight initialisation from ``init_cfg``, frozen stages and ``norm_eval``."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import ClassVar

import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

from ..utils.checkpoint import load_checkpoint
from ..utils.layers import init_from_cfg, to_builtin

__all__ = ["BaseBackbone", "make_fuse_layers"]


class BaseBackbone(nn.Module):
    """Base class of the backbones: ``forward(x) -> tuple[Tensor, ...]`` (the maps picked by ``out_indices``).

    Args:
        init_cfg: mmengine-style initialisation. ``None`` uses the architecture's default (MMPose's default
            ``init_cfg``, in :attr:`default_init_cfg`). A dict or list of dicts with ``type`` ``'Kaiming'``,
            ``'Normal'``, ``'Constant'``, ``'Xavier'``, ``'TruncNormal'``, ``'Uniform'`` (see
            :func:`posekit.models.utils.init_from_cfg`) or ``'Pretrained'``:
            ``dict(type='Pretrained', checkpoint='/local/file.pth', prefix='backbone.')`` loads a local checkpoint
            (keys under ``prefix``, prefix stripped) when :meth:`init_weights` is called. URLs and
            ``torchvision://<name>`` are downloaded once through :mod:`posekit.hub` (cached, sha256-checked);
            missing / unexpected keys are logged.

    Construction already applies the non-pretrained part of the initialisation (so a freshly built backbone is
    ready to train); :meth:`init_weights` re-applies it and then loads the ``Pretrained`` checkpoint, in mmengine's
    order. Subclasses set ``frozen_stages`` / ``norm_eval`` and implement :meth:`_freeze_stages`; :meth:`train`
    re-freezes the frozen stages and, with ``norm_eval``, keeps every BatchNorm in eval mode.
    """

    #: MMPose's default ``init_cfg`` for the architecture (used when ``init_cfg`` is ``None``).
    default_init_cfg: ClassVar[tuple[dict, ...]] = ()
    frozen_stages: int = -1
    norm_eval: bool = False

    def __init__(self, init_cfg: dict | Sequence[dict] | None = None):
        super().__init__()
        self.init_cfg = copy.deepcopy(to_builtin(init_cfg))

    # ---------------------------------------------------------------------------------------------------- init
    def _init_cfg_list(self) -> list[dict]:
        cfg = self.init_cfg if self.init_cfg is not None else self.default_init_cfg
        cfgs = [cfg] if isinstance(cfg, dict) else list(cfg)
        for c in cfgs:
            if not isinstance(c, dict) or "type" not in c:
                raise TypeError(f"{type(self).__name__}: init_cfg entries must be dicts with a 'type', got {c!r}")
        return cfgs

    @property
    def has_pretrained(self) -> bool:
        """Whether ``init_cfg`` names a ``Pretrained`` checkpoint."""
        return any(c["type"] == "Pretrained" for c in self._init_cfg_list())

    def reset_parameters(self) -> None:
        """Random initialisation from ``init_cfg`` (``Pretrained`` entries skipped), then :meth:`_post_init`."""
        init_from_cfg(self, [c for c in self._init_cfg_list() if c["type"] != "Pretrained"])
        self._post_init(pretrained=self.has_pretrained)

    def _post_init(self, pretrained: bool) -> None:
        """Architecture-specific initialisation after ``init_cfg`` (e.g. ResNet's ``zero_init_residual``)."""

    def init_weights(self) -> None:
        """Initialise as MMPose's ``init_weights()``: ``init_cfg`` initialisers, then the ``Pretrained`` checkpoint."""
        self.reset_parameters()
        for cfg in self._init_cfg_list():
            if cfg["type"] != "Pretrained":
                continue
            if "checkpoint" not in cfg:
                raise KeyError(f"{type(self).__name__}: init_cfg of type 'Pretrained' needs a 'checkpoint' path")
            load_checkpoint(
                self, cfg["checkpoint"], prefix=cfg.get("prefix"), map_location=cfg.get("map_location", "cpu")
            )

    # ------------------------------------------------------------------------------------------------- training
    def _freeze_stages(self) -> None:
        """Put stages ``0..frozen_stages`` in eval mode and stop their gradients (subclasses)."""

    @staticmethod
    def _freeze_module(module: nn.Module | None) -> None:
        if module is None:
            return
        module.eval()
        for param in module.parameters():
            param.requires_grad = False

    def train(self, mode: bool = True) -> BaseBackbone:
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError


def make_fuse_layers(
    num_branches: int,
    num_outputs: int,
    upsample: Callable[[int, int], nn.Module],
    downsample_step: Callable[[int, int, bool], nn.Module],
) -> nn.ModuleList | None:
    """HRNet-style multi-resolution fusion: ``fuse_layers[i][j]`` brings branch ``j`` to branch ``i``'s resolution.

    ``j > i``: ``upsample(j, i)``; ``j == i``: ``None`` (identity); ``j < i``: ``i - j`` stride-2 steps
    ``downsample_step(j, i, last)`` in a ``Sequential`` (the last one maps to branch ``i``'s channels, without
    ReLU). ``None`` for a single branch. The module layout is MMPose's (state-dict keys ``i.j.k...``).
    """
    if num_branches == 1:
        return None
    fuse_layers = []
    for i in range(num_outputs):
        fuse_layer: list[nn.Module | None] = []
        for j in range(num_branches):
            if j > i:
                fuse_layer.append(upsample(j, i))
            elif j == i:
                fuse_layer.append(None)
            else:
                steps = [downsample_step(j, i, k == i - j - 1) for k in range(i - j)]
                fuse_layer.append(nn.Sequential(*steps))
        fuse_layers.append(nn.ModuleList(fuse_layer))
    return nn.ModuleList(fuse_layers)
