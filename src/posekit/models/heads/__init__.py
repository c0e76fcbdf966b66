"""Top-down heads with MMPose 1.3.2's class names, arguments and state-dict keys.

API (``docs/CONTRACTS.md``): ``forward(feats)``, ``loss(feats, batch, train_cfg={})``,
``predict(feats, batch, test_cfg={}) -> (keypoints (B, 1, K, 2), scores (B, 1, K))`` in crop pixels.
"""

from .base_head import BaseHead
from .cpm_head import CPMHead
from .heatmap_head import HeatmapHead
from .integral_regression_head import DSNTHead, IntegralRegressionHead
from .mspn_head import MSPNHead
from .regression_head import RegressionHead, RLEHead
from .rtmcc_head import RTMCCHead
from .simcc_head import SimCCHead
from .tta import (
    average_flip_heatmaps,
    average_flip_vectors,
    flip_coordinates,
    flip_heatmaps,
    flip_vectors,
    flip_visibility,
)
from .vipnas_head import ViPNASHead
from .vis_head import VisPredictHead

__all__ = [
    "BaseHead",
    "CPMHead",
    "DSNTHead",
    "HeatmapHead",
    "IntegralRegressionHead",
    "MSPNHead",
    "RLEHead",
    "RTMCCHead",
    "RegressionHead",
    "SimCCHead",
    "ViPNASHead",
    "VisPredictHead",
    "average_flip_heatmaps",
    "average_flip_vectors",
    "flip_coordinates",
    "flip_heatmaps",
    "flip_vectors",
    "flip_visibility",
]
