"""Data pipeline transforms: callables ``dict -> dict | None`` with MMPose 1.3.2's names, arguments and defaults.

Top-down training pipeline (as MMPose's configs)::

    LoadImage -> GetBBoxCenterScale -> RandomFlip -> RandomHalfBody -> RandomBBoxTransform -> TopdownAffine
    -> [Albumentation / PhotometricDistortion] -> GenerateTarget(codec) -> PackPoseInputs

Build them from YAML with ``_target_: posekit.datasets.transforms.TopdownAffine`` (or MMPose's ``type:``) inside
a :class:`Compose`. The results-dict keys are listed in ``docs/CONTRACTS.md`` ("Pipeline results dict").
"""

from .bbox import GetBBoxCenterScale, RandomBBoxTransform
from .common import Albumentation, PhotometricDistortion, RandomFlip, RandomHalfBody
from .compose import BaseTransform, Compose, build_transform
from .converting import KeypointConverter
from .filtering import FilterAnnotations
from .formatting import PackPoseInputs, image_to_tensor
from .loading import LoadImage
from .target import GenerateTarget, build_codec
from .topdown import TopdownAffine

__all__ = [
    "Albumentation",
    "BaseTransform",
    "Compose",
    "FilterAnnotations",
    "GenerateTarget",
    "GetBBoxCenterScale",
    "KeypointConverter",
    "LoadImage",
    "PackPoseInputs",
    "PhotometricDistortion",
    "RandomBBoxTransform",
    "RandomFlip",
    "RandomHalfBody",
    "TopdownAffine",
    "build_codec",
    "build_transform",
    "image_to_tensor",
]
