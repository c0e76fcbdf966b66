"""MMPose's result containers without mmengine: :class:`InstanceData`, :class:`PixelData`, :class:`PoseDataSample`,
:func:`merge_data_samples` and :func:`revert_heatmap` (MMPose's ``mmpose.structures`` names).

The containers are dicts with attribute access, so both MMPose's style (``sample.pred_instances.keypoints``,
``'pred_instances' in sample``, ``sample.ori_shape``) and plain dict access (``sample.pred_instances['keypoints']``)
work. Values are numpy arrays (or tensors): no copying, no type conversion.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import cv2
import numpy as np

from .bbox import get_warp_matrix

__all__ = ["InstanceData", "PixelData", "PoseDataSample", "merge_data_samples", "revert_heatmap", "split_instances"]


class _AttrDict(dict):
    """A dict whose keys are also attributes (``d.keypoints is d['keypoints']``)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r} (fields: {sorted(self)})") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def set_data(self, data: Mapping[str, Any]) -> None:
        """Add or replace several fields (mmengine's ``set_data``)."""
        self.update(data)

    def to_dict(self) -> dict:
        """A plain dict of the fields (mmengine's ``to_dict``)."""
        return dict(self)

    def all_keys(self) -> list[str]:
        return list(self.keys())


class InstanceData(_AttrDict):
    """Per-instance fields (first axis = instance): ``keypoints`` (N, K, 2), ``keypoint_scores`` (N, K),
    ``bboxes`` (N, 4), ``bbox_scores`` (N,) ... ``len()`` is the number of instances."""

    def __len__(self) -> int:
        for v in self.values():
            if hasattr(v, "__len__"):
                return len(v)
        return 0

    @classmethod
    def cat(cls, items: Sequence[InstanceData]) -> InstanceData:
        """Concatenate instances along the first axis (mmengine's ``InstanceData.cat``); lists are joined."""
        if not items:
            return cls()
        keys = list(items[0].keys())
        for i, item in enumerate(items):
            if set(item.keys()) != set(keys):
                raise ValueError(f"InstanceData.cat: item {i} has fields {sorted(item)}, item 0 has {sorted(keys)}")
        out = cls()
        for k in keys:
            values = [item[k] for item in items]
            if isinstance(values[0], np.ndarray):
                out[k] = np.concatenate(values, axis=0)
            elif hasattr(values[0], "dim"):  # torch tensor, without importing torch here
                import torch

                out[k] = torch.cat(values, dim=0)
            elif isinstance(values[0], list):
                out[k] = [x for v in values for x in v]
            else:
                raise TypeError(f"InstanceData.cat: field {k!r} of type {type(values[0]).__name__} cannot be joined")
        return out


class PixelData(_AttrDict):
    """Pixel-level fields (last two axes = height, width): ``heatmaps`` (K, H, W) ..."""


class PoseDataSample:
    """MMPose's ``PoseDataSample``: ``gt_instances``, ``gt_instance_labels``, ``pred_instances`` (InstanceData),
    ``gt_fields``, ``pred_fields`` (PixelData) and ``metainfo`` (``img_path``, ``ori_shape``, ``input_center``,
    ``input_scale`` ...; also readable as attributes: ``sample.ori_shape``)."""

    _FIELDS = {
        "gt_instances": InstanceData,
        "gt_instance_labels": InstanceData,
        "pred_instances": InstanceData,
        "gt_fields": PixelData,
        "pred_fields": PixelData,
    }

    def __init__(self, metainfo: Mapping[str, Any] | None = None, **fields: Any) -> None:
        object.__setattr__(self, "metainfo", dict(metainfo or {}))
        object.__setattr__(self, "_data", {})
        for name, value in fields.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "metainfo":
            object.__setattr__(self, "metainfo", dict(value))
        elif name in self._FIELDS:
            kind = self._FIELDS[name]
            self._data[name] = value if isinstance(value, kind) else kind(value or {})
        else:
            raise AttributeError(
                f"PoseDataSample: unknown field {name!r}; fields are {sorted(self._FIELDS)}, "
                "image-level values go into metainfo (set_metainfo)"
            )

    def __getattr__(self, name: str) -> Any:
        data = object.__getattribute__(self, "_data")
        if name in data:
            return data[name]
        if name in self._FIELDS:  # an absent field reads as empty, and is created on first use
            data[name] = self._FIELDS[name]()
            return data[name]
        metainfo = object.__getattribute__(self, "metainfo")
        if name in metainfo:
            return metainfo[name]
        raise AttributeError(f"PoseDataSample has no field or metainfo {name!r}")

    def __contains__(self, name: str) -> bool:
        return name in self._data or name in self.metainfo

    def set_metainfo(self, metainfo: Mapping[str, Any]) -> None:
        self.metainfo.update(metainfo)

    def set_field(self, value: Any, name: str) -> None:
        setattr(self, name, value)

    def keys(self) -> list[str]:
        return list(self._data)

    def metainfo_keys(self) -> list[str]:
        return list(self.metainfo)

    # shortcuts to the predictions
    @property
    def keypoints(self) -> np.ndarray:
        return self.pred_instances["keypoints"]

    @property
    def keypoint_scores(self) -> np.ndarray:
        return self.pred_instances["keypoint_scores"]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={sorted(v)}" for k, v in self._data.items())
        return f"PoseDataSample(metainfo={sorted(self.metainfo)}, {fields})"


def revert_heatmap(heatmap: Any, input_center: Any, input_scale: Any, img_shape: Sequence[int]) -> np.ndarray:
    """Warp crop-space heatmaps back into the image (MMPose's ``revert_heatmap``).

    Args:
        heatmap: (K, h, w) or (h, w) over the crop of ``input_center`` (2,) / ``input_scale`` (2,); numpy or torch.
        img_shape: (H, W) of the image.

    Returns:
        (K, H, W) or (H, W) float32, zero outside the crop (bilinear, as MMPose's ``cv2.warpAffine`` call).
    """
    if hasattr(heatmap, "detach"):
        heatmap = heatmap.detach().cpu().numpy()
    hm = np.asarray(heatmap, dtype=np.float32)
    squeeze = hm.ndim == 2
    if squeeze:
        hm = hm[None]
    if hm.ndim != 3:
        raise ValueError(f"revert_heatmap: heatmap must be (K, h, w) or (h, w), got shape {hm.shape}")
    hm_h, hm_w = hm.shape[1:]
    img_h, img_w = int(img_shape[0]), int(img_shape[1])
    center = np.asarray(input_center, dtype=np.float32).reshape(2)
    scale = np.asarray(input_scale, dtype=np.float32).reshape(2)
    mat = get_warp_matrix(center, scale, 0.0, output_size=(hm_w, hm_h), inv=True)
    out = np.empty((hm.shape[0], img_h, img_w), np.float32)
    for start in range(0, hm.shape[0], 512):  # cv2 warps at most 512 channels at once
        chunk = np.ascontiguousarray(hm[start : start + 512].transpose(1, 2, 0))
        warped = cv2.warpAffine(chunk, mat, (img_w, img_h), flags=cv2.INTER_LINEAR)
        out[start : start + 512] = warped.reshape(img_h, img_w, -1).transpose(2, 0, 1)
    return out[0] if squeeze else out


def merge_data_samples(data_samples: Iterable[PoseDataSample]) -> PoseDataSample:
    """Merge the per-box samples of one image into one (MMPose's ``merge_data_samples``).

    Instances (``gt_instances``, ``pred_instances``) are concatenated; crop-space ``heatmaps`` in ``pred_fields`` /
    ``gt_fields`` are warped back into the image (:func:`revert_heatmap`, ``ori_shape``) and merged with a per-pixel
    maximum. The metainfo is the first sample's. An empty list warns and gives an empty sample, as MMPose.
    """
    samples = list(data_samples)
    for i, s in enumerate(samples):
        if not isinstance(s, PoseDataSample):
            raise ValueError(
                f"merge_data_samples: item {i} is a {type(s).__name__}; expected a list of PoseDataSample"
            )
    if not samples:
        warnings.warn("Try to merge an empty list of data samples.", stacklevel=2)
        return PoseDataSample()
    first = samples[0]
    merged = PoseDataSample(metainfo=first.metainfo)
    for name in ("gt_instances", "pred_instances"):
        if name in first:
            setattr(merged, name, InstanceData.cat([getattr(s, name) for s in samples]))
    for name in ("pred_fields", "gt_fields"):
        if name in first and "heatmaps" in getattr(first, name):
            reverted = [
                revert_heatmap(getattr(s, name)["heatmaps"], s.input_center, s.input_scale, s.ori_shape)
                for s in samples
            ]
            setattr(merged, name, PixelData(heatmaps=np.max(np.stack(reverted), axis=0)))
    return merged


def split_instances(instances: InstanceData | None) -> list[dict]:
    """One plain dict per instance (MMPose's ``split_instances``): ``keypoints`` and ``keypoint_scores`` as lists,
    ``bbox`` and ``bbox_score`` where the instances have boxes. ``None`` gives an empty list.

    Unlike MMPose (where a stray comma makes ``bbox`` a 1-tuple), ``bbox`` is the plain list of 4 numbers.
    """
    if instances is None:
        return []
    results = []
    for i in range(len(instances["keypoints"])):
        result = {
            "keypoints": np.asarray(instances["keypoints"][i]).tolist(),
            "keypoint_scores": np.asarray(instances["keypoint_scores"][i]).tolist(),
        }
        if "bboxes" in instances:
            result["bbox"] = np.asarray(instances["bboxes"][i]).tolist()
            if "bbox_scores" in instances:
                result["bbox_score"] = float(instances["bbox_scores"][i])
        results.append(result)
    return results
