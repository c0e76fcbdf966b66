"""Inference from Python: :func:`init_model` (weights by name, path or URL), :func:`inference_topdown` (with a
person detector when no boxes are given), the batched :class:`TopdownInferencer`, :class:`PoseInferencer`
(detection + pose + tracking) and :func:`run_inference` (what ``posekit-infer`` does), ONNX export and model
complexity.

One job per file: ``model_loading`` (init_model), ``weights`` (aliases, registry URLs, conversion cache),
``detections`` (detection files), ``detector`` (torchvision person detectors), ``inference`` (pipeline, one
image), ``inferencer`` (streams of frames), ``tracking``, ``file_io`` (image/video files, predictions JSON),
``run`` (the CLI's work).

The ONNX functions need ``onnx`` and ``onnxruntime`` (``pip install posekit[export]``), imported when called.
"""

from .complexity import get_model_complexity, parse_input_shape
from .detections import Detections, load_detections
from .detector import DEFAULT_DETECTOR, DETECTORS, PersonDetector, build_detector
from .export import check_onnx, check_onnx_end2end, export_onnx, export_onnx_end2end
from .file_io import PredictionsWriter, load_image, read_image_file
from .inference import (
    PoseDataSample,
    build_test_pipeline,
    inference_topdown,
    merge_data_samples,
    model_input_size,
    predict_samples,
    prepare_samples,
)
from .inferencer import PoseInferencer, TopdownInferencer
from .model_loading import init_model, load_model_weights
from .run import run_inference
from .tracking import PoseTracker, bbox_iou, bboxes_from_keypoints
from .weights import ALIASES, has_pretrained_weights, pretrained_url, resolve_model_name

__all__ = [
    "ALIASES",
    "DEFAULT_DETECTOR",
    "DETECTORS",
    "Detections",
    "PersonDetector",
    "PoseDataSample",
    "PoseInferencer",
    "PoseTracker",
    "PredictionsWriter",
    "TopdownInferencer",
    "bbox_iou",
    "bboxes_from_keypoints",
    "build_detector",
    "build_test_pipeline",
    "check_onnx",
    "check_onnx_end2end",
    "export_onnx",
    "export_onnx_end2end",
    "get_model_complexity",
    "has_pretrained_weights",
    "inference_topdown",
    "init_model",
    "load_detections",
    "load_image",
    "load_model_weights",
    "merge_data_samples",
    "model_input_size",
    "parse_input_shape",
    "predict_samples",
    "prepare_samples",
    "pretrained_url",
    "read_image_file",
    "resolve_model_name",
    "run_inference",
]
