"""Common base of all keypoint codecs.

A codec turns keypoints into a training target (``encode``, numpy, runs in data workers) and a network output
back into keypoints (``decode``). ``decode`` has two modes:

* numpy input: MMPose's unbatched call with MMPose's output shapes and numbers;
* torch input: batched and on the input's device, one instance per sample:
  ``keypoints (B, 1, K, 2)``, ``scores (B, 1, K)`` float32 in input-image (crop) pixels.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any, ClassVar

import numpy as np
import torch

__all__ = ["BaseKeypointCodec"]


class BaseKeypointCodec(metaclass=ABCMeta):
    """Base class of keypoint codecs (MMPose's interface).

    Class attributes (as MMPose) tell ``GenerateTarget`` / ``PackPoseInputs`` where encoded keys go:
    ``field_mapping_table`` (per-image maps such as ``heatmaps``), ``label_mapping_table`` (per-instance labels
    such as ``keypoint_weights``), ``instance_mapping_table`` and ``auxiliary_encode_keys`` (extra ``encode``
    arguments taken from the results dict).
    """

    auxiliary_encode_keys: ClassVar[set[str]] = set()
    field_mapping_table: ClassVar[dict[str, str]] = {}
    instance_mapping_table: ClassVar[dict[str, str]] = {}
    label_mapping_table: ClassVar[dict[str, str]] = {}

    @abstractmethod
    def encode(self, keypoints: np.ndarray, keypoints_visible: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Encode keypoints (N, K, 2) with visibility (N, K) (default all ones) into a dict of numpy targets."""

    @abstractmethod
    def decode(self, *encoded: Any) -> tuple[Any, Any]:
        """Decode a network output into ``(keypoints, scores)`` (see the module docstring for the two modes)."""

    def batch_decode(self, batch_encoded: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """MMPose's optional batch decoding hook; posekit codecs batch through ``decode`` on tensors instead."""
        raise NotImplementedError(f"{type(self).__name__} decodes batches through decode() on torch tensors")

    @property
    def support_batch_decoding(self) -> bool:
        """Whether a subclass overrides :meth:`batch_decode` (MMPose's flag)."""
        return type(self).batch_decode is not BaseKeypointCodec.batch_decode

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"

    # ----------------------------------------------------------------------------------------------- helpers
    def _check_encode_inputs(
        self, keypoints: np.ndarray, keypoints_visible: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Validate ``keypoints`` (N, K, 2) / ``keypoints_visible`` (N, K); default visibility is all ones."""
        name = type(self).__name__
        if isinstance(keypoints, torch.Tensor) or isinstance(keypoints_visible, torch.Tensor):
            raise TypeError(f"{name}.encode takes numpy arrays (it runs in the data pipeline), got a torch.Tensor")
        keypoints = np.asarray(keypoints)
        if keypoints.ndim != 3 or keypoints.shape[-1] != 2:
            raise ValueError(f"{name}.encode: keypoints must have shape (N, K, 2), got {keypoints.shape}")
        if keypoints_visible is None:
            keypoints_visible = np.ones(keypoints.shape[:2], dtype=np.float32)
        keypoints_visible = np.asarray(keypoints_visible)
        if keypoints_visible.shape != keypoints.shape[:2]:
            raise ValueError(
                f"{name}.encode: keypoints_visible must have shape (N, K) = {keypoints.shape[:2]}, "
                f"got {keypoints_visible.shape}"
            )
        return keypoints, keypoints_visible.astype(np.float32, copy=False)

    def _check_single_instance(self, keypoints: np.ndarray) -> None:
        assert keypoints.shape[0] == 1, f"{type(self).__name__} only support single-instance keypoint encoding"


def as_size(value: Any, name: str, owner: str) -> tuple[int, int]:
    """A (w, h) size from any 2-sequence (tuple, list, OmegaConf ListConfig) as a tuple of positive ints."""
    try:
        size = tuple(value)
    except TypeError:
        raise TypeError(f"{owner}: {name} must be a (w, h) pair, got {value!r}") from None
    if len(size) != 2 or any(int(v) != v or v <= 0 for v in size):
        raise ValueError(f"{owner}: {name} must be two positive integers (w, h), got {value!r}")
    return int(size[0]), int(size[1])


def is_tensor(value: Any) -> bool:
    """True for a torch tensor (decode's batched mode)."""
    return isinstance(value, torch.Tensor)


def check_batched(name: str, value: Any, ndim: int, layout: str) -> torch.Tensor:
    """Validate a batched tensor input of ``decode``; returns it as float32 (same device)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor {layout}, got {type(value).__name__}")
    if value.ndim != ndim:
        raise ValueError(
            f"{name}: a torch input must be batched {layout}, got shape {tuple(value.shape)} "
            "(pass a numpy array for MMPose's unbatched call)"
        )
    return value.float()
