"""Box transforms: :class:`GetBBoxCenterScale` and :class:`RandomBBoxTransform` (MMPose semantics).

Neither transform writes into the arrays it receives: updated ``bbox_center`` / ``bbox_scale`` are new arrays
(MMPose's semantics; a cached dataset item or a user's array is never changed).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from posekit.structures import bbox_xyxy2cs

from .compose import BaseTransform

__all__ = ["GetBBoxCenterScale", "RandomBBoxTransform", "truncnorm"]


def truncnorm(size: int | tuple[int, ...] = (), low: float = -1.0, high: float = 1.0) -> np.ndarray:
    """Standard normal samples truncated to ``[low, high]`` (float32), drawn from NumPy's global RNG.

    Rejection sampling, vectorized; the global RNG keeps Lightning's per-worker seeding effective.
    """
    out = np.random.standard_normal(size)
    bad = (out < low) | (out > high)
    while np.any(bad):
        out[bad] = np.random.standard_normal(int(bad.sum()))
        bad = (out < low) | (out > high)
    return np.asarray(out, dtype=np.float32)


def _require(results: dict, key: str, who: str, hint: str) -> np.ndarray:
    if results.get(key) is None:
        raise KeyError(f"{who}: results has no {key!r}; {hint}")
    return results[key]


class GetBBoxCenterScale(BaseTransform):
    """``bbox`` (N, 4) xyxy -> ``bbox_center`` (N, 2) and ``bbox_scale`` (N, 2) = box size * ``padding``.

    If both ``bbox_center`` and ``bbox_scale`` already exist they are kept and only the padding is applied
    to the scale (as MMPose does, with a warning).
    """

    def __init__(self, padding: float = 1.25) -> None:
        self.padding = padding

    def transform(self, results: dict) -> dict:
        if "bbox_center" in results and "bbox_scale" in results:
            warnings.warn(
                'Use the existing "bbox_center" and "bbox_scale". The padding will still be applied.', stacklevel=2
            )
            scale = results["bbox_scale"]
            if not (isinstance(scale, np.ndarray) and scale.dtype.kind == "f"):
                scale = np.asarray(scale, dtype=np.float32)
            results["bbox_scale"] = scale * self.padding
        else:
            bbox = _require(results, "bbox", "GetBBoxCenterScale", "the dataset item must give 'bbox' (N, 4) in xyxy")
            bbox = np.asarray(bbox)
            if bbox.shape[-1] < 4:
                raise ValueError(f"GetBBoxCenterScale: 'bbox' must be (N, 4) xyxy, got shape {bbox.shape}")
            center, scale = bbox_xyxy2cs(bbox[..., :4], padding=self.padding)
            results["bbox_center"] = center
            results["bbox_scale"] = scale
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(padding={self.padding})"


class RandomBBoxTransform(BaseTransform):
    r"""Randomly shift, resize and rotate the boxes (``bbox_center``, ``bbox_scale``; adds ``bbox_rotation`` (N,)).

    Each factor is drawn from a standard normal truncated to [-1, 1]:

    * shift (prob ``shift_prob``): ``center += t * shift_factor * scale``, t of shape (N, 2);
    * resize (prob ``scale_prob``): ``scale *= mu + t * sigma`` with ``mu, sigma`` the middle and half-width of
      ``scale_factor = (min, max)`` (a single float f means (1 - f, 1 + f), MMPose 1.0's form);
    * rotate (prob ``rotate_prob``): ``rotation = t * rotate_factor`` degrees.
    """

    def __init__(
        self,
        shift_factor: float = 0.16,
        shift_prob: float = 0.3,
        scale_factor: tuple[float, float] = (0.5, 1.5),
        scale_prob: float = 1.0,
        rotate_factor: float = 80.0,
        rotate_prob: float = 0.6,
    ) -> None:
        if not isinstance(scale_factor, (int, float)):
            if not isinstance(scale_factor, Sequence) and not hasattr(scale_factor, "__len__"):
                raise TypeError(f"RandomBBoxTransform: scale_factor must be (min, max), got {scale_factor!r}")
            if len(scale_factor) != 2:
                raise ValueError(f"RandomBBoxTransform: scale_factor must be (min, max), got {scale_factor!r}")
            scale_factor = tuple(float(s) for s in scale_factor)
        self.shift_factor = shift_factor
        self.shift_prob = shift_prob
        self.scale_factor = scale_factor
        self.scale_prob = scale_prob
        self.rotate_factor = rotate_factor
        self.rotate_prob = rotate_prob

    def _get_transform_params(self, num_bboxes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Random offset (n, 2), scale factor (n, 1) and rotation in degrees (n,)."""
        offset = truncnorm(size=(num_bboxes, 2)) * self.shift_factor
        offset = np.where(np.random.rand(num_bboxes, 1) < self.shift_prob, offset, 0.0)

        if isinstance(self.scale_factor, (int, float)):
            scale_min, scale_max = 1.0 - self.scale_factor, 1.0 + self.scale_factor
        else:
            scale_min, scale_max = self.scale_factor
        mu = (scale_max + scale_min) * 0.5
        sigma = (scale_max - scale_min) * 0.5
        scale = truncnorm(size=(num_bboxes, 1)) * sigma + mu
        scale = np.where(np.random.rand(num_bboxes, 1) < self.scale_prob, scale, 1.0)

        rotate = truncnorm(size=(num_bboxes,)) * self.rotate_factor
        rotate = np.where(np.random.rand(num_bboxes) < self.rotate_prob, rotate, 0.0)
        return offset, scale, rotate

    def transform(self, results: dict) -> dict:
        hint = "put GetBBoxCenterScale before RandomBBoxTransform in the pipeline"
        center = _require(results, "bbox_center", "RandomBBoxTransform", hint)
        bbox_scale = _require(results, "bbox_scale", "RandomBBoxTransform", hint)
        offset, scale, rotate = self._get_transform_params(bbox_scale.shape[0])
        shifted = center + offset * bbox_scale
        resized = bbox_scale * scale
        # float inputs keep their dtype (as the former in-place update did); integer inputs promote
        if center.dtype.kind == "f":
            shifted = shifted.astype(center.dtype, copy=False)
        if bbox_scale.dtype.kind == "f":
            resized = resized.astype(bbox_scale.dtype, copy=False)
        results["bbox_center"] = shifted
        results["bbox_scale"] = resized
        results["bbox_rotation"] = rotate
        return results

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(shift_prob={self.shift_prob}, shift_factor={self.shift_factor}, "
            f"scale_prob={self.scale_prob}, scale_factor={self.scale_factor}, "
            f"rotate_prob={self.rotate_prob}, rotate_factor={self.rotate_factor})"
        )
