"""Datasets, metainfo, transforms and the data module."""

from .animal import (
    AnimalKingdomDataset,
    AnimalPoseDataset,
    ATRWDataset,
    FlyDataset,
    Horse10Dataset,
    LocustDataset,
    MacaqueDataset,
    ZebraDataset,
)
from .body import ExlposeDataset, HalpeDataset, HumanArtDataset, JhmdbDataset, MhpDataset, PoseTrack18Dataset
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
from .face import AFLWDataset, CocoWholeBodyFaceDataset, COFWDataset, Face300WDataset, LapaDataset
from .fashion import DeepFashion2Dataset, DeepFashionDataset
from .hand import CocoWholeBodyHandDataset, FreiHandDataset, InterHand2DDoubleDataset, Rhd2DDataset
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
    "HalpeDataset",
    "HumanArtDataset",
    "JhmdbDataset",
    "MhpDataset",
    "PoseTrack18Dataset",
    "ExlposeDataset",
    "Rhd2DDataset",
    "FreiHandDataset",
    "CocoWholeBodyHandDataset",
    "InterHand2DDoubleDataset",
    "Face300WDataset",
    "AFLWDataset",
    "COFWDataset",
    "LapaDataset",
    "CocoWholeBodyFaceDataset",
    "AnimalPoseDataset",
    "AnimalKingdomDataset",
    "ATRWDataset",
    "Horse10Dataset",
    "MacaqueDataset",
    "LocustDataset",
    "ZebraDataset",
    "FlyDataset",
    "DeepFashion2Dataset",
    "DeepFashionDataset",
    "ensure_synthetic_dataset",
    "generate_synthetic_coco",
    "synthetic_paths",
]
