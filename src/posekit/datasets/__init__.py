"""Datasets, metainfo, transforms and the data module."""

from .coco_style import (
    AicDataset,
    AP10KDataset,
    CocoDataset,
    CocoStyleDataset,
    CocoWholeBodyDataset,
    CrowdPoseDataset,
    MpiiTrbDataset,
    OCHumanDataset,
    OneHand10KDataset,
    WFLWDataset,
)
from .combined import CombinedDataset
from .datamodule import PoseDataModule
from .metainfo import list_metainfos, load_metainfo
from .mpii import MpiiDataset
from .synthetic import ensure_synthetic_dataset, generate_synthetic_coco, synthetic_paths

__all__ = [
    "PoseDataModule",
    "list_metainfos",
    "load_metainfo",
    "CocoStyleDataset",
    "CombinedDataset",
    "CocoDataset",
    "CocoWholeBodyDataset",
    "AicDataset",
    "AP10KDataset",
    "CrowdPoseDataset",
    "MpiiDataset",
    "MpiiTrbDataset",
    "OCHumanDataset",
    "OneHand10KDataset",
    "WFLWDataset",
    "ensure_synthetic_dataset",
    "generate_synthetic_coco",
    "synthetic_paths",
]
