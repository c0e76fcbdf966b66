"""Inference from Python: :func:`init_model`, :func:`inference_topdown`, the batched :class:`TopdownInferencer`
and :func:`run_inference` (what ``posekit-infer`` does), ONNX export and model complexity.

The ONNX functions need ``onnx`` and ``onnxruntime`` (``pip install posekit[export]``), imported when called.
"""

from .complexity import get_model_complexity, parse_input_shape
from .export import check_onnx, export_onnx
from .inference import (
    PoseDataSample,
    build_test_pipeline,
    inference_topdown,
    init_model,
    load_image,
    merge_data_samples,
    model_input_size,
    predict_samples,
    prepare_samples,
)
from .inferencer import Detections, TopdownInferencer, load_detections, run_inference

__all__ = [
    "Detections",
    "PoseDataSample",
    "TopdownInferencer",
    "build_test_pipeline",
    "check_onnx",
    "export_onnx",
    "get_model_complexity",
    "inference_topdown",
    "init_model",
    "load_detections",
    "load_image",
    "merge_data_samples",
    "model_input_size",
    "parse_input_shape",
    "predict_samples",
    "prepare_samples",
    "run_inference",
]
