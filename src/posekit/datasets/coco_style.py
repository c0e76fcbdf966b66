"""Top-down keypoint datasets in COCO style: one item per annotated instance (or per detected box).

:class:`CocoStyleDataset` is MMPose 1.x's ``BaseCocoStyleDataset`` in plain PyTorch: same constructor arguments,
same parsing (boxes clipped to the image, ``keypoints_visible = min(1, v)``, crowd / unlabelled / empty-box
instances dropped), same item keys (see ``docs/CONTRACTS.md``, "Dataset items"). It reads

* COCO keypoint JSON (``images`` / ``annotations`` / ``categories``), with a box per instance (COCO, AIC, CrowdPose,
  OCHuman, AP-10K, OneHand10K, ...) or a ``center`` / ``scale`` (x200 px) per instance (MPII-TRB style);
* MMPose's converted MPII JSON (a list of ``{image, center, scale, joints, joints_vis}``, parsed by
  ``datasets/mpii_format.py``);
* a COCO detection-result JSON (``bbox_file``) in test mode: one item per person box.

The subclasses carry MMPose's class names and default metainfo (``CocoDataset``, ``CocoWholeBodyDataset``,
``CrowdPoseDataset``, ``WFLWDataset``, ...; ``MpiiDataset`` is in ``datasets/mpii.py``) and the few format
differences MMPose has (WFLW's / MPII-TRB's boxes from ``center`` / ``scale``, COCO-WholeBody's keypoint parts).

Nothing here reads images: ``LoadImage`` does that in the pipeline.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import os.path as osp
import pickle
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..structures.bbox import bbox_cs2xyxy
from .metainfo import load_metainfo
from .mpii_format import parse_center_scale, parse_mpii_list
from .pipeline_dataset import PipelineDataset
from .validation import filter_data_with_counts, filter_instances

__all__ = [
    "CocoStyleDataset",
    "CocoDataset",
    "AicDataset",
    "CrowdPoseDataset",
    "OCHumanDataset",
    "MpiiTrbDataset",
    "AP10KDataset",
    "OneHand10KDataset",
    "WFLWDataset",
]

# Metainfo fields copied into every item (MMPose 1.3 ``get_data_info`` + ``sigmas`` for the metric/codecs).
METAINFO_ITEM_KEYS = (
    "dataset_name",
    "upper_body_ids",
    "lower_body_ids",
    "flip_pairs",
    "dataset_keypoint_weights",
    "flip_indices",
    "skeleton_links",
    "sigmas",
)

_FILTER_KEYS = ("bbox_score_thr", "min_size", "filter_empty_gt")


def _resolve_metainfo(metainfo: Any) -> dict[str, Any]:
    """``load_metainfo``'s argument, or an already parsed metainfo dict (e.g. ``dataset.metainfo``)."""
    if isinstance(metainfo, Mapping) and all(
        k in metainfo for k in ("num_keypoints", "keypoint_id2name", *METAINFO_ITEM_KEYS)
    ):
        return copy.deepcopy(dict(metainfo))
    return load_metainfo(metainfo)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


class CocoStyleDataset(PipelineDataset):
    """COCO-style top-down dataset (MMPose's ``BaseCocoStyleDataset``).

    Args:
        ann_file: annotation JSON, relative to ``data_root`` unless absolute.
        data_root: root folder joined in front of a relative ``ann_file`` and ``data_prefix`` paths.
        data_prefix: ``{'img': folder}``; ``img_path = data_root / data_prefix['img'] / file_name``.
        metainfo: dataset meta information for :func:`posekit.datasets.load_metainfo` (a packaged name such as
            ``'coco'``, a YAML / MMPose ``.py`` path, or a dict). ``None`` uses the class's ``METAINFO``
            (``'coco'`` here, ``'mpii'`` for :class:`MpiiDataset`, ...).
        pipeline: callables ``dict -> dict | None`` applied in order (or one callable such as a ``Compose``).
        bbox_file: COCO detection results (``[{image_id, bbox (xywh), score, category_id}]``); each person box
            (``category_id == 1``) becomes one item with dummy keypoints. Test mode only.
        det_bbox_thr: keep detections with ``score >= det_bbox_thr`` (MMPose 0.x's ``det_bbox_thr``; MMPose 1.x
            spells it ``filter_cfg=dict(bbox_score_thr=...)``, which works too).
        test_mode: evaluation mode: a pipeline returning ``None`` is an error instead of a refetch.
        data_mode: only ``'topdown'`` is implemented.
        filter_cfg: ``bbox_score_thr`` (MMPose), ``min_size`` (drop instances whose box is smaller than this in
            width or height) and ``filter_empty_gt`` (``False`` keeps instances without labelled keypoints).
        indices: keep only these items (an int ``n``: the first ``n``, or the last ``-n`` when negative).
        serialize_data: store the items pickled in one numpy buffer (MMPose's default): data-loader workers then
            share it instead of copying it page by page.
        lazy_init: defer reading the annotations until the first ``len()`` / item access.
        max_refetch: in training, how many random other indices to try when the pipeline returns ``None``.

    Items are plain dicts (``docs/CONTRACTS.md``): ``img_path``, ``img_id``, ``id``, ``category_id``, ``bbox``
    (1, 4) float32 xyxy, ``bbox_score`` (1,), ``keypoints`` (1, K, 2) float32, ``keypoints_visible`` (1, K)
    float32 in {0, 1}, ``num_keypoints``, ``area`` (1,), ``iscrowd``, ``segmentation``, ``raw_ann_info``,
    ``img_shape`` / ``ori_shape`` (h, w) from the annotation file, ``sample_idx``, plus the metainfo fields
    ``dataset_name``, ``flip_indices``, ``flip_pairs``, ``upper_body_ids``, ``lower_body_ids``,
    ``dataset_keypoint_weights``, ``skeleton_links``, ``sigmas``. Items from a ``bbox_file`` have
    ``img_path``, ``img_id``, ``id`` (running index), ``category_id``, ``bbox``, ``bbox_score``, zero
    ``keypoints`` with ``keypoints_visible`` ones (as MMPose), ``img_shape`` / ``ori_shape`` and the metainfo.
    """

    METAINFO: str | Mapping[str, Any] = "coco"

    def __init__(
        self,
        ann_file: str | os.PathLike = "",
        data_root: str | os.PathLike | None = "",
        data_prefix: Mapping[str, str] | None = None,
        metainfo: str | os.PathLike | Mapping[str, Any] | None = None,
        pipeline: Sequence[Callable] | Callable | None = (),
        bbox_file: str | os.PathLike | None = None,
        det_bbox_thr: float = 0.0,
        test_mode: bool = False,
        data_mode: str = "topdown",
        filter_cfg: Mapping[str, Any] | None = None,
        indices: int | Sequence[int] | None = None,
        serialize_data: bool = True,
        lazy_init: bool = False,
        max_refetch: int = 1000,
    ):
        name = type(self).__name__
        if data_mode != "topdown":
            raise ValueError(
                f"{name}: data_mode={data_mode!r} is not supported; posekit implements top-down pose estimation "
                "only (data_mode='topdown')"
            )
        self.data_mode = data_mode
        self.test_mode = bool(test_mode)
        if bbox_file and not self.test_mode:
            raise ValueError(
                f"{name}: bbox_file={str(bbox_file)!r} is only supported with test_mode=True (detected boxes carry "
                "no keypoint labels to train on)"
            )
        self.det_bbox_thr = float(det_bbox_thr)
        self.max_refetch = int(max_refetch)
        self.serialize_data = bool(serialize_data)

        self.filter_cfg = dict(filter_cfg) if filter_cfg is not None else None
        if self.filter_cfg is not None:
            unknown = sorted(set(self.filter_cfg) - set(_FILTER_KEYS))
            if unknown:
                raise ValueError(f"{name}: unknown filter_cfg key(s) {unknown}; supported: {list(_FILTER_KEYS)}")

        # paths (MMPose's ``_join_prefix``: relative paths live under data_root)
        self.data_root = "" if data_root is None else str(data_root)
        ann_file = "" if ann_file is None else str(ann_file)
        if ann_file and self.data_root and not osp.isabs(ann_file):
            ann_file = osp.join(self.data_root, ann_file)
        self._ann_file = ann_file
        prefix = {"img": ""} if data_prefix is None else dict(data_prefix)
        for key, value in prefix.items():
            if value is None:
                value = ""
            if not isinstance(value, (str, os.PathLike)):
                raise TypeError(f"{name}: data_prefix[{key!r}] must be a path string, got {type(value).__name__}")
            value = str(value)
            prefix[key] = osp.join(self.data_root, value) if self.data_root and not osp.isabs(value) else value
        prefix.setdefault("img", self.data_root)
        self.data_prefix = prefix
        self.bbox_file = self._resolve_bbox_file(bbox_file)

        self._metainfo = _resolve_metainfo(self.METAINFO if metainfo is None else metainfo)
        self._metainfo_item = {k: self._metainfo[k] for k in METAINFO_ITEM_KEYS}
        # pickled once: unpickling per item is ~8x cheaper than a deepcopy and still gives every item its own copy
        self._metainfo_item_bytes = pickle.dumps(self._metainfo_item, protocol=pickle.HIGHEST_PROTOCOL)

        self.pipeline = pipeline
        self._indices = indices
        self.data_list: list[dict] = []
        self._data_bytes: np.ndarray | None = None
        self._data_address: np.ndarray | None = None
        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    # ------------------------------------------------------------------------------------------------------------
    # public API

    @property
    def metainfo(self) -> dict[str, Any]:
        """The parsed metainfo (a copy): ``dataset_name``, ``num_keypoints``, ``flip_indices``, ``sigmas``, ..."""
        return copy.deepcopy(self._metainfo)

    @property
    def ann_file(self) -> str:
        """The annotation file path, joined with ``data_root``."""
        return self._ann_file

    def full_init(self) -> None:
        """Load, filter, subset and serialize the annotations (done once; ``lazy_init`` defers it to here)."""
        if self._fully_initialized:
            return
        data_list = self.load_data_list()
        data_list = filter_data_with_counts(self, data_list)  # self.filter_data + counts (validation.py)
        if self._indices is not None:
            data_list = self._get_subset(data_list, self._indices)
        if not data_list:
            source = self.bbox_file if self.bbox_file else self.ann_file
            msg = f"{type(self).__name__}: no instances left from {source!r} after filtering"
            if not self.test_mode:
                raise ValueError(
                    msg + " (crowd, unlabelled and zero-size instances are dropped); check the annotation file and "
                    "filter_cfg / indices"
                )
            warnings.warn(msg, stacklevel=2)
        if self.serialize_data:
            self._data_bytes, self._data_address = self._serialize(data_list)
            self.data_list = []
        else:
            self.data_list = data_list
        self._fully_initialized = True

    def load_data_list(self) -> list[dict]:
        """Instances from the annotation file, or one item per detection when ``bbox_file`` is set."""
        if self.bbox_file:
            return self._load_detection_results()
        instance_list, _ = self._load_annotations()
        return self._get_topdown_data_infos(instance_list)

    def get_data_info(self, idx: int) -> dict:
        """A fresh copy of item ``idx`` (before the pipeline), with ``sample_idx`` and the metainfo fields."""
        if not self._fully_initialized:
            self.full_init()
        n = len(self)
        if not -n <= idx < n:
            raise IndexError(f"{type(self).__name__}: index {idx} out of range for {n} items")
        idx = idx % n if n else idx
        if self.serialize_data:
            start = 0 if idx == 0 else int(self._data_address[idx - 1])
            end = int(self._data_address[idx])
            data_info = pickle.loads(memoryview(self._data_bytes[start:end]))
        else:
            data_info = copy.deepcopy(self.data_list[idx])
        data_info["sample_idx"] = idx
        clash = data_info.keys() & self._metainfo_item.keys()
        if clash:
            key = sorted(clash)[0]
            raise KeyError(f'"{key}" is a reserved key for the metainfo, but it is already in the data info')
        data_info.update(pickle.loads(self._metainfo_item_bytes))
        return data_info

    def __getitem__(self, idx: int) -> Any:
        if not self._fully_initialized:
            self.full_init()
        return self._fetch(idx)

    def __len__(self) -> int:
        if not self._fully_initialized:
            self.full_init()
        if self.serialize_data:
            return len(self._data_address)
        return len(self.data_list)

    def __repr__(self) -> str:
        n = len(self) if self._fully_initialized else "not loaded"
        return (
            f"{type(self).__name__}(ann_file={self.ann_file!r}, bbox_file={self.bbox_file!r}, "
            f"dataset_name={self._metainfo['dataset_name']!r}, num_keypoints={self._metainfo['num_keypoints']}, "
            f"test_mode={self.test_mode}, len={n})"
        )

    # ------------------------------------------------------------------------------------------------------------
    # annotation parsing

    def _load_annotations(self) -> tuple[list[dict], list[dict]]:
        """``(instance_list, image_list)`` from a COCO-format file (or MMPose's MPII list format)."""
        raw = self._read_json(self.ann_file, "ann_file")
        if isinstance(raw, list):
            return self._parse_mpii_list(raw)
        coco = self._build_coco(raw, self.ann_file)
        instance_list, image_list = [], []
        for img_id in coco.getImgIds():
            img = coco.imgs[img_id]
            img = dict(img, img_id=img_id, img_path=osp.join(self.data_prefix["img"], img["file_name"]))
            image_list.append(img)
            for ann in coco.imgToAnns.get(img_id, ()):
                info = self.parse_data_info(dict(raw_ann_info=ann, raw_img_info=img))
                if info:
                    instance_list.append(info)
        return instance_list, image_list

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        """One COCO annotation (``raw_ann_info``) of an image (``raw_img_info``) -> item dict, or ``None``.

        Uses the annotation's ``bbox`` (xywh, clipped to the image as MMPose does); an annotation with no
        ``bbox`` but a ``center`` / ``scale`` (x200 px) gets its box from those (MPII-TRB style).
        """
        ann = raw_data_info["raw_ann_info"]
        img = raw_data_info["raw_img_info"]
        if "keypoints" not in ann:
            return None
        if "bbox" not in ann:
            if "center" in ann and "scale" in ann:
                return self._parse_center_scale(ann, img)
            return None

        bbox_xywh = ann["bbox"]
        if not isinstance(bbox_xywh, (list, tuple)) or len(bbox_xywh) < 4 or not all(map(_is_number, bbox_xywh[:4])):
            raise ValueError(
                f"{self.ann_file}: annotation id {ann.get('id')!r}: field 'bbox' must be [x, y, w, h] numbers, "
                f"got {bbox_xywh!r}"
            )
        img_w, img_h = img["width"], img["height"]
        x, y, w, h = bbox_xywh[:4]
        x1 = min(max(x, 0), img_w - 1)
        y1 = min(max(y, 0), img_h - 1)
        x2 = min(max(x + w, 0), img_w - 1)
        y2 = min(max(y + h, 0), img_h - 1)
        bbox = np.array([[x1, y1, x2, y2]], dtype=np.float32)

        keypoints, keypoints_visible = self._parse_keypoints(ann)
        if "num_keypoints" in ann:
            num_keypoints = ann["num_keypoints"]
        else:
            num_keypoints = int(np.count_nonzero(keypoints.max(axis=2)))
        if "area" in ann:
            area = np.array([ann["area"]], dtype=np.float32)
        else:
            area = np.array([max((x2 - x1) * (y2 - y1) * 0.53, 1.0)], dtype=np.float32)

        data_info = {
            "img_id": ann["image_id"],
            "img_path": img["img_path"],
            "img_shape": (img_h, img_w),
            "ori_shape": (img_h, img_w),
            "bbox": bbox,
            "bbox_score": np.ones(1, dtype=np.float32),
            "num_keypoints": num_keypoints,
            "keypoints": keypoints,
            "keypoints_visible": keypoints_visible,
            "area": area,
            "iscrowd": ann.get("iscrowd", 0),
            "segmentation": ann.get("segmentation", None),
            "id": ann["id"],
            "category_id": ann.get("category_id", 1),
            "raw_ann_info": ann,
        }
        if "crowdIndex" in img:
            data_info["crowd_index"] = img["crowdIndex"]
        return data_info

    def _parse_center_scale(self, ann: dict, img: dict, shift_mpii: bool = False) -> dict:
        """An annotation boxed by ``center`` (x, y) and ``scale`` (box side / 200 px) -> item dict."""
        center, scale = self._center_scale(ann, self.ann_file)
        bbox = bbox_cs2xyxy(center, scale).astype(np.float32)
        keypoints, keypoints_visible = self._parse_keypoints(ann)
        if "num_keypoints" in ann:
            num_keypoints = ann["num_keypoints"]
        elif "num_joints" in ann:
            num_keypoints = ann["num_joints"]
        else:
            num_keypoints = int(np.count_nonzero(keypoints.max(axis=2)))
        data_info = {
            "img_id": ann["image_id"],
            "img_path": img["img_path"],
            "bbox": bbox,
            "bbox_center": center,
            "bbox_scale": scale,
            "bbox_score": np.ones(1, dtype=np.float32),
            "num_keypoints": num_keypoints,
            "keypoints": keypoints,
            "keypoints_visible": keypoints_visible,
            "iscrowd": ann.get("iscrowd", 0),
            "id": ann["id"],
            "category_id": ann.get("category_id", 1),
            "raw_ann_info": ann,
        }
        if "width" in img and "height" in img:
            data_info["img_shape"] = data_info["ori_shape"] = (img["height"], img["width"])
        if "area" in ann:
            data_info["area"] = np.array([ann["area"]], dtype=np.float32)
        if "headbox" in ann:
            data_info["headbox"] = np.array(ann["headbox"], dtype=np.float32)
        return data_info

    def _center_scale(self, ann: dict, source: str) -> tuple[np.ndarray, np.ndarray]:
        return parse_center_scale(ann, source)

    def _parse_keypoints(self, ann: dict) -> tuple[np.ndarray, np.ndarray]:
        """``ann['keypoints']`` ([x, y, v] * K) -> keypoints (1, K, 2) float32, visible (1, K) = min(1, v)."""
        kpts = ann["keypoints"]
        num_k = self._metainfo["num_keypoints"]
        try:
            arr = np.asarray(kpts, dtype=np.float32)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"{self.ann_file}: annotation id {ann.get('id')!r}: field 'keypoints' must be a flat list of numbers "
                f"[x1, y1, v1, x2, y2, v2, ...] ({e})"
            ) from e
        if arr.ndim == 2 and arr.shape[1] == 3:  # K x [x, y, v] (RHD's files); MMPose reshapes it the same way
            arr = arr.reshape(-1)
        if arr.ndim != 1 or arr.size % 3:
            raise ValueError(
                f"{self.ann_file}: annotation id {ann.get('id')!r}: field 'keypoints' must be a flat list of "
                f"3 * K numbers [x, y, v, ...], got shape {arr.shape}"
            )
        if arr.size // 3 != num_k:
            raise ValueError(
                f"{self.ann_file}: annotation id {ann.get('id')!r} has {arr.size // 3} keypoints but the metainfo "
                f"{self._metainfo['dataset_name']!r} has {num_k}; pass the metainfo that matches this file "
                f"(metainfo='<name>', a metainfo YAML or data.metainfo.keypoints with {arr.size // 3} keypoints)"
            )
        arr = arr.reshape(1, num_k, 3)
        return np.ascontiguousarray(arr[..., :2]), np.minimum(1, arr[..., 2])

    def _parse_mpii_list(self, anns: list) -> tuple[list[dict], list[dict]]:
        """MMPose's MPII JSON list (``datasets/mpii_format.py``) -> ``(instance_list, image_list)``."""
        meta = self._metainfo
        return parse_mpii_list(
            anns, self.ann_file, self.data_prefix["img"], meta["num_keypoints"], meta["dataset_name"]
        )

    # ------------------------------------------------------------------------------------------------------------
    # detections, filtering

    def _load_detection_results(self) -> list[dict]:
        """One item per person detection in ``bbox_file`` with ``score >= det_bbox_thr``."""
        raw = self._read_json(self.ann_file, "ann_file")
        if isinstance(raw, list):
            raise ValueError(
                f"{self.ann_file}: bbox_file needs a COCO-format ann_file (its 'images' map image_id to file "
                "names); MPII's list format has no image ids"
            )
        images = self._check_coco(raw, self.ann_file)[0]
        dets = self._read_json(self.bbox_file, "bbox_file")
        if not isinstance(dets, list):
            raise ValueError(
                f"{self.bbox_file}: a bbox_file must be a COCO detection-result list "
                f"[{{image_id, bbox: [x, y, w, h], score, category_id}}, ...], got a {type(dets).__name__}"
            )
        num_k = self._metainfo["num_keypoints"]
        data_list = []
        for i, det in enumerate(dets):
            where = f"{self.bbox_file}: detection #{i}"
            if not isinstance(det, Mapping):
                raise ValueError(f"{where}: expected a dict {{image_id, bbox, score, category_id}}, got {det!r}")
            missing = [k for k in ("image_id", "bbox", "score") if k not in det]
            if missing:
                raise ValueError(
                    f"{where}: missing field(s) {missing} (COCO detection results need image_id, bbox, score)"
                )
            if det.get("category_id", 1) != 1:  # person boxes only, like MMPose
                continue
            box = det["bbox"]
            if not isinstance(box, (list, tuple)) or len(box) < 4 or not all(map(_is_number, box[:4])):
                raise ValueError(f"{where}: field 'bbox' must be [x, y, w, h] numbers, got {box!r}")
            if not _is_number(det["score"]):
                raise ValueError(f"{where}: field 'score' must be a number, got {det['score']!r}")
            if det["score"] < self.det_bbox_thr:
                continue
            img = images.get(det["image_id"])
            if img is None:
                raise ValueError(f"{where}: image_id {det['image_id']!r} is not among the images of {self.ann_file}")
            x, y, w, h = (float(v) for v in box[:4])
            data_list.append(
                {
                    "img_id": det["image_id"],
                    "img_path": osp.join(self.data_prefix["img"], img["file_name"]),
                    "img_shape": (img["height"], img["width"]),
                    "ori_shape": (img["height"], img["width"]),
                    "bbox": np.array([[x, y, x + w, y + h]], dtype=np.float32),
                    "bbox_score": np.array([det["score"]], dtype=np.float32),
                    "keypoints": np.zeros((1, num_k, 2), dtype=np.float32),
                    "keypoints_visible": np.ones((1, num_k), dtype=np.float32),
                    "id": len(data_list),
                    "category_id": 1,
                }
            )
        return data_list

    def _is_valid_instance(self, data_info: dict) -> bool:
        """MMPose's check: no crowd, a non-empty box and (unless ``filter_empty_gt=False``) labelled keypoints."""
        if data_info.get("iscrowd"):
            return False
        keep_empty = self.filter_cfg is not None and not self.filter_cfg.get("filter_empty_gt", True)
        if not keep_empty:
            if data_info.get("num_keypoints", 1) == 0:
                return False
            if "keypoints" in data_info and np.max(data_info["keypoints"]) <= 0:
                return False
        if "bbox" in data_info:
            x1, y1, x2, y2 = data_info["bbox"][0]
            if x2 - x1 <= 0 or y2 - y1 <= 0:
                return False
        return True

    def _get_topdown_data_infos(self, instance_list: list[dict]) -> list[dict]:
        return filter_instances(self, instance_list)  # + NaN/Inf check, per-reason counts (validation.py)

    def filter_data(self, data_list: list[dict] | None = None) -> list[dict]:
        """Apply ``filter_cfg`` (``bbox_score_thr``, ``min_size``) to the loaded items."""
        if data_list is None:
            data_list = self.data_list
        if not self.filter_cfg:
            return data_list
        thr = self.filter_cfg.get("bbox_score_thr")
        if thr is not None:
            data_list = [d for d in data_list if not d["bbox_score"][0] < thr]
        min_size = self.filter_cfg.get("min_size")
        if min_size:
            data_list = [
                d
                for d in data_list
                if d["bbox"][0, 2] - d["bbox"][0, 0] >= min_size and d["bbox"][0, 3] - d["bbox"][0, 1] >= min_size
            ]
        return data_list

    # ------------------------------------------------------------------------------------------------------------
    # helpers

    def _resolve_bbox_file(self, bbox_file: str | os.PathLike | None) -> str | None:
        """A relative ``bbox_file`` is looked up under ``data_root`` first, then as given (MMPose's configs give
        paths relative to the working directory)."""
        if not bbox_file:
            return None
        bbox_file = str(bbox_file)
        if self.data_root and not osp.isabs(bbox_file):
            joined = osp.join(self.data_root, bbox_file)
            if osp.isfile(joined) or not osp.isfile(bbox_file):
                return joined
        return bbox_file

    def _read_json(self, path: str | None, what: str) -> Any:
        name = type(self).__name__
        if not path:
            raise ValueError(f"{name}: {what} is empty; set {what} (relative to data_root) to the annotation JSON")
        if not osp.isfile(path):
            hint = (
                "set data_root / ann_file (or paths.data_dir in the Hydra config) so that they point to it"
                if what == "ann_file"
                else f"set {what} to an existing file (a relative path is looked up under data_root, then in the "
                "working directory)"
            )
            raise FileNotFoundError(f"{name}: {what} {path!r} does not exist; {hint}")
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{name}: {what} {path!r} is not valid JSON: {e}") from e

    def _check_coco(self, raw: Any, source: str) -> tuple[dict, list]:
        """Validate the fields of a COCO-format dict; returns ``({image_id: image}, annotations)``."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"{source}: expected a COCO-format JSON object, got a {type(raw).__name__}")
        for field in ("images", "annotations"):
            if not isinstance(raw.get(field), list):
                raise ValueError(
                    f"{source}: field {field!r} is {'missing' if field not in raw else 'not a list'}; a COCO keypoint "
                    "file needs 'images' and 'annotations' lists"
                )
        images = {}
        for i, img in enumerate(raw["images"]):
            if not isinstance(img, Mapping):
                raise ValueError(f"{source}: images[{i}] must be a dict, got {img!r}")
            missing = [k for k in ("id", "file_name", "width", "height") if k not in img]
            if missing:
                raise ValueError(
                    f"{source}: images[{i}] (id {img.get('id')!r}) lacks field(s) {missing} (needed: id, file_name, "
                    "width, height)"
                )
            images[img["id"]] = img
        anns = raw["annotations"]
        need_cat = "categories" in raw
        for i, ann in enumerate(anns):
            if not isinstance(ann, Mapping):
                raise ValueError(f"{source}: annotations[{i}] must be a dict, got {ann!r}")
            required = ("id", "image_id", "category_id") if need_cat else ("id", "image_id")
            missing = [k for k in required if k not in ann]
            if missing:
                raise ValueError(f"{source}: annotations[{i}] (id {ann.get('id')!r}) lacks field(s) {missing}")
            if ann["image_id"] not in images:
                raise ValueError(
                    f"{source}: annotation id {ann['id']!r} refers to image_id {ann['image_id']!r}, which is not in "
                    "'images'"
                )
        return images, anns

    def _build_coco(self, raw: Any, source: str):
        """A pycocotools ``COCO`` index of ``raw`` (validated first; its prints silenced)."""
        from pycocotools.coco import COCO

        self._check_coco(raw, source)
        with contextlib.redirect_stdout(io.StringIO()):
            coco = COCO()
            coco.dataset = raw
            coco.createIndex()
        return coco

    @staticmethod
    def _get_subset(data_list: list[dict], indices: int | Sequence[int]) -> list[dict]:
        if isinstance(indices, (int, np.integer)):
            return data_list[:indices] if indices >= 0 else data_list[indices:]
        if isinstance(indices, Sequence):
            return [data_list[i] for i in indices]
        raise TypeError(f"indices must be an int or a sequence of ints, got {type(indices).__name__}")

    @staticmethod
    def _serialize(data_list: list[dict]) -> tuple[np.ndarray, np.ndarray]:
        chunks = [pickle.dumps(d, protocol=pickle.HIGHEST_PROTOCOL) for d in data_list]
        address = np.cumsum(np.fromiter((len(c) for c in chunks), dtype=np.int64, count=len(chunks)))
        data_bytes = np.frombuffer(b"".join(chunks), dtype=np.uint8)
        return data_bytes, address

    def _describe(self, idx: int) -> str:
        try:
            info = self.get_data_info(idx)
        except Exception:  # pragma: no cover - description only
            return "unknown"
        return f"img_path={info.get('img_path')!r}, id={info.get('id')!r}"


# ------------------------------------------------------------------------------------------------------------------
# MMPose's dataset classes: the same loader with each dataset's metainfo (and format quirks)


class CocoDataset(CocoStyleDataset):
    """COCO keypoints (17)."""

    METAINFO = "coco"


class CocoWholeBodyDataset(CocoStyleDataset):
    """COCO-WholeBody (133): body, foot, face, left- and right-hand keypoints.

    The file stores them in separate fields (``keypoints``, ``foot_kpts``, ``face_kpts``, ``lefthand_kpts``,
    ``righthand_kpts``), concatenated in that order as MMPose does; a file that already holds all 133 in
    ``keypoints`` is read as is. ``keypoints_visible`` is ``v > 0`` (some hand ``v`` in the files are confidences
    in (0, 1]). The item's ``raw_ann_info`` holds the concatenated 133 keypoints in
    ``keypoints`` too (the part fields are kept), so COCO-style metrics without an ``ann_file`` (e.g.
    :class:`~posekit.evaluation.KeypointPartitionMetric`) see the whole body.
    """

    METAINFO = "coco_wholebody"
    PART_FIELDS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        ann = raw_data_info["raw_ann_info"]
        if "keypoints" in ann and all(field in ann for field in self.PART_FIELDS[1:]):
            whole = [v for field in self.PART_FIELDS for v in (ann[field] or [])]
            ann = {**ann, "keypoints": whole}
            raw_data_info = {**raw_data_info, "raw_ann_info": ann}
        return super().parse_data_info(raw_data_info)

    def _parse_keypoints(self, ann: dict) -> tuple[np.ndarray, np.ndarray]:
        """As the base class, but visible = ``v > 0``: some hand ``v`` are confidences in (0, 1)."""
        keypoints, _ = super()._parse_keypoints(ann)
        v = np.asarray(ann["keypoints"], dtype=np.float32).reshape(1, -1, 3)[..., 2]
        return keypoints, (v > 0).astype(np.float32)


class AicDataset(CocoStyleDataset):
    """AI Challenger (14)."""

    METAINFO = "aic"


class CrowdPoseDataset(CocoStyleDataset):
    """CrowdPose (14); items carry the image's ``crowd_index``."""

    METAINFO = "crowdpose"


class OCHumanDataset(CocoStyleDataset):
    """OCHuman (17, COCO's keypoints)."""

    METAINFO = "ochuman"


class AP10KDataset(CocoStyleDataset):
    """AP-10K animals (17)."""

    METAINFO = "ap10k"


class OneHand10KDataset(CocoStyleDataset):
    """OneHand10K hands (21)."""

    METAINFO = "onehand10k"


class WFLWDataset(CocoStyleDataset):
    """WFLW faces (98): boxes from the annotation's ``center`` / ``scale`` (x200 px), as MMPose."""

    METAINFO = "wflw"

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        ann, img = raw_data_info["raw_ann_info"], raw_data_info["raw_img_info"]
        if "keypoints" not in ann:
            return None
        return self._parse_center_scale(ann, img)


class MpiiTrbDataset(CocoStyleDataset):
    """MPII-TRB (40): COCO-style file with ``center`` / ``scale`` boxes and ``num_joints``; items sorted by id."""

    METAINFO = "mpii_trb"

    def parse_data_info(self, raw_data_info: dict) -> dict | None:
        ann, img = raw_data_info["raw_ann_info"], raw_data_info["raw_img_info"]
        if "keypoints" not in ann:
            return None
        return self._parse_center_scale(ann, img)

    def _load_annotations(self) -> tuple[list[dict], list[dict]]:
        instance_list, image_list = super()._load_annotations()
        return sorted(instance_list, key=lambda d: d["id"]), image_list


def __getattr__(name: str) -> Any:
    # MpiiDataset moved to datasets/mpii.py (it subclasses CocoStyleDataset); still importable from here.
    if name == "MpiiDataset":
        from .mpii import MpiiDataset

        return MpiiDataset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
