"""``inference_topdown``: MMPose's top-down inference call on posekit models (with a person detector when no
boxes are given), the test pipeline, and MMPose-shaped results.

Example::

    from posekit.apis import init_model, inference_topdown

    model = init_model("human", pretrained=True)        # RTMPose-m (AIC+COCO), downloaded once
    people = inference_topdown(model, "image.jpg")      # boxes from the default person detector
    people = inference_topdown(model, "image.jpg", bboxes=[[50, 20, 210, 380]])   # or your xyxy boxes
    people[0]["keypoints"]          # (K, 2) image pixels
    people[0]["keypoint_scores"]    # (K,)
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from posekit.structures import PoseDataSample, merge_data_samples  # noqa: F401  (re-exported: MMPose's apis names)

from .detections import _as_boxes
from .file_io import load_image

__all__ = [
    "PoseDataSample",
    "build_test_pipeline",
    "inference_topdown",
    "merge_data_samples",
    "model_input_size",
    "predict_samples",
    "prepare_samples",
]


# ---------------------------------------------------------------------------------------------------- pipeline
def model_input_size(model: nn.Module) -> tuple[int, int]:
    """The model's input size (w, h), from its head's codec (``head.decoder.input_size``) or stored config."""
    decoder = getattr(getattr(model, "head", None), "decoder", None)
    size = getattr(decoder, "input_size", None)
    if size is None:
        size = ((getattr(model, "cfg", None) or {}).get("codec") or {}).get("input_size")
    if size is None:
        raise ValueError(
            "the model has no codec input size (head.decoder.input_size); give its head a `decoder` (codec) config"
        )
    return int(size[0]), int(size[1])


def build_test_pipeline(model: nn.Module):
    """The test pipeline for ``model``: its stored ``data.test``/``data.val`` pipeline when built from a
    checkpoint (without target generation), else MMPose's top-down test pipeline at the codec's input size
    (``LoadImage -> GetBBoxCenterScale(padding=1.25) -> TopdownAffine(input_size, use_udp for UDP codecs)
    -> PackPoseInputs``). Cached on the model as ``model.test_pipeline``."""
    from posekit.datasets.transforms import (
        Compose,
        GetBBoxCenterScale,
        LoadImage,
        PackPoseInputs,
        TopdownAffine,
    )

    cached = getattr(model, "test_pipeline", None)
    if cached is not None:
        return cached
    cfg = getattr(model, "cfg", None) or {}
    data = cfg.get("data") or {}
    stored = None
    for split in ("test", "val"):
        node = data.get(split)
        if isinstance(node, Mapping) and node.get("pipeline"):
            stored = node["pipeline"]
            break
    if stored is not None:
        keep = [t for t in stored if not str(t.get("_target_", t.get("type", ""))).endswith("GenerateTarget")]
        pipeline = Compose(keep)
    else:
        from posekit.codecs import UDPHeatmap

        decoder = getattr(getattr(model, "head", None), "decoder", None)
        pipeline = Compose(
            [
                LoadImage(),
                GetBBoxCenterScale(padding=1.25),
                TopdownAffine(input_size=model_input_size(model), use_udp=isinstance(decoder, UDPHeatmap)),
                PackPoseInputs(),
            ]
        )
    model.test_pipeline = pipeline
    return pipeline


def prepare_samples(
    model: nn.Module,
    img: np.ndarray,
    bboxes: np.ndarray,
    bbox_scores: np.ndarray | None = None,
    img_path: str | None = None,
    img_id: Any = None,
) -> list:
    """One :class:`~posekit.structures.PoseSample` per xyxy box of ``img`` through :func:`build_test_pipeline`."""
    pipeline = build_test_pipeline(model)
    meta = getattr(model, "dataset_meta", None) or {}
    extra = {
        k: meta[k]
        for k in ("dataset_name", "flip_indices", "flip_pairs", "upper_body_ids", "lower_body_ids")
        if k in meta
    }
    scores = np.ones(len(bboxes), np.float32) if bbox_scores is None else np.asarray(bbox_scores, np.float32)
    samples = []
    for i, box in enumerate(bboxes):
        info = {
            "img": img,
            "img_path": img_path,
            "img_id": img_id,
            "id": i,
            "bbox": np.asarray(box, np.float32).reshape(1, 4),
            "bbox_score": scores[i : i + 1].copy(),
            **extra,
        }
        sample = pipeline(info)
        if sample is None:
            raise RuntimeError(f"the test pipeline dropped box {i} of {img_path or 'the image'}")
        samples.append(sample)
    return samples


def predict_samples(model: nn.Module, samples: Sequence, output_heatmaps: bool = False) -> dict[str, np.ndarray]:
    """One batched forward of ``samples`` (flip test per ``model.test_cfg``).

    Returns numpy ``keypoints`` (B, K, 2) in image pixels, ``keypoint_scores`` (B, K), ``input_center`` (B, 2),
    ``input_scale`` (B, 2), and with ``output_heatmaps`` the crop-space ``heatmaps`` (B, K, h, w) when the head
    produces them.
    """
    if getattr(model, "is_onnx_backend", False):  # posekit.apis.onnx_backend.OnnxPoseModel: the graph decodes
        return model.predict_samples(samples, output_heatmaps)
    from posekit.structures import collate_pose_samples

    if len(samples) == 0:
        return {}
    batch = collate_pose_samples(list(samples))
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    batch = batch.to(device)
    saved = getattr(model, "test_cfg", None)
    if output_heatmaps:
        model.test_cfg = {**(saved or {}), "output_heatmaps": True}
    try:
        with torch.inference_mode():
            inputs = model.data_preprocessor(batch.inputs)
            preds = model.predict(inputs, batch)
    finally:
        if output_heatmaps:
            model.test_cfg = saved
    out = {
        "keypoints": preds["keypoints"][:, 0].float().cpu().numpy(),
        "keypoint_scores": preds["keypoint_scores"][:, 0].float().cpu().numpy(),
        "input_center": batch.centers.cpu().numpy(),
        "input_scale": batch.scales.cpu().numpy(),
        "bbox": np.stack([np.asarray(m["bbox"], np.float32).reshape(4) for m in batch.metas]),
        "bbox_score": np.asarray(
            [float(np.asarray(m.get("bbox_score", 1.0)).reshape(-1)[0]) for m in batch.metas], np.float32
        ),
    }
    if output_heatmaps and "heatmaps" in preds:
        out["heatmaps"] = preds["heatmaps"].float().cpu().numpy()
    return out


def _model_device(model: nn.Module) -> torch.device:
    if not hasattr(model, "parameters"):  # an ONNX Runtime model (posekit.apis.onnx_backend): the CPU feeds it
        return torch.device("cpu")
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _split_predictions(preds: Mapping[str, np.ndarray], with_heatmaps: bool) -> list[dict[str, Any]]:
    results = []
    for i in range(len(preds.get("keypoints", ()))):
        res = {
            "keypoints": preds["keypoints"][i],
            "keypoint_scores": preds["keypoint_scores"][i],
            "bbox": preds["bbox"][i],
            "bbox_score": float(preds["bbox_score"][i]),
        }
        if with_heatmaps:
            res["input_center"] = preds["input_center"][i]
            res["input_scale"] = preds["input_scale"][i]
            if "heatmaps" in preds:
                res["heatmaps"] = preds["heatmaps"][i]
        results.append(res)
    return results


# ------------------------------------------------------------------------------------------ MMPose-like results
def inference_topdown(
    model: nn.Module,
    img: str | os.PathLike | np.ndarray,
    bboxes: Any = None,
    bbox_format: str = "xyxy",
    bbox_scores: Any = None,
    return_heatmaps: bool = False,
    return_datasamples: bool = False,
    detector: Any = None,
) -> list:
    """Top-down pose estimation of the people in ``bboxes`` (MMPose's ``inference_topdown``).

    All boxes go through the test pipeline and ONE batched forward (flip test as in ``model.test_cfg``).

    Args:
        model: from :func:`init_model` (any :class:`~posekit.models.TopdownPoseEstimator` with a codec works).
        img: an image path or an (H, W, 3) BGR array.
        bboxes: (N, 4) boxes; ``None``: the ``detector``'s person boxes (none found: ``[]``); without a detector,
            ``None`` or empty means the whole image is one box (as MMPose).
        bbox_format: ``'xyxy'`` (default) or ``'xywh'``.
        bbox_scores: (N,) detection scores copied into the results (default 1).
        return_heatmaps: also return each person's crop-space ``heatmaps`` (K, h, w) with ``input_center`` /
            ``input_scale`` (see :func:`posekit.visualization.revert_heatmap`), for heatmap heads.
        return_datasamples: return MMPose-shaped :class:`PoseDataSample` s (one per box, N=1; combine them with
            :func:`merge_data_samples`) instead of dicts.
        detector: used when ``bboxes`` is None: a :class:`~posekit.apis.PersonDetector` (or anything with
            ``detect(images) -> [(N, 5) xyxy + score]``), or a torchvision detector name
            (``'fasterrcnn_mobilenet_v3_large_fpn'``, built with its COCO weights on the model's device).

    Returns:
        One dict per box: ``keypoints`` (K, 2) float32 in image pixels, ``keypoint_scores`` (K,), ``bbox`` (4,)
        xyxy, ``bbox_score`` (float).
    """
    image, path = load_image(img)
    h, w = image.shape[:2]
    boxes = None if bboxes is None else _as_boxes(bboxes, bbox_format, "inference_topdown")
    if boxes is None and detector is not None:
        from .detector import build_detector

        det = build_detector(detector, device=_model_device(model)) if isinstance(detector, str) else detector
        found = det.detect([image])[0]
        if len(found) == 0:
            return []
        boxes, bbox_scores = found[:, :4], found[:, 4]
    if boxes is None or len(boxes) == 0:
        boxes = np.array([[0, 0, w, h]], dtype=np.float32)
        bbox_scores = None
    if bbox_scores is not None and len(np.asarray(bbox_scores).reshape(-1)) != len(boxes):
        raise ValueError(f"inference_topdown: {len(boxes)} boxes but {np.size(bbox_scores)} bbox_scores")
    samples = prepare_samples(model, image, boxes, bbox_scores, img_path=path)
    preds = predict_samples(model, samples, output_heatmaps=return_heatmaps)
    results = _split_predictions(preds, with_heatmaps=return_heatmaps)
    if not return_datasamples:
        return results
    out = []
    for r in results:
        ds = PoseDataSample(
            pred_instances={
                "keypoints": r["keypoints"][None],
                "keypoint_scores": r["keypoint_scores"][None],
                "bboxes": np.asarray(r["bbox"], np.float32)[None],
                "bbox_scores": np.asarray([r["bbox_score"]], np.float32),
            },
            metainfo={"img_path": path, "ori_shape": (h, w)},
        )
        if return_heatmaps:
            ds.metainfo.update(input_center=r["input_center"], input_scale=r["input_scale"])
            if "heatmaps" in r:
                ds.pred_fields["heatmaps"] = r["heatmaps"]
        out.append(ds)
    return out
