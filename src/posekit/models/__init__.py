"""Models: ``TopdownPoseEstimator`` (backbone -> neck -> head), ``PoseDataPreprocessor``, heads, losses, necks,
and ``build_model(name)`` for the packaged Hydra model configs (``conf/model/*.yaml``)."""

from . import heads, losses, necks
from .builder import build_model, build_model_from_cfg, build_object, list_models
from .estimator import TopdownPoseEstimator
from .preprocessor import PoseDataPreprocessor

__all__ = [
    "PoseDataPreprocessor",
    "TopdownPoseEstimator",
    "build_model",
    "build_model_from_cfg",
    "build_object",
    "heads",
    "list_models",
    "losses",
    "necks",
]
