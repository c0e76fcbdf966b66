"""Keypoint codecs: numpy ``encode`` for the data pipeline, numpy (MMPose) or batched torch ``decode``."""

from .base import BaseKeypointCodec
from .integral_regression_label import IntegralRegressionLabel
from .megvii_heatmap import MegviiHeatmap
from .msra_heatmap import MSRAHeatmap
from .regression_label import RegressionLabel
from .simcc_label import SimCCLabel
from .udp_heatmap import UDPHeatmap

__all__ = [
    "BaseKeypointCodec",
    "IntegralRegressionLabel",
    "MegviiHeatmap",
    "MSRAHeatmap",
    "RegressionLabel",
    "SimCCLabel",
    "UDPHeatmap",
]
