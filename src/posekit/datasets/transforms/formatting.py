"""Packing: :class:`PackPoseInputs` turns the results dict into a :class:`~posekit.structures.PoseSample`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from posekit.structures import PoseSample

from .compose import BaseTransform, _to_container

__all__ = ["PackPoseInputs", "image_to_tensor", "DEFAULT_FIELD_KEYS", "DEFAULT_LABEL_KEYS", "DEFAULT_META_KEYS"]

# MMPose's PackPoseInputs tables (identity names): per-sample maps and per-instance labels
FIELD_MAPPING_TABLE = {
    k: k
    for k in (
        "heatmaps",
        "instance_heatmaps",
        "heatmap_mask",
        "heatmap_weights",
        "displacements",
        "displacement_weights",
    )
}
LABEL_MAPPING_TABLE = {
    k: k
    for k in (
        "keypoint_labels",
        "keypoint_x_labels",
        "keypoint_y_labels",
        "keypoint_weights",
        "keypoints_visible_weights",
    )
}
# MMPose's instance fields: always packed (into ``meta``; MMPose's ``gt_instances``), whatever ``meta_keys`` says
INSTANCE_KEYS = (
    "bbox",
    "bbox_score",
    "bbox_scale",
    "area",
    "keypoints",
    "keypoints_visible",
    "head_size",
    "keypoints_cam",
    "lifting_target",
    "lifting_target_visible",
)
DEFAULT_FIELD_KEYS = frozenset(FIELD_MAPPING_TABLE)
DEFAULT_LABEL_KEYS = frozenset(LABEL_MAPPING_TABLE)

# MMPose 1.3.2's meta keys + what MMPose keeps in ``gt_instances`` (posekit keeps it in the meta dict)
DEFAULT_META_KEYS = (
    "id",
    "img_id",
    "img_path",
    "category_id",
    "crowd_index",
    "ori_shape",
    "img_shape",
    "input_size",
    "input_center",
    "input_scale",
    "flip",
    "flip_direction",
    "flip_indices",
    "raw_ann_info",
    "dataset_name",
    "bbox",
    "bbox_score",
    "bbox_scale",
    "area",
    "keypoints",
    "keypoints_visible",
    "head_size",
    "box_size",
)


def image_to_tensor(img: np.ndarray | Sequence[np.ndarray]) -> torch.Tensor:
    """(H, W[, C]) array -> contiguous (C, H, W) tensor in one copy; a list of T images -> (T, C, H, W)."""
    if isinstance(img, np.ndarray):
        if img.ndim == 2:
            img = img[..., None]
        if img.ndim != 3:
            raise ValueError(f"PackPoseInputs: 'img' must be (H, W) or (H, W, C), got shape {img.shape}")
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
    if isinstance(img, Sequence) and len(img) > 0 and all(isinstance(i, np.ndarray) for i in img):
        chw = [(i[..., None] if i.ndim == 2 else i).transpose(2, 0, 1) for i in img]
        if len({(c.shape, c.dtype) for c in chw}) != 1:
            raise ValueError(
                f"PackPoseInputs: the images of the 'img' list differ in shape/dtype: {[i.shape for i in img]}"
            )
        out = np.empty((len(chw), *chw[0].shape), dtype=chw[0].dtype)
        for dst, src in zip(out, chw):
            dst[...] = src
        return torch.from_numpy(out)
    raise TypeError(f"PackPoseInputs: 'img' must be a numpy array or a list of them, got {type(img).__name__}")


def _to_tensor(key: str, value: Any, list_axis: int) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (list, tuple)):
        arrays = [np.asarray(v) for v in value]
        shapes = {a.shape for a in arrays}
        if len(shapes) != 1:
            raise ValueError(
                f"PackPoseInputs: target {key!r} is a list of arrays with different shapes {sorted(shapes)}; "
                "multilevel targets must share one shape to be stacked"
            )
        value = np.stack(arrays, axis=list_axis)
    return torch.from_numpy(np.ascontiguousarray(value))


class PackPoseInputs(BaseTransform):
    """Pack the results into a :class:`~posekit.structures.PoseSample`.

    * ``inputs``: ``img`` as a contiguous (C, H, W) tensor of the image's dtype (uint8 BGR), one copy;
      a list of T images gives (T, C, H, W).
    * ``targets``: every codec output present, as tensors under the codec's key names (MMPose's
      ``field_mapping_table`` / ``label_mapping_table`` plus the tables :class:`GenerateTarget` stores in the
      results). Multilevel lists are stacked: per-sample maps on a new first axis ((L, K, H, W)), per-instance
      labels on a new second axis ((N, L, K)), so the batch collate keeps N first.
    * ``meta``: the ``meta_keys`` present in the results (numpy arrays and plain values, not tensors), plus
      ``transformed_keypoints`` (and ``transformed_keypoints_visible``) when ``pack_transformed`` is set, plus any
      codec ``instance_mapping_table`` items.

    Args:
        meta_keys: keys copied into ``meta``; defaults to MMPose 1.3.2's plus the instance fields MMPose keeps
            in ``gt_instances`` (``bbox``, ``bbox_score``, ``bbox_scale``, ``area``, ``keypoints``,
            ``keypoints_visible``, ``head_size``).
        pack_transformed: also pack the crop-space keypoints (for visualization).
    """

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS, pack_transformed: bool = False) -> None:
        meta_keys = _to_container(meta_keys)
        if isinstance(meta_keys, str) or not isinstance(meta_keys, Sequence):
            raise TypeError(f"PackPoseInputs: meta_keys must be a sequence of str, got {meta_keys!r}")
        self.meta_keys = meta_keys
        self.pack_transformed = pack_transformed

    def transform(self, results: dict) -> PoseSample:
        if results.get("img") is None:
            raise KeyError(
                f"PackPoseInputs: results has no 'img' (img_path={results.get('img_path')!r}); "
                "put LoadImage (and TopdownAffine) before PackPoseInputs"
            )
        inputs = image_to_tensor(results["img"])

        targets: dict[str, torch.Tensor] = {}
        field_table = {**FIELD_MAPPING_TABLE, **(results.get("field_mapping_table") or {})}
        label_table = {**LABEL_MAPPING_TABLE, **(results.get("label_mapping_table") or {})}
        for key, packed in field_table.items():
            if results.get(key) is not None:
                targets[packed] = _to_tensor(key, results[key], list_axis=0)
        for key, packed in label_table.items():
            if results.get(key) is not None:
                targets[packed] = _to_tensor(key, results[key], list_axis=1)

        meta = {k: results[k] for k in self.meta_keys if k in results}
        for key in INSTANCE_KEYS:
            if key in results and key not in meta:
                meta[key] = results[key]
        for key, packed in (results.get("instance_mapping_table") or {}).items():
            if key in results:
                meta[packed] = results[key]
        if self.pack_transformed:
            for key in ("transformed_keypoints", "transformed_keypoints_visible"):
                if key in results:
                    meta[key] = results[key]
        return PoseSample(inputs=inputs, targets=targets, meta=meta)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(meta_keys={self.meta_keys}, pack_transformed={self.pack_transformed})"
