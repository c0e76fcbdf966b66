"""``GlobalAveragePooling`` neck (MMPose's ``gap_neck.py``)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["GlobalAveragePooling"]


class GlobalAveragePooling(nn.Module):
    """Global average pooling of each feature map ``(B, C, H, W)`` into ``(B, C)``.

    Accepts a tensor, a tuple or a list of tensors and returns the same container type.
    """

    def __init__(self):
        super().__init__()
        self.gap = nn.AdaptiveAvgPool2d((1, 1))

    def init_weights(self) -> None:
        """No parameters."""

    def forward(self, inputs):
        if isinstance(inputs, tuple):
            return tuple(self.gap(x).view(x.size(0), -1) for x in inputs)
        if isinstance(inputs, list):
            return [self.gap(x).view(x.size(0), -1) for x in inputs]
        if isinstance(inputs, torch.Tensor):
            return self.gap(inputs).view(inputs.size(0), -1)
        raise TypeError("neck inputs should be tuple or torch.tensor")
