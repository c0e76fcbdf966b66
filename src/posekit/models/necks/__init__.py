"""Necks with MMPose's class names and arguments."""

from .fmap_proc_neck import FeatureMapProcessor
from .fpn import FPN
from .gap_neck import GlobalAveragePooling

__all__ = ["FPN", "FeatureMapProcessor", "GlobalAveragePooling"]
