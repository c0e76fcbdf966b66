"""Keypoint labels from other tools -> COCO keypoint JSON (what :class:`~posekit.datasets.CocoStyleDataset` reads).

One module per tool, each with one ``*_to_coco(...) -> dict`` function:

* :func:`dlc_to_coco`: DeepLabCut ``CollectedData_<scorer>.csv`` (single- and multi-animal);
* :func:`yolo_to_coco`: Ultralytics YOLO-pose ``labels/*.txt`` (normalised ``cls cx cy w h x y [v] ...``);
* :func:`labelstudio_to_coco`: Label Studio JSON export (``keypointlabels``, optional ``rectanglelabels`` boxes);
* :func:`cvat_to_coco`: CVAT for images 1.1 XML (``<skeleton>`` instances or ``<points>`` shapes).

Console: ``posekit-convert-labels {dlc,yolo,labelstudio,cvat} INPUT -o train.json`` (:mod:`posekit.cli.convert_labels`).
The output's category lists the keypoint names, so ``data=custom data.metainfo.keypoints=[...]`` trains on it.
"""

from .coco_writer import CocoBuilder
from .cvat import cvat_to_coco
from .deeplabcut import dlc_to_coco
from .labelstudio import labelstudio_to_coco
from .yolo import yolo_to_coco

__all__ = ["CocoBuilder", "cvat_to_coco", "dlc_to_coco", "labelstudio_to_coco", "yolo_to_coco"]
