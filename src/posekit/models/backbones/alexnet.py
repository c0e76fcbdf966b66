"""AlexNet (MMPose 1.x ``AlexNet``): five convs and three max-pools, an optional classifier."""

from __future__ import annotations

import torch
from torch import nn

from .base import BaseBackbone

__all__ = ["AlexNet"]


class AlexNet(BaseBackbone):
    """`AlexNet <https://en.wikipedia.org/wiki/AlexNet>`__ backbone (``features.{0,3,6,8,10}`` convs).

    Args:
        num_classes: classes of the classifier; ``-1`` (default) keeps only the features (stride 32, 256 channels).
        init_cfg: see :class:`BaseBackbone` (no default initialiser: PyTorch's own).

    ``forward(x)`` returns ``(features (B, 256, H', W'),)`` or ``(logits (B, num_classes),)``; the classifier needs
    224x224 inputs (6x6 features).
    """

    def __init__(self, num_classes: int = -1, init_cfg: dict | None = None):
        super().__init__(init_cfg)
        self.num_classes = num_classes
        conv = nn.Conv2d
        self.features = nn.Sequential(
            conv(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            conv(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            conv(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            conv(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            conv(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        if self.num_classes > 0:
            self.classifier = nn.Sequential(
                nn.Dropout(),
                nn.Linear(256 * 6 * 6, 4096),
                nn.ReLU(inplace=True),
                nn.Dropout(),
                nn.Linear(4096, 4096),
                nn.ReLU(inplace=True),
                nn.Linear(4096, num_classes),
            )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        x = self.features(x)
        if self.num_classes > 0:
            x = self.classifier(x.view(x.size(0), 256 * 6 * 6))
        return (x,)
