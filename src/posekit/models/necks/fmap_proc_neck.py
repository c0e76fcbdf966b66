"""``FeatureMapProcessor`` neck: select, concatenate, ReLU and rescale feature maps (MMPose 1.3.2)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["FeatureMapProcessor"]


class FeatureMapProcessor(nn.Module):
    """Select, concatenate and rescale feature maps.

    Args:
        select_index: index or indices of the feature maps to keep (``None``: all).
        concat: resize the selected maps to the first one's size (bilinear) and concatenate them.
        scale_factor: bilinear rescaling factor (> 0) applied to every output map.
        apply_relu: apply ReLU to the maps.
        align_corners: ``align_corners`` of the bilinear resizes.
    """

    def __init__(
        self,
        select_index: int | Sequence[int] | None = None,
        concat: bool = False,
        scale_factor: float = 1.0,
        apply_relu: bool = False,
        align_corners: bool = False,
    ):
        super().__init__()
        if isinstance(select_index, int):
            select_index = (select_index,)
        self.select_index = select_index
        self.concat = concat
        assert scale_factor > 0, f"the argument `scale_factor` must be positive, but got {scale_factor}"
        self.scale_factor = scale_factor
        self.apply_relu = apply_relu
        self.align_corners = align_corners

    def forward(self, inputs: Tensor | Sequence[Tensor]) -> Tensor | list[Tensor]:
        if not isinstance(inputs, (tuple, list)):
            sequential_input = False
            inputs = [inputs]
        else:
            sequential_input = True
            if self.select_index is not None:
                inputs = [inputs[i] for i in self.select_index]
            if self.concat:
                inputs = self._concat(inputs)
        if self.apply_relu:
            inputs = [F.relu(x) for x in inputs]
        if self.scale_factor != 1.0:
            inputs = self._rescale(inputs)
        if not sequential_input:
            inputs = inputs[0]
        return inputs

    def _concat(self, inputs: Sequence[Tensor]) -> list[Tensor]:
        size = inputs[0].shape[-2:]
        resized = [
            x
            if x.shape[-2:] == size
            else F.interpolate(x, size=size, mode="bilinear", align_corners=self.align_corners)
            for x in inputs
        ]
        return [torch.cat(resized, dim=1)]

    def _rescale(self, inputs: Sequence[Tensor]) -> list[Tensor]:
        return [
            F.interpolate(x, scale_factor=self.scale_factor, mode="bilinear", align_corners=self.align_corners)
            for x in inputs
        ]
