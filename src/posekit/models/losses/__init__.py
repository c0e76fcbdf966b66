"""Losses with MMPose 1.3.2's class names, constructor arguments and forward signatures
(``forward(output, target, target_weight[, mask])``; ``RLELoss.forward(pred, sigma, target, target_weight)``)."""

from .classification_loss import BCELoss, InfoNCELoss, JSDiscretLoss, KLDiscretLoss
from .heatmap_loss import (
    AdaptiveWingLoss,
    CombinedTargetMSELoss,
    FocalHeatmapLoss,
    KeypointMSELoss,
    KeypointOHKMMSELoss,
    MLECCLoss,
)
from .loss_wrappers import CombinedLoss, MultipleLossWrapper
from .realnvp import RealNVP
from .regression_loss import (
    BoneLoss,
    L1Loss,
    MPJPELoss,
    MSELoss,
    RLELoss,
    SmoothL1Loss,
    SoftWeightSmoothL1Loss,
    SoftWingLoss,
    WingLoss,
)

__all__ = [
    "AdaptiveWingLoss",
    "BCELoss",
    "BoneLoss",
    "CombinedLoss",
    "CombinedTargetMSELoss",
    "FocalHeatmapLoss",
    "InfoNCELoss",
    "JSDiscretLoss",
    "KLDiscretLoss",
    "KeypointMSELoss",
    "KeypointOHKMMSELoss",
    "L1Loss",
    "MLECCLoss",
    "MPJPELoss",
    "MSELoss",
    "MultipleLossWrapper",
    "RLELoss",
    "RealNVP",
    "SmoothL1Loss",
    "SoftWeightSmoothL1Loss",
    "SoftWingLoss",
    "WingLoss",
]
