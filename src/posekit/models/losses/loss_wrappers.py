"""Loss containers: ``MultipleLossWrapper`` (a list of losses applied pairwise) and ``CombinedLoss``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor, nn

__all__ = ["MultipleLossWrapper", "CombinedLoss"]


def _build(cfg: Any) -> nn.Module:
    from ..builder import build_object

    return build_object(cfg, what="loss")


class MultipleLossWrapper(nn.Module):
    """Apply ``losses[i]`` to ``(input_list[i], target_list[i], keypoint_weights)``; returns the list of losses.

    Args:
        losses: loss modules or their configs (``_target_`` or MMPose ``type``).
    """

    def __init__(self, losses: Sequence[Any]):
        super().__init__()
        self.num_losses = len(losses)
        self.loss_modules = nn.ModuleList([_build(cfg) for cfg in losses])

    def forward(self, input_list: list, target_list: list, keypoint_weights: Tensor | None = None) -> list[Tensor]:
        assert isinstance(input_list, list), "input_list must be a list"
        assert isinstance(target_list, list), "target_list must be a list"
        assert len(input_list) == len(target_list), "input_list and target_list must have the same length"
        return [self.loss_modules[i](input_list[i], target_list[i], keypoint_weights) for i in range(self.num_losses)]


class CombinedLoss(nn.ModuleDict):
    """A dict of named losses (modules or configs), each usable as an attribute (``self.loss_name``)."""

    def __init__(self, losses: Mapping[str, Any] | None = None):
        super().__init__()
        for loss_name, loss_cfg in (losses or {}).items():
            self.add_module(loss_name, _build(loss_cfg))
