"""COCO-style keypoint AP/AR (``CocoMetric``), MMPose 1.x semantics.

Per image: rescore the instances (``score_mode``), suppress duplicates with (soft) OKS NMS (``nms_mode``), write
a COCO results JSON, then evaluate with the dataset's sigmas (:class:`~posekit.evaluation.cocoeval.KeypointCOCOeval`,
which reproduces xtcocotools on top of pycocotools: CrowdPose's easy/medium/hard APs included).

The ground truth comes from ``ann_file`` or, when that is ``None``, from the ``raw_ann_info`` of the evaluated
samples (written to ``<outfile_prefix>.gt.json``), as in MMPose.

posekit's API (per validation batch)::

    metric = CocoMetric(ann_file='data/coco/annotations/person_keypoints_val2017.json', metainfo='coco')
    metric.update(batch.metas, pred['keypoints'], pred['keypoint_scores'])   # (B, N, K, 2), (B, N, K)
    results = metric.compute()      # {'coco/AP': ..., 'coco/AP .5': ..., ...}
    metric.reset()

Meta keys read by :meth:`CocoMetric.update` (``PoseBatch.metas``): ``id``, ``img_id``, ``category_id`` (default 1),
``bbox_score`` ((N,) or float, default 1), ``bbox_scale`` ((N, 2), else ``input_scale`` (2,); its product is the
instance area used by OKS NMS, else the keypoints' extent), and when ``ann_file`` is ``None``: ``ori_shape`` (h, w),
``raw_ann_info`` (the COCO annotation dict(s)) and, for ``iou_type='keypoints_crowd'``, ``crowd_index``.
"""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import os
import os.path as osp
import tempfile
from collections import OrderedDict, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from posekit.utils.json_io import dump_json_strict

from .base import BaseMetric, to_numpy
from .functional import transform_ann, transform_pred, transform_sigmas
from .nms import oks_nms, soft_oks_nms

__all__ = ["CocoMetric"]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if hasattr(obj, "tolist"):  # torch tensors
        return obj.tolist()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _dump_json_atomic(obj: Any, path: str) -> None:
    """Write JSON to ``path`` through a temporary file in the same folder and an atomic rename."""
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=osp.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(dump_json_strict(obj, sort_keys=True, indent=None, default=_json_default))  # no bare NaN
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _quiet_coco(ann: str | dict) -> Any:
    """A pycocotools ``COCO`` from a file path or a dataset dict, without its prints."""
    from pycocotools.coco import COCO

    with contextlib.redirect_stdout(io.StringIO()):
        if isinstance(ann, str):
            return COCO(ann)
        coco = COCO()
        coco.dataset = ann
        coco.createIndex()
        return coco


def _scalar_int(x: Any, default: int = 1) -> int:
    if x is None:
        return default
    x = to_numpy(x)
    arr = np.asarray(x).reshape(-1)
    return int(arr[0]) if arr.size else default


def _get(obj: Any, key: str, default: Any = None) -> Any:
    """``obj[key]`` for mappings, ``getattr`` otherwise (MMPose passes dicts or InstanceData)."""
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(key, default)
    return getattr(obj, key, default)


class CocoMetric(BaseMetric):
    """COCO keypoint evaluation (AP/AR over OKS thresholds), MMPose's ``CocoMetric``.

    Args:
        ann_file: COCO-format annotation file. ``None``: the ground truth is built from the samples'
            ``raw_ann_info`` and written to ``<outfile_prefix>.gt.json``.
        use_area: use the annotations' ``area`` as the OKS scale; ``False`` (CrowdPose, AIC) uses
            ``0.53 * w * h`` of the ground-truth box.
        iou_type: ``'keypoints'`` or ``'keypoints_crowd'`` (CrowdPose: AP(E)/AP(M)/AP(H) by crowd index).
        score_mode: instance score: ``'bbox'`` (box score), ``'bbox_keypoint'`` (box score times the mean of the
            keypoint scores above ``keypoint_score_thr``), ``'bbox_rle'`` (box score + mean + max keypoint
            score) or ``'keypoint'`` (mean keypoint score).
        keypoint_score_thr: keypoint score threshold of ``'bbox_keypoint'``.
        nms_mode: ``'oks_nms'``, ``'soft_oks_nms'`` or ``'none'``.
        nms_thr: OKS threshold of the NMS.
        format_only: only write ``<outfile_prefix>.keypoints.json`` (e.g. a test-dev submission); ``compute``
            returns ``{}``.
        pred_converter: ``dict(num_keypoints=..., mapping=[(src, dst), ...])`` applied to the predictions.
        gt_converter: the same for the ground truth (and the sigmas).
        outfile_prefix: where JSON files go (``<prefix>.keypoints.json``, ``<prefix>.gt.json``); a temporary
            folder when ``None``.
        collect_device: kept for MMPose compatibility.
        prefix: result name prefix, ``'coco'`` by default.
        metainfo: dataset meta information (name, YAML path or parsed dict); or assign ``dataset_meta``.
    """

    default_prefix: str | None = "coco"

    def __init__(
        self,
        ann_file: str | None = None,
        use_area: bool = True,
        iou_type: str = "keypoints",
        score_mode: str = "bbox_keypoint",
        keypoint_score_thr: float = 0.2,
        nms_mode: str = "oks_nms",
        nms_thr: float = 0.9,
        format_only: bool = False,
        pred_converter: dict | None = None,
        gt_converter: dict | None = None,
        outfile_prefix: str | None = None,
        collect_device: str = "cpu",
        prefix: str | None = None,
        metainfo: str | Mapping[str, Any] | None = None,
    ) -> None:
        allowed_score_modes = ["bbox", "bbox_keypoint", "bbox_rle", "keypoint"]
        if score_mode not in allowed_score_modes:
            raise ValueError(
                f"`score_mode` should be one of 'bbox', 'bbox_keypoint', 'bbox_rle', 'keypoint', but got {score_mode}"
            )
        allowed_nms_modes = ["oks_nms", "soft_oks_nms", "none"]
        if nms_mode not in allowed_nms_modes:
            raise ValueError(f"`nms_mode` should be one of 'oks_nms', 'soft_oks_nms', 'none', but got {nms_mode}")
        if iou_type not in ("keypoints", "keypoints_crowd"):
            raise ValueError(f"`iou_type` should be 'keypoints' or 'keypoints_crowd', but got {iou_type}")
        if format_only:
            assert outfile_prefix is not None, (
                "`outfile_prefix` can not be None when `format_only` is True, otherwise the result file will be "
                "saved to a temp directory which will be cleaned up in the end."
            )
        self.ann_file = ann_file
        self.coco = None
        if ann_file is not None:
            if not osp.isfile(ann_file):
                raise FileNotFoundError(f"CocoMetric: annotation file {ann_file!r} does not exist (ann_file=...)")
            with open(ann_file) as f:
                dataset = json.load(f)
            if not format_only:
                assert "annotations" in dataset, (
                    "Ground truth annotations are required for evaluation when `format_only` is False."
                )
            self.coco = _quiet_coco(dataset)
        self.use_area = use_area
        self.iou_type = iou_type
        self.score_mode = score_mode
        self.keypoint_score_thr = keypoint_score_thr
        self.nms_mode = nms_mode
        self.nms_thr = nms_thr
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.pred_converter = pred_converter
        self.gt_converter = gt_converter
        super().__init__(collect_device=collect_device, prefix=prefix, metainfo=metainfo)

    @BaseMetric.dataset_meta.setter
    def dataset_meta(self, dataset_meta: Mapping[str, Any] | str | None) -> None:
        BaseMetric.dataset_meta.fset(self, dataset_meta)
        meta = self._dataset_meta
        if meta is not None and self.gt_converter is not None:
            meta["sigmas"] = transform_sigmas(
                meta["sigmas"], self.gt_converter["num_keypoints"], self.gt_converter["mapping"]
            )
            meta["num_keypoints"] = len(meta["sigmas"])

    # ------------------------------------------------------------------------------------------------ input
    def _record(
        self,
        *,
        id: Any,
        img_id: Any,
        keypoints: Any,
        keypoint_scores: Any,
        category_id: Any = None,
        bbox_scores: Any = None,
        bbox_scales: Any = None,
        bboxes_xyxy: Any = None,
        ori_shape: Any = None,
        raw_ann_info: Any = None,
        crowd_index: Any = None,
    ) -> tuple[dict, dict]:
        """One ``(pred, gt)`` record, the shared core of :meth:`process` and :meth:`update`."""
        keypoints = np.asarray(to_numpy(keypoints))
        keypoint_scores = np.asarray(to_numpy(keypoint_scores))
        if keypoints.ndim == 2:  # a single instance (K, 2)
            keypoints, keypoint_scores = keypoints[None], keypoint_scores.reshape(1, -1)
        assert keypoint_scores.shape == keypoints.shape[:2], (
            f"keypoint_scores {keypoint_scores.shape} do not match keypoints {keypoints.shape}"
        )
        n = len(keypoints)
        pred: dict[str, Any] = {
            "id": to_numpy(id),
            "img_id": _scalar_int(img_id),
            "keypoints": keypoints,
            "keypoint_scores": keypoint_scores,
            "category_id": _scalar_int(category_id, 1),
        }
        if isinstance(pred["id"], np.ndarray):
            pred["id"] = pred["id"].tolist() if pred["id"].size > 1 else pred["id"].reshape(-1)[0].item()
        if bboxes_xyxy is not None:
            b = np.asarray(to_numpy(bboxes_xyxy), dtype=np.float64).reshape(-1, 4)
            pred["bbox"] = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
        if bbox_scores is not None:
            bbox_scores = np.asarray(to_numpy(bbox_scores)).reshape(-1)
        if bbox_scores is None or len(bbox_scores) != n:
            bbox_scores = np.ones(n)  # bottom-up outputs / no detector scores
        pred["bbox_scores"] = bbox_scores
        if bbox_scales is not None:
            scales = np.asarray(to_numpy(bbox_scales)).reshape(-1, 2)
            if len(scales) == n:
                pred["areas"] = np.prod(scales, axis=1)

        gt: dict[str, Any] = {}
        if self.ann_file is None:
            if ori_shape is None:
                raise KeyError("CocoMetric without ann_file needs `ori_shape` (h, w) in every sample meta")
            gt["width"] = int(ori_shape[1])
            gt["height"] = int(ori_shape[0])
            gt["img_id"] = pred["img_id"]
            if self.iou_type == "keypoints_crowd":
                assert crowd_index is not None, "`crowd_index` is required when `self.iou_type` is `keypoints_crowd`"
                gt["crowd_index"] = float(crowd_index)
            assert raw_ann_info is not None, (
                "The raw ground truth annotations (`raw_ann_info`) are required for evaluation when `ann_file` is "
                "not provided"
            )
            gt["raw_ann_info"] = raw_ann_info if isinstance(raw_ann_info, list) else [raw_ann_info]
        return pred, gt

    def process(self, data_batch: Any, data_samples: Sequence[Mapping[str, Any]]) -> None:
        """MMPose's API: ``data_samples`` are dicts with ``id``, ``img_id``, ``pred_instances`` (``keypoints``
        (N, K, 2), ``keypoint_scores`` (N, K), optional ``bboxes``/``bbox_scores``), ``gt_instances``
        (``bbox_scores``, ``bbox_scales``), ``category_id``, ``ori_shape``, ``raw_ann_info``, ``crowd_index``."""
        for data_sample in data_samples:
            if "pred_instances" not in data_sample:
                raise ValueError(
                    f"`pred_instances` are required to process the predictions results in {self.__class__.__name__}. "
                )
            pred_instances = data_sample["pred_instances"]
            gt_instances = data_sample.get("gt_instances", {})
            bbox_scores = _get(pred_instances, "bbox_scores")
            if bbox_scores is None:
                bbox_scores = _get(gt_instances, "bbox_scores")
            self.results.append(
                self._record(
                    id=data_sample["id"],
                    img_id=data_sample["img_id"],
                    keypoints=_get(pred_instances, "keypoints"),
                    keypoint_scores=_get(pred_instances, "keypoint_scores"),
                    category_id=data_sample.get("category_id", 1),
                    bbox_scores=bbox_scores,
                    bbox_scales=_get(gt_instances, "bbox_scales"),
                    bboxes_xyxy=_get(pred_instances, "bboxes"),
                    ori_shape=data_sample.get("ori_shape"),
                    raw_ann_info=data_sample.get("raw_ann_info"),
                    crowd_index=data_sample.get("crowd_index"),
                )
            )

    def update(self, metas: Sequence[Mapping[str, Any]], keypoints: Any, keypoint_scores: Any = None) -> None:
        """posekit's API: one batch of predictions in image space.

        Args:
            metas: ``PoseBatch.metas`` (see the module docstring for the keys read).
            keypoints: ``(B, N, K, 2)`` (``N`` = 1 top-down) tensor or array.
            keypoint_scores: ``(B, N, K)``; ones when ``None``.
        """
        keypoints = np.asarray(to_numpy(keypoints))
        if keypoints.ndim == 3:  # (B, K, 2): one instance per sample
            keypoints = keypoints[:, None]
        if keypoint_scores is None:
            keypoint_scores = np.ones(keypoints.shape[:3], dtype=np.float32)
        keypoint_scores = np.asarray(to_numpy(keypoint_scores)).reshape(keypoints.shape[:3])
        if len(metas) != len(keypoints):
            raise ValueError(f"update() got {len(metas)} metas but {len(keypoints)} predictions")
        for meta, kpts, scores in zip(metas, keypoints, keypoint_scores):
            bbox_scales = meta.get("bbox_scale")
            if bbox_scales is None:
                bbox_scales = meta.get("input_scale")
            self.results.append(
                self._record(
                    id=meta["id"],
                    img_id=meta["img_id"],
                    keypoints=kpts,
                    keypoint_scores=scores,
                    category_id=meta.get("category_id", 1),
                    bbox_scores=meta.get("bbox_score"),
                    bbox_scales=bbox_scales,
                    ori_shape=meta.get("ori_shape"),
                    raw_ann_info=meta.get("raw_ann_info"),
                    crowd_index=meta.get("crowd_index"),
                )
            )

    # ------------------------------------------------------------------------------------------------ ground truth
    def _coco_annotation(self, ann: Mapping[str, Any]) -> dict[str, Any]:
        """One ``raw_ann_info`` annotation as written to the ground-truth JSON."""
        annotation = {
            "id": ann["id"],
            "image_id": ann["image_id"],
            "category_id": ann["category_id"],
            "bbox": ann["bbox"],
            "keypoints": ann["keypoints"],
            "iscrowd": ann["iscrowd"],
        }
        if self.use_area:
            assert "area" in ann, "`area` is required when `self.use_area` is `True`"
            annotation["area"] = ann["area"]
        if self.iou_type == "keypoints_crowd":
            assert "num_keypoints" in ann, "`num_keypoints` is required when `self.iou_type` is `keypoints_crowd`"
            annotation["num_keypoints"] = ann["num_keypoints"]
        return annotation

    def gt_to_coco_json(self, gt_dicts: Sequence[dict], outfile_prefix: str) -> str:
        """Write the ground truth collected from the samples as ``<outfile_prefix>.gt.json`` (COCO format)."""
        image_infos, annotations = [], []
        img_ids: set = set()
        ann_ids: set = set()
        for gt_dict in gt_dicts:
            if gt_dict["img_id"] not in img_ids:
                image_info = {"id": gt_dict["img_id"], "width": gt_dict["width"], "height": gt_dict["height"]}
                if self.iou_type == "keypoints_crowd":
                    image_info["crowdIndex"] = gt_dict["crowd_index"]
                image_infos.append(image_info)
                img_ids.add(gt_dict["img_id"])
            for ann in gt_dict["raw_ann_info"]:
                if ann is None or ann["id"] in ann_ids:  # images without instances / duplicates
                    continue
                annotations.append(self._coco_annotation(ann))
                ann_ids.add(ann["id"])

        meta = self.dataset_meta or {}
        categories = meta.get("CLASSES")
        if categories is None:
            names = list(meta.get("keypoint_id2name", {}).values())
            skeleton = [[int(a) + 1, int(b) + 1] for a, b in meta.get("skeleton_links", [])]
            cat_ids = sorted({a["category_id"] for a in annotations}) or [1]
            categories = [
                {"id": c, "name": "person" if c == 1 else str(c), "keypoints": names, "skeleton": skeleton}
                for c in cat_ids
            ]
        coco_json = {
            "info": {
                "date_created": str(datetime.datetime.now()),
                "description": "Coco json file converted by posekit CocoMetric.",
            },
            "images": image_infos,
            "categories": categories,
            "licenses": None,
            "annotations": annotations,
        }
        path = f"{outfile_prefix}.gt.json"
        _dump_json_atomic(coco_json, path)
        return path

    # ------------------------------------------------------------------------------------------------ evaluation
    def compute_metrics(self, results: list) -> dict[str, float]:
        """Rescore, NMS, write the results JSON and (unless ``format_only``) evaluate. Unprefixed names."""
        if self.dataset_meta is None:
            raise RuntimeError(
                "CocoMetric needs the dataset meta information (sigmas, num_keypoints): pass metainfo='coco' (or a "
                "dict / YAML path) or set metric.dataset_meta before compute()"
            )
        preds, gts = zip(*results)

        tmp_dir = None
        if self.outfile_prefix is None:
            tmp_dir = tempfile.TemporaryDirectory()
            outfile_prefix = osp.join(tmp_dir.name, "results")
        else:
            outfile_prefix = self.outfile_prefix
        try:
            coco = self.coco
            if self.ann_file is None:
                coco = _quiet_coco(self.gt_to_coco_json(gts, outfile_prefix))
            if self.gt_converter is not None:  # on a copy: compute() may run again on the same COCO object
                dataset = dict(coco.dataset)
                dataset["annotations"] = transform_ann(
                    [dict(a) for a in dataset["annotations"]],
                    self.gt_converter["num_keypoints"],
                    self.gt_converter["mapping"],
                )
                coco = _quiet_coco(dataset)

            valid_kpts = self._score_and_nms(self._group_by_image(preds))
            cat_results = self._results_to_coco(valid_kpts)
            _dump_json_atomic(cat_results, f"{outfile_prefix}.keypoints.json")
            if self.format_only:
                return {}
            return OrderedDict(self._do_python_keypoint_eval(coco, cat_results))
        finally:
            if tmp_dir is not None:
                tmp_dir.cleanup()

    def _group_by_image(self, preds: Sequence[dict]) -> dict[int, list[dict]]:
        kpts: dict[int, list[dict]] = defaultdict(list)
        for pred in preds:
            if self.pred_converter is not None:
                pred = transform_pred(dict(pred), self.pred_converter["num_keypoints"], self.pred_converter["mapping"])
            for idx, keypoints in enumerate(pred["keypoints"]):
                instance = {
                    "id": pred["id"],
                    "img_id": pred["img_id"],
                    "category_id": pred["category_id"],
                    "keypoints": keypoints,
                    "keypoint_scores": pred["keypoint_scores"][idx],
                    "bbox_score": pred["bbox_scores"][idx],
                }
                if "bbox" in pred:
                    instance["bbox"] = pred["bbox"][idx]
                if "areas" in pred:
                    instance["area"] = pred["areas"][idx]
                else:  # the keypoints' extent
                    span = keypoints.max(axis=0) - keypoints.min(axis=0)
                    instance["area"] = span[0] * span[1]
                kpts[pred["img_id"]].append(instance)
        return self._sort_and_unique_bboxes(kpts, key="id")

    @staticmethod
    def _sort_and_unique_bboxes(kpts: dict[int, list[dict]], key: str = "id") -> dict[int, list[dict]]:
        """Sort each image's instances by ``key`` and drop repeats (samples evaluated twice by padded samplers)."""
        for img_id, persons in kpts.items():
            if isinstance(persons[0][key], (list, tuple)):  # bottom-up: one record holds many instances
                return kpts
            persons = sorted(persons, key=lambda x: x[key])
            kpts[img_id] = [p for i, p in enumerate(persons) if i == 0 or p[key] != persons[i - 1][key]]
        return kpts

    def _instance_score(self, instance: dict) -> Any:
        scores = instance["keypoint_scores"]
        if self.score_mode == "bbox":
            return instance["bbox_score"]
        if self.score_mode == "keypoint":
            return np.mean(scores)
        if self.score_mode == "bbox_rle":
            return float(instance["bbox_score"] + np.mean(scores) + np.max(scores))
        # bbox_keypoint: box score x mean of the confident keypoint scores (sequential sum, MMPose's rounding)
        valid = scores[scores > self.keypoint_score_thr]
        mean_kpt_score = np.cumsum(valid)[-1] / len(valid) if len(valid) else 0
        return instance["bbox_score"] * mean_kpt_score

    def _score_and_nms(self, kpts: dict[int, list[dict]]) -> dict[int, list[dict]]:
        valid_kpts: dict[int, list[dict]] = defaultdict(list)
        sigmas = self.dataset_meta["sigmas"]
        for img_id, instances in kpts.items():
            for instance in instances:
                instance["keypoints"] = np.concatenate(
                    [instance["keypoints"], instance["keypoint_scores"][:, None]], axis=-1
                )
                instance["score"] = self._instance_score(instance)
            if self.nms_mode == "none":
                valid_kpts[img_id] = instances
            else:
                nms = oks_nms if self.nms_mode == "oks_nms" else soft_oks_nms
                keep = nms(instances, self.nms_thr, sigmas=sigmas)
                valid_kpts[img_id] = [instances[k] for k in keep]
        return valid_kpts

    def _results_to_coco(self, keypoints: dict[int, list[dict]]) -> list[dict]:
        num_keypoints = self.dataset_meta["num_keypoints"]
        if self.pred_converter is not None:
            num_keypoints = self.pred_converter["num_keypoints"]
        cat_results = []
        for img_kpts in keypoints.values():
            if not img_kpts:
                continue
            flat = np.array([k["keypoints"] for k in img_kpts]).reshape(-1, num_keypoints * 3)
            for img_kpt, keypoint in zip(img_kpts, flat):
                res = {
                    "image_id": int(img_kpt["img_id"]),
                    "category_id": int(img_kpt["category_id"]),
                    "keypoints": keypoint.tolist(),
                    "score": float(img_kpt["score"]),
                }
                if "bbox" in img_kpt:
                    res["bbox"] = np.asarray(img_kpt["bbox"]).tolist()
                cat_results.append(res)
        return cat_results

    def results2json(self, keypoints: dict[int, list[dict]], outfile_prefix: str) -> str:
        """MMPose's helper: write rescored/NMS'd instances as ``<outfile_prefix>.keypoints.json``."""
        path = f"{outfile_prefix}.keypoints.json"
        _dump_json_atomic(self._results_to_coco(keypoints), path)
        return path

    def _do_python_keypoint_eval(self, coco: Any, cat_results: list[dict]) -> list[tuple[str, float]]:
        from .cocoeval import CROWD_STATS_NAMES, KEYPOINT_STATS_NAMES, KeypointCOCOeval, load_keypoint_results

        with contextlib.redirect_stdout(io.StringIO()):
            coco_det = load_keypoint_results(coco, [dict(r) for r in cat_results])
            coco_eval = KeypointCOCOeval(coco, coco_det, self.iou_type, self.dataset_meta["sigmas"], self.use_area)
            coco_eval.evaluate()
            coco_eval.accumulate()
            coco_eval.summarize()
        names = CROWD_STATS_NAMES if self.iou_type == "keypoints_crowd" else KEYPOINT_STATS_NAMES
        return [(name, float(v)) for name, v in zip(names, coco_eval.stats)]
